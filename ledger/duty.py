"""Duty rosters: who is on duty for an area when, the gaps in which nobody is, and the ladder an urgent
record's alerts climb.

An area's roster (a district's, a street's or a community's: one area code) is a weekly pattern of
shifts in Beijing time plus exceptions, spans of UTC instants in which a person is on duty besides
the pattern or off it whatever the pattern says (an "off" wins over an "on" of the same person: a
leave entered once is not undone by a shift). Only active accounts count. A person may be on an
area's roster when the person's own area contains that area or lies inside it (a community's child
director on the street's roster).

``on_duty`` and ``ladder_for`` run for every urgent record: they read the shifts of the weekday and
the day before, the exceptions around the instant, the admins of the area and who can be reached,
a handful of indexed queries whatever the size of the rosters. How people and areas are reached
(alert targets) is ``ledger/duty_targets.py``, re-exported here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ledger.accounts import find_user
from ledger.areas import (AREA_LEVEL_LABELS, NATIONAL, AreaDirectory, area_clause, area_prefix, check_area_code,
                          in_area)
from ledger.audit import audit
from ledger.clock import BEIJING, aware
from ledger.duty_models import AlertTarget, DutyException, DutyShift
from ledger.duty_targets import (CHANNELS, add_target, address_hint, normalise_address, remove_target,  # noqa: F401
                                 target_address, targets_of)
from ledger.errors import StaffError
from ledger.staff_models import StaffUser

Span = tuple[dt.datetime, dt.datetime]

WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_WEEKDAY_WORDS = {**{name: i for i, name in enumerate(WEEKDAYS)},
                  **{"星期" + name[1]: i for i, name in enumerate(WEEKDAYS)}, "星期天": 6, "周天": 6,
                  **{name: i for i, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}}
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
ALERT_ROLES = ("admin", "civil_affairs")  # the last step: every one of them whose area contains the record's
LAST_STEP_LABEL = "全部管理员"
MAX_RANK = 99
MAX_EXCEPTION = dt.timedelta(days=366)
MAX_GAP_DAYS = 62
_UTC = dt.timezone.utc


# ------------------------------------------------------------------ small parsers

def parse_weekday(value: int | str) -> int:
    """0 (Monday) … 6 (Sunday) from a number or a name (周一, 星期日, mon …)."""
    text = str(value).strip().lower()
    if text.isdigit() and int(text) <= 6:
        return int(text)
    if text in _WEEKDAY_WORDS:
        return _WEEKDAY_WORDS[text]
    raise StaffError(f"星期须为 0–6（0 为周一）或 周一…周日，收到：{value}")


def parse_clock(text: str, *, end: bool = False) -> int:
    """Minutes after midnight of "HH:MM" (Beijing time); "24:00" only as an end."""
    match = _CLOCK.match((text or "").strip())
    hours, minutes = (int(match[1]), int(match[2])) if match else (-1, -1)
    if not match or minutes > 59 or hours > 24 or (hours == 24 and (minutes or not end)):
        raise StaffError(f"时间须为 HH:MM（00:00–23:59{'，结束可为 24:00' if end else ''}），收到：{text}")
    return hours * 60 + minutes


def clock_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def shift_text(shift: DutyShift) -> str:
    """周日 22:00–次日 08:00"""
    overnight = shift.end_minute <= shift.start_minute
    return f"{WEEKDAYS[shift.weekday]} {clock_text(shift.start_minute)}–{'次日 ' if overnight else ''}" \
           f"{clock_text(shift.end_minute)}"


def _utc(value: dt.datetime) -> dt.datetime:
    """An instant in UTC (a naive one is taken as UTC, as the ledger stores them)."""
    return aware(value).astimezone(_UTC)


def _person(session: Session, user: StaffUser | str) -> StaffUser:
    """An active account, given as itself or by user name."""
    if isinstance(user, str):
        name = user.strip()
        user = find_user(session, name) if name else None
        if user is None:
            raise StaffError(f"没有用户 {name or '（空）'}")
    if not user.active:
        raise StaffError(f"账号 {user.username} 已停用，不能排班")
    return user


def _roster_area(area_code: str, person: StaffUser, user_area: str,
                 areas: AreaDirectory | None) -> str:
    """The roster's area code, checked: a district, street or community inside the acting user's area,
    which contains the person's area or lies inside it."""
    area_code = (area_code or "").strip()
    if areas is not None:
        area_code = check_area_code(area_code, areas=areas)
    elif not (area_code.isdigit() and len(area_code) in (6, 9, 12)):
        raise StaffError("值班地区须为 6/9/12 位地区代码（区县、街道或社区）")
    if not in_area(area_code, user_area):
        raise StaffError(f"地区 {area_code} 不在您的管辖范围内")
    own = person.area_code
    if not (own == NATIONAL or area_code.startswith(own) or own.startswith(area_code)):
        raise StaffError(f"{person.username} 的管辖地区（{own}）与值班地区 {area_code} 无隶属关系，不能排入该地区的值班表")
    return area_code


def _rank(rank: int) -> int:
    if not isinstance(rank, int) or not 1 <= rank <= MAX_RANK:
        raise StaffError(f"顺序须为 1–{MAX_RANK} 的整数（1 最先通知）")
    return rank


# ------------------------------------------------------------------ the weekly pattern

def add_shift(session: Session, *, area_code: str, user: StaffUser | str, weekday: int | str, start: str, end: str,
              rank: int = 1, actor: str, areas: AreaDirectory, user_area: str = NATIONAL) -> DutyShift:
    """A weekly shift of ``user`` for the area, ``start``–``end`` Beijing time ("HH:MM"; an end at or
    before the start runs into the next day; "24:00" ends at midnight); ``user_area``: the acting
    user's area, which the roster must lie in."""
    person = _person(session, user)
    area_code = _roster_area(area_code, person, user_area, areas)
    day, start_minute, end_minute = parse_weekday(weekday), parse_clock(start), parse_clock(end, end=True)
    rank = _rank(rank)
    if session.scalar(select(DutyShift.id).where(DutyShift.area_code == area_code, DutyShift.user_id == person.id,
                                                 DutyShift.weekday == day, DutyShift.start_minute == start_minute)):
        raise StaffError(f"{person.username} 在 {area_code} 已有 {WEEKDAYS[day]} {clock_text(start_minute)} 开始的班次")
    shift = DutyShift(area_code=area_code, user_id=person.id, weekday=day, start_minute=start_minute,
                      end_minute=end_minute, rank=rank, created_by=(actor or "-")[:64])
    session.add(shift)
    session.flush()
    audit(session, actor=actor, action="duty.shift.add", target=f"area:{area_code}",
          detail=f"shift={shift.id} user={person.username} {shift_text(shift)} rank={rank}")
    return shift


def remove_shift(session: Session, *, shift_id: int, actor: str, user_area: str) -> None:
    """Delete a shift; one outside ``user_area`` is answered as missing."""
    shift = session.get(DutyShift, shift_id)
    if shift is None or not in_area(shift.area_code, user_area):
        raise StaffError(f"没有班次 {shift_id}")
    person = session.get(StaffUser, shift.user_id)
    audit(session, actor=actor, action="duty.shift.remove", target=f"area:{shift.area_code}",
          detail=f"shift={shift.id} user={person.username if person else shift.user_id} {shift_text(shift)}")
    session.delete(shift)
    session.flush()


def shifts_of(session: Session, area_code: str) -> list[DutyShift]:
    """The area's weekly pattern, by day, start and rank."""
    return list(session.scalars(select(DutyShift).where(DutyShift.area_code == area_code)
                                .order_by(DutyShift.weekday, DutyShift.start_minute, DutyShift.rank, DutyShift.id)))


# ------------------------------------------------------------------ exceptions

def add_exception(session: Session, *, area_code: str, user: StaffUser | str, starts_at: dt.datetime,
                  ends_at: dt.datetime, on_duty: bool, rank: int = 1, note: str = "", actor: str,
                  user_area: str = NATIONAL, areas: AreaDirectory | None = None) -> DutyException:
    """``user`` on duty for the area (``on_duty``, at ``rank``) or off it from ``starts_at`` to
    ``ends_at`` (aware instants), whatever the pattern says."""
    person = _person(session, user)
    area_code = _roster_area(area_code, person, user_area, areas)
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise StaffError("例外时段的起止时间须带时区")
    starts_at, ends_at = _utc(starts_at), _utc(ends_at)
    if ends_at <= starts_at:
        raise StaffError("例外时段的结束时间须晚于开始时间")
    if ends_at - starts_at > MAX_EXCEPTION:
        raise StaffError("例外时段不能超过 366 天")
    note = (note or "").strip()
    if len(note) > 200:
        raise StaffError("备注不能超过 200 个字")
    exception = DutyException(area_code=area_code, user_id=person.id, starts_at=starts_at, ends_at=ends_at,
                              on_duty=bool(on_duty), rank=_rank(rank), note=note, created_by=(actor or "-")[:64])
    session.add(exception)
    session.flush()
    audit(session, actor=actor, action="duty.exception.add", target=f"area:{area_code}",
          detail=f"exception={exception.id} user={person.username} {'on' if on_duty else 'off'} "
                 f"{starts_at.isoformat()}–{ends_at.isoformat()} rank={exception.rank}")
    return exception


def remove_exception(session: Session, *, exception_id: int, actor: str, user_area: str) -> None:
    """Delete an exception; one outside ``user_area`` is answered as missing."""
    exception = session.get(DutyException, exception_id)
    if exception is None or not in_area(exception.area_code, user_area):
        raise StaffError(f"没有例外时段 {exception_id}")
    audit(session, actor=actor, action="duty.exception.remove", target=f"area:{exception.area_code}",
          detail=f"exception={exception.id} user_id={exception.user_id} {'on' if exception.on_duty else 'off'}")
    session.delete(exception)
    session.flush()


def exceptions_of(session: Session, area_code: str, since: dt.datetime) -> list[DutyException]:
    """The area's exceptions not yet over at ``since``, by start."""
    return list(session.scalars(select(DutyException).where(DutyException.area_code == area_code,
                                                            DutyException.ends_at > _utc(since))
                                .order_by(DutyException.starts_at, DutyException.id)))


# ------------------------------------------------------------------ who is on duty

def _occurrence(shift: DutyShift, day: dt.date) -> Span:
    """The UTC span of ``shift`` starting on the Beijing date ``day`` (its weekday)."""
    midnight = dt.datetime.combine(day, dt.time(), BEIJING)
    end_day = midnight + dt.timedelta(days=1) if shift.end_minute <= shift.start_minute else midnight
    return (_utc(midnight + dt.timedelta(minutes=shift.start_minute)),
            _utc(end_day + dt.timedelta(minutes=shift.end_minute)))


def _on_duty_many(session: Session, codes: list[str], at: dt.datetime) -> dict[str, list[StaffUser]]:
    """For each area code, the active people on duty at ``at`` in rank order (then id): two queries."""
    at = _utc(at)
    today = at.astimezone(BEIJING).date()
    days = {d.weekday(): d for d in (today - dt.timedelta(days=1), today)}
    ranks: dict[str, dict[int, tuple[int, StaffUser]]] = defaultdict(dict)
    off: set[tuple[str, int]] = set()

    def put(code: str, user: StaffUser, rank: int) -> None:
        known = ranks[code].get(user.id)
        if known is None or rank < known[0]:
            ranks[code][user.id] = (rank, user)

    for shift, user in session.execute(
            select(DutyShift, StaffUser).join(StaffUser, StaffUser.id == DutyShift.user_id)
            .where(DutyShift.area_code.in_(codes), DutyShift.weekday.in_(list(days)), StaffUser.active.is_(True))):
        begins, ends = _occurrence(shift, days[shift.weekday])
        if begins <= at < ends:
            put(shift.area_code, user, shift.rank)
    for exception, user in session.execute(
            select(DutyException, StaffUser).join(StaffUser, StaffUser.id == DutyException.user_id)
            .where(DutyException.area_code.in_(codes), DutyException.ends_at > at, DutyException.starts_at <= at,
                   StaffUser.active.is_(True))):
        if exception.on_duty:
            put(exception.area_code, user, exception.rank)
        else:
            off.add((exception.area_code, user.id))
    return {code: [user for rank, user in sorted(ranks[code].values(), key=lambda ru: (ru[0], ru[1].id))
                   if (code, user.id) not in off] for code in codes}


def on_duty(session: Session, area_code: str, at: dt.datetime) -> list[StaffUser]:
    """The active people on duty for exactly ``area_code`` at ``at``, rank order, then id."""
    return _on_duty_many(session, [area_code], at)[area_code]


# ------------------------------------------------------------------ gaps

def _merge(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for begins, ends in sorted(s for s in spans if s[0] < s[1]):
        if merged and begins <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], ends))
        else:
            merged.append((begins, ends))
    return merged


def _subtract(spans: list[Span], cuts: list[Span]) -> list[Span]:
    """``spans`` without ``cuts`` (both merged)."""
    left: list[Span] = []
    for begins, ends in spans:
        for cut_begins, cut_ends in cuts:
            if cut_ends <= begins or cut_begins >= ends:
                continue
            if cut_begins > begins:
                left.append((begins, cut_begins))
            begins = max(begins, cut_ends)
            if begins >= ends:
                break
        if begins < ends:
            left.append((begins, ends))
    return left


def _gaps_many(session: Session, codes: list[str], start: dt.datetime, days: int) -> dict[str, list[Span]]:
    """For each area code, the merged UTC spans of [start, start + days) in which nobody is on duty."""
    if not 1 <= days <= MAX_GAP_DAYS:
        raise StaffError(f"检查的天数须为 1–{MAX_GAP_DAYS}")
    start = _utc(start)
    end = start + dt.timedelta(days=days)
    first = start.astimezone(BEIJING).date() - dt.timedelta(days=1)
    dates = [first + dt.timedelta(days=n) for n in range(days + 2)]
    on: dict[tuple[str, int], list[Span]] = defaultdict(list)
    off: dict[tuple[str, int], list[Span]] = defaultdict(list)
    for shift in session.scalars(select(DutyShift).join(StaffUser, StaffUser.id == DutyShift.user_id)
                                 .where(DutyShift.area_code.in_(codes), StaffUser.active.is_(True))):
        occurrences = (_occurrence(shift, d) for d in dates if d.weekday() == shift.weekday)
        on[(shift.area_code, shift.user_id)].extend(occurrences)
    for exception in session.scalars(select(DutyException).join(StaffUser, StaffUser.id == DutyException.user_id)
                                     .where(DutyException.area_code.in_(codes), DutyException.ends_at > start,
                                            DutyException.starts_at < end, StaffUser.active.is_(True))):
        spans = on if exception.on_duty else off
        spans[(exception.area_code, exception.user_id)].append((_utc(exception.starts_at), _utc(exception.ends_at)))
    covered: dict[str, list[Span]] = defaultdict(list)
    for (code, user_id), spans in on.items():
        covered[code].extend(_subtract(_merge(spans), _merge(off.get((code, user_id), []))))
    return {code: _subtract([(start, end)], _merge(covered[code])) for code in codes}


def roster_gaps(session: Session, area_code: str, start: dt.datetime, days: int = 7) -> list[Span]:
    """The UTC spans of the ``days`` from ``start`` in which nobody is on duty for the area (pattern
    and exceptions, active accounts), merged: the admins' warning before a gap happens."""
    return _gaps_many(session, [area_code], start, days)[area_code]


def areas_with_gaps(session: Session, user_area: str, start: dt.datetime,
                    days: int = 7) -> list[tuple[str, list[Span]]]:
    """The areas inside ``user_area`` that have a roster (a weekly shift) and a gap in the ``days``
    from ``start``, by code, each with its gaps."""
    codes = list(session.scalars(select(DutyShift.area_code).where(area_clause(DutyShift.area_code, user_area))
                                 .distinct().order_by(DutyShift.area_code)))
    if not codes:
        return []
    gaps = _gaps_many(session, codes, start, days)
    return [(code, gaps[code]) for code in codes if gaps[code]]


# ------------------------------------------------------------------ the ladder

def _levels(area_code: str | None) -> list[str]:
    """The record's area and the levels above it up to the district: 440306001001 → itself, 440306001, 440306."""
    if not area_code:
        return []
    prefix = area_prefix(area_code)
    return [prefix[:n] for n in (12, 9, 6) if n <= len(prefix)]


def _reachable(session: Session, user_ids: set[int], codes: list[str]) -> tuple[set[int], set[str]]:
    """Who of ``user_ids`` and which of the areas ``codes`` have an active target (one query)."""
    owners = [AlertTarget.user_id.in_(user_ids)] if user_ids else []
    if codes:
        owners.append(AlertTarget.area_code.in_(codes))
    if not owners:
        return set(), set()
    rows = session.execute(select(AlertTarget.user_id, AlertTarget.area_code)
                           .where(AlertTarget.active.is_(True), or_(*owners)).distinct())
    users, areas = set(), set()
    for user_id, code in rows:
        if user_id is not None:
            users.add(user_id)
        elif code is not None:
            areas.add(code)
    return users, areas


def person_label(user: StaffUser) -> str:
    return user.display_name or user.username


def area_label(code: str) -> str:
    """宝安区 440306 → 区县值班联系人（440306）"""
    return f"{AREA_LEVEL_LABELS[len(code)]}值班联系人（{code}）"


def ladder_for(session: Session, area_code: str | None, at: dt.datetime) -> list[dict]:
    """The steps an urgent record's alert climbs, worked out at ``at``: for the record's area and each
    level above it up to the district, one step per reachable person on duty there in rank order,
    then the level's fallback contact if it has a target; last, every reachable active admin and
    civil-affairs account whose area contains the record's (national ones included; a record without
    an area: those only). A recipient appears only at its first step; a step nobody can receive
    (the last one, when no admin has a target) is left out. Each step: ``{"recipients": ["user:12"
    | "area:440306"], "label": "王工"}``."""
    levels = _levels(area_code)
    duty = _on_duty_many(session, levels, at) if levels else {}
    admins = list(session.scalars(select(StaffUser).where(StaffUser.active.is_(True),
                                                          StaffUser.role.in_(ALERT_ROLES),
                                                          StaffUser.area_code.in_([NATIONAL, *levels]))
                                  .order_by(StaffUser.id)))
    user_ids = {user.id for people in duty.values() for user in people} | {user.id for user in admins}
    users_reached, areas_reached = _reachable(session, user_ids, levels)
    steps: list[dict] = []
    seen: set[str] = set()
    for code in levels:
        for user in duty[code]:
            recipient = f"user:{user.id}"
            if user.id in users_reached and recipient not in seen:
                seen.add(recipient)
                steps.append({"recipients": [recipient], "label": person_label(user)})
        if code in areas_reached:
            steps.append({"recipients": [f"area:{code}"], "label": area_label(code)})
    last = [f"user:{user.id}" for user in admins if user.id in users_reached and f"user:{user.id}" not in seen]
    if last:
        steps.append({"recipients": last, "label": LAST_STEP_LABEL})
    return steps
