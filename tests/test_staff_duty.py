"""The staff pages of the duty alerts (issue 18), on SQLite and PostgreSQL: an area's roster (值班) —
shifts, exceptions, who is on duty now, the ladder, the gaps ahead — and alert targets (我的提醒方式,
areas' fallback contacts) with their test alerts; who may change what; the dashboard's gap warning.

The pages' clock is fixed at Sunday 1 March 2026, 02:00 Beijing time (``ledger.clock.utcnow``, which
the pages read; sessions and audit times keep the real clock). Test alerts go to a fake WeCom.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from ledger import clock, duty
from ledger.accounts import find_user
from ledger.duty_models import AlertTarget, DutyException, DutyShift
from tests.fake_wecom import ROBOT_KEY, FakeWeCom
from tests.test_staff_support import (BAOAN, LIUTANG, OTHER_DISTRICT, XIXIANG, _staff_app, csrf_of,  # noqa: F401
                                      post_form, staff_backend)

NOW = dt.datetime(2026, 3, 1, 2, 0, tzinfo=clock.BEIJING)  # a Sunday, 02:00
ROBOT_URL = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={ROBOT_KEY}"
BAD_KEY = "0123456789abcdef0123456789abcdef"  # the shape of a key, but no robot's


@pytest.fixture
def wecom():
    with FakeWeCom() as fake:
        yield fake


@pytest.fixture
def duty_app(staff_backend, kb, interpreter, wecom, monkeypatch):
    """The staff app with its robot alerts going to the fake WeCom, at NOW."""
    monkeypatch.setattr(clock, "utcnow", lambda: NOW.astimezone(dt.timezone.utc))
    yield from _staff_app(staff_backend, kb, interpreter, alerts={"wecom_robot_base_url": wecom.base_url})


# ------------------------------------------------------------------ helpers

def _shift(app, area: str, username: str, weekday: int, start: str, end: str, rank: int = 1) -> int:
    with app.runtime.db.session() as session:
        return duty.add_shift(session, area_code=area, user=username, weekday=weekday, start=start, end=end,
                              rank=rank, actor="test", areas=app.runtime.areas).id


def _target(app, *, channel: str, address: str, user: str | None = None, area: str | None = None) -> int:
    with app.runtime.db.session() as session:
        owner = find_user(session, user) if user else None
        return duty.add_target(session, app.runtime.cipher, user=owner, area_code=area, channel=channel,
                               address=address, actor="test").id


def _part(html: str, element_id: str, end: str = "</section>") -> str:
    """The page from the element with ``element_id`` to the next ``end``."""
    start = html.index(f'id="{element_id}"')
    return html[start:html.index(end, start)]


def _counts(app) -> tuple[int, int, int]:
    with app.runtime.db.session() as session:
        return (session.scalar(select(func.count()).select_from(DutyShift)),
                session.scalar(select(func.count()).select_from(DutyException)),
                session.scalar(select(func.count()).select_from(AlertTarget).where(AlertTarget.active.is_(True))))


def _target_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-target="(\d+)"', html)]


# ------------------------------------------------------------------ the roster page

def test_civil_affairs_adds_a_night_shift_and_sees_who_is_on_duty_and_the_ladder(duty_app):
    app = duty_app
    app.user("baoan", "civil_affairs", BAOAN, display_name="王工")
    client = app.login("baoan")
    page = client.get("/staff/duty")
    assert page.status_code == 200
    assert 'href="/staff/duty" aria-current="page"' in page.text and 'href="/staff/alert-targets"' in page.text
    assert "这个地区还没有排班" in _part(page.text, "duty-gaps") and 'id="duty-nobody"' in page.text

    # refused: an hour that does not exist; what was typed stays
    bad = post_form(client, "/staff/duty", "/staff/duty/shifts", {
        "shift_user": "baoan", "shift_weekday": "5", "shift_start": "25:00", "shift_end": "08:00", "shift_rank": "1"})
    assert bad.status_code == 400
    assert 'id="shift-errors"' in bad.text and "HH:MM" in _part(bad.text, "shift_start-error", "</p>")
    assert 'value="25:00"' in bad.text and 'value="08:00"' in bad.text
    assert '<option value="5" selected>' in bad.text and '<option value="baoan" selected>' in bad.text

    # Saturday 22:00 to Sunday 08:00 covers now (Sunday 02:00)
    done = post_form(client, "/staff/duty", "/staff/duty/shifts", {
        "shift_user": "baoan", "shift_weekday": "5", "shift_start": "22:00", "shift_end": "08:00"})
    assert done.status_code == 303 and done.headers["location"] == "/staff/duty?area=440306&done=shift"
    page = client.get(done.headers["location"]).text
    assert 'id="notice"' in page and "班次已添加" in page
    shifts = _part(page, "duty-shifts", "</table>")
    assert "周六 22:00–次日 08:00" in shifts and "王工" in shifts
    assert "王工" in _part(page, "duty-now") and "没有提醒方式" in _part(page, "duty-now")
    assert 'id="duty-ladder-empty"' in page  # nobody can be reached yet

    # a way to reach 王工 (the webhook URL as WeCom shows it), and the district's fallback contact
    added = post_form(client, "/staff/alert-targets", "/staff/alert-targets",
                      {"target_channel": "wecom_robot", "target_address": ROBOT_URL})
    assert added.status_code == 303 and added.headers["location"] == "/staff/alert-targets?done=target"
    mine = client.get(added.headers["location"]).text
    assert "…5aaa" in mine and ROBOT_KEY not in mine and "webhook/send" not in mine
    contact = post_form(client, "/staff/duty", "/staff/duty/targets",
                        {"target_channel": "email", "target_address": "Duty.Office@baoan.example.org"})
    assert contact.status_code == 303
    page = client.get(contact.headers["location"]).text
    assert "D***@baoan.example.org" in _part(page, "area-targets", "</table>")
    assert "Duty.Office" not in page and ROBOT_KEY not in page
    assert "没有提醒方式" not in _part(page, "duty-now")
    ladder = _part(page, "duty-ladder")
    assert ladder.index("王工") < ladder.index("区县值班联系人（440306）")

    # 王工 off sick from 01:00 to 03:00: nobody on duty now, a gap
    refused = post_form(client, "/staff/duty", "/staff/duty/exceptions", {
        "exc_user": "baoan", "exc_kind": "off", "exc_from": "2026-03-01T03:00", "exc_to": "2026-03-01T01:00",
        "exc_note": "病假"})
    assert refused.status_code == 400 and "结束时间须晚于开始时间" in refused.text
    assert 'value="2026-03-01T03:00"' in refused.text and 'value="病假"' in refused.text
    off = post_form(client, "/staff/duty", "/staff/duty/exceptions", {
        "exc_user": "baoan", "exc_kind": "off", "exc_from": "2026-03-01 01:00", "exc_to": "2026-03-01T03:00",
        "exc_note": "病假"})
    assert off.status_code == 303
    page = client.get(off.headers["location"]).text
    row = _part(page, "duty-exceptions", "</table>")
    assert "2026-03-01（周日）01:00–03:00" in row and "不在岗" in row and "进行中" in row and "病假" in row
    assert 'id="duty-nobody"' in page and "2026-03-01（周日）02:00–03:00" in _part(page, "duty-gaps")
    exception_id = re.search(r'data-exception="(\d+)"', page).group(1)
    removed = client.post("/staff/duty/exceptions/remove", data={"csrf_token": csrf_of(page), "exception_id": exception_id},
                          follow_redirects=False)
    assert removed.status_code == 303
    assert "王工" in _part(client.get(removed.headers["location"]).text, "duty-now")

    actions = [e.action for e in app.audit() if e.action.startswith("duty.")]
    assert actions == ["duty.shift.add", "duty.target.add", "duty.target.add", "duty.exception.add",
                       "duty.exception.remove"]
    assert all(e.actor == "baoan" for e in app.audit() if e.action.startswith("duty."))
    assert not [e for e in app.audit() if ROBOT_KEY in e.detail or "Duty.Office" in e.detail]


def test_director_sees_the_roster_cannot_change_it_and_manages_own_targets(duty_app):
    app = duty_app
    app.user("baoan", "civil_affairs", BAOAN, display_name="王工")
    app.user("liutang", "director", LIUTANG, display_name="张主任")
    app.user("juwei", "committee", LIUTANG)
    shift_id = _shift(app, LIUTANG, "liutang", 6, "00:00", "24:00")
    theirs = _target(app, user="juwei", channel="email", address="juwei@example.org")  # a colleague's
    before = _counts(app)
    client = app.login("liutang")
    page = client.get("/staff/duty")
    assert page.status_code == 200 and "张主任" in _part(page.text, "duty-shifts", "</table>")
    assert 'id="shift-form"' not in page.text and "shift-remove-" not in page.text
    token = csrf_of(page.text)
    for action, data in [
            ("/staff/duty/shifts", {"area": LIUTANG, "shift_user": "liutang", "shift_weekday": "0",
                                    "shift_start": "08:00", "shift_end": "18:00"}),
            ("/staff/duty/shifts/remove", {"shift_id": shift_id}),
            ("/staff/duty/exceptions", {"area": LIUTANG, "exc_user": "liutang", "exc_kind": "off",
                                        "exc_from": "2026-03-02 08:00", "exc_to": "2026-03-03 08:00"}),
            ("/staff/duty/targets", {"area": LIUTANG, "target_channel": "email", "target_address": "a@example.org"}),
            ("/staff/alert-targets", {"user": "juwei", "target_channel": "email", "target_address": "a@example.org"}),
            ("/staff/alert-targets/remove", {"target_id": theirs}),
            ("/staff/alert-targets/test", {"target_id": theirs})]:
        response = client.post(action, data={"csrf_token": token, **data}, follow_redirects=False)
        assert response.status_code == 403 and "权限" in response.text, action
    assert client.get("/staff/alert-targets?user=juwei").status_code == 403
    assert client.get("/staff/alert-targets?user=baoan").status_code == 404  # not of the community
    assert _counts(app) == before

    # own targets: add (only the hint is shown), test (no SMTP configured: the reason shows), remove
    added = post_form(client, "/staff/alert-targets", "/staff/alert-targets",
                      {"target_channel": "email", "target_address": "zhang.zhuren@example.org"})
    assert added.status_code == 303
    mine = client.get(added.headers["location"]).text
    assert "z***@example.org" in mine and "zhang.zhuren" not in mine
    [target_id] = _target_ids(mine)
    tested = client.post("/staff/alert-targets/test", data={"csrf_token": token, "target_id": target_id},
                         follow_redirects=False)
    assert tested.headers["location"] == f"/staff/alert-targets?done=test_failed&target={target_id}"
    page = client.get(tested.headers["location"]).text
    assert "没有配置" in _part(page, "test-result", "</p>") and 'class="field-error target-error"' in page
    removed = client.post("/staff/alert-targets/remove", data={"csrf_token": token, "target_id": target_id},
                          follow_redirects=False)
    assert removed.status_code == 303 and 'id="targets-empty"' in client.get(removed.headers["location"]).text

    # the district's civil-affairs officer manages the director's targets
    officer = app.login("baoan")
    page = officer.get("/staff/alert-targets?user=liutang")
    assert page.status_code == 200 and "张主任（liutang）的提醒方式" in page.text
    assert 'href="/staff/alert-targets?user=liutang"' in page.text  # the area's accounts
    added = post_form(officer, "/staff/alert-targets?user=liutang", "/staff/alert-targets",
                      {"target_channel": "sms", "target_address": "+86 138 0013 8000"})
    assert added.status_code == 303 and added.headers["location"] == "/staff/alert-targets?user=liutang&done=target"
    page = officer.get(added.headers["location"]).text
    assert "138****8000" in page and "13800138000" not in page
    events = [(e.actor, e.action, e.target) for e in app.audit() if e.action.startswith("duty.target")]
    assert events == [("test", "duty.target.add", "user:juwei"), ("liutang", "duty.target.add", "user:liutang"),
                      ("liutang", "duty.target.test", "user:liutang"), ("liutang", "duty.target.remove", "user:liutang"),
                      ("baoan", "duty.target.add", "user:liutang")]
    # a test reaches a real phone or mailbox: five an hour per target, ten per user, then refused
    [sms_id] = _target_ids(page)
    token = csrf_of(page)
    for _ in range(5):
        officer.post("/staff/alert-targets/test", data={"csrf_token": token, "target_id": sms_id})
    refused = officer.post("/staff/alert-targets/test", data={"csrf_token": token, "target_id": sms_id},
                           follow_redirects=False)
    assert refused.status_code == 429 and "太频繁" in refused.text


def test_another_districts_user_finds_nothing_of_baoan(duty_app, wecom):
    app = duty_app
    app.user("baoan", "civil_affairs", BAOAN, display_name="王工")
    app.user("nanshan", "civil_affairs", OTHER_DISTRICT)
    shift_id = _shift(app, XIXIANG, "baoan", 0, "08:00", "18:00")
    with app.runtime.db.session() as session:
        exception_id = duty.add_exception(session, area_code=BAOAN, user="baoan", starts_at=NOW,
                                          ends_at=NOW + dt.timedelta(hours=4), on_duty=True, actor="test").id
    area_target = _target(app, area=BAOAN, channel="wecom_robot", address=ROBOT_KEY)
    user_target = _target(app, user="baoan", channel="email", address="wang@baoan.example.org")
    before = _counts(app)
    client = app.login("nanshan")
    own = client.get("/staff/duty")
    assert own.status_code == 200 and "王工" not in own.text
    for url in ("/staff/duty?area=440306", "/staff/duty?area=440306001", "/staff/duty?area=440306001001",
                "/staff/alert-targets?user=baoan"):
        response = client.get(url)
        assert response.status_code == 404 and "王工" not in response.text, url
    token = csrf_of(own.text)
    for action, data in [
            ("/staff/duty/shifts", {"area": BAOAN, "shift_user": "nanshan", "shift_weekday": "0",
                                    "shift_start": "08:00", "shift_end": "18:00"}),
            ("/staff/duty/shifts/remove", {"shift_id": shift_id}),
            ("/staff/duty/exceptions/remove", {"exception_id": exception_id}),
            ("/staff/duty/targets", {"area": XIXIANG, "target_channel": "email", "target_address": "a@example.org"}),
            ("/staff/alert-targets", {"user": "baoan", "target_channel": "email", "target_address": "a@example.org"}),
            ("/staff/alert-targets/remove", {"target_id": area_target}),
            ("/staff/alert-targets/test", {"target_id": area_target}),
            ("/staff/alert-targets/test", {"target_id": user_target})]:
        response = client.post(action, data={"csrf_token": token, **data}, follow_redirects=False)
        assert response.status_code == 404, action
    malformed = client.get("/staff/duty?area=44030")
    assert malformed.status_code == 400 and "地区代码须为" in malformed.text and 'value="44030"' in malformed.text
    assert _counts(app) == before and not wecom.calls


def test_roster_gaps_are_shown_before_they_happen(duty_app):
    app = duty_app
    app.user("baoan", "civil_affairs", BAOAN)
    app.user("xixiang", "supervisor", XIXIANG, display_name="李督导")
    app.user("liutang", "director", LIUTANG)
    app.user("nanshan", "civil_affairs", OTHER_DISTRICT)
    for day in range(7):
        _shift(app, XIXIANG, "xixiang", day, "08:00", "20:00")  # days only
        _shift(app, LIUTANG, "liutang", day, "00:00", "24:00")  # always
    board = app.login("baoan").get("/staff/dashboard").text
    warning = _part(board, "duty-gaps-warning")
    assert 'href="/staff/duty?area=440306001"' in warning and LIUTANG not in warning
    assert "2026-03-01（周日）02:00–08:00 等 8 个时段" in warning and 'id="duty-no-roster"' not in warning

    client = app.login("baoan")
    street = client.get("/staff/duty?area=440306001").text
    gaps = _part(street, "duty-gaps")
    assert "2026-03-01（周日）02:00–08:00" in gaps and "2026-03-01（周日）20:00 至 2026-03-02（周一）08:00" in gaps
    assert "2026-03-07（周六）20:00 至 2026-03-08（周日）02:00" in gaps
    assert 'id="duty-gaps"' not in client.get("/staff/duty?area=440306001001").text
    assert 'id="duty-no-gaps"' in client.get("/staff/duty?area=440306001001").text

    assert 'id="duty-gaps-warning"' not in app.login("liutang").get("/staff/dashboard").text  # no "duty"
    assert 'id="duty-no-roster"' in app.login("nanshan").get("/staff/dashboard").text


def test_a_test_alert_shows_an_invalid_robot_key_and_reaches_a_valid_one(duty_app, wecom):
    app = duty_app
    app.user("baoan", "civil_affairs", BAOAN)
    client = app.login("baoan")
    for key in (BAD_KEY, ROBOT_KEY):
        added = post_form(client, "/staff/duty", "/staff/duty/targets",
                          {"target_channel": "wecom_robot", "target_address": key})
        assert added.status_code == 303
    page = client.get("/staff/duty").text
    assert BAD_KEY not in page and ROBOT_KEY not in page and "…cdef" in page and "…5aaa" in page
    bad_id, good_id = _target_ids(page)

    tested = client.post("/staff/alert-targets/test", data={"csrf_token": csrf_of(page), "target_id": bad_id},
                         follow_redirects=False)
    assert tested.headers["location"] == f"/staff/duty?area=440306&done=test_failed&target={bad_id}"
    page = client.get(tested.headers["location"]).text
    assert "webhook key 无效" in _part(page, "test-result", "</p>")
    row = page[page.index(f'data-target="{bad_id}"'):]
    assert "webhook key 无效" in row[:row.index("</tr>")]  # the target's last error, beside it

    tested = client.post("/staff/alert-targets/test", data={"csrf_token": csrf_of(page), "target_id": good_id},
                         follow_redirects=False)
    assert tested.headers["location"] == f"/staff/duty?area=440306&done=tested&target={good_id}"
    page = client.get(tested.headers["location"]).text
    assert "已通过企业微信群机器人（…5aaa）发出" in _part(page, "test-result", "</p>")
    assert len(wecom.robot_texts(ROBOT_KEY)) == 1 and "测试" in wecom.robot_texts(ROBOT_KEY)[0]
    with app.runtime.db.session() as session:
        good, bad = session.get(AlertTarget, good_id), session.get(AlertTarget, bad_id)
        assert good.last_ok_at is not None and good.last_error is None
        assert bad.last_ok_at is None and "无效" in bad.last_error
    tests = app.audit("duty.target.test")
    assert [e.target for e in tests] == ["area:440306", "area:440306"]
    assert "error=" in tests[0].detail and tests[1].detail.endswith(" ok")
    assert not [e for e in app.audit() if BAD_KEY in e.detail or ROBOT_KEY in e.detail]
