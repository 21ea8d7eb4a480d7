"""The outbox: messages to parents, written in the transaction that causes them.

A reply or a status notification is a row here before anyone tries to send it, so a crash, a
restart or the channel being unreachable loses nothing. A row holds either a ``Reply`` not yet
rendered (``{"reply": …}``: a notification, written by the casework service — ``notify``) or a
message as its channel rendered it in the turn that answered (the channel's own JSON, e.g.
Telegram's ``{"op": "send", …}``, one row per message it sends); the channel named on the row
delivers it. A sender claims due rows (``claim``), delivers them in ``id`` order per conversation,
and records the outcome: ``sent``; a retry with exponential back-off (``retry``); ``blocked`` when
the parent blocked the bot (the conversation is marked and nothing more is tried until they write
again).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.clock import aware, utcnow
from ledger.crypto import DataCipher
from ledger.models import Conversation, OutboxMessage
from ledger.reply import Reply

CLAIM_LEASE = dt.timedelta(seconds=30)  # a claim not renewed for this long (a crashed sender) is taken over
RENEW_EVERY = CLAIM_LEASE / 3  # a live sender renews its claims this often (``renew``)
BACKOFF_BASE = 2.0  # seconds; doubled per attempt
BACKOFF_MAX = dt.timedelta(hours=1)
MAX_ATTEMPTS = 30  # then the row is marked failed (about a day of retries)
OUTBOX = OutboxMessage.__table__
RECOVERED = "recorded as sent from its sender's log"  # logged per row; bench/crash_recovery.py counts it
log = logging.getLogger(__name__)
# the statements of every turn, built once (SQLAlchemy then reuses their compiled form)
_INSERT = insert(OUTBOX)
_WAITING = select(func.count()).select_from(OUTBOX).where(
    OUTBOX.c.conversation_id == bindparam("conversation_id"), OUTBOX.c.status.in_(("pending", "sending")))
_WAITING_EXCEPT = _WAITING.where(OUTBOX.c.id.not_in(bindparam("excluding", expanding=True)))
_MARK_SENT = (update(OUTBOX).where(OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
              .values(status="sent", sent_at=bindparam("now"), claimed_by=None, last_error=None,
                      delivered_via=bindparam("via")))


# Channels that deliver a message the parent did not ask for, later: each channel declares it, and
# the composition root registers them here at start-up (``delivers_later``); the ledger names none.
_PUSH_CHANNELS: set[str] = set()


def delivers_later(channel: str) -> None:
    """Register ``channel`` as one that can be sent a message later (``notify``)."""
    _PUSH_CHANNELS.add(channel)


@dataclass(frozen=True)
class Outgoing:
    """A claimed row, decrypted for the sender."""

    id: int
    conversation_id: int
    sender: str
    kind: str
    payload: dict
    attempts: int

    @property
    def reply(self) -> Reply | None:
        """The Reply the row holds; None for a message its channel rendered already."""
        record = self.payload.get("reply")
        return Reply.from_record(record) if isinstance(record, dict) else None


def _connection(session: Session | Connection) -> Connection:
    """The hot paths run plain SQL on the transaction's connection, bypassing the ORM."""
    return session.connection() if isinstance(session, Session) else session


def _values(cipher: DataCipher, conversation_id: int, channel: str, kind: str, payload: dict,
            dedupe_key: str | None, claimed_by: str | None, now: dt.datetime) -> dict:
    return dict(conversation_id=conversation_id, channel=channel, kind=kind, dedupe_key=dedupe_key,
                payload_enc=cipher.encrypt(json.dumps(payload, ensure_ascii=False)),
                status="sending" if claimed_by else "pending", attempts=0, next_attempt_at=now,
                claimed_by=claimed_by, created_at=now)


def enqueue(*, session: Session, cipher: DataCipher, conversation_id: int, channel: str, kind: str,
            payload: dict, dedupe_key: str | None = None, claimed_by: str | None = None,
            now: dt.datetime | None = None) -> OutboxMessage | None:
    """Add a message; ``None`` if one with the same ``dedupe_key`` exists. ``claimed_by`` lets the
    writer deliver it straight after commit without another claim round-trip."""
    row = OutboxMessage(**_values(cipher, conversation_id, channel, kind, payload, dedupe_key, claimed_by,
                                 now or utcnow()))
    if dedupe_key is None:
        session.add(row)
        session.flush()
        return row
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row


def notify(*, session: Session, cipher: DataCipher, conversation: Conversation, reply: Reply,
           dedupe_key: str, summary: dict[str, str] | None = None) -> bool:
    """Queue ``reply`` for the parent of ``conversation``, unasked, to be delivered by its channel —
    once per ``dedupe_key``. ``summary``: the same in a few short named fields (title, reference,
    status, time…), for a channel that can only send a fixed form at times (WeChat's template
    messages). False when it cannot be sent: the channel does not deliver later (the web chat: the
    parent sees it on asking), or the parent blocked the bot."""
    if conversation.channel not in _PUSH_CHANNELS or conversation.blocked_at:
        return False
    payload = {"reply": reply.to_record(), **({"summary": summary} if summary else {})}
    row = enqueue(session=session, cipher=cipher, conversation_id=conversation.id, channel=conversation.channel,
                  kind="notification", payload=payload, dedupe_key=dedupe_key)
    return row is not None


def enqueue_many(*, session: Session | Connection, cipher: DataCipher, conversation_id: int, channel: str,
                 kind: str, payloads: list[dict], claimed_by: str | None = None,
                 now: dt.datetime | None = None) -> list[int]:
    """Several messages of one turn at once (no dedupe keys); their ids, in order.

    Every turn on Telegram passes here: plain INSERTs on the turn's connection, not the ORM."""
    now = now or utcnow()
    connection = _connection(session)
    return [connection.execute(_INSERT, _values(cipher, conversation_id, channel, kind, payload, None,
                                                       claimed_by, now)).inserted_primary_key[0]
            for payload in payloads]


def enqueue_replies(*, session: Session | Connection, cipher: DataCipher, conversation_id: int, sender: str,
                    channel: str, payloads: list[dict], worker: str,
                    delivered: list[int] = ()) -> list["Outgoing"] | None:
    """A turn's replies, in order, for a channel that sends them itself right after the commit.

    Nothing older of the conversation waiting (the platform was down, another worker is sending;
    ``delivered``: rows sent but not yet recorded as such): the rows are claimed by ``worker`` and
    returned for it to send. Else they stay pending behind the older ones, for whoever delivers
    those, and None is returned: a parent's messages arrive in the order they were written."""
    older = waiting(session=session, conversation_id=conversation_id, excluding=delivered)
    ids = enqueue_many(session=session, cipher=cipher, conversation_id=conversation_id, channel=channel,
                       kind="reply", payloads=payloads, claimed_by=None if older else worker)
    if older:
        return None
    return [Outgoing(row_id, conversation_id, sender, "reply", payload, 0) for row_id, payload in zip(ids, payloads)]


def waiting(*, session: Session | Connection, conversation_id: int, excluding: list[int] = ()) -> int:
    """How many of the conversation's messages are not yet delivered (pending or being sent),
    leaving out ``excluding``: rows known to be delivered already (sent, not yet recorded)."""
    params = {"conversation_id": conversation_id}
    if excluding:
        return _connection(session).scalar(_WAITING_EXCEPT, {**params, "excluding": list(excluding)}) or 0
    return _connection(session).scalar(_WAITING, params) or 0


def due_conversations(*, session: Session, channel: str, now: dt.datetime | None = None,
                      limit: int = 500) -> list[int]:
    """Conversations with a message ready to (re)try: pending and due, or claimed too long ago."""
    now = now or utcnow()
    rows = session.scalars(
        select(OutboxMessage.conversation_id)
        .where(OutboxMessage.channel == channel, _ready(now))
        .group_by(OutboxMessage.conversation_id)
        .order_by(OutboxMessage.conversation_id)
        .limit(limit))
    return list(rows)


def _ready(now: dt.datetime):
    return or_(and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
               and_(OutboxMessage.status == "sending", OutboxMessage.next_attempt_at <= now - CLAIM_LEASE))


def claim(*, session: Session, cipher: DataCipher, conversation_id: int, worker: str,
          now: dt.datetime | None = None, delivered: set[int] = frozenset(),
          handed_over: Callable[[str], set[int]] | None = None) -> list[Outgoing]:
    """Claim this conversation's undelivered rows in order, up to the first one not yet due.

    Rows already claimed by ``worker`` (written with ``claimed_by``) are included, except
    ``delivered``: rows it has sent and not yet recorded. Stops at a row waiting for its
    back-off so that later messages never overtake an earlier one. A crashed sender's row that
    ``handed_over(sender)`` names (its log, ``ledger.sentlog``) was accepted by the channel
    before the crash: it is recorded as sent, not sent again.
    """
    now = now or utcnow()
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return []
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.conversation_id == conversation_id,
               OutboxMessage.status.in_(("pending", "sending")))
        .order_by(OutboxMessage.id)).all()
    sender = cipher.decrypt(conversation.sender_enc)
    out: list[Outgoing] = []
    logs: dict[str, set[int]] = {}
    for row in rows:
        if row.id in delivered:
            continue
        at = aware(row.next_attempt_at)
        mine = row.status == "sending" and row.claimed_by == worker
        stale = row.status == "sending" and at <= now - CLAIM_LEASE
        due = row.status == "pending" and at <= now
        if not (mine or stale or due):
            break
        if stale and not mine and row.claimed_by and handed_over is not None:
            if row.claimed_by not in logs:
                logs[row.claimed_by] = handed_over(row.claimed_by)
            if row.id in logs[row.claimed_by]:
                done = session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row.id, OutboxMessage.status == "sending",
                           OutboxMessage.claimed_by == row.claimed_by)
                    .values(status="sent", sent_at=now, claimed_by=None, last_error=None)
                    .execution_options(synchronize_session=False))
                if done.rowcount != 1:
                    break  # another sender took it over first
                log.warning("outbox %s: accepted by the channel before %s stopped; %s, not sent again",
                            row.id, row.claimed_by, RECOVERED)
                continue
        if not mine:
            owner = (OutboxMessage.claimed_by.is_(None) if row.claimed_by is None
                     else OutboxMessage.claimed_by == row.claimed_by)
            taken = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id, OutboxMessage.status == row.status, owner)
                .values(status="sending", claimed_by=worker, next_attempt_at=now)
                .execution_options(synchronize_session=False))
            if taken.rowcount != 1:
                break  # another sender has it: let that one keep the order
        out.append(Outgoing(row.id, conversation_id, sender, row.kind,
                            json.loads(cipher.decrypt(row.payload_enc)), row.attempts))
    return out


def renew(*, session: Session | Connection, worker: str, now: dt.datetime | None = None) -> int:
    """Renew ``worker``'s claims (a live sender, every ``RENEW_EVERY``), so that only a crashed
    sender's claims are taken over, ``CLAIM_LEASE`` after its last renewal."""
    result = _connection(session).execute(
        update(OUTBOX).where(OUTBOX.c.status == "sending", OUTBOX.c.claimed_by == worker)
        .values(next_attempt_at=now or utcnow()))
    return result.rowcount


def mark_sent(*, session: Session | Connection, ids: list[int], now: dt.datetime | None = None,
              via: str | None = None) -> None:
    """Delivered; ``via``: how, where the channel has more than one way (WeChat: passive, custom, template)."""
    if ids:
        _connection(session).execute(_MARK_SENT, {"ids": list(ids), "now": now or utcnow(), "via": via})


def release(*, session: Session, ids: list[int], delay: dt.timedelta = dt.timedelta(0),
            error: str = "", now: dt.datetime | None = None, count_attempt: bool = True) -> None:
    """Give rows back for a later try: ``delay`` from now, or the exponential back-off."""
    now = now or utcnow()
    for row in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))):
        attempts = row.attempts + (1 if count_attempt else 0)
        if count_attempt and attempts >= MAX_ATTEMPTS:
            row.status, row.claimed_by, row.last_error = "failed", None, error[:300]
            continue
        wait = delay if delay > dt.timedelta(0) else backoff(attempts)
        row.status, row.claimed_by, row.attempts = "pending", None, attempts
        row.next_attempt_at, row.last_error = now + wait, error[:300] or None


def backoff(attempts: int) -> dt.timedelta:
    return min(dt.timedelta(seconds=BACKOFF_BASE * (2 ** max(attempts - 1, 0))), BACKOFF_MAX)


def mark_blocked(*, session: Session, conversation_id: int, now: dt.datetime | None = None) -> int:
    """The parent blocked the bot: stop trying every undelivered message of the conversation."""
    now = now or utcnow()
    session.execute(update(Conversation).where(Conversation.id == conversation_id)
                    .values(blocked_at=now).execution_options(synchronize_session=False))
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.conversation_id == conversation_id,
               OutboxMessage.status.in_(("pending", "sending")))
        .values(status="blocked", claimed_by=None, last_error="blocked by the user")
        .execution_options(synchronize_session=False))
    return result.rowcount


def counts(*, session: Session) -> dict[str, int]:
    return dict(session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())


def give_up(*, session: Session, ids: list[int], error: str) -> None:
    """Telegram refused the message itself (400): retrying cannot help."""
    if ids:
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids))
                        .values(status="failed", claimed_by=None, last_error=error[:300])
                        .execution_options(synchronize_session=False))
