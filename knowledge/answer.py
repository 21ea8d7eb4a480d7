"""Turning search results into what a parent reads on a phone.

An answer's first screen is short (``first_screen``): the direct answer, the one next step, and
the source on one line (``basis``: the document, its number, the clause, the date). The rest of
the item — who it is for, the full text, materials, departments, the link — is behind the
"详细" button (``render_item``), so no department list or long URL fills the first screen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge import aspects
from knowledge.categories import SERVICE_CATEGORIES, label
from knowledge.index import IndexedItem
from knowledge.retrieval import SearchResult
from knowledge.schema import Authority
from knowledge.source_page import clause_link
from nlu.geo import NATIONAL

GUIDANCE_NOTE = "各地要求不同，请以当地最新通知为准。"
EXAMPLE_NOTE = "【示例】以下为演示用的示例数据，不代表当地实际政策。"
HUMAN_BUTTON = {"title": "找工作人员", "payload": "/human_handoff"}
DETAIL_TITLE = "详细"
# The first screen before its source line: at most this many lines and characters (the notice
# that no local checklist exists included). An item without a written ``brief``/``next_step``
# (an uploaded or ingested checklist) is shortened to these at a sentence or clause end.
FIRST_SCREEN_LINES = 3
FIRST_SCREEN_CHARS = 120
SHORT_BRIEF = 60
SHORT_STEP = 40
_SENTENCE_END = re.compile(r"(?<=[。！？；])")
_CLAUSE_END = re.compile(r"(?<=[，、：])")

# The categories offered as buttons when a question is not understood.
MENU_CATEGORIES = ("compulsory_education", "preschool", "medical_insurance", "immunization",
                   "temporary_assistance", "disability", "housing", "mental_health")


@dataclass
class Answer:
    """A reply: text, optional buttons, and the sources it cites."""

    text: str
    buttons: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    confident: bool = True


def link(entry: IndexedItem, public_url: str = "") -> str:
    """Where a parent can read the cited text: a page a person checked holds it (``verified_url``),
    else the notice stored with the checklist, at the clause (``knowledge/source_page.py``; needs
    the server's public address), else nothing."""
    return entry.item.verified_url or clause_link(entry.checklist, entry.item, public_url)


def source_record(entry: IndexedItem, public_url: str = "") -> dict:
    header, item = entry.checklist, entry.item
    return {
        "checklist_id": header.id,
        "version": header.version,
        "item_id": item.id,
        "category": item.category,
        "title": item.title,
        "locality": header.locality.code,
        "authority": header.authority.value,
        "published": header.published.isoformat(),
        "clause": item.clause,
        "url": item.source_url or header.source_url,  # where the facts come from (provenance)
        "link": link(entry, public_url),  # a page that holds the cited text, or empty
    }


def citation(entry: IndexedItem, public_url: str = "") -> str:
    header, item = entry.checklist, entry.item
    number = f"（{header.doc_number}）" if header.doc_number else ""
    clause = f"，{item.clause}" if item.clause and item.clause != "—" else ""
    when = "整理" if header.authority is Authority.GUIDANCE else "发布"
    text = (f"来源：《{header.title}》{number}，{header.issuer}{clause}，"
            f"{header.published.isoformat()} {when}")
    # only a page that holds the cited text (a news summary of a notice does not)
    address = link(entry, public_url)
    return f"{text}\n原文：{address}" if address else text


def shorten(text: str, limit: int) -> str:
    """``text`` up to ``limit`` characters, cut after a whole sentence, else a whole clause, else
    at the limit with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    for boundary in (_SENTENCE_END, _CLAUSE_END):
        kept = ""
        for piece in boundary.split(text):
            if len(kept) + len(piece) > limit:
                break
            kept += piece
        if len(kept) >= limit // 3:
            return kept.rstrip("，、：；") + ("…" if boundary is _CLAUSE_END else "")
    return text[:limit - 1] + "…"


def brief(entry: IndexedItem) -> str:
    return entry.item.brief or shorten(entry.item.content, SHORT_BRIEF)


def next_step(entry: IndexedItem) -> str:
    item = entry.item
    step = item.next_step or (shorten(item.how_to_apply, SHORT_STEP) if item.how_to_apply else "")
    return f"下一步：{step}" if step else ""


def basis(entry: IndexedItem) -> str:
    """The source on one line: "依据：《方案》民发〔2024〕35号 三、（八），2024-09-03"."""
    header, item = entry.checklist, entry.item
    if item.basis:  # the item's own source (a guidance item cites laws and notices)
        when = "整理" if header.authority is Authority.GUIDANCE else "发布"
        return f"依据：{item.basis}（{header.published.isoformat()} {when}）"
    number = header.doc_number or ""
    clause = f" {item.clause}" if item.clause and item.clause != "—" else ""
    return f"依据：《{header.title}》{number}{clause}，{header.published.isoformat()}"


def first_screen(entry: IndexedItem, notice: str = "", aspect: str = aspects.WHAT, question: str = "",
                 also: IndexedItem | None = None, also_guides: bool = True) -> str:
    """What a parent sees first: what the question is after (``aspect``: the item's materials,
    cost, time, telephone or who it is for), the direct answer and the next step — a "how" question
    gets the step first — within FIRST_SCREEN_LINES lines and FIRST_SCREEN_CHARS characters with
    the example-data warning; then the source line, ``notice`` (no local checklist: these are the
    national rules) at its end. ``also``: a guidance item of the same service that says what the
    plan's clause leaves out (where to apply, who may apply) — its plain answer follows the
    clause's, and its source joins the source line. What does not fit goes to 详细, the step
    before the answer; the answer is cut only when nothing else is left."""
    return _first_screen(entry, notice, aspect, question, also, also_guides=also_guides)[0]


def _first_screen(entry: IndexedItem, notice: str, aspect: str, question: str,
                  also: IndexedItem | None, lines: tuple[tuple[str, IndexedItem], ...] = (),
                  also_guides: bool = True, kin: tuple[IndexedItem, ...] = ()) -> tuple[str, bool, list[IndexedItem]]:
    """first_screen's text, whether ``also`` is on it (and so cited), and the items cited for the
    numbers of ``lines`` shown. ``also_guides``: ``also`` was written to go with the answer (where and
    how to get it: its step may lead, a time or cost it states answers); not so a condition beside it
    (the residence permit). ``kin``: the other items of the same service among the best hits, whose
    sentence closest to the question may answer it (cited when it is on the screen)."""
    head = [EXAMPLE_NOTE] if entry.checklist.authority is Authority.EXAMPLE else []
    room = FIRST_SCREEN_CHARS - sum(map(len, head))
    answer = brief(entry)
    said_by = entry.item
    if (aspect in (aspects.TIME, aspects.COST) and also is not None and not aspects.holds(entry.item, aspect)
            and aspects.holds(also.item, aspect) and (also_guides or aspects.asks_the_permits_time(question))):
        said_by = also.item  # "要等多久才能办": the item beside says it (住半年以上), the clause does not
    asked = shorten(aspects.aspect_line(said_by, aspect, question, tuple(n for n, _ in lines)), aspects.LINE_MAX)
    more = brief(also) if also is not None else ""
    if (asked.rstrip("。；…") in answer or said_by is not entry.item and aspects.holds_in(more, aspect)
            or aspect == aspects.AGE and aspects.names_an_age(answer)):
        asked = ""  # the plain answer, or the one beside it, already says it
    # "低保户的娃康复能优先不": the sentence of the cited items that says what the question names, when
    # the plain answer does not (who it is for, or nothing particular, is what it would show instead)
    closest = ""
    # the step of an item written to go with the clause (same service); not another service's (the
    # permit beside an insurance answer: the step stays the insurance's)
    guided = next_step(also) if also is not None and also_guides and also.item.category == entry.item.category else ""
    if aspect == aspects.WHAT and not asked or aspect == aspects.WHO:
        closest = aspects.closest_line([entry.item] + ([also.item] if also is not None else [])
                                       + [other.item for other in kin], question,
                                       "".join((answer, more, next_step(entry), guided)))
        asked = closest or asked
    # said by ``also`` only: on the screen, ``also`` is cited
    speaker = None if not closest or aspects.says(entry.item, closest) else next(
        (other for other in ([also] if also is not None else []) + list(kin) if aspects.says(other.item, closest)), None)
    from_also = speaker is not None and speaker is also
    # the guidance item beside a clause was written for where and how: its step, when it is on the
    # screen (and so cited); else the clause's own
    lines_left = FIRST_SCREEN_LINES - len(head)
    body = _arranged(aspect, answer, asked, more, guided or next_step(entry), lines_left, room, bool(closest))
    # cut for room: then neither shown nor cited, unless its closest sentence is on the screen
    shown = also is not None and (bool(more) and more in body or from_also and closest in body)
    if guided and not shown:
        body = _arranged(aspect, answer, asked, more, next_step(entry), lines_left, room, bool(closest))
    cited: list[IndexedItem] = [speaker] if speaker is not None and speaker is not also and closest in body else []
    for number, other in lines:
        if asked in body and number in asked and all(other is not seen for seen in (entry, also, *cited)):
            cited.append(other)
    sources = "；".join([basis(entry)] + [basis(other).removeprefix("依据：") for other in ([also] if shown else []) + cited])
    return "\n".join(head + body + [source_line(sources, notice)]), shown, cited


def _arranged(aspect: str, answer: str, asked: str, more: str, step: str, lines: int, room: int,
              closest: bool = False) -> list[str]:
    """The first screen's lines in the order the aspect wants (``closest``: ``asked`` is the sentence
    closest to the question, not the aspect's own line), within ``lines`` lines and ``room``
    characters: what does not fit goes to 详细, the step before the answer; the answer is cut only
    when nothing else is left."""
    if aspect == aspects.HOW:  # the step first; whom else to ask after it
        body = [step, asked, answer, more]
    elif aspect == aspects.WHO and closest:  # yes or no, then the sentence on what the question names
        body = [answer, asked, more, step]
    elif aspect == aspects.WHO:  # "能不能…": yes or no is in the plain answer, who it is for after it
        body = [answer, more, step, asked] if more else [answer, asked, step]
    else:
        body = [asked, answer, more, step]
    body = [line for line in body if line][:lines]
    while len(body) > 1 and sum(map(len, body)) > room:
        body.pop()
    if len(body[0]) > room:
        body[0] = shorten(body[0], room)
    return body


def source_line(basis_text: str, notice: str = "") -> str:
    """The source line, with the notice that no local checklist exists at its end."""
    return f"{basis_text}；{notice}" if notice else basis_text


def contrast_screen(first: IndexedItem, second: IndexedItem, notice: str = "") -> str:
    """A "difference" question: the two best items side by side, each by its name and its plain
    answer, within the first screen's limits; then both sources on the source line."""
    def name(entry: IndexedItem) -> str:  # up to its first break, never cut inside a word
        title = re.split(r"[：:，,（(]", entry.item.title.strip("【】"))[0]
        return title if len(title) <= 14 else title[:13] + "…"

    # who runs each, when they differ ("托育跟幼儿园有啥区别": 卫生健康部门 / 教育部门) — often the difference asked
    run_by = [aspects.plain_departments(entry.item.departments) for entry in (first, second)]
    runs = all(run_by) and set(run_by[0]).isdisjoint(run_by[1])  # no office in common
    room = FIRST_SCREEN_CHARS // 2
    body = [shorten(f"{mark}{name(entry)}{f'（{offices[0]}）' if runs else ''}：{brief(entry)}", room)
            for mark, entry, offices in (("①", first, run_by[0]), ("②", second, run_by[1]))]
    second_basis = basis(second).removeprefix("依据：")
    return "\n".join(body + [source_line(f"{basis(first)}；{second_basis}", notice)])


def detail_button(entry: IndexedItem) -> dict:
    return {"title": DETAIL_TITLE, "payload": f"/ask_service{{\"item\":\"{entry.key}\",\"detail\":true}}"}


def item_button(entry: IndexedItem) -> dict:
    return {"title": entry.item.title[:30], "payload": f"/ask_service{{\"item\":\"{entry.key}\"}}"}


def answer_buttons(entry: IndexedItem, related: list[IndexedItem]) -> list[dict]:
    """详细 for ``entry``, then the ``related`` items."""
    return [detail_button(entry)] + [item_button(other) for other in related]


def item_answer(entry: IndexedItem, *, detail: bool = False, notice: str = "",
                related: list[IndexedItem] = (), aspect: str = aspects.WHAT, public_url: str = "",
                question: str = "", also: IndexedItem | None = None,
                lines: tuple[tuple[str, IndexedItem], ...] = (), also_guides: bool = True,
                kin: tuple[IndexedItem, ...] = ()) -> Answer:
    """One item as an answer: its first screen with 详细 and ``related`` items as buttons, or
    (``detail``) the whole item. ``lines``: (number, the item that names it) of the service's
    national lines, for a question for a number."""
    if detail:
        return Answer(text=render_item(entry, public_url), sources=[source_record(entry, public_url)])
    text, shown, cited = _first_screen(entry, notice, aspect, question, also, lines, also_guides, kin)
    sources = [source_record(entry, public_url)]
    if shown:
        sources.append(source_record(also, public_url))
        related = [other for other in related if other is not also]  # on the screen already
    related = [other for other in related if all(other is not seen for seen in cited)][:RELATED_BUTTONS]
    sources += [source_record(other, public_url) for other in cited]
    return Answer(text=text, buttons=answer_buttons(entry, related), sources=sources)


def render_item(entry: IndexedItem, public_url: str = "") -> str:
    item, authority = entry.item, entry.checklist.authority
    lines = []
    if authority is Authority.EXAMPLE:
        lines.append(EXAMPLE_NOTE)
    lines.append(item.title if item.title.startswith("【") else f"【{item.title}】")
    lines.append(f"适用对象：{item.service_object}")
    lines.append(item.content)
    if item.how_to_apply:
        lines.append(f"怎么办：{item.how_to_apply}")
    if item.materials:
        lines.append("常见材料：" + "、".join(item.materials))
    if item.departments:
        lines.append("负责部门：" + "、".join(item.departments))
    if authority is Authority.GUIDANCE:
        lines.append(GUIDANCE_NOTE)
    lines.append(citation(entry, public_url))
    return "\n".join(lines)


def no_local_notice(result: SearchResult, locality_name: str | None, entry: IndexedItem | None = None) -> str:
    """The answer (``entry``, else the best hit) is the national rules although the family's place is
    known: said at the end of the source line — that the place has no checklist of its own, or that
    what is gathered for it holds nothing on this (晋江's holds temporary assistance's approval
    limits only; a school question there is answered by the national rules)."""
    if entry is None and result.hits:
        entry = result.hits[0].entry
    if not locality_name or entry is None or entry.locality != NATIONAL:
        return ""
    if result.has_local_checklist:
        return f"{locality_name}暂未收录这一项的本地规定，以上是全国通用的规定"
    return f"{locality_name}暂未收录本地服务清单，以上是全国通用的规定"


def compose(result: SearchResult, *, min_confidence: float, locality_name: str | None = None,
            public_url: str = "") -> Answer:
    """The cited answer, or — below the confidence threshold — an honest 'not sure'."""
    if not result.hits or result.confidence < min_confidence:
        return not_understood(result)
    aspect = aspects.aspect_of(result.query)
    top = _saying(result.hits, aspect, result.query)
    notice = no_local_notice(result, locality_name, top.entry)
    # the next items as buttons, of the same service too: a guidance item that says where to apply or
    # who can apply for you often ranks just behind the plan's clause
    if aspect == aspects.DIFFERENCE and len(result.hits) > 1:
        related = [h.entry for h in result.hits if h is not top][:RELATED_BUTTONS]
        return Answer(text=contrast_screen(top.entry, related[0], notice),
                      buttons=answer_buttons(top.entry, related),
                      sources=[source_record(top.entry, public_url), source_record(related[0], public_url)])
    clause = _clause_behind(result.hits, top, aspect, result.query)
    if clause is not None:  # the entitlement first, the guidance item's where-and-how beside it
        main, also = clause, top.entry
    else:
        main, also = top, _supplement(result.hits, top, aspect)
    # "没有居住证 娃能在这参保不": the service rests on the permit the family lacks — what it takes to get one
    # (a condition beside the answer: the answer's own step stays)
    permit = _permit_beside(result.hits, main, result.query)
    also = permit or also
    # one more than the buttons: the item beside the answer, when it is on the screen, is not offered
    related = [h.entry for h in result.hits if h is not main][:RELATED_BUTTONS + 1]
    return item_answer(main.entry, notice=notice, related=related, aspect=aspect, public_url=public_url,
                       question=result.query, also=also, lines=_lines_of_the_service(result.hits, main, aspect),
                       also_guides=permit is None, kin=_kin(result.hits, main, also))


RELATED_BUTTONS = 2  # the next items not on the screen, as buttons under the answer
SAME_SERVICE_RANKS = 3  # another item of the best service that says what is asked is among the best three
SUPPLEMENT_MARGIN = 0.04  # a guidance item scored this close to the plan's clause adds its plain answer to it
SUPPLEMENT_ASPECTS = (aspects.WHO, aspects.WHAT, aspects.HOW)
# ... and the clause before a guidance item that ranks first, for whether and what (a "how" question
# keeps the guidance item's own step: "异地就医备案咋弄" → 在国家医保服务平台APP办备案)
CLAUSE_FIRST_ASPECTS = (aspects.WHO, aspects.WHAT)
NAMED_RANKS = 5  # an item named after the line a question names, among the best five, answers it
# what a question may ask that an item states or not: when the best item does not, an item of the same
# service among the best three that does answers (the plan's clause names no age and no telephone
# number). Not a cost, a time or materials: another item's fee or date is seldom the one asked about
# (measured on answer sets A–F: 普惠园一个月要交多少钱 was answered with the free final year)
STATED_ASPECTS = (aspects.AGE, aspects.CONTACT)
# ... and materials, when the list itself is asked for ("要带啥材料"), not whether one paper is needed
# ("让开老家没人照顾的证明 这个必须开吗": answered by the item on that paper, which lists none); and
# a cost when something free is asked for ("有没有不要钱的兴趣班": the item on 公益性 courses says it)


def _kin(hits, main, also: IndexedItem | None) -> tuple[IndexedItem, ...]:
    """The other items of ``main``'s service among the best SAME_SERVICE_RANKS hits (not ``also``)."""
    category = main.entry.item.category
    return tuple(hit.entry for hit in hits[:SAME_SERVICE_RANKS]
                 if hit is not main and hit.entry is not also and hit.entry.item.category == category)


def _of_the_same_service(hits, top, wanted):
    """The first hit other than ``top`` among the best SAME_SERVICE_RANKS, of ``top``'s service, for which
    ``wanted(hit)`` holds; None when there is none."""
    category = top.entry.item.category
    return next((hit for hit in hits[:SAME_SERVICE_RANKS]
                 if hit is not top and hit.entry.item.category == category and wanted(hit)), None)


def _supplement(hits, top, aspect: str) -> IndexedItem | None:
    """A guidance item of the same service, just behind an official clause, for a question about who
    qualifies, what there is or how to get it: the clause says the entitlement, the guidance item
    (written to go with it) where to apply or who may apply for you. None otherwise."""
    if aspect not in SUPPLEMENT_ASPECTS or top.entry.checklist.authority is not Authority.OFFICIAL:
        return None
    found = _of_the_same_service(hits, top, lambda hit: hit.entry.checklist.authority is Authority.GUIDANCE
                                 and hit.score >= top.score - SUPPLEMENT_MARGIN)
    return found.entry if found else None


def _clause_behind(hits, top, aspect: str, question: str = ""):
    """The published clause of the same service just behind a guidance item that ranks first, for a
    question about who qualifies or what there is ("临时救助能在打工这边申请不": the
    guidance item says where to apply, the plan's clause that it is had where the emergency
    happened); None otherwise, and when the guidance item is the line the question names ("12355能打吗")."""
    if aspect not in CLAUSE_FIRST_ASPECTS or top.entry.checklist.authority is not Authority.GUIDANCE:
        return None
    if any(named_after(top.entry, number) for number in aspects.public_lines(question)):
        return None
    return _of_the_same_service(hits, top, lambda hit: hit.entry.checklist.authority is Authority.OFFICIAL
                                and hit.score >= top.score - SUPPLEMENT_MARGIN)


def _permit_beside(hits, main, question: str) -> IndexedItem | None:
    """The item on getting a residence permit (among the hits), beside an answer whose service rests
    on the permit, when the family says it has none yet or asks how soon it can have one; None otherwise."""
    if not aspects.lacks_the_permit(question) or not aspects.needs_the_permit(main.entry.item):
        return None
    if aspects.PERMIT_TITLE.search(main.entry.item.title):
        return None  # the answer is the permit's own
    return next((hit.entry for hit in hits if aspects.PERMIT_TITLE.search(hit.entry.item.title)), None)


def _lines_of_the_service(hits, top, aspect: str) -> tuple[tuple[str, IndexedItem], ...]:
    """For a question for a number: the national lines of ``top``'s service (aspects.SERVICE_LINES) its
    own text does not name, each with the first hit that does — of the same service, or the line's own
    item — cited beside it; a line no such hit names is left out (a child-harm item's 12338 for
    domestic violence never answers a parenting question)."""
    if aspect != aspects.CONTACT:
        return ()
    own = aspects.numbers_in(top.entry.item)
    found = []
    for number in aspects.SERVICE_LINES.get(top.entry.item.category, ()):
        if number in own:
            continue
        naming = next((hit for hit in hits if hit is not top and number in aspects.numbers_in(hit.entry.item)
                       and (hit.entry.item.category == top.entry.item.category or named_after(hit.entry, number))),
                      None)
        if naming is not None:
            found.append((number, naming.entry))
    return tuple(found)


def named_after(entry: IndexedItem, number: str) -> bool:
    """Whether ``entry``'s title is the public line ``number`` ("12356全国统一心理援助热线")."""
    return aspects.public_lines(entry.item.title)[:1] == [number]


def _saying(hits, aspect: str, question: str = ""):
    """The best hit, unless another answers better what is asked:
    * a question that names a public line ("12356现在全国都能打吗"): the item among the best NAMED_RANKS
      named after that line;
    * who is in charge, with a guidance item first: the published clause of the same service (it
      names the leading departments);
    * whether one may apply before the papers are gathered: the item among the best three that says
      an application is taken first;
    * a question about ages, a telephone number or the materials to bring the best item does not
      answer: an item of the same service among the best three that says it (the plan's clause on
      rehabilitation names no age, the guidance item "0—6岁" does; the plan's clauses list no
      materials, the guidance items on applying do)."""
    top = hits[0]
    for number in aspects.public_lines(question):
        if not named_after(top.entry, number):
            named = next((hit for hit in hits[1:NAMED_RANKS] if named_after(hit.entry, number)), None)
            if named is not None:
                return named
    if aspect == aspects.IN_CHARGE and top.entry.checklist.authority is Authority.GUIDANCE:
        # "孩子心理这块谁负责管": a guidance item names the office behind one line or step of a service
        return _of_the_same_service(hits, top, lambda hit: hit.entry.checklist.authority is Authority.OFFICIAL
                                    and bool(hit.entry.item.departments)) or top
    if aspects.asks_to_apply_first(question) and not aspects.takes_it_first(top.entry.item):
        # "事情急 证明材料还没弄齐 能先申请不": the item that says an application is taken first (临时救助),
        # among the best three, before one that merely names papers (a school's 证明材料)
        return next((hit for hit in hits[:SAME_SERVICE_RANKS] if aspects.takes_it_first(hit.entry.item)), top)
    stated = (aspect in STATED_ASPECTS or aspect == aspects.MATERIALS and aspects.asks_for_the_list(question)
              or aspect == aspects.COST and aspects.asks_if_free(question))
    if stated and not aspects.holds(top.entry.item, aspect):
        return _of_the_same_service(hits, top, lambda hit: aspects.holds(hit.entry.item, aspect)) or top
    return top


def not_understood(result: SearchResult | None = None) -> Answer:
    """Below confidence: say so, offer the service categories and a person."""
    guesses = list(dict.fromkeys(result.categories[:3])) if result else []
    codes = [c for c in guesses if c in SERVICE_CATEGORIES] or list(MENU_CATEGORIES)
    codes += [c for c in MENU_CATEGORIES if c not in codes]
    buttons = [{"title": label(c), "payload": f"/ask_service{{\"category\":\"{c}\"}}"} for c in codes[:8]]
    buttons.append(HUMAN_BUTTON)
    text = ("抱歉，我没能确定您问的是哪项服务。可以换个说法再问一次，"
            "比如“孩子在这边上小学要带什么材料”，也可以点下面的类别，或者找工作人员帮忙。")
    return Answer(text=text, buttons=buttons, confident=False)
