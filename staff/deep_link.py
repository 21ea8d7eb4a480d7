"""The Telegram deep link a committee's referral code travels in, and the checks on what a
poster prints (the code, the link and the WeChat QR code's URL, the committee's and area's names):
each refusal says in Chinese what is wrong, for the staff member who typed it.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

__all__ = ["CODE_PATTERN", "check_poster_inputs", "deep_link"]

# Telegram deep-link payload: 1-64 characters of A-Z a-z 0-9 _ -
CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Telegram usernames: 5-32 characters, a letter first, then letters, digits and underscores.
_USERNAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def deep_link(bot_username: str, code: str) -> str:
    """``https://t.me/<bot_username>?start=<code>``; raises ``ValueError`` (in Chinese)
    when the code is not a valid Telegram deep-link payload or the username is invalid."""
    _check_code(code)
    username = (bot_username or "").strip().removeprefix("@")
    if not _USERNAME_PATTERN.fullmatch(username):
        raise ValueError(
            f"机器人用户名无效：{bot_username!r}。"
            "应为 5–32 位英文字母、数字或下划线，且以字母开头。"
        )
    return f"https://t.me/{username}?start={code}"


def _check_code(code: str) -> None:
    if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code):
        raise ValueError(
            f"推荐码无效：{code!r}。"
            "推荐码只能由 1–64 位英文字母、数字、下划线（_）或连字符（-）组成。"
        )


def _clean_text(value: str, field: str, *, max_len: int, required: bool) -> str:
    text = _CONTROL.sub("", str(value or "")).strip()
    if required and not text:
        raise ValueError(f"{field}不能为空。")
    if len(text) > max_len:
        raise ValueError(f"{field}过长（最多 {max_len} 个字）。")
    return text


def check_poster_inputs(link: str | None, committee_name: str, area_name: str, code: str,
                        wechat_url: str | None = None):
    """(link, committee, area, wechat_url) cleaned for printing: the Telegram deep link and the WeChat
    QR code's URL (either may be None, not both); ``ValueError`` in Chinese."""
    _check_code(code)
    if link is None and wechat_url is None:
        raise ValueError("海报上没有可印的二维码（既没有 Telegram 链接，也没有微信二维码）。")
    if link is not None:
        link = _checked_url(link, ("https", "http", "tg"))
        start = parse_qs(urlsplit(link).query).get("start")
        if start and start[0] != code:
            raise ValueError(f"链接中的推荐码（{start[0]}）与海报上的推荐码（{code}）不一致。")
    if wechat_url is not None:
        wechat_url = _checked_url(wechat_url, ("https", "http"))
    committee = _clean_text(committee_name, "居委会名称", max_len=60, required=True)
    area = _clean_text(area_name, "所在地区", max_len=80, required=False)
    return link, committee, area, wechat_url


def _checked_url(link: str, schemes: tuple[str, ...]) -> str:
    link = (link or "").strip()
    if urlsplit(link).scheme not in schemes or len(link) > 300 or _CONTROL.search(link) or " " in link:
        raise ValueError(f"链接无效：{link!r}。")
    return link
