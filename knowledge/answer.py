"""Turning search results into the reply a parent gets: which items answer (the best hit, unless
another answers better what is asked; the item beside it that says where and how), the buttons
under it, and the honest "not sure" below the confidence threshold. What the reply's text looks like
is ``knowledge/screen.py``'s; where it comes from, ``knowledge/citation.py``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge import aspects, item_text
from knowledge.categories import SERVICE_CATEGORIES, label
from knowledge.citation import source_record
from knowledge.index import IndexedItem
from knowledge.retrieval import SearchResult
from knowledge.schema import Authority
from knowledge.screen import contrast_screen, render_item, screen_and_cited
from nlu.geo import NATIONAL

DETAIL_TITLE = "详细"
PERSON_TITLE = "找工作人员"

# The categories offered as buttons when a question is not understood.
MENU_CATEGORIES = ("compulsory_education", "preschool", "medical_insurance", "immunization",
                   "temporary_assistance", "disability", "housing", "mental_health")


@dataclass(frozen=True)
class Choice:
    """What an answer offers next: an item (its first screen; with ``detail``, the whole of it), a
    service category, or a person. How a choice is sent back (a button's payload, a number typed) is
    the dialogue's and the channel's business (``bot.replies.choice_buttons``), not the checklists'."""

    title: str
    item: str | None = None  # an item's key (``IndexedItem.key``)
    detail: bool = False
    category: str | None = None
    person: bool = False


@dataclass
class Answer:
    """A reply: text, the choices offered under it, and the sources it cites."""

    text: str
    buttons: list[Choice] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    confident: bool = True


def detail_choice(entry: IndexedItem) -> Choice:
    return Choice(DETAIL_TITLE, item=entry.key, detail=True)


def item_choice(entry: IndexedItem) -> Choice:
    return Choice(entry.item.title[:30], item=entry.key)


def answer_choices(entry: IndexedItem, related: list[IndexedItem]) -> list[Choice]:
    """详细 for ``entry``, then the ``related`` items."""
    return [detail_choice(entry)] + [item_choice(other) for other in related]


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
    text, shown, cited = screen_and_cited(entry, notice, aspect, question, also, lines, also_guides, kin)
    sources = [source_record(entry, public_url)]
    if shown:
        sources.append(source_record(also, public_url))
        related = [other for other in related if other is not also]  # on the screen already
    related = [other for other in related if all(other is not seen for seen in cited)][:RELATED_BUTTONS]
    sources += [source_record(other, public_url) for other in cited]
    return Answer(text=text, buttons=answer_choices(entry, related), sources=sources)


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
                      buttons=answer_choices(top.entry, related),
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
    # the national item a local list's item replaced at the top: offered first, as "see also"
    see_also = result.replaced.get(main.entry.key)
    if see_also is not None and see_also is not also:
        related = [see_also] + [entry for entry in related if entry is not see_also]
    answer = item_answer(main.entry, notice=notice, related=related, aspect=aspect, public_url=public_url,
                         question=result.query, also=also, lines=_lines_of_the_service(result.hits, main, aspect),
                         also_guides=permit is None, kin=_kin(result.hits, main, also))
    if see_also is not None:
        answer.buttons = [see_also_choice(see_also) if b.item == see_also.key and not b.detail else b
                          for b in answer.buttons]
    return answer


SEE_ALSO_TITLE = "另见：{place}规定"


def see_also_choice(entry: IndexedItem) -> Choice:
    """The button of the less local item a local one replaced: 另见：全国规定 (or the province's)."""
    place = "全国" if entry.locality == NATIONAL else entry.checklist.locality.name
    return Choice(SEE_ALSO_TITLE.format(place=place)[:30], item=entry.key)


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
    if not aspects.lacks_the_permit(question) or not item_text.needs_the_permit(main.entry.item):
        return None
    if item_text.PERMIT_TITLE.search(main.entry.item.title):
        return None  # the answer is the permit's own
    return next((hit.entry for hit in hits if item_text.PERMIT_TITLE.search(hit.entry.item.title)), None)


def _lines_of_the_service(hits, top, aspect: str) -> tuple[tuple[str, IndexedItem], ...]:
    """For a question for a number: the national lines of ``top``'s service (item_text.SERVICE_LINES) its
    own text does not name, each with the first hit that does — of the same service, or the line's own
    item — cited beside it; a line no such hit names is left out (a child-harm item's 12338 for
    domestic violence never answers a parenting question)."""
    if aspect != aspects.CONTACT:
        return ()
    own = item_text.numbers_in(top.entry.item)
    found = []
    for number in item_text.SERVICE_LINES.get(top.entry.item.category, ()):
        if number in own:
            continue
        naming = next((hit for hit in hits if hit is not top and number in item_text.numbers_in(hit.entry.item)
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
    if aspects.asks_to_apply_first(question) and not item_text.takes_it_first(top.entry.item):
        # "事情急 证明材料还没弄齐 能先申请不": the item that says an application is taken first (临时救助),
        # among the best three, before one that merely names papers (a school's 证明材料)
        return next((hit for hit in hits[:SAME_SERVICE_RANKS] if item_text.takes_it_first(hit.entry.item)), top)
    stated = (aspect in STATED_ASPECTS or aspect == aspects.MATERIALS and aspects.asks_for_the_list(question)
              or aspect == aspects.COST and aspects.asks_if_free(question))
    if stated and not item_text.holds(top.entry.item, aspect):
        return _of_the_same_service(hits, top, lambda hit: item_text.holds(hit.entry.item, aspect)) or top
    return top


def not_understood(result: SearchResult | None = None) -> Answer:
    """Below confidence: say so, offer the service categories and a person."""
    guesses = list(dict.fromkeys(result.categories[:3])) if result else []
    codes = [c for c in guesses if c in SERVICE_CATEGORIES] or list(MENU_CATEGORIES)
    codes += [c for c in MENU_CATEGORIES if c not in codes]
    buttons = [Choice(label(c), category=c) for c in codes[:8]]
    buttons.append(Choice(PERSON_TITLE, person=True))
    text = ("抱歉，我没能确定您问的是哪项服务。可以换个说法再问一次，"
            "比如“孩子在这边上小学要带什么材料”，也可以点下面的类别，或者找工作人员帮忙。")
    return Answer(text=text, buttons=buttons, confident=False)
