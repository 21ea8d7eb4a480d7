"""``tongban staff duty …``: duty rosters and how people and areas are alerted (ledger/duty.py).

    tongban staff duty add-shift AREA USER WEEKDAY HH:MM HH:MM [--rank N]
    tongban staff duty remove-shift ID
    tongban staff duty add-exception AREA USER FROM TO --off|--on [--rank N] [--note TEXT]
    tongban staff duty remove-exception ID
    tongban staff duty list AREA [--days N]
    tongban staff duty add-target (--user USER | --area CODE) CHANNEL ADDRESS [--position N]
    tongban staff duty remove-target ID
    tongban staff duty list-targets [--user USER | --area CODE] [--all]
    tongban staff duty who AREA [--at TIME]

Times are Beijing time: WEEKDAY 0 (Monday) … 6 or 周一…周日; FROM, TO and --at as ISO dates and
times (2026-12-24T18:00; an explicit offset is kept). The command line acts for the whole country
(``cli:<login name>`` in the audit log).
"""

from __future__ import annotations

import argparse
import datetime as dt

from sqlalchemy import select

from ledger import duty
from ledger.areas import NATIONAL, area_name
from ledger.audit import cli_actor
from ledger.clock import BEIJING, aware, utcnow
from ledger.errors import StaffError
from ledger.keys import verify_data_key
from ledger.staff_models import StaffUser
from staff.cli import _refusal_exits, _transaction


def register(staff) -> None:
    """Add the ``duty`` commands to the ``tongban staff`` subparsers (the group's defaults hand them
    ``areas``, ``database`` and ``cipher``)."""
    group = staff.add_parser("duty", help="duty rosters and alert targets (who is alerted of urgent records)")
    commands = group.add_subparsers()

    add = commands.add_parser("add-shift", help="add a weekly shift (Beijing time)")
    add.add_argument("area", help="6/9/12-digit area code of the roster")
    add.add_argument("user", help="the account on duty")
    add.add_argument("weekday", help="0 (Monday) … 6 (Sunday), or 周一…周日")
    add.add_argument("start", help="HH:MM")
    add.add_argument("end", help="HH:MM (at or before the start: the next day; 24:00 allowed)")
    add.add_argument("--rank", type=int, default=1, help="1 is alerted first (default 1)")
    add.set_defaults(run=add_shift)
    remove = commands.add_parser("remove-shift", help="remove a shift")
    remove.add_argument("id", type=int)
    remove.set_defaults(run=remove_shift)

    exception = commands.add_parser("add-exception", help="a span in which someone is on duty or off it")
    exception.add_argument("area")
    exception.add_argument("user")
    exception.add_argument("starts", metavar="FROM", help="ISO date and time, Beijing time (2026-12-24T18:00)")
    exception.add_argument("ends", metavar="TO")
    state = exception.add_mutually_exclusive_group(required=True)
    state.add_argument("--off", dest="on_duty", action="store_false", help="off duty, whatever the pattern says")
    state.add_argument("--on", dest="on_duty", action="store_true", help="on duty besides the pattern")
    exception.add_argument("--rank", type=int, default=1)
    exception.add_argument("--note", default="")
    exception.set_defaults(run=add_exception)
    unexcept = commands.add_parser("remove-exception", help="remove an exception")
    unexcept.add_argument("id", type=int)
    unexcept.set_defaults(run=remove_exception)

    listing = commands.add_parser("list", help="an area's shifts, exceptions, who is on duty now, the gaps ahead")
    listing.add_argument("area")
    listing.add_argument("--days", type=int, default=7, help="how far ahead to look for gaps (default 7)")
    listing.set_defaults(run=list_roster)

    target = commands.add_parser("add-target", help="a way to alert a person or an area's fallback contact")
    _owner_options(target, required=True)
    target.add_argument("channel", choices=list(duty.CHANNELS))
    target.add_argument("address", help="robot key or webhook URL / WeCom user id / e-mail / mobile number")
    target.add_argument("--position", type=int, help="1 is tried first (default: after the others)")
    target.set_defaults(run=add_target)
    untarget = commands.add_parser("remove-target", help="switch a target off")
    untarget.add_argument("id", type=int)
    untarget.set_defaults(run=remove_target)
    targets = commands.add_parser("list-targets", help="alert targets (masked addresses)")
    _owner_options(targets, required=False)
    targets.add_argument("--all", action="store_true", help="include the ones switched off")
    targets.set_defaults(run=list_targets)

    who = commands.add_parser("who", help="the ladder an urgent record of AREA would climb ('-': no area)")
    who.add_argument("area")
    who.add_argument("--at", help="ISO date and time, Beijing time (default: now)")
    who.set_defaults(run=show_ladder)


def _owner_options(command, *, required: bool) -> None:
    owner = command.add_mutually_exclusive_group(required=required)
    owner.add_argument("--user", help="the account")
    owner.add_argument("--area", help="the area (its fallback contact)")


def parse_time(text: str) -> dt.datetime:
    """An ISO date and time typed at the command line; without an offset it is Beijing time."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise StaffError(f"时间须为 ISO 格式（北京时间），如 2026-12-24T18:00，收到：{text}") from None
    return value if value.tzinfo else value.replace(tzinfo=BEIJING)


def beijing_text(value: dt.datetime) -> str:
    return aware(value).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def _users(session, ids) -> dict[int, StaffUser]:
    ids = set(ids)
    return {user.id: user for user in session.scalars(select(StaffUser).where(StaffUser.id.in_(ids)))} if ids else {}


def _who(user: StaffUser | None) -> str:
    if user is None:
        return "?"
    shown = user.username + (f"（{user.display_name}）" if user.display_name else "")
    return shown + ("" if user.active else " [已停用]")


@_refusal_exits(2)
def add_shift(args: argparse.Namespace) -> int:
    areas = args.areas()
    with _transaction(args) as session:
        shift = duty.add_shift(session, area_code=args.area, user=args.user, weekday=args.weekday, start=args.start,
                               end=args.end, rank=args.rank, actor=cli_actor(), areas=areas)
        print(f"已添加班次 #{shift.id}：{area_name(shift.area_code, areas=areas)} {duty.shift_text(shift)}，"
              f"{args.user}，顺序 {shift.rank}")
    return 0


@_refusal_exits(1)
def remove_shift(args: argparse.Namespace) -> int:
    with _transaction(args) as session:
        duty.remove_shift(session, shift_id=args.id, actor=cli_actor(), user_area=NATIONAL)
    print(f"已删除班次 #{args.id}")
    return 0


@_refusal_exits(2)
def add_exception(args: argparse.Namespace) -> int:
    areas = args.areas()
    starts_at, ends_at = parse_time(args.starts), parse_time(args.ends)
    with _transaction(args) as session:
        exception = duty.add_exception(session, area_code=args.area, user=args.user, starts_at=starts_at,
                                       ends_at=ends_at, on_duty=args.on_duty, rank=args.rank, note=args.note,
                                       actor=cli_actor(), areas=areas)
        print(f"已添加例外 #{exception.id}：{args.user} {beijing_text(starts_at)} – {beijing_text(ends_at)} "
              f"{'值班' if args.on_duty else '不值班'}")
    return 0


@_refusal_exits(1)
def remove_exception(args: argparse.Namespace) -> int:
    with _transaction(args) as session:
        duty.remove_exception(session, exception_id=args.id, actor=cli_actor(), user_area=NATIONAL)
    print(f"已删除例外 #{args.id}")
    return 0


@_refusal_exits(1)
def list_roster(args: argparse.Namespace) -> int:
    areas = args.areas()
    now = utcnow()
    with _transaction(args) as session:
        gaps = duty.roster_gaps(session, args.area, now, args.days)
        present = duty.on_duty(session, args.area, now)
        shifts = duty.shifts_of(session, args.area)
        exceptions = duty.exceptions_of(session, args.area, now)
        users = _users(session, [s.user_id for s in shifts] + [e.user_id for e in exceptions])
        print(f"{area_name(args.area, areas=areas)} 的值班表")
        print("班次：" if shifts else "班次：无")
        for shift in shifts:
            print(f"  #{shift.id}\t{duty.shift_text(shift)}\t顺序 {shift.rank}\t{_who(users.get(shift.user_id))}")
        print("例外：" if exceptions else "例外：无")
        for item in exceptions:
            print(f"  #{item.id}\t{beijing_text(item.starts_at)} – {beijing_text(item.ends_at)}\t"
                  f"{'值班（顺序 ' + str(item.rank) + '）' if item.on_duty else '不值班'}\t{_who(users.get(item.user_id))}"
                  + (f"\t{item.note}" if item.note else ""))
        print("现在值班：" + ("、".join(_who(user) for user in present) if present else "无人值班"))
        print(f"未来 {args.days} 天无人值班的时段：" + ("" if gaps else "无"))
        for begins, ends in gaps:
            print(f"  {beijing_text(begins)} – {beijing_text(ends)}")
    return 0


@_refusal_exits(2)
def add_target(args: argparse.Namespace) -> int:
    if args.cipher is None:
        raise StaffError("未配置数据密钥，无法保存通知地址")
    areas, cipher = args.areas(), args.cipher()
    db = args.database()
    try:
        verify_data_key(db, cipher)  # an address encrypted under another key could never be read
        with db.session() as session:
            user = None
            if args.user:
                user = duty.find_user(session, args.user)
                if user is None:
                    raise StaffError(f"没有用户 {args.user}")
            target = duty.add_target(session, cipher, user=user, area_code=args.area, channel=args.channel,
                                     address=args.address, position=args.position, actor=cli_actor(), areas=areas)
            print(f"已添加通知方式 #{target.id}：{args.user or args.area} {duty.CHANNELS[target.channel]} "
                  f"{target.address_hint}，顺序 {target.position}")
    finally:
        db.dispose()
    return 0


@_refusal_exits(1)
def remove_target(args: argparse.Namespace) -> int:
    if args.cipher is None:
        raise StaffError("未配置数据密钥，无法停用通知方式")
    cipher, db = args.cipher(), args.database()
    try:
        verify_data_key(db, cipher)  # the blanked address is written under the database's key
        with db.session() as session:
            duty.remove_target(session, cipher, target_id=args.id, actor=cli_actor(), user_area=NATIONAL)
    finally:
        db.dispose()
    print(f"已停用通知方式 #{args.id}")
    return 0


@_refusal_exits(1)
def list_targets(args: argparse.Namespace) -> int:
    with _transaction(args) as session:
        user_id = None
        if args.user:
            user = duty.find_user(session, args.user)
            if user is None:
                raise StaffError(f"没有用户 {args.user}")
            user_id = user.id
        targets = duty.targets_of(session, user_id=user_id, area_code=args.area, active_only=not args.all)
        users = _users(session, [t.user_id for t in targets if t.user_id is not None])
        for t in targets:
            owner = f"user:{users[t.user_id].username}" if t.user_id is not None else f"area:{t.area_code}"
            state = "active" if t.active else "off"
            last_ok = beijing_text(t.last_ok_at) if t.last_ok_at else "-"
            error = f"{beijing_text(t.last_error_at)} {t.last_error}" if t.last_error and t.last_error_at else "-"
            print(f"#{t.id}\t{owner}\t{t.channel}\t{t.address_hint}\t{t.position}\t{state}\t{last_ok}\t{error}")
    return 0


@_refusal_exits(1)
def show_ladder(args: argparse.Namespace) -> int:
    at = parse_time(args.at) if args.at else utcnow()
    area = None if args.area in ("-", "") else args.area
    with _transaction(args) as session:
        ladder = duty.ladder_for(session, area, at)
    print(f"{area or '地区不明'} 的紧急记录于 {beijing_text(at)}（北京时间）的通知顺序：")
    if not ladder:
        print("  没有可通知的人：请为值班人员或管理员添加通知方式")
    for number, step in enumerate(ladder, 1):
        print(f"  {number}. {step['label']}\t{' '.join(step['recipients'])}")
    return 0
