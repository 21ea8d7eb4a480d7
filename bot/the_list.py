"""The priority-care list (the ledger, clause 五) and the monitoring's registration (clause 四): a
question that names them, whatever the model made of it, answered from their clauses; special care
asked after a story of the list's situations."""

from __future__ import annotations

import re

from bot.reading import REGISTER_US, _held_elsewhere, names_the_list, _put_as_a_question
from bot.replies import offer_reply, privacy_offer
from knowledge import aspects, item_text
from knowledge.retrieval import Hit
from ledger.conversations import ConversationHandle
from ledger.reply import Reply
from nlu.interpreter import ParseResult

# the monitoring's record of a child, kept up to date and passed between places ("孩子信息多久更新一回")
MONITORED = re.compile(r"^(?!.*(?:转学|学籍|档案))(?=.*(?:孩子|娃|小孩)的?(?:信息|情况)[^，。\s]{0,4}(?:更新|共享|跟过去|推送|同步|互通))")
LEDGER_CATEGORIES = ("priority_care", "eligibility")  # the ledger (clause 五) and the monitoring (四)


class ListMixin:
    """Questions about the priority-care list and the community's registration.

    Needs from the engine: ``knowledge``, ``form``; ``_search``, ``_decided_answer`` and
    ``_assistance_offer`` (``AnswersMixin``)."""

    def _list_question_answer(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """A question that names the priority-care list or a child's monitored record, whatever the model
        made of it ("台账多久更新一次" read as out of scope, "登记进台账要带什么材料" or "孩子信息多久更新一回"
        unsure): answered from the monitoring and ledger clauses; [] for anything else (an app's data:
        "孩子在抖音上的信息会同步吗")."""
        text = parse.normalized or ""
        if parse.payload_entities or self.form.active(convo.state) or not (names_the_list(text) or MONITORED.search(text)):
            return []
        if not _put_as_a_question(text) or REGISTER_US.search(text) or _held_elsewhere(parse):
            return []
        answered = self._ledger_data_answer(convo, parse)
        return answered + self._assistance_offer(parse) if answered else []

    def _ledger_data_answer(self, convo: ConversationHandle, parse: ParseResult, offer: bool = True,
                            care: bool = False) -> list[Reply]:
        """"在这边登记的重点关爱信息 老家那边也能看到吗", "社区登记的信息会不会传出去", "那个台账是哪个单位
        在弄": the answer from the monitoring and ledger clauses, the item that says what is asked
        first (kept safe, shared with the home county, who runs it); for a question about the data,
        how Tongban keeps its own one tap away. [] when the checklists hold no such item."""
        locality = convo.state.get("locality")
        result = self._search(parse.normalized or parse.text, locality, parse, k=30)
        found = {hit.entry.key: hit for hit in result.hits}
        # every item of the clauses, ranked: the one that says what is asked first, then by the search
        # special care asked after a story of the list's situations (``care``): the list's own items
        hits = [found.get(entry.key) or Hit(entry, 0.0, 0.0, 0.0, 0)
                for entry in self.knowledge.items_of(("priority_care",) if care else LEDGER_CATEGORIES, locality)]
        if not hits:
            return []
        aspect = aspects.aspect_of(parse.normalized or parse.text)
        # a registration by the community is the monitoring survey (the plan's 四, eligibility); the list
        # named (台账, 重点关爱) is the ledger (五): of the items that say what is asked, that one first
        survey = "priority_care" if care or names_the_list(parse.normalized) else "eligibility"
        def rank(hit):
            item = hit.entry.item
            says = item_text.holds(item, aspect)
            # the care asked for is the list's visits, not how its data is shared or kept
            visits = not care or "走访" in item.brief + item.content
            return not visits, not says, says and item.category != survey, -hit.score

        # the topic is decided by the words, not by the score: the ledger's items are the answer
        replies = [self._decided_answer(convo, result, sorted(hits, key=rank)[:3], locality)]
        if offer and (parse.intent == "privacy" or aspect in (aspects.DATA, aspects.SHARED)):
            replies.append(privacy_offer())
        return replies

    def _special_care_answer(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """Special care asked after a story of the list's situations: the list's visiting items, the
        request offered beside them; [] when the checklists hold no such item."""
        answered = self._ledger_data_answer(convo, parse, offer=False, care=True)
        return answered + [offer_reply()] if answered else []
