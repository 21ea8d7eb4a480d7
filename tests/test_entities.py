import pytest

from nlu.entities import chinese_number, extract_all, normalise_phone
from nlu.normalize import normalize


def _values(text, name):
    return [e.value for e in extract_all(normalize(text)) if e.entity == name]


@pytest.mark.parametrize("text, age", [
    ("孩子八岁", 8), ("十二周岁了", 12), ("娃一岁半", 1.5), ("我家孩子8岁", 8), ("两岁三个月", 2.25),
    ("二十岁", 20), ("孩子１０岁", 10), ("十三四岁的孩子", 13), ("五六岁", 5),
])
def test_child_age_digits_and_numerals(text, age):
    assert _values(text, "child_age") == [age]


@pytest.mark.parametrize("text, months", [
    ("来了半年", 6), ("在这边两年了", 24), ("住了三个月", 3), ("一年半", 18), ("待了6个月", 6),
    ("两年多", 24), ("大半年了", 8),
])
def test_months(text, months):
    assert _values(text, "months") == [months]


def test_age_is_not_a_duration_and_years_are_not_durations():
    assert _values("孩子8岁", "months") == []
    assert _values("2025年来的", "months") == []


@pytest.mark.parametrize("text", ["13812345678", "+86 138 1234 5678", "138-1234-5678", "0086-13812345678",
                                  "电话：１３８１２３４５６７８"])
def test_phone_forms(text):
    assert _values(text, "phone") == ["13812345678"]
    assert normalise_phone(normalize(text)) == "13812345678"


def test_not_a_mobile():
    assert _values("02012345678", "phone") == [] and _values("1381234567", "phone") == []


@pytest.mark.parametrize("text, code", [
    ("我家孩子8岁，在深圳宝安，想申请帮扶", "440306"), ("我现在住在武汉市洪山区", "420111"),
    ("我们家在东莞", "441900"), ("刚搬到成都", "510100"), ("住在廣州天河", "440106"),
])
def test_locality_short_forms_resolve_to_codes(text, code):
    entities = [e for e in extract_all(normalize(text)) if e.entity == "locality"]
    assert [e.value for e in entities] == [code]
    assert entities[0].to_rasa()["name"]


def test_first_message_with_several_answers():
    found = {e.entity: e.value for e in extract_all(normalize("我家孩子8岁，在深圳宝安，想申请帮扶"))}
    assert found == {"child_age": 8, "locality": "440306"}


def test_chinese_number():
    assert [chinese_number(t) for t in ["十", "十五", "二十三", "两", "七", "abc", "十三四", "三十十"]] == \
        [10, 15, 23, 2, 7, None, 13, None]


@pytest.mark.parametrize(("text", "expected"), [
    ("户口在河南周口郸城 现在住深圳宝安", {"hukou": "411625", "residence": "440306"}),
    ("俺们从周口老家出来到郑州打工快一年了", {"hukou": "411600", "residence": "410100"}),
    ("我们是江西吉安人 在深圳做了十年", {"hukou": "360800", "residence": "440300"}),
    ("户口在河南", {"hukou": "410000"}),
    ("我在深圳宝安", {"residence": "440306"}),
    ("深圳人民医院在哪", {"residence": "440300"}),
    ("我们是河南户口，想申请帮扶", {"hukou": "410000"}),
    ("老家是在河南", {"hukou": "410000"}),
    ("户口河南住深圳宝安", {"hukou": "410000", "residence": "440306"}),
    ("深圳人社局电话多少", {"residence": "440300"}),
    ("想申请帮扶 我们从宝安搬到了南山", {}),  # moved away from 宝安; 南山 alone is several places
])
def test_locality_roles_residence_and_household_registration(text, expected):
    """Rasa entity roles: where the family lives and the household registration, never one for the other."""
    found = {e.extra["role"]: e.value for e in extract_all(normalize(text)) if e.entity == "locality"}
    assert found == expected
    rasa = [e.to_rasa() for e in extract_all(normalize(text)) if e.entity == "locality"]
    assert {r["role"] for r in rasa} == set(expected)


@pytest.mark.parametrize(("text", "age"), [("孩子今年17了", 17), ("娃都十二了", 12), ("闺女快6了", None),
                                           ("孩子今年3月份来的", None), ("娃住了3年了", None), ("孩子今年2025了", None)])
def test_age_without_sui(text, age):
    found = [e.value for e in extract_all(normalize(text)) if e.entity == "child_age"]
    assert found == ([age] if age is not None else [])
