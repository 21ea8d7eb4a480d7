"""The service-category prior: a supervised model of which service a question is about.

Trained from the ``ask_service`` examples of ``nlu/data/nlu.yml`` (each annotated with
a ``service_category`` entity) plus each checklist item's own name and keywords. The
retriever adds ``prior_weight × P(category)`` to every item's fused score, which helps
most where a question shares no words with the item that answers it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from knowledge.index import IndexedItem, name_text
from nlu.classifier import TextClassifier, code_fingerprint, fingerprint
from nlu.embedding import Embedder, EmbeddingCache
from nlu.training import category_paths, load_training_data

log = logging.getLogger(__name__)

DENSE_SCALE = 2.0
C = 10.0
# Items are examples of their category too, but a few per category say enough; the cap keeps
# training fast when a deployment holds thousands of items.
ITEMS_PER_CATEGORY = 40


def training_pairs(entries: list[IndexedItem], nlu_paths: list[Path]) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    labels: list[str] = []
    existing = [p for p in nlu_paths if p.exists()]
    if existing:
        for example in load_training_data(*existing).examples:
            category = example.entity_value("service_category")
            if example.intent == "ask_service" and category:
                texts.append(example.text)
                labels.append(category)
    per_category: dict[str, int] = {}
    for entry in entries:
        category = entry.item.category
        if per_category.get(category, 0) >= ITEMS_PER_CATEGORY:
            continue
        per_category[category] = per_category.get(category, 0) + 1
        texts += [name_text(entry), entry.item.title]
        labels += [category] * 2
    return texts, labels


def load_or_train(entries: list[IndexedItem], embedder: Embedder, models_dir: Path,
                  nlu_paths: list[Path] | None = None) -> TextClassifier | None:
    """The category model for these items; retrained when the data or the embedder change."""
    texts, labels = training_pairs(entries, nlu_paths or category_paths())
    if len(set(labels)) < 2:
        return None
    expect = {"fingerprint": fingerprint(*texts, *labels, code_fingerprint(), str(DENSE_SCALE), str(C),
                                         str(ITEMS_PER_CATEGORY)),
              "model_id": embedder.model_id}
    path = models_dir / "category_prior.pkl"
    model = TextClassifier.load(path, expect=expect)
    if model is None:
        cache = EmbeddingCache(models_dir, embedder.model_id, kind="query")
        model = TextClassifier.train(texts, labels, embedder, cache=cache, dense_scale=DENSE_SCALE,
                                     c=C, meta={"fingerprint": expect["fingerprint"]})
        model.save(path)
    return model
