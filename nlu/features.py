"""Fast single-text feature transforms for the hot path, and how every regression is fitted.

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

# Fit to the optimum, not to scikit-learn's default tolerance (1e-4). At 1e-4 L-BFGS stopped after
# about 80 iterations, far from it, and where it stopped depended on the library's version: with
# scikit-learn 1.9.1 "我女儿被性侵了 该怎么办" read P(emergency) 0.23, with 1.7.2 0.32, and the
# safety net missed it on one machine only. At 1e-7 both versions agree to the third decimal
# (0.364 / 0.365 after about 380 iterations; tests/test_nlu_models.py checks every fit converged).
TOL = 1e-7
MAX_ITER = 20_000


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
