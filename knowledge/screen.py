"""What a parent reads on a phone: an answer's first screen and its detail.

The first screen is short (``first_screen``): the direct answer, the one next step, and the source
on one line (``knowledge/citation.py``). The rest of the item — who it is for, the full text,
materials, departments, the link — is its detail (``render_item``, behind the "详细" button), so no
department list or long URL fills the first screen. What the question is after
(``knowledge/aspects.py``) decides which line leads; ``knowledge/item_text.py`` finds it in the item.
"""

from __future__ import annotations

import re

from knowledge import aspects, item_text
from knowledge.citation import basis, citation, source_line
from knowledge.index import IndexedItem
from knowledge.schema import Authority

GUIDANCE_NOTE = "各地要求不同，请以当地最新通知为准。"
EXAMPLE_NOTE = "【示例】以下为演示用的示例数据，不代表当地实际政策。"
# The first screen before its source line: at most this many lines and characters (the notice
# that no local checklist exists included). An item without a written ``brief``/``next_step``
# (an uploaded or ingested checklist) is shortened to these at a sentence or clause end.
FIRST_SCREEN_LINES = 3
FIRST_SCREEN_CHARS = 120
SHORT_BRIEF = 60
SHORT_STEP = 40
_SENTENCE_END = re.compile(r"(?<=[。！？；])")
_CLAUSE_END = re.compile(r"(?<=[，、：])")


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
    return screen_and_cited(entry, notice, aspect, question, also, also_guides=also_guides)[0]


def screen_and_cited(entry: IndexedItem, notice: str, aspect: str, question: str,
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
    if (aspect in (aspects.TIME, aspects.COST) and also is not None and not item_text.holds(entry.item, aspect)
            and item_text.holds(also.item, aspect) and (also_guides or aspects.asks_the_permits_time(question))):
        said_by = also.item  # "要等多久才能办": the item beside says it (住半年以上), the clause does not
    asked = shorten(item_text.aspect_line(said_by, aspect, question, tuple(n for n, _ in lines)), item_text.LINE_MAX)
    more = brief(also) if also is not None else ""
    if (asked.rstrip("。；…") in answer or said_by is not entry.item and item_text.holds_in(more, aspect)
            or aspect == aspects.AGE and item_text.names_an_age(answer)):
        asked = ""  # the plain answer, or the one beside it, already says it
    # "低保户的娃康复能优先不": the sentence of the cited items that says what the question names, when
    # the plain answer does not (who it is for, or nothing particular, is what it would show instead)
    closest = ""
    # the step of an item written to go with the clause (same service); not another service's (the
    # permit beside an insurance answer: the step stays the insurance's)
    guided = next_step(also) if also is not None and also_guides and also.item.category == entry.item.category else ""
    if aspect == aspects.WHAT and not asked or aspect == aspects.WHO:
        closest = item_text.closest_line([entry.item] + ([also.item] if also is not None else [])
                                       + [other.item for other in kin], question,
                                       "".join((answer, more, next_step(entry), guided)))
        asked = closest or asked
    # said by ``also`` only: on the screen, ``also`` is cited
    speaker = None if not closest or item_text.says(entry.item, closest) else next(
        (other for other in ([also] if also is not None else []) + list(kin) if item_text.says(other.item, closest)), None)
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


def contrast_screen(first: IndexedItem, second: IndexedItem, notice: str = "") -> str:
    """A "difference" question: the two best items side by side, each by its name and its plain
    answer, within the first screen's limits; then both sources on the source line."""
    def name(entry: IndexedItem) -> str:  # up to its first break, never cut inside a word
        title = re.split(r"[：:，,（(]", entry.item.title.strip("【】"))[0]
        return title if len(title) <= 14 else title[:13] + "…"

    # who runs each, when they differ ("托育跟幼儿园有啥区别": 卫生健康部门 / 教育部门) — often the difference asked
    run_by = [item_text.plain_departments(entry.item.departments) for entry in (first, second)]
    runs = all(run_by) and set(run_by[0]).isdisjoint(run_by[1])  # no office in common
    room = FIRST_SCREEN_CHARS // 2
    body = [shorten(f"{mark}{name(entry)}{f'（{offices[0]}）' if runs else ''}：{brief(entry)}", room)
            for mark, entry, offices in (("①", first, run_by[0]), ("②", second, run_by[1]))]
    second_basis = basis(second).removeprefix("依据：")
    return "\n".join(body + [source_line(f"{basis(first)}；{second_basis}", notice)])

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

