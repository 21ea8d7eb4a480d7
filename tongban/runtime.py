"""Everything a running process needs, built once: ``Runtime.build(settings)``.

The embedder is shared by retrieval and intent recognition; the database and the
cipher by the conversation store and the ledger services; the gazetteer answers the ledger's
questions about areas (``ledger.areas.AreaDirectory``) for the staff app.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from dataclasses import dataclass, field

from alerts import AlertFailed, AlertMessage, build_channels
from alerts.duty import DutyAlerter
from bot.config import EngineConfig
from bot.engine import DialogueEngine
from knowledge.desk import ChecklistDesk
from knowledge.service import KnowledgeBase
from ledger import alerting
from ledger.alert_status import ALERT_CHANNEL_LABELS
from ledger.areas import AreaDirectory
from ledger.clock import utcnow
from ledger.conversations import ConversationStore
from ledger.crypto import DataCipher
from ledger.db import Database
from ledger.duty import target_address
from ledger.duty_models import AlertTarget
from ledger.ratelimit import RateLimiter
from nlu.areas import GazetteerAreas
from nlu.embedding import Embedder, build_embedder
from nlu.interpreter import Interpreter
from tongban.settings import Settings
from tongban.storage import data_cipher, open_ledger

log = logging.getLogger(__name__)


def knowledge_base(settings: Settings, embedder: Embedder | None = None) -> KnowledgeBase:
    """The knowledge base (not started) on its settings group, its folders of the data dir and
    ``embedder`` (by default the one the settings name)."""
    return KnowledgeBase(settings.knowledge, embedder=embedder or build_embedder(settings.embedding),
                         checklist_dir=settings.checklist_dir, index_dir=settings.index_dir,
                         models_dir=settings.models_dir)


def engine_config(settings: Settings) -> EngineConfig:
    """The dialogue engine's part of the settings."""
    limits = settings.limits
    return EngineConfig(fallback_threshold=settings.nlu.fallback_threshold,
                        failures_before_handoff=settings.nlu.failures_before_handoff,
                        min_confidence=settings.knowledge.min_confidence, public_url=settings.server.public_url,
                        requests_per_day=limits.requests_per_day, handoffs_per_day=limits.handoffs_per_day,
                        urgent_records_per_day=limits.urgent_records_per_day, retention=settings.retention)


def public_address(settings: Settings) -> str:
    """Where the links in duty alerts point: the public URL, else the address ``serve`` listens on."""
    return settings.server.public_url or f"http://{settings.server.host}:{settings.server.port}"


def duty_alerter(settings: Settings, db: Database, cipher: DataCipher, areas: AreaDirectory, **overrides) -> DutyAlerter:
    """The duty alerts' loop on its settings (not started): the channels configured, the public
    address the acknowledgement links point to."""
    config = settings.alerts
    if not settings.server.public_url and settings.env == "production":
        log.warning("TONGBAN_SERVER__PUBLIC_URL is not set: duty alerts' acknowledgement links point at %s:%s",
                    settings.server.host, settings.server.port)
    values = dict(channels=build_channels(config), areas=areas, public_url=public_address(settings),
                  escalate_after=dt.timedelta(minutes=config.escalate_after_minutes),
                  link_ttl=dt.timedelta(hours=config.link_ttl_hours), poll_seconds=config.poll_seconds)
    return DutyAlerter(db, cipher, **{**values, **overrides})


class Housekeeping:
    """What ``tongban serve`` does by the clock, in a daemon thread that wakes every ``interval``
    seconds: the day's retention purge (``tongban ledger purge``) unless some worker, of this or
    another process on the same database, has already claimed the day (``ledger.retention.run_daily``),
    and the parents' visit reminders due (``ledger.reminders``; each exists once, whoever queues it)."""

    def __init__(self, db: Database, cipher: DataCipher, settings: Settings, *, interval: float = 3600.0,
                 first_delay: float | None = None):
        self.db, self.cipher, self.settings = db, cipher, settings
        self.interval = interval
        self.first_delay = random.uniform(30, 120) if first_delay is None else first_delay
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tongban-housekeeping", daemon=True)
        self.runs = 0  # purges this process ran
        self.reminders = 0  # visit reminders this process queued

    def start(self) -> "Housekeeping":
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        delay = self.first_delay
        while not self._stop.wait(delay):
            delay = self.interval
            self.once()

    def once(self) -> None:
        from ledger.reminders import queue_visit_reminders
        from ledger.retention import run_daily

        if self.settings.retention.daily:
            try:
                if run_daily(self.db, self.cipher, self.settings.retention) is not None:
                    self.runs += 1
            except Exception:  # noqa: BLE001 - logged; tried again at the next wake-up
                log.exception("retention purge failed; trying again later")
        try:
            with self.db.session() as session:
                self.reminders += queue_visit_reminders(session=session, cipher=self.cipher)
        except Exception:  # noqa: BLE001 - logged; tried again at the next wake-up
            log.exception("queueing visit reminders failed; trying again later")


@dataclass
class Runtime:
    settings: Settings
    embedder: Embedder
    knowledge: KnowledgeBase
    interpreter: Interpreter
    db: Database
    cipher: DataCipher
    engine: DialogueEngine
    limiter: RateLimiter  # rate limits shared by every worker (public routes, staff logins)
    areas: AreaDirectory  # which district codes exist and their names (staff accounts, pages)
    housekeeping: Housekeeping | None = None  # the retention purge, visit reminders (``serve``; not in tests)
    alerter: DutyAlerter | None = None  # the duty alerts' loop (``serve``; tests start their own)
    _test_channels: dict | None = field(default=None, repr=False)  # test alerts' channels without a loop

    @classmethod
    def build(cls, settings: Settings, *, embedder: Embedder | None = None,
              knowledge: KnowledgeBase | None = None, interpreter: Interpreter | None = None,
              watch: bool | None = None, housekeeping: bool | None = None,
              alerts: bool | None = None) -> "Runtime":
        settings.ensure_dirs()
        # first: a missing or unsafe key stops the start at once
        cipher = data_cipher(settings)
        embedder = embedder or (knowledge.embedder if knowledge else build_embedder(settings.embedding))
        knowledge = knowledge or knowledge_base(settings, embedder).start(watch=watch)
        interpreter = interpreter or Interpreter.load_or_train(embedder, settings.models_dir)
        db, _ = open_ledger(settings, cipher)  # refuses a key that is not the one the database was written with
        store = ConversationStore(db, cipher)
        engine = DialogueEngine(config=engine_config(settings), knowledge=knowledge, interpreter=interpreter,
                                store=store, cipher=cipher)
        limiter = RateLimiter(db, cipher.lookup_hash)
        if housekeeping is None:
            housekeeping = settings.env != "test"
        chores = Housekeeping(db, cipher, settings).start() if housekeeping else None
        areas = GazetteerAreas()
        alerter = duty_alerter(settings, db, cipher, areas).start() if (housekeeping if alerts is None else alerts) \
            else None
        return cls(settings, embedder, knowledge, interpreter, db, cipher, engine, limiter, areas, chores, alerter)

    @property
    def checklists(self) -> ChecklistDesk:
        """The knowledge base as the staff pages work it (uploads, previews, publishing)."""
        return ChecklistDesk(self.knowledge)

    def send_test_alert(self, target_id: int) -> str | None:
        """Send a test alert through one alert target (the staff pages' 发送测试提醒): None when it went,
        else why not, in Chinese; either way kept on the target as its last success or error, so a
        wrong robot key or SMTP login shows before an emergency needs it."""
        if self.alerter is not None:
            channels = self.alerter.channels
        else:
            channels = self._test_channels = self._test_channels or build_channels(self.settings.alerts)
        with self.db.session() as session:
            target = session.get(AlertTarget, target_id)
            if target is None:
                return "没有这个提醒方式。"
            channel, address = channels.get(target.channel), target_address(self.cipher, target)
            kind = target.channel
        message = AlertMessage(reference="测试", kinds=["测试提醒（不是真实的紧急情况）"], area="—", at=utcnow(), step=1,
                               steps=1, recipient="提醒方式测试", link=f"{public_address(self.settings)}/staff/dashboard",
                               escalate_minutes=self.settings.alerts.escalate_after_minutes)
        error: str | None = None
        if channel is None:
            error = f"本服务没有配置“{ALERT_CHANNEL_LABELS.get(kind, kind)}”提醒方式，请联系系统管理员。"
        else:
            try:
                channel.send(address, message)
            except AlertFailed as failed:
                error = failed.reason
            except Exception as failed:  # noqa: BLE001 - reported to the page, not raised
                log.exception("test alert through target %s failed", target_id)
                error = f"发送出错：{type(failed).__name__}"
        with self.db.session() as session:
            alerting.target_result(session, target_id=target_id, error=error)
        return error

    def close(self, *, stop_knowledge: bool = True) -> None:
        if self.alerter is not None:
            self.alerter.stop()
        if self.housekeeping is not None:
            self.housekeeping.stop()
        if stop_knowledge:
            self.knowledge.stop()
        self.db.dispose()
