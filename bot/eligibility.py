"""Does this child count as a migrant child (流动儿童)? The rule of clause (四), checked on what
the parent said: under 16, living across a county boundary from the household registration,
for 6 months or more; moves between central urban districts of one city do not count.

The check may take several turns ("娃7岁" / "来杭州三年了" / "户口在安徽"): the facts gathered so far
live in the conversation state (``Facts``), each answer adds to them, and a yes or no answers
the question the check asked last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlu.entities import locality_roles
from nlu.geo import Gazetteer

YES, NO, UNSURE = "yes", "no", "unsure"

_SAME_CITY = re.compile(r"同一个?(?:城市|市)|同城|市内|市里(?:的)?(?:几个|两个)?区|区(?:之间|和区)|从.{1,6}区搬到.{1,6}区")
_ACROSS = re.compile(r"老家|外地|外省|外市|外县|户口不在|户口在老家|户口还在|户籍不在|打工|从.{1,10}(?:来|过来|搬来|搬过来|到)|随迁|跨县|跨省|跨市")
_NOT_ACROSS = re.compile(r"(?:户口|户籍)(?:就)?(?:在|是)(?:本地|这边|这里|本县|本区)|本地户口|同一个县|同一个区|没(?:有)?(?:搬|离开)")

RULE = ("按《加强流动儿童关爱保护行动方案》二、（四）：不满十六周岁、随父母或其他监护人离开户籍地，"
        "跨县域在外地居住或生活6个月以上的未成年人，属于流动儿童；只在同一城市中心城区的几个区之间搬家的，不算。")
ASK_ACROSS = "是不是从户口所在的县（区）以外搬过来的"


@dataclass(frozen=True)
class Verdict:
    answer: str  # yes / no / unsure
    reasons: tuple[str, ...]
    missing: tuple[str, ...]


def update_facts(facts: dict, text: str, *, age: float | None, months: float | None, geo: Gazetteer,
                 answer: str | None = None) -> dict:
    """Add what this message says to the facts of the check. ``answer`` is the parent's yes/no
    ("affirm"/"deny") to the check's last question."""
    if age is not None:
        facts["child_age"] = age
    if months is not None:
        facts["months"] = months
    hukou, residence = locality_roles(text, geo)
    if hukou:
        facts["hukou"] = hukou
    if residence:
        facts["residence"] = residence
    if _SAME_CITY.search(text):
        facts["same_city"] = True
    if _NOT_ACROSS.search(text):
        facts["across"] = False
    elif _ACROSS.search(text):
        facts["across"] = True
    elif facts.get("hukou") and facts.get("residence"):
        facts["across"] = _across(facts["hukou"], facts["residence"], geo)
    if answer and facts.get("asked") == "across":
        facts["across"] = answer == "affirm"
    return facts


def _across(hukou: str, residence: str, geo: Gazetteer) -> bool | None:
    """Whether two places are in different counties; None when it cannot be told (one is only
    a province or a city that contains the other)."""
    a, b = geo.chain(hukou), geo.chain(residence)
    if hukou in b or residence in a:  # one contains the other: cannot tell
        return None
    return True


def check(facts: dict) -> Verdict:
    age, months = facts.get("child_age"), facts.get("months")
    reasons: list[str] = []
    if age is not None and age >= 16:
        return Verdict(NO, (f"孩子{_num(age)}岁，方案的范围是不满16周岁的孩子。",), ())
    if facts.get("same_city"):
        return Verdict(NO, ("只在同一城市中心城区的几个区之间搬家，不算流动儿童（不过普通的公共服务仍然可以问我）。",), ())
    if facts.get("across") is False:
        return Verdict(NO, ("没有离开户口所在的县（区），不算流动儿童（不过普通的公共服务仍然可以问我）。",), ())
    if months is not None and months < 6:
        return Verdict(NO, (f"在这边住了{_num(months)}个月，还不满6个月；住满6个月后就符合这一条了。",), ())
    missing = []
    if age is None:
        missing.append("孩子几周岁")
    else:
        reasons.append(f"孩子{_num(age)}岁，不满16周岁。")
    if months is None:
        missing.append("在这边住了多久")
    else:
        reasons.append(f"已经住了{_num(months)}个月，满6个月。")
    if facts.get("across"):
        reasons.append("是从外地（户籍地所在县以外）过来的。")
    else:
        missing.append(ASK_ACROSS)
    if not missing:
        return Verdict(YES, tuple(reasons), ())
    return Verdict(UNSURE, tuple(reasons), tuple(missing))


def mentions_a_move(text: str) -> bool:
    """"是从外省搬过来的", "都在同一个区": an answer about where the family came from."""
    return bool(_ACROSS.search(text) or _NOT_ACROSS.search(text) or _SAME_CITY.search(text))


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
