"""Crash recovery under load: SIGKILLed workers, a restarted database, nothing lost or doubled.

**Telegram part** (PostgreSQL). Starts a PostgreSQL cluster of its own (initdb into a temporary
folder, trust auth, port 55432 or a free one; the shared server on 5432 is not touched), the fake
Bot API server (tests/fake_telegram.py) and ``tongban serve --workers 2`` in webhook mode. 200
chats each make a whole visit (/start, a question, the assistance form with consent, 确认提交:
15 updates) while

* one worker process gets SIGKILL whenever both serve, at least ``--kill-interval`` seconds after
  the last kill and at a moment when at least ``--min-in-flight`` webhook POSTs wait for an answer
  (so that turns are cut short); only workers up for longer than the supervisor's crash-loop window
  (30 s, tongban/serve.py) are chosen. The supervisor starts another, which loads its models again
  (a minute or two on a busy 2-core machine: that, not the interval, bounds the number of kills;
  ``--allow-outage`` also kills the only worker serving);
* PostgreSQL is restarted once in the middle of the load (``pg_ctl restart -m immediate``: a crash
  of the database server, every connection cut, crash recovery on start).

This process plays Telegram: an update is POSTed to the webhook over at most 40 connections
(setWebhook's max_connections) and POSTed again, with the same update_id, until it is acknowledged
with 200 (a connection error, a timeout of 30 s or any other status means a redelivery after 0.5,
1, 2, 4, 5, 5… s). A parent sends the next message only once the bot answered the last one (and
presses a button only once it is shown), after a pause that spreads the 15 updates over
``--duration`` seconds.

Counted from the fake's side: updates sent; answered (the bot sent at least one message to the
chat between the update and the chat's next update — the reply may come late, from the outbox
sweeper); lost (no reply within ``--reply-timeout``); answered twice (the chat received a message
more often than the outbox holds messages with that text: a row sent twice). From the database
(decrypted with the key given to the servers): form answers lost (a field of the filed request
that differs from what the chat sent; all of them for a chat with no request), requests
duplicated (a chat with more than one request, or a filing merged into an earlier one).
Cross-checks: the parent's messages in the transcript against updates sent (processed twice /
never), sendMessage calls against outbox rows sent. The timeline of every chat with something
wrong goes to ``<data dir>/telegram-anomalies.txt``.

**REST part** (SQLite). One ``tongban serve`` process; 40 REST clients, each a trusted integration
(``Authorization: Bearer`` with ``TONGBAN_SECURITY__API_TOKEN``) making the same visit through
``POST /webhooks/rest/webhook`` with a ``message_id`` per message; the process is SIGKILLed
``--rest-kills`` times, each after serving ``--rest-kill-interval`` seconds, while requests are in
flight, and started again at once. A client whose request fails (connection
error, 5xx) sends it again with the same message_id until it gets an answer. Counted: messages
sent, answered, answered twice (processed twice: the transcript holds the message twice), lost;
form answers lost and requests duplicated as above.

    .venv/bin/python bench/crash_recovery.py [--part telegram|rest|both] [--chats 200]
        [--duration 60] [--kill-interval 5] [--min-in-flight 3] [--rest-chats 40] [--rest-kills 2]

Exit status 0 when every count that must be zero is zero.

The parts are bench/crash_telegram.py and bench/crash_rest.py; the visit and the counts after the
load are in bench/crash_checks.py, the processes (our own PostgreSQL, the servers, the killer) in
bench/processes.py.
"""


from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crash_rest import run_rest  # noqa: E402
from crash_telegram import run_telegram  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["telegram", "rest", "both"], default="both")
    parser.add_argument("--chats", type=int, default=200, help="Telegram chats, each a 15-update visit")
    parser.add_argument("--duration", type=float, default=60.0,
                        help="seconds the parents' pauses spread each visit over (the load takes longer when "
                             "replies come late)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-interval", type=float, default=5.0,
                        help="at least this many seconds between SIGKILLs of a worker (0: none)")
    parser.add_argument("--min-in-flight", type=int, default=3,
                        help="kill only while at least this many webhook POSTs wait for an answer")
    parser.add_argument("--allow-outage", action="store_true",
                        help="also kill the only worker serving (default: only while both serve)")
    parser.add_argument("--pg-restart-at", type=float, default=None,
                        help="seconds into the load to restart PostgreSQL (default: half the duration; <0: never)")
    parser.add_argument("--pg-port", type=int, default=55432, help="port of our own cluster (a free one if taken)")
    parser.add_argument("--reply-timeout", type=float, default=150.0,
                        help="seconds a parent waits for an answer before counting the update lost")
    parser.add_argument("--rest-chats", type=int, default=40, help="REST clients, each a 15-message visit")
    parser.add_argument("--rest-duration", type=float, default=60.0)
    parser.add_argument("--rest-kills", type=int, default=2, help="SIGKILLs (each followed by a restart)")
    parser.add_argument("--rest-kill-interval", type=float, default=15.0,
                        help="seconds the server serves before it is killed")
    parser.add_argument("--data-dir", type=Path, default=REPO / "var" / "bench" / "crash",
                        help="keeps the trained model and index between runs")
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    ok = True
    if args.part in ("telegram", "both"):
        ok = run_telegram(args) and ok
    if args.part in ("rest", "both"):
        ok = run_rest(args) and ok
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
