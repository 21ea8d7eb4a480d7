"""The WeChat channel: a callback becomes one turn of the dialogue engine, its first reply the passive
reply when it is ready in time, the rest customer-service messages from the outbox.

WeChat waits 5 seconds for the passive reply, then sends the same message again (up to three times)
and finally tells the parent the account cannot serve them. So:

- a callback waits at most ``passive_window`` seconds (4.5) for its turn; a turn ready by then
  answers with its first message, the others follow through the customer-service API
  (``followup_delay`` later, so that they arrive after it); a turn not ready by then answers
  "success" and all its messages go through the API when it is done;
- the turn runs once per message: its identity (the MsgId; for events the sender, time and kind) is
  recorded, as a keyed hash, inside the turn's transaction (``wechat_messages``). A retry arriving
  while the turn still runs in this worker waits for that same turn (and may carry its passive
  reply, WeChat having given up on the first request); in another worker its insert waits for the
  first transaction (PostgreSQL; SQLite's write lock orders them) and then finds it processed.
  Arriving later, it is answered "success";
- a parent's turns and deliveries are ordered by a lock per openid in this process (the engine
  orders turns across processes), and a turn's messages wait behind older undelivered ones.

The openid is personal data like a Telegram chat id: the conversation's sender is ``wechat:<openid>``,
which the ledger keeps only as a keyed hash (lookups) and encrypted (delivery).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wechatpy import messages

from bot.channel import TurnHook
from bot.keyed_locks import KeyedLocks
from bot.wechat.api import WeChatApi
from bot.wechat.callback import build_crypto
from bot.wechat.delivery import CHANNEL, SENDER_PREFIX, Delivery
from bot.wechat.incoming import Incoming, identity, translate
from bot.wechat.render import choice, render_turn
from ledger import outbox
from ledger.clock import utcnow
from ledger.conversations import ConversationHandle
from ledger.db import insert_ignore
from ledger.models import Conversation, WeChatMessage
from ledger.reply import Reply
from nlu import reverse_geo

log = logging.getLogger(__name__)
MESSAGES = WeChatMessage.__table__
CHOICES = "wx_choices"  # the last turn's numbered choices ([title, payload]), in the conversation's state
CLAIM_POLL = 0.05  # seconds between looks for the older messages being out, within the window
QUICK_CHARS = 8  # a message this short (or an event) takes the quick lane: see ``_lane``
QUICK_THREADS = 4
SORRY = "抱歉，刚才出了点问题，请稍后再发一次。如果孩子现在有危险，请立即拨打 110；有人受伤请拨打 120。"


def _warm_up() -> None:
    """What a turn would otherwise load when first needed, under load: the district polygons (the
    first location) and jieba's dictionary (knowledge/pinyin_terms.py reads it for the first question
    with a likely typo: ~1.5 s of CPU, the turn's thread holding the interpreter, every other turn of
    the worker waiting)."""
    import jieba

    reverse_geo.warm_up()
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()


class WeChatHook(TurnHook):
    """Inside the turn's transaction: claim the message's identity; a digit picks a numbered choice;
    the rendered replies go into the outbox (claimed by this worker when nothing older waits)."""

    def __init__(self, channel: "WeChatChannel", key_hash: str, menu_id: str | None = None):
        self.channel = channel
        self.key_hash = key_hash
        self.menu_id = menu_id  # a tapped menu item's id (bizmsgmenuid)
        self.conversation_id: int | None = None
        self.duplicate = False
        self.ready: list[outbox.Outgoing] | None = None  # this turn's messages, when nothing older waits
        self.queued = False  # its messages wait behind older ones of the parent's

    def begin(self, convo: ConversationHandle) -> bool:
        self.conversation_id = convo.id
        self.ready = None  # a replayed turn starts afresh
        self.duplicate = not insert_ignore(convo.session.connection(), MESSAGES, ["key_hash"],
                                           key_hash=self.key_hash, processed_at=utcnow())
        return not self.duplicate

    def rewrite(self, convo: ConversationHandle, text: str | None) -> str | None:
        return choice(text, convo.state.get(CHOICES, []), self.menu_id) or text

    def finish(self, convo: ConversationHandle, replies: list[Reply]) -> None:
        waiting = bool(self.channel.engine.form.asking(convo.state))  # a digit may be the answer
        rendered, choices = render_turn(replies, form_waiting=waiting)
        if choices:
            convo.state[CHOICES] = choices
        else:
            convo.state.pop(CHOICES, None)  # a digit now answers the question, not old choices
        ops = [message for message in rendered if message["text"]]
        if not ops:
            return
        self.ready = outbox.enqueue_replies(session=convo.session, cipher=self.channel.cipher,
                                            conversation_id=convo.id, sender=convo.sender, channel=CHANNEL,
                                            payloads=ops, worker=self.channel.delivery.worker,
                                            delivered=self.channel.delivery.unrecorded(convo.id))
        self.queued = self.ready is None


@dataclass
class _Pending:
    """A message whose turn runs in this worker, and the request now waiting for its passive reply."""

    waiter: asyncio.Future | None = None
    settled: bool = False  # the turn is done and its passive reply given or not: a retry now gets "success"


class WeChatChannel:
    def __init__(self, runtime, api: WeChatApi | None = None):
        self.runtime = runtime
        self.config = runtime.settings.wechat
        self.engine = runtime.engine
        self.cipher = runtime.cipher
        self.crypto = build_crypto(self.config)
        self.api = api or WeChatApi(app_id=self.config.app_id, secret=self.config.app_secret.get_secret_value(),
                                    base_url=self.config.base_url, db=runtime.db, cipher=runtime.cipher,
                                    timeout=self.config.request_timeout)
        self.locks = KeyedLocks()
        self.delivery = Delivery(api=self.api, db=runtime.db, cipher=runtime.cipher, locks=self.locks,
                                 template_id=self.config.template_id, template_url=self.config.template_url,
                                 template_fields=self.config.template_fields)
        self._lanes: dict[bool, ThreadPoolExecutor] = {}  # the turns' own threads by ``_lane``, while started
        self._pending: dict[str, _Pending] = {}
        self._tasks: set[asyncio.Task] = set()
        self._stop = asyncio.Event()
        self._sweeper: asyncio.Task | None = None
        self.processed = 0  # counters for logs and tests
        self.duplicates = 0
        self.joined = 0  # retries that arrived while their turn ran here
        self.passive = 0

    @property
    def in_flight(self) -> int:
        """Messages whose turn (and its delivery) is under way in this worker."""
        return len(self._pending)

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        self._lanes = {False: ThreadPoolExecutor(self.config.turn_threads, thread_name_prefix="wechat-turn"),
                       True: ThreadPoolExecutor(QUICK_THREADS, thread_name_prefix="wechat-quick")}
        await self._in_thread(_warm_up)
        self._stop.clear()
        self._sweeper = asyncio.create_task(self.delivery.run_forever(self.config.outbox_interval, self._stop),
                                            name="wechat-outbox")
        log.info("WeChat channel started for account %s (%s mode)", self.config.app_id,
                 "safe" if self.crypto is not None else "plaintext")
        if not self.config.app_secret.get_secret_value():
            log.warning("TONGBAN_WECHAT__APP_SECRET is not set: passive replies work, but no access token can be "
                        "had, so nothing goes through the customer-service API (slow replies, notifications)")

    async def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._tasks:  # turns under way finish and deliver (or leave their rows to the next start)
            await asyncio.wait(set(self._tasks), timeout=timeout)
        if self._sweeper is not None:
            await self._sweeper
            self._sweeper = None
        await self.delivery.flush()
        await self.delivery.close()
        for lane in self._lanes.values():
            lane.shutdown(wait=False)
        self._lanes = {}

    async def _in_thread(self, function, *args, quick: bool = False):
        """``function(*args)`` on one of the turns' threads (the loop's default pool before start)."""
        return await asyncio.get_running_loop().run_in_executor(self._lanes.get(quick), function, *args)

    @staticmethod
    def _lane(incoming: Incoming) -> bool:
        """True for the quick lane. A question costs ~30 ms of CPU, most of it in the sentence encoder,
        which embeds one batch at a time per worker; a form's answer, a numbered choice, 你好 or an event
        costs a few. When a crowd of parents ask at once, questions fill the turns' threads waiting for
        the encoder; short messages have threads of their own so as not to queue behind them past the
        window. A parent's own turns stay in order (the per-openid lock)."""
        return len((incoming.text or "").strip()) <= QUICK_CHARS

    # --- callbacks -------------------------------------------------------------------------
    async def receive(self, message) -> str | None:
        """The passive reply's text for a parsed callback, or None ("success")."""
        if isinstance(message, messages.LocationMessage):
            incoming = await self._in_thread(translate, message)  # the reverse geocoder
        else:
            incoming = translate(message)
        if incoming.answer:
            return incoming.answer
        if incoming.unsubscribed:
            await self._in_thread(self._unsubscribed, message.source)
            return None
        if not incoming.turn:
            return None
        key = self.cipher.lookup_hash(f"wechat:{self.config.app_id}:{identity(message)}")
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending()
            task = asyncio.create_task(self._process(key, message.source, incoming, pending))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            self.joined += 1
            if pending.settled:
                return None
        return await self._wait(pending)

    async def _wait(self, pending: _Pending) -> str | None:
        """Wait for the turn's passive reply, up to the window. A retry takes the wait over from an
        earlier request of the same message: WeChat has stopped listening to that one."""
        if pending.waiter is not None and not pending.waiter.done():
            pending.waiter.set_result(None)
        waiter = pending.waiter = asyncio.get_running_loop().create_future()
        try:
            # on time-out the waiter is cancelled, so the turn finishing a moment later sees it done
            # and sends everything through the API; a result set first is returned all the same
            return await asyncio.wait_for(waiter, self.config.passive_window)
        except asyncio.TimeoutError:  # given the reply in the same moment, it still carries it
            return waiter.result() if waiter.done() and not waiter.cancelled() else None
        finally:
            if pending.waiter is waiter:
                pending.waiter = None

    @staticmethod
    def _settle(pending: _Pending, text: str | None) -> bool:
        """The turn is done: its passive reply (or "success", None) to the request waiting, if one still
        waits; False when none does. A retry arriving from now on is answered "success" at once."""
        pending.settled = True
        waiter = pending.waiter
        if waiter is None or waiter.done():
            return False
        waiter.set_result(text)
        pending.waiter = None
        return True

    async def _process(self, key: str, openid: str, incoming: Incoming, pending: _Pending) -> None:
        try:
            async with self.locks.hold(openid):
                hook = WeChatHook(self, key, incoming.menu_id)
                try:
                    await self._in_thread(self._turn, f"{SENDER_PREFIX}{openid}", incoming, hook,
                                          quick=self._lane(incoming))
                except Exception:
                    log.exception("WeChat turn failed")
                    self._settle(pending, SORRY)  # nothing was kept: sending it again works
                    return
                if hook.duplicate:
                    self.duplicates += 1
                    self._settle(pending, None)
                    return
                self.processed += 1
                if hook.conversation_id is None:
                    self._settle(pending, None)
                    return
                await self._deliver(hook, openid, pending)
        finally:
            self._pending.pop(key, None)

    async def _deliver(self, hook: WeChatHook, openid: str, pending: _Pending) -> None:
        rows = hook.ready
        if hook.queued:  # behind the parent's older messages (another worker is sending them)
            rows = await self._claim_in_window(hook.conversation_id, pending)
        try:
            if rows and self._settle(pending, rows[0].payload["text"]):
                self.passive += 1
                self.delivery.record_passive(hook.conversation_id, rows[0].id)  # the next batch, at once
                rows = rows[1:]
                if rows:
                    await asyncio.sleep(self.config.followup_delay)  # after the passive reply has gone
            else:
                self._settle(pending, None)
            if rows:
                await self.delivery.deliver(hook.conversation_id, openid, rows=rows, locked=True)
        except Exception:  # the rows stay claimed; the sweeper retries them after the claim's lease
            log.exception("WeChat delivery of conversation %s failed", hook.conversation_id)

    async def _claim_in_window(self, conversation_id: int, pending: _Pending) -> list[outbox.Outgoing] | None:
        """While WeChat still waits for the passive reply, claim the conversation's messages as soon as
        the older ones are out (the first claimed may then be an older one: order is kept); None when
        the window closes first (the sweep delivers them)."""
        while pending.waiter is not None and not pending.waiter.done():
            rows = await self.delivery.claim_async(conversation_id)
            if rows:
                return rows
            await asyncio.sleep(CLAIM_POLL)
        return None

    def _turn(self, sender: str, incoming: Incoming, hook: WeChatHook) -> None:
        try:
            self.engine.handle(sender, incoming.text, incoming.metadata, CHANNEL, hook)
        except IntegrityError:
            with self.runtime.db.session() as session:
                if session.get(WeChatMessage, hook.key_hash) is None:
                    raise  # some other conflict: the turn failed
            hook.duplicate = True  # another worker processed it in the same moment

    def _unsubscribed(self, openid: str) -> None:
        """The parent unfollowed: nothing more is pushed to them until they write again."""
        key = self.engine.store.sender_hash(f"{SENDER_PREFIX}{openid}")
        with self.runtime.db.session() as session:
            conversation_id = session.scalar(select(Conversation.id).where(Conversation.sender_hash == key))
            if conversation_id is not None:
                outbox.mark_blocked(session=session, conversation_id=conversation_id)
