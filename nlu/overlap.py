"""Whether two messages are the same, or nearly, for keeping evaluation data apart from training
and tuning data (``tests/test_heldout_overlap.py``, ``scripts/tsv-to-nlu-yml``).

Two lines are the same when their comparison keys are equal: the message normalised as the
interpreter reads it (``nlu.normalize``: NFKC, so full/half width; Traditional → Simplified;
emoji out) with every space, punctuation mark and symbol removed and Latin letters lower-cased.
They are near-duplicates when the character bigrams of their keys overlap by a Jaccard index of
at least ``NEAR_DUPLICATE``: "娃要上一年级了 外地户口咋报名" and "娃要上一年级了 外地户口怎么报名"
(0.73) are one line for an evaluation's purposes.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable

from nlu.normalize import normalize

NEAR_DUPLICATE = 0.7
_NOT_WORD = re.compile(r"[\W_]+")


def comparison_key(text: str) -> str:
    """The message with its form taken away: normalised, no spaces or punctuation, lower case."""
    return _NOT_WORD.sub("", normalize(text, max_chars=10**9)).lower()


def bigrams(key: str) -> frozenset[str]:
    """The key's character bigrams (a one-character key is its own bigram)."""
    return frozenset(key[i:i + 2] for i in range(len(key) - 1)) if len(key) > 1 else frozenset([key])


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def similarity(first: str, second: str) -> float:
    """The bigram Jaccard index of two messages' comparison keys (1.0 when the keys are equal)."""
    a, b = comparison_key(first), comparison_key(second)
    return 1.0 if a == b else jaccard(bigrams(a), bigrams(b))


class OverlapIndex:
    """Reference messages (training or tuning lines) to look others up in.

    ``matches(text)`` gives every reference line whose key equals the text's or whose bigrams
    overlap it by at least ``threshold``, without comparing every pair: a pair at ``threshold``
    must share one of the rarest ``|A| - ceil(threshold * |A|) + 1`` bigrams of each side (prefix
    filtering), so only lines sharing such a bigram are compared."""

    def __init__(self, references: Iterable[str], threshold: float = NEAR_DUPLICATE):
        self.threshold = threshold
        self.texts: list[str] = []
        self._sets: list[frozenset[str]] = []
        self._keys: dict[str, list[int]] = defaultdict(list)
        for text in references:
            key = comparison_key(text)
            if key:
                self._keys[key].append(len(self.texts))
                self.texts.append(text)
                self._sets.append(bigrams(key))
        self._frequency = Counter(pair for pairs in self._sets for pair in pairs)
        self._prefixes: dict[str, list[int]] = defaultdict(list)
        for i, pairs in enumerate(self._sets):
            for pair in self._prefix(pairs):
                self._prefixes[pair].append(i)

    def _prefix(self, pairs: frozenset[str]) -> list[str]:
        size = len(pairs) - math.ceil(self.threshold * len(pairs) - 1e-9) + 1
        return sorted(pairs, key=lambda p: (self._frequency.get(p, 0), p))[:size]

    def matches(self, text: str) -> list[tuple[str, float]]:
        """(reference line, similarity) of every equal or near-duplicate line, most similar first."""
        key = comparison_key(text)
        if not key:
            return []
        pairs = bigrams(key)
        found = {i: 1.0 for i in self._keys.get(key, ())}
        for i in {i for pair in self._prefix(pairs) for i in self._prefixes.get(pair, ())} - found.keys():
            score = jaccard(pairs, self._sets[i])
            if score >= self.threshold:
                found[i] = score
        return sorted(((self.texts[i], score) for i, score in found.items()), key=lambda m: (-m[1], m[0]))
