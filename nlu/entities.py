"""Entity extraction: locality, child_age, phone, months.

Rule-based on normalised text. Offsets refer to the normalised text (NFKC + t2s keep
lengths for Chinese, but emoji removal and whitespace collapsing may shift them).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from nlu.geo import Gazetteer, gazetteer
from nlu.training import Entity

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9}
_NUM = r"(?:\d+(?:\.\d+)?|[零〇一二两俩三四五六七八九十]{1,3})"

_AGE = re.compile(rf"(?P<n>{_NUM})\s*(?:周岁|岁)(?P<half>半)?(?:(?P<m>{_NUM})个?月)?")
_AGE_GRADE = re.compile(rf"(?P<n>{_NUM})\s*(?:周岁|岁)")
# "孩子今年17了", "娃都12啦": an age without 岁, right after the child and before 了
_AGE_BARE = re.compile(r"(?:孩子|娃|闺女|儿子|女儿|小孩|姑娘)(?:今年|都|已经|现在)?(?P<n>\d{1,2}|[十一二两三四五六七八九]{1,3})"
                       r"(?:了|啦)(?!年|月|号|天|块|元|万|个|次|点|分)")
_MONTHS = re.compile(
    rf"(?:(?P<half_year>大?半年)|(?P<n>{_NUM})\s*(?P<unit>年|个月|个多月|月)(?P<half>半)?(?P<more>多)?)"
)
# Mainland mobile: optional +86/0086/86, 11 digits starting 1[3-9], separators allowed.
_PHONE = re.compile(r"(?<!\d)(?:(?:\+|00)?86[\s-]*)?(1[3-9]\d)[\s-]*(\d{4})[\s-]*(\d{4})(?!\d)")


@dataclass(frozen=True)
class ExtractedEntity(Entity):
    """An entity the rules found in a message: the span a training annotation marks, with the
    value parsed (an age or a count of months is a number) and what more the rules know of it
    (a place's full name and role)."""

    value: object
    extra: dict | None = None

    def to_rasa(self) -> dict:
        out = {"entity": self.entity, "value": self.value, "start": self.start, "end": self.end,
               "extractor": "TongbanRules"}
        if self.extra:
            out.update(self.extra)
        return out

    def as_dict(self) -> dict:
        return asdict(self)


def chinese_number(text: str) -> float | None:
    """'12', '八', '十二', '二十三', '两' → number; None if not a number."""
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    if any(ch not in _DIGITS and ch != "十" for ch in text):
        return None
    if "十" in text:
        tens, _, ones = text.partition("十")
        if len(tens) > 1 or "十" in ones:
            return None
        # 十三四 (13 or 14) → the lower bound
        value = (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[ones[0]] if ones else 0)
        return float(value)
    # 五六 (5 or 6) → the lower bound; a single digit as it is
    return float(_DIGITS[text[0]]) if len(text) <= 2 else None


def extract_child_age(text: str) -> list[ExtractedEntity]:
    out = []
    for match in _AGE.finditer(text):
        years = chinese_number(match.group("n"))
        if years is None:
            continue
        if match.group("half"):
            years += 0.5
        elif match.group("m"):
            months = chinese_number(match.group("m")) or 0
            years += round(months / 12, 2)
        out.append(ExtractedEntity("child_age", _tidy(years), match.start(), match.end(), match.group()))
    if not out:
        for match in _AGE_BARE.finditer(text):
            years = chinese_number(match.group("n"))
            if years is not None and 0 < years <= 18:
                out.append(ExtractedEntity("child_age", _tidy(years), match.start("n"), match.end(), match.group()[match.start("n") - match.start():]))
    return out


def extract_months(text: str) -> list[ExtractedEntity]:
    out = []
    for match in _MONTHS.finditer(text):
        if match.group("half_year"):
            value = 8.0 if match.group("half_year").startswith("大") else 6.0
        else:
            n = chinese_number(match.group("n"))
            if n is None:
                continue
            unit = match.group("unit")
            value = n * 12 if unit == "年" else n
            if match.group("half"):
                value += 6 if unit == "年" else 0.5
        # "8岁" is an age; "2025年" is a year: skip years written as dates
        if match.group("n") and match.group("unit") == "年" and (chinese_number(match.group("n")) or 0) > 100:
            continue
        out.append(ExtractedEntity("months", _tidy(value), match.start(), match.end(), match.group()))
    return out


def normalise_phone(text: str) -> str | None:
    """A mainland mobile number in 11-digit form, or None."""
    match = _PHONE.search(text)
    return "".join(match.groups()) if match else None


def extract_phone(text: str) -> list[ExtractedEntity]:
    return [ExtractedEntity("phone", "".join(m.groups()), m.start(), m.end(), m.group())
            for m in _PHONE.finditer(text)]


# A place named right after one of these is where the household registration is, not where the
# family lives: the ``locality`` entity then carries the role ``hukou`` (Rasa's entity roles).
_HUKOU_MARK = re.compile(r"(?:户口|户籍|老家|籍贯|来自|从|原籍)(?:是在|一直在|是|在|都在|还在|落在)?$")
# ... or right before one of these: 河南户口, 江西吉安人 (a person from there), 周口老家
_NATIVE_MARK = re.compile(r"的?(?:户口|户籍|籍|老家)|人(?=$|[\s，。,.!?！？、的在来啊呀吧哦嘛呢])")
# 从宝安搬到南山: a place moved away from, neither where they live nor (necessarily) the hukou
_MOVED_FROM = re.compile(r"^(?:区|市|县)?(?:搬|迁)")
# names that continue each other (河南周口, 河南省周口市, 河南 周口) are one place
_CHAIN_GAP = re.compile(r"^[省市区县 ]?$")
RESIDENCE, HUKOU, MOVED_FROM = "residence", "hukou", "moved_from"


def _roled_mentions(text: str, geo: Gazetteer) -> list[tuple[object, str]]:
    """Each place mention with its role. Names that follow each other (河南周口, 河南省周口市) are one
    place and share the role: household registration when a mark stands before the first (户口在…)
    or the last is followed by 人 (我们是江西吉安人); else residence."""
    chains: list[list] = []
    for mention in geo.mentions(text):
        if chains and mention.start >= chains[-1][-1].end and _CHAIN_GAP.match(text[chains[-1][-1].end:mention.start]):
            chains[-1].append(mention)
        else:
            chains.append([mention])
    out = []
    for chain in chains:
        before = text[max(0, chain[0].start - 4):chain[0].start]
        after = text[chain[-1].end:chain[-1].end + 3]
        mark = _HUKOU_MARK.search(before)
        if mark and mark.group().startswith("从") and _MOVED_FROM.match(after):
            role = MOVED_FROM
        elif mark or _NATIVE_MARK.match(after):
            role = HUKOU
        else:
            role = RESIDENCE
        out += [(mention, role) for mention in chain]
    return out


def _most_specific(mentions: list, geo: Gazetteer) -> str | None:
    if not mentions:
        return None
    region = geo.resolve(" ".join(dict.fromkeys(m.surface for m in mentions)))
    if region is not None:
        return region.code
    codes = {m.code for m in mentions}
    return codes.pop() if len(codes) == 1 else None  # a name several places share (南山) is no place


def extract_locality(text: str, geo: Gazetteer | None = None) -> list[ExtractedEntity]:
    """``locality`` entities: where the family lives (role ``residence``) and, when the message says
    so, the household registration (role ``hukou``) — never one taken for the other."""
    geo = geo or gazetteer()
    mentions = _roled_mentions(text, geo)
    if all(role == RESIDENCE for _, role in mentions):  # one place, read from the whole message
        region = geo.resolve(text)
        if region is None:
            return []
        spans = [m for m, _ in mentions if m.code in geo.chain(region.code)]
        return [_locality(text, geo, region.code, spans, RESIDENCE)]
    out = []
    for role in (RESIDENCE, HUKOU):
        chosen = [m for m, r in mentions if r == role]
        code = _most_specific(chosen, geo)
        if code is not None:
            spans = [m for m in chosen if m.code in geo.chain(code)] or chosen
            out.append(_locality(text, geo, code, spans, role))
    return out


def _locality(text: str, geo: Gazetteer, code: str, mentions: list, role: str) -> ExtractedEntity:
    start = min(m.start for m in mentions) if mentions else 0
    end = max(m.end for m in mentions) if mentions else len(text)
    return ExtractedEntity("locality", code, start, end, text[start:end], {"name": geo.full_name(code), "role": role})


def extract_all(text: str, geo: Gazetteer | None = None) -> list[ExtractedEntity]:
    ages = extract_child_age(text)
    age_spans = [(e.start, e.end) for e in ages]
    months = [m for m in extract_months(text)
              if not any(s <= m.start < e for s, e in age_spans)]
    entities = extract_locality(text, geo) + ages + months + extract_phone(text)
    return sorted(entities, key=lambda e: e.start)


def _tidy(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value
