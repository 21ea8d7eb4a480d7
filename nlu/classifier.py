"""A text classifier on sentence embeddings plus character n-grams.

Used for intents (from nlu.yml) and for the service category prior of retrieval.
Features: the embedder's query vector (scaled) concatenated with character 1–3-gram
TF-IDF of the normalised text; model: multinomial logistic regression, whose
probabilities are the confidence. Optionally a second regression on the characters alone
(``lexical``): the interpreter's first, cheap reading, which skips the sentence embedding
when it is decisive (nlu/interpreter.py). Trained models are pickled under the data dir
with the fingerprint of their data and the embedder's model id, and reused while
both match.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from nlu.embedding import Embedder, EmbeddingCache
from nlu.features import MAX_ITER, TOL, FastTfidf, softmax_rows
from nlu.normalize import normalize
from nlu.persist import load_pickle, save_pickle

log = logging.getLogger(__name__)

FORMAT = 2  # 2: the character-only model beside the full one


@dataclass
class TextClassifier:
    labels: list[str]
    vectorizer: TfidfVectorizer
    model: LogisticRegression
    dense_scale: float
    meta: dict = field(default_factory=dict)
    # what of the text the embedding sees (e.g. nlu.normalize.mask_long_numbers); None: all of it
    dense_view: Callable[[str], str] | None = None
    lexical: LogisticRegression | None = None  # the same labels from the characters alone

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str], embedder: Embedder, *,
              cache: EmbeddingCache | None = None, dense_scale: float = 1.0, c: float = 10.0,
              class_weight: str | None = None, dense_view: Callable[[str], str] | None = None,
              meta: dict | None = None, lexical: bool = False) -> "TextClassifier":
        started = time.perf_counter()
        texts = [normalize(t) or "?" for t in texts]
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True,
                                     dtype=np.float32)
        lexical_features = vectorizer.fit_transform(texts)
        seen = [dense_view(t) for t in texts] if dense_view else texts
        dense = cache.embed(seen, embedder) if cache else embedder.embed_queries(seen)
        features = sparse.hstack([sparse.csr_matrix(dense * dense_scale), lexical_features]).tocsr()
        model = LogisticRegression(C=c, tol=TOL, max_iter=MAX_ITER, class_weight=class_weight)
        model.fit(features, list(labels))
        lexical_model = None
        if lexical:
            lexical_model = LogisticRegression(C=c, tol=TOL, max_iter=MAX_ITER, class_weight=class_weight)
            lexical_model.fit(lexical_features, list(labels))
        info = dict(meta or {}, model_id=embedder.model_id, format=FORMAT, examples=len(texts),
                    seconds=round(time.perf_counter() - started, 2))
        log.info("classifier trained on %d examples in %.1f s", len(texts), info["seconds"])
        return cls(list(model.classes_), vectorizer, model, dense_scale, info, dense_view, lexical_model)

    def predict_proba(self, text: str, embedder: Embedder, vector: np.ndarray | None = None) -> dict[str, float]:
        """P(label | text); pass ``vector`` when the query embedding (of ``dense_text(text)``)
        is already computed."""
        text = normalize(text) or "?"
        dense = vector if vector is not None else embedder.embed_query(self.dense_text(text))
        fast = self._fast_tfidf()
        n_dense = dense.shape[0]
        coef = self.model.coef_
        scores = coef[:, :n_dense] @ (dense * self.dense_scale)
        scores = scores + (fast(text) @ coef[:, n_dense:].T).ravel() + self.model.intercept_
        return dict(zip(self.labels, _probabilities(scores).tolist()))

    def predict_lexical(self, text: str) -> dict[str, float] | None:
        """P(label | characters of text) from the character-only model; None without one."""
        if self.lexical is None:
            return None
        scores = (self._fast_tfidf()(normalize(text) or "?") @ self.lexical.coef_.T).ravel() + self.lexical.intercept_
        return dict(zip(self.lexical.classes_.tolist(), _probabilities(scores).tolist()))

    def _fast_tfidf(self) -> FastTfidf:
        fast = self.__dict__.get("_fast")
        if fast is None:
            fast = self.__dict__["_fast"] = FastTfidf(self.vectorizer)
        return fast

    def dense_text(self, normalized: str) -> str:
        """The text whose embedding the classifier reads."""
        return self.dense_view(normalized) if self.dense_view else normalized

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_fast"}

    def save(self, path: Path) -> None:
        save_pickle(self, path)

    @staticmethod
    def load(path: Path, *, expect: dict) -> "TextClassifier | None":
        """The saved classifier if its meta matches ``expect`` (fingerprint, model id...)."""
        return load_pickle(path, TextClassifier, expect=expect)


def _probabilities(scores: np.ndarray) -> np.ndarray:
    """Logistic regression's probabilities from its decision scores."""
    if scores.shape[0] == 1:  # binary: sklearn keeps one row of weights
        p = 1.0 / (1.0 + np.exp(-scores[0]))
        return np.array([1.0 - p, p])
    return softmax_rows(scores[None, :].astype(np.float64))[0]


def fingerprint(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


# The numerical libraries a model's fitted numbers depend on.
LIBRARIES = ("scikit-learn", "numpy", "scipy")


def code_fingerprint() -> str:
    """The source of the whole nlu package (features, normalisation, the classifiers) and the
    numerical libraries' versions, hashed: a model saved by other code is trained anew, not served
    (a change to the features with the same data would otherwise keep the old model)."""
    digest = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.name.encode("utf-8") + b"\0" + source.read_bytes())
    for library in LIBRARIES:
        digest.update(f"{library}={metadata.version(library)}".encode("utf-8"))
    return digest.hexdigest()
