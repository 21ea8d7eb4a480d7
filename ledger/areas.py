"""The area rule, and what an area code is called.

A staff user's area is ``national`` or a 6/9/12-digit administrative code (district, street,
community); a record is theirs when its code lies inside it. Every list, count and export is limited
to the user's area in the SQL itself (:func:`area_clause`); single records are checked again with
:func:`in_area` by the caller.

Which district codes exist and what they are called is geography, not the ledger's: it asks an
:class:`AreaDirectory`, which the composition root hands in (nlu's gazetteer answers it).
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import and_, true
from sqlalchemy.sql.elements import ColumnElement

from ledger.errors import StaffError

NATIONAL = "national"
AREA_LEVEL_LABELS = {6: "区县", 9: "街道（乡镇）", 12: "社区（村）"}


class AreaDirectory(Protocol):
    """What the ledger asks of the administrative divisions, by 6-digit region code."""

    def region_name(self, code: str) -> str | None:
        """The region's official name (宝安区); None when there is no region ``code``."""

    def is_county_level(self, code: str) -> bool:
        """Whether the region is a district or county, or has none below it (a city without districts)."""

    def full_name(self, code: str) -> str:
        """The region's full name (广东省深圳市宝安区); empty when there is no region ``code``."""


def area_prefix(area: str) -> str:
    """The significant prefix of a user's area: '' for national, else the code itself (6/9/12 digits)."""
    if area == NATIONAL:
        return ""
    if not (area.isdigit() and len(area) in (6, 9, 12)):
        raise StaffError(f"无效的地区代码：{area}")
    return area


def in_area(record_code: str | None, user_area: str) -> bool:
    """Is a record with area code ``record_code`` inside ``user_area``?

    National users see everything, records without an area included; everyone else sees the
    records whose code starts with their area's significant prefix.
    """
    prefix = area_prefix(user_area)
    if not prefix:
        return True
    return bool(record_code) and record_code.startswith(prefix)


def _upper_bound(prefix: str) -> str:
    """The smallest digit string of the same length above every code starting with ``prefix``."""
    return str(int(prefix) + 1).zfill(len(prefix))


def area_clause(column, user_area: str) -> ColumnElement[bool]:
    """:func:`in_area` as SQL: a range an index can use, plus the exact LIKE 'prefix%'."""
    prefix = area_prefix(user_area)
    if not prefix:
        return true()
    return and_(column >= prefix, column < _upper_bound(prefix), column.like(prefix + "%"))


def child_area_length(user_area: str) -> int:
    """The level one below the user's area, for grouping: national → district, district → street..."""
    prefix = area_prefix(user_area)
    return {0: 6, 6: 9, 9: 12}.get(len(prefix), 12)


def check_area_code(area: str, *, areas: AreaDirectory, lengths: tuple[int, ...] = (6, 9, 12)) -> str:
    """A 6/9/12-digit code whose district exists (county-level), with non-zero street/community parts."""
    area = (area or "").strip()
    if not (area.isdigit() and len(area) in lengths):
        raise StaffError("地区代码须为 " + "/".join(str(n) for n in lengths) + " 位数字")
    name = areas.region_name(area[:6])
    if name is None:
        raise StaffError(f"行政区划中没有区县代码 {area[:6]}")
    if not areas.is_county_level(area[:6]):
        raise StaffError(f"{area[:6]}（{name}）不是区县一级的代码，请填写下辖区县的代码")
    if len(area) >= 9 and area[6:9] == "000":
        raise StaffError(f"{area} 不是有效的街道（乡镇）代码")
    if len(area) == 12 and area[9:] == "000":
        raise StaffError(f"{area} 不是有效的社区（村）代码")
    return area


def area_name(code: str | None, names: dict[str, str] | None = None, *, areas: AreaDirectory) -> str:
    """A readable name for an area code: 全国, the district's full name, plus a known sub-area name."""
    if not code:
        return "地区不明"
    if code == NATIONAL:
        return "全国"
    if names and code in names:
        return names[code]
    base = areas.full_name(code[:6])
    if len(code) == 6:
        return base or code
    return f"{base}（{code}）" if base else code
