"""Duty alerts (issue 18): an urgent record reaches the person on duty, escalates when nobody
acknowledges, falls back when a channel is dead, and is sent once per step whatever the number of
workers — on SQLite and PostgreSQL, with an injectable clock and a recording channel.

The adapters themselves (WeCom robot and application, SMTP, SMS) against their fake servers are in
tests/test_alert_channels.py; the whole journey through them and the staff pages in
tests/test_duty_journey.py.
"""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from sqlalchemy import func, select

from alerts.duty import DutyAlerter
from alerts import AlertFailed
from ledger import alert_status, alerting, duty, services
from ledger.accounts import create_user
from ledger.clock import BEIJING
from ledger.conversations import ConversationStore
from ledger.db import Database
from ledger.duty_models import AlertDelivery, AlertTarget, UrgentAlert
from ledger.models import UrgentRecord
from nlu.areas import GazetteerAreas
from tests.conftest import make_settings
from tongban.storage import data_cipher

BAOAN, XIXIANG, LIUTANG = "440306", "440306001", "440306001001"
PASSWORD = "Kind-Harbour-2026"
CHILD, WORDS = "王小明", "我家王小明放学没回来，电话也打不通"
# 02:00 on Sunday 6 December 2026, Beijing time
SUNDAY_2AM = dt.datetime(2026, 12, 6, 2, 0, tzinfo=BEIJING).astimezone(dt.timezone.utc)
AREAS = GazetteerAreas()


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)


class Recorder:
    """An alert channel that keeps what it was given; ``dead``: addresses that fail."""

    def __init__(self, name: str, *, dead: dict[str, bool] | None = None):
        self.name = name
        self.dead = dead or {}  # address → permanent?
        self.sent: list[tuple[str, object]] = []
        self.lock = threading.Lock()

    def send(self, address, message):
        if address in self.dead:
            raise AlertFailed("机器人 key 无效（93000）", permanent=self.dead[address])
        with self.lock:
            self.sent.append((address, message))

    def to(self, address: str) -> list:
        return [m for a, m in self.sent if a == address]


@pytest.fixture
def world(backend):
    settings = make_settings(backend["data_dir"], database=backend["database"])
    db = Database(settings.database_url)
    cipher = data_cipher(settings)
    with db.session() as session:
        for username, role, area, name in [("wang", "director", LIUTANG, "王主任"), ("lidu", "supervisor", XIXIANG, "李督导"),
                                           ("chen", "civil_affairs", BAOAN, "陈科长"), ("admin", "admin", "national", "管理员"),
                                           ("zhao", "director", LIUTANG, "赵主任")]:
            create_user(session=session, areas=AREAS, username=username, role=role, area=area, password=PASSWORD,
                        display_name=name, created_by="test")
    yield db, cipher
    db.dispose()


def _shift(db, area, username, weekday, start, end, rank=1):
    from ledger.accounts import find_user

    with db.session() as session:
        duty.add_shift(session, area_code=area, user=find_user(session, username), weekday=weekday, start=start,
                       end=end, rank=rank, actor="test", areas=AREAS)


def _target(db, cipher, channel, address, *, username=None, area=None):
    from ledger.accounts import find_user

    with db.session() as session:
        user = find_user(session, username) if username else None
        duty.add_target(session, cipher, user=user, area_code=area, channel=channel, address=address, actor="test")


def _urgent(db, cipher, *, locality=LIUTANG, sender="telegram:1", now=SUNDAY_2AM) -> int:
    store = ConversationStore(db, cipher)
    with store.open(sender, "telegram") as convo:
        record = services.create_urgent_record(session=convo.session, cipher=cipher, conversation_id=convo.id,
                                               channel="telegram", locality=locality, kinds=["missing"],
                                               detected_by="patterns", message=WORDS, now=now)
        return record.id


ROBOT_WANG, ROBOT_AREA, MAIL_LI, MAIL_WANG = "0f4c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b", "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b", \
    "li@xixiang.example.cn", "wang@liutang.example.cn"


def _alerter(db, cipher, clock, channels, **kw) -> DutyAlerter:
    return DutyAlerter(db, cipher, channels=channels, areas=AREAS, public_url="https://tongban.example.cn",
                       escalate_after=dt.timedelta(minutes=10), clock=clock, **kw)


def _loop(db, cipher, *, dead_robots=None, dead_mail=None):
    """A clock at Sunday 02:00, the two recording channels and a loop on them."""
    clock = Clock(SUNDAY_2AM)
    robot, mail = Recorder("wecom_robot", dead=dead_robots), Recorder("email", dead=dead_mail)
    return clock, robot, mail, _alerter(db, cipher, clock, {"wecom_robot": robot, "email": mail})


def _deliveries(db, record_id):
    with db.session() as session:
        alert = session.scalar(select(UrgentAlert).where(UrgentAlert.urgent_record_id == record_id))
        return [(d.step, d.recipient, d.status, d.via) for d in
                session.scalars(select(AlertDelivery).where(AlertDelivery.alert_id == alert.id)
                                .order_by(AlertDelivery.step, AlertDelivery.id))]


@pytest.fixture
def rostered(world):
    """王主任 has the community's Sunday night (22:00 Saturday → 08:00), 李督导 the street's weekend,
    陈科长 no shift (an admin of the district: the last step), the district's office robot as its fallback."""
    db, cipher = world
    _shift(db, LIUTANG, "wang", 5, "22:00", "08:00")  # Saturday 22:00 → Sunday 08:00
    _shift(db, LIUTANG, "zhao", 6, "08:00", "22:00")  # Sunday daytime: not at 02:00
    _shift(db, XIXIANG, "lidu", 6, "00:00", "24:00")
    _target(db, cipher, "wecom_robot", ROBOT_WANG, username="wang")
    _target(db, cipher, "email", MAIL_WANG, username="wang")
    _target(db, cipher, "email", "zhao@liutang.example.cn", username="zhao")
    _target(db, cipher, "email", MAIL_LI, username="lidu")
    _target(db, cipher, "email", "chen@baoan.example.cn", username="chen")
    _target(db, cipher, "wecom_robot", ROBOT_AREA, area=BAOAN)
    return db, cipher


def test_sunday_2am_reaches_the_rostered_person_and_escalates_until_acknowledged(rostered):
    db, cipher = rostered
    clock, robot, mail, alerter = _loop(db, cipher)
    record_id = _urgent(db, cipher)
    clock.advance(seconds=1)
    first = alerter.once()
    assert (first.opened, first.sent) == (1, 1)
    [message] = robot.to(ROBOT_WANG)  # the night's person, through the first of their ways
    assert message.step == 1 and message.reference.startswith("U-") and "走失或被拐" in message.kinds
    assert mail.sent == []
    clock.advance(minutes=9)
    assert alerter.once().sent == 0  # not yet
    clock.advance(minutes=1, seconds=1)
    second = alerter.once()
    assert (second.escalated, second.sent) == (1, 1)
    assert [m.step for m in mail.to(MAIL_LI)] == [2]  # the street's person on duty
    # 李督导 opens the link: the ladder stops
    with db.session() as session:
        alert = alerting.alert_of_record(session, record_id)
        assert alerting.acknowledge(session, alert=alert, username="lidu", now=clock())
    clock.advance(hours=2)
    assert alerter.once().sent == 0
    assert [(step, recipient, status) for step, recipient, status, _ in _deliveries(db, record_id)] == \
        [(0, _recipient(db, "wang"), "sent"), (1, _recipient(db, "lidu"), "sent")]


def _recipient(db, username):
    from ledger.accounts import find_user

    with db.session() as session:
        return f"user:{find_user(session, username).id}"


def test_the_ladder_goes_community_street_district_fallback_then_every_admin(rostered):
    db, cipher = rostered
    with db.session() as session:
        ladder = duty.ladder_for(session, LIUTANG, SUNDAY_2AM)
    recipients = [step["recipients"] for step in ladder]
    wang, li, chen, admin = (_recipient(db, u) for u in ("wang", "lidu", "chen", "admin"))
    assert recipients[:3] == [[wang], [li], [f"area:{BAOAN}"]]
    assert set(recipients[-1]) == {chen} and admin not in recipients[-1]  # the national admin has no way to be reached


def test_nobody_acknowledges_the_ladder_runs_to_the_end_and_stops(rostered):
    db, cipher = rostered
    clock, robot, mail, alerter = _loop(db, cipher)
    record_id = _urgent(db, cipher)
    for _ in range(8):
        alerter.once()
        clock.advance(minutes=10, seconds=1)
    steps = _deliveries(db, record_id)
    assert [step for step, *_ in steps] == [0, 1, 2, 3]
    assert robot.to(ROBOT_AREA) and mail.to("chen@baoan.example.cn")
    with db.session() as session:
        assert alerting.alert_of_record(session, record_id).next_step_at is None


def test_a_dead_channel_falls_back_to_the_next_and_the_error_is_kept(rostered):
    db, cipher = rostered
    clock, robot, mail, alerter = _loop(db, cipher, dead_robots={ROBOT_WANG: True})
    record_id = _urgent(db, cipher)
    assert alerter.once().sent == 1
    assert [m.step for m in mail.to(MAIL_WANG)] == [1]
    assert _deliveries(db, record_id)[0][2:] == ("sent", "email")
    with db.session() as session:
        health = alert_status.health(session, now=clock())
        assert not health["ok"] and [t.channel for t in health["broken_targets"]] == ["wecom_robot"]
        assert "93000" in health["broken_targets"][0].last_error
    assert alerter.health["ok"]  # checked at the start of the pass, before the failure
    clock.advance(seconds=16)
    alerter.once()  # /healthz's line, every 15 s
    assert alerter.health == {"ok": False, "failed_24h": 0, "overdue": 0, "unreached_24h": 0, "failing_targets": 1}
    with db.session() as session:  # another district's staff are not told of Bao'an's broken robot
        assert alert_status.health(session, user_area="440305", now=clock())["ok"]


def test_a_person_nobody_can_reach_is_skipped_at_once(rostered):
    db, cipher = rostered
    clock, robot, mail, alerter = _loop(db, cipher, dead_robots={ROBOT_WANG: True}, dead_mail={MAIL_WANG: True})
    record_id = _urgent(db, cipher)
    alerter.once()
    clock.advance(seconds=2)
    alerter.once()  # the first step failed for good: the second starts now, not in ten minutes
    assert [m.step for m in mail.to(MAIL_LI)] == [2]
    assert [status for _, _, status, _ in _deliveries(db, record_id)] == ["failed", "sent"]


def test_a_temporary_failure_is_retried_with_back_off(rostered):
    db, cipher = rostered
    clock, robot, mail, alerter = _loop(db, cipher, dead_robots={ROBOT_WANG: False}, dead_mail={MAIL_WANG: False})
    record_id = _urgent(db, cipher)
    assert alerter.once().retried == 1
    robot.dead.clear()
    assert alerter.once().sent == 0  # waiting for the back-off
    clock.advance(seconds=3)
    assert alerter.once().sent == 1
    assert _deliveries(db, record_id)[0][2:] == ("sent", "wecom_robot")


def test_a_roster_gap_uses_the_area_fallback(world):
    db, cipher = world
    _target(db, cipher, "wecom_robot", ROBOT_AREA, area=BAOAN)
    clock = Clock(SUNDAY_2AM)
    robot = Recorder("wecom_robot")
    _alerter(db, cipher, clock, {"wecom_robot": robot}).once()
    record_id = _urgent(db, cipher)
    _alerter(db, cipher, clock, {"wecom_robot": robot}).once()
    assert [m.step for m in robot.to(ROBOT_AREA)] == [1]
    assert _deliveries(db, record_id)[0][1] == f"area:{BAOAN}"


def test_two_workers_send_each_step_once(rostered):
    db, cipher = rostered
    clock = Clock(SUNDAY_2AM)
    robot, mail = Recorder("wecom_robot"), Recorder("email")
    channels = {"wecom_robot": robot, "email": mail}
    url = db.engine.url.render_as_string(hide_password=False)
    # each worker its own engine and (SQLite) its own lock on the database file, as two processes have
    workers = [_alerter(Database(url), cipher, clock, channels, worker=f"w{i}") for i in range(2)]
    records = [_urgent(db, cipher, sender=f"telegram:{n}") for n in range(5)]

    def run_both():
        threads = [threading.Thread(target=w.once) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    run_both()
    run_both()
    clock.advance(minutes=10, seconds=1)
    run_both()
    run_both()
    assert len(robot.to(ROBOT_WANG)) == 5 and len(mail.to(MAIL_LI)) == 5
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(UrgentAlert)) == 5
        assert session.scalar(select(func.count()).select_from(AlertDelivery)) == 10
    assert len(records) == 5
    for worker in workers:
        worker.db.dispose()


def test_nothing_personal_in_any_alert(rostered):
    db, cipher = rostered
    clock, robot, mail, alerter = _loop(db, cipher)
    _urgent(db, cipher)
    for _ in range(5):
        alerter.once()
        clock.advance(minutes=10, seconds=1)
    assert len(robot.sent) + len(mail.sent) >= 4
    for _, message in robot.sent + mail.sent:
        for body in (message.text(), message.markdown(), message.title(), message.summary(), message.brief()):
            assert CHILD not in body and "放学" not in body and "电话" not in body
        for body in (message.text(), message.markdown(), message.title(), message.brief()):
            assert "U-" in body  # the card's summary goes under its title, which names it


def test_the_link_acknowledges_once_and_expires(rostered):
    db, cipher = rostered
    token = alerting.ack_token(cipher, 7, now=SUNDAY_2AM)
    assert alerting.read_ack_token(cipher, token, now=SUNDAY_2AM) == 7
    with pytest.raises(alerting.BadLink):
        alerting.read_ack_token(cipher, token.replace(".", ".9", 1), now=SUNDAY_2AM)
    with pytest.raises(alerting.BadLink, match="过期"):
        alerting.read_ack_token(cipher, token, now=SUNDAY_2AM + dt.timedelta(hours=25))
    for forged in ("7.1796580000.é" + "0" * 31, "7.1796580000." + "0" * 32, "", "a.b.c", "7." * 60):
        with pytest.raises(alerting.BadLink):
            alerting.read_ack_token(cipher, forged, now=SUNDAY_2AM)
    record_id = _urgent(db, cipher)
    clock = Clock(SUNDAY_2AM)
    _alerter(db, cipher, clock, {"wecom_robot": Recorder("wecom_robot")}).once()
    with db.session() as session:
        alert = alerting.alert_of_record(session, record_id)
        assert alerting.acknowledge(session, alert=alert, username="wang", now=clock())
        assert not alerting.acknowledge(session, alert=alert, username="lidu", now=clock())
        assert alert.acknowledged_by == "wang"


def test_a_record_handled_on_the_pages_stops_its_ladder(rostered):
    db, cipher = rostered
    clock, robot, mail, alerter = _loop(db, cipher)
    record_id = _urgent(db, cipher)
    alerter.once()
    with db.session() as session:
        session.get(UrgentRecord, record_id).status = "handled"
    clock.advance(minutes=30)
    assert alerter.once().sent == 0 and mail.sent == []


def test_records_from_before_alerting_started_are_not_alerted(world):
    db, cipher = world
    _target(db, cipher, "wecom_robot", ROBOT_AREA, area=BAOAN)
    _urgent(db, cipher, now=SUNDAY_2AM - dt.timedelta(days=3))
    robot = Recorder("wecom_robot")
    assert _alerter(db, cipher, Clock(SUNDAY_2AM), {"wecom_robot": robot}).once().opened == 0


def test_targets_keep_their_address_encrypted(rostered):
    db, cipher = rostered
    with db.session() as session:
        rows = list(session.scalars(select(AlertTarget)))
    assert rows and all(MAIL_LI not in row.address_enc and ROBOT_WANG not in row.address_enc for row in rows)


def test_an_account_disabled_after_the_ladder_was_made_is_skipped(rostered):
    db, cipher = rostered
    from ledger.accounts import set_user_active

    clock, robot, mail, alerter = _loop(db, cipher)
    _urgent(db, cipher)
    with db.session() as session:
        alerting.open_alert(session, session.scalar(select(UrgentRecord)), now=clock())
        set_user_active(session=session, username="wang", active=False, actor="chen")
    alerter.once()
    clock.advance(seconds=2)
    alerter.once()
    assert robot.sent == [] and [m.step for m in mail.to(MAIL_LI)] == [2]


def test_a_claim_is_kept_while_sending_and_a_lost_one_is_not_recorded_twice(rostered):
    db, cipher = rostered
    clock = Clock(SUNDAY_2AM)
    _urgent(db, cipher)
    with db.session() as session:
        alerting.open_alert(session, session.scalar(select(UrgentRecord)), now=clock())
    with db.session() as session:
        [job] = alerting.claim_deliveries(session, cipher, worker="A", now=clock())
    clock.advance(seconds=20)
    with db.session() as session:  # A is still at it (its next target): renewed
        assert alerting.renew_claim(session, delivery_id=job.id, worker="A", now=clock())
    clock.advance(seconds=20)
    with db.session() as session:  # 40 s after the claim, 20 after the renewal: still A's
        assert alerting.claim_deliveries(session, cipher, worker="B", now=clock()) == []
    clock.advance(seconds=31)
    with db.session() as session:  # A stopped renewing: B takes it over and sends it
        [again] = alerting.claim_deliveries(session, cipher, worker="B", now=clock())
    target = job.targets[0]
    with db.session() as session:
        assert not alerting.delivery_sent(session, delivery_id=job.id, target=target, worker="A", now=clock())
        alerting.delivery_failed(session, delivery_id=job.id, error="late", permanent=True, worker="A", now=clock())
        assert alerting.delivery_sent(session, delivery_id=again.id, target=target, worker="B", now=clock())
        delivery = session.get(AlertDelivery, job.id)
        assert (delivery.status, delivery.last_error) == ("sent", None)


def test_the_most_precise_place_known_starts_the_ladder(rostered):
    """The record knows only the district (as the geography gives it); a request of the same
    conversation names the community (the committee that referred the family): the community's
    person on duty is alerted first, not the district's fallback."""
    db, cipher = rostered
    from tests.test_casework import _data
    from ledger.requests import file_request

    record_id = _urgent(db, cipher, locality=BAOAN)
    with db.session() as session:
        record = session.get(UrgentRecord, record_id)
        filed = file_request(session=session, cipher=cipher, data=_data(), conversation_id=record.conversation_id,
                             channel="telegram", referral=None, now=SUNDAY_2AM)
        filed.request.area_code = LIUTANG
    with db.session() as session:
        assert alerting.record_area(session, session.get(UrgentRecord, record_id)) == LIUTANG
        ladder = json.loads(alerting.open_alert(session, session.get(UrgentRecord, record_id), now=SUNDAY_2AM).ladder)
    assert ladder[0]["recipients"] == [_recipient(db, "wang")]


def test_an_emergency_that_reaches_nobody_is_unhealthy(world):
    db, cipher = world  # no roster, no fallback, no admin with a way to be reached
    clock = Clock(SUNDAY_2AM)
    alerter = _alerter(db, cipher, clock, {"wecom_robot": Recorder("wecom_robot")})
    _urgent(db, cipher)
    assert alerter.once().opened == 1
    with db.session() as session:
        health = alert_status.health(session, now=clock())
    assert health["unreached"] == 1 and not health["ok"]


def test_an_idle_look_takes_no_write_lock(world):
    """The loop looks every second whether there is work: on SQLite that read must not wait for, or
    hold, the writers' lock (a turn writing meanwhile)."""
    db, cipher = world
    holding, release = threading.Event(), threading.Event()

    def writer():
        with db.session() as session:
            session.execute(select(func.count()).select_from(UrgentRecord))
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    assert holding.wait(10)
    try:  # the writer holds the lock until ``release``: a read that needed it would fail (locked)
        with db.reading() as session:
            assert not alerting.work_waiting(session.connection(), now=SUNDAY_2AM)
    finally:
        release.set()
        thread.join()


def test_no_robot_key_in_the_logs(monkeypatch, caplog):
    """httpx logs each request's URL at INFO, and a robot's URL holds its key."""
    import logging

    from alerts import AlertMessage, WeComRobotChannel
    from tests.fake_wecom import ROBOT_KEY, FakeWeCom
    from tongban.logs import configure_logging

    for name in ("httpx", "httpcore"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.getLogger(name).level)
    monkeypatch.setattr(logging.getLogger(), "level", logging.getLogger().level)
    configure_logging("INFO")
    caplog.set_level(logging.INFO)
    message = AlertMessage(reference="U-000001", kinds=["走失或被拐"], area="宝安区", at=SUNDAY_2AM, step=1, steps=2,
                           recipient="王主任", link="https://tongban.example.cn/staff/alerts/ack/x", escalate_minutes=10)
    with FakeWeCom() as fake:
        WeComRobotChannel(base_url=fake.base_url).send(ROBOT_KEY, message)
        assert fake.robot_texts(ROBOT_KEY)
    assert ROBOT_KEY not in caplog.text
