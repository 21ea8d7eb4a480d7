"""Template messages (模板消息): how a notification reaches a parent who last wrote over 48 hours ago.

WeChat lets an account send customer-service messages only within 48 hours of the parent's last
message (45015 after that, 45047 after 20 of them). A notification that then cannot go as text goes
as a template message: a form of fixed fields the account chose in its console (公众号 → 广告与服务 →
模板消息), filled from the notification's ``summary`` (``ledger.outbox.notify``: title, reference,
status, status_short, time, next). Which of the template's keys gets which field is the deployer's
``TONGBAN_WECHAT__TEMPLATE_FIELDS`` (checked in ``tongban/settings.py``), since it depends on the template chosen. Values are cut to what
WeChat accepts for the key's kind in the newer templates (``thing`` 20 characters, ``phrase`` 5,
``character_string`` 32, ``time`` a Beijing time like 2026年12月07日 10:30; a ``phrase`` takes the
field's short form, ``status_short``, where there is one); the classic
``first``/``keywordN``/``remark`` keys take longer text.
"""

from __future__ import annotations

import datetime as dt

from ledger.clock import BEIJING

LIMITS = {"thing": 20, "phrase": 5, "character_string": 32, "number": 32, "letter": 32, "symbol": 5, "name": 10}
CLASSIC_LIMIT = 200  # first, keywordN, remark: no published limit, a notification's length


def template_data(summary: dict, fields: dict[str, str]) -> dict[str, dict[str, str]] | None:
    """The template's data (``{key: {"value": …}}``); None when the summary lacks a field the
    template needs (the notification cannot go this way)."""
    data = {}
    for key, name in fields.items():
        short = summary.get(f"{name}_short") if key.startswith("phrase") else None
        value = short or summary.get(name)
        if not isinstance(value, str) or not value.strip():
            return None
        data[key] = {"value": _fit(key, name, value.strip())}
    return data


def _fit(key: str, name: str, value: str) -> str:
    kind = key.rstrip("0123456789")
    if name == "time" or kind in ("time", "date"):
        try:
            if len(value) == 10:  # a day (a planned visit), not a moment
                return dt.date.fromisoformat(value).strftime("%Y年%m月%d日")
            at = dt.datetime.fromisoformat(value).astimezone(BEIJING)
        except ValueError:
            return value[:20]
        return at.strftime("%Y年%m月%d日") if kind == "date" else at.strftime("%Y年%m月%d日 %H:%M")
    limit = LIMITS.get(kind, CLASSIC_LIMIT)
    return value if len(value) <= limit else value[:limit - 1] + "…"
