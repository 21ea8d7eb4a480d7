"""WeChat callback throughput: 200 followers of the account making whole visits through /wechat/callback.

Starts the fake WeChat API server (tests/fake_wechat.py: the access token, customer-service messages)
here, empties the database and creates a committee in it, then runs ``tongban serve`` in a separate
process with the WeChat channel on and pointed at the fake (``TONGBAN_WECHAT__BASE_URL``), in safe
mode — every callback encrypted, as production accounts run (``--plaintext``: the plain mode).

Each openid makes a parent's visit (``--rounds`` of them; bench/wechat_parents.py is WeChat's side):
  follow the account through the committee's QR code (``subscribe`` with ``qrscene_<code>``; later
  rounds: ``SCAN``, a follower scanning it again) → the welcome naming the committee, and its menu;
  a question (a different one per openid, from the retrieval evaluation sets) → an answer, with its
  citation (依据) when the knowledge base has one;
  the assistance form to a reference number (later rounds: for another child): each question answered
  as asked, numbered choices answered with their digit (同意, the situations, 确认提交).
A parent sends the next message once what the bot said to the last one has arrived — the passive reply
(the answer to the callback's POST) and the customer-service messages after it at the fake — and
``--typing`` seconds later (0: at once, the server's capacity). Each callback is its own connection.
WeChat's retries: a share (``--retry``) of callbacks is posted a second time with the same MsgId (an
event: the same CreateTime), alternately after the first was answered (WeChat lost the answer) and
while the first is still being processed (WeChat retries after 5 s; here 5–100 ms after the first,
so that the retry meets the turn under way, in either worker).

Figures: distinct callbacks per second (and with the retries); the passive reply's latency — from the
first POST of a message to the response that carries its reply, p50/p95/p99, and per step — the
share of messages answered by a passive reply within 4.5 s, and why the others were not; CPU ms per
callback of the bot's processes (benchutil.cpu_seconds), of PostgreSQL's and of this process (the
fake and the load); PostgreSQL transactions per callback.
Checks afterwards: every message got a reply; the fake's customer-service messages plus the passive
replies equal the outbox rows marked sent (none lost, none twice), nothing left pending; no retry
carried a second passive reply, and each message was recorded once (``wechat_messages``, the
transcript); every visit filed a request, attributed to the committee.

    .venv/bin/python bench/wechat_throughput.py [--openids 200] [--rounds 1] [--pg --pg-url URL] [--plaintext]
                                                [--typing S] [--ramp S] [--retry SHARE] [--workers N]
    .venv/bin/python bench/wechat_throughput.py --smoke [--show]   # 5 openids, one visit: does it all work
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchutil import (commit_of, cpu_line, cpu_since, cpu_snapshot, free_port, percentile,  # noqa: E402
                       python_loop_seconds, start_tongban)
from journeys import phrasings  # noqa: E402
from processes import prepare, stop_serve, wait_serving  # noqa: E402
from wechat_parents import CITED, COMMITTEE, STEPS, Follower, Load, drive  # noqa: E402

from sqlalchemy import text  # noqa: E402

from tests.fake_wechat import AES_KEY, APP_ID, SECRET, TOKEN, FakeWeChat  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SIDE = "wechat"  # this process in the CPU figures: the fake WeChat API server and the load generator
WINDOW = 4.5  # seconds: a passive reply later than this is one WeChat may not wait for (it waits 5 s)


def _spread(seconds: list[float], short: bool = False) -> str:
    ordered = sorted(value * 1000 for value in seconds)
    if short:
        return f"{statistics.median(ordered):.0f} / {percentile(ordered, 0.95):.0f}" if ordered else "-"
    return (f"p50 {statistics.median(ordered):.0f} ms, p95 {percentile(ordered, 0.95):.0f} ms, "
            f"p99 {percentile(ordered, 0.99):.0f} ms, max {ordered[-1]:.0f} ms (n = {len(ordered)})")


# --- the database before and after -----------------------------------------------------------------

COUNTS = {
    "sent": "SELECT count(*) FROM outbox WHERE kind = 'reply' AND status = 'sent'",
    "unsent": "SELECT count(*) FROM outbox WHERE status <> 'sent'",
    "passive": "SELECT count(*) FROM outbox WHERE kind = 'reply' AND status = 'sent' AND delivered_via = 'passive'",
    "via": "SELECT count(*) FROM outbox WHERE delivered_via IS NOT NULL",
    "recorded": "SELECT count(*) FROM wechat_messages",
    "transcribed": "SELECT count(*) FROM conversation_messages WHERE direction = 'in'",
    "filed": "SELECT count(*) FROM assistance_requests",
    "referred": f"SELECT count(*) FROM assistance_requests WHERE referral = '{COMMITTEE['code']}'",
}


TRANSACTIONS = "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"


def counts(engine) -> dict[str, int]:
    queries = dict(COUNTS)
    if engine.dialect.name == "postgresql":  # every worker's transactions so far (see main for their lag)
        queries["transactions"] = TRANSACTIONS
    with engine.connect() as conn:
        return {name: conn.execute(text(query)).scalar() for name, query in queries.items()}


def settle(engine, fake: FakeWeChat, timeout: float = 120.0) -> dict[str, int]:
    """Wait until nothing is left to send (the outbox drained, the fake's count still): the counts then."""
    deadline = time.monotonic() + timeout
    while True:
        before = len(fake.sent)
        now = counts(engine)
        time.sleep(0.5)
        if (now["unsent"] == 0 and len(fake.sent) == before) or time.monotonic() > deadline:
            return counts(engine)


def fresh_database(url: str, data_dir: Path) -> None:
    """Empty the database (SQLite: the file), bring it to the newest schema and create the committee."""
    from ledger.committees import create_committee
    from ledger.db import Database, drop_everything

    if url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{data_dir / 'tongban.db'}{suffix}").unlink(missing_ok=True)
    else:
        drop_everything(url)
    db = Database(url)
    with db.session() as session:
        create_committee(session=session, actor="bench", **COMMITTEE)
    db.engine.dispose()


# --- the run -----------------------------------------------------------------------------------------

def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--openids", type=int, default=200, help="followers visiting at the same time")
    parser.add_argument("--rounds", type=int, default=1, help="visits per follower (the later ones start with SCAN)")
    parser.add_argument("--retry", type=float, default=0.05, help="share of callbacks WeChat posts again")
    parser.add_argument("--typing", type=float, default=0.0,
                        help="seconds a parent takes to read a reply and type the next message (0: at once)")
    parser.add_argument("--ramp", type=float, default=0.0,
                        help="seconds over which the openids' first messages are spread (0: all at once)")
    parser.add_argument("--workers", type=int, default=2, help="tongban serve worker processes")
    parser.add_argument("--pg", action="store_true", help="PostgreSQL (--pg-url, emptied) instead of SQLite")
    parser.add_argument("--pg-url", default=PG_URL, help="the PostgreSQL database to empty and use")
    parser.add_argument("--plaintext", action="store_true", help="plain callbacks (no EncodingAESKey)")
    parser.add_argument("--data-dir", type=Path, default=REPO / "var" / "bench" / "wechat",
                        help="keeps the trained model and the index between runs")
    parser.add_argument("--smoke", action="store_true", help="a quick check that it all works: 5 openids, "
                        "one round, every fifth callback retried; prints what each parent was told with --show")
    parser.add_argument("--show", action="store_true", help="print every message and what the bot said to it")
    args = parser.parse_args()
    if args.smoke:
        args.openids, args.rounds, args.retry = 5, 1, 0.2
    return args


def main() -> int:
    args = arguments()
    args.data_dir = args.data_dir.resolve()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    database_url = args.pg_url if args.pg else f"sqlite:///{args.data_dir / 'tongban.db'}"
    fresh_database(database_url, args.data_dir)
    prepare(args.data_dir)  # the intent model and the index, once (not by both workers at once)
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    aes_key = None if args.plaintext else AES_KEY
    questions = phrasings(intent="ask_service")
    followers = [Follower(n, questions[n % len(questions)], aes_key) for n in range(args.openids)]
    port = free_port()
    url = f"http://127.0.0.1:{port}/wechat/callback"
    calibration = python_loop_seconds()
    with FakeWeChat() as fake:
        server = start_tongban(REPO, args.data_dir, port, args.workers, {
            "TONGBAN_DATABASE__URL": database_url, "TONGBAN_WECHAT__APP_ID": APP_ID,
            "TONGBAN_WECHAT__APP_SECRET": SECRET, "TONGBAN_WECHAT__TOKEN": TOKEN,
            "TONGBAN_WECHAT__ENCODING_AES_KEY": aes_key or "", "TONGBAN_WECHAT__BASE_URL": fake.base_url})
        try:
            wait_serving(server, port, args.workers, args.data_dir / "server.log")
            # warm-up: one whole visit, so lazy loading is not measured
            warm = Follower(10**6, questions[-1], aes_key)
            asyncio.run(drive(url, fake, [warm], 1))
            before, fake_before = settle(engine, fake), len(fake.sent)
            cpu_before = cpu_snapshot(server.pid, SIDE)
            load, elapsed = asyncio.run(drive(url, fake, followers, args.rounds, retry_share=args.retry,
                                              typing=args.typing, ramp=args.ramp, show=args.show))
            cpu = cpu_since(cpu_before, server.pid, SIDE)
            after, fake_after = settle(engine, fake), len(fake.sent)
        finally:
            stop_serve(server)
    if "transactions" in after:
        # a connection reports its transactions to the statistics at most once a second, an idle one
        # up to 10 s later; all have when they close: count them with the server stopped
        engine.dispose()
        with engine.connect() as conn:
            after["transactions"] = conn.execute(text(TRANSACTIONS)).scalar()
    engine.dispose()
    return report(args, load, followers, elapsed, cpu, calibration,
                  {name: after[name] - before[name] for name in after}, fake_after - fake_before, after["unsent"])


def report(args, load: Load, followers: list[Follower], elapsed: float, cpu: dict[str, float],
           calibration: float, rows: dict[str, int], custom: int, unsent: int) -> int:
    messages = load.messages
    posts = len(messages) + load.retries
    passive = [m for m in messages if m.passive]
    in_time = sum(1 for m in passive if m.answered - m.started <= WINDOW)
    in_flight = sum(1 for m in messages if m.retry == "in flight")
    heard = sum(len(f.heard) for f in followers)
    print(f"code: {REPO} at {commit_of(REPO)}")
    print(f"backend: {'PostgreSQL' if args.pg else 'SQLite'}, {args.workers} worker process(es), "
          f"{'plaintext' if args.plaintext else 'safe mode (encrypted)'}; {args.openids} openids × {args.rounds} "
          f"visit(s), typing {args.typing:g} s, starts over {args.ramp:g} s: {len(messages)} callbacks "
          f"(+{load.retries} retries of the same MsgId, {in_flight} of them while the first was in flight)")
    print(f"throughput: {len(messages) / elapsed:.1f} callbacks/s, {posts / elapsed:.1f} with the retries "
          f"({elapsed:.1f} s)")
    print(f"passive reply, first POST -> the response carrying it: "
          f"{_spread([m.answered - m.started for m in passive])}")
    print("  by step, p50 / p95 ms: " + "; ".join(
        f"{step} {_spread([m.answered - m.started for m in passive if m.step == step], short=True)}"
        for step in STEPS))
    print(f"first reply in the parent's hands (passive or customer-service): "
          f"{_spread([m.heard - m.started for m in messages])}")
    print(f"passive replies inside {WINDOW} s: {in_time} of {len(messages)} messages "
          f"({100 * in_time / len(messages):.2f} %)")
    missed = [m for m in messages if not m.passive or m.answered - m.started > WINDOW]
    if missed:
        print("  not answered passively inside the window, by step: " + "; ".join(
            f"{step} {sum(1 for m in missed if m.step == step)}" for step in STEPS))
    unanswered = [m for m in messages if not m.passive]
    if unanswered:
        # "success" before the window is over: the turn was done, but older messages of the parent's
        # were still waiting to be sent (or recorded as sent), so its replies queued behind them
        late = [m for m in unanswered if m.answered - m.started >= WINDOW - 0.05]
        print(f"  answered 'success' (replies by customer-service message only): {len(unanswered)}; "
              f"{len(late)} when the window ran out, {len(unanswered) - len(late)} sooner (the turn's replies "
              f"queued behind the parent's earlier ones); their first reply: "
              f"{_spread([m.heard - m.started for m in unanswered])}")
    late = [m for m in passive if m.answered - m.started > WINDOW]
    if late:
        print(f"  passive replies later than {WINDOW} s (time outside the channel's wait: accepting, reading, "
              f"decrypting, the event loop): {len(late)}")
    print(cpu_line(cpu, posts, "callback (retries included)", "callbacks/s", SIDE, "WeChat side"))
    if "transactions" in rows:
        print(f"database transactions per callback (retries included): {rows['transactions'] / posts:.1f}")
    print(f"machine speed now: a pure-Python loop of 10 M additions takes {calibration:.2f} s")
    visits = args.openids * args.rounds
    print(f"answers with a citation ({CITED}): {sum(f.cited for f in followers)} of {visits} questions "
          f"(every welcome named the committee: a parent waits for that)")
    print(f"messages heard: {heard} = {len(passive)} passive + {custom} customer-service; outbox rows sent: "
          f"{rows['sent']} ({rows['passive']} marked passive)")
    checks = checked(args, messages, followers, rows, custom, unsent)
    for name, ok in checks.items():
        print(f"  {'ok' if ok else 'FAILED'}: {name}")
    print(f"targets: >= 100 callbacks/s {'met' if len(messages) / elapsed >= 100 else 'NOT met'}; "
          f">= 99 % passive inside {WINDOW} s {'met' if in_time >= 0.99 * len(messages) else 'NOT met'}")
    ok = all(checks.values())
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


def checked(args, messages: list, followers: list[Follower], rows: dict[str, int], custom: int,
            unsent: int) -> dict[str, bool]:
    """None lost, none doubled, each message processed once, every visit filed."""
    passive = sum(1 for m in messages if m.passive)
    checks = {
        "every message got a reply": all(len(f.heard) >= f.callbacks for f in followers),
        "passive + customer-service messages = outbox rows sent": passive + custom == rows["sent"],
        "the fake's messages are the ones the parents read": sum(len(f.heard) for f in followers) == passive + custom,
        "nothing left pending or failed": unsent == 0,
        "no message answered twice passively": all(m.passive <= 1 for m in messages),
        "each message recorded once (wechat_messages)": rows["recorded"] == len(messages),
        "each message in the transcript once": rows["transcribed"] == len(messages),
        "every visit filed a request, referred by the committee":
            rows["filed"] == rows["referred"] == args.openids * args.rounds
            and all(len(f.references) == args.rounds for f in followers),
    }
    if rows["via"]:  # the channel records how each row went (outbox.delivered_via)
        checks["outbox rows marked passive = passive replies"] = rows["passive"] == passive
    return checks


if __name__ == "__main__":
    raise SystemExit(main())
