"""Duty rosters (ledger/duty.py) on SQLite and PostgreSQL: who is on duty at an instant (the weekly
pattern in Beijing time, shifts past midnight, exceptions, inactive accounts), the gaps in a week,
the ladder of an urgent record, alert targets, and the refusals staff read."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, select

from ledger import duty
from ledger.clock import BEIJING
from ledger.db import Database
from ledger.duty_models import AlertTarget
from ledger.models import AuditEvent
from ledger.staff_models import StaffUser
from ledger.errors import StaffError
from nlu.areas import GazetteerAreas
from tests.conftest import make_settings
from tongban.storage import data_cipher

BAOAN = "440306"             # 广东省深圳市宝安区
XIXIANG = "440306001"        # a street in it
LIUTANG = "440306001001"     # a community in that street
OTHER_STREET = "440306002"
NANSHAN = "440305"           # another district
ROBOT_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa".replace("x", "0").replace("s", "5").replace("i", "1")
AREAS = GazetteerAreas()


def bj(day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """An instant of December 2026, Beijing time (the 6th and the 13th are Sundays, the 7th a Monday)."""
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=BEIJING)


@pytest.fixture
def ledger_db(backend):
    settings = make_settings(backend["data_dir"], database=backend["database"])
    db = Database(settings.database_url)
    yield db, data_cipher(settings)
    db.dispose()


def people(db, *specs: tuple[str, str, str]) -> dict[str, int]:
    """Accounts (name, role, area) written directly (no password hashing: it is not what is tested)."""
    with db.session() as session:
        users = [StaffUser(username=name, role=role, area_code=area, password_hash="-", active=True,
                           display_name=name.upper()) for name, role, area in specs]
        session.add_all(users)
        session.flush()
        return {user.username: user.id for user in users}


def shift(db, area, user, weekday, start, end, rank=1):
    with db.session() as session:
        return duty.add_shift(session, area_code=area, user=user, weekday=weekday, start=start, end=end,
                              rank=rank, actor="test", areas=AREAS).id


def exception(db, area, user, starts_at, ends_at, on_duty, rank=1):
    with db.session() as session:
        return duty.add_exception(session, area_code=area, user=user, starts_at=starts_at, ends_at=ends_at,
                                  on_duty=on_duty, rank=rank, actor="test").id


def target(db, cipher, channel, address, *, user=None, area_code=None):
    with db.session() as session:
        owner = duty.find_user(session, user) if user else None
        return duty.add_target(session, cipher, user=owner, area_code=area_code, channel=channel, address=address,
                               actor="test").id


def who(db, area, at) -> list[str]:
    with db.session() as session:
        return [user.username for user in duty.on_duty(session, area, at)]


def test_sunday_two_am_reaches_the_night_shift(ledger_db):
    db, _ = ledger_db
    people(db, ("night", "director", LIUTANG), ("day", "director", LIUTANG), ("evening", "committee", LIUTANG))
    shift(db, LIUTANG, "night", "周六", "22:00", "08:00")
    shift(db, LIUTANG, "day", 6, "08:00", "20:00")
    shift(db, LIUTANG, "evening", "sun", "20:00", "24:00")
    assert who(db, LIUTANG, bj(6, 2)) == ["night"]
    assert who(db, LIUTANG, bj(6, 2).astimezone(dt.timezone.utc).replace(tzinfo=None)) == ["night"]  # naive = UTC
    assert who(db, LIUTANG, bj(5, 21, 59)) == []
    assert who(db, LIUTANG, bj(5, 22)) == ["night"]
    assert who(db, LIUTANG, bj(6, 7, 59)) == ["night"]
    assert who(db, LIUTANG, bj(6, 8)) == ["day"]
    assert who(db, LIUTANG, bj(6, 23, 59)) == ["evening"]
    assert who(db, LIUTANG, bj(7, 0)) == []
    assert who(db, LIUTANG, bj(13, 2)) == ["night"]  # every week
    assert who(db, XIXIANG, bj(6, 2)) == []  # exactly that area's roster


def test_sunday_night_shift_runs_into_monday_and_rank_orders_people(ledger_db):
    db, _ = ledger_db
    ids = people(db, ("second", "supervisor", XIXIANG), ("first", "supervisor", XIXIANG),
                 ("also_first", "director", LIUTANG))
    shift(db, XIXIANG, "second", 6, "22:00", "08:00", rank=2)
    shift(db, XIXIANG, "first", 6, "22:00", "08:00")
    shift(db, XIXIANG, "also_first", 6, "23:00", "07:00")  # a community's director on the street roster
    assert who(db, XIXIANG, bj(7, 0, 30)) == ["first", "also_first", "second"]  # rank, then id
    assert ids["first"] < ids["also_first"]
    assert who(db, XIXIANG, bj(7, 7, 0)) == ["first", "second"]
    assert who(db, XIXIANG, bj(7, 8, 0)) == []
    assert who(db, XIXIANG, bj(6, 21, 59)) == []
    # same start and end: a whole day from that time on
    shift(db, XIXIANG, "second", 2, "09:00", "09:00")
    assert who(db, XIXIANG, bj(10, 8, 59)) == ["second"] and who(db, XIXIANG, bj(10, 9)) == []


def test_exceptions_take_people_off_and_put_them_on(ledger_db):
    db, _ = ledger_db
    people(db, ("night", "director", LIUTANG), ("cover", "committee", LIUTANG), ("street", "supervisor", XIXIANG))
    shift(db, LIUTANG, "night", 5, "22:00", "08:00")
    exception(db, LIUTANG, "night", bj(6, 0), bj(6, 3), on_duty=False)       # off: a sick night
    exception(db, LIUTANG, "cover", bj(6, 1), bj(6, 2, 30), on_duty=True)    # on: covers part of it
    exception(db, LIUTANG, "street", bj(5, 12), bj(6, 12), on_duty=True, rank=2)
    assert who(db, LIUTANG, bj(5, 23)) == ["night", "street"]
    assert who(db, LIUTANG, bj(6, 0, 30)) == ["street"]
    assert who(db, LIUTANG, bj(6, 2)) == ["cover", "street"]
    assert who(db, LIUTANG, bj(6, 2, 30)) == ["street"]   # [starts_at, ends_at)
    assert who(db, LIUTANG, bj(6, 3)) == ["night", "street"]
    assert who(db, LIUTANG, bj(6, 11)) == ["street"] and who(db, LIUTANG, bj(6, 12)) == []
    # an "off" wins over an "on" of the same person
    exception(db, LIUTANG, "cover", bj(6, 2), bj(6, 4), on_duty=False)
    assert who(db, LIUTANG, bj(6, 2)) == ["street"]
    with db.session() as session:
        listed = duty.exceptions_of(session, LIUTANG, bj(6, 2, 45))
        assert [(e.on_duty, e.rank) for e in listed] == [(True, 2), (False, 1), (False, 1)]


def test_inactive_accounts_are_never_on_duty(ledger_db):
    db, _ = ledger_db
    ids = people(db, ("gone", "director", LIUTANG), ("stays", "director", LIUTANG))
    shift(db, LIUTANG, "gone", 6, "00:00", "24:00")
    exception(db, LIUTANG, "gone", bj(5, 12), bj(7, 12), on_duty=True)
    shift(db, LIUTANG, "stays", 6, "12:00", "24:00")
    with db.session() as session:
        session.get(StaffUser, ids["gone"]).active = False
    assert who(db, LIUTANG, bj(6, 2)) == []
    assert who(db, LIUTANG, bj(6, 13)) == ["stays"]
    with db.session() as session:
        assert duty.roster_gaps(session, LIUTANG, bj(6), days=1) == [(bj(6), bj(6, 12))]
        with pytest.raises(StaffError, match="已停用"):
            duty.add_shift(session, area_code=LIUTANG, user="gone", weekday=0, start="08:00", end="12:00",
                           actor="test", areas=AREAS)


def test_roster_gaps_are_exact(ledger_db):
    db, _ = ledger_db
    people(db, ("day", "supervisor", XIXIANG), ("night", "supervisor", XIXIANG), ("cover", "director", LIUTANG),
           ("other", "supervisor", OTHER_STREET))
    for weekday in range(7):
        shift(db, XIXIANG, "day", weekday, "08:00", "20:00")
    shift(db, XIXIANG, "night", 5, "20:00", "08:00")                  # Saturday night into Sunday
    shift(db, XIXIANG, "night", 6, "22:00", "08:00")                  # Sunday night into Monday
    exception(db, XIXIANG, "day", bj(9, 8), bj(9, 12), on_duty=False)  # Wednesday morning off
    exception(db, XIXIANG, "cover", bj(10, 20), bj(11, 8), on_duty=True)  # Thursday night covered
    shift(db, OTHER_STREET, "other", 0, "00:00", "24:00")
    for weekday in range(7):
        shift(db, LIUTANG, "cover", weekday, "00:00", "24:00")         # always someone: no gap
    with db.session() as session:
        assert duty.roster_gaps(session, XIXIANG, bj(7), days=7) == [  # Monday 00:00 to the next one
            (bj(7, 20), bj(8, 8)),    # (Sunday 22:00–08:00 covered the start)
            (bj(8, 20), bj(9, 12)),   # Tuesday night and Wednesday morning, the day shift off
            (bj(9, 20), bj(10, 8)),
            (bj(11, 20), bj(12, 8)),  # Thursday night covered by the exception
            (bj(13, 20), bj(13, 22)),  # Saturday night covered; Sunday night from 22:00
        ]
        assert duty.roster_gaps(session, XIXIANG, bj(7, 21), days=1) == [(bj(7, 21), bj(8, 8)),
                                                                         (bj(8, 20), bj(8, 21))]
        assert duty.roster_gaps(session, "440306003", bj(7), days=2) == [(bj(7), bj(9))]  # no roster at all
        everywhere = duty.areas_with_gaps(session, "national", bj(7), days=7)
        assert [code for code, _ in everywhere] == [XIXIANG, OTHER_STREET]
        assert everywhere[1][1] == [(bj(8), bj(14))]
        assert [code for code, _ in duty.areas_with_gaps(session, XIXIANG, bj(7), days=7)] == [XIXIANG]
        assert duty.areas_with_gaps(session, NANSHAN, bj(7), days=7) == []
        with pytest.raises(StaffError, match="天数"):
            duty.roster_gaps(session, XIXIANG, bj(7), days=0)


def test_the_ladder_climbs_community_street_district_then_every_admin(ledger_db):
    db, cipher = ledger_db
    ids = people(db, ("director", "director", LIUTANG), ("mute", "committee", LIUTANG),
                 ("supervisor", "supervisor", XIXIANG), ("district", "civil_affairs", BAOAN),
                 ("chief", "admin", "national"), ("baoan_admin", "admin", BAOAN), ("street_admin", "admin", XIXIANG),
                 ("silent_admin", "admin", BAOAN), ("nanshan", "civil_affairs", NANSHAN),
                 ("other_street_admin", "admin", OTHER_STREET))
    shift(db, LIUTANG, "mute", 6, "00:00", "08:00")                    # no target: a gap, skipped
    shift(db, LIUTANG, "director", 6, "00:00", "08:00", rank=2)
    shift(db, XIXIANG, "supervisor", 6, "00:00", "08:00")
    shift(db, XIXIANG, "district", 6, "00:00", "08:00", rank=2)        # on duty at two levels: first one only
    shift(db, BAOAN, "district", 6, "00:00", "08:00")
    for name in ("director", "supervisor", "district", "chief", "baoan_admin", "street_admin", "nanshan",
                 "other_street_admin"):
        target(db, cipher, "email", f"{name}@example.org", user=name)
    target(db, cipher, "wecom_robot", ROBOT_KEY, area_code=XIXIANG)
    with db.session() as session:
        ladder = duty.ladder_for(session, LIUTANG, bj(6, 2))
    assert ladder == [
        {"recipients": [f"user:{ids['director']}"], "label": "DIRECTOR"},
        {"recipients": [f"user:{ids['supervisor']}"], "label": "SUPERVISOR"},
        {"recipients": [f"user:{ids['district']}"], "label": "DISTRICT"},
        {"recipients": [f"area:{XIXIANG}"], "label": "街道（乡镇）值班联系人（440306001）"},
        {"recipients": [f"user:{ids[n]}" for n in ("chief", "baoan_admin", "street_admin")], "label": "全部管理员"},
    ]
    with db.session() as session:
        # nobody on duty at noon: the street's fallback, then the admins (the district's civil affairs among them)
        assert duty.ladder_for(session, LIUTANG, bj(6, 12)) == [
            {"recipients": [f"area:{XIXIANG}"], "label": "街道（乡镇）值班联系人（440306001）"},
            {"recipients": [f"user:{ids[n]}" for n in ("district", "chief", "baoan_admin", "street_admin")],
             "label": "全部管理员"},
        ]
        # a record known only by its district: the district's roster, then its admins (not the street's)
        assert duty.ladder_for(session, BAOAN, bj(6, 2)) == [
            {"recipients": [f"user:{ids['district']}"], "label": "DISTRICT"},
            {"recipients": [f"user:{ids[n]}" for n in ("chief", "baoan_admin")], "label": "全部管理员"},
        ]
        # no area: the national admins only
        assert duty.ladder_for(session, None, bj(6, 2)) == [
            {"recipients": [f"user:{ids['chief']}"], "label": "全部管理员"}]


def test_the_ladder_takes_a_handful_of_queries_whatever_the_roster(ledger_db):
    db, cipher = ledger_db
    specs = [(f"d{n}", "director", LIUTANG) for n in range(12)] + [("chief", "admin", "national")]
    people(db, *specs)
    for n in range(12):
        shift(db, LIUTANG, f"d{n}", 6, "00:00", "08:00", rank=n + 1)
        target(db, cipher, "sms", f"1380013800{n % 10}" if n < 10 else f"139001390{n:02d}", user=f"d{n}")
    target(db, cipher, "email", "chief@example.org", user="chief")
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with db.session() as session:
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            ladder = duty.ladder_for(session, LIUTANG, bj(6, 2))
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert len(ladder) == 13 and ladder[-1]["label"] == "全部管理员"
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= 4, statements


def test_targets_are_encrypted_masked_and_ordered(ledger_db):
    db, cipher = ledger_db
    ids = people(db, ("wang", "civil_affairs", BAOAN))
    url = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={ROBOT_KEY}"
    first = target(db, cipher, "wecom_robot", url, area_code=BAOAN)
    target(db, cipher, "email", "Wang.Gong@Example.ORG", user="wang")
    target(db, cipher, "sms", "+86 138-0013-8000", user="wang")
    target(db, cipher, "wecom_app", "WangGong", user="wang")
    with db.session() as session:
        robot = duty.targets_of(session, area_code=BAOAN)
        assert [(t.channel, t.address_hint, t.position) for t in robot] == [("wecom_robot", "…" + ROBOT_KEY[-4:], 1)]
        assert ROBOT_KEY not in robot[0].address_enc and duty.target_address(cipher, robot[0]) == ROBOT_KEY
        mine = duty.targets_of(session, user_id=ids["wang"])
        assert [(t.channel, t.address_hint, t.position) for t in mine] == [
            ("email", "W***@example.org", 1), ("sms", "138****8000", 2), ("wecom_app", "Wa***", 3)]
        assert [duty.target_address(cipher, t) for t in mine] == ["Wang.Gong@example.org", "13800138000", "WangGong"]
        with pytest.raises(StaffError, match="已有相同"):
            duty.add_target(session, cipher, user=duty.find_user(session, "wang"), channel="sms",
                            address="13800138000", actor="test")
        early = duty.add_target(session, cipher, area_code=BAOAN, channel="email", address="duty@baoan.example.cn",
                                position=1, actor="test", areas=AREAS)
        assert [t.id for t in duty.targets_of(session, area_code=BAOAN)] == [first, early.id]  # same position: by id
        with pytest.raises(StaffError, match="没有通知方式"):
            duty.remove_target(session, cipher, target_id=first, actor="nanshan", user_area=NANSHAN)
        duty.remove_target(session, cipher, target_id=first, actor="test", user_area=BAOAN)
    with db.session() as session:
        assert [t.channel for t in duty.targets_of(session, area_code=BAOAN)] == ["email"]
        assert len(duty.targets_of(session, area_code=BAOAN, active_only=False)) == 2
        removed = session.get(AlertTarget, first)  # the address is forgotten; channel and hint stay
        assert duty.target_address(cipher, removed) == "" and removed.address_hint and removed.channel
        with pytest.raises(StaffError, match="没有通知方式"):
            duty.remove_target(session, cipher, target_id=first, actor="test", user_area=BAOAN)  # already removed
        events = session.scalars(select(AuditEvent).where(AuditEvent.action.like("duty.target.%"))
                                 .order_by(AuditEvent.id)).all()
        assert [(e.action, e.target) for e in events] == [
            ("duty.target.add", "area:440306"), ("duty.target.add", "user:wang"), ("duty.target.add", "user:wang"),
            ("duty.target.add", "user:wang"), ("duty.target.add", "area:440306"),
            ("duty.target.remove", "area:440306")]
        assert all("13800138000" not in e.detail and ROBOT_KEY not in e.detail for e in events)


@pytest.mark.parametrize("channel, address, message", [
    ("pager", "123", "未知的通知渠道"),
    ("wecom_robot", "", "请填写"),
    ("wecom_robot", "short-key", "key 格式不正确"),
    ("wecom_robot", "https://example.org/cgi-bin/webhook/send?key=" + "a" * 32, "Webhook 地址须为"),
    ("wecom_robot", "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + "a" * 32, "Webhook 地址须为"),
    ("email", "wang@", "电子邮件地址格式不正确"),
    ("email", "a" * 250 + "@x.cn", "电子邮件地址格式不正确"),
    ("sms", "12800138000", "手机号码须为"),
    ("sms", "+1 1380013800", "手机号码须为"),
    ("wecom_app", "王工", "UserID"),
])
def test_target_addresses_are_checked(channel, address, message):
    with pytest.raises(StaffError, match=message):
        duty.normalise_address(channel, address)


def test_shift_and_exception_refusals_are_clear(ledger_db):
    db, _ = ledger_db
    people(db, ("wang", "director", LIUTANG), ("nan", "civil_affairs", NANSHAN), ("street", "supervisor", XIXIANG))
    cases = [
        (dict(user="wang", weekday=7), "星期须为 0–6"),
        (dict(user="wang", weekday="Funday"), "星期须为"),
        (dict(user="wang", start="8:0"), "时间须为 HH:MM"),
        (dict(user="wang", start="24:00"), "时间须为 HH:MM（00:00–23:59）"),
        (dict(user="wang", end="24:30"), "结束可为 24:00"),
        (dict(user="wang", rank=0), "顺序须为 1–99"),
        (dict(user="nobody"), "没有用户 nobody"),
        (dict(user="nan"), "无隶属关系"),
        (dict(user="wang", area_code=OTHER_STREET), "无隶属关系"),
        (dict(user="wang", area_code="999999001"), "没有区县代码"),
        (dict(user="wang", area_code="national"), "地区代码须为"),
        (dict(user="wang", user_area=NANSHAN), "不在您的管辖范围内"),
    ]
    with db.session() as session:
        for change, message in cases:
            values = {**dict(area_code=XIXIANG, weekday=0, start="08:00", end="20:00", actor="test", areas=AREAS),
                      **change}
            with pytest.raises(StaffError, match=message):
                duty.add_shift(session, **values)
        duty.add_shift(session, area_code=XIXIANG, user="wang", weekday="星期一", start="08:00", end="20:00",
                       actor="test", areas=AREAS, user_area=BAOAN)
        with pytest.raises(StaffError, match="已有 周一 08:00 开始的班次"):
            duty.add_shift(session, area_code=XIXIANG, user="wang", weekday=0, start="08:00", end="12:00",
                           actor="test", areas=AREAS)
        with pytest.raises(StaffError, match="结束时间须晚于开始时间"):
            duty.add_exception(session, area_code=XIXIANG, user="wang", starts_at=bj(7, 9), ends_at=bj(7, 9),
                               on_duty=False, actor="test")
        with pytest.raises(StaffError, match="须带时区"):
            duty.add_exception(session, area_code=XIXIANG, user="wang", starts_at=dt.datetime(2026, 12, 7),
                               ends_at=dt.datetime(2026, 12, 8), on_duty=False, actor="test")
        with pytest.raises(StaffError, match="不能超过 366 天"):
            duty.add_exception(session, area_code=XIXIANG, user="wang", starts_at=bj(7),
                               ends_at=bj(7) + dt.timedelta(days=400), on_duty=False, actor="test")
        with pytest.raises(StaffError, match="无隶属关系"):
            duty.add_exception(session, area_code=LIUTANG, user="nan", starts_at=bj(7), ends_at=bj(8),
                               on_duty=True, actor="test")


def test_removals_stay_inside_the_area_and_every_change_is_audited(ledger_db):
    db, _ = ledger_db
    people(db, ("wang", "director", LIUTANG))
    shift_id = shift(db, LIUTANG, "wang", 6, "22:00", "08:00")
    exception_id = exception(db, LIUTANG, "wang", bj(6), bj(7), on_duty=False)
    with db.session() as session:
        with pytest.raises(StaffError, match=f"没有班次 {shift_id}"):
            duty.remove_shift(session, shift_id=shift_id, actor="nan", user_area=NANSHAN)
        with pytest.raises(StaffError, match=f"没有例外时段 {exception_id}"):
            duty.remove_exception(session, exception_id=exception_id, actor="nan", user_area=OTHER_STREET)
        assert [duty.shift_text(s) for s in duty.shifts_of(session, LIUTANG)] == ["周日 22:00–次日 08:00"]
        duty.remove_shift(session, shift_id=shift_id, actor="baoan", user_area=BAOAN)
        duty.remove_exception(session, exception_id=exception_id, actor="baoan", user_area=XIXIANG)
    with db.session() as session:
        assert duty.shifts_of(session, LIUTANG) == [] and duty.exceptions_of(session, LIUTANG, bj(1)) == []
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [(e.actor, e.action, e.target) for e in events] == [
            ("test", "duty.shift.add", f"area:{LIUTANG}"), ("test", "duty.exception.add", f"area:{LIUTANG}"),
            ("baoan", "duty.shift.remove", f"area:{LIUTANG}"), ("baoan", "duty.exception.remove", f"area:{LIUTANG}")]
        assert "user=wang 周日 22:00–次日 08:00 rank=1" in events[0].detail
