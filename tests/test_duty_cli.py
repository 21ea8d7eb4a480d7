"""``tongban staff duty …`` on SQLite and PostgreSQL: a roster typed at the command line, listed with
who is on duty and the gaps ahead, alert targets (never printed in full), the ladder, refusals."""

from __future__ import annotations

import argparse
import datetime as dt

import pytest
from sqlalchemy import select

import staff.cli
import staff.duty_cli
from ledger.db import Database
from ledger.models import AuditEvent
from ledger.staff_models import StaffUser
from tests.conftest import make_settings
from tests.test_duty_roster import AREAS, BAOAN, LIUTANG, ROBOT_KEY, XIXIANG, bj, people
from tongban.storage import data_cipher

SUNDAY_2AM = bj(6, 2)


@pytest.fixture
def tongban(backend, monkeypatch):
    """``run(argv) -> exit code`` of ``tongban staff …`` on this test's database, ``now`` Sunday 02:00
    Beijing time; ``.db``: the database."""
    settings = make_settings(backend["data_dir"], database=backend["database"])
    db = Database(settings.database_url)
    parser = argparse.ArgumentParser(prog="tongban")
    staff.cli.register(parser.add_subparsers(), areas=lambda: AREAS,
                       database=lambda: Database(settings.database_url), cipher=lambda: data_cipher(settings))
    monkeypatch.setattr(staff.duty_cli, "utcnow", lambda: SUNDAY_2AM.astimezone(dt.timezone.utc))

    def run(argv: list[str]) -> int:
        args = parser.parse_args(["staff", "duty", *argv])
        return args.run(args)

    run.db = db
    yield run
    db.dispose()


def test_a_roster_typed_at_the_command_line(tongban, capsys):
    ids = people(tongban.db, ("wang", "director", LIUTANG), ("li", "supervisor", XIXIANG),
                 ("chief", "admin", "national"))
    assert tongban(["add-shift", LIUTANG, "wang", "周六", "22:00", "08:00"]) == 0
    assert "已添加班次 #1：广东省深圳市宝安区（440306001001） 周六 22:00–次日 08:00，wang，顺序 1" in capsys.readouterr().out
    assert tongban(["add-shift", LIUTANG, "li", "6", "00:00", "24:00", "--rank", "2"]) == 0
    assert tongban(["add-exception", LIUTANG, "li", "2026-12-06T06:00", "2026-12-06T12:00", "--off",
                    "--note", "体检"]) == 0
    assert "已添加例外 #1：li 2026-12-06 06:00 – 2026-12-06 12:00 不值班" in capsys.readouterr().out
    assert tongban(["list", LIUTANG, "--days", "2"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "广东省深圳市宝安区（440306001001） 的值班表",
        "班次：",
        "  #1\t周六 22:00–次日 08:00\t顺序 1\twang（WANG）",
        "  #2\t周日 00:00–24:00\t顺序 2\tli（LI）",
        "例外：",
        "  #1\t2026-12-06 06:00 – 2026-12-06 12:00\t不值班\tli（LI）\t体检",
        "现在值班：wang（WANG）、li（LI）",
        "未来 2 天无人值班的时段：",
        "  2026-12-06 08:00 – 2026-12-06 12:00",
        "  2026-12-07 00:00 – 2026-12-08 02:00",
    ]
    assert tongban(["add-target", "--user", "wang", "sms", "+8613800138000"]) == 0
    assert "已添加通知方式 #1：wang 短信 138****8000，顺序 1" in capsys.readouterr().out
    assert tongban(["add-target", "--area", XIXIANG, "wecom_robot",
                    f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={ROBOT_KEY}"]) == 0
    assert tongban(["add-target", "--user", "chief", "email", "chief@example.org"]) == 0
    capsys.readouterr()
    assert tongban(["who", LIUTANG, "--at", "2026-12-06T02:00"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "440306001001 的紧急记录于 2026-12-06 02:00（北京时间）的通知顺序：",
        f"  1. WANG\tuser:{ids['wang']}",            # li is on duty too, but has no target
        "  2. 街道（乡镇）值班联系人（440306001）\tarea:440306001",
        f"  3. 全部管理员\tuser:{ids['chief']}",
    ]
    assert tongban(["who", "-"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [f"  1. 全部管理员\tuser:{ids['chief']}"]
    assert tongban(["list-targets"]) == 0
    listed = capsys.readouterr().out
    assert listed.splitlines()[0] == "#1\tuser:wang\tsms\t138****8000\t1\tactive\t-\t-"
    assert ROBOT_KEY not in listed and "13800138000" not in listed and "…" + ROBOT_KEY[-4:] in listed
    assert tongban(["remove-target", "1"]) == 0 and tongban(["remove-shift", "2"]) == 0
    assert tongban(["remove-exception", "1"]) == 0
    capsys.readouterr()
    assert tongban(["list-targets", "--user", "wang"]) == 0 and capsys.readouterr().out == ""
    assert tongban(["list-targets", "--user", "wang", "--all"]) == 0
    assert "\toff\t" in capsys.readouterr().out
    with tongban.db.session() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == [
            "duty.shift.add", "duty.shift.add", "duty.exception.add", "duty.target.add", "duty.target.add",
            "duty.target.add", "duty.target.remove", "duty.shift.remove", "duty.exception.remove"]
        assert all(e.actor.startswith("cli") for e in events)


def test_refusals_exit_with_the_reason(tongban, capsys):
    people(tongban.db, ("wang", "director", LIUTANG), ("gone", "director", LIUTANG))
    with tongban.db.session() as session:
        session.scalar(select(StaffUser).where(StaffUser.username == "gone")).active = False
    cases = [
        (["add-shift", LIUTANG, "wang", "8", "08:00", "20:00"], 2, "星期须为 0–6"),
        (["add-shift", LIUTANG, "wang", "0", "08:00", "25:00"], 2, "时间须为 HH:MM"),
        (["add-shift", LIUTANG, "nobody", "0", "08:00", "20:00"], 2, "没有用户 nobody"),
        (["add-shift", LIUTANG, "gone", "0", "08:00", "20:00"], 2, "已停用"),
        (["add-shift", "440305001", "wang", "0", "08:00", "20:00"], 2, "无隶属关系"),
        (["add-shift", "999999", "wang", "0", "08:00", "20:00"], 2, "没有区县代码"),
        (["add-exception", LIUTANG, "wang", "tomorrow", "2026-12-08T08:00", "--on"], 2, "ISO 格式"),
        (["add-exception", LIUTANG, "wang", "2026-12-08T08:00", "2026-12-08T07:00", "--on"], 2, "须晚于"),
        (["remove-shift", "42"], 1, "没有班次 42"),
        (["remove-exception", "42"], 1, "没有例外时段 42"),
        (["remove-target", "42"], 1, "没有通知方式 42"),
        (["add-target", "--user", "wang", "wecom_robot", "not-a-key"], 2, "key 格式不正确"),
        (["add-target", "--user", "nobody", "email", "a@example.org"], 2, "没有用户 nobody"),
        (["add-target", "--area", "999999", "email", "a@example.org"], 2, "没有区县代码"),
        (["list-targets", "--user", "nobody"], 1, "没有用户 nobody"),
        (["list", BAOAN, "--days", "100"], 1, "天数须为 1–62"),
    ]
    for argv, code, message in cases:
        assert tongban(argv) == code, argv
        assert message in capsys.readouterr().err, argv
    with pytest.raises(SystemExit):  # --off or --on is required
        tongban(["add-exception", LIUTANG, "wang", "2026-12-08T08:00", "2026-12-08T09:00"])
    with pytest.raises(SystemExit):
        tongban(["add-target", "--user", "wang", "--area", BAOAN, "email", "a@example.org"])
    with tongban.db.session() as session:
        assert session.scalars(select(AuditEvent)).all() == []
