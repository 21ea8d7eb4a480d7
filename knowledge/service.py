"""The knowledge base a running process serves: catalog + index + retriever, hot-swappable.

``KnowledgeBase.start()`` loads the catalog, loads the saved index or builds a new
one, and (optionally) starts a watcher that rebuilds when checklist files change.
A rebuild happens off to the side; the new retriever replaces the old one in a
single assignment, so requests in flight finish on the version they started with.
It is handed what it needs (its settings group, its folders, the embedder); the composition
root builds it (``tongban.runtime.knowledge_base``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from knowledge import aspects, calibrate, category_prior
from knowledge.categories import CATEGORIES
from knowledge.errors import ChecklistValidationError
from knowledge.index import KnowledgeIndex
from knowledge.ingest_store import keyword_classify
from knowledge.pinyin_terms import PinyinTerms
from knowledge.retrieval import Calibration, Retriever, SearchResult
from knowledge.schema import Checklist, ChecklistHeader, ChecklistItem, load_checklist_text
from knowledge.settings import KnowledgeSettings
from knowledge.store import Catalog, ChecklistStore
from nlu.embedding import Embedder, EmbeddingCache, QueryVector
from nlu.geo import Gazetteer, gazetteer
from nlu.normalize import normalize

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """What one request sees: a catalog and the retriever built from it."""

    catalog: Catalog
    retriever: Retriever
    generation: int


class KnowledgeBase:
    """``checklist_dir``: where ingested and published versions are stored; ``index_dir``: the built
    index, its passage vectors and the calibration; ``models_dir``: the category prior and its query
    vectors."""

    def __init__(self, settings: KnowledgeSettings, *, embedder: Embedder, checklist_dir: Path,
                 index_dir: Path, models_dir: Path, geo: Gazetteer | None = None):
        self.settings = settings
        self.store = ChecklistStore(checklist_dir, list(settings.extra_dirs), settings.include_shipped)
        self.embedder = embedder
        self.index_dir, self.models_dir = index_dir, models_dir
        self.geo = geo or gazetteer()
        self._snapshot: Snapshot | None = None
        self._terms: tuple[int, PinyinTerms] | None = None  # (snapshot generation, its pinyin lexicon)
        self._prior_model = None  # the category prior of the current snapshot (None: none trained)
        self._rebuild_lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------
    def start(self, *, watch: bool | None = None) -> "KnowledgeBase":
        for folder in (self.store.data_dir, self.index_dir, self.models_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.reload()
        self._pinyin_terms(self.snapshot)  # built now, not on a parent's first question
        interval = self.settings.watch_interval
        if (watch if watch is not None else interval > 0) and self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, args=(interval,),
                                             name="knowledge-watcher", daemon=True)
            self._watcher.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._watcher:
            self._watcher.join(timeout=5)

    @property
    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            raise RuntimeError("KnowledgeBase.start() has not been called")
        return self._snapshot

    def reload(self) -> Snapshot:
        """Reload checklists; rebuild the index if they or the model changed; swap it in."""
        with self._rebuild_lock:
            previous = self._snapshot
            catalog = self.store.load(previous.catalog if previous else None)
            if previous and previous.catalog.fingerprint() == catalog.fingerprint():
                self._snapshot = Snapshot(catalog, previous.retriever, previous.generation)
                return self._snapshot
            index = self._index_for(catalog)
            retriever = Retriever(index, self.embedder,
                                  dense_weight=self.settings.dense_weight,
                                  calibration=self.calibration(), **self._prior_for(index))
            generation = previous.generation + 1 if previous else 1
            self._snapshot = Snapshot(catalog, retriever, generation)
            log.info("knowledge generation %d: %d checklists, %d items", generation,
                     len(catalog.current), len(index.entries))
            return self._snapshot

    @property
    def calibration_file(self) -> Path:
        return self.index_dir / "calibration.json"

    def calibration(self) -> Calibration:
        return calibrate.load(self.embedder.model_id, self.calibration_file)

    def _index_for(self, catalog: Catalog) -> KnowledgeIndex:
        folder = self.index_dir / "current"
        index = KnowledgeIndex.load(folder, catalog, self.embedder)
        if index is None:
            cache = EmbeddingCache(self.index_dir, self.embedder.model_id)
            index = KnowledgeIndex.build(catalog, self.embedder, cache)
            index.save(folder)
        return index

    def _prior_for(self, index: KnowledgeIndex) -> dict:
        weight = self.settings.prior_weight
        if weight <= 0:
            return {}
        model = category_prior.load_or_train(index.entries, self.embedder, self.models_dir)
        self._prior_model = model
        if model is None:
            return {}
        embedder = self.embedder
        return {"prior": lambda text, vector: model.predict_proba(text, embedder, vector),
                "prior_weight": weight}

    def _watch(self, interval: float) -> None:
        # The baseline is what the loaded catalog was read from, not the files at the moment this
        # thread first runs: a file written between start() and then would otherwise go unseen.
        seen = self.snapshot.catalog.signature
        while not self._stop.wait(interval):
            try:
                current = self.store.signature()
                if current != seen:
                    seen = current
                    self.reload()
            except Exception:  # the watcher must outlive one bad rebuild
                log.exception("knowledge reload failed; still serving the previous version")

    # --- queries ---------------------------------------------------------
    def chain(self, locality: str | None) -> list[str]:
        return self.geo.chain(locality)  # no place: the national checklists alone

    def search(self, question: str, locality: str | None = None, k: int | None = None,
               query_vector: QueryVector | None = None) -> SearchResult:
        """``query_vector``: an embedding already computed this turn (intent recognition's); used when
        it is of the text searched by this knowledge base's embedder model, else the text is embedded
        here. Service words typed in pinyin (yibao, ruxue) are read as the checklists' words first
        (``knowledge/pinyin_terms.py``), and the plan's name beside the part of it asked about is left
        out (``aspects.part_of_the_plan``); the text searched is then the rewritten question."""
        snapshot = self.snapshot
        text = aspects.part_of_the_plan(self._pinyin_terms(snapshot).rewrite(normalize(question)))
        vector = query_vector.of(text, self.embedder) if query_vector is not None else None
        return snapshot.retriever.search(text, self.chain(locality), k or self.settings.top_k, vector=vector)

    def _pinyin_terms(self, snapshot: Snapshot) -> PinyinTerms:
        terms = self._terms
        if terms is None or terms[0] != snapshot.generation:
            terms = (snapshot.generation, PinyinTerms.from_entries(snapshot.retriever.index.entries))
            self._terms = terms  # one assignment: a request on another thread sees the old or the new
        return terms[1]

    def classify(self, texts: list[str]) -> list[tuple[str, float]]:
        """Each text's service category and the probability the category prior gives it (the model
        that reads parents' questions for retrieval, over ``knowledge.categories.CATEGORIES`` only);
        the keyword guess with probability 0 when no prior is trained (``prior_weight`` 0)."""
        model = self._prior_model
        if model is None:
            return keyword_classify(texts)
        normalized = [normalize(text) or "?" for text in texts]
        vectors = self.embedder.embed_queries([model.dense_text(text) for text in normalized]) if texts else []
        out = []
        for text, vector in zip(normalized, vectors):
            probs = {code: p for code, p in model.predict_proba(text, self.embedder, vector).items() if code in CATEGORIES}
            total = sum(probs.values())
            best = max(probs, key=probs.get) if probs else None
            out.append((best, probs[best] / total) if best and total > 0 else keyword_classify([text])[0])
        return out

    def locality_name(self, locality: str | None) -> str | None:
        return self.geo.full_name(locality) if locality else None

    def items_of(self, categories, locality: str | None = None) -> list:
        """The current items (``IndexedItem``) of ``categories`` whose checklist serves ``locality``."""
        chain = set(self.chain(locality))
        return [entry for entry in self.snapshot.retriever.index.entries
                if entry.item.category in categories and entry.locality in chain]

    def current_item(self, checklist_id: str, item_id: str):
        """An item of a checklist in its current version (whatever version number staff published
        it under), from the current snapshot; None when there is none."""
        return self._entry(lambda entry: entry.checklist.id == checklist_id and entry.item.id == item_id)

    def find_item(self, key: str):
        """An indexed item by its key (checklist/vN/item), from the current snapshot."""
        return self._entry(lambda entry: entry.key == key)

    def _entry(self, wanted):
        """The first indexed item of the current snapshot for which ``wanted(entry)`` holds, or None."""
        return next((entry for entry in self.snapshot.retriever.index.entries if wanted(entry)), None)

    # --- changes ---------------------------------------------------------
    def validate_file(self, path: Path) -> Checklist:
        return load_checklist_text(path.read_text(encoding="utf-8"), str(path))

    def publish(self, header: ChecklistHeader, items: list[ChecklistItem]) -> Checklist:
        """Store a new version of a checklist and swap the index; raises on invalid input."""
        checklist = Checklist(header=header, items=tuple(items))
        stored = self.store.save_new_version(checklist, self.snapshot.catalog)
        self.reload()
        return stored

    @property
    def errors(self) -> tuple[ChecklistValidationError, ...]:
        return self.snapshot.catalog.errors
