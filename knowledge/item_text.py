"""The part of a checklist item that answers what a question is after (``knowledge/aspects.py``).

The answer's first screen (knowledge/screen.py) leads with that part of the best item, then its
plain-words answer and the next step. When the item does not say (no materials listed, no cost, no
date, no telephone number) the line says so — "清单里没有写…，以当地…为准" — instead of leaving the
parent to look for it; a checklist that names it answers from its own text.
"""

from __future__ import annotations

import re

from knowledge.aspects import (AGE, CONTACT, COST, DATA, HOW, IN_CHARGE, MATERIALS, PUBLIC_LINE_NUMBER, SHARED, TIME,
                               WHO, asks_whom, mentions_harm)

_SENTENCE = re.compile(r"[^。！？；]+[。！？；]?")
_LEADS = re.compile(r"牵头|负责|主管")
_AGE_WORDS = re.compile(r"\d+\s*[—\-～~至到]\s*\d+\s*(?:周)?岁|\d+\s*(?:周)?岁(?:以下|以上|以内|及以下|前)|不满\d+|年?满\d+周?岁|"
                        r"[一二三四五六七八九十]+(?:周)?岁(?:以下|以上|以内)|适龄")
_DATA_WORDS = re.compile(r"信息安全|保密|隐私|个人信息")
_SHARED_WORDS = re.compile(r"共享|推送|比对|互通")
# what a family pays or is given; not the money a kindergarten or school gets ("普惠性民办园补助标准")
_COST_WORDS = re.compile(r"\d+(?:\.\d+)?\s*(?:万)?元|免费|不收|收费|费用|公益性|(?<![园校])补贴|(?<![园校])补助|报销|资助|减免|(?<![园校]补助)(?<![园校]补贴)(?<!经费)标准")
_TIME_WORDS = re.compile(r"\d+\s*(?:个)?(?:天|日|月|年|周(?!岁)|工作日)|每(?:年|学期|半年|季度|月)|[一二三四五六七八九十半]+(?:个)?(?:月|年)|"
                         r"年底|月底|之前|以前|以内|期间|当年")
# public lines, landlines and mobiles; not years or amounts
_PHONE = re.compile(rf"(?<!\d)(?:{PUBLIC_LINE_NUMBER}|0\d{{2,3}}-\d{{7,8}}|1[3-9]\d{{9}})(?!\d)")
# an application taken before its papers are gathered (临时救助's 先行受理)
_TAKEN_FIRST = re.compile(r"先行受理|先受理|可以先提出申请|先提出申请")

# The national lines that serve a service (../shared/DOMAIN.md, the public lines): counselling 12355
# and 12356, a child being hurt 110 and 12355, a parent's work 12333, harmful content online 12377
# (Xinhua, 2023: the reporting centre's line; the item GUIDE-12377). A question for a number is given
# the item's own numbers, then these — each only when a hit of the search of the same service names
# it, or the line's own item (12356全国统一心理援助热线) is among the hits; that item joins the source
# line (knowledge/screen.py).
SERVICE_LINES = {"mental_health": ("12355", "12356"), "child_protection": ("110", "12355"),
                 "parent_employment": ("12333",), "online_safety": ("12377",)}
# 12345 answers any question about local public services, and takes complaints (../shared/DOMAIN.md)
NO_PHONE = "清单里没有写电话，可以打当地12345政务服务便民热线咨询或反映。"
NO_OFFICE = "清单里没有写负责部门，可以打当地12345政务服务便民热线问。"
# what a checklist does not say (the materials, a fee, a date) is asked of the local office or 12345
ASK_LINE = "可以打12345政务服务便民热线问。"
# whom to ask, for a "how" question that asks it of an item with no number to call
ASK_12345 = "问不清楚的，可以打当地12345政务服务便民热线。"
LINE_MAX = 50  # characters of an aspect line (knowledge/screen.py cuts a longer one)
# a service had with the residence permit, and the permit's own item (by its title)
_NEEDS_PERMIT = re.compile(r"(?:以|凭|持)居住证|居住证发放地")
PERMIT_TITLE = re.compile(r"^【?居住证")


def needs_the_permit(item) -> bool:
    """Whether ``item`` (a ChecklistItem) rests on the residence permit: lists it among its materials or
    says the service is had with it ("凭居住证", "以居住证为主要依据", "居住证发放地")."""
    if "居住证" in (item.materials or []):
        return True
    return bool(_NEEDS_PERMIT.search(" ".join((item.service_object, item.content, item.how_to_apply or ""))))


def takes_it_first(item) -> bool:
    """Whether ``item`` says an application is taken before its papers are ready (先行受理)."""
    return bool(_TAKEN_FIRST.search(f"{item.brief}{item.content}{item.how_to_apply}"))


def _sentences(parts) -> list[str]:
    """The sentences of ``parts``, each part read on its own."""
    return [sentence.strip() for part in parts for sentence in _SENTENCE.findall(part or "")]


def _sentence(parts: tuple[str, ...], words: re.Pattern, question: str = "") -> str:
    """The sentence of ``parts`` (each read on its own) that holds one of ``words``: of several, the
    one sharing most two-character words with ``question`` ("多久更新一回" picks "每半年更新一次"
    over "住满6个月"), else the first."""
    found = [sentence for sentence in _sentences(parts) if words.search(sentence)]
    if not found:
        return ""
    asked = _asked_words(question, ())
    return max(found, key=lambda sentence: len(asked & _bigrams(sentence))) if asked else found[0]


def _bigrams(text: str) -> set[str]:
    han = re.sub(r"[^\u4e00-\u9fff0-9]", " ", text or "")
    return {han[i:i + 2] for i in range(len(han) - 1) if " " not in han[i:i + 2]}


# two-character words too common in questions and items to tell one sentence from another
_COMMON = frozenset("孩子 小孩 儿童 流动 动儿 可以 能不 不能 什么 怎么 这边 那边 我们 俺们 居住 住地 地方 一下 "
                    "是不 不是 有没 没有 要求 国家 各地 方案 部门 当地 外地 本地 这个 那个 现在 还是 就是 的话 "
                    "申请 需要 户口 请问 知道".split())
# a clause's opening word that ties it to the one before ("所以", "同时"): cut from a clause shown alone
_CONNECTIVE = re.compile(r"^(?:所以|因此|因而|但是|但(?!凡)|而且|并且|同时|另外|此外|其中)")
_PIECE = re.compile(r"[^。！？；，、：]+[。！？；，、：]?")


def _asked_words(question: str, common=_COMMON) -> set[str]:
    """The two-character words of ``question`` that can tell one sentence from another: not a number
    named (12356, 2024 are in every sentence about them), not ``common`` ones."""
    return {pair for pair in _bigrams(question) if not pair.isdigit()} - set(common)


def says(item, text: str) -> bool:
    """Whether ``text`` (a sentence, or its clauses) is ``item``'s own."""
    return text.rstrip("，、：") in " ".join((item.content or "", item.how_to_apply or ""))


def closest_line(items, question: str, shown: str, least: int = 2) -> str:
    """The part of ``items``' text (content and how to apply, sentence by sentence) that shares the most
    words with ``question`` beyond what ``shown`` (the screen's plain answer) already says — at least
    ``least`` two-character words, the common ones not counted — within LINE_MAX characters; "" when
    none does. "俺们是低保户 娃残疾 康复救助能优先不" finds "优先救助低保家庭、经济困难家庭的残疾儿童…"
    in the item on rehabilitation, where its plain answer names ages and services only."""
    asked = _asked_words(question) - _bigrams(shown)
    if len(asked) < least:
        return ""
    best, best_count = "", least - 1
    for item in items:
        for sentence in _sentences((item.content, item.how_to_apply)):
            count = len(asked & _bigrams(sentence))
            if count > best_count and sentence.rstrip("。；") not in shown:
                best, best_count = sentence, count
    if len(best) <= LINE_MAX:
        return best
    # a long sentence: the run of its clauses around the words asked, within LINE_MAX
    pieces = _PIECE.findall(best)
    scores = [len(asked & _bigrams(piece)) for piece in pieces]
    start = max(range(len(pieces)), key=lambda i: scores[i])
    end = start + 1
    while end < len(pieces) and len("".join(pieces[start:end + 1])) <= LINE_MAX and scores[end]:
        end += 1
    while start > 0 and len("".join(pieces[start - 1:end])) <= LINE_MAX and scores[start - 1]:
        start -= 1
    run = "".join(pieces[start:end])
    if len(run) > LINE_MAX or run.endswith("："):  # "所以不用干等人家上门排查：": a lead-in, not what it leads to
        return ""
    return _CONNECTIVE.sub("", run.rstrip("，、"))


def numbers_in(item) -> list[str]:
    """The telephone numbers ``item``'s own text names, in order, once each."""
    return list(dict.fromkeys(_PHONE.findall(" ".join((item.brief, item.content, item.how_to_apply)))))


def aspect_line(item, aspect: str, question: str = "", more_numbers: tuple[str, ...] = ()) -> str:
    """The line that answers ``aspect`` from ``item`` (a ChecklistItem); "" when the item's plain
    answer and next step already are that (what, how, who without a separate object). Of several
    lines that could, the one closest to ``question``. ``more_numbers``: national lines of the
    service that another cited item names (knowledge/screen.py), after the item's own."""
    parts = (item.brief, item.content, item.how_to_apply)
    if aspect == MATERIALS:
        if item.materials:
            return "要带：" + "、".join(item.materials)
        return "清单里没有列出要带的材料，以当地部门公布的为准，" + ASK_LINE
    if aspect == COST:
        found = _sentence(parts, _COST_WORDS, question)
        return found or "清单里没有写费用，以当地部门的答复为准，" + ASK_LINE
    if aspect == TIME:
        found = _sentence(parts, _TIME_WORDS, question)
        return found or "清单里没有写具体时间，以当地通知为准，" + ASK_LINE
    if aspect == CONTACT:
        phones = list(dict.fromkeys(numbers_in(item) + list(more_numbers)))
        if phones:
            return "电话：" + "、".join(phones[:3])
        offices = plain_departments(item.departments)
        if not offices:
            return NO_PHONE
        first = next(name for name in item.departments if not _NOT_AN_OFFICE.search(name))
        where = "户籍地" if "户籍地" in first else "" if "示例" in first else "当地"
        return f"清单里没有写电话，可以问{where}{offices[0]}，或打12345政务服务便民热线。"
    if aspect == IN_CHARGE:  # the item's own sentence on who leads it, else its departments
        found = _sentence((item.content,), _LEADS)
        if found:
            return found
        offices = plain_departments(item.departments)
        return ("负责：" + "、".join(offices[:4])) if offices else NO_OFFICE
    if aspect == AGE:
        if _AGE_WORDS.search(item.service_object or ""):
            return "适用：" + item.service_object
        return _sentence(parts, _AGE_WORDS, question)
    if aspect in (DATA, SHARED):
        return _sentence(parts, _DATA_WORDS if aspect == DATA else _SHARED_WORDS, question)
    if (aspect == HOW and asks_whom(question) and not numbers_in(item)
            and item.category not in SERVICE_LINES and not mentions_harm(question)):
        return ASK_12345  # "想问中考报名条件 找谁": the office in the next step, and the line that answers the rest
    if aspect == WHO and item.service_object:
        return "适用：" + item.service_object
    return ""


def names_an_age(text: str) -> bool:
    """Whether ``text`` says which ages something is for ("0—6岁", "不满16周岁", "3岁以下")."""
    return bool(_AGE_WORDS.search(text or ""))


def holds_in(text: str, aspect: str) -> bool:
    """Whether ``text`` states a time or a cost (the words that would answer ``aspect``)."""
    words = {COST: _COST_WORDS, TIME: _TIME_WORDS}.get(aspect)
    return bool(words and words.search(text or ""))


def holds(item, aspect: str) -> bool:
    """Whether ``item`` itself says what ``aspect`` asks (its materials, a cost, a time, a
    telephone number, who leads it, how its data is kept) — not the "清单里没有写…" line."""
    parts = (item.brief, item.content, item.how_to_apply)
    if aspect == MATERIALS:
        return bool(item.materials)
    if aspect == CONTACT:
        return bool(numbers_in(item))
    if aspect == IN_CHARGE:
        return bool(_sentence((item.content,), _LEADS) or item.departments)
    if aspect == AGE:
        return bool(_sentence((item.service_object, *parts), _AGE_WORDS))
    words = {COST: _COST_WORDS, TIME: _TIME_WORDS, DATA: _DATA_WORDS, SHARED: _SHARED_WORDS}.get(aspect)
    return bool(words and _sentence(parts, words))


# A national body by the local office a parent can walk into ("国家卫生健康委" → "卫生健康部门");
# the courts, the procuratorate and the political-legal committee are no office for a parent.
_LOCAL_OFFICE = (
    (re.compile(r"街道|乡镇|人民政府"), "乡镇政府（街道办）"),  # before 民政: 人民政府 holds it
    (re.compile(r"网信"), "网信部门"), (re.compile(r"民政"), "民政部门"), (re.compile(r"财政"), "财政部门"), (re.compile(r"教育"), "教育部门"),
    (re.compile(r"公安"), "公安机关"), (re.compile(r"卫生健康"), "卫生健康部门"), (re.compile(r"医保"), "医保部门"),
    (re.compile(r"疾控"), "疾控部门"), (re.compile(r"残联"), "残联"), (re.compile(r"共青团|团委"), "团委"),
    (re.compile(r"妇联"), "妇联"), (re.compile(r"广电"), "广电部门"), (re.compile(r"人力资源社会保障|人社"), "人社部门"),
    (re.compile(r"住房城乡建设|住建"), "住房城乡建设部门"), (re.compile(r"交通运输"), "交通运输部门"),
    (re.compile(r"发展改革"), "发展改革部门"), (re.compile(r"妇儿工委"), "妇儿工委"),
    (re.compile(r"村（居）民委员会|居委会|村委会"), "居委会（村委会）"),
    (re.compile(r"救助管理"), "救助管理机构"),
)
_NOT_AN_OFFICE = re.compile(r"法院|检察院|政法委")


def plain_departments(departments) -> list[str]:
    """``departments`` as the local offices a parent can reach, in order, once each; a name with
    no plain form is kept as it is ("示例：某街道办事处" stays)."""
    offices: list[str] = []
    for name in departments or ():
        if _NOT_AN_OFFICE.search(name):
            continue
        if "示例" in name:
            plain = name
        else:
            plain = next((office for pattern, office in _LOCAL_OFFICE if pattern.search(name)), name)
        if plain not in offices:
            offices.append(plain)
    return offices

