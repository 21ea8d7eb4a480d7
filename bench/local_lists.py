"""Local lists as published (issue 17): ingesting a 300-row table in each format, and search latency
with 20 local lists loaded.

1. **Ingest**: a 300-row checklist table (``tests.local_docs.make_table_document``: merged category
   cells in HTML, Word and Excel; a PDF over several pages with the header repeated) is written in
   each format, then read in a process of its own (``--read KIND PATH``): the reader alone, then
   the whole ingestion into items with the keyword fallback. Seconds, and the process's peak
   resident memory (VmHWM) against what it held before reading. The category prior's time for the
   300 items (``KnowledgeBase.classify``, one batch) is measured once, in the main process.
2. **Search**: ``KnowledgeBase.search`` over the retrieval held-out questions, with the shipped lists
   alone (before) and with 20 local lists of 25 rows each (after), at places inside those lists and
   at places without one; each question is asked of the two knowledge bases one right after the
   other, so a busy moment of the machine falls on both. p50 / p95 ms. The question's vector is
   embedded on its first search and reused after (as the bot passes the turn's own): p50 is the
   ranking, p95 the first sight of a question.

    .venv/bin/python bench/local_lists.py [--rows 300] [--lists 20] [--rounds 3]

Prints a Markdown report and appends it, dated and with the commit, to bench/results/local_lists.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

KINDS = ("html", "docx", "xlsx", "pdf")
# prefecture-level cities (the lists' places) and a district inside each (the families' places)
CITIES = [("410100", "410105"), ("340200", "340202"), ("440100", "440106"), ("420100", "420111"),
          ("510100", "510107"), ("330100", "330106"), ("320100", "320106"), ("350100", "350102"),
          ("370100", "370102"), ("430100", "430102"), ("360100", "360102"), ("450100", "450102"),
          ("520100", "520102"), ("530100", "530102"), ("610100", "610102"), ("620100", "620102"),
          ("210100", "210102"), ("220100", "220102"), ("230100", "230102"), ("130100", "130102")]
ELSEWHERE = ["440306", "310115", "110108", "500103", "120101"]  # places without a list of their own


def _vm(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def read_child(kind: str, path: str) -> None:
    """In a process of its own: read the document, then ingest it (keyword categories)."""
    import knowledge.desk as desk_module
    from knowledge.readers import read_upload

    data = Path(path).read_bytes()
    before = _vm("VmRSS")
    started = time.perf_counter()
    document = read_upload(data, Path(path).name)
    read_s = time.perf_counter() - started
    read_peak = _vm("VmHWM")
    started = time.perf_counter()
    ingested = desk_module.read_notice_file(data, Path(path).name, locality="410100", title="测试",
                                            published=dt.date(2026, 1, 15))
    ingest_s = time.perf_counter() - started
    items = 0 if isinstance(ingested, list) else len(ingested.checklist.items)
    print(json.dumps({"kind": kind, "bytes": len(data), "rows": len(document.rows), "items": items,
                      "read_s": read_s, "ingest_s": ingest_s, "rss_before_kb": before,
                      "read_peak_kb": read_peak, "peak_kb": _vm("VmHWM")}))


def ingest_report(rows: int, folder: Path) -> list[dict]:
    from tests.local_docs import make_table_document

    out = []
    for kind in KINDS:
        path = make_table_document(kind, rows, folder / f"table{rows}.{kind}")
        run = subprocess.run([sys.executable, __file__, "--read", kind, str(path)], capture_output=True, text=True,
                             cwd=REPO, timeout=900)
        if run.returncode != 0:
            raise SystemExit(run.stderr)
        out.append(json.loads(run.stdout.strip().splitlines()[-1]))
    return out


def knowledge(folder: Path):
    from nlu.embedding import build_embedder
    from tests.conftest import make_settings
    from tongban.runtime import knowledge_base

    settings = make_settings(folder, knowledge={"watch_interval": 0})
    return knowledge_base(settings, build_embedder(settings.embedding)).start(watch=False)


def load_lists(kb, count: int, rows: int, folder: Path) -> None:
    """``count`` local lists of ``rows`` rows, one per city, published into ``kb``."""
    from knowledge.desk import ChecklistDesk
    from tests.local_docs import make_table_document

    desk = ChecklistDesk(kb)
    for n, (city, _) in enumerate(CITIES[:count]):
        kind = KINDS[n % len(KINDS)]
        path = make_table_document(kind, rows, folder / f"list{n}.{kind}")
        read = desk.from_notice(path.read_bytes(), path.name, locality=city, title=f"测试清单{n}",
                                published=dt.date(2026, 1, 15), checklist_id=f"{city}-bench")
        assert not isinstance(read, list), read
        if read.checklist.id not in desk.catalog.versions or desk.changes(read.checklist).any:
            kb.store.save_new_version(read.checklist, kb.snapshot.catalog)  # stored; served below, all at once
    kb.reload()


def questions() -> list[str]:
    from nlu.evaluate import read_tsv

    return [e.text for e in read_tsv(REPO / "tests" / "data" / "retrieval_heldout.tsv") if e.intent == "ask_service"]


def timed(kb, texts: list[str], places: list[str | None]) -> list[float]:
    out = []
    for i, text in enumerate(texts):
        place = places[i % len(places)]
        started = time.perf_counter()
        kb.search(text, place)
        out.append((time.perf_counter() - started) * 1000)
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--read":
        read_child(sys.argv[2], sys.argv[3])
        return 0
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--lists", type=int, default=20)
    parser.add_argument("--list-rows", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--data", type=Path, default=REPO / "var" / "bench" / "local_lists")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        ingest = ingest_report(args.rows, Path(tmp))
        before, after = knowledge(args.data / "before"), knowledge(args.data / "after")
        load_lists(after, args.lists, args.list_rows, Path(tmp))
        from tests.local_docs import table_rows

        texts = [" ".join(row[1:5]) for row in table_rows(args.rows)]
        started = time.perf_counter()
        after.classify(texts)
        classify_s = time.perf_counter() - started
    texts = questions()
    places_local = [district for _, district in CITIES[:args.lists]]
    runs = {("before", "local"): [], ("after", "local"): [], ("before", "elsewhere"): [], ("after", "elsewhere"): []}
    for kb in (before, after):  # warm: every question's vector cached alike, first-call costs paid
        timed(kb, texts[:50], [None])
    for _ in range(args.rounds):  # each question asked of both, one right after the other
        for i, text in enumerate(texts):
            for where, places in (("local", places_local), ("elsewhere", ELSEWHERE)):
                for name, kb in (("before", before), ("after", after)):
                    runs[(name, where)] += timed(kb, [text], [places[i % len(places)]])
    items = {name: len(kb.snapshot.retriever.index.entries) for name, kb in (("before", before), ("after", after))}
    load = os.getloadavg()
    lines = [f"## {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit} "
             f"(load average {load[0]:.2f} / {load[1]:.2f})", "",
             f"Ingesting a {args.rows}-row table (a process of its own per format; RSS before reading ≈ "
             f"{ingest[0]['rss_before_kb'] // 1024} MB: Python and the readers' libraries):", "",
             "| format | file | rows read | items | read s | read + items s | peak RSS MB (growth while reading) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in ingest:
        lines.append(f"| {r['kind']} | {r['bytes'] // 1024} KB | {r['rows']} | {r['items']} | {r['read_s']:.2f} | "
                     f"{r['ingest_s'] + r['read_s']:.2f} | {r['peak_kb'] / 1024:.0f} (+{(r['peak_kb'] - r['rss_before_kb']) / 1024:.0f}) |")
    lines += ["", f"Categories of the {args.rows} rows by the category prior (one batch, in the serving process): "
              f"{classify_s:.2f} s.", "",
              f"Search latency (`KnowledgeBase.search`, {len(texts)} questions of retrieval_heldout.tsv × {args.rounds} "
              f"rounds, each asked of both in turn): before = shipped lists ({items['before']} items); after = + {args.lists} local "
              f"lists of {args.list_rows} rows ({items['after']} items).", "",
              "| families' places | before p50 / p95 ms | after p50 / p95 ms | p50 change |", "|---|---|---|---:|"]
    for where in ("local", "elsewhere"):
        b, a = runs[("before", where)], runs[("after", where)]
        change = (statistics.median(a) / statistics.median(b) - 1) * 100
        label = "inside the 20 lists' cities" if where == "local" else "places without a list"
        lines.append(f"| {label} | {statistics.median(b):.1f} / {percentile(b, 0.95):.1f} | "
                     f"{statistics.median(a):.1f} / {percentile(a, 0.95):.1f} | {change:+.1f} % |")
    report = "\n".join(lines) + "\n"
    print(report)
    results = REPO / "bench" / "results" / "local_lists.md"
    if not results.exists():
        results.write_text("# Local lists: ingestion and search latency (issue 17)\n\n"
                           "`.venv/bin/python bench/local_lists.py` (bench/local_lists.py says what is measured).\n\n",
                           encoding="utf-8")
    with results.open("a", encoding="utf-8") as handle:
        handle.write(report + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
