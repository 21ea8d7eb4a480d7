"""Ranking checklist items for a question within the parent's locality chain.

Dense (faiss inner product over e5 vectors) and lexical (character 1–3-gram
TF-IDF) scores are fused linearly. Only items whose checklist locality is in the
chain (community → street → district → city → province → national) are eligible,
and, for one service category, an item from a more local checklist outranks a
national one. The top fused score is mapped to a calibrated confidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import faiss
import numpy as np

from knowledge.embedding import Embedder
from knowledge.index import VIEWS, IndexedItem, KnowledgeIndex

NATIONAL = "national"


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of the top fused score: confidence = 1 / (1 + exp(-(a·s + b)))."""

    a: float = 14.0
    b: float = -6.0

    def confidence(self, score: float) -> float:
        return 1.0 / (1.0 + math.exp(-(self.a * score + self.b)))


@dataclass(frozen=True)
class Hit:
    entry: IndexedItem
    score: float  # fused score after the locality rule
    dense: float
    lexical: float
    locality_rank: int  # 0 = most specific link of the chain


@dataclass(frozen=True)
class SearchResult:
    query: str
    chain: tuple[str, ...]
    hits: list[Hit]
    confidence: float
    has_local_checklist: bool  # any non-national checklist applies to this chain
    categories: list[str] = field(default_factory=list)  # distinct, in rank order


class Retriever:
    """Searches one index; immutable, so a rebuilt one can replace it atomically."""

    def __init__(self, index: KnowledgeIndex, embedder: Embedder, *, dense_weight: float = 0.6,
                 calibration: Calibration | None = None):
        self.index = index
        self.embedder = embedder
        self.dense_weight = dense_weight
        self.calibration = calibration or Calibration()
        self._by_locality: dict[str, np.ndarray] = {}
        localities: dict[str, list[int]] = {}
        for position, entry in enumerate(index.entries):
            localities.setdefault(entry.locality, []).append(position)
        self._by_locality = {k: np.array(v, dtype=np.int64) for k, v in localities.items()}

    def search(self, query: str, chain: list[str] | tuple[str, ...], k: int = 5) -> SearchResult:
        chain = tuple(chain) if chain else (NATIONAL,)
        allowed = self._allowed(chain)
        local = [c for c in chain if c != NATIONAL and c in self._by_locality]
        if not query.strip() or allowed.size == 0:
            return SearchResult(query, chain, [], 0.0, bool(local))
        qvec = self.embedder.embed_query(query)
        lexical_allowed = self._lexical_scores(query, allowed)
        candidates, lexical = self._candidates(qvec, allowed, lexical_allowed, local)
        dense = (self.index.vectors[candidates] @ qvec).max(axis=1)
        fused = self.dense_weight * dense + (1 - self.dense_weight) * lexical
        rank_of = {code: i for i, code in enumerate(chain)}
        ranks = np.array([rank_of[self.index.entries[c].locality] for c in candidates])
        adjusted = _local_first(fused, ranks, [self.index.entries[c].item.category for c in candidates])
        order = np.argsort(-adjusted, kind="stable")
        hits = [
            Hit(self.index.entries[candidates[i]], float(adjusted[i]), float(dense[i]),
                float(lexical[i]), int(ranks[i]))
            for i in order
        ]
        categories = list(dict.fromkeys(h.entry.item.category for h in hits))
        confidence = self.calibration.confidence(float(fused.max()))
        return SearchResult(query, chain, hits[:k], confidence, bool(local), categories)

    def _allowed(self, chain: tuple[str, ...]) -> np.ndarray:
        parts = [self._by_locality[c] for c in chain if c in self._by_locality]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def _candidates(self, qvec: np.ndarray, allowed: np.ndarray, lexical: np.ndarray,
                    local: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Dense top-N through faiss (restricted to the chain) ∪ lexical top-N ∪ local items.

        Returns the candidate positions and their lexical scores.
        """
        n = int(min(allowed.size, 64))
        rows = (allowed[:, None] * VIEWS + np.arange(VIEWS)).ravel()
        params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(rows))
        _, ids = self.index.faiss_index.search(qvec[None, :], n * VIEWS, params=params)
        dense_top = ids[0][ids[0] >= 0] // VIEWS
        lexical_top = allowed[np.argpartition(-lexical, n - 1)[:n]] if n < allowed.size else allowed
        local_items = [self._by_locality[c] for c in local]
        candidates = np.unique(np.concatenate([dense_top, lexical_top, *local_items]))
        lexical_of = dict(zip(allowed.tolist(), lexical.tolist()))
        return candidates, np.array([lexical_of[c] for c in candidates.tolist()], dtype=np.float32)

    def _lexical_scores(self, query: str, rows: np.ndarray) -> np.ndarray:
        qvec = self.index.vectorizer.transform([query])
        scores = self.index.lexical[rows] @ qvec.T
        return np.asarray(scores.todense()).ravel().astype(np.float32)


def _local_first(scores: np.ndarray, ranks: np.ndarray, categories: list[str]) -> np.ndarray:
    """Within a category, lift the most local items to just above the category's best score."""
    adjusted = scores.copy()
    by_category: dict[str, list[int]] = {}
    for i, category in enumerate(categories):
        by_category.setdefault(category, []).append(i)
    for members in by_category.values():
        most_local = min(ranks[i] for i in members)
        if most_local == max(ranks[i] for i in members):
            continue
        local = [i for i in members if ranks[i] == most_local]
        lift = max(scores[i] for i in members) - max(scores[i] for i in local) + 1e-4
        for i in local:
            adjusted[i] = scores[i] + max(lift, 0.0)
    return adjusted
