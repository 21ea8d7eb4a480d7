"""The assistance-request form: per-turn latency, and filings per second with 50 parents at once.

Runs the real dialogue engine (NLU, rasa-sdk validation, encryption, database) in-process on
PostgreSQL (127.0.0.1:5432/test; the tables are dropped and recreated) or, with --sqlite, on a
temporary SQLite file. Every parent files a different child; afterwards the database must
hold exactly one request per parent.

    .venv/bin/python bench/form_throughput.py [--parents 50] [--sqlite]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import func, select  # noqa: E402

from ledger.db import drop_everything  # noqa: E402
from ledger.models import AssistanceRequest  # noqa: E402
from tongban.runtime import Runtime  # noqa: E402
from tongban.settings import Settings  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def script(n: int) -> list[str]:
    surname = "王李张刘陈杨赵黄周吴"[n % 10]
    given = "小明小红小刚小丽小军小芳小华小燕小龙小凤"[(n // 10 % 10) * 2:(n // 10 % 10) * 2 + 2]
    return ["我要申请帮扶", "同意", f"{surname}{given}", f"{5 + n % 10}岁", "河南周口郸城", "深圳宝安西乡街道",
            "两年", "李芳", "妈妈", f"139{n:08d}", "1 3", "孩子爸爸受伤干不了活", "确认提交"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parents", type=int, default=50)
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = "" if args.sqlite else PG_URL
        if not args.sqlite:
            drop_everything(PG_URL)
        settings = Settings(data_dir=Path(tmp), database={"url": url}, knowledge={"watch_interval": 0},
                            log_level="WARNING")
        runtime = Runtime.build(settings)
        engine = runtime.engine
        # per-turn latency, one parent at a time
        turns = []
        for n in range(5):
            for message in script(10_000 + n):
                started = time.perf_counter()
                engine.handle(f"solo-{n}", message)
                turns.append((time.perf_counter() - started) * 1000)
        # 50 parents at once
        errors: list[BaseException] = []
        barrier = threading.Barrier(args.parents)

        def parent(n: int) -> None:
            try:
                barrier.wait()
                for message in script(n):
                    engine.handle(f"parent-{n}", message)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=parent, args=(n,)) for n in range(args.parents)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        with runtime.db.session() as session:
            stored = session.scalar(select(func.count()).select_from(AssistanceRequest).where(
                AssistanceRequest.conversation_id.isnot(None)))
            distinct = session.scalar(select(func.count(func.distinct(AssistanceRequest.child_key_hash))))
        runtime.close()
    turns.sort()
    backend = "SQLite" if args.sqlite else "PostgreSQL"
    print(f"backend: {backend}")
    print(f"per-turn latency over {len(turns)} turns (5 whole forms, one parent at a time): "
          f"p50 {statistics.median(turns):.1f} ms, p95 {turns[int(0.95 * (len(turns) - 1))]:.1f} ms")
    print(f"{args.parents} parents filing at once: {elapsed:.1f} s for {args.parents * len(script(0))} turns; "
          f"{args.parents / elapsed:.1f} requests stored/s; {args.parents * len(script(0)) / elapsed:.0f} turns/s")
    print(f"stored requests: {stored} (5 solo + {args.parents} concurrent expected = {5 + args.parents}); "
          f"distinct children: {distinct}; errors: {len(errors)}")
    if errors:
        print("first error:", repr(errors[0]))
    return 0 if not errors and stored == 5 + args.parents == distinct else 1


if __name__ == "__main__":
    sys.exit(main())
