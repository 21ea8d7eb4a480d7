"""Question → answer over HTTP on first-seen messages, two versions of the code side by side.

Each tree named with ``--tree LABEL=PATH`` (a checkout: the working tree, or a ``git worktree`` of an
older commit) gets its own data folder, index and intent models (built by that tree's own
``tongban knowledge reindex`` and ``tongban nlu train``; kept between runs under ``--work``, and
retrained by the tree itself when its code changed) and its own ``tongban serve`` on 127.0.0.1. All
servers run at once; the questions are then posted to ``/webhooks/rest/webhook`` one at a time,
each question to every server in turn (the order of the servers alternates from one question to the
next), so a slow minute of this shared machine falls on every version alike.

First seen means: every question is sent once to each server, by a new sender (a parent's first
message), and none of them is in any training or tuning file — they are the held-out answer sets
(tests/data/answers/set_m/n/o.tsv, kept apart from the training data by tests/test_heldout_overlap.py).
The warm-up uses other texts (the retrieval tuning questions), so no measured text hits a cache.

    .venv/bin/python bench/answer_latency.py --tree before=/tmp/wt-before --tree after=.

Prints p50 / p95 per tree (and by message length) and appends them, dated and with each tree's
commit, to bench/results/answer_latency.md.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from benchutil import BENCH_API_TOKEN, BENCH_HEADERS, free_port, memory_kb, python_loop_seconds  # noqa: E402

HELD_OUT = [REPO / "tests" / "data" / "answers" / f"set_{name}.tsv" for name in "mno"]
WARM_UP = REPO / "tests" / "data" / "retrieval_tuning.tsv"
LENGTHS = ((0, 20), (21, 60), (61, 10_000))


def first_column(path: Path) -> list[str]:
    """The question column of a TSV file (comments and blank lines skipped)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("\t")[0].strip() for line in lines if line.strip() and not line.startswith("#")]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def commit_of(tree: Path) -> str:
    result = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=tree, capture_output=True, text=True)
    return result.stdout.strip() or "unknown commit"


class Server:
    """One tree's ``tongban serve`` on its own data folder, started after its index and models exist."""

    def __init__(self, label: str, tree: Path, work: Path):
        self.label, self.tree = label, tree.resolve()
        self.env = {**os.environ, "PYTHONPATH": str(self.tree), "TONGBAN_DATA_DIR": str(work / f"data-{label}"),
                    "TONGBAN_KNOWLEDGE__WATCH_INTERVAL": "0", "TONGBAN_LOG_LEVEL": "WARNING",
                    "TONGBAN_SECURITY__API_TOKEN": BENCH_API_TOKEN}
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def tongban(self, *args: str) -> None:
        subprocess.run([sys.executable, "-m", "tongban.cli", *args], cwd=self.tree, env=self.env, check=True,
                       stdout=subprocess.DEVNULL)

    def __enter__(self) -> "Server":
        self.tongban("knowledge", "reindex")
        self.tongban("nlu", "train")
        self.process = subprocess.Popen([sys.executable, "-m", "tongban.cli", "serve", "--port", str(self.port)],
                                        cwd=self.tree, env=self.env)
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def wait_ready(self, client: httpx.Client) -> None:
        deadline = time.monotonic() + 600
        while True:
            try:
                client.get(f"{self.base}/healthz").raise_for_status()
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"the {self.label} server did not start")
                time.sleep(0.3)

    def ask(self, client: httpx.Client, sender: str, text: str) -> float:
        started = time.perf_counter()
        response = client.post(f"{self.base}/webhooks/rest/webhook", json={"sender": sender, "message": text})
        elapsed = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        if not response.json():
            raise RuntimeError(f"{self.label}: no reply to {text!r}")
        return elapsed


def measure(servers: list[Server], questions: list[str], warm_up: list[str]) -> dict[str, list[float]]:
    latencies: dict[str, list[float]] = {server.label: [] for server in servers}
    with httpx.Client(timeout=60, headers=BENCH_HEADERS) as client:
        for server in servers:
            server.wait_ready(client)
            for n, text in enumerate(warm_up):
                server.ask(client, f"warm-{n}", text)
        for n, text in enumerate(questions):
            order = servers if n % 2 == 0 else servers[::-1]
            for server in order:
                latencies[server.label].append(server.ask(client, f"first-{n}", text))
    return latencies


def table(servers: list[Server], questions: list[str], latencies: dict[str, list[float]]) -> str:
    heads = " | ".join(f"{low}–{high if high < 10_000 else ''} chars p50 / p95" for low, high in LENGTHS)
    lines = [f"| tree | commit | p50 ms | p95 ms | {heads} | server RSS MB |",
             "|---|---|---:|---:|" + "---:|" * len(LENGTHS) + "---:|"]
    for server in servers:
        values = latencies[server.label]
        cells = []
        for low, high in LENGTHS:
            part = [v for v, q in zip(values, questions) if low <= len(q) <= high]
            cells.append(f"{statistics.median(part):.1f} / {percentile(part, 0.95):.1f} ({len(part)})" if part else "—")
        rss, _ = memory_kb(server.process.pid)
        lines.append(f"| {server.label} | {commit_of(server.tree)} | {statistics.median(values):.1f} | "
                     f"{percentile(values, 0.95):.1f} | {' | '.join(cells)} | {rss / 1024:.0f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", action="append", required=True, metavar="LABEL=PATH",
                        help="a checkout to measure (repeat: before=/tmp/wt-before --tree after=.)")
    parser.add_argument("--limit", type=int, default=0, help="measure only the first N questions (0: all)")
    parser.add_argument("--work", type=Path, default=REPO / "var" / "bench-answer")
    args = parser.parse_args()
    trees = [spec.split("=", 1) for spec in args.tree]
    if any(len(spec) != 2 for spec in trees):
        parser.error("--tree takes LABEL=PATH")
    questions = list(dict.fromkeys(q for path in HELD_OUT for q in first_column(path)))
    random.Random(11).shuffle(questions)
    if args.limit:
        questions = questions[: args.limit]
    measured = set(questions)
    warm_up = [q for q in first_column(WARM_UP) if q not in measured][:20]
    args.work.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        servers = [stack.enter_context(Server(label, Path(path), args.work)) for label, path in trees]
        speed = python_loop_seconds()
        latencies = measure(servers, questions, warm_up)
        result = table(servers, questions, latencies)
    print(result)
    heading = (f"\n## Run of {time.strftime('%Y-%m-%d %H:%M')}\n\n{os.cpu_count()} cores (10 M-addition loop "
               f"{speed:.2f} s), {len(questions)} first-seen questions (held-out answer sets M, N, O), each "
               f"sent once to every server by a new sender, servers alternating.\n\n")
    with (REPO / "bench" / "results" / "answer_latency.md").open("a", encoding="utf-8") as results:
        results.write(heading + result + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
