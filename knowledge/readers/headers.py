"""Column headers recognised by meaning, not position: a synonym list per role (序号, 服务类别,
服务项目, 服务对象, 服务内容, 责任单位, 办理渠道 and their many printed forms), tolerant of spaces,
full-width forms, line breaks and bracketed notes; the header row of a grid found, also a two-row
header (a merged top cell over sub-headers)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from knowledge.readers.grid import Grid, Slot, join_text, squeeze_cjk

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "number": ("序号", "编号", "序", "号", "项次", "序列号", "no", "no."),
    "category": ("服务类别", "类别", "类型", "服务类型", "领域", "服务领域", "分类", "服务分类", "板块", "服务板块",
                 "保障类别", "事项类别", "类别名称", "项目类别", "保障领域", "重点领域", "服务种类", "种类"),
    "item": ("服务项目", "服务事项", "项目名称", "项目", "事项", "事项名称", "服务名称", "关爱服务项目", "关爱服务事项",
             "清单事项", "保障项目", "基本服务项目", "服务项目名称", "具体项目", "具体事项", "名称"),
    "service_object": ("服务对象", "适用对象", "保障对象", "对象", "享受对象", "受益对象", "适用人群", "服务人群",
                       "适用范围", "对象范围", "服务对象及条件", "享受条件", "申请条件", "适用条件"),
    "content": ("服务内容", "具体内容", "服务标准", "内容及标准", "服务内容及标准", "服务内容和标准", "内容", "标准",
                "保障标准", "具体措施", "工作内容", "政策内容", "服务措施", "保障内容", "关爱服务内容", "补助标准",
                "内容和标准", "服务标准及内容"),
    "departments": ("责任单位", "牵头单位", "责任部门", "主管部门", "牵头部门", "负责单位", "负责部门", "配合单位",
                    "配合部门", "责任主体", "实施部门", "实施单位", "主责部门", "承办单位", "职能部门", "业务主管部门",
                    "责任处室", "协同部门", "单位", "部门"),
    "channel": ("办理渠道", "办理方式", "咨询电话", "联系电话", "联系方式", "办理地点", "服务渠道", "申请渠道", "办理途径",
                "咨询方式", "服务电话", "服务热线", "咨询渠道", "申请方式", "办理流程", "经办机构", "受理单位",
                "受理部门", "服务机构", "办理机构", "服务方式", "咨询热线", "电话", "地址", "办理地址",
                "服务地点"),
}
_EXACT = {term: role for role, terms in _SYNONYMS.items() for term in terms}
_BRACKETS_RE = re.compile(r"[(\[【][^)\]】]*[)\]】]")


def header_key(text: str) -> str:
    """A header as compared: full-width forms folded, spaces and line breaks removed, a bracketed
    note （单位） and a trailing colon or star dropped."""
    key = unicodedata.normalize("NFKC", text).lower()
    key = re.sub(r"\s+", "", key)
    key = _BRACKETS_RE.sub("", key)
    return key.strip(":*：")


@lru_cache(maxsize=8192)
def header_role(text: str) -> str | None:
    """The role a header names (see ``knowledge.readers.document.ROLES``), or None. Exact synonyms
    first, then a known term with at most five characters before or after it (关爱服务事项,
    服务项目名称, 牵头单位及配合单位; three for a two-character term: 学校名称), the longest such term."""
    key = header_key(text)
    if not key or len(key) > 14:
        return None
    for cut in range(6):
        for part in (key[cut:], key[:len(key) - cut]):
            if part in _EXACT and (cut == 0 or len(part) >= 4 or (len(part) >= 2 and cut <= 3)):
                return _EXACT[part]
    return None


@dataclass(frozen=True)
class Header:
    first: int                    # the first header row of the grid
    last: int                     # the last one (first + 1 for a two-row header)
    names: tuple[str, ...]        # per column, as printed ('' for a column without a header)
    roles: tuple[str, ...]        # per column: a role, "other", or "" (no header)
    keys: frozenset[tuple[str, ...]]  # the header rows as compared, to drop them when repeated

    def column(self, role: str) -> int | None:
        return self.roles.index(role) if role in self.roles else None


def printed(text: str) -> str:
    """A header as shown: one line, without the spaces set between its characters (序  号)."""
    return squeeze_cjk(join_text(text, "header"))


def roles_of(names: Sequence[str]) -> tuple[str, ...]:
    return tuple((header_role(n) or "other") if n else "" for n in names)


def is_header(roles: Sequence[str]) -> bool:
    return "item" in roles and len(set(roles) - {"other", ""}) >= 2


def row_key(row: Sequence[Slot]) -> tuple[str, ...]:
    return tuple(header_key(s.text) for s in row)


def span(row: Sequence[Slot], c: int) -> int:
    origin = row[c].origin
    return sum(1 for s in row if s.origin == origin) if origin >= 0 else 1


def _two_row_header(grid: Grid, r: int) -> Header | None:
    """Row ``r`` as the top of a two-row header: some of its cells span several (not all) columns
    over sub-headers in row ``r + 1``; its other cells reach down into ``r + 1`` or have nothing
    under them."""
    top, below = grid[r], grid[r + 1]
    ncols = len(top)
    grouped = {c for c in range(ncols) if top[c].text and 1 < span(top, c) < ncols}
    if not grouped:
        return None
    for c in range(ncols):
        if c in grouped:
            if not below[c].text or below[c].origin == top[c].origin:
                return None
        elif below[c].origin != top[c].origin and below[c].text:
            return None
    names, roles = [], []
    for c in range(ncols):
        head = printed(top[c].text)
        if c in grouped:
            sub = printed(below[c].text)
            names.append(f"{head}/{sub}")
            roles.append(header_role(sub) or header_role(head) or "other")
        else:
            names.append(head)
            roles.append((header_role(head) or "other") if head else "")
    if not is_header(roles):
        return None
    return Header(r, r + 1, tuple(names), tuple(roles), frozenset({row_key(top), row_key(below)}))


def find_header(grid: Grid) -> Header | None:
    """The first row (or pair of rows) of ``grid`` whose cells name a 服务项目-like column and at
    least one other known column, or None: the table is not a checklist."""
    for r, row in enumerate(grid):
        if not any(s.text for s in row):
            continue
        if r + 1 < len(grid) and (two := _two_row_header(grid, r)) is not None:
            return two
        names = tuple(printed(s.text) for s in row)
        found = roles_of(names)
        if is_header(found):
            return Header(r, r, names, found, frozenset({row_key(row)}))
    return None
