"""Entity extraction: locality, child_age, phone, months.

Rule-based on normalised text. Offsets refer to the normalised text (NFKC + t2s keep
lengths for Chinese, but emoji removal and whitespace collapsing may shift them).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from nlu.geo import Gazetteer, gazetteer

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9}
_NUM = r"(?:\d+(?:\.\d+)?|[零〇一二两俩三四五六七八九十]{1,3})"

_AGE = re.compile(rf"(?P<n>{_NUM})\s*(?:周岁|岁)(?P<half>半)?(?:(?P<m>{_NUM})个?月)?")
_AGE_GRADE = re.compile(rf"(?P<n>{_NUM})\s*(?:周岁|岁)")
_MONTHS = re.compile(
    rf"(?:(?P<half_year>大?半年)|(?P<n>{_NUM})\s*(?P<unit>年|个月|个多月|月)(?P<half>半)?(?P<more>多)?)"
)
# Mainland mobile: optional +86/0086/86, 11 digits starting 1[3-9], separators allowed.
_PHONE = re.compile(r"(?<!\d)(?:(?:\+|00)?86[\s-]*)?(1[3-9]\d)[\s-]*(\d{4})[\s-]*(\d{4})(?!\d)")


@dataclass(frozen=True)
class ExtractedEntity:
    entity: str
    value: object
    start: int
    end: int
    text: str
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


def extract_locality(text: str, geo: Gazetteer | None = None) -> list[ExtractedEntity]:
    geo = geo or gazetteer()
    region = geo.resolve(text)
    if region is None:
        return []
    mentions = [m for m in geo.mentions(text) if m.code in geo.chain(region.code)]
    start = min(m.start for m in mentions)
    end = max(m.end for m in mentions)
    return [ExtractedEntity("locality", region.code, start, end, text[start:end],
                            {"name": geo.full_name(region.code)})]


def extract_all(text: str, geo: Gazetteer | None = None) -> list[ExtractedEntity]:
    ages = extract_child_age(text)
    age_spans = [(e.start, e.end) for e in ages]
    months = [m for m in extract_months(text)
              if not any(s <= m.start < e for s, e in age_spans)]
    entities = extract_locality(text, geo) + ages + months + extract_phone(text)
    return sorted(entities, key=lambda e: e.start)


def _tidy(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value
