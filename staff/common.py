"""Shared pieces of the staff pages: the signed-in user, errors, templates, rendering, form fields."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from starlette.responses import Response

from ledger import clock
from ledger.accounts import ROLES
from ledger.alert_status import ALERT_CHANNEL_LABELS
from ledger.areas import area_name, area_prefix, in_area
from ledger.cases import DANGER_KIND_LABELS
from ledger.requests import SITUATION_LABELS, STATUS_LABELS
from ledger.services import handoff_reference, urgent_reference

HERE = Path(__file__).parent
PREFIX = "/staff"
SESSION_COOKIE = "tb_staff"
LOGIN_CSRF_COOKIE = "tb_login"
DRAFT_COOKIE = "tb_draft"

ENTRY_STATUS_LABELS = {"active": "在册", "closed": "已结案"}
URGENT_STATUS_LABELS = {"new": "待处理", "handled": "已处理"}
HANDOFF_STATUS_LABELS = {"open": "待联系", "handled": "已联系"}
DETECTED_BY_LABELS = {"patterns": "关键词", "clauses": "分句模型", "classifier": "整句模型", "both": "关键词和模型"}
# How the pages name a channel: the channels the composition root lists, by their titles (``install``)
CHANNEL_LABELS: dict[str, str] = {}


# ------------------------------------------------------------------ the signed-in user

@dataclass(frozen=True)
class Staff:
    """The signed-in user as the pages need it (a plain copy, not a database row)."""

    id: int
    username: str
    display_name: str
    role: str
    area: str
    csrf_token: str
    permissions: frozenset[str] = field(default_factory=frozenset)
    area_label: str = ""  # the area's name (ledger.areas.area_name)

    @property
    def name(self) -> str:
        return self.display_name or self.username

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def sees(self, code: str | None) -> bool:
        return in_area(code, self.area)


# ------------------------------------------------------------------ errors rendered as pages

class StaffPageError(Exception):
    status_code = 400
    title = "出错了"

    def __init__(self, message: str = ""):
        super().__init__(message)
        self.message = message


class NotFound(StaffPageError):
    """Missing, or outside the user's area: the same answer, so existence is not revealed."""

    status_code = 404
    title = "没有找到"

    def __init__(self, message: str = "没有找到这条记录，或您没有查看它的权限。"):
        super().__init__(message)


class Forbidden(StaffPageError):
    status_code = 403
    title = "无法操作"


class LoginRequired(Exception):
    """No valid session: back to the login page (with where to return, and maybe a draft)."""

    def __init__(self, next_path: str, draft_token: str | None = None, expired: bool = False):
        super().__init__(next_path)
        self.next_path = next_path
        self.draft_token = draft_token
        self.expired = expired


# ------------------------------------------------------------------ runtime and helpers

def runtime(request: Request):
    return request.app.state.runtime


def client_ip(request: Request) -> str:
    """The client's address, worked out once per request by the server (``tongban.clients``): the
    connecting one, or — only when that is one of the configured reverse proxies — the nearest
    address in its ``X-Forwarded-For`` that is not itself a trusted proxy. A client cannot choose its own."""
    return request.state.client_address


def is_secure(request: Request) -> bool:
    """Secure cookies: as ``settings.staff.secure_cookies`` says when set; otherwise on https and in production."""
    settings = runtime(request).settings
    configured = getattr(getattr(settings, "staff", None), "secure_cookies", None)
    if configured is not None:
        return bool(configured)
    return request.url.scheme == "https" or getattr(settings, "env", "") == "production"


def safe_next(value: str | None) -> str:
    """A local /staff path to return to after login; anything else becomes the queue."""
    default = f"{PREFIX}/"
    if not value or len(value) > 500 or "\\" in value or any(unicodedata.category(c)[0] == "C" for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return default
    if not (parts.path == PREFIX or parts.path.startswith(PREFIX + "/")):
        return default
    if parts.path.startswith((f"{PREFIX}/login", f"{PREFIX}/logout", f"{PREFIX}/static")):
        return default
    return value


def login_url(next_path: str, *, expired: bool = False) -> str:
    query = {"next": safe_next(next_path)}
    if expired:
        query["expired"] = "1"
    return f"{PREFIX}/login?{urlencode(query)}"


# ------------------------------------------------------------------ templates

templates = Jinja2Templates(directory=str(HERE / "templates"))


def _fmt_date(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dt.datetime):
        return clock.aware(value).astimezone(clock.BEIJING).strftime("%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _fmt_datetime(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return clock.aware(value).astimezone(clock.BEIJING).strftime("%Y-%m-%d %H:%M")
    return _fmt_date(value)


def _situations(value: str | None) -> str:
    codes = [c for c in (value or "").split(",") if c]
    return "、".join(SITUATION_LABELS.get(c, c) for c in codes) or "—"


@pass_context
def _area_name(context, code: str | None, names: dict[str, str] | None = None) -> str:
    return area_name(code, names, areas=runtime(context["request"]).areas)


def _danger_kinds(value: str | None) -> str:
    return "、".join(DANGER_KIND_LABELS.get(k, k) for k in (value or "").split(",") if k) or "—"


def _query(request: Request, **changes) -> str:
    """The current query string with some parameters replaced (for pagination links)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    return "?" + urlencode(params) if params else "?"


VIA_LABELS = {"passive": "即时回复", "custom": "客服消息", "template": "模板消息（家长超过48小时未发消息）"}


def _notice(notice) -> str:
    """How the parent's message about a status change went (``ledger.casework.Notice``), for the page."""
    if notice is None:
        return "—"
    channel = CHANNEL_LABELS.get(notice.channel, notice.channel)
    if notice.status == "sent":
        parts = ["已送达", channel, VIA_LABELS.get(notice.via or "", ""), _fmt_datetime(notice.sent_at)]
        return " · ".join(part for part in parts if part)
    if notice.status == "blocked":
        return f"未送达：家长已停用或取消关注（{channel}）"
    if notice.status == "failed":
        return f"未能送达（{channel}）：{notice.error or '平台拒收'}"
    return f"等待发送（{channel}）" + (f"，上次失败：{notice.error}" if notice.error else "")


env = templates.env
env.filters.update({
    "notice": _notice,
    "d": _fmt_date, "dt": _fmt_datetime, "situations": _situations, "status_label":
    lambda s: STATUS_LABELS.get(s, s), "area_name": _area_name, "danger_kinds": _danger_kinds,
    "role_label": lambda r: ROLES.get(r, r), "alert_channel": lambda c: ALERT_CHANNEL_LABELS.get(c, c),
    "entry_status": lambda s: ENTRY_STATUS_LABELS.get(s, s), "channel": lambda c: CHANNEL_LABELS.get(c, c),
    "detected_by": lambda v: "、".join(DETECTED_BY_LABELS.get(p, p) for p in (v or "").split("+") if p) or "—",
})
env.globals.update({
    "STATUS_LABELS": STATUS_LABELS, "SITUATION_LABELS": SITUATION_LABELS, "ROLES": ROLES,
    "PREFIX": PREFIX, "urgent_ref": urgent_reference, "handoff_ref": handoff_reference,
    "URGENT_STATUS_LABELS": URGENT_STATUS_LABELS, "HANDOFF_STATUS_LABELS": HANDOFF_STATUS_LABELS,
    "query": _query,
})


def render(request: Request, name: str, context: dict | None = None, *, status_code: int = 200) -> Response:
    context = dict(context or {})
    user: Staff | None = getattr(request.state, "staff", None)
    context.setdefault("user", user)
    context.setdefault("csrf_token", user.csrf_token if user else "")
    context.setdefault("page_path", request.url.path)
    context.setdefault("errors", {})
    context.setdefault("values", {})
    context.setdefault("notice", NOTICES.get(request.query_params.get("done", "")))
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    if getattr(request.state, "clear_draft", False):
        response.delete_cookie(DRAFT_COOKIE, path=PREFIX, secure=is_secure(request), httponly=True,
                               samesite="strict")
    return response


NOTICES = {
    "status": "状态已更新，家长的通知已排入发送队列。",
    "visit": "走访记录已保存。",
    "handled": "处理记录已保存。",
    "committee": "居委会信息已保存。",
    "wechat": "微信二维码已生成，已印在这个居委会的海报上。",
    "created": "已创建。",
    "published": "新版本已发布，机器人已开始使用新的清单回答。",
    "login": "",
}


# ------------------------------------------------------------------ form fields

class FormErrors(dict):
    """field → Chinese message."""

    def add(self, name: str, message: str) -> None:
        self.setdefault(name, message)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text_field(form, name: str, errors: FormErrors, *, label: str, required: bool = False,
               max_length: int = 200, multiline: bool = False) -> str:
    raw = form.get(name)
    value = raw if isinstance(raw, str) else ""
    value = _CONTROL.sub("", value).replace("\r\n", "\n")
    value = value.strip() if multiline else " ".join(value.split())
    if required and not value:
        errors.add(name, f"请填写{label}。")
    elif len(value) > max_length:
        errors.add(name, f"{label}请控制在 {max_length} 字以内（现在 {len(value)} 字）。")
    return value


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
)


def parse_date(value: str | None) -> dt.date | None:
    """YYYY-MM-DD (and the usual Chinese spellings); None when empty; ValueError when not a date."""
    value = (value or "").strip()
    if not value:
        return None
    for pattern in _DATE_PATTERNS:
        match = pattern.match(value)
        if match:
            return dt.date(*(int(g) for g in match.groups()))
    raise ValueError(value)


def date_field(form, name: str, errors: FormErrors, *, label: str, required: bool = False) -> dt.date | None:
    raw = form.get(name)
    try:
        value = parse_date(raw if isinstance(raw, str) else "")
    except ValueError:
        errors.add(name, f"{label}的格式不对，请按“2026-03-01”这样的格式填写。")
        return None
    if value is None and required:
        errors.add(name, f"请填写{label}。")
    return value


def query_date(request: Request, name: str, errors: FormErrors, label: str) -> dt.date | None:
    return date_field(request.query_params, name, errors, label=label)


def area_filter(value: str | None, user: Staff, errors: FormErrors, name: str = "area") -> str:
    """An optional narrower area typed by the user: digits of 6/9/12, inside their own area."""
    value = re.sub(r"\s+", "", value or "")
    if not value:
        return ""
    if not (value.isdigit() and len(value) in (6, 9, 12)):
        errors.add(name, "地区代码须为 6 位（区县）、9 位（街道）或 12 位（社区）数字。")
        return ""
    prefix = area_prefix(user.area)
    if not (value.startswith(prefix) or prefix.startswith(value)):
        errors.add(name, "这个地区不在您的管辖范围内。")
        return ""
    # a wider code than the user's own area means the user's area
    return value if value.startswith(prefix) else ""


def page_number(request: Request, name: str = "page") -> int:
    try:
        return max(1, min(int(request.query_params.get(name, "1")), 100000))
    except ValueError:
        return 1
