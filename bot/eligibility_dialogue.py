"""Whether a child counts as a migrant child (clause 四): the verdict from facts gathered over several
turns (bot/eligibility.py decides), a question about the counting itself, or a service question that
only names migrant children answered as one."""

from __future__ import annotations

import re

from bot import eligibility
from bot.answers import NAMED_SERVICE_CONFIDENCE
from bot.replies import answer_reply, button, choice_buttons
from knowledge import aspects
from knowledge.answer import detail_choice
from knowledge.citation import basis, source_record
from ledger.conversations import ConversationHandle
from ledger.reply import ANSWER, QUESTION, Reply
from nlu.entities import HUKOU, RESIDENCE
from nlu.interpreter import ParseResult

ELIGIBILITY_ITEM = ("national-action-plan", "NAP-04-eligibility")  # checklist, item: in its current version
ELIGIBLE_NEXT_STEP = "下一步：可以接着问我上学、医保、打疫苗等怎么办。"
# what an eligibility question may ask besides "does my child count": answered from the checklists
RULE_ASPECTS = (aspects.HOW, aspects.TIME, aspects.IN_CHARGE, aspects.CONTACT)
ASKS_THE_VERDICT = re.compile(r"算不算|(?<![打计预])算(?!了)[^，。\s]{0,8}[吗么不没]|是不是流动|属于流动|算流动|是流动儿童[吗么]")


class EligibilityMixin:
    """``_on_check_eligibility`` and whether a message answers its open question.

    Needs from the engine: ``knowledge`` (geo, current items), ``public_url``; ``_search``,
    ``_compose`` and ``_retrieve`` (``AnswersMixin``)."""

    def _on_check_eligibility(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """The verdict of clause (四), from the facts gathered over this and earlier turns; while a
        fact is missing the check stays open and the next answer (yes, no, a number, a place)
        completes it."""
        facts = convo.state.get("eligibility") or {}
        if _asks_about_the_rule(parse):
            # "流动儿童是谁在统计啊" asks who counts them, not whether this child counts; the verdict
            # and the rule line stay the answer when the checklists have nothing surer, and an open
            # check stays open for its answer
            answer = self._retrieve(parse.normalized or parse.text, convo.state.get("locality"), parse)
            if answer.confident:
                convo.state["failures"] = 0
                return [answer_reply(answer)]
        elif not facts and not parse.payload_entities and not ASKS_THE_VERDICT.search(parse.normalized or ""):
            # "家里有流动儿童是不是就能分公租房", "闺女高考非得回户籍地吗": a question about a service that
            # names migrant children or the hukou place, not whether this child counts
            locality = convo.state.get("locality")
            result = self._search(parse.normalized or parse.text, locality, parse)
            top = result.hits[0].entry.item.category if result.hits else "eligibility"
            if top != "eligibility" and result.confidence >= NAMED_SERVICE_CONFIDENCE:
                convo.state["failures"] = 0
                return [answer_reply(self._compose(result, locality))]
        answer = parse.intent if parse.intent in ("affirm", "deny") else None
        residence = parse.entity("locality", role=RESIDENCE)
        facts = eligibility.update_facts(facts, parse.normalized, age=parse.entity("child_age"),
                                         months=parse.entity("months"), geo=self.knowledge.geo, answer=answer,
                                         hukou=parse.entity("locality", role=HUKOU), residence=residence)
        if residence:
            convo.state["locality"] = residence  # where they live, never the hukou place
        verdict = eligibility.check(facts)
        # the phone layout of any answer: the verdict and why (or what is still needed), the rule in
        # one line, the next step; then the source line, the clause's whole text behind 详细
        lines = [eligibility.verdict_line(verdict), eligibility.RULE_SHORT]
        buttons = []
        if verdict.missing:
            facts["asked"] = "across" if verdict.missing == (eligibility.ASK_ACROSS,) else "facts"
            convo.state["eligibility"] = facts
            if facts["asked"] == "across":
                buttons = [button("是", "affirm"), button("不是", "deny")]
        else:
            convo.state.pop("eligibility", None)
            if verdict.answer == eligibility.YES:
                lines.append(ELIGIBLE_NEXT_STEP)
        entry = self.knowledge.current_item(*ELIGIBILITY_ITEM)
        sources = []
        if entry is not None:
            lines.append(basis(entry))
            buttons += choice_buttons([detail_choice(entry)])
            sources = [source_record(entry, self.public_url)]
        return [Reply("\n".join(lines), buttons=buttons, sources=sources, facts={"eligibility": verdict.answer},
                      kind=QUESTION if verdict.missing else ANSWER)]

    def _answers_eligibility(self, convo: ConversationHandle, parse: ParseResult) -> bool:
        """Whether this message answers the open eligibility check's question."""
        pending = convo.state.get("eligibility")
        if not pending or parse.payload_entities and parse.intent not in ("affirm", "deny"):
            return False
        if parse.intent in ("affirm", "deny", "check_eligibility"):
            return True
        if any(parse.entity(name) is not None for name in ("child_age", "months", "locality")):
            return True
        return bool(eligibility.mentions_a_move(parse.normalized))


def _asks_about_the_rule(parse: ParseResult) -> bool:
    """A question about the counting of migrant children — how, when, who keeps the list — that
    tells nothing of this child (no age, no months, no place, no move)."""
    if parse.payload_entities or aspects.aspect_of(parse.normalized) not in RULE_ASPECTS:
        return False
    if ASKS_THE_VERDICT.search(parse.normalized or ""):  # "我们来这边时间不长 算流动儿童吗"
        return False
    if any(parse.entity(name) is not None for name in ("child_age", "months", "locality")):
        return False
    return not eligibility.mentions_a_move(parse.normalized)
