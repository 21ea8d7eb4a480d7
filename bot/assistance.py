"""A request for help: the entry to the assistance form (bot/form.py), a question asked with the
request answered first or instead, and check_status (what this conversation filed)."""

from __future__ import annotations

import re

from bot.handoff import used_today
from bot.reading import (
    BY_PROXY, MAY_WE, REGISTER_US, SELF_ASK, _asked, _asks_about_the_ledger, _asks_for_special_care,
    _asks_to_be_on_the_list, _only_asks, _service_question)
from bot.replies import INTENT_TITLES, answer_reply, button, offer_reply
from knowledge import aspects
from ledger import services
from ledger.conversations import ConversationHandle
from ledger.reply import Reply
from ledger.requests import STATUS_LABELS, requests_of, requests_since
from nlu.interpreter import ParseResult

# a request that someone be sent ("社区能不能派人来管管"): the form, not an answer
SOMEONE_SENT = re.compile(r"派|找人|上门|来(?:家|看|管)")
# what a request for help may also ask and have answered before its form: whether, what and how; a
# question of materials, fees or dates the checklists seldom state is left to the staff who call back
BEFORE_THE_FORM_ASPECTS = (aspects.WHO, aspects.WHAT, aspects.HOW)
# ... when retrieval is this sure of the service (0.9 before 2026-12-05's fifth session: on the 360
# requests of the held-out and independent sets, 0.8 adds one answer before the form — a family
# that cannot pay a rent rise asking for cheaper housing gets the housing answer, then the form)
BEFORE_THE_FORM_CONFIDENCE = 0.8


class AssistanceMixin:
    """``_on_request_assistance`` (the form's entry) and ``_on_check_status``.

    Needs from the engine: ``config`` (requests_per_day, min_confidence), ``form``; the answers
    (``AnswersMixin``) and ``_ledger_data_answer`` (``ListMixin``)."""

    def _on_request_assistance(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        if used_today(convo, requests_since) >= self.config.requests_per_day:
            return [Reply("今天已经提交了好几份帮扶申请，工作人员会逐一审核。如需再为其他孩子申请，请明天再来；"
                          "发送“查进度”可以查看已提交的申请。孩子如有危险请直接拨打 110。")]
        listed = _asks_to_be_on_the_list(parse)
        care = _asks_for_special_care(parse) and not SOMEONE_SENT.search(parse.normalized or "")
        if (listed or care) and not REGISTER_US.search(parse.normalized or ""):
            answered = self._ledger_data_answer(convo, parse, care=care and not listed)  # "娃有自闭症 这种能进重点关爱不"
            if answered:
                return answered + [offer_reply()]
        question = _service_question(parse)
        if question:
            # "想找慈善帮扶 该找谁联系": the whole message names the service beyond doubt, or the
            # clauses that ask do
            named = self._answer_if_named(convo, parse)
            if named:
                convo.state["failures"] = 0
                return named + [offer_reply()]
            answer = self._retrieve(question, convo.state.get("locality"))
            if answer.confident:  # answer what was asked, and offer the request rather than start it
                convo.state["failures"] = 0
                return [answer_reply(answer), offer_reply()]
        if _only_asks(parse) or _asks_about_the_ledger(parse):
            # "慈善帮扶优先帮哪些孩子", "我们户口不在这能申请临时救助不": a question about a service, not a
            # request to be registered — the answer, and the request one tap away
            answer = self._retrieve(parse.normalized or parse.text, convo.state.get("locality"), parse)
            if answer.confident:
                convo.state["failures"] = 0
                return [answer_reply(answer), offer_reply()]
            if _asks_about_the_ledger(parse):  # "听说有个重点关爱的 咋样能进": the words name the list
                answered = self._ledger_data_answer(convo, parse)
                if answered:
                    return answered + [offer_reply()]
        return self._answer_before_the_form(convo, parse) + self.form.start(convo, parse)

    def _answer_before_the_form(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """A request for help that also asks a question the checklists answer beyond doubt ("家里揭不开锅了
        能不能自己主动去要帮扶 还是只能干等人家来排查"): the answer first, then the request is filed as
        asked; [] otherwise."""
        text = parse.normalized or ""
        if parse.payload_entities or parse.text.startswith("/"):
            return []
        if not (_asked(text) or BY_PROXY.search(text) and MAY_WE.search(text)):
            # "能不能让居委会帮着递申请": a rule asked; "让社区帮我们家申请一下" asks, and is filed
            return []
        if aspects.aspect_of(text) not in BEFORE_THE_FORM_ASPECTS:  # "要什么材料": the form finds out
            return []
        # "揭不开锅了 能不能自己去说要帮扶 还是得等人家来查": whether they may ask is the rule they want
        # to know before filing, answered as any question is; else only a service beyond doubt
        sure = self.config.min_confidence if SELF_ASK.search(text) else BEFORE_THE_FORM_CONFIDENCE
        return self._answer_if_named(convo, parse, sure=sure)

    def _on_check_status(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        session = convo.session
        lines = [f"{r.reference}：{STATUS_LABELS.get(r.status, r.status)}（{r.created_at:%Y-%m-%d}提交）"
                 for r in requests_of(session=session, conversation_id=convo.id,
                                      references=convo.state.get("references"))]
        handoff_labels = {"open": "等待工作人员联系", "closed": "已处理"}
        lines += [f"{services.handoff_reference(r)}（人工帮助）：{handoff_labels.get(r.status, r.status)}"
                  f"（{r.created_at:%Y-%m-%d}）" for r in services.handoffs_of(session=session, conversation_id=convo.id)]
        if not lines:
            # "临时救助审批得怎么样了" with nothing filed here: applied at the street office, most likely —
            # say so, and answer what the checklists say of that service (where to ask)
            service = [] if parse.payload_entities else self._answer_if_named(convo, parse)
            if service:
                return [Reply("在童伴没有查到您的申请。如果是在街道、乡镇或有关部门申请的，请向经办的地方询问进度；"
                              "这项服务的说明：")] + service
            return [Reply("您还没有提交过申请或人工帮助请求。需要的话可以点“申请帮扶”。",
                          buttons=[button(INTENT_TITLES["request_assistance"], "request_assistance")])]
        return [Reply("您提交的申请和请求：\n" + "\n".join(lines))]
