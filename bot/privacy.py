"""The parent's data: how Tongban keeps it (privacy), deleting it (asked first, then a typed or
pressed yes or no), and a child's data held elsewhere — a website, an app, a chat group — or by the
community's list."""

from __future__ import annotations

import datetime as dt
import re

from bot import referrals
from bot.reading import _about_the_ledger, _held_elsewhere
from bot.replies import answer_reply, button, data_offer, menu_buttons, privacy_offer
from ledger.conversations import ConversationHandle
from ledger.erasure import erase_conversation, erasure_plan
from ledger.reply import QUESTION, Reply
from nlu.interpreter import ParseResult

# a child's data held by a website, an app or a chat group: guardian's consent, deletion (PIPL, the regulation)
DATA_ONLINE_ENTRY = ("national-guidance", "GUIDE-child-data-online")
# how often a child's registered record is updated, by whomever the parent thinks keeps it
# (not a school, insurance, permit or health-code record, and not a correction of what was given to us)
UPDATED = re.compile(r"^(?!.*(?:学籍|档案|医保|居住证|健康码|填错|写错|改|填的|填了))"
                     r"(?=.*(?:孩子|娃|小孩)[^，。]{0,4}(?:信息|情况)[^，。]{0,8}(?:多久|多长时间|几个月|啥时候|什么时候|定期)[^，。]{0,4}更新)")
# a typed answer to "确认要删除…吗？": a refusal or a doubt, and a plain yes
REFUSES = re.compile(r"不|别|算了|等|想想|再说|[?？]")
CONFIRMS_DELETION = re.compile(r"(?:确认|确定|是的?|对的?|好的?|嗯+|可以|同意|要|要删|删吧|删了吧|删掉吧|确认删除)[。.!！~～]*")
SURE_YES = 0.85  # P(affirm) of a typed yes that erases


class PrivacyMixin:
    """The turns about data: ``_on_privacy``, ``_on_delete_data``, its confirmation
    (``_deletion_answer``, ``_on_affirm``, ``_on_deny``).

    Needs from the engine: ``config`` (retention), ``cipher``, ``domain``, ``knowledge``, ``form``;
    the answers (``AnswersMixin``), ``_ledger_data_answer`` and ``_on_ask_service``."""

    def _on_privacy(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        if _held_elsewhere(parse):  # "娃手机上的APP老要填个人信息": a question about a child's data online
            return self._answer_about_data_elsewhere(convo, parse, privacy_offer())
        text = parse.normalized or ""
        if (_about_the_ledger(parse) or UPDATED.search(text)) and not self.form.active(convo.state):
            # "你们登记的那些娃的信息 多久更新一回": Tongban updates nothing — the monitoring does, every
            # half year; how Tongban keeps its own data is one tap away
            answered = self._ledger_data_answer(convo, parse)
            if answered:
                return answered
        return [Reply(self.domain.text("utter_privacy"))]

    def _answer_about_data_elsewhere(self, convo: ConversationHandle, parse: ParseResult, offer: Reply) -> list[Reply]:
        """The law on a child's data online, with what concerns the parent's data here one tap away.
        What is asked is known already (a child's data held by a website, an app, a chat group): when
        retrieval is not sure which item says it, the item on a child's data online answers."""
        if referrals.outside_scope(parse.normalized):
            return self._on_ask_service(convo, parse) + [offer]
        locality = convo.state.get("locality")
        text = parse.normalized or parse.text
        result, answer = self._answer_or_harm(text, locality, parse)
        if not answer.confident and parse.safety_hint:  # "娃在班级群被网暴 能让群主删吗": harm first
            answer = self._report_answer(text, locality, result) or answer
        if not answer.confident:
            entry = (next((h.entry for h in result.hits if h.entry.item.id == DATA_ONLINE_ENTRY[1]), None)
                     or self.knowledge.current_item(*DATA_ONLINE_ENTRY))
            if entry is None:
                return self._not_confident(convo, answer) + [offer]
            answer = self._item_answer(entry, text, locality, result)
        convo.state["failures"] = 0
        return [answer_reply(answer), offer]

    def _on_delete_data(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """Ask first, saying exactly what would be deleted and what the law makes us keep."""
        offer = data_offer("如果是想删除您留在童伴的信息", "删除我留在童伴的信息", "delete_data")
        if _held_elsewhere(parse):
            # "想让抖音把娃的视频删了": the law on a child's data online answers it; deleting what the
            # parent left here stays one tap away, never dropped
            return self._answer_about_data_elsewhere(convo, parse, offer)
        if _about_the_ledger(parse) and not self.form.active(convo.state):
            # "登记表上娃的名字写错了 能让他们改或者删掉不": the list the community keeps, not what the parent left
            # here — the law's right to correct and delete, and whom to ask; deleting ours one tap away
            answered = self._ledger_data_answer(convo, parse, offer=False)
            if answered:
                return answered + [offer]
        convo.state["pending_confirm"] = "delete_data"
        plan = erasure_plan(convo.session, convo.id, policy=self.config.retention)
        return [Reply("确认要删除您留在童伴的个人信息吗？\n" + plan.parent_text(done=False)
                      + "\n删除后无法恢复。请回复“确认”或“取消”。",
                      buttons=[button("确认删除", "affirm"), button("不删了", "deny")], kind=QUESTION)]

    def _deletion_answer(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply] | None:
        """The parent's answer to "确认要删除…吗？" when typed: a refusal or a doubt (不删了, 等等, 嗯？)
        deletes nothing; a clear yes (确认, 对 删吧, 确认删除) deletes; an unsure yes is asked again.
        None when no deletion waits, for a button (its payload says which), or for anything else (the
        confirmation then lapses)."""
        if convo.state.get("pending_confirm") != "delete_data" or parse.payload_entities or parse.text.startswith("/"):
            return None
        text = parse.normalized or parse.text or ""
        if REFUSES.search(text):
            return self._on_deny(convo, parse)
        if (parse.intent == "delete_data" or CONFIRMS_DELETION.fullmatch(text)
                or parse.intent == "affirm" and parse.confidence >= SURE_YES):
            return self._on_affirm(convo, parse)
        if parse.intent == "affirm":
            return [Reply("还没有删除。确定要删除请回复“确认”，不删请回复“取消”。",
                          buttons=[button("确认删除", "affirm"), button("不删了", "deny")], kind=QUESTION)]
        return None

    def _on_affirm(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        if convo.state.pop("pending_confirm", None) == "delete_data":
            now = dt.datetime.now(dt.timezone.utc)
            convo.state.clear()
            report = erase_conversation(convo.session, self.cipher, convo.id, now, policy=self.config.retention)
            convo.deletion_requested(now)
            return [Reply(report.parent_text(done=True)
                          + "\n您还可以继续使用童伴；之后的对话会重新保存，保存多久见“隐私说明”。",
                          facts={"deleted": True, "kept": [k.reference for k in report.kept]})]
        return [Reply("好的。还有什么可以帮您？", buttons=menu_buttons())]

    def _on_deny(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        if convo.state.pop("pending_confirm", None):
            return [Reply("好的，没有删除任何信息。")]
        return [Reply("好的。还有什么可以帮您？", buttons=menu_buttons())]
