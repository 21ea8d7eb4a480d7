"""``tongban staff …`` commands, on SQLite and PostgreSQL: the first admin, validation, listing,
disabling; the account then signs in to the web app."""

from __future__ import annotations

import argparse
import io

import pytest

import staff.cli
from ledger.accounts import find_user, list_users
from tongban.storage import ledger_database
from tests.test_staff_support import PASSWORD, build_settings, login, staff_app, staff_backend  # noqa: F401


@pytest.fixture
def tongban(staff_app, monkeypatch):
    """Run ``tongban staff …`` (the staff group on a parser of our own) against the app's database."""
    parser = argparse.ArgumentParser(prog="tongban")
    staff.cli.register(parser.add_subparsers(), areas=lambda: staff_app.runtime.areas,
                       database=lambda: ledger_database(staff_app.runtime.settings))

    def run(argv: list[str], stdin: str = "") -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        args = parser.parse_args(argv)
        return args.run(args)

    return run


def _users(staff_app):
    with staff_app.runtime.db.session() as session:
        return {u.username: (u.role, u.area_code, u.active) for u in list_users(session)}


def test_create_the_first_admin_from_standard_input_and_sign_in(staff_app, tongban, capsys):
    code = tongban(["staff", "create-user", "chief", "--role", "admin", "--area", "national",
                    "--display-name", "王主任", "--password-stdin"], stdin=PASSWORD + "\n")
    assert code == 0
    assert "已创建账号 chief：系统管理员，管辖 全国" in capsys.readouterr().out
    assert _users(staff_app) == {"chief": ("admin", "national", True)}
    with staff_app.runtime.db.session() as session:
        user = find_user(session, "chief")
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
        assert user.display_name == "王主任"
    assert [e.action for e in staff_app.audit()] == ["user.create"]
    client = staff_app.client()
    assert login(client, "chief").status_code == 303
    assert "王主任" in client.get("/staff/").text


def test_create_user_validates_role_area_and_password(staff_app, tongban, capsys):
    cases = [
        (["--role", "civil_affairs", "--area", "440306001"], PASSWORD, "6 位区县代码"),
        (["--role", "supervisor", "--area", "440306"], PASSWORD, "9 位街道"),
        (["--role", "committee", "--area", "999999001001"], PASSWORD, "没有区县代码"),
        (["--role", "director", "--area", "440306001001"], "short", "至少需要 10 个字符"),
        (["--role", "director", "--area", "440306001001"], "aaaaaaaaaaaa", "过于简单"),
    ]
    for extra, password, message in cases:
        assert tongban(["staff", "create-user", "someone", *extra, "--password-stdin"], stdin=password) == 2
        assert message in capsys.readouterr().err, message
    with pytest.raises(SystemExit):
        tongban(["staff", "create-user", "someone", "--role", "janitor", "--area", "440306"])
    assert tongban(["staff", "create-user", "x", "--role", "admin", "--area", "national", "--password-stdin"],
                   stdin=PASSWORD) == 2
    assert "用户名须为" in capsys.readouterr().err
    assert tongban(["staff", "create-user", "baoan", "--role", "civil_affairs", "--area", "440306",
                    "--password-stdin"], stdin=PASSWORD) == 0
    assert tongban(["staff", "create-user", "BAOAN", "--role", "civil_affairs", "--area", "440306",
                    "--password-stdin"], stdin=PASSWORD) == 2
    assert "已存在" in capsys.readouterr().err
    assert _users(staff_app) == {"baoan": ("civil_affairs", "440306", True)}


def test_password_prompt_asks_twice(staff_app, tongban, monkeypatch, capsys):
    answers = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr(staff.cli.getpass, "getpass", lambda prompt="": next(answers))
    assert tongban(["staff", "create-user", "liutang", "--role", "committee", "--area", "440306001001"]) == 2
    assert "两次输入的密码不一致" in capsys.readouterr().err
    answers = iter([PASSWORD, PASSWORD])
    assert tongban(["staff", "create-user", "liutang", "--role", "committee", "--area", "440306001001"]) == 0
    assert _users(staff_app) == {"liutang": ("committee", "440306001001", True)}


def test_list_disable_enable_and_set_password(staff_app, tongban, capsys):
    assert tongban(["staff", "create-user", "baoan", "--role", "civil_affairs", "--area", "440306",
                    "--password-stdin"], stdin=PASSWORD) == 0
    client = staff_app.client()
    assert login(client, "baoan").status_code == 303
    capsys.readouterr()
    assert tongban(["staff", "list-users"]) == 0
    assert capsys.readouterr().out.startswith("baoan\tcivil_affairs\t440306\tactive\t")
    assert tongban(["staff", "disable-user", "baoan"]) == 0
    assert client.get("/staff/", follow_redirects=False).status_code == 303  # its session ended
    assert login(staff_app.client(), "baoan").status_code == 401
    assert tongban(["staff", "disable-user", "nobody"]) == 1
    assert "没有用户 nobody" in capsys.readouterr().err
    assert tongban(["staff", "enable-user", "baoan"]) == 0
    assert tongban(["staff", "set-password", "baoan", "--password-stdin"], stdin="A-new-long-password") == 0
    assert login(staff_app.client(), "baoan").status_code == 401
    assert login(staff_app.client(), "baoan", "A-new-long-password").status_code == 303
    actions = [e.action for e in staff_app.audit() if e.action.startswith("user.")]
    assert actions == ["user.create", "user.disable", "user.enable", "user.password"]
