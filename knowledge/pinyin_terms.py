"""Service words typed in pinyin, read as the checklists' own words.

"娃的yibao今年还没交": a parent without the characters at hand types the sound of the service.
Retrieval reads characters, so such a question scored too low and got "please rephrase". The
lexicon is built from the checklists being served (every item's keywords and title words, and
the category names): each word's toneless pinyin run together (医保 → yibao, 居民医保 → juminyibao).
The longest spans of Latin words in a question (spaces between them ignored: "linshi jiuzhu")
that are wholly a sequence of lexicon words are replaced by those words; anything else — English, a name, a pinyin word that
is no service term — is left as it was. Only words of at least MIN_LETTERS letters are entered,
so short syllables (an, bao) never turn into a service.

The items' keywords also mend homophone typos, the input method's first guess ("居主证" for
居住证, "临时就助" for 临时救助, "幼儿圆" for 幼儿园): a span of three or four characters, whole tokens
of the sentence (jieba), that sounds exactly like a keyword and differs from it in one character
is read as that keyword — unless the span is a common word of its own. Two-character spans are
left alone (as often a name: 心莉, 康福小区), and no typo is ever mended into a word of harm or an
age (噎住, 打孩子, 十六岁).
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Iterable

from knowledge.categories import CATEGORIES
from nlu.pinyin import letters

MIN_LETTERS = 4
MIN_TYPO_CHARS = 3
MAX_TYPO_CHARS = 4
_HAN_TERM = re.compile(r"[\u4e00-\u9fff]+")
# never mended into or out of: words of harm, ages and numbers, and phrases about what is done to
# a child ("看孩子", "管孩子": "要砍孩子" must never read "要看孩子", "太惯孩子" never "太管孩子")
_HARM_CHARS = r"[噎暴打杀死伤烫摔溺跳毒骂虐拐咬烧割砍刀捅掐勒闷踢揍绑锁饿]"
_NOT_MENDED_TO = re.compile(_HARM_CHARS + r"|[岁年月天周]|[一二三四五六七八九十百千两]|孩子|娃|小孩|儿子|女儿")
_NOT_MENDED_FROM = re.compile(_HARM_CHARS)
# only names of services, documents and places are mended to ("居住证", "公租房", "临时救助"), never a
# phrase ("要钱吗", "没人管", "交朋友", "家务事", "回老家") nor a ministry ("民政不…" is no 民政部)
_SERVICE_NOUN = re.compile(r"[证房园助保金卡站所湾任员医种育导询贴险费院校班]$")
COMMON_WORD = 20  # jieba's frequency from which a span is a word of its own, not a typo
_HAN = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[\u4e00-\u9fff]{2,8}")
_LATIN_RUN = re.compile(r"[a-z]+(?: +[a-z]+)*")


class PinyinTerms:
    def __init__(self, words: Iterable[str], terms: Iterable[str] | None = None):
        """``words``: the lexicon for pinyin typed in Latin letters; ``terms``: the whole service
        terms typos are mended to (default: ``words``)."""
        self.lexicon: dict[str, str] = {}
        for word in words:
            for part in _WORD.findall(word):
                key = letters(part)
                if len(key) >= MIN_LETTERS and key.isascii() and key.isalpha():
                    self.lexicon.setdefault(key, part)
        self._longest = max((len(k) for k in self.lexicon), default=0)
        # (characters, sound) -> term, for the homophone typos: whole names of a service, document
        # or place of three or four characters (two-character spans are as often a name: 心莉,
        # 康福); never a word of harm or an age, so no typo ever turns into 噎住, 打孩子 or 十六岁
        self.sounds: dict[tuple[int, str], str] = {}
        for term in (words if terms is None else terms):
            if (_HAN_TERM.fullmatch(term) and MIN_TYPO_CHARS <= len(term) <= MAX_TYPO_CHARS
                    and _SERVICE_NOUN.search(term) and not _NOT_MENDED_TO.search(term)):
                self.sounds.setdefault((len(term), "".join(_sound(ch) for ch in term)), term)

    @classmethod
    def from_entries(cls, entries) -> "PinyinTerms":
        """From the indexed items (``IndexedItem``) being served, and the category names; typos
        are mended to the keywords and category names only (a title cut into runs is no term)."""
        terms = list(CATEGORIES.values())
        words = list(terms)
        for entry in entries:
            words += [entry.item.title, *entry.item.keywords]
            terms += list(entry.item.keywords)
        return cls(words, terms)

    def _segment(self, run: str) -> list[str] | None:
        """``run`` (letters only) as lexicon words, longest first; None if it cannot be."""
        best: list[list[str] | None] = [None] * (len(run) + 1)
        best[len(run)] = []
        for start in range(len(run) - 1, -1, -1):
            for end in range(min(len(run), start + self._longest), start + MIN_LETTERS - 1, -1):
                word = self.lexicon.get(run[start:end])
                if word is not None and best[end] is not None:
                    best[start] = [word, *best[end]]
                    break
        return best[0]

    def mend(self, text: str) -> str:
        """``text`` with homophone typos of service words written right ("居主证" → "居住证")."""
        if not self.sounds:
            return text
        typos = [(i, size, word) for i, size, word in self._sounding(text)
                 if word != text[i:i + size] and sum(a != b for a, b in zip(word, text[i:i + size])) == 1]
        if not typos:
            return text  # jieba (~60 MB) is read only once a message holds a likely typo
        bounds, at = {0}, 0  # a typo is whole tokens of the sentence, never part of a word around it ("我家宝宝")
        for token in _tokens(text):
            at += len(token)
            bounds.add(at)
        out, i = [], 0
        for start, size, word in typos:
            span = text[start:start + size]
            if (start < i or start not in bounds or start + size not in bounds
                    or _frequency().get(span, 0) >= COMMON_WORD):
                continue
            out.append(text[i:start] + word)
            i = start + size
        return "".join(out) + text[i:]

    def _sounding(self, text: str):
        """(start, size, term) of each span of ``text`` that sounds like a term, longest first at
        each start, left to right, never overlapping a term written right."""
        i = 0
        while i < len(text):
            for size in range(min(MAX_TYPO_CHARS, len(text) - i), MIN_TYPO_CHARS - 1, -1):
                span = text[i:i + size]
                if not all(_HAN.match(ch) for ch in span) or _NOT_MENDED_FROM.search(span):
                    continue
                word = self.sounds.get((size, "".join(_sound(ch) for ch in span)))
                if word is not None:
                    yield i, size, word
                    i += size
                    break
            else:
                i += 1

    def rewrite(self, text: str) -> str:
        """``text`` (normalised, lower case) with pinyin service words written in characters, and
        homophone typos of them mended."""
        text = self.mend(text)
        if not self.lexicon or not re.search(r"[a-z]", text):
            return text

        def replace(match: re.Match) -> str:
            tokens = match.group(0).split(" ")
            out: list[str] = []
            i = 0
            while i < len(tokens):  # the longest span of tokens that is wholly service words
                for j in range(len(tokens), i, -1):
                    words = self._segment("".join(tokens[i:j]))
                    if words:
                        out.append("".join(words))
                        i = j
                        break
                else:
                    out.append(tokens[i])
                    i += 1
            return " ".join(out)

        return _LATIN_RUN.sub(replace, text)


@lru_cache(maxsize=8192)
def _sound(char: str) -> str:
    return letters(char)


def _tokens(text: str) -> list[str]:
    import jieba

    _frequency()  # initialised, quietly
    return jieba.lcut(text, HMM=False)


@lru_cache(maxsize=1)
def _frequency() -> dict:
    """jieba's dictionary (word -> frequency), loaded once."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.dt.FREQ
