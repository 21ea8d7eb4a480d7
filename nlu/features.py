"""Fast single-text feature transforms for the hot path.

scikit-learn's ``transform`` validates its input on every call, which costs about a
millisecond; for one short question that is more than the arithmetic. These helpers
compute exactly what a fitted :class:`~sklearn.feature_extraction.text.TfidfVectorizer`
(with ``sublinear_tf`` and L2 norm) would, for one text, as a 1×n CSR row.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer


class FastTfidf:
    """One-text TF-IDF transform equal to ``vectorizer.transform([text])``."""

    def __init__(self, vectorizer: TfidfVectorizer):
        self.analyze = vectorizer.build_analyzer()
        self.vocabulary = vectorizer.vocabulary_
        self.idf = vectorizer.idf_.astype(np.float32)
        self.sublinear = vectorizer.sublinear_tf
        self.size = len(self.vocabulary)

    def __call__(self, text: str) -> sparse.csr_matrix:
        counts = Counter(self.analyze(text))
        cols, vals = [], []
        for gram, count in counts.items():
            col = self.vocabulary.get(gram)
            if col is not None:
                tf = 1.0 + math.log(count) if self.sublinear else float(count)
                cols.append(col)
                vals.append(tf * self.idf[col])
        data = np.asarray(vals, dtype=np.float32)
        norm = float(np.linalg.norm(data))
        if norm > 0:
            data /= norm
        order = np.argsort(cols)
        indices = np.asarray(cols, dtype=np.int32)[order]
        return sparse.csr_matrix((data[order], indices, np.array([0, len(cols)])), shape=(1, self.size))


def softmax_rows(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(axis=1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=1, keepdims=True)
    return scores
