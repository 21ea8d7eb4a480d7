"""``tongban eval nlu``: intent accuracy and the safety net's recall, as ``rasa test nlu`` reports.

The evaluation files (tests/data/*.tsv, ../shared/eval/dev_intents.tsv) are read here, for
retrieval's evaluation and calibration too (knowledge/evaluate.py): ``text<TAB>intent<TAB>category``
and optionally ``<TAB>tags``, ``#`` comments.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Example:
    """One line of an evaluation file."""

    text: str
    intent: str
    category: str  # the service category (ask_service) or the kind of danger (emergency)
    tags: tuple[str, ...] = ()  # optional fourth column: what the line tests (long, past, dialect...)


def read_tsv(path: Path) -> list[Example]:
    examples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        text, intent = parts[0].strip(), (parts[1].strip() if len(parts) > 1 else "")
        category = parts[2].strip() if len(parts) > 2 else ""
        tags = tuple(t.strip() for t in parts[3].split(",") if t.strip()) if len(parts) > 3 else ()
        examples.append(Example(text, intent, category, tags))
    return examples


EMERGENCY = "emergency"
# Expected intents that say only "not an emergency": a bare answer to a form's question ("她妈妈",
# "晚上", a phone number) means something only inside the form, which routes it by its slot, not by
# intent. Such lines count for false alarms and are left out of intent accuracy.
SAFETY_ONLY = ("inform",)


# Trap tags of hard negatives (tests/data/independent): false alarms are reported per tag.
TRAPS = ("figurative", "past", "others_story", "law_question", "teaching_safety", "minor_ailment",
         "service_alarming", "hardship", "form_answer", "chat", "parenting", "hypothetical", "denial")


@dataclass
class NluReport:
    pairs: list[tuple[str, str, str]] = field(default_factory=list)  # (text, expected, predicted)
    examples: list[Example] = field(default_factory=list)  # the lines of the file, for per-class figures
    kinds: list[tuple[str, ...]] = field(default_factory=list)  # the kinds of danger each parse named

    def kind_accuracy(self) -> tuple[int, int]:
        """Caught emergencies whose first named kind is the line's kind of danger."""
        from nlu.safety import EVAL_CLASSES

        right = total = 0
        for example, (_, expected, predicted), kinds in zip(self.examples, self.pairs, self.kinds):
            if expected == predicted == EMERGENCY and example.category:
                total += 1
                right += bool(kinds) and kinds[0] == EVAL_CLASSES.get(example.category, example.category)
        return right, total

    def _tally(self, key) -> dict[str, tuple[int, int]]:
        """(predicted emergency, lines) per ``key(example, expected)``; lines keyed None are left out."""
        out: dict[str, list[int]] = {}
        for example, (_, expected, predicted) in zip(self.examples, self.pairs):
            name = key(example, expected)
            if name:
                counts = out.setdefault(name, [0, 0])
                counts[0] += predicted == EMERGENCY
                counts[1] += 1
        return {k: (v[0], v[1]) for k, v in sorted(out.items())}

    def per_danger_class(self) -> dict[str, tuple[int, int]]:
        """Emergency recall per kind of danger (the category column of emergency lines)."""
        return self._tally(lambda e, expected: e.category if expected == EMERGENCY else None)

    def false_alarms_per_trap(self) -> dict[str, tuple[int, int]]:
        return self._tally(lambda e, expected: None if expected == EMERGENCY
                           else next((t for t in e.tags if t in TRAPS), "other"))

    def per_position(self) -> dict[str, tuple[int, int]]:
        """Emergency recall by where the danger stands in a long message (tags start/middle/end)."""
        return self._tally(lambda e, expected: next((t for t in e.tags if t in ("start", "middle", "end")), None)
                           if expected == EMERGENCY else None)

    @property
    def total(self) -> int:
        return len(self.pairs)

    def _routed(self) -> list[tuple[str, str, str]]:
        """The pairs intent accuracy is measured on (every line but SAFETY_ONLY ones)."""
        return [pair for pair in self.pairs if pair[1] not in SAFETY_ONLY]

    @property
    def accuracy(self) -> float:
        routed = self._routed()
        return sum(e == p for _, e, p in routed) / max(len(routed), 1)

    def per_intent(self) -> dict[str, tuple[float, float, float, int]]:
        routed = self._routed()
        labels = sorted({e for _, e, _ in routed} | {p for _, _, p in routed})
        out = {}
        for label in labels:
            tp = sum(e == label and p == label for _, e, p in routed)
            predicted = sum(p == label for _, _, p in routed)
            support = sum(e == label for _, e, _ in routed)
            precision = tp / predicted if predicted else 0.0
            recall = tp / support if support else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            out[label] = (precision, recall, f1, support)
        return out

    def confusions(self, n: int = 10) -> list[tuple[tuple[str, str], int]]:
        return Counter((e, p) for _, e, p in self._routed() if e != p).most_common(n)

    @property
    def emergency_recall(self) -> float:
        emergencies = [(e, p) for _, e, p in self.pairs if e == EMERGENCY]
        return sum(p == EMERGENCY for _, p in emergencies) / max(len(emergencies), 1)

    @property
    def false_alarm_rate(self) -> float:
        others = [(e, p) for _, e, p in self.pairs if e != EMERGENCY]
        return sum(p == EMERGENCY for _, p in others) / max(len(others), 1)

    def emergencies_caught(self) -> tuple[int, int]:
        """(caught, emergencies): the counts behind ``emergency_recall``."""
        return (sum(e == p == EMERGENCY for _, e, p in self.pairs), sum(e == EMERGENCY for _, e, _ in self.pairs))

    def false_alarms(self) -> tuple[int, int]:
        """(alarms, other lines): the counts behind ``false_alarm_rate``."""
        return (sum(p == EMERGENCY and e != EMERGENCY for _, e, p in self.pairs),
                sum(e != EMERGENCY for _, e, _ in self.pairs))

    def summary(self, name: str) -> str:
        """One line of ``render_summary``'s table."""
        (caught, emergencies), (alarms, others) = self.emergencies_caught(), self.false_alarms()
        return (f"  {name:<44} {self.total:>8} {self.accuracy:>8.3f} {f'{caught}/{emergencies}':>11}"
                f" {f'{alarms}/{others}':>13}")

    def render(self, name: str) -> str:
        safety_only = self.total - len(self._routed())
        (caught, emergencies), (alarms, others) = self.emergencies_caught(), self.false_alarms()
        lines = [f"NLU evaluation: {name}", f"  examples: {self.total}",
                 f"  intent accuracy: {self.accuracy:.3f}"
                 + (f" (of {len(self._routed())}; {safety_only} form answers checked for false alarms only)"
                    if safety_only else ""),
                 f"  emergency recall: {self.emergency_recall:.3f} ({caught}/{emergencies})",
                 f"  emergency false-alarm rate: {self.false_alarm_rate:.3f} ({alarms}/{others})",
                 "  per intent:            precision  recall  f1     support"]
        for label, (p, r, f, s) in self.per_intent().items():
            lines.append(f"    {label:<20} {p:8.3f} {r:7.3f} {f:6.3f} {s:6d}")
        for title, table in (("emergency recall per kind of danger", self.per_danger_class()),
                             ("emergency recall by position in a long message", self.per_position()),
                             ("false alarms per kind of hard negative", self.false_alarms_per_trap())):
            if table:
                lines.append(f"  {title}:")
                lines += [f"    {name:<20} {hit}/{total}" for name, (hit, total) in table.items()]
        right, total = self.kind_accuracy()
        if total:
            lines.append(f"  kind of danger named right (first kind) on caught emergencies: {right}/{total}")
        lines.append("  most confused pairs (expected → predicted):")
        for (expected, predicted), count in self.confusions():
            lines.append(f"    {expected} → {predicted}: {count}")
        lines.append("  errors:")
        for text, expected, predicted in self.pairs:
            if expected != predicted and (expected not in SAFETY_ONLY or predicted == EMERGENCY):
                lines.append(f"    [{expected} → {predicted}] {text}")
        return "\n".join(lines)


def render_summary(reports: list[tuple[str, NluReport]]) -> str:
    """The files side by side, one line each: the held-out set beside an independent one."""
    return "\n".join([f"summary ({len(reports)} files):",
                      f"  {'file':<44} {'examples':>8} {'accuracy':>8} {'emergencies':>11} {'false alarms':>13}",
                      *(report.summary(name) for name, report in reports)])


def evaluate(interpreter, examples: list[Example]) -> NluReport:
    report = NluReport()
    for example in examples:
        if example.intent:
            parsed = interpreter.parse(example.text)
            report.examples.append(example)
            report.kinds.append(tuple(parsed.danger_kinds))
            report.pairs.append((example.text, example.intent, parsed.intent))
    return report
