"""``tongban staff …``: accounts of the staff review app (the first admin included).

    tongban staff create-user USERNAME --role ROLE --area CODE [--display-name NAME] [--password-stdin]
    tongban staff list-users
    tongban staff disable-user USERNAME | enable-user USERNAME
    tongban staff set-password USERNAME [--password-stdin]
    tongban staff duty …          (duty rosters and alert targets: staff/duty_cli.py)

Roles and areas: admin (``national``, or a 6/9/12-digit code), civil_affairs (6-digit district),
supervisor (9-digit street), director and committee (12-digit community).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from contextlib import contextmanager
from functools import wraps
from typing import Callable

from ledger import accounts, clock
from ledger.areas import AreaDirectory, area_name
from ledger.audit import cli_actor
from ledger.crypto import DataCipher
from ledger.db import Database
from ledger.errors import StaffError

ROLE_HELP = "、".join(f"{role}（{label}）" for role, label in accounts.ROLES.items())


def register(subparsers, *, areas: Callable[[], AreaDirectory], database: Callable[[], Database],
             cipher: Callable[[], DataCipher] | None = None) -> None:
    """Add the ``staff`` command group to the ``tongban`` parser's subparsers. The composition root
    hands in how to build what a command needs, built only when one runs: ``areas``, the area
    directory that checks and names account areas, ``database``, the configured ledger, and
    ``cipher``, the data key's cipher (alert addresses are stored encrypted)."""
    from staff.duty_cli import register as register_duty  # it uses this module's helpers

    group = subparsers.add_parser("staff", help="staff review app: accounts, duty rosters")
    group.set_defaults(areas=areas, database=database, cipher=cipher)
    staff = group.add_subparsers()

    create = _account_command(staff, "create-user", "create a staff account (asks for the password)", create_user)
    create.add_argument("--role", required=True, choices=list(accounts.ROLES), help=ROLE_HELP)
    create.add_argument("--area", required=True,
                        help="national (admin) / 6-digit district / 9-digit street / 12-digit community code")
    create.add_argument("--display-name", default="", help="the person's name as shown on the pages")
    _password_option(create)
    staff.add_parser("list-users", help="list staff accounts").set_defaults(run=list_users)
    _account_command(staff, "disable-user", "disable an account and end its sessions", disable_user)
    _account_command(staff, "enable-user", "enable a disabled account", enable_user)
    _password_option(_account_command(staff, "set-password", "set a new password (ends the account's sessions)",
                                      set_password))
    register_duty(staff)


def _account_command(staff, name: str, help: str, run: Callable[[argparse.Namespace], int]):
    """A command that acts on one account, named by its USERNAME (every one but list-users)."""
    command = staff.add_parser(name, help=help)
    command.add_argument("username")
    command.set_defaults(run=run)
    return command


def _password_option(command) -> None:
    """The switch of the commands that set a password: read it from stdin (scripts) instead of
    asking twice at the terminal."""
    command.add_argument("--password-stdin", action="store_true", help="read the password from standard input")


@contextmanager
def _transaction(args: argparse.Namespace):
    """One transaction on the configured database, disposed of afterwards."""
    db = args.database()
    try:
        with db.session() as session:
            yield session
    finally:
        db.dispose()


def _read_password(from_stdin: bool) -> str | None:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    first = getpass.getpass("密码：")
    second = getpass.getpass("再输入一次：")
    if first != second:
        print("两次输入的密码不一致。", file=sys.stderr)
        return None
    return first


def _refusal_exits(code: int):
    """A command that a refused request (``StaffError``: a wrong role or area, an unknown account, a
    weak password) ends with exit ``code``, the refusal's text on stderr; no traceback."""
    def decorate(command: Callable[..., int]) -> Callable[..., int]:
        @wraps(command)
        def run(*args, **kwargs) -> int:
            try:
                return command(*args, **kwargs)
            except StaffError as exc:
                print(exc, file=sys.stderr)
                return code
        return run
    return decorate


@_refusal_exits(2)
def create_user(args: argparse.Namespace) -> int:
    areas = args.areas()
    area = accounts.valid_area_for_role(args.role, args.area, areas=areas)
    password = _read_password(args.password_stdin)
    if password is None:
        return 2
    with _transaction(args) as session:
        user = accounts.create_user(session=session, areas=areas, username=args.username, role=args.role,
                                    area=area, password=password, display_name=args.display_name,
                                    created_by=cli_actor())
        print(f"已创建账号 {user.username}：{accounts.ROLES[user.role]}，管辖 {area_name(user.area_code, areas=areas)}")
    return 0


def list_users(args: argparse.Namespace) -> int:
    with _transaction(args) as session:
        for user in accounts.list_users(session):
            last = clock.aware(user.last_login_at)
            print(f"{user.username}\t{user.role}\t{user.area_code}\t{'active' if user.active else 'disabled'}\t"
                  f"{last.isoformat(timespec='minutes') if last else '-'}\t{user.display_name}")
    return 0


@_refusal_exits(1)
def _set_active(args: argparse.Namespace, active: bool) -> int:
    with _transaction(args) as session:
        user = accounts.set_user_active(session=session, username=args.username, active=active, actor=cli_actor())
        print(f"已{'启用' if active else '停用'}账号 {user.username}")
    return 0


def disable_user(args: argparse.Namespace) -> int:
    return _set_active(args, False)


def enable_user(args: argparse.Namespace) -> int:
    return _set_active(args, True)


@_refusal_exits(1)
def set_password(args: argparse.Namespace) -> int:
    password = _read_password(args.password_stdin)
    if password is None:
        return 2
    with _transaction(args) as session:
        user = accounts.set_password(session=session, username=args.username, password=password, actor=cli_actor())
        print(f"已为 {user.username} 设置新密码，原有登录已全部失效")
    return 0
