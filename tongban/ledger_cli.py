"""``tongban ledger …`` and ``tongban security …``: a request's status, the outbox, the retention purge,
the data key. Each command opens the ledger from the settings and checks the data key first."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from tongban.settings import get_settings
from tongban.storage import data_cipher, ledger_database, open_ledger


def register(sub) -> None:
    """Add the ``ledger`` and ``security`` command groups to the ``tongban`` parser's subparsers."""
    ledger = sub.add_parser("ledger", help="assistance requests and the outbox").add_subparsers()
    status = ledger.add_parser("set-status", help="change a request's status (the parent is notified)")
    status.add_argument("reference", help="e.g. LD-2026-000123")
    status.add_argument("status", choices=["under_review", "accepted", "referred", "not_eligible", "closed"])
    status.add_argument("--note", required=True, help="why (required; kept in the status history)")
    status.add_argument("--actor", default="cli", help="who made the change (for the audit log)")
    status.add_argument("--first-visit", type=dt.date.fromisoformat, default=None,
                        help="YYYY-MM-DD, when accepting (default: within 14 days)")
    status.set_defaults(run=_set_status)
    box = ledger.add_parser("outbox", help="count outbox messages by status")
    box.set_defaults(run=_outbox)
    purge = ledger.add_parser("purge", help="delete or anonymise what is past its retention period "
                                            "(TONGBAN_RETENTION__*; serve runs it daily)")
    purge.add_argument("--dry-run", action="store_true", help="only count, per kind, what would go")
    purge.set_defaults(run=_purge)

    security = sub.add_parser("security", help="the data key").add_subparsers()
    rotate = security.add_parser("rotate-key", help="re-encrypt everything under the first key of "
                                                    "TONGBAN_SECURITY__DATA_KEY=NEW,OLD (stop serve first)")
    rotate.add_argument("--batch-size", type=int, default=500)
    rotate.set_defaults(run=_rotate_key)
    new_key = security.add_parser("new-key", help="print a new random data key")
    new_key.set_defaults(run=_new_key)


def ledger_db():
    """The deployment's ledger, its data key checked (``tongban.storage.open_ledger``)."""
    return open_ledger(get_settings())


def _purge(args: argparse.Namespace) -> int:
    from ledger.retention import purge

    db, cipher = ledger_db()
    try:
        report = purge(db, cipher, get_settings().retention, dry_run=args.dry_run)
    finally:
        db.dispose()
    print(("would delete or anonymise (dry run):" if args.dry_run else "deleted or anonymised:"))
    for line in report.lines():
        print(line)
    return 0


def _rotate_key(args: argparse.Namespace) -> int:
    from ledger.keys import rotate

    settings = get_settings()
    cipher = data_cipher(settings)  # not verified: the check row is still under the old key
    if cipher.key_count < 2:
        print("只有一个密钥：请把新密钥放在最前面，旧密钥放在后面，例如 TONGBAN_SECURITY__DATA_KEY=NEW,OLD"
              "（新密钥可用 tongban security new-key 生成）。 Give NEW,OLD to rotate.", file=sys.stderr)
        return 2
    db = ledger_database(settings)
    try:
        report = rotate(db, cipher, batch_size=args.batch_size)
    finally:
        db.dispose()
    for line in report.lines():
        print(line)
    print("done: everything is under the first key; the old keys can now be removed from "
          "TONGBAN_SECURITY__DATA_KEY")
    return 0


def _new_key(args: argparse.Namespace) -> int:
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode("ascii"))
    return 0


def _set_status(args: argparse.Namespace) -> int:
    from ledger.casework import CaseworkError, change_status, find_request
    from ledger.requests import STATUS_LABELS
    from tongban.channels import declare_push

    declare_push()  # the parent is notified on the channels that deliver later
    db, cipher = ledger_db()
    try:
        with db.session() as session:
            request = find_request(session=session, reference=args.reference)
            if request is None:
                print(f"没有编号为 {args.reference} 的申请。", file=sys.stderr)
                return 2
            change = change_status(session=session, cipher=cipher, request=request, status=args.status,
                                   note=args.note, actor=args.actor, first_visit_on=args.first_visit)
            queued = "已放入发送队列" if change.notification_queued else "家长不是通过 Telegram 提交的，无法主动通知"
            print(f"{request.reference}：{STATUS_LABELS[args.status]}（给家长的通知：{queued}）")
    except CaseworkError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    finally:
        db.dispose()
    return 0


def _outbox(args: argparse.Namespace) -> int:
    from ledger import outbox

    db, _ = ledger_db()
    try:
        with db.session() as session:
            for status, count in sorted(outbox.counts(session=session).items()):
                print(f"{status}\t{count}")
    finally:
        db.dispose()
    return 0
