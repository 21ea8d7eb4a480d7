"""``tongban eval answers FILE``: are the bot's answers right, as a parent gets them?

Each question of FILE goes through the dialogue engine as a new REST conversation (no locality),
exactly as a parent's first message would: intent recognition, routing, retrieval, the answer's
layout. The reply that cites a checklist is the **first screen**; its 详细 button is pressed for
the **detail**. A question is graded against the facts a correct answer must state (written
with the question, from the plan or a cited source):

* **fully correct** — every fact is on the first screen;
* **correct with 详细** — every fact is on the first screen or in the detail;
* **acceptable** — the answer comes from the right category, but a fact is missing;
* **wrong** — no cited answer (a "please rephrase", out of scope) or an answer from another
  category.

An emergency reply (【紧急】: what to do now, whom to call) is graded on its facts alone when the
question's facts ask for an emergency number (110, 120 or 119: the writer meant a child in danger)
— fully correct when it states every fact, else wrong; to any other question it is wrong, like a
service question taken for a danger.

A fact is a set of alternative wordings (``居住证|居住证明``); it is stated when one of them
appears in the text. False or unsafe statements cannot be found by matching: read the misses.

File format (TAB-separated, ``#`` comments): ``question  category  aspect  facts  source``;
facts separated by `` ; ``, alternatives by ``|``.
"""

from __future__ import annotations

import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.answer import DETAIL_TITLE

VERDICTS = ("fully correct", "correct with 详细", "acceptable", "wrong")
URGENT = "【紧急】"  # the answered "category" of an emergency reply
EMERGENCY_LINES = ("110", "120", "119")


@dataclass(frozen=True)
class Case:
    question: str
    category: str
    aspect: str
    facts: tuple[tuple[str, ...], ...]
    source: str = ""


@dataclass
class Graded:
    case: Case
    verdict: str
    answered_category: str | None
    first: str
    missing: list[str] = field(default_factory=list)  # facts not stated anywhere (first alternative)


def read_cases(path: Path) -> list[Case]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [part.strip() for part in line.split("\t")]
        if len(parts) < 4 or not parts[0] or not parts[3]:
            raise ValueError(f"{path}:{number}: expected question, category, aspect, facts[, source]")
        facts = tuple(tuple(alt.strip() for alt in fact.split("|") if alt.strip())
                      for fact in parts[3].split(";") if fact.strip())
        cases.append(Case(parts[0], parts[1], parts[2], facts, parts[4] if len(parts) > 4 else ""))
    return cases


def stated(fact: tuple[str, ...], text: str) -> bool:
    return any(alternative in text for alternative in fact)


def grade(case: Case, first: str, detail: str, category: str | None) -> Graded:
    if category == URGENT:  # on its facts alone, all on the one screen it has, if a danger was asked about
        missing = [fact[0] for fact in case.facts if not stated(fact, first)]
        asks_for_help_now = any(alternative in EMERGENCY_LINES for fact in case.facts for alternative in fact)
        return Graded(case, "fully correct" if asks_for_help_now and not missing else "wrong", category, first,
                      missing)
    if category != case.category:
        missing = [fact[0] for fact in case.facts if not stated(fact, first + detail)]
        return Graded(case, "wrong", category, first, missing)
    if all(stated(fact, first) for fact in case.facts):
        return Graded(case, "fully correct", category, first)
    missing = [fact[0] for fact in case.facts if not stated(fact, first + detail)]
    return Graded(case, "correct with 详细" if not missing else "acceptable", category, first, missing)


def ask(engine, sender: str, question: str) -> tuple[str, str, str | None]:
    """(first screen, detail, category of the cited item) of the engine's answer to ``question``."""
    replies = engine.handle(sender, question)
    cited = next((r for r in replies if r.sources), None)
    if cited is None:
        urgent = next((r for r in replies if r.facts.get("urgent")), None)
        if urgent is not None:
            return urgent.text, "", URGENT
        return "\n".join(r.text for r in replies), "", None
    category = cited.sources[0].get("category")
    detail_button = next((b for b in cited.buttons if b.title == DETAIL_TITLE), None)
    detail = ""
    if detail_button is not None:
        detail = "\n".join(r.text for r in engine.handle(sender, detail_button.payload))
    return cited.text, detail, category


@dataclass
class AnswerReport:
    graded: list[Graded]

    def _rates(self, rows: list[Graded]) -> str:
        counts = Counter(g.verdict for g in rows)
        total = len(rows) or 1
        full = counts["fully correct"]
        with_detail = full + counts["correct with 详细"]
        return (f"{len(rows):4d}  fully {full / total:6.1%}  with 详细 {with_detail / total:6.1%}  "
                f"acceptable {counts['acceptable'] / total:6.1%}  wrong {counts['wrong'] / total:6.1%}")

    def render(self, name: str) -> str:
        lines = [f"Answer evaluation: {name}", f"  all      {self._rates(self.graded)}", "  per category:"]
        by_category: dict[str, list[Graded]] = defaultdict(list)
        by_aspect: dict[str, list[Graded]] = defaultdict(list)
        for g in self.graded:
            by_category[g.case.category].append(g)
            by_aspect[g.case.aspect].append(g)
        lines += [f"    {code:22s} {self._rates(rows)}" for code, rows in sorted(by_category.items())]
        lines.append("  per aspect:")
        lines += [f"    {aspect:22s} {self._rates(rows)}" for aspect, rows in sorted(by_aspect.items())]
        lines.append("  not fully correct (verdict; expected → answered category; missing facts; first line):")
        for g in self.graded:
            if g.verdict != "fully correct":
                first_line = g.first.split("\n")[0][:60]
                lines.append(f"    [{g.verdict}; {g.case.category} → {g.answered_category}; "
                             f"missing {' / '.join(g.missing) or '-'}] {g.case.question}  ⇒ {first_line}")
        lines.append("  (false or unsafe statements are not found by matching: read the answers above)")
        return "\n".join(lines)


def evaluate(engine, cases: list[Case]) -> AnswerReport:
    graded = []
    for number, case in enumerate(cases):
        first, detail, category = ask(engine, f"eval-answers:{number}", case.question)
        graded.append(grade(case, first, detail, category))
    return AnswerReport(graded)


def run(settings, path: Path) -> AnswerReport:
    """Evaluate with the configured models and checklists, the conversations in a throwaway
    database (the real one is not touched)."""
    from tongban.runtime import Runtime

    with tempfile.TemporaryDirectory(prefix="tongban-eval-answers-") as folder:
        database = settings.database.model_copy(update={"url": f"sqlite:///{Path(folder) / 'eval.db'}"})
        runtime = Runtime.build(settings.model_copy(update={"database": database}), watch=False,
                                housekeeping=False)
        try:
            return evaluate(runtime.engine, read_cases(path))
        finally:
            runtime.close()
