"""Messages typed in pinyin: "haizi bu hu xi le", "ta shu shu mei tian wan shang jin ta fang jian".

A parent without a Chinese keyboard, or a child on a borrowed phone, may type the sounds of the
words in Latin letters, without tones and with spaces anywhere. The character models of the
safety net have never seen such text. For these messages the danger model has a second reading
(``nlu/danger.py``) trained on the same examples written in pinyin (``pypinyin``), compared as
one stream of letters per clause, so that "bu hu xi", "buhuxi" and "bu huxi" are the same.
"""

from __future__ import annotations

import re

from pypinyin import lazy_pinyin

# One toneless syllable (ü typed as v or u); greedy, longest finals first.
_SYLLABLE = re.compile(
    r"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(?:iang|iong|uang|ueng|ang|eng|ing|ong|uai|uan|iao|ian|uen|ai|ei|ao|ou|an|en|in|un|ia|ie|iu|"
    r"ua|uo|ue|ui|ve|er|a|o|e|i|u|v)"
)
_LATIN_WORD = re.compile(r"[a-z]+")
_CJK = re.compile(r"[\u3400-\u9fff]")
_BREAK = re.compile(r"[,.!?;:，。！？；：、\n]+")
MIN_LETTERS = 6  # "ok", "hi" and an English word or two are not a pinyin message
MIN_SYLLABLE_SHARE = 0.85  # of the letters, covered by valid syllables


def is_pinyin(text: str) -> bool:
    """True for a message written in pinyin: no Chinese characters, and its letters read as
    pinyin syllables (English prose does not: "my child is not breathing" leaves too much over)."""
    lowered = text.lower()
    if _CJK.search(lowered):
        return False
    words = _LATIN_WORD.findall(lowered)
    letters = sum(len(w) for w in words)
    if letters < MIN_LETTERS:
        return False
    covered = sum(_covered(w) for w in words)
    return covered >= MIN_SYLLABLE_SHARE * letters


def _covered(word: str) -> int:
    """Letters of ``word`` that split into whole syllables from the start, greedily."""
    position = 0
    while position < len(word):
        match = _SYLLABLE.match(word, position)
        if not match:
            break
        position = match.end()
    return position if position == len(word) else 0


def letters(text: str) -> str:
    """``text`` as pinyin letters: Chinese characters become toneless syllables, everything runs
    together within a clause, clause breaks become one space ("娃不动了，快来" → "wabudongle kuailai")."""
    out = []
    for piece in _BREAK.split(text.lower()):
        syllables = lazy_pinyin(piece, errors=lambda chunk: list(chunk))
        stream = re.sub(r"[^a-z0-9]+", "", "".join(syllables))
        if stream:
            out.append(stream)
    return " ".join(out)


def clauses(text: str) -> list[str]:
    """The clauses of a pinyin message (split at punctuation only: spaces separate syllables)."""
    return [c for c in letters(text).split(" ") if c]
