"""How the engine makes an answer from the checklists: the search (reusing the parse's embedding),
the composed and cited answer, an answer from items the words chose, the report answer for a child
hurt, the assistance request offered beside an answer, and the clarifying question when nothing
answers. Every turn that answers from the checklists uses these."""

from __future__ import annotations

import dataclasses

from bot.reading import ASKS_FOR_HELP, HARDSHIP, _asked
from bot.replies import HANDOFF_BUTTON, INTENT_TITLES, answer_reply, button, choice_buttons, menu_buttons, offer_reply
from knowledge import aspects, compose, not_understood
from knowledge.answer import item_answer, no_local_notice
from knowledge.categories import CATEGORIES
from knowledge.retrieval import Hit
from ledger.conversations import ConversationHandle
from ledger.reply import QUESTION, Reply
from nlu.interpreter import ParseResult

CLARIFY_INTENTS = tuple(INTENT_TITLES)
# A status question with nothing filed here that names a service this surely ("临时救助审批得怎么样了")
# also gets that service's answer: chosen on the selection files, where every status question at or
# above it names a service, and "帮扶申请批下来没有" (our own form, 0.72) stays below.
NAMED_SERVICE_CONFIDENCE = 0.8
SURE_SERVICE = 0.9
HARM_CATEGORY = "child_protection"  # the service a message about a child being hurt is about
# ... and its item that says anyone may report it, whom to call now (110) and for violence at home
# (12338): the answer when retrieval is unsure, before a neighbour in the same service (legal aid's
# 12348 tied with it for "孩子他爸喝了酒就骂人摔东西 有没有热线能咨询下")
HARM_ITEM = "GUIDE-report-harm"
HARM_ENTRY = ("national-guidance", HARM_ITEM)  # checklist, item: in its current version
HARM_ITEM_MARGIN = 0.03  # ... when it scores this close to the best child-protection hit (法律援助 named: legal aid)
ASSISTANCE_OFFER_PROBABILITY = 0.2  # P(request_assistance) of a message routed to ask_service


class AnswersMixin:
    """Answers from the checklists, for every kind of turn that gives one.

    Needs from the engine: ``config`` (min_confidence, failures_before_handoff, public_url) and
    ``knowledge`` (the search, the items, the place names)."""

    @property
    def public_url(self) -> str:
        """Where the public reaches this server: answers link to stored notices there."""
        return self.config.public_url

    def _search(self, question: str, locality: str | None, parse: ParseResult | None = None, k: int | None = None):
        """Retrieval for ``question``, handed the parse's embedding: retrieval reuses it when it is of
        the text searched by the same model (``nlu.embedding.QueryVector``)."""
        query_vector = parse.query_vector if parse is not None else None
        return self.knowledge.search(question, locality, k=k, query_vector=query_vector)

    def _compose(self, result, locality: str | None):
        return compose(result, min_confidence=self.config.min_confidence,
                       locality_name=self.knowledge.locality_name(locality),
                       public_url=self.public_url)

    def _retrieve(self, question: str, locality: str | None, parse: ParseResult | None = None):
        """The cited answer composed from the checklists for ``question`` in ``locality``."""
        return self._compose(self._search(question, locality, parse), locality)

    def _answer_if_named(self, convo: ConversationHandle, parse: ParseResult,
                         sure: float = NAMED_SERVICE_CONFIDENCE) -> list[Reply]:
        """The checklists' answer for a message that names a service beyond doubt (retrieval at least
        ``sure``), else []."""
        locality = convo.state.get("locality")
        result = self._search(parse.normalized or parse.text, locality, parse)
        if result.confidence < sure:
            return []
        return [answer_reply(self._compose(result, locality))]

    def _answer_within(self, convo: ConversationHandle, parse: ParseResult, category: str,
                       prefer: str = "") -> list[Reply]:
        """The answer from the items of ``category``, the service the words decided (not the score):
        the best of them by the search — only those whose title or text holds ``prefer``, when any
        does — or its items in order when the search passed them all by."""
        locality = convo.state.get("locality")
        result = self._search(parse.normalized or parse.text, locality, parse, k=30)
        hits = ([hit for hit in result.hits if hit.entry.item.category == category]
                or [Hit(entry, 0.0, 0.0, 0.0, 0) for entry in self.knowledge.items_of((category,), locality)])
        if not hits:
            return self._clarify(convo, parse)
        if prefer:  # only those, when there are any: another item's step is no answer to what was asked
            hits = [hit for hit in hits if prefer in hit.entry.item.title + hit.entry.item.content] or hits
        return [self._decided_answer(convo, result, hits[:3], locality)]

    def _decided_answer(self, convo: ConversationHandle, result, hits, locality: str | None) -> Reply:
        """The answer from ``hits``, the items the words decided on, whatever retrieval's confidence."""
        convo.state["failures"] = 0
        ranked = dataclasses.replace(result, hits=hits, confidence=1.0,
                                     categories=list(dict.fromkeys(hit.entry.item.category for hit in hits)))
        return answer_reply(self._compose(ranked, locality))

    def _answer_or_harm(self, text: str, locality: str | None, parse: ParseResult):
        """(search result, answer) for ``text``: the composed answer, or when it is not confident the
        child-protection answer to a question about a child being hurt (``_harm_answer``)."""
        result = self._search(text, locality, parse)
        answer = self._compose(result, locality)
        if not answer.confident:
            answer = self._harm_answer(parse, locality, result) or answer
        return result, answer

    def _harm_answer(self, parse: ParseResult, locality: str | None, result):
        """A typed question about a child being hurt (the safety line beside it) that retrieval
        ``result`` cannot place ("怀疑楼下那家人打娃 能报吗"): the checklists' item on protecting children
        (anyone who finds a child hurt may report it) when one is among the best hits; None otherwise."""
        text = parse.normalized or ""
        if not parse.safety_hint or parse.payload_entities or not _asked(text):
            return None  # "孩子没被打", "虚惊一场": told, not asked — the safety line alone
        if not any(h.entry.item.category == HARM_CATEGORY for h in result.hits):
            return None
        return self._report_answer(text, locality, result, margin=HARM_ITEM_MARGIN)

    def _report_answer(self, text: str, locality: str | None, result, margin: float | None = None):
        """The item saying who may report a child hurt or neglected, and to whom (HARM_ITEM): from the
        search's hits, else its current version from the index. ``margin``: a child-protection hit
        this far ahead of it answers instead (legal aid named); None: the item always."""
        hits = [h for h in result.hits if h.entry.item.category == HARM_CATEGORY]
        harm = next((h for h in hits if h.entry.item.id == HARM_ITEM), None)
        if harm is None:  # "怀疑楼下那家人打娃 能报吗" beside a missing child's item: whom to report a child hurt to
            entry = self.knowledge.current_item(*HARM_ENTRY) or (hits[0].entry if hits else None)
        elif margin is not None and harm.score < hits[0].score - margin:
            entry = hits[0].entry
        else:
            entry = harm.entry
        if entry is None:
            return None
        return self._item_answer(entry, text, locality, result)

    def _item_answer(self, entry, text: str, locality: str | None, result, aspect: str | None = None):
        """The answer from one item the engine chose (not retrieval's first), for ``text`` asked in
        ``locality``; ``result``'s search says whether a local list was passed over. ``aspect``: what is
        asked, read from ``text`` when None."""
        return item_answer(entry, public_url=self.public_url, question=text,
                           aspect=aspects.aspect_of(text) if aspect is None else aspect,
                           notice=no_local_notice(result, self.knowledge.locality_name(locality), entry))

    def _answer_category(self, locality: str | None, category: str) -> Reply:
        result = self.knowledge.search(CATEGORIES[category], locality, k=30)
        for hit in result.hits:
            if hit.entry.item.category == category:
                return answer_reply(item_answer(hit.entry, public_url=self.public_url))
        return Reply(not_understood(result).text, buttons=menu_buttons())

    def _assistance_offer(self, parse: ParseResult) -> list[Reply]:
        """A question that also asks for someone to help ("孩子好几个月不说话了 能不能有人来看看"):
        the answer, and the assistance request offered with buttons."""
        text = parse.normalized or ""
        asks_help = ASKS_FOR_HELP.search(text) or HARDSHIP.search(text) or aspects.mentions_harm(text)
        runner_up = dict(parse.ranking).get("request_assistance", 0.0)
        if not asks_help and runner_up < ASSISTANCE_OFFER_PROBABILITY:
            return []
        return [offer_reply()]

    @staticmethod
    def _one_more_failure(convo: ConversationHandle) -> int:
        """One more turn in a row the bot could not answer; the count says when a person is offered."""
        failures = int(convo.state.get("failures", 0)) + 1
        convo.state["failures"] = failures
        return failures

    def _not_confident(self, convo: ConversationHandle, answer) -> list[Reply]:
        failures = self._one_more_failure(convo)
        buttons = choice_buttons(answer.buttons)
        if failures >= self.config.failures_before_handoff:
            return [Reply("抱歉，我还是没找到合适的答案。要不要请工作人员来帮您？", buttons=[HANDOFF_BUTTON] + buttons[:6])]
        return [Reply(answer.text, buttons=buttons)]

    def _clarify(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        failures = self._one_more_failure(convo)
        if failures >= self.config.failures_before_handoff:
            return [Reply("抱歉，我还是没能弄明白。要不要请工作人员来帮您？也可以换个说法再问一次。",
                          buttons=[HANDOFF_BUTTON, button(INTENT_TITLES["help"], "help")], kind=QUESTION)]
        candidates = [name for name, _ in parse.ranking if name in CLARIFY_INTENTS][:3]
        buttons = []
        for name in candidates:
            if name == "ask_service":
                buttons.append(button(INTENT_TITLES[name], name, text=parse.normalized[:200]))
            else:
                buttons.append(button(INTENT_TITLES[name], name))
        return [Reply("不好意思，我没太明白。您是想做下面哪一件事？也可以换个说法再说一遍。",
                      buttons=buttons or menu_buttons(), kind=QUESTION)]
