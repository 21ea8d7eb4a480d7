"""Duty alerts under a burst (issue 18): 100 urgent records in one minute across 20 areas, each area
with a person on duty reached through a WeCom group robot.

Starts the fake WeCom (tests/fake_wecom.py) here, empties the database and seeds it through the real
services — 20 districts, in each a civil-affairs user on duty all week with a robot of their own
(``ledger.duty``) — then runs ``tongban serve`` (``--workers`` 2) with the robot's API pointed at the
fake: every worker runs the alert loop (``alerts/duty.py``) as in production. This process then writes
the urgent records as the dialogue engine does (a conversation, ``create_urgent_record``), evenly over
``--seconds`` (60), the areas in turn.

Figures: for each record, from its ``created_at`` (written in the turn's transaction) to the moment the
fake robot accepted its first alert: p50 / p95 / max; alerts per record (exactly one expected: none
lost, none twice — counted at the fake by the reference each alert names, and in ``alert_deliveries``).

    .venv/bin/python bench/duty_alerts.py [--records 100] [--areas 20] [--seconds 60] [--workers 2]
                                          [--sqlite | --pg-url URL]

Prints a Markdown report and appends it, dated and with the commit, to bench/results/duty_alerts.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from benchutil import commit_of, free_port, percentile, start_tongban  # noqa: E402
from processes import prepare, stop_serve, wait_serving  # noqa: E402

from tests.fake_wecom import FakeWeCom  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# 20 districts of Shenzhen and Guangzhou (real codes: the gazetteer checks them)
DISTRICTS = ["440303", "440304", "440305", "440306", "440307", "440308", "440309", "440310", "440311", "440103",
             "440104", "440105", "440106", "440111", "440112", "440113", "440114", "440115", "440117", "440118"]
REFERENCE = re.compile(r"U-\d{4}-\d+|U-\d+")
RESULTS = REPO / "bench" / "results" / "duty_alerts.md"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100)
    parser.add_argument("--areas", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0, help="the records are written evenly over this")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sqlite", action="store_true", help="SQLite in the data folder instead of PostgreSQL")
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--data-dir", type=Path, default=REPO / "var" / "bench" / "duty_alerts")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    if not 1 <= args.areas <= len(DISTRICTS):
        parser.error(f"--areas: 1 to {len(DISTRICTS)}")
    return args


def robot_key(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def seed(url: str, data_dir: Path, areas: int) -> None:
    """An empty database with a person on duty all week in each area, reached by a robot of their own."""
    from ledger.accounts import create_user, find_user
    from ledger.db import Database, drop_everything
    from ledger.duty import add_shift, add_target
    from nlu.areas import GazetteerAreas
    from tongban.settings import Settings
    from tongban.storage import data_cipher

    if url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{data_dir / 'tongban.db'}{suffix}").unlink(missing_ok=True)
    else:
        drop_everything(url)
    cipher = data_cipher(Settings(data_dir=data_dir, database={"url": url}))
    gazetteer = GazetteerAreas()
    db = Database(url)
    with db.session() as session:
        for n, district in enumerate(DISTRICTS[:areas]):
            username = f"duty{n:02d}"
            create_user(session=session, areas=gazetteer, username=username, role="civil_affairs", area=district,
                        password="Bench-Duty-Password-2026", display_name=f"值班员{n:02d}", created_by="bench")
            for weekday in range(7):
                add_shift(session, area_code=district, user=username, weekday=weekday, start="00:00", end="24:00",
                          actor="bench", areas=gazetteer)
            add_target(session, cipher, user=find_user(session, username), channel="wecom_robot",
                       address=robot_key(n), actor="bench")
    db.engine.dispose()


def write_records(url: str, data_dir: Path, count: int, areas: int, seconds: float) -> None:
    """The records, as the dialogue engine writes them: one conversation each, evenly over ``seconds``."""
    from ledger.conversations import ConversationStore
    from ledger.db import Database
    from ledger.services import create_urgent_record
    from tongban.settings import Settings
    from tongban.storage import data_cipher

    cipher = data_cipher(Settings(data_dir=data_dir, database={"url": url}))
    db = Database(url)
    store = ConversationStore(db, cipher)
    start = time.monotonic()
    for n in range(count):
        wait = start + n * seconds / count - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        with store.open(f"telegram:{900000 + n}", "telegram") as convo:
            create_urgent_record(session=convo.session, cipher=cipher, conversation_id=convo.id, channel="telegram",
                                 locality=DISTRICTS[n % areas], kinds=["missing"], detected_by="patterns",
                                 message="（基准测试）孩子走失")
    db.engine.dispose()


def collect(url: str) -> tuple[dict[str, dt.datetime], Counter]:
    """Each record's reference and creation time; the deliveries sent per record."""
    from sqlalchemy import func, select

    from ledger.clock import aware
    from ledger.db import Database
    from ledger.duty_models import AlertDelivery, UrgentAlert
    from ledger.models import UrgentRecord
    from ledger.services import urgent_reference

    db = Database(url)
    with db.session() as session:
        created = {urgent_reference(r): aware(r.created_at) for r in session.scalars(select(UrgentRecord))}
        sent = Counter({urgent_reference(session.get(UrgentRecord, record_id)): n for record_id, n in session.execute(
            select(UrgentAlert.urgent_record_id, func.count(AlertDelivery.id))
            .join(AlertDelivery, AlertDelivery.alert_id == UrgentAlert.id)
            .where(AlertDelivery.status == "sent").group_by(UrgentAlert.urgent_record_id))})
    db.engine.dispose()
    return created, sent


def main() -> int:
    args = arguments()
    data_dir = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{data_dir / 'tongban.db'}" if args.sqlite else args.pg_url
    prepare(data_dir)
    seed(url, data_dir, args.areas)
    port = free_port()
    with FakeWeCom() as fake:
        fake.robot_keys |= {robot_key(n) for n in range(args.areas)}
        server = start_tongban(REPO, data_dir, port, args.workers, {
            "TONGBAN_DATABASE__URL": url, "TONGBAN_ALERTS__WECOM_ROBOT_BASE_URL": fake.base_url,
            "TONGBAN_SERVER__PUBLIC_URL": "https://tongban.example.cn"})
        try:
            wait_serving(server, port, args.workers, data_dir / "server.log")
            began = time.time()
            write_records(url, data_dir, args.records, args.areas, args.seconds)
            deadline = time.time() + 60
            while time.time() < deadline:
                accepted = {REFERENCE.search(c["body"]["markdown"]["content"]).group(0)
                            for c in fake.calls if c["errcode"] == 0}
                if len(accepted) >= args.records:
                    break
                time.sleep(0.5)
            time.sleep(3)  # anything sent twice arrives meanwhile
            calls = [c for c in fake.calls if c["errcode"] == 0]
        finally:
            stop_serve(server)
    created, sent = collect(url)
    first: dict[str, float] = {}
    per_record: Counter = Counter()
    for call in calls:
        reference = REFERENCE.search(call["body"]["markdown"]["content"]).group(0)
        per_record[reference] += 1
        first.setdefault(reference, call["at"])
    latencies = sorted(first[ref] - created[ref].timestamp() for ref in created if ref in first)
    lost = [ref for ref in created if ref not in first]
    twice = [ref for ref, n in per_record.items() if n > 1]
    rows_twice = [ref for ref, n in sent.items() if n > 1]
    lines = [
        f"## {dt.datetime.now():%Y-%m-%d %H:%M} · commit {commit_of(REPO)} · "
        f"{'SQLite' if args.sqlite else 'PostgreSQL'}, {args.workers} workers",
        "",
        f"{args.records} urgent records over {args.seconds:.0f} s across {args.areas} areas "
        f"(written {time.time() - began:.0f} s ago at the report); poll every 1 s.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| first alert accepted by the robot | {len(latencies)} of {len(created)} records |",
        f"| record → first alert p50 | {percentile(latencies, 0.5):.2f} s |" if latencies else "| p50 | — |",
        f"| record → first alert p95 | {percentile(latencies, 0.95):.2f} s |" if latencies else "| p95 | — |",
        f"| record → first alert max | {latencies[-1]:.2f} s |" if latencies else "| max | — |",
        f"| records never alerted | {len(lost)} |",
        f"| records alerted twice (at the robot) | {len(twice)} |",
        f"| records with two sent deliveries (database) | {len(rows_twice)} |",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if not args.no_save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with RESULTS.open("a") as out:
            if RESULTS.stat().st_size == 0:
                out.write("# Duty alerts under a burst (bench/duty_alerts.py)\n\n")
            out.write(report + "\n")
    ok = not lost and not twice and not rows_twice and latencies and percentile(latencies, 0.95) <= 5.0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
