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

from nlu.geo import Gazetteer

YES, NO, UNSURE = "yes", "no", "unsure"

_SAME_CITY = re.compile(r"同一个?(?:城市|市)|同城|市内|市里(?:的)?(?:几个|两个)?区|区(?:之间|和区)|从.{1,6}区搬到.{1,6}区")
_MOVE = re.compile(r"从([^，。,\s从到]{2,6}?)搬(?:家)?到了?([^，。,\s住了]{2,6})")
_ACROSS = re.compile(r"老家|外地|外省|外市|外县|户口不在|户口在老家|户口还在|户籍不在|打工|从.{1,10}(?:来|过来|搬来|搬过来|到)|随迁|跨县|跨省|跨市")
_NOT_ACROSS = re.compile(r"(?:户口|户籍)(?:就)?(?:在|是)(?:本地|这边|这里|本县|本区)|本地户口|同一个县|同一个区|没(?:有)?(?:搬|离开)|"
                         r"没出(?:县|区|本县)")

# clause (四) in one line of a phone screen (its whole text is the eligibility item's, behind 详细)
RULE_SHORT = "流动儿童：不满16周岁，随父母（一方也算）或监护人离开户籍地、跨县域在外地住满6个月（同城中心城区市辖区之间搬家不算）。"
ASK_ACROSS = "是不是从户口所在的县（区）以外搬过来的"


@dataclass(frozen=True)
class Verdict:
    answer: str  # yes / no / unsure
    reasons: tuple[str, ...]
    missing: tuple[str, ...]


def update_facts(facts: dict, text: str, *, age: float | None, months: float | None, geo: Gazetteer,
                 hukou: str | None = None, residence: str | None = None, answer: str | None = None) -> dict:
    """Add what this message says to the facts of the check: the entities the parse found (age,
    months, the ``locality`` of each role) and the words of a move. ``answer`` is the parent's
    yes/no ("affirm"/"deny") to the check's last question."""
    if age is not None:
        facts["child_age"] = age
    if months is not None:
        facts["months"] = months
    if hukou:
        facts["hukou"] = hukou
    if residence:
        facts["residence"] = residence
    if _SAME_CITY.search(text):
        facts["same_city"] = True
    if _NOT_ACROSS.search(text):
        facts["across"] = False
    elif _districts_of_one_city(text, geo):
        pass  # "从天河搬到海珠": central districts or not is the city's own plan — asked, never assumed
    elif _ACROSS.search(text):
        facts["across"] = True
    elif facts.get("hukou") and facts.get("residence"):
        facts["across"] = _across(facts["hukou"], facts["residence"], geo)
    if answer and facts.get("asked") == "across":
        facts["across"] = answer == "affirm"
    return facts


def _districts_of_one_city(text: str, geo: Gazetteer) -> bool:
    """"从天河搬到海珠": a move from one district (区) of a city to another of the same city."""
    move = _MOVE.search(text)
    if not move:
        return False
    a, b = geo.resolve(move.group(1)), geo.resolve(move.group(2))
    return bool(a and b and a.code != b.code and a.parent == b.parent and a.parent
                and a.name.endswith("区") and b.name.endswith("区"))


def _across(hukou: str, residence: str, geo: Gazetteer) -> bool | None:
    """Whether two places are in different counties; None when it cannot be told (one is only
    a province or a city that contains the other)."""
    a, b = geo.chain(hukou), geo.chain(residence)
    if hukou in b or residence in a:  # one contains the other: cannot tell
        return None
    return True


def check(facts: dict) -> Verdict:
    """The verdict on the facts so far. Reasons are short: a NO gives the one fact that decides it,
    a YES or an open check the facts that meet the rule ("9岁", "住了24个月")."""
    age, months = facts.get("child_age"), facts.get("months")
    if age is not None and age >= 16:
        return Verdict(NO, (f"孩子{_num(age)}岁，已满16周岁。",), ())
    if facts.get("same_city"):
        return Verdict(NO, ("只在同一城市中心城区的几个区之间搬家。",), ())
    if facts.get("across") is False:
        return Verdict(NO, ("没有离开户口所在的县（区）。",), ())
    if months is not None and months < 6:
        return Verdict(NO, (f"在这边住了{_num(months)}个月，还不满6个月（住满6个月、其他条件也符合就算）。",), ())
    reasons: list[str] = []
    missing = []
    if age is None:
        missing.append("孩子几周岁")
    else:
        reasons.append(f"{int(age)}岁" if age >= 1 else "不满1岁")
    if months is None:
        missing.append("在这边住了多久")
    else:
        reasons.append(f"住了{int(months)}个月")
    if facts.get("across"):
        reasons.append("从户籍县以外搬来")
    else:
        missing.append(ASK_ACROSS)
    if not missing:
        return Verdict(YES, tuple(reasons), ())
    return Verdict(UNSURE, tuple(reasons), tuple(missing))


def verdict_line(verdict: Verdict) -> str:
    """The verdict and why, on one line."""
    if verdict.answer == YES:
        return f"按您说的，孩子属于流动儿童（{'，'.join(verdict.reasons)}）。"
    if verdict.answer == NO:
        return "按您说的，孩子目前不算流动儿童：" + "".join(verdict.reasons)
    known = f"（已知：{'，'.join(verdict.reasons)}）" if verdict.reasons else ""
    return f"还不能确定{known}。请告诉我：" + "；".join(verdict.missing) + "。"


def mentions_a_move(text: str) -> bool:
    """"是从外省搬过来的", "都在同一个区": an answer about where the family came from."""
    return bool(_ACROSS.search(text) or _NOT_ACROSS.search(text) or _SAME_CITY.search(text))


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
