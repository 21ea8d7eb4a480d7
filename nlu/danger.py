"""The safety net's learned half: is a child in danger in this clause, and what kind of danger.

Danger is rarely named. Parents describe it ("眼睛往上翻 叫他不应", "叔叔让她别告诉妈妈", "放学三个钟头
了还没回"), often as one clause of a long message about something else. The pattern layer
(``nlu/safety.py``) knows the words; this model learns the descriptions from the training data:
every ``emergency`` example is a positive, every other example a negative (hard negatives with
alarming words included), and the kind of danger comes from the examples' ``danger`` metadata.

It reads characters only (1–4-gram TF-IDF, logistic regression): cheap enough to run on every
clause and every pair of neighbouring clauses of a message (``nlu/clauses.py``) without a sentence
embedding per clause. The whole message is still read by the intent classifier, embedding and all.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from nlu import clauses, pinyin, safety
from nlu.features import FastTfidf
from nlu.normalize import normalize
from nlu.training import Example

log = logging.getLogger(__name__)

EMERGENCY = "emergency"
C_DETECT = 16.0  # chosen on tests/data/independent/tuning.tsv with the thresholds (nlu/interpreter.py)
C_KIND = 10.0
PINYIN_NGRAMS = (2, 5)  # letters: a syllable is 1–6 of them


@dataclass
class Reading:
    """One way of reading texts: a TF-IDF vectorizer, the danger detector on it and the kind model."""
    vectorizer: TfidfVectorizer
    detector: LogisticRegression  # binary: danger or not
    kinds: LogisticRegression | None  # which kind, for texts the detector flags

    @classmethod
    def fit(cls, texts: list[str], labels: np.ndarray, kinds: list[str], ngram_range: tuple[int, int]) -> "Reading":
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=ngram_range, sublinear_tf=True, min_df=1,
                                     dtype=np.float32)
        features = vectorizer.fit_transform(texts)
        detector = LogisticRegression(C=C_DETECT, max_iter=3000, class_weight="balanced").fit(features, labels)
        rows = [i for i, kind in enumerate(kinds) if kind]
        kind_model = None
        if len({kinds[i] for i in rows}) > 1:
            kind_model = LogisticRegression(C=C_KIND, max_iter=3000, class_weight="balanced")
            kind_model.fit(features[rows], [kinds[i] for i in rows])
        return cls(vectorizer, detector, kind_model)

    def _features(self, texts: list[str]):
        fast = self.__dict__.get("_fast")
        if fast is None:
            fast = self.__dict__["_fast"] = FastTfidf(self.vectorizer)
        return sparse.vstack([fast(t) for t in texts]).tocsr()

    def probabilities(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0)
        features = self._features(texts)
        scores = np.asarray(features @ self.detector.coef_[0]).ravel() + self.detector.intercept_[0]
        return 1.0 / (1.0 + np.exp(-scores))

    def kind(self, text: str) -> str | None:
        if self.kinds is None:
            return None
        features = self._features([text])
        scores = np.asarray(features @ self.kinds.coef_.T).ravel() + self.kinds.intercept_
        return str(self.kinds.classes_[int(np.argmax(scores))])

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_fast"}


@dataclass
class DangerModel:
    characters: Reading  # the (normalised, lower-cased) text, character 1–4-grams
    pinyin: Reading  # the same examples as pinyin letters (nlu/pinyin.py), letter 2–5-grams
    meta: dict = field(default_factory=dict)

    @classmethod
    def train(cls, examples: list[Example]) -> "DangerModel":
        started = time.perf_counter()
        examples = examples + _fragments(examples)
        texts = [normalize(e.text).lower() or "?" for e in examples]
        labels = np.array([e.intent == EMERGENCY for e in examples], dtype=int)
        kinds = _kind_labels(examples, texts)
        characters = Reading.fit(texts, labels, kinds, (1, 4))
        pinyin_texts = [pinyin.letters(t) or "?" for t in texts]
        pinyin_reading = Reading.fit(pinyin_texts, labels, kinds, PINYIN_NGRAMS)
        meta = {"examples": len(texts), "positives": int(labels.sum()),
                "kinds": dict(Counter(k for k in kinds if k)), "seconds": round(time.perf_counter() - started, 2)}
        log.info("danger model trained on %d examples (%d emergencies) in %.1f s", meta["examples"],
                 meta["positives"], meta["seconds"])
        return cls(characters, pinyin_reading, meta)

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """P(danger) of each (normalised, lower-cased) text."""
        return self.characters.probabilities(texts)

    def kind(self, text: str) -> str | None:
        """The most likely kind of danger of a text already judged dangerous."""
        return self.characters.kind(text)

    def pinyin_danger(self, text: str) -> tuple[float, str | None]:
        """For a message typed in pinyin: the highest P(danger) of its clauses, neighbouring pairs
        and the whole, and the kind of danger of that piece."""
        pieces = pinyin.clauses(text)
        candidates = pieces + [f"{a} {b}" for a, b in zip(pieces, pieces[1:])]
        if len(pieces) > 1:
            candidates.append(" ".join(pieces))
        if not candidates:
            return 0.0, None
        probabilities = self.pinyin.probabilities(candidates)
        best = int(np.argmax(probabilities))
        return float(probabilities[best]), self.pinyin.kind(candidates[best])


def _fragments(examples: list[Example]) -> list[Example]:
    """The clauses of every harmless example, as harmless examples of their own: the model meets
    clauses at parse time ("孩子8岁", "在这边住了一年多了") and must learn that a fragment
    without danger in it is not dangerous because emergencies often start the same way."""
    seen = {e.text for e in examples}
    out = []
    for example in examples:
        if example.intent == EMERGENCY:
            continue
        pieces = clauses.split(normalize(example.text))
        for piece in pieces if len(pieces) > 1 else ():
            if piece.text not in seen:
                seen.add(piece.text)
                out.append(Example(piece.text, example.intent))
    return out


def _kind_labels(examples: list[Example], texts: list[str]) -> list[str]:
    """Each emergency example's kind: its metadata, else what the pattern layer names."""
    out = []
    for example, text in zip(examples, texts):
        if example.intent != EMERGENCY:
            out.append("")
        elif example.danger:
            out.append(example.danger)
        else:
            hit = safety.check(text)
            kinds = [k for k in (hit.kinds if hit else ()) if k != safety.DANGER]
            out.append(kinds[0] if kinds else "")
    return out
