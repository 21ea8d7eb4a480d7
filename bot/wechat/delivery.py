"""Delivering the outbox through WeChat's customer-service messages (客服消息).

A turn's replies are outbox rows written in the turn's transaction (``WeChatHook``), claimed by this
worker when nothing older of the parent's waits; the first may have gone back as the passive reply
(it is then recorded as sent with the others), the rest are sent here right after, in order, under
the parent's lock. Notifications from staff, retries and what a stopped worker left claimed are found
by the periodic sweep. Per parent, messages go out in ``id`` order and a failure stops the ones after
it, so none overtakes another:

- unreachable, busy (-1), the account's quota (45009), a token that would not refresh → tried again
  with the outbox's back-off;
- the parent wrote over 48 hours ago (45015) or was sent 20 since (45047) → given up (template
  messages outside the 48 hours are a later step);
- the parent unfollowed (43004) → the conversation is marked blocked, nothing more is tried until
  they write again;
- anything else WeChat refuses → that message given up, the next one tried (a menu message is
  first sent again as its numbered text).

Rows sent are recorded per parent in one transaction after the batch: a crash in between sends them
again once the claim's lease runs out (at least once, never lost).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid

from bot.keyed_locks import KeyedLocks
from bot.wechat.api import NOT_FOLLOWING, OUTSIDE_48_HOURS, TOO_MANY_REPLIES, SendError, WeChatApi
from bot.wechat.render import render_reply
from ledger import outbox
from ledger.crypto import DataCipher
from ledger.db import Database
from ledger.models import Conversation

log = logging.getLogger(__name__)
HOLDS_UP = (NOT_FOLLOWING, OUTSIDE_48_HOURS, TOO_MANY_REPLIES)  # refusals that stop the parent's later messages
CHANNEL = "wechat"
SENDER_PREFIX = "wechat:"


def worker_id() -> str:
    return f"wx:{socket.gethostname()[:24]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def openid_of(sender: str) -> str:
    return sender.removeprefix(SENDER_PREFIX)


class Delivery:
    def __init__(self, *, api: WeChatApi, db: Database, cipher: DataCipher, locks: KeyedLocks,
                 worker: str | None = None):
        self.api = api
        self.db = db
        self.cipher = cipher
        self.locks = locks
        self.worker = worker or worker_id()
        self.sent = 0  # counters for logs and tests
        self.retried = 0
        self.failed = 0
        self.blocked = 0

    async def deliver(self, conversation_id: int, openid: str, *, rows: list[outbox.Outgoing] | None = None,
                      passive: list[int] = (), locked: bool = False) -> int:
        """Send the conversation's due messages in order; how many were sent. ``rows``: a turn's own,
        already claimed (else the due ones are claimed); ``passive``: rows that went back as the
        passive reply, recorded as sent with the rest; ``locked``: the caller holds the parent's lock."""
        if locked:
            return await self._deliver(conversation_id, rows, list(passive))
        async with self.locks.hold(openid):
            return await self._deliver(conversation_id, rows, list(passive))

    async def _deliver(self, conversation_id: int, rows: list[outbox.Outgoing] | None, sent: list[int]) -> int:
        if rows is None:
            rows = await asyncio.to_thread(self._claim, conversation_id)
        count = 0
        for index, row in enumerate(rows):
            try:
                await asyncio.to_thread(self._send, row)
            except SendError as exc:
                if exc.retry or exc.code in HOLDS_UP:
                    await asyncio.to_thread(self._stop, conversation_id, sent, rows[index:], exc)
                    return count
                log.warning("outbox %s refused by WeChat: %s", row.id, exc.message)
                self.failed += 1
                await asyncio.to_thread(self._finish, sent, failed=[row.id], error=exc.message)
                sent = []
                continue
            sent.append(row.id)
            count += 1
            self.sent += 1
        await asyncio.to_thread(self._finish, sent)
        return count

    def _send(self, row: outbox.Outgoing) -> None:
        """A turn's row holds one message as rendered then; a notification's holds a Reply."""
        openid = openid_of(row.sender)
        reply = row.reply
        payloads = [{"text": text} for text in render_reply(reply)] if reply is not None else [row.payload]
        for payload in payloads:
            try:
                self.api.send(openid, payload)
            except SendError as exc:
                if "menu" not in payload or exc.retry or exc.code in HOLDS_UP:
                    raise
                log.info("WeChat refused a menu message (%s): sent as numbered text", exc.message)
                self.api.send(openid, {"text": payload["text"]})

    # --- database steps (run in a thread) -----------------------------------------------
    def _claim(self, conversation_id: int) -> list[outbox.Outgoing]:
        with self.db.session() as session:
            return outbox.claim(session=session, cipher=self.cipher, conversation_id=conversation_id,
                                worker=self.worker)

    def _finish(self, sent: list[int], *, failed: list[int] = (), error: str = "") -> None:
        if not sent and not failed:
            return
        with self.db.session() as session:
            outbox.mark_sent(session=session, ids=sent)
            if failed:
                outbox.give_up(session=session, ids=list(failed), error=error)

    def _stop(self, conversation_id: int, sent: list[int], rest: list[outbox.Outgoing], exc: SendError) -> None:
        """A failure that holds up the parent's later messages too: record it with what was sent."""
        ids = [row.id for row in rest]
        with self.db.session() as session:
            outbox.mark_sent(session=session, ids=sent)
            if exc.code == NOT_FOLLOWING:
                self.blocked += 1
                log.info("conversation %s: the parent unfollowed the account", conversation_id)
                outbox.mark_blocked(session=session, conversation_id=conversation_id)
            elif exc.code in (OUTSIDE_48_HOURS, TOO_MANY_REPLIES):
                self.failed += len(ids)
                log.info("conversation %s: WeChat allows no more messages now (%s)", conversation_id, exc.code)
                outbox.give_up(session=session, ids=ids, error=exc.message)
            else:
                self.retried += 1
                log.warning("outbox: WeChat did not take conversation %s's messages (%s); will retry",
                            conversation_id, exc.message)
                outbox.release(session=session, ids=ids, error=exc.message)

    def _due(self) -> list[int]:
        with self.db.session() as session:
            return outbox.due_conversations(session=session, channel=CHANNEL)

    def _openid(self, conversation_id: int) -> str | None:
        with self.db.session() as session:
            row = session.get(Conversation, conversation_id)
            sender = (self.cipher.decrypt(row.sender_enc) or "") if row is not None else ""
        return openid_of(sender) if sender.startswith(SENDER_PREFIX) else None

    def _renew(self) -> None:
        with self.db.session() as session:
            outbox.renew(session=session, worker=self.worker)

    # --- the sweep --------------------------------------------------------------------------
    async def sweep(self) -> int:
        """Deliver every conversation that has something due (notifications, retries)."""
        total = 0
        for conversation_id in await asyncio.to_thread(self._due):
            openid = await asyncio.to_thread(self._openid, conversation_id)
            if openid:
                total += await self.deliver(conversation_id, openid)
        return total

    async def run_forever(self, interval: float, stop: asyncio.Event) -> None:
        """Sweep every ``interval`` seconds and renew this worker's claims until ``stop``."""
        renewed = asyncio.get_running_loop().time()
        while not stop.is_set():
            try:
                await self.sweep()
                if asyncio.get_running_loop().time() - renewed >= outbox.RENEW_EVERY.total_seconds():
                    renewed = asyncio.get_running_loop().time()
                    await asyncio.to_thread(self._renew)
            except Exception:  # the sweeper must outlive a database hiccup
                log.exception("WeChat outbox sweep failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except asyncio.TimeoutError:
                pass

