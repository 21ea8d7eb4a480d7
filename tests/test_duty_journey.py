"""An emergency, the whole way (issue 18): the real alert loop of the composition
root with the real adapters — a WeCom group robot (tests/fake_wecom.py) and e-mail (aiosmtpd) — and
the staff app: the person on duty is alerted, nobody acknowledges, the next level is e-mailed, the
link in the e-mail (after login, in the right area) acknowledges and stops the ladder; the pages
show every step. SQLite and PostgreSQL. The staff pages read the real clock (the link's expiry, the
time to acknowledge), so the roster here covers every day and the alert loop's clock starts now; the
Sunday 02:00 night shift is tests/test_duty_alerts.py's."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import socket

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from ledger import duty
from ledger.accounts import find_user
from ledger.clock import utcnow
from ledger.duty_models import UrgentAlert
from tests.fake_wecom import FakeWeCom
from tests.test_staff_support import BAOAN, LIUTANG, OTHER_COMMUNITY, OTHER_DISTRICT, XIXIANG, StaffApp, _staff_app, build_settings, urgent
from tongban.runtime import duty_alerter

WANG_KEY, AREA_KEY = "3b0c9a52-6e1d-4f7a-9c2e-5d4b3a291807", "c7e2f1a0-9b8d-4c6e-a5f4-3e2d1c0b9a88"
CHILD, WORDS = "刘小宇", "刘小宇被他爸用皮带打了，现在躲在厕所不敢出来"
LINK = re.compile(r"http://testserver(/staff/alerts/ack/[0-9]+\.[0-9]+\.[0-9a-f]+)")


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


class Mailbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def to(self, address: str) -> list[str]:
        return [m.get_body(("plain",)).get_content() for m in self.messages if address in m["To"]]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def services():
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=_port())
    smtp.start()
    with FakeWeCom() as wecom:
        wecom.robot_keys |= {WANG_KEY, AREA_KEY}
        yield wecom, smtp, mailbox
    smtp.stop()


@pytest.fixture
def duty_app(staff_backend, kb, interpreter, services):
    wecom, smtp, _ = services
    yield from _staff_app(staff_backend, kb, interpreter, server={"public_url": "http://testserver"},
                          alerts={"wecom_robot_base_url": wecom.base_url, "smtp_host": "127.0.0.1",
                                  "smtp_port": smtp.port, "smtp_security": "none",
                                  "smtp_from": "童伴值班 <duty@tongban.example.cn>"})


@pytest.fixture
def staff_backend(backend):
    return backend


def _roster(app: StaffApp) -> None:
    rt = app.runtime
    app.user("wang", "director", LIUTANG, display_name="王主任")
    app.user("lidu", "supervisor", XIXIANG, display_name="李督导")
    app.user("chenke", "civil_affairs", BAOAN, display_name="陈科长")
    app.user("outsider", "civil_affairs", OTHER_DISTRICT)
    with rt.db.session() as session:
        for weekday in range(7):
            duty.add_shift(session, area_code=LIUTANG, user="wang", weekday=weekday, start="00:00", end="24:00",
                           actor="chenke", areas=rt.areas)
            duty.add_shift(session, area_code=XIXIANG, user="lidu", weekday=weekday, start="00:00", end="24:00",
                           actor="chenke", areas=rt.areas)
        duty.add_target(session, rt.cipher, user=find_user(session, "wang"), channel="wecom_robot", address=WANG_KEY,
                        actor="wang")
        duty.add_target(session, rt.cipher, user=find_user(session, "lidu"), channel="email",
                        address="lidu@xixiang.example.cn", actor="lidu")
        duty.add_target(session, rt.cipher, area_code=BAOAN, channel="wecom_robot", address=AREA_KEY, actor="chenke")


def test_sunday_night_emergency_reaches_duty_escalates_and_is_acknowledged_by_link(duty_app, services):
    wecom, _, mailbox = services
    rt = duty_app.runtime
    _roster(duty_app)
    clock = Clock(utcnow())
    alerter = duty_alerter(rt.settings, rt.db, rt.cipher, rt.areas, clock=clock)
    record_id = urgent(rt, locality=LIUTANG, message=WORDS, kinds=("abuse",))

    assert alerter.once().sent == 1
    [robot] = wecom.robot_texts(WANG_KEY)
    assert "暴力或虐待" in robot and "宝安区" in robot and "U-" in robot
    assert CHILD not in robot and "皮带" not in robot and "厕所" not in robot
    first_link = LINK.search(robot).group(1)

    # a link is no way in by itself: to the login page first; another district's staff see nothing
    anonymous = duty_app.client()
    response = anonymous.get(first_link, follow_redirects=False)
    assert response.status_code in (303, 307) and "/staff/login" in response.headers["location"]
    outsider = duty_app.login("outsider")
    assert outsider.get(first_link).status_code == 404

    # nobody acknowledged in ten minutes: the street's person on duty is e-mailed
    clock.now += dt.timedelta(minutes=10, seconds=1)
    assert alerter.once().sent == 1
    [mail] = mailbox.to("lidu@xixiang.example.cn")
    assert CHILD not in mail and "皮带" not in mail
    link = LINK.search(mail).group(1)
    lidu = duty_app.login("lidu")
    response = lidu.get(link, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].endswith(f"/staff/urgent/{record_id}?ack=done")
    page = lidu.get(response.headers["location"]).text
    assert 'id="alert-ack-done"' in page and "lidu 于" in page
    assert "企业微信群机器人" in page and "电子邮件" in page and "已送达" in page
    assert lidu.get(link, follow_redirects=False).headers["location"].endswith("?ack=already")

    # the ladder stops: an hour later nothing more is sent, the district's robot never rang
    clock.now += dt.timedelta(hours=1)
    assert alerter.once().sent == 0
    assert len(wecom.robot_texts(WANG_KEY)) == 1 and wecom.robot_texts(AREA_KEY) == []
    assert [e.target for e in duty_app.audit("urgent.acknowledged")] == [_reference(rt, record_id)]
    board = duty_app.login("chenke").get("/staff/dashboard").text
    assert re.search(r'id="acks-acknowledged">1<', board)


def _reference(rt, record_id: int) -> str:
    from ledger.models import UrgentRecord
    from ledger.services import urgent_reference

    with rt.db.session() as session:
        return urgent_reference(session.get(UrgentRecord, record_id))


def test_the_button_on_the_page_acknowledges_and_a_wrong_key_shows_on_the_dashboard(duty_app, services):
    wecom, _, mailbox = services
    rt = duty_app.runtime
    _roster(duty_app)
    wecom.robot_keys.discard(WANG_KEY)  # the group's robot was removed: 93000
    clock = Clock(utcnow())
    alerter = duty_alerter(rt.settings, rt.db, rt.cipher, rt.areas, clock=clock)
    record_id = urgent(rt, locality=LIUTANG, message=WORDS)
    alerter.once()  # 王主任 cannot be reached: the street's person at once
    clock.now += dt.timedelta(seconds=2)
    alerter.once()
    assert len(mailbox.to("lidu@xixiang.example.cn")) == 1
    chen = duty_app.login("chenke")
    board = chen.get("/staff/dashboard").text
    assert 'id="alert-health"' in board and "webhook key 无效" in board
    page = chen.get(f"/staff/urgent/{record_id}").text
    assert 'id="alert-waiting"' in page and "发送失败" in page
    from tests.test_staff_support import post_form

    response = post_form(chen, f"/staff/urgent/{record_id}", f"/staff/urgent/{record_id}/acknowledge", {})
    assert response.status_code == 303 and response.headers["location"].endswith("?ack=done")
    with rt.db.session() as session:
        alert = session.scalar(select(UrgentAlert).where(UrgentAlert.urgent_record_id == record_id))
        assert alert.acknowledged_by == "chenke" and alert.next_step_at is None


def test_a_community_director_on_the_street_roster_opens_another_communitys_record(duty_app, services):
    """The street's night rotation includes a community's child director: alerted about a family of
    another community of the street, the director opens and acknowledges it — though the record lies
    outside their own area — while a colleague of that community who was not alerted cannot."""
    wecom, _, _ = services
    rt = duty_app.runtime
    duty_app.user("wang", "director", LIUTANG, display_name="王主任")
    duty_app.user("zhou", "director", LIUTANG, display_name="周主任")
    with rt.db.session() as session:
        for weekday in range(7):
            duty.add_shift(session, area_code=XIXIANG, user="wang", weekday=weekday, start="00:00", end="24:00",
                           actor="test", areas=rt.areas)
        duty.add_target(session, rt.cipher, user=find_user(session, "wang"), channel="wecom_robot", address=WANG_KEY,
                        actor="wang")
    alerter = duty_alerter(rt.settings, rt.db, rt.cipher, rt.areas, clock=Clock(utcnow()))
    record_id = urgent(rt, locality=OTHER_COMMUNITY, message=WORDS)
    assert alerter.once().sent == 1
    link = LINK.search(wecom.robot_texts(WANG_KEY)[0]).group(1)
    assert duty_app.login("zhou").get(f"/staff/urgent/{record_id}").status_code == 404
    wang = duty_app.login("wang")
    response = wang.get(link, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].endswith("?ack=done")
    assert 'id="alert-ack-done"' in wang.get(response.headers["location"]).text


def test_healthz_carries_the_alert_loops_line(staff_backend, kb, interpreter):
    """``tongban serve``'s workers run the loop (``Runtime.build(alerts=…)``, on by default outside
    tests); ``/healthz`` shows its line, null where no loop runs."""
    from fastapi.testclient import TestClient

    from tongban.app import create_app
    from tongban.runtime import Runtime

    settings = build_settings(staff_backend)
    for alerts in (False, True):
        runtime = Runtime.build(settings, knowledge=kb, interpreter=interpreter, alerts=alerts)
        try:
            with TestClient(create_app(settings, runtime=runtime)) as client:
                if not alerts:
                    assert runtime.alerter is None and client.get("/healthz").json()["alerts"] is None
                    continue
                assert runtime.alerter.first_pass.wait(60)
                assert client.get("/healthz").json()["alerts"] == {
                    "ok": True, "failed_24h": 0, "overdue": 0, "unreached_24h": 0, "failing_targets": 0}
        finally:
            runtime.close(stop_knowledge=False)
