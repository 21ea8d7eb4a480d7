"""The one message every alert channel sends: what happened, where, when, which step of the ladder,
and the link that opens the record — and nothing personal.

An alert leaves the system for group chats, mailboxes and phones that Tongban does not control, so
it carries no child's name and none of the parent's words: only the record's reference, its danger
kinds (the ledger's own labels), the area, the time, who this step is for and the one-time link.
``AlertMessage`` has no field that could hold more, and ``message_for_record`` builds it from an
urgent record without ever reading the record's message.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from ledger.cases import DANGER_KIND_LABELS
from ledger.clock import BEIJING, aware
from ledger.models import UrgentRecord
from ledger.services import urgent_reference

BRAND = "童伴紧急提醒"
# Characters that would change a WeCom markdown line's meaning (links, tags, emphasis, quotes, headers).
_MARKDOWN = re.compile(r"[\[\]<>*`#_~]")
_LINES = re.compile(r"\s*[\r\n]+\s*")


@dataclass(frozen=True)
class AlertMessage:
    """One step's alert for one urgent record (the same text for every recipient of the step)."""

    reference: str  # U-000123
    kinds: list[str]  # danger kinds as staff read them (暴力或虐待…)
    area: str  # 广东省深圳市宝安区 新安街道 (440306001); "地区未知" when none
    at: dt.datetime  # when the record came in (UTC; shown in Beijing time)
    step: int  # 1-based
    steps: int
    recipient: str  # who this step is for (王工 / 宝安区值班组 / 全部管理员)
    link: str  # the one-time acknowledgement link
    escalate_minutes: int
    kinds_text: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds_text", "、".join(_line(k) for k in self.kinds if k) or "未分类")

    # --- the pieces ----------------------------------------------------------------------------
    @property
    def when(self) -> str:
        """The record's time in Beijing: 2026-12-07 02:03."""
        return aware(self.at).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")

    @property
    def last_step(self) -> bool:
        return self.step >= self.steps

    def _step_line(self) -> str:
        return f"第 {self.step} 步，共 {self.steps} 步"

    def _next_line(self) -> str:
        """What happens if nobody opens the link."""
        if self.last_step:
            return "这已是最后一级通知；记录会一直留在待处理队列中，直到有人接手。"
        return f"{self.escalate_minutes} 分钟内无人接手，将通知值班表上的下一位（或上一级）。"

    # --- the three forms -------------------------------------------------------------------------
    def title(self) -> str:
        """A short line: an e-mail's subject, a card's title (WeCom cuts a card title at 128 bytes)."""
        return _cut(f"【{BRAND}】{self.reference} {self.kinds_text}", 120)

    def text(self) -> str:
        """Plain text, for e-mail, SMS and WeCom text messages."""
        return "\n".join([
            f"【{BRAND}】有一条儿童安全紧急记录需要处理。",
            f"编号：{self.reference}",
            f"类型：{self.kinds_text}",
            f"地区：{_line(self.area) or '地区未知'}",
            f"时间：{self.when}（北京时间）",
            f"通知：{_line(self.recipient)}（{self._step_line()}）",
            "请登录后打开下面的链接查看记录，打开即表示您已接手：",
            self.link,
            self._next_line(),
            "本消息不含儿童和家长的个人信息，详情请在系统内查看。",
        ])

    def summary(self) -> str:
        """The facts without the link, for a WeCom text card (the card itself is the link; WeCom
        cuts its description at 512 bytes)."""
        return _cut("\n".join([f"类型：{self.kinds_text}", f"地区：{_line(self.area) or '地区未知'}",
                               f"时间：{self.when}（北京时间）",
                               f"通知：{_line(self.recipient)}（{self._step_line()}）",
                               "点开即表示您已接手；" + self._next_line()]), 500)

    def brief(self) -> str:
        """One short paragraph for SMS (each 70 characters is a billed part): the facts and the link."""
        return (f"【{BRAND}】儿童安全紧急记录 {self.reference}：{self.kinds_text}，"
                f"{_line(self.area) or '地区未知'}，{self.when}。请登录查看并接手：{self.link}")

    def markdown(self) -> str:
        """WeCom markdown (the group robot): the kinds highlighted, the link as a link."""
        return "\n".join([
            f"### <font color=\"warning\">{BRAND}</font> {_md(self.reference)}",
            f"> 类型：<font color=\"warning\">{_md(self.kinds_text)}</font>",
            f"> 地区：{_md(self.area) or '地区未知'}",
            f"> 时间：{self.when}（北京时间）",
            f"> 通知：{_md(self.recipient)}（{self._step_line()}）",
            "",
            f"[查看并接手这条记录]({_url(self.link)})",
            self._next_line(),
            "<font color=\"comment\">本消息不含儿童和家长的个人信息，详情请在系统内查看。</font>",
        ])


def message_for_record(record: UrgentRecord, *, area: str, step: int, steps: int, recipient: str,
                       link: str, escalate_minutes: int) -> AlertMessage:
    """The alert of ``record``: its reference, kinds and time only (its message is never read).
    ``area`` is the record's area as staff read it (the caller names it; "" when unknown)."""
    kinds = [DANGER_KIND_LABELS.get(kind, "未分类") for kind in (record.kinds or "").split(",") if kind]
    return AlertMessage(reference=urgent_reference(record), kinds=kinds, area=area or "地区未知",
                        at=record.created_at, step=step, steps=steps, recipient=recipient, link=link,
                        escalate_minutes=escalate_minutes)


def _line(value: str) -> str:
    """One line: an area or a name never breaks the message's layout."""
    return _LINES.sub(" ", value or "").strip()


def _md(value: str) -> str:
    return _MARKDOWN.sub(" ", _line(value)).strip()


def _url(link: str) -> str:
    """The link inside markdown's parentheses: a bracket or a space would end it early."""
    return link.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _cut(value: str, limit_bytes: int) -> str:
    """``value`` within ``limit_bytes`` of UTF-8, cut at a character and marked with "…"."""
    if len(value.encode("utf-8")) <= limit_bytes:
        return value
    while len((value + "…").encode("utf-8")) > limit_bytes:
        value = value[:-1]
    return value + "…"
