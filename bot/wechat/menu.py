"""The account's custom menu (自定义菜单) from a YAML file: checked here against WeChat's rules before
anything is sent, then created through wechatpy's menu API (``menu/create``; ``menu/get``,
``menu/delete``) with the shared token (``WeChatApi.call``). The shipped file is ``menu.yml``.

The file has WeChat's own shape, so what is checked is what is sent::

    button:                         # 1–3 buttons
      - {name: 问政策, type: click, key: ask}
      - name: 申请帮扶               # a button with sub-buttons has no type of its own
        sub_button:                 # 1–5 sub-buttons
          - {name: 申请帮扶, type: click, key: apply}
          - {name: 办事指南, type: view, url: "https://…"}

Names: at most 16 bytes at the top (5 Chinese characters), 60 in a sub-menu. ``click`` keys: one of
``incoming.MENU_KEYS`` (what a tap does), at most 128 bytes. ``view`` urls: http(s), at most 1024
bytes. Every problem is reported at once, in Chinese with the English after it.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from bot.wechat.api import WeChatApi
from bot.wechat.incoming import MENU_KEYS

MENU_FILE = Path(__file__).with_name("menu.yml")
MAX_FILE_BYTES = 16 * 1024
TOP_BUTTONS, SUB_BUTTONS = 3, 5
TOP_NAME_BYTES, SUB_NAME_BYTES = 16, 60
KEY_BYTES, URL_BYTES = 128, 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class MenuError(ValueError):
    """A menu file refused: ``problems``, each in Chinese with the English after it."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}：菜单没有通过检查，没有发给微信 (menu refused, nothing sent):\n"
                         + "\n".join(f"  - {problem}" for problem in problems))


def read_menu(path: Path) -> dict:
    """The menu in ``path``, checked: the JSON ``menu/create`` takes. Raises ``MenuError``."""
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise MenuError(str(path), [f"无法读取文件 (cannot read the file): {exc.strerror or exc}"]) from exc
    if len(data) > MAX_FILE_BYTES:
        raise MenuError(str(path), [f"文件超过 {MAX_FILE_BYTES // 1024} KiB，不像是菜单 "
                                    f"(over {MAX_FILE_BYTES // 1024} KiB: not a menu)"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MenuError(str(path), ["文件不是 UTF-8 编码 (not UTF-8)"]) from exc
    return load_menu(text, str(path))


def load_menu(text: str, source: str = "menu") -> dict:
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader that refuses repeated keys
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"第 {mark.line + 1} 行 (line {mark.line + 1})：" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise MenuError(source, [f"{where}YAML 格式错误 (YAML error): {problem}"]) from exc
    except RecursionError as exc:
        raise MenuError(source, ["YAML 嵌套过深 (nested too deeply)"]) from exc
    return check_menu(data, source)


def check_menu(data, source: str = "menu") -> dict:
    """``data`` (the parsed file) as the JSON ``menu/create`` takes; ``MenuError`` listing every problem."""
    problems: list[str] = []
    if not isinstance(data, dict) or set(data) != {"button"}:
        raise MenuError(source, ["文件应只有一项 button：按钮的列表 (the file must hold one key, "
                                 "button: the list of buttons)"])
    buttons = data["button"]
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= TOP_BUTTONS:
        raise MenuError(source, [f"button 应是 1–{TOP_BUTTONS} 个按钮的列表 (button: a list of 1 to "
                                 f"{TOP_BUTTONS} buttons)"])
    menu = {"button": [_button(raw, (f"第 {i} 个按钮", f"button {i}"), problems, top=True)
                       for i, raw in enumerate(buttons, 1)]}
    if problems:
        raise MenuError(source, problems)
    return menu


def _button(raw, where: tuple[str, str], problems: list[str], *, top: bool) -> dict:
    def refuse(chinese: str, english: str) -> None:
        problems.append(f"{where[0]}：{chinese} ({where[1]}: {english})")

    if not isinstance(raw, dict):
        refuse("应是一个有 name 的条目", "expected a mapping with a name")
        return {}
    fields = {"name", "type", "key", "url"} | ({"sub_button"} if top else set())
    unknown = sorted(str(k)[:20] for k in raw if k not in fields)
    if unknown:
        refuse(f"不认识的字段 {', '.join(unknown)}（可用：{', '.join(sorted(fields))}）",
               f"unknown fields {', '.join(unknown)}")
    button = {"name": _name(raw.get("name"), TOP_NAME_BYTES if top else SUB_NAME_BYTES, refuse)}
    if top and "sub_button" in raw:
        if {"type", "key", "url"} & set(raw):
            refuse("有子菜单的按钮不能再有 type、key 或 url", "a button with sub-buttons has no type, key or url")
        subs = raw["sub_button"]
        if not isinstance(subs, list) or not 1 <= len(subs) <= SUB_BUTTONS:
            refuse(f"sub_button 应是 1–{SUB_BUTTONS} 个子按钮的列表", f"sub_button: a list of 1 to {SUB_BUTTONS}")
            return button
        button["sub_button"] = [_button(sub, (f"{where[0]}的第 {j} 个子按钮", f"{where[1]}, sub-button {j}"),
                                        problems, top=False) for j, sub in enumerate(subs, 1)]
        return button
    kind = raw.get("type")
    if kind == "click":
        button.update(type="click", key=_key(raw.get("key"), refuse))
        if "url" in raw:
            refuse("click 按钮不用 url", "a click button has no url")
    elif kind == "view":
        button.update(type="view", url=_url(raw.get("url"), refuse))
        if "key" in raw:
            refuse("view 按钮不用 key", "a view button has no key")
    else:
        refuse(f"type 应为 click（点击，发给童伴）或 view（打开网页），现为 {str(kind)[:20]!r}",
               "type must be click or view")
    return button


def _name(value, limit: int, refuse) -> str:
    if not isinstance(value, str) or not value.strip():
        refuse("缺少名称 name", "name missing")
        return ""
    name = value.strip()
    size = len(name.encode("utf-8"))
    if _CONTROL.search(name):
        refuse("名称里不能有换行或控制字符", "control characters in the name")
    elif size > limit:
        refuse(f"名称“{name[:30]}”有 {size} 字节，超过 {limit} 字节（一个汉字占 3 字节）",
               f"name over {limit} bytes")
    return name


def _key(value, refuse) -> str:
    known = ", ".join(MENU_KEYS)
    if not isinstance(value, str) or not value:
        refuse(f"click 按钮需要 key（可用：{known}）", "a click button needs a key")
        return ""
    if len(value.encode("utf-8")) > KEY_BYTES:
        refuse(f"key 超过 {KEY_BYTES} 字节", f"key over {KEY_BYTES} bytes")
    elif value not in MENU_KEYS:
        refuse(f"童伴不认识 key “{value[:30]}”（可用：{known}）", f"unknown key; known: {known}")
    return value


def _url(value, refuse) -> str:
    if not isinstance(value, str) or not value:
        refuse("view 按钮需要网址 url", "a view button needs a url")
        return ""
    size = len(value.encode("utf-8"))
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if size > URL_BYTES:
        refuse(f"网址超过 {URL_BYTES} 字节", f"url over {URL_BYTES} bytes")
    elif parts is None or parts.scheme not in ("http", "https") or not parts.hostname \
            or re.search(r"\s", value) or _CONTROL.search(value):
        refuse(f"网址应以 http:// 或 https:// 开头、不含空格：{value[:60]!r}", "url must be http(s) without spaces")
    return value


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (the later would silently win)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _value in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise yaml.constructor.ConstructorError(None, None, f"重复的键 (repeated key) {key!r}",
                                                            key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


# --- WeChat ------------------------------------------------------------------------------------------
def create(api: WeChatApi, menu: dict) -> None:
    """Replace the account's menu with ``menu`` (checked); raises ``SendError``."""
    api.call(lambda: api.menu.create(menu))


def current(api: WeChatApi) -> dict | None:
    """The account's menu as ``menu/get`` answers it (None: the account has none)."""
    return api.call(api.menu.get)


def delete(api: WeChatApi) -> None:
    api.call(api.menu.delete)
