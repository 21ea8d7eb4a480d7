"""``tongban eval retrieval``: category accuracy of retrieval on a TSV evaluation file.

The file format is that of ../shared/eval/dev_intents.tsv, read by ``nlu.evaluate.read_tsv``
(``text<TAB>intent<TAB>category``, optionally ``<TAB>tags``); only ``ask_service`` lines with a
category are used here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.schema import Authority
from nlu.evaluate import Example
from nlu.geo import NATIONAL

if TYPE_CHECKING:
    from knowledge.service import KnowledgeBase


def read_offtopic(path: Path) -> list[str]:
    """Off-topic lines, one a line; a section whose heading mentions pinyin is skipped
    (those are in-scope questions the bot cannot read, not off-topic ones)."""
    out, skipping = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            if line.startswith("# ---") or "pinyin" in line.lower():
                skipping = "pinyin" in line.lower()
            continue
        if line.strip() and not skipping:
            out.append(line.strip())
    return out


@dataclass
class RetrievalReport:
    total: int = 0
    top1: int = 0
    top3: int = 0
    per_category: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    misses: list[tuple[str, str, list[str]]] = field(default_factory=list)

    def render(self, name: str) -> str:
        lines = [f"retrieval evaluation: {name}",
                 f"  questions: {self.total}",
                 f"  category top-1 accuracy: {self.top1 / max(self.total, 1):.3f} ({self.top1}/{self.total})",
                 f"  category top-3 accuracy: {self.top3 / max(self.total, 1):.3f} ({self.top3}/{self.total})",
                 "  per-category recall@1:"]
        for category, (hit, n) in sorted(self.per_category.items()):
            lines.append(f"    {category:<22} {hit / n:.2f} ({hit}/{n})")
        lines.append(f"  misses (top-1 wrong): {len(self.misses)}")
        for text, expected, got in self.misses:
            lines.append(f"    [{expected} → {', '.join(got[:3]) or '-'}] {text}")
        return "\n".join(lines)


def evaluate(kb: "KnowledgeBase", examples: list[Example], locality: str | None = None) -> RetrievalReport:
    report = RetrievalReport()
    for example in examples:
        if example.intent != "ask_service" or not example.category:
            continue
        result = kb.search(example.text, locality, k=10)
        ranked = result.categories
        report.total += 1
        counts = report.per_category[example.category]
        counts[1] += 1
        if ranked[:1] == [example.category]:
            report.top1 += 1
            counts[0] += 1
        else:
            report.misses.append((example.text, example.category, ranked))
        if example.category in ranked[:3]:
            report.top3 += 1
    return report


def category_counts(examples: list[Example]) -> Counter:
    return Counter(e.category for e in examples if e.intent == "ask_service")


# ---------------------------------------------------------------- local first (issue 17)

@dataclass(frozen=True)
class LocalQuestion:
    text: str
    locality: str  # the family's place (an area code)
    expected: str  # the title of the local item that answers it; "" when the place's lists do not cover it


def read_local_questions(path: Path) -> list[LocalQuestion]:
    """``question<TAB>area code<TAB>item title or -`` lines; # starts a comment."""
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise ValueError(f"{path}:{number}: expected 3 tab-separated fields")
        text, locality, expected = (part.strip() for part in parts)
        out.append(LocalQuestion(text, locality, "" if expected == "-" else expected))
    return out


@dataclass
class LocalReport:
    """Covered: questions a local list of the place answers; the local top rate is the issue's
    target. Not covered: how often a local item answered anyway (a local item of another service)."""

    covered: int = 0
    local_top: int = 0  # a local list's item first
    exact_top: int = 0  # ... and the item expected
    uncovered: int = 0
    local_anyway: int = 0
    misses: list[tuple[str, str, str, str]] = field(default_factory=list)  # (question, place, expected, got)

    def render(self, name: str) -> str:
        covered, uncovered = max(self.covered, 1), max(self.uncovered, 1)
        lines = [f"local-first evaluation: {name}",
                 f"  covered by a local list: {self.covered}",
                 f"    a local item first: {self.local_top / covered:.3f} ({self.local_top}/{self.covered})",
                 f"    the expected item first: {self.exact_top / covered:.3f} ({self.exact_top}/{self.covered})",
                 f"  not covered: {self.uncovered}",
                 f"    a local item first all the same: {self.local_anyway / uncovered:.3f} "
                 f"({self.local_anyway}/{self.uncovered})",
                 f"  misses: {len(self.misses)}"]
        lines += [f"    [{place} {expected or '-'} → {got}] {text}" for text, place, expected, got in self.misses]
        return "\n".join(lines)


def evaluate_local(kb: "KnowledgeBase", questions: list[LocalQuestion]) -> LocalReport:
    """Where a local list covers a question, is a local item the answer (the first hit)?"""
    report = LocalReport()
    for question in questions:
        hits = kb.search(question.text, question.locality, k=3).hits
        top = hits[0].entry if hits else None
        local = top is not None and top.locality != NATIONAL and top.checklist.authority is not Authority.GUIDANCE
        got = f"{top.checklist.locality.name}·{top.item.title}" if top else "(none)"
        if question.expected:
            report.covered += 1
            report.local_top += local
            exact = local and top.item.title == question.expected
            report.exact_top += exact
            if not exact:
                report.misses.append((question.text, question.locality, question.expected, got))
        else:
            report.uncovered += 1
            report.local_anyway += local
            if local:
                report.misses.append((question.text, question.locality, "", got))
    return report
