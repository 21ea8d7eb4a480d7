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

from nlu.evaluate import Example

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
