"""The area rule (one function, in Python and in SQL), role areas, references and return paths."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select

from ledger.accounts import PERMISSIONS, valid_area_for_role
from ledger.areas import area_clause, child_area_length, in_area
from ledger.errors import StaffError
from ledger.queue import normalise_reference
from nlu.areas import GazetteerAreas
from staff.common import safe_next

CODES = [None, "440306", "440306001", "440306001001", "440306001002", "440306002001", "440305",
         "440305001001", "440307", "4403060", "110101", "440306999999"]
AREA_DIRECTORY = GazetteerAreas()  # what the runtime hands the staff app
AREAS = ["national", "440306", "440306001", "440306001001", "440305", "440307", "440306002"]


@pytest.mark.parametrize(("code", "area", "expected"), [
    ("440306001001", "national", True),
    (None, "national", True),
    (None, "440306", False),
    ("440306001001", "440306", True),
    ("440306001001", "440306001", True),
    ("440306001001", "440306001001", True),
    ("440306001002", "440306001001", False),
    ("440306", "440306001", False),        # a district-level record is not inside one of its streets
    ("440306", "440306", True),
    ("440305001001", "440306", False),
    ("440307", "440306", False),
])
def test_in_area(code, area, expected):
    assert in_area(code, area) is expected


def test_sql_clause_agrees_with_the_python_rule():
    engine = create_engine("sqlite://")
    meta = MetaData()
    table = Table("t", meta, Column("id", Integer, primary_key=True), Column("code", String(12)))
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(table), [{"id": i, "code": c} for i, c in enumerate(CODES)])
        for area in AREAS:
            got = {row.id for row in conn.execute(select(table.c.id).where(area_clause(table.c.code, area)))}
            want = {i for i, c in enumerate(CODES) if in_area(c, area)}
            assert got == want, area


def test_sql_clause_is_a_range_plus_prefix_like():
    sql = str(area_clause(Column("code", String), "440306001").compile(compile_kwargs={"literal_binds": True}))
    assert "code >= '440306001'" in sql and "code < '440306002'" in sql and "LIKE '440306001%'" in sql
    assert str(area_clause(Column("code", String), "national").compile()) == "true"


@pytest.mark.parametrize(("role", "area", "stored"), [
    ("admin", "national", "national"),
    ("admin", "全国", "national"),
    ("admin", "440306", "440306"),
    ("civil_affairs", "440306", "440306"),
    ("civil_affairs", "441900", "441900"),   # 东莞: a city without districts is county-level
    ("supervisor", "440306001", "440306001"),
    ("director", "440306001001", "440306001001"),
    ("committee", " 440306001001 ", "440306001001"),
])
def test_valid_areas(role, area, stored):
    assert valid_area_for_role(role, area, areas=AREA_DIRECTORY) == stored


@pytest.mark.parametrize(("role", "area", "message"), [
    ("civil_affairs", "national", "6 位区县代码"),
    ("civil_affairs", "440306001", "6 位区县代码"),
    ("civil_affairs", "999999", "没有区县代码"),
    ("civil_affairs", "440300", "不是区县一级"),    # 深圳市 has districts
    ("supervisor", "440306000", "不是有效的街道"),
    ("supervisor", "440306", "9 位街道"),
    ("director", "440306001000", "不是有效的社区"),
    ("committee", "44030600100x", "12 位社区"),
    ("janitor", "440306", "未知角色"),
])
def test_invalid_areas_are_refused_in_chinese(role, area, message):
    with pytest.raises(StaffError, match=message):
        valid_area_for_role(role, area, areas=AREA_DIRECTORY)


def test_permissions_by_role():
    assert PERMISSIONS["admin"] >= {"audit", "knowledge", "export", "committees", "decide", "visit"}
    assert "audit" not in PERMISSIONS["civil_affairs"]
    assert "decide" not in PERMISSIONS["committee"] and "export" in PERMISSIONS["committee"]
    assert child_area_length("national") == 6 and child_area_length("440306") == 9
    assert child_area_length("440306001") == 12 and child_area_length("440306001001") == 12


@pytest.mark.parametrize(("value", "expected"), [
    ("/staff/requests/LD-2026-000001", "/staff/requests/LD-2026-000001"),
    ("/staff/?status=all&page=2", "/staff/?status=all&page=2"),
    ("/staff", "/staff"),
    ("https://evil.example/staff/", "/staff/"),
    ("//evil.example/staff/", "/staff/"),
    ("/\\evil.example", "/staff/"),
    ("/chat", "/staff/"),
    ("/staffevil", "/staff/"),
    ("/staff/login?next=/x", "/staff/"),
    ("/staff/static/staff.css", "/staff/"),
    ("javascript:alert(1)", "/staff/"),
    ("/staff/\r\nSet-Cookie: x=1", "/staff/"),
    ("", "/staff/"),
    (None, "/staff/"),
])
def test_safe_next_keeps_only_local_staff_paths(value, expected):
    assert safe_next(value) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("LD-2026-000123", "LD-2026-000123"),
    (" ld-2026-000123 ", "LD-2026-000123"),
    ("LD－2026－000123", "LD-2026-000123"),
    ("h-000012", "H-000012"),
    ("U-000003", "U-000003"),
    ("LD-2026", None),
    ("' OR 1=1 --", None),
])
def test_references(text, expected):
    assert normalise_reference(text) == expected
