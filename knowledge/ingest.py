"""Turn a published official notice (web page or plain text) into checklist clauses.

Pipeline: ``knowledge.readers`` (a file → text) → ``knowledge.clean_text.clean_text`` (HTML → text,
pinyin annotations dropped, Traditional → Simplified, whitespace and full-width forms normalised,
site boilerplate dropped) → ``split_outline`` (一、 parts, （一） clauses, the closing department
line) → ``guess_category`` (keyword scoring over ``knowledge.categories.CATEGORIES``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.categories import CATEGORIES
from knowledge.clean_text import clean_text
from knowledge.errors import IngestError

PREAMBLE_REF = "前言"
FALLBACK_CATEGORY = "child_protection"
_TITLE_MAX = 30
_TITLE_WEIGHT = 3  # a keyword in the title counts this many extra times


@dataclass(frozen=True)
class ParsedClause:
    clause: str  # outline reference: "三、（七）", "（七）" (no part), "二、" (part without clauses) or "前言"
    title: str  # the lead heading, or the first ~30 characters when there is none
    content: str  # the body after the heading (the whole text if no heading), department line removed
    departments: list[str]  # from the closing parenthesised department line, in order
    category: str  # best-guess code from knowledge.categories.CATEGORIES


# ---------------------------------------------------------------- outline

_NUM = r"(?:[一二三四五六七八九]?十[一二三四五六七八九]?|[一二三四五六七八九])"
_PART_RE = re.compile(rf"^({_NUM})、\s*(.*)$")
_CLAUSE_RE = re.compile(rf"^[(（]\s*({_NUM})\s*[)）]\s*(.*)$")
# a row of a table as the kept source text writes it (knowledge.ingest_store.table_source_text)
_ROW_RE = re.compile(r"^(第\d{1,6}项)\u3000(.*)$")
_INLINE_CLAUSE_RE = re.compile(rf"\s*[(（]\s*({_NUM})\s*[)）]\s*")
_DEPT_TAIL_RE = re.compile(r"[(（]([^()（）\n]{2,160})[)）][\s。；;.]*$")
_NOT_DEPT_RE = re.compile(r"简称|详见|见附件|除外|包括|含|以下|例如|如")
_ROLE_END_RE = re.compile(r"(?:负责|牵头|配合|参与|落实)$")
_ROLE_SUFFIX_RE = re.compile(
    r"(?:按照?职责分工|按职责|分别|共同|牵头|负责|配合|参与|落实|等(?:有关|相关)?(?:部门|单位)?)+$")
_AGENCY_END_RE = re.compile(r"(?:部|委|局|厅|联|办|办公室|院|会|府|中央|团|站|中心|署|总局)$")
_EPILOGUE_RE = re.compile(r"^(?:附件\s*\d*\s*[:：]?|抄送|印发|\d{4}年\d{1,2}月\d{1,2}日$|\d{4}-\d{1,2}-\d{1,2}$)")
_SIGNATURE_RE = re.compile(r"^[^，。,；;]{2,25}(?:部|委|局|厅|办|办公室|政府|委员会|联合会)$")


@dataclass
class _Block:
    ref: str
    lines: list[str]
    part_heading: bool = False  # an 一、 line; dropped when clauses follow it


def _group_blocks(text: str) -> tuple[list[str], list[_Block]]:
    """Preamble lines, then one block per part heading and per clause, in order."""
    preamble: list[str] = []
    blocks: list[_Block] = []
    part = ""
    for line in filter(None, (ln.strip() for ln in text.split("\n"))):
        part_m, clause_m, row_m = _PART_RE.match(line), _CLAUSE_RE.match(line), _ROW_RE.match(line)
        if row_m:
            blocks.append(_Block(row_m.group(1), [row_m.group(2)]))
        elif part_m:
            part, heading = part_m.group(1) + "、", part_m.group(2)
            inline = _INLINE_CLAUSE_RE.search(heading)
            head = heading[: inline.start()] if inline else heading
            blocks.append(_Block(part, [head] if head else [], part_heading=True))
            if inline:  # 一、总体要求（一）指导思想。…
                blocks.append(_Block(f"{part}（{inline.group(1)}）", [heading[inline.end():]]))
        elif clause_m:
            blocks.append(_Block(f"{part}（{clause_m.group(1)}）", [clause_m.group(2)]))
        elif blocks:
            blocks[-1].lines.append(line)
        else:
            preamble.append(line)
    return preamble, blocks


def _department_list(inner: str) -> list[str]:
    """Departments named in a closing parenthetical, or [] when it is an ordinary parenthetical."""
    inner = inner.strip()
    if _NOT_DEPT_RE.search(inner):
        return []
    items: list[str] = []
    for item in re.split(r"[、，,；;]", inner):
        item = _ROLE_SUFFIX_RE.sub("", item.strip()).strip()
        if item and item not in items:
            items.append(item)
    if not items or any(len(item) > 25 for item in items):
        return []
    if _ROLE_END_RE.search(inner) or all(_AGENCY_END_RE.search(item) for item in items):
        return items
    return []


def _split_department_line(text: str) -> tuple[str, list[str]]:
    """(text without the department line, departments); unchanged text and [] when there is none."""
    match = _DEPT_TAIL_RE.search(text)
    departments = _department_list(match.group(1)) if match else []
    if not match or not departments:
        return text, []
    body = text[: match.start()].rstrip()
    if "。" in text[match.end(1) + 1:] and not body.endswith(("。", "；", ";")):  # 工作（X负责）。 keeps its full stop
        body += "。"
    return body, departments


def _trim_epilogue(lines: list[str]) -> list[str]:
    """Drop what follows the document's last clause: signature, date, 附件 list."""
    ends = [i for i, line in enumerate(lines) if _split_department_line(line)[1]]
    if ends:
        return lines[: ends[-1] + 1]
    for i, line in enumerate(lines[1:], 1):
        if _EPILOGUE_RE.match(line):
            lines = lines[:i]
            break
    while len(lines) > 1 and _SIGNATURE_RE.match(lines[-1]):
        lines = lines[:-1]
    return lines


def _is_heading(candidate: str) -> bool:
    return 0 < len(candidate) <= _TITLE_MAX and not re.search(r"[，,；;。]", candidate)


def _split_title(text: str) -> tuple[str, str]:
    """(title, content): a short heading line or sentence is the title; else the first ~30 chars."""
    first, _, rest = text.partition("\n")
    if rest and _is_heading(first.rstrip("。:： ")):
        return first.rstrip("。:： "), rest.strip()
    head, sep, body = text.partition("。")
    if sep and "\n" not in head and _is_heading(head):
        return head, body.strip() or head
    lead = re.match(r"[^。；;！？!?\n]*", text)
    title = lead.group(0) if lead and 0 < len(lead.group(0)) <= _TITLE_MAX else text[:_TITLE_MAX]
    return title.strip(), text


def _make_clause(ref: str, lines: list[str], *, departments_line: bool = True) -> ParsedClause:
    text = "\n".join(line for line in lines if line)
    text, departments = _split_department_line(text) if departments_line else (text, [])
    title, content = _split_title(text)
    return ParsedClause(ref, title, content, departments, guess_category(content, title=title))


def split_outline(text: str) -> list[ParsedClause]:
    """Clauses of cleaned text in document order; a non-trivial preamble becomes clause "前言"."""
    preamble, blocks = _group_blocks(text)
    # a part heading followed by its clauses is not a clause itself (any intro text under it is dropped)
    blocks = [b for i, b in enumerate(blocks)
              if not (b.part_heading and i + 1 < len(blocks) and not blocks[i + 1].part_heading)]
    if blocks:
        blocks[-1].lines = _trim_epilogue(blocks[-1].lines)
    clauses = []
    if len("".join(preamble)) > 20:
        clauses.append(_make_clause(PREAMBLE_REF, preamble, departments_line=False))
    clauses.extend(_make_clause(b.ref, b.lines) for b in blocks)
    return clauses


# ---------------------------------------------------------------- categories

# "word:weight" (weight 2 when omitted); nested words (公交 / 学生公交卡) add up on purpose.
_KEYWORD_TABLE: dict[str, str] = {
    "preschool": "学前教育:3 幼儿园:3 入园:3 公办园 民办园 学前 保教费:3 托幼:1",
    "compulsory_education": "义务教育:3 入学:3 就近入学:3 两为主:3 两纳入:3 转学:3 插班:3 学籍:3 就学 学位 "
                            "公办学校 随迁子女 小学 初中 居住证:1",
    "exams": "中考:3 高考:3 中高考:3 升学考试:3 异地高考:3 报考:3 招生考试:3 考试 普通高中",
    "student_aid": "资助:3 助学金:3 奖学金:3 家庭经济困难学生:3 免学费:3 助学贷款:3 营养改善 学费 生活补助",
    "medical_insurance": "医保:3 医疗保险:3 参保:3 居民医保:3 缴费 医疗保障 报销",
    "medical_settlement": "异地就医:3 就医结算:3 直接结算:3 跨省就医:3 备案 结算",
    "immunization": "疫苗:3 接种:3 免疫规划:3 预防接种:3 接种证:3 补种:3 查验:1 疾控:1",
    "childcare": "托育:3 托儿所:3 婴幼儿照护:3 托位:3 托班:3 3岁以下 婴幼儿",
    "health_literacy": "急救:3 卫生应急:3 自救互救:3 卫生常识:3 心肺复苏:3 健康素养:3 健康教育 健康知识 应急意识",
    "disability": "残疾:3 康复救助:3 孤独症:3 辅助器具:3 康复 残联 两项补贴 残疾人 特殊教育",
    "basic_living": "基本生活:3 孤儿:3 事实无人抚养:3 低保:3 最低生活保障:3 特困:3 生活保障 生活费 保障标准:1 跨省通办:1",
    "temporary_assistance": "临时救助:3 急难:3 救急难:3 生活无着:3 突发 求助:1 救助:1 过渡性:1",
    "housing": "住房:3 公共租赁住房:3 公租房:3 租赁补贴:3 保障性住房:3 实物配租:3 租房 房源 轮候 住房城乡建设:1",
    "transport": "公交:3 公交卡:3 乘车:3 校车:3 交通出行:3 地铁:3 交通运输 公交线路 票价 出行",
    "charity": "慈善:3 捐赠:3 捐款:3 募捐:3 公益项目 爱心 结对 设立项目 志愿服务:1 帮扶:1",
    "family_education": "家庭教育:3 家长学校:3 亲子 育儿 家风 训诫 劝诫 家庭教育指导 监护职责:1 家长:1",
    "mental_health": "心理:3 心理健康:3 心理辅导:3 情绪疏导:3 心理咨询:3 12355:3 心理援助:3 心理慰藉:3 危机干预:3 "
                     "抑郁:3 情绪 精神障碍 转介 疏导 热线:1",
    "culture_activities": "精神文化:3 文娱:3 童心港湾:3 儿童之家:3 儿童活动中心:3 文化活动 阅读 书信 兴趣小组 社团 "
                          "课外 兴趣培训 夏令营 图书 文化服务 研学 节目:1",
    "online_safety": "网络空间:3 网络环境:3 网信:3 网络安全:3 沉迷:3 防沉迷:3 网络欺凌:3 不良信息:3 网络素养:3 "
                     "上网 游戏 短视频 网络:1",
    "urban_integration": "城市融入:3 融入城市:3 社区融入:3 儿童友好城市:3 融入 城市文化 社区环境 儿童友好 城市生活 "
                         "熟悉社区 社区实践 新市民",
    "parent_employment": "就业:3 职业培训:3 职业介绍:3 创业:3 技能培训:3 求职:3 稳岗:3 招聘 岗位 灵活就业 "
                         "人力资源社会保障 劳动:1 务工:1",
    "child_protection": "强制报告:3 侵害:3 虐待:3 遗弃:3 家暴:3 家庭暴力:3 性侵:3 拐卖:3 撤销监护:3 拨打110:3 "
                        "未成年人保护工作站:3 救助保护机构 临时监护 长期监护 侵犯 报警 失踪 走失 欺凌 人身安全 "
                        "未成年人保护 公安机关:1",
    "eligibility": "摸排:3 摸底:3 不满十六周岁:3 跨县域:3 6个月以上:3 流动儿童范围:3 监测 排查 信息采集 数据采集 "
                   "信息系统 认定:1 数据:1",
    "priority_care": "台账:3 重点关爱:3 走访探视:3 走访 探视 档案 服务对象:1 监护缺失:1",
}
# Stock phrases of official prose that would otherwise hit keywords (深入学习 contains 入学).
_NOISE_RE = re.compile(r"深入学习|学习贯彻")


CATEGORY_KEYWORDS: dict[str, list[tuple[str, int]]] = {
    code: [(word, int(weight or 2)) for word, _, weight in (w.partition(":") for w in spec.split())]
    for code, spec in _KEYWORD_TABLE.items()
}


def _score(text: str, code: str) -> int:
    return sum(weight * text.count(word) for word, weight in CATEGORY_KEYWORDS.get(code, ()))


def guess_category(text: str, *, title: str = "") -> str:
    """The best-scoring category code; title keywords weigh more; ties go to the first code.

    台账 and 摸排/监测 are in the table (priority_care, eligibility), so text that names no
    service at all falls back to ``child_protection`` — the plan's general care-and-protection
    area — rather than to an arbitrary service.
    """
    text, title = _NOISE_RE.sub("", text), _NOISE_RE.sub("", title)
    scores = {code: _score(text, code) + _TITLE_WEIGHT * _score(title, code) for code in CATEGORIES}
    best = max(scores, key=lambda code: scores[code])
    return best if scores[best] > 0 else FALLBACK_CATEGORY


# ---------------------------------------------------------------- entry points

def parse_notice(raw: str, *, html: bool | None = None) -> list[ParsedClause]:
    """Clean a notice and split it into categorised clauses; IngestError if it has no outline."""
    return read_notice(raw, html=html)[1]


def read_notice(raw: str, *, html: bool | None = None) -> tuple[str, list[ParsedClause]]:
    """(cleaned text, its categorised clauses): the text is kept with the checklist as its source
    (``knowledge/source_page.py``); IngestError if it has no outline."""
    text = clean_text(raw, html=html)
    clauses = split_outline(text)
    if not any(c.clause != PREAMBLE_REF for c in clauses):
        raise IngestError(detail="未识别到“一、”或“（一）”式的编号")
    return text, clauses


def outline_blocks(text: str) -> tuple[list[str], list[tuple[str, list[str], bool]]]:
    """Cleaned text as (preamble lines, [(outline reference, lines, is a part heading)]), the same
    references ``split_outline`` gives its clauses."""
    preamble, blocks = _group_blocks(text)
    return preamble, [(b.ref, b.lines, b.part_heading) for b in blocks]
