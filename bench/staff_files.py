"""The staff app's generated files: QR posters and the ledger export, timed in-process.

Targets (these were timed assertions in tests/test_staff_leaf.py; timings live here):

* a committee's QR poster: PNG (200 dpi, A4) under 5 s, PDF under 5 s;
* the ledger export of 10,000 records: CSV under 3 s, Excel under 20 s.

Each file is built ``--runs`` times (after one untimed build that loads fonts and imports);
the table gives the median and the slowest run. The export through HTTP on a 100,000-request
database is bench/staff_queue.py's.

    .venv/bin/python bench/staff_files.py [--rows 10000] [--runs 3]

Exits 1 when a median misses its target (only meaningful at the default ``--rows``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from staff.export import ledger_csv, ledger_xlsx  # noqa: E402
from staff.deep_link import deep_link  # noqa: E402
from staff.poster import poster_pdf, poster_png  # noqa: E402
from staff.poster_font import PosterFontError, find_poster_font  # noqa: E402

CODE = "sz-baoan_haiwang-01"
POSTER = dict(link=deep_link("TongbanBot", CODE), committee_name="海旺社区居民委员会",
              area_name="广东省深圳市宝安区新安街道", code=CODE)
TARGETS = {"poster PNG": 5.0, "poster PDF": 5.0, "ledger CSV": 3.0, "ledger Excel": 20.0}


def ledger_rows(count: int) -> list[dict]:
    """Export rows shaped as the staff app hands them to ``ledger_csv`` / ``ledger_xlsx``."""
    situations = [["family_hardship", "self_request"], ["guardianship_gap"], ["disability", "family_hardship"]]
    return [{
        "reference": f"LD-2026-{i:06d}", "child_name": "王小明", "child_age": i % 16,
        "hukou": "河南省周口市", "residence": "广东省深圳市宝安区", "months_at_residence": 6 + i % 60,
        "guardian_name": "王芳", "guardian_relation": "母亲", "guardian_phone": "013800138000",
        "situations": situations[i % len(situations)], "area_code": "440306001001",
        "accepted_on": date(2026, 3, 1), "last_visit_on": date(2026, 6, 1), "next_visit_on": date(2026, 9, 1),
        "next_review_on": None, "status": "在册",
    } for i in range(count)]


def timed(build, runs: int) -> tuple[list[float], int]:
    size = len(build())  # untimed: fonts, imports, caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        build()
        times.append(time.perf_counter() - started)
    return times, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=10_000, help="ledger records in the export")
    parser.add_argument("--runs", type=int, default=3, help="timed builds of each file")
    args = parser.parse_args()

    rows = ledger_rows(args.rows)
    cases = {"poster PDF": lambda: poster_pdf(**POSTER),
             "ledger CSV": lambda: ledger_csv(rows), "ledger Excel": lambda: ledger_xlsx(rows)}
    try:
        find_poster_font()
        cases = {"poster PNG": lambda: poster_png(**POSTER), **cases}
    except PosterFontError as exc:
        print(f"poster PNG left out: {exc}")

    print(f"{args.rows:,} ledger rows, {args.runs} timed runs of each file\n")
    print("| file | median s | slowest s | target s | size | met |")
    print("|---|---|---|---|---|---|")
    missed = []
    for name, build in cases.items():
        times, size = timed(build, args.runs)
        median, target = statistics.median(times), TARGETS[name]
        met = median < target
        if not met:
            missed.append(name)
        print(f"| {name} | {median:.3f} | {max(times):.3f} | {target:g} | {size / 1024:,.0f} KiB | {'yes' if met else 'NO'} |")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
