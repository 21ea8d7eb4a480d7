"""A person asked for: the handoff to the local staff (the place asked first when unknown), within
its daily cap; a question about people ("儿童主任是干啥的") answered instead, a person one tap away."""

from __future__ import annotations

import datetime as dt
import re

from bot.answers import NAMED_SERVICE_CONFIDENCE
from bot.reading import _asks_about_people
from bot.replies import answer_reply, person_offer
from knowledge import aspects
from ledger import services
from ledger.conversations import ConversationHandle
from ledger.reply import QUESTION, Reply
from nlu.interpreter import ParseResult

# what someone does or is ("儿童主任是干啥的", "啥是儿童督导员"): a question, whoever it names
ABOUT_A_ROLE = re.compile(r"(?:儿童主任|儿童督导员|督导员|网格员|社工)[^，。\s]{0,3}(?:是谁|是干|干啥|干什么|管什么|管啥|管哪些|负责|是什么|是啥|是做)|"
                          r"(?:啥|什么)是(?:儿童主任|儿童督导员|督导员|网格员|社工)")


class HandoffMixin:
    """``_on_human_handoff`` and the handoff itself (``_create_handoff``; ``_waiting_handoff`` when
    the place given completes a waiting one).

    Needs from the engine: ``config`` (handoffs_per_day, min_confidence), ``cipher``, ``knowledge``;
    ``_search`` and ``_compose`` (``AnswersMixin``)."""

    def _on_human_handoff(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        if _asks_about_people(parse):  # "儿童主任跟儿童督导员有啥区别": answered, a person one tap away
            locality = convo.state.get("locality")
            result = self._search(parse.normalized or parse.text, locality, parse)
            # a difference is only ever a question; anything else must name its service beyond doubt
            sure = (self.config.min_confidence
                    if aspects.aspect_of(parse.normalized) == aspects.DIFFERENCE or ABOUT_A_ROLE.search(parse.normalized or "")
                    else NAMED_SERVICE_CONFIDENCE)
            if result.confidence >= sure:
                return [answer_reply(self._compose(result, locality)), person_offer()]
        reason = parse.text if not parse.text.startswith("/") else "请求人工帮助"
        return self._handoff_or_ask_locality(convo, reason)

    def _handoff_or_ask_locality(self, convo: ConversationHandle, reason: str) -> list[Reply]:
        if not convo.state.get("locality"):
            convo.state["pending_handoff"] = True
            convo.state["handoff_reason"] = reason[:500]
            return [Reply("好的。为了转给您所在地区的工作人员，请告诉我您现在住在哪个市、哪个区"
                          "（例如：深圳市宝安区）。孩子如有危险请直接拨打 110。", kind=QUESTION)]
        return self._create_handoff(convo, reason)

    def _waiting_handoff(self, convo: ConversationHandle) -> list[Reply]:
        """The handoff that waited for the family's place, made now that the place is known; [] when
        none waits."""
        if not convo.state.pop("pending_handoff", None):
            return []
        return self._create_handoff(convo, convo.state.pop("handoff_reason", "请求人工帮助"))

    def _create_handoff(self, convo: ConversationHandle, reason: str) -> list[Reply]:
        session = convo.session
        existing = services.open_handoff(session=session, conversation_id=convo.id)
        locality = convo.state.get("locality")
        area = self.knowledge.geo.full_name(locality) if locality else "您所在地区"
        if existing is not None:
            return [Reply(f"您的人工帮助请求（编号 {services.handoff_reference(existing)}）已经在处理队列里了，"
                          f"{area}的工作人员会通过这里联系您。孩子如有危险请直接拨打 110。")]
        if used_today(convo, services.handoffs_since) >= self.config.handoffs_per_day:
            return [Reply(f"今天已经转给{area}的工作人员好几次了，他们会看到您的请求，请耐心等待联系。"
                          "孩子如有危险请直接拨打 110；有人受伤请拨打 120。")]
        request = services.create_handoff(session=session, cipher=self.cipher, conversation_id=convo.id,
                                          channel=convo.channel, locality=locality, reason=reason)
        return [Reply(f"已把您的请求转给{area}的民政工作人员和儿童主任（编号 {services.handoff_reference(request)}）。"
                      "他们在工作日查看，会通过这个对话联系您；我们不能保证具体的回复时间。"
                      "孩子如有危险请直接拨打 110。",
                      facts={"handoff": services.handoff_reference(request)})]


def used_today(convo: ConversationHandle, count_since) -> int:
    """How many of something (``count_since``: requests, handoffs) the conversation made in 24 h."""
    return count_since(session=convo.session, conversation_id=convo.id,
                       since=dt.datetime.now(dt.timezone.utc) - services.DAY)
