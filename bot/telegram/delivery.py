"""Delivering the outbox to Telegram.

Replies are written to the outbox in the turn's transaction, claimed by this worker, and sent
right after the commit while the chat's lock is held; notifications from staff, retries, and
rows a crashed worker left behind are found by a periodic sweep. Per chat, messages go out in
order; flood control (``RetryAfter``) pauses only that chat; a network failure reschedules the
chat's messages with exponential back-off; a parent who blocked the bot (403) is marked and
nothing more is tried until they write again.

Rows sent successfully are recorded as sent in batches (one transaction for whatever was sent
meanwhile, across chats) instead of one transaction per update. Until its batch commits, a sent
row is still "sending", claimed by this worker: ``unrecorded(conversation)`` names those rows so
that the next turn of the chat in this worker does not take them for older messages still
waiting. A turn waits for its own replies' batch to commit (``deliver(wait_recorded=True)``)
before the webhook is answered: Telegram's next update of the chat may reach another worker,
whose turn must find them sent, or it would leave its replies to the sweeper (seconds later).
A crash in that moment would mean the row is sent again once the claim's lease runs out, so every
row Telegram accepted is first appended to this worker's sent log (``ledger.sentlog``: one write,
no database), and the sender taking over a crashed worker's claim records the rows in its log as
sent instead of sending them again. Only a kill between Telegram accepting a message and that
write (the response on its way back) still means a second copy: at least once, never lost.

A live worker renews its claims every ``outbox.RENEW_EVERY`` (a task of its own, so that a long
flood-control wait in the sweeper does not hold it up); a crashed worker's claims are taken over
``outbox.CLAIM_LEASE`` after its last renewal, and the chat's later replies wait that long.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.telegram import render
from bot.keyed_locks import KeyedLocks
from ledger import outbox, sentlog
from ledger.crypto import DataCipher
from ledger.db import Database

log = logging.getLogger(__name__)
CHANNEL = "telegram"
PRUNE_EVERY = 3600.0  # seconds between removals of long-gone workers' sent logs
RECORD_WAIT = 5.0  # seconds a turn waits for its sent replies to be recorded (the database is slow)
SENDER_PREFIX = "telegram:"


def worker_id() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def chat_id_of(sender: str) -> int:
    return int(sender.removeprefix(SENDER_PREFIX))


def retry_seconds(error: RetryAfter) -> float:
    value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class Delivery:
    def __init__(self, *, bot: Bot, db: Database, cipher: DataCipher, locks: KeyedLocks,
                 worker: str | None = None, max_inline_wait: float = 30.0, log_folder: Path | None = None):
        """``log_folder``: where the workers sharing this data folder keep their sent logs
        (``ledger.sentlog``); without it, a crash between sending and recording sends again."""
        self.bot = bot
        self.db = db
        self.cipher = cipher
        self.locks = locks
        self.worker = worker or worker_id()
        self.max_inline_wait = max_inline_wait
        self.sent = 0  # counters for logs and benchmarks
        self.retried = 0
        self.blocked = 0
        # sent rows not yet recorded, by conversation; read from turn threads, hence the lock
        self._unrecorded: dict[int, set[int]] = {}
        self._unrecorded_lock = threading.Lock()
        self._to_record: list[tuple[int, int]] = []  # (conversation, row) sent, to record
        self._recorded: list[asyncio.Future] = []  # done when the batch holding those rows commits
        self._recorder: asyncio.Task | None = None
        # The batches run on a thread of their own, not in the loop's shared pool: there they queued
        # behind other chats' turns (seconds under load), and a crash in that time means the replies
        # are sent again after the claim lease (bench/crash_recovery.py).
        self._record_thread = ThreadPoolExecutor(1, thread_name_prefix="outbox-recorder")
        self.log_folder = log_folder
        self.sent_log = sentlog.SentLog(log_folder, self.worker) if log_folder is not None else None
        self._logged: set[int] = set()  # logged as sent, not yet queued for recording (event loop only)

    # --- database steps (run in a thread) -----------------------------------------------
    def _claim(self, conversation_id: int) -> list[outbox.Outgoing]:
        with self.db.session() as session:
            return outbox.claim(session=session, cipher=self.cipher, conversation_id=conversation_id,
                                worker=self.worker, delivered=set(self.unrecorded(conversation_id)),
                                handed_over=self._handed_over)

    def _handed_over(self, worker: str) -> set[int]:
        return sentlog.handed_over(self.log_folder, worker) if self.log_folder is not None else set()

    def _due(self) -> list[int]:
        with self.db.session() as session:
            return outbox.due_conversations(session=session, channel=CHANNEL)

    # --- delivery ----------------------------------------------------------------------------
    async def deliver(self, conversation_id: int, chat_id: int | None = None, *, locked: bool = False,
                      rows: list[outbox.Outgoing] | None = None, wait_recorded: bool = False) -> int:
        """Send the conversation's due messages in order; returns how many were sent.

        ``rows``: messages this worker wrote (already claimed) in a turn that found nothing older
        undelivered — sent without reading them back. ``wait_recorded``: return only when the
        sent rows are recorded as sent (a turn, before its update is acknowledged)."""
        if locked or chat_id is None:
            return await self._deliver(conversation_id, rows, wait_recorded)
        async with self.locks.hold(chat_id):
            return await self._deliver(conversation_id, rows, wait_recorded)

    async def _deliver(self, conversation_id: int, rows: list[outbox.Outgoing] | None = None,
                       wait_recorded: bool = False) -> int:
        """Send ``rows`` (or the claimed due rows) and record the outcome. Rows written meanwhile
        (a notification, another worker's turn) are the sweeper's, a moment later."""
        if rows is None:
            rows = await asyncio.to_thread(self._claim, conversation_id)
        count = await self._send_rows(conversation_id, rows, wait_recorded) if rows else 0
        self.sent += count
        return count

    async def _send_rows(self, conversation_id: int, rows: list[outbox.Outgoing], wait_recorded: bool = False) -> int:
        """How many were sent; failures are recorded at once, successes in the next batch."""
        sent: list[int] = []  # not yet recorded
        count = index = 0
        while index < len(rows):
            row = rows[index]
            try:
                await self._send(row)
            except RetryAfter as exc:
                wait = retry_seconds(exc)
                self.retried += 1
                if wait <= self.max_inline_wait:
                    log.info("flood control for one chat: waiting %.1f s", wait)
                    await asyncio.sleep(wait)
                    continue  # the same row again; other chats are not held up
                await self._finish_async(conversation_id, sent=sent, retry=[r.id for r in rows[index:]],
                                         delay=dt.timedelta(seconds=wait), error="flood control",
                                         count_attempt=False)
                return count
            except Forbidden as exc:
                self.blocked += 1
                log.info("conversation %s: the parent blocked the bot (%s)", conversation_id, exc.message)
                await self._finish_async(conversation_id, sent=sent, blocked=True)
                return count
            except BadRequest as exc:
                if "not modified" not in exc.message.lower():  # an edit that changes nothing is done
                    log.warning("outbox %s refused by Telegram: %s", row.id, exc.message)
                    await self._finish_async(conversation_id, sent=sent, failed=[row.id],
                                             error=exc.message)
                    sent = []
                    index += 1
                    continue
            except (NetworkError, TelegramError, OSError) as exc:  # unreachable, timeouts, 5xx
                self.retried += 1
                log.warning("outbox: Telegram unreachable (%s); will retry", exc)
                await self._finish_async(conversation_id, sent=sent, retry=[r.id for r in rows[index:]],
                                         error=str(exc)[:300])
                return count
            self._log_sent(row.id)
            sent.append(row.id)
            count += 1
            index += 1
        recorded = self._record_sent(conversation_id, sent)
        if wait_recorded and recorded is not None:
            try:
                await asyncio.wait_for(asyncio.shield(recorded), RECORD_WAIT)
            except asyncio.TimeoutError:  # they are sent; another worker may take them for waiting
                log.warning("outbox: sent replies of conversation %s not recorded after %.0f s",
                            conversation_id, RECORD_WAIT)
        return count

    # --- recording sent rows: the log at once, the database in batches ------------------------
    def _log_sent(self, row_id: int) -> None:
        if self.sent_log is None:
            return
        self._logged.add(row_id)  # until a batch or a failure's transaction records it
        try:
            self.sent_log.append([row_id])
        except OSError as exc:  # a full disk: the row is recorded in the database all the same
            log.warning("outbox: could not log sent message %s (%s)", row_id, exc)

    async def _finish_async(self, conversation_id: int, *, sent: list[int], **outcome) -> None:
        await asyncio.to_thread(self._finish, conversation_id, sent=sent, **outcome)
        self._logged.difference_update(sent)  # recorded with the failure

    def unrecorded(self, conversation_id: int) -> list[int]:
        """Rows of the conversation this worker has sent but not yet recorded as sent."""
        with self._unrecorded_lock:
            return list(self._unrecorded.get(conversation_id, ()))

    def _record_sent(self, conversation_id: int, ids: list[int]) -> asyncio.Future | None:
        """Queue sent rows for the next batch; the future is done when that batch commits."""
        if not ids:
            return None
        loop = asyncio.get_running_loop()
        with self._unrecorded_lock:
            self._unrecorded.setdefault(conversation_id, set()).update(ids)
        self._logged.difference_update(ids)  # from now on in _unrecorded until their batch commits
        self._to_record += [(conversation_id, row_id) for row_id in ids]
        recorded = loop.create_future()
        self._recorded.append(recorded)
        if self._recorder is None or self._recorder.done():
            self._recorder = loop.create_task(self._record_loop(), name="outbox-recorder")
        return recorded

    async def _record_loop(self) -> None:
        """Record everything sent so far in one transaction; repeat while more was sent meanwhile."""
        while self._to_record:
            batch, self._to_record = self._to_record, []
            waiting, self._recorded = self._recorded, []
            try:
                await asyncio.get_running_loop().run_in_executor(
                    self._record_thread, self._mark_sent, [row_id for _, row_id in batch])
            except Exception:  # the database is unavailable: keep them and try again shortly
                log.exception("outbox: could not record %d sent messages; retrying", len(batch))
                self._to_record = batch + self._to_record
                self._recorded = waiting + self._recorded
                await asyncio.sleep(1.0)
                continue
            for recorded in waiting:
                if not recorded.done():
                    recorded.set_result(None)
            with self._unrecorded_lock:
                for conversation_id, row_id in batch:
                    rows = self._unrecorded.get(conversation_id)
                    if rows is not None:
                        rows.discard(row_id)
                        if not rows:
                            del self._unrecorded[conversation_id]
                # the log keeps what the database lacks: rows of other batches, and rows a chat's
                # delivery has sent and not yet queued (it is still sending the chat's next one)
                left = [row_id for rows in self._unrecorded.values() for row_id in rows] + list(self._logged)
            if self.sent_log is not None:
                try:
                    self.sent_log.recorded(left)
                except OSError as exc:
                    log.warning("outbox: could not shorten the sent log (%s)", exc)

    async def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every sent row is recorded (shutdown, tests); False if the database did not
        take them in ``timeout`` (they are then sent again after the claim lease)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._recorder is not None and not self._recorder.done():
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                log.warning("outbox: %d sent messages not recorded at shutdown", len(self._to_record))
                self._recorder.cancel()
                return False
            try:
                await asyncio.wait_for(asyncio.shield(self._recorder), left)
            except asyncio.TimeoutError:
                continue
        return True

    def close(self, *, recorded: bool) -> None:
        """At shutdown: the sent log goes when everything sent is recorded (``flush`` said so)."""
        if self.sent_log is not None:
            self.sent_log.close(remove=recorded)

    def _renew(self) -> None:
        with self.db.session() as session:
            outbox.renew(session=session, worker=self.worker)

    async def renew_forever(self, stop: asyncio.Event) -> None:
        """Renew this worker's claims until ``stop``; a database hiccup only delays a renewal."""
        interval = outbox.RENEW_EVERY.total_seconds()
        while not stop.is_set():
            try:
                await asyncio.get_running_loop().run_in_executor(self._record_thread, self._renew)
            except Exception:
                log.exception("outbox: could not renew this worker's claims")
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except asyncio.TimeoutError:
                pass

    def _mark_sent(self, ids: list[int]) -> None:
        with self.db.session() as session:
            outbox.mark_sent(session=session, ids=ids)

    def _finish(self, conversation_id: int, *, sent: list[int], retry: list[int] = (), failed: list[int] = (),
                error: str = "", delay: dt.timedelta | None = None, blocked: bool = False,
                count_attempt: bool = True) -> None:
        """Record a failure, and what was sent before it, in one transaction."""
        with self.db.session() as session:
            outbox.mark_sent(session=session, ids=sent)
            if retry:
                outbox.release(session=session, ids=list(retry), delay=delay or dt.timedelta(0), error=error,
                               count_attempt=count_attempt)
            if failed:
                outbox.give_up(session=session, ids=list(failed), error=error)
            if blocked:
                outbox.mark_blocked(session=session, conversation_id=conversation_id)

    async def _send(self, row: outbox.Outgoing) -> None:
        """A row written by a turn of this channel holds one message as rendered then (an operation:
        send, or take the keyboard off a pressed message); a row written elsewhere (a notification)
        holds a Reply, rendered here — the long button payloads of a turn's replies are remembered by
        that turn (``TelegramHook``), so such a Reply's buttons must fit in Telegram's 64 bytes."""
        chat_id = chat_id_of(row.sender)
        reply = row.reply
        if reply is None:
            await self._do(chat_id, row.payload)
            return
        for op in render.render(reply)[0]:
            await self._do(chat_id, op)

    async def _do(self, chat_id: int, payload: dict) -> None:
        op = payload.get("op", "send")
        if op == "send":
            markup = payload.get("reply_markup")
            await self.bot.send_message(
                chat_id=chat_id, text=payload["text"], parse_mode=payload.get("parse_mode"),
                reply_markup=InlineKeyboardMarkup.de_json(markup, self.bot) if markup else None,
                disable_web_page_preview=True)
        elif op == "edit_markup":
            await self.bot.edit_message_reply_markup(chat_id=chat_id, message_id=int(payload["message_id"]),
                                                     reply_markup=None)
        else:
            raise BadRequest(f"unknown outbox operation {op!r}")

    async def sweep(self) -> int:
        """Deliver every conversation that has something due (notifications, retries)."""
        total = 0
        for conversation_id in await asyncio.to_thread(self._due):
            rows_chat = await asyncio.to_thread(self._chat_of, conversation_id)
            if rows_chat is None:
                continue
            total += await self.deliver(conversation_id, rows_chat)
        return total

    def _chat_of(self, conversation_id: int) -> int | None:
        from ledger.models import Conversation

        with self.db.session() as session:
            row = session.get(Conversation, conversation_id)
            if row is None:
                return None
            sender = self.cipher.decrypt(row.sender_enc) or ""
        return chat_id_of(sender) if sender.startswith(SENDER_PREFIX) else None

    async def run_forever(self, interval: float, stop: asyncio.Event) -> None:
        renewer = asyncio.create_task(self.renew_forever(stop), name="outbox-renew")
        try:
            await self._sweep_until(interval, stop)
        finally:
            await renewer

    async def _sweep_until(self, interval: float, stop: asyncio.Event) -> None:
        pruned = 0.0
        while not stop.is_set():
            try:
                await self.sweep()
            except Exception:  # the sweeper must outlive a database hiccup
                log.exception("outbox sweep failed")
            if self.log_folder is not None and time.monotonic() - pruned > PRUNE_EVERY:
                pruned = time.monotonic()
                await asyncio.to_thread(sentlog.prune, self.log_folder,
                                        keep=self.sent_log.path if self.sent_log else None)
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except asyncio.TimeoutError:
                pass
