"""Delivering the outbox through WeChat's customer-service messages (客服消息), and notifications
outside the 48 hours those are allowed in through template messages (模板消息).

A turn's replies are outbox rows written in the turn's transaction (``WeChatHook``), claimed by this
worker when nothing older of the parent's waits (else as soon as the older ones are out, while WeChat
still waits for the passive reply); the first may have gone back as the passive reply (it then joins
the next batch of sent rows at once, ``record_passive``), the rest are sent here right after, in
order, under the parent's lock. Notifications from staff, retries and what a stopped worker left
claimed are found by the periodic sweep (a few conversations at a time). Per parent, messages go out
in ``id`` order and a failure stops the ones after it, so none overtakes another:

- unreachable, busy (-1), the account's quota (45009), a token that would not refresh → tried again
  with the outbox's back-off;
- the parent wrote over 48 hours ago (45015) or was sent 20 since (45047) → that turn's replies are
  given up (they answered a message of long ago); a notification goes as a template message when the
  account has one (``template_id``; ``bot/wechat/template.py``), else it is given up too;
- the parent unfollowed (43004) → the conversation is marked blocked, nothing more is tried until
  they write again;
- anything else WeChat refuses → that message given up, the next one tried (a menu message is
  first sent again as its numbered text).

Rows sent are recorded in batches — one transaction for whatever this worker sent meanwhile, across
parents, passive replies included — on a thread of their own, with how each went (``delivered_via``:
passive, custom, template; the staff's request page shows it). Until its batch commits a sent row is
still ``sending``, claimed by this worker: ``unrecorded`` names those rows, so that the parent's next
turn in this worker does not take them for older messages still waiting (in the other worker it
waits for the batch, within the passive window). A crash in between sends them again once the
claim's lease runs out (at least once, never lost). Claims, sends and failures run on the delivery's
own threads, not in the pool the turns run in.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from bot.keyed_locks import KeyedLocks
from bot.wechat.api import NOT_FOLLOWING, OUTSIDE_48_HOURS, TOO_MANY_REPLIES, SendError, WeChatApi
from bot.wechat.render import render_reply
from bot.wechat.template import template_data
from ledger import outbox
from ledger.crypto import DataCipher
from ledger.db import Database
from ledger.models import Conversation

log = logging.getLogger(__name__)
WINDOW_CLOSED = (OUTSIDE_48_HOURS, TOO_MANY_REPLIES)  # no customer-service message now; a template may go
HOLDS_UP = (NOT_FOLLOWING, *WINDOW_CLOSED)  # refusals that stop the parent's later text messages
CHANNEL = "wechat"
SWEEP_PARALLEL = 4  # conversations the sweep delivers at once (threads: the database and WeChat's API)
DELIVERY_THREADS = 4  # claims, customer-service sends and failures, beside the turns' own pool
SENDER_PREFIX = "wechat:"


def worker_id() -> str:
    return f"wx:{socket.gethostname()[:24]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def openid_of(sender: str) -> str:
    return sender.removeprefix(SENDER_PREFIX)


class _Batch:
    """What became of one conversation's rows in one delivery, recorded together."""

    def __init__(self):
        self.sent: dict[str, list[int]] = {}  # row ids by how they went
        self.failed: list[tuple[int, str]] = []
        self.closed: SendError | None = None  # WeChat's answer once it took no more customer-service messages

    @property
    def count(self) -> int:
        return sum(len(ids) for ids in self.sent.values())

    def record(self, session, *, sent: bool = True) -> None:
        if sent:
            for via, ids in self.sent.items():
                outbox.mark_sent(session=session, ids=ids, via=via)
        for row_id, error in self.failed:
            outbox.give_up(session=session, ids=[row_id], error=error)


class Delivery:
    def __init__(self, *, api: WeChatApi, db: Database, cipher: DataCipher, locks: KeyedLocks,
                 worker: str | None = None, template_id: str = "", template_url: str = "",
                 template_fields: dict[str, str] | None = None):
        self.api = api
        self.template_id = template_id
        self.template_url = template_url
        self.template_fields = template_fields or {}
        self.db = db
        self.cipher = cipher
        self.locks = locks
        self.worker = worker or worker_id()
        self.sent = 0  # counters for logs and tests
        self.retried = 0
        self.failed = 0
        self.blocked = 0
        self.templates = 0
        self._executor = ThreadPoolExecutor(DELIVERY_THREADS, thread_name_prefix="wechat-delivery")
        # sent rows not yet recorded, by conversation; read from turn threads, hence the lock
        self._unrecorded: dict[int, set[int]] = {}
        self._unrecorded_lock = threading.Lock()
        self._to_record: list[tuple[int, int, str]] = []  # (conversation, row, how it went)
        self._recorder: asyncio.Task | None = None
        self._record_thread = ThreadPoolExecutor(1, thread_name_prefix="wechat-recorder")

    async def _run(self, function, *args):
        """``function(*args)`` on the delivery's threads."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def deliver(self, conversation_id: int, openid: str, *, rows: list[outbox.Outgoing] | None = None,
                      locked: bool = False) -> int:
        """Send the conversation's due messages in order; how many were sent. ``rows``: a turn's own,
        already claimed (else the due ones are claimed); ``locked``: the caller holds the parent's lock."""
        if locked:
            return await self._deliver(conversation_id, rows)
        async with self.locks.hold(openid):
            return await self._deliver(conversation_id, rows)

    async def _deliver(self, conversation_id: int, rows: list[outbox.Outgoing] | None) -> int:
        if rows is None:
            rows = await self._run(self.claim, conversation_id)
        batch = _Batch()
        for index, row in enumerate(rows):
            try:
                via = await self._send(row, batch)
            except SendError as exc:
                if exc.retry or exc.code == NOT_FOLLOWING:
                    await self._run(self._stop, conversation_id, batch, rows[index:], exc)
                    return batch.count
                log.warning("outbox %s not delivered: %s", row.id, exc.message)
                self.failed += 1
                batch.failed.append((row.id, exc.message))
                continue
            batch.sent.setdefault(via, []).append(row.id)
            self.sent += 1
        for via, ids in batch.sent.items():
            self.record_sent(conversation_id, ids, via)
        if batch.failed:
            await self._run(self._record_failed, batch)
        return batch.count

    async def _send(self, row: outbox.Outgoing, batch: "_Batch") -> str:
        """Send one row; how it went ("custom", "template"). A turn's row holds one message as
        rendered then; a notification's holds a Reply, and its summary for a template message."""
        openid = openid_of(row.sender)
        if batch.closed is None:
            try:
                await self._send_custom(openid, row)
                return "custom"
            except SendError as exc:
                if exc.code not in WINDOW_CLOSED:
                    raise
                batch.closed = exc  # no more customer-service messages to this parent for now
        data = self._template(row)
        if data is None:
            raise batch.closed
        await self._run(self.api.send_template, openid, self.template_id, data, self.template_url)
        self.templates += 1
        return "template"

    async def _send_custom(self, openid: str, row: outbox.Outgoing) -> None:
        reply = row.reply
        payloads = [{"text": text} for text in render_reply(reply)] if reply is not None else [row.payload]
        for payload in payloads:
            try:
                await self.api.send_async(openid, payload, self._run)
            except SendError as exc:
                if "menu" not in payload or exc.retry or exc.code in HOLDS_UP:
                    raise
                log.info("WeChat refused a menu message (%s): sent as numbered text", exc.message)
                await self.api.send_async(openid, {"text": payload["text"]}, self._run)

    def _template(self, row: outbox.Outgoing) -> dict | None:
        """The template message's data for a notification, if the account has a template for them."""
        summary = row.payload.get("summary")
        if row.kind != "notification" or not self.template_id or not isinstance(summary, dict):
            return None
        return template_data(summary, self.template_fields)

    def record_passive(self, conversation_id: int, row_id: int) -> None:
        """A row that went back as the passive reply: into the next batch of sent rows."""
        self.record_sent(conversation_id, [row_id], "passive")

    # --- recording sent rows, in batches across conversations --------------------------------
    def unrecorded(self, conversation_id: int) -> list[int]:
        """Rows of the conversation this worker has handed over but not yet recorded as sent."""
        with self._unrecorded_lock:
            return list(self._unrecorded.get(conversation_id, ()))

    def record_sent(self, conversation_id: int, ids: list[int], via: str) -> None:
        """Queue rows handed over (``via``: passive, custom, template) for the next batch (event loop)."""
        if not ids:
            return
        with self._unrecorded_lock:
            self._unrecorded.setdefault(conversation_id, set()).update(ids)
        self._to_record += [(conversation_id, row_id, via) for row_id in ids]
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.get_running_loop().create_task(self._record_loop(), name="wechat-recorder")

    async def _record_loop(self) -> None:
        """Record everything sent so far in one transaction; repeat while more was sent meanwhile."""
        while self._to_record:
            batch, self._to_record = self._to_record, []
            try:
                await asyncio.get_running_loop().run_in_executor(self._record_thread, self._mark_sent, batch)
            except Exception:  # the database is unavailable: keep them and try again shortly
                log.exception("WeChat outbox: could not record %d sent messages; retrying", len(batch))
                self._to_record = batch + self._to_record
                await asyncio.sleep(1.0)
                continue
            with self._unrecorded_lock:
                for conversation_id, row_id, _ in batch:
                    rows = self._unrecorded.get(conversation_id)
                    if rows is not None:
                        rows.discard(row_id)
                        if not rows:
                            del self._unrecorded[conversation_id]

    def _mark_sent(self, batch: list[tuple[int, int, str]]) -> None:
        by_via: dict[str, list[int]] = {}
        for _, row_id, via in batch:
            by_via.setdefault(via, []).append(row_id)
        with self.db.session() as session:
            for via, ids in by_via.items():
                outbox.mark_sent(session=session, ids=ids, via=via)

    async def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every sent row is recorded (shutdown, tests); False if the database did not
        take them in ``timeout`` (they are then sent again after the claim's lease)."""
        try:
            while self._recorder is not None and not self._recorder.done():
                await asyncio.wait_for(asyncio.shield(self._recorder), timeout)
        except asyncio.TimeoutError:
            log.warning("WeChat outbox: %d sent messages not recorded at shutdown", len(self._to_record))
            self._recorder.cancel()
            return False
        return True

    async def close(self) -> None:
        await self.api.close_async()
        self._executor.shutdown(wait=False)
        self._record_thread.shutdown(wait=False)

    # --- database steps (run in a thread) -----------------------------------------------
    def claim(self, conversation_id: int) -> list[outbox.Outgoing]:
        with self.db.session() as session:
            return outbox.claim(session=session, cipher=self.cipher, conversation_id=conversation_id,
                                worker=self.worker, delivered=set(self.unrecorded(conversation_id)))

    async def claim_async(self, conversation_id: int) -> list[outbox.Outgoing]:
        return await self._run(self.claim, conversation_id)

    def _record_failed(self, batch: "_Batch") -> None:
        with self.db.session() as session:
            batch.record(session, sent=False)

    def _stop(self, conversation_id: int, batch: "_Batch", rest: list[outbox.Outgoing], exc: SendError) -> None:
        """A failure that holds up the parent's later messages too: record it with what was done."""
        ids = [row.id for row in rest]
        with self.db.session() as session:
            batch.record(session)
            if exc.code == NOT_FOLLOWING:
                self.blocked += 1
                log.info("conversation %s: the parent unfollowed the account", conversation_id)
                outbox.mark_blocked(session=session, conversation_id=conversation_id)
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
        """Deliver every conversation that has something due (notifications, retries), up to
        ``SWEEP_PARALLEL`` at a time (each parent's own messages stay in order under its lock)."""
        gate = asyncio.Semaphore(SWEEP_PARALLEL)

        async def one(conversation_id: int) -> int:
            async with gate:
                openid = await self._run(self._openid, conversation_id)
                return await self.deliver(conversation_id, openid) if openid else 0

        return sum(await asyncio.gather(*(one(c) for c in await self._run(self._due))))

    async def run_forever(self, interval: float, stop: asyncio.Event) -> None:
        """Sweep every ``interval`` seconds and renew this worker's claims until ``stop``."""
        renewed = asyncio.get_running_loop().time()
        while not stop.is_set():
            try:
                await self.sweep()
                if asyncio.get_running_loop().time() - renewed >= outbox.RENEW_EVERY.total_seconds():
                    renewed = asyncio.get_running_loop().time()
                    await asyncio.get_running_loop().run_in_executor(self._record_thread, self._renew)
            except Exception:  # the sweeper must outlive a database hiccup
                log.exception("WeChat outbox sweep failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except asyncio.TimeoutError:
                pass

