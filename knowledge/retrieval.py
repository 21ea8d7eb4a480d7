"""Ranking checklist items for a question within the parent's locality chain.

Dense (faiss inner product over e5 vectors) and lexical (character 1–3-gram
TF-IDF) scores are fused linearly. Only items whose checklist locality is in the
chain (community → street → district → city → province → national) are eligible.
Local first: within one service category, the most local list's items that answer the question
about as well as the best less local one (within ``LOCAL_MARGIN`` of its score: the same service,
said by the place's own list) replace it at the top, and it becomes "see also"
(``SearchResult.replaced``); a local item about another service of the category stays where its
score puts it. Facts Tongban gathered for a place (guidance) are never lifted.
The top fused score is mapped to a calibrated confidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import faiss
import numpy as np

from knowledge.index import VIEWS, IndexedItem, KnowledgeIndex
from knowledge.schema import Authority
from nlu.embedding import Embedder
from nlu.features import FastTfidf
from nlu.geo import NATIONAL

# An item whose own keyword (an everyday name of the service: 两为主, 疫苗本子, 异地就医) the question
# holds word for word gains this much fused score. Chosen on the development answer sets A–D
# (2026-12-05: 0.02/0.03/0.04/0.06 tried; 0.03 with two-character keywords best on all four, the
# retrieval held-out top-1 unchanged at 0.983); words of one character are never keywords enough.
KEYWORD_BONUS = 0.03
KEYWORD_MIN = 2
# How far below the best less local item of its category a local list's item may score and still
# replace it (fused score). Chosen on tests/data/local_tuning.tsv (docs/knowledge.md, "Local first").
LOCAL_MARGIN = 0.15


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
    has_local_checklist: bool  # a local service list (not only gathered guidance) applies to this chain
    categories: list[str] = field(default_factory=list)  # distinct, in rank order
    # a local item's key → the less local item of its service it replaced at the top ("see also")
    replaced: dict[str, IndexedItem] = field(default_factory=dict)


class Retriever:
    """Searches one index; immutable, so a rebuilt one can replace it atomically."""

    def __init__(self, index: KnowledgeIndex, embedder: Embedder, *, dense_weight: float = 0.6,
                 calibration: Calibration | None = None, prior=None, prior_weight: float = 0.0,
                 local_margin: float = LOCAL_MARGIN):
        self.index = index
        self.local_margin = local_margin
        self.embedder = embedder
        self.dense_weight = dense_weight
        # prior(text, query_vector) -> {category: probability}; a supervised category model
        self.prior = prior
        self.prior_weight = prior_weight
        self.calibration = calibration or Calibration()
        self._by_locality: dict[str, np.ndarray] = {}
        localities: dict[str, list[int]] = {}
        for position, entry in enumerate(index.entries):
            localities.setdefault(entry.locality, []).append(position)
        self._by_locality = {k: np.array(v, dtype=np.int64) for k, v in localities.items()}
        # places with a service list of their own (not only facts Tongban gathered for them)
        gathered = np.array([entry.checklist.authority is Authority.GUIDANCE for entry in index.entries], dtype=bool)
        self._gathered = gathered  # facts Tongban gathered (guidance), not a published or example list
        self._listed = {entry.locality for entry, g in zip(index.entries, gathered) if not g}
        self._selectors: dict[tuple[str, ...], faiss.SearchParameters] = {}
        self._tfidf = FastTfidf(index.vectorizer)
        # each item's keywords long enough to count word for word (the index never changes): keyword →
        # the items that have it, and the lengths to try when reading a question's substrings
        self._keyword_items: dict[str, list[int]] = {}
        for position, entry in enumerate(index.entries):
            for keyword in {k.lower() for k in entry.item.keywords if len(k) >= KEYWORD_MIN}:
                self._keyword_items.setdefault(keyword, []).append(position)
        self._keyword_lengths = sorted({len(k) for k in self._keyword_items})
        # each item's category and place as small integers, for the per-question arithmetic
        self._category_codes = sorted({entry.item.category for entry in index.entries})
        code_of = {code: i for i, code in enumerate(self._category_codes)}
        self._category_of = np.array([code_of[entry.item.category] for entry in index.entries], dtype=np.int64)
        self._places = {code: i for i, code in enumerate(sorted(self._by_locality))}
        self._place_of = np.array([self._places[entry.locality] for entry in index.entries], dtype=np.int64)

    def search(self, query: str, chain: list[str] | tuple[str, ...], k: int = 5,
               vector: np.ndarray | None = None) -> SearchResult:
        """Rank items for ``query``; pass ``vector`` if its query embedding is already known."""
        chain = tuple(chain) if chain else (NATIONAL,)
        allowed = self._allowed(chain)
        listed = any(c != NATIONAL and c in self._listed for c in chain)
        if not query.strip() or allowed.size == 0:
            return SearchResult(query, chain, [], 0.0, listed)
        lexical_all = self._lexical_scores(query)
        if self.lexical_only:
            qvec = None
            candidates = self._lexical_candidates(allowed, lexical_all)
            dense = np.zeros(len(candidates), dtype=np.float32)
        else:
            qvec = vector if vector is not None else self.embedder.embed_query(query)
            candidates = self._candidates(qvec, chain, allowed, lexical_all)
            dense = (self.index.vectors[candidates] @ qvec).max(axis=1)
        lexical = lexical_all[candidates]
        fused = self.dense_weight * dense + (1 - self.dense_weight) * lexical
        categories = self._category_of[candidates]
        if qvec is not None and self.prior is not None and self.prior_weight:
            probs = self.prior(query, qvec)
            by_code = np.array([probs.get(code, 0.0) for code in self._category_codes], dtype=np.float32)
            fused = fused + self.prior_weight * by_code[categories]
        fused = fused + self._keyword_bonus(query, candidates)
        rank_by_place = np.zeros(len(self._places), dtype=np.int64)
        for rank, code in enumerate(chain):
            if code in self._places:
                rank_by_place[self._places[code]] = rank
        ranks = rank_by_place[self._place_of[candidates]]
        # a local list lifts its items; facts Tongban gathered for a place (guidance, one service's
        # detail: 晋江's approval limits) compete on their score, or one item would answer every
        # question of its service there
        lifted = np.where(self._gathered[candidates], chain.index(NATIONAL), ranks) if NATIONAL in chain else ranks
        entries = self.index.entries
        adjusted, replaced = _local_first(fused, lifted, categories, self.local_margin)
        order = np.argsort(-adjusted, kind="stable")
        hits = [Hit(entries[candidates[i]], float(adjusted[i]), float(dense[i]), float(lexical[i]),
                    int(ranks[i])) for i in order[:k]]
        ranked_categories = [self._category_codes[c] for c in dict.fromkeys(categories[order].tolist())]
        confidence = self.calibration.confidence(float(fused.max()))
        see_also = {entries[candidates[local]].key: entries[candidates[other]] for local, other in replaced.items()}
        return SearchResult(query, chain, hits, confidence, listed, ranked_categories, see_also)

    def _keyword_bonus(self, query: str, candidates: np.ndarray) -> np.ndarray:
        """KEYWORD_BONUS for each candidate one of whose own keywords (KEYWORD_MIN characters or
        more) the question holds word for word."""
        text = query.lower()
        found = {text[i:i + n] for n in self._keyword_lengths for i in range(len(text) - n + 1)}
        held = np.zeros(len(self.index.entries), dtype=bool)
        for keyword in found & self._keyword_items.keys():
            held[self._keyword_items[keyword]] = True
        return np.where(held[candidates], np.float32(KEYWORD_BONUS), np.float32(0.0))

    def _allowed(self, chain: tuple[str, ...]) -> np.ndarray:
        parts = [self._by_locality[c] for c in chain if c in self._by_locality]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    @property
    def lexical_only(self) -> bool:
        """The baseline: no embedding at query time (dense weight 0 and no prior)."""
        return self.dense_weight <= 0 and not (self.prior is not None and self.prior_weight)

    def _lexical_candidates(self, allowed: np.ndarray, lexical_all: np.ndarray,
                            extra: np.ndarray | None = None) -> np.ndarray:
        """Lexical top-N within the chain (∪ ``extra``). A local item is a candidate like any other:
        one outside both top-Ns cannot come within ``LOCAL_MARGIN`` of the best, so forcing every
        local item of the chain in only cost time (25 more rows scored per search, issue 17's bench)."""
        n = int(min(allowed.size, 64))
        lexical = lexical_all[allowed]
        top = allowed[np.argpartition(-lexical, n - 1)[:n]] if n < allowed.size else allowed
        if extra is None:
            return np.unique(top)
        return np.unique(np.concatenate([top, extra]))

    def _candidates(self, qvec: np.ndarray, chain: tuple[str, ...], allowed: np.ndarray,
                    lexical_all: np.ndarray) -> np.ndarray:
        """Dense top-N through faiss (restricted to the chain) ∪ lexical top-N."""
        n = int(min(allowed.size, 64))
        _, ids = self.index.faiss_index.search(qvec[None, :], n * VIEWS, params=self._selector(chain, allowed))
        dense_top = ids[0][ids[0] >= 0] // VIEWS
        return self._lexical_candidates(allowed, lexical_all, extra=dense_top)

    def _selector(self, chain: tuple[str, ...], allowed: np.ndarray) -> faiss.SearchParameters:
        """faiss search parameters admitting only the chain's rows; cached per chain."""
        params = self._selectors.get(chain)
        if params is None:
            rows = (allowed[:, None] * VIEWS + np.arange(VIEWS)).ravel()
            selector = faiss.IDSelectorBatch(rows)
            params = faiss.SearchParameters(sel=selector)
            params._keep = selector  # the parameters object does not own the selector
            if len(self._selectors) > 1024:
                self._selectors.clear()
            self._selectors[chain] = params
        return params

    def _lexical_scores(self, query: str) -> np.ndarray:
        """TF-IDF cosine of the query with every item, touching only the query's n-gram columns."""
        q = self._tfidf(query)
        scores = np.zeros(self.index.lexical.shape[0], dtype=np.float32)
        if q.nnz:
            scores += self.index.lexical[:, q.indices] @ q.data
        return scores


def _local_first(scores: np.ndarray, ranks: np.ndarray, categories: np.ndarray,
                 margin: float) -> tuple[np.ndarray, dict[int, int]]:
    """Within a category, the most local items scoring within ``margin`` of the best less local
    one are lifted just above it, in their own order; returns the adjusted scores and, for the best
    lifted item, the position of the item it replaced. ``categories``: small integers (the
    retriever's category ids) or labels. (Plain loops over lists: a search runs this on every
    question, over about a hundred candidates, where NumPy's grouping calls cost more.)"""
    adjusted = scores.copy()
    if ranks.size == 0 or int(ranks.min()) == int(ranks.max()):
        return adjusted, {}
    categories = np.asarray(categories)
    if categories.dtype.kind not in "iu":
        categories = np.unique(categories, return_inverse=True)[1]
    category, rank, score = categories.tolist(), ranks.tolist(), scores.tolist()
    width = max(category) + 1
    most_local = [int(ranks.max()) + 1] * width
    for c, r in zip(category, rank):
        if r < most_local[c]:
            most_local[c] = r
    best: list = [None] * width  # each category's best less local item
    for i, c in enumerate(category):
        if rank[i] != most_local[c] and (best[c] is None or score[i] > score[best[c]]):
            best[c] = i
    lifted: dict[int, list[int]] = {}
    for i, c in enumerate(category):
        b = best[c]
        if b is not None and rank[i] == most_local[c] and score[i] >= score[b] - margin:
            lifted.setdefault(c, []).append(i)
    replaced: dict[int, int] = {}
    for c, members in lifted.items():
        lift = max(score[best[c]] - min(score[i] for i in members) + 1e-4, 0.0)  # all of them above it
        adjusted[members] = scores[members] + lift
        replaced[max(members, key=score.__getitem__)] = best[c]
    return adjusted, replaced
