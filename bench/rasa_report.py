"""Scoring each side's answers on the evaluation files and writing bench/results/rasa_compare.md
(the main table, per-class recall, the errors, the machine). (bench/rasa_compare.py)"""

from __future__ import annotations

import math
import os
import platform
import shlex
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rasa_setup import EMERGENCY, OURS, RASA, REPO, SHORT


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# --------------------------------------------------------------------------- scoring

@dataclass
class Tally:
    """How many of how many: each figure of the report is one (printed "hits/of")."""

    hits: int = 0
    of: int = 0

    def add(self, hit: bool) -> None:
        self.hits += int(hit)
        self.of += 1

    def __str__(self) -> str:
        return f"{self.hits}/{self.of}"


@dataclass
class Score:
    """One server on one file."""

    accuracy: Tally = field(default_factory=Tally)  # the right intent, of all examples
    recall: Tally = field(default_factory=Tally)  # taken for an emergency, of the emergencies
    alarms: Tally = field(default_factory=Tally)  # taken for an emergency, of the others
    per_class: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))  # recall per danger class
    missed: list[tuple[str, str, str]] = field(default_factory=list)  # text, class, predicted
    false_alarms: list[tuple[str, str]] = field(default_factory=list)  # text, expected


def score(examples: list, predicted: dict[str, tuple[str, float]]) -> Score:
    """Accuracy, emergency recall (overall and per danger class) and false alarms."""
    s = Score()
    for e in examples:
        intent = predicted[e.text][0]
        alarmed = intent == EMERGENCY
        s.accuracy.add(intent == e.intent)
        if e.intent == EMERGENCY:
            s.recall.add(alarmed)
            if e.category:
                s.per_class[e.category].add(alarmed)
            if not alarmed:
                s.missed.append((e.text, e.category, intent))
        else:
            s.alarms.add(alarmed)
            if alarmed:
                s.false_alarms.append((e.text, e.intent))
    return s


def latency_cell(values: list[float]) -> str:
    return f"{percentile(values, 0.5):.1f} / {percentile(values, 0.95):.1f} ms" if values else "–"


# --------------------------------------------------------------------------- report

def main_table(names: list[str], scores: dict, latencies: dict, short: dict, memory: dict, training: dict) -> list[str]:
    """The comparison table (markdown lines)."""
    lines = [f"| | {OURS} | {RASA} |", "|---|---:|---:|"]
    row = lambda label, a, b: lines.append(f"| {label} | {a} | {b} |")  # noqa: E731
    for name in names:
        a, b = scores[OURS][name], scores[RASA][name]
        acc = lambda t: f"{t.hits / t.of:.3f} ({t})" if t.of else "–"  # noqa: E731
        row(f"intent accuracy, {name}", acc(a.accuracy), acc(b.accuracy))
        row(f"emergency recall, {name}", a.recall, b.recall)
        row(f"false alarms, {name}", a.alarms, b.alarms)
    n, m = len(latencies[OURS]), len(short[OURS])
    row(f"/model/parse p50 / p95, first-seen text (n={n})", latency_cell(latencies[OURS]), latency_cell(latencies[RASA]))
    row(f"/model/parse p50 / p95, first-seen text ≤ {SHORT} chars (n={m})", latency_cell(short[OURS]), latency_cell(short[RASA]))
    row("server memory (RSS of the process tree after the run)", f"{memory[OURS]:.0f} MB", f"{memory[RASA]:.0f} MB")
    row("training (wall, CLI start to end)", f"{training[OURS]:.1f} s", f"{training[RASA]:.1f} s")
    return lines


def class_table(names: list[str], scores: dict) -> list[str]:
    """Emergency recall per danger class, for the files that name classes."""
    lines = []
    for name in names:
        classes = sorted(set(scores[OURS][name].per_class) | set(scores[RASA][name].per_class))
        if not classes:
            continue
        if not lines:
            lines += [f"| file | danger class | {OURS} | {RASA} |", "|---|---|---:|---:|"]
        for cls in classes:
            a, b = scores[OURS][name].per_class[cls], scores[RASA][name].per_class[cls]
            lines.append(f"| {name} | {cls} | {a} | {b} |")
    return lines


def clip(text: str, width: int = 80) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def error_lists(names: list[str], scores: dict) -> list[str]:
    """Each server's missed emergencies and false alarms, per file."""
    lines = []
    for server in (OURS, RASA):
        lines.append(f"\n### {server}")
        for name in names:
            s = scores[server][name]
            lines.append(f"\n{name}: {len(s.missed)} missed emergencies, {len(s.false_alarms)} false alarms")
            lines += [f"- missed ({cls or 'no class'}; predicted {pred}): {clip(t)}" for t, cls, pred in s.missed]
            lines += [f"- false alarm (expected {exp}): {clip(t)}" for t, exp in s.false_alarms]
    return lines


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown CPU")
    return f"{os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}), {model}, {platform.platform()}"


def command_line() -> str:
    cmd = shlex.join([os.path.relpath(sys.executable, REPO) if sys.executable.startswith(str(REPO)) else sys.executable,
                      *sys.argv])
    return f"`make rasa-compare` (runs `{cmd}`)" if os.environ.get("MAKELEVEL") else f"`{cmd}`"


def git_state() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()
    dirty = git("status", "--porcelain", "--", "nlu", "knowledge", "tongban", "bot")
    return git("rev-parse", "--short", "HEAD") + (" (with uncommitted changes in nlu/ knowledge/ tongban/ bot/)" if dirty else "")
