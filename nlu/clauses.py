"""Split a message into clauses, so that one danger sentence inside a long message is seen alone.

Parents write long messages: the family's story, a question about medical insurance, and at the
end "他爸喝了酒又拿皮带抽她". Classified whole, the danger is diluted by everything else. The safety
net therefore checks every clause, and every pair of neighbouring clauses (a danger is often
spread over two short fragments: "娃三天了 没人管"), as well as the whole message.

Clauses end at sentence and clause punctuation, line breaks, runs of spaces (many parents use a
space as their only punctuation) and before discourse connectives (但是, 结果, 还有...). Very short
fragments are joined to the clause before them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BREAK = re.compile(r"[。！？!?；;…\n\r]+|[，,、：:]+|\s+|～+|~+")
# Connectives that start a new thought; the split keeps them at the start of the next clause.
_CONNECTIVE = re.compile(r"(?=(?:但是|可是|不过|然后|结果|后来|还有就是|还有|另外|对了|而且|现在|刚才|刚刚|今天|昨天晚上|昨晚))")
MIN_CHARS = 4  # shorter fragments are joined to their neighbour
MAX_CHARS = 80  # longer stretches without any break are cut in windows of this size


@dataclass(frozen=True)
class Clause:
    text: str
    start: int  # offsets in the (normalised) message
    end: int


def split(text: str) -> list[Clause]:
    """The clauses of ``text`` in order; a message without breaks is one clause."""
    pieces: list[Clause] = []
    position = 0
    for match in _BREAK.finditer(text):
        _add(pieces, text, position, match.start())
        position = match.end()
    _add(pieces, text, position, len(text))
    return _join_short(pieces)


def windows(clauses: list[Clause], width: int = 2) -> list[Clause]:
    """Each clause, and each run of ``width`` neighbouring clauses joined (when there are more
    clauses than that)."""
    out = list(clauses)
    if len(clauses) > 1:
        for i in range(len(clauses) - width + 1):
            first, last = clauses[i], clauses[i + width - 1]
            joined = " ".join(c.text for c in clauses[i:i + width])
            out.append(Clause(joined, first.start, last.end))
    return out


def _add(pieces: list[Clause], text: str, start: int, end: int) -> None:
    """Add text[start:end], cut before connectives and into windows if very long."""
    if end <= start:
        return
    cuts = [m.start() + start for m in _CONNECTIVE.finditer(text, start, end) if m.start() > start]
    bounds = [start, *cuts, end]
    for a, b in zip(bounds, bounds[1:]):
        while b - a > MAX_CHARS:
            pieces.append(Clause(text[a:a + MAX_CHARS], a, a + MAX_CHARS))
            a += MAX_CHARS
        if b > a:
            pieces.append(Clause(text[a:b], a, b))


def _join_short(pieces: list[Clause]) -> list[Clause]:
    out: list[Clause] = []
    for piece in pieces:
        if out and (len(piece.text) < MIN_CHARS or len(out[-1].text) < MIN_CHARS):
            last = out[-1]
            out[-1] = Clause(f"{last.text} {piece.text}", last.start, piece.end)
        else:
            out.append(piece)
    return out
