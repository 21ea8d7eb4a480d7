"""The ledger's one clock: now in UTC (what every timestamp column holds), and Beijing time, in which
staff and parents read and type dates (China keeps one time zone, without summer time)."""

from __future__ import annotations

import datetime as dt

BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def utcnow() -> dt.datetime:
    """Now, as an aware UTC time."""
    return dt.datetime.now(dt.timezone.utc)


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """A stored time as an aware UTC time (SQLite hands back naive datetimes; they were stored as UTC)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.timezone.utc)


def beijing_date(value: dt.datetime) -> dt.date:
    """The Beijing date of a stored or aware time."""
    return aware(value).astimezone(BEIJING).date()


def beijing_today(now: dt.datetime | None = None) -> dt.date:
    """Today's date in Beijing (of ``now``, when given)."""
    return beijing_date(now or utcnow())


def day_start(day: dt.date) -> dt.datetime:
    """Midnight Beijing time of ``day``, in UTC."""
    return dt.datetime.combine(day, dt.time(), BEIJING).astimezone(dt.timezone.utc)
