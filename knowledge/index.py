"""The search index over current checklist items: faiss for embeddings, TF-IDF for words.

An index is built from a catalog and an embedder, persisted under the data dir
(``index/``) with the model id, dimension and the catalog fingerprint it was built
from, and loaded again only if all three still match. Passage embeddings are cached
by text hash (``nlu.embedding.EmbeddingCache``), so a rebuild after a small change embeds only
what changed.
"""

from __future__ import annotations

import json
import logging
import pickle
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from knowledge.categories import label
from knowledge.schema import ChecklistHeader, ChecklistItem
from knowledge.store import Catalog
from nlu.embedding import Embedder, EmbeddingCache

log = logging.getLogger(__name__)

# Bump when the view texts / lexical_text change: old indexes are rebuilt.
TEXT_FORMAT = 4
# Each item is embedded in two views: the whole passage, and its name (title, category,
# everyday keywords). The faiss row of view v of item i is i * VIEWS + v.
VIEWS = 2


@dataclass(frozen=True)
class IndexedItem:
    checklist: ChecklistHeader
    item: ChecklistItem

    @property
    def locality(self) -> str:
        return self.checklist.locality.code

    @property
    def key(self) -> str:
        return f"{self.checklist.id}/v{self.checklist.version}/{self.item.id}"


def passage_text(entry: IndexedItem) -> str:
    item = entry.item
    words = "、".join(item.keywords)
    return (
        f"{item.title}（{label(item.category)}）。服务对象：{item.service_object}。"
        f"{item.content} {item.how_to_apply} {words}"
    ).strip()


def name_text(entry: IndexedItem) -> str:
    item = entry.item
    return f"{item.title}（{label(item.category)}）：{'、'.join(item.keywords)}".rstrip("：")


def view_texts(entry: IndexedItem) -> list[str]:
    return [passage_text(entry), name_text(entry)]


def lexical_text(entry: IndexedItem) -> str:
    item = entry.item
    words = " ".join(item.keywords)
    return " ".join(
        [item.title, item.title, label(item.category), words, words, item.service_object,
         item.content, item.how_to_apply, " ".join(item.materials)]
    )


def entries_of(catalog: Catalog) -> list[IndexedItem]:
    return [IndexedItem(c.header, item) for c in catalog.current for item in c.items]


def _faiss_view(index: faiss.IndexFlat, dim: int) -> np.ndarray:
    """The flat index's own vector storage as a read-only NumPy array (no second copy)."""
    if index.ntotal == 0:
        return np.zeros((0, dim), dtype=np.float32)
    view = faiss.rev_swig_ptr(index.get_xb(), index.ntotal * dim).reshape(index.ntotal, dim)
    view.flags.writeable = False
    return view


@dataclass
class KnowledgeIndex:
    """Items, their vectors (faiss + a NumPy copy) and the TF-IDF matrix."""

    entries: list[IndexedItem]
    vectors: np.ndarray  # (n_items, VIEWS, dim)
    faiss_index: faiss.Index
    vectorizer: TfidfVectorizer
    lexical: object  # scipy.sparse CSC (n_items, n_features), rows L2-normalised; CSC: a query
    # touches only the columns of its own n-grams
    meta: dict

    @classmethod
    def build(cls, catalog: Catalog, embedder: Embedder, cache: EmbeddingCache) -> "KnowledgeIndex":
        started = time.perf_counter()
        entries = entries_of(catalog)
        flat = cache.embed([t for e in entries for t in view_texts(e)], embedder)
        index = faiss.IndexFlatIP(embedder.dim)
        if len(entries):
            index.add(flat)
        vectors = _faiss_view(index, embedder.dim).reshape(len(entries), VIEWS, embedder.dim)
        del flat
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True,
                                     min_df=1, dtype=np.float32)
        lexical = vectorizer.fit_transform([lexical_text(e) for e in entries] or [" "]).tocsc()
        meta = {
            "model_id": embedder.model_id,
            "dim": embedder.dim,
            "fingerprint": catalog.fingerprint(),
            "text_format": TEXT_FORMAT,
            "items": len(entries),
            "built_at": time.time(),
        }
        log.info("index built: %d items in %.1f s", len(entries), time.perf_counter() - started)
        return cls(entries, vectors, index, vectorizer, lexical, meta)

    def save(self, folder: Path) -> None:
        """Write to a fresh folder, then swap it in, so a reader never sees half an index."""
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        faiss.write_index(self.faiss_index, str(tmp / "vectors.faiss"))
        with open(tmp / "lexical.pkl", "wb") as handle:
            pickle.dump({"vectorizer": self.vectorizer, "matrix": self.lexical,
                         "keys": [e.key for e in self.entries]}, handle)
        (tmp / "meta.json").write_text(json.dumps(self.meta, indent=2), encoding="utf-8")
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, catalog: Catalog, embedder: Embedder) -> "KnowledgeIndex | None":
        """The saved index if it matches this catalog and model, else None."""
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        expected = {"model_id": embedder.model_id, "dim": embedder.dim,
                    "fingerprint": catalog.fingerprint(), "text_format": TEXT_FORMAT}
        if any(meta.get(k) != v for k, v in expected.items()):
            log.info("saved index is stale (%s); rebuilding",
                     ", ".join(k for k, v in expected.items() if meta.get(k) != v))
            return None
        entries = entries_of(catalog)
        try:
            index = faiss.read_index(str(folder / "vectors.faiss"))
            with open(folder / "lexical.pkl", "rb") as handle:
                lexical = pickle.load(handle)
        except (OSError, RuntimeError, pickle.UnpicklingError, EOFError):
            return None
        if lexical["keys"] != [e.key for e in entries]:
            return None
        if index.ntotal != len(entries) * VIEWS:
            return None
        vectors = _faiss_view(index, embedder.dim).reshape(len(entries), VIEWS, embedder.dim)
        return cls(entries, vectors, index, lexical["vectorizer"],
                   lexical["matrix"].tocsc(), meta)
