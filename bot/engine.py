"""The dialogue engine: one message in, a list of replies out.

Every message goes through intent recognition first. The safety net is checked before
anything else, in every state of the conversation. Channels (REST, web chat, Telegram)
call :meth:`DialogueEngine.handle` and know nothing of NLU or retrieval; the engine knows
nothing of HTTP. Conversation state lives (encrypted) in the ledger database.
"""

from __future__ import annotations

import logging

from bot import referrals
from bot.answers import AnswersMixin
from bot.assistance import AssistanceMixin
from bot.channel import TurnHook
from bot.config import EngineConfig
from bot.danger_guidance import health_now
from bot.eligibility_dialogue import EligibilityMixin
from bot.emergencies import EmergencyMixin
from bot.form import AssistanceForm
from bot.handoff import HandoffMixin
from bot.places import PlacesMixin
from bot.privacy import PrivacyMixin
from bot.questions import QuestionsMixin
from bot.reading import ASKS_FOR_A_PERSON, _asks_for_temporary_care, _held_elsewhere, _offers_to_give
from bot.replies import menu_buttons, offer_reply
from bot.the_list import ListMixin
from knowledge import KnowledgeBase, aspects
from ledger.conversations import ConcurrentUpdate, ConversationHandle, ConversationStore
from ledger.crypto import DataCipher
from ledger.reply import QUESTION, Reply
from ledger.requests import committee_by_code
from ledger.transcript import record_transcript
from nlu.domain import Domain, load_domain
from nlu.entities import RESIDENCE
from nlu.interpreter import Interpreter, ParseResult

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 10_000
MAX_TURN_ATTEMPTS = 3
EMPTY_REPLY = "您好，请直接输入想问的问题，比如“孩子在这边上小学要带什么材料”。"
# Intents whose own reply says nothing useful beside first aid for the child now ("this is not
# something I can answer"): the first aid is the whole answer (bot.danger_guidance.health_now).
ANSWERED_BY_AID = ("out_of_scope",)
GIVING = "charity"  # the service of those who offer to give (nlu/giving.py)
GUARDIANSHIP = "basic_living"  # the service of temporary guardianship (nlu/situations.py)
SAFETY_HINT = ("如果孩子现在有危险，请立即拨打 110；有人受伤请拨打 120；家庭暴力也可拨打 12338；"
               "孩子情绪低落、想不开，可拨打 12355 青少年服务热线。")


class DialogueEngine(EmergencyMixin, PrivacyMixin, HandoffMixin, AssistanceMixin, EligibilityMixin, ListMixin,
                     PlacesMixin, QuestionsMixin, AnswersMixin):
    """One turn: the safety net, a pending deletion, the form, the eligibility check, then the intent's
    handler ``_on_<intent>`` — found by its name on this class, defined in the mixin of its kind of turn
    (bot/emergencies.py, privacy.py, handoff.py, assistance.py, eligibility_dialogue.py, the_list.py,
    places.py, questions.py; the answers they share in answers.py, the readings in reading.py)."""

    def __init__(self, *, config: EngineConfig, knowledge: KnowledgeBase, interpreter: Interpreter,
                 store: ConversationStore, cipher: DataCipher, domain: Domain | None = None):
        self.config = config
        self.knowledge = knowledge
        self.interpreter = interpreter
        self.store = store
        self.cipher = cipher
        self.domain = domain or load_domain()
        self.form = AssistanceForm(self.domain, cipher)

    def handle(self, sender: str, text: str | None, metadata: dict | None = None,
               channel: str = "rest", hook: TurnHook | None = None) -> list[Reply]:
        """One turn, in one transaction: state, records, transcript and (through ``hook``) the
        channel's own bookkeeping commit together or not at all. A turn that lost a race with
        another process (the conversation's version moved) is replayed on the fresh state."""
        for attempt in range(MAX_TURN_ATTEMPTS):
            try:
                return self._turn(sender, text, metadata or {}, channel, hook)
            except ConcurrentUpdate:
                if attempt == MAX_TURN_ATTEMPTS - 1:
                    raise
                log.info("conversation changed by another process; replaying the turn")
        raise AssertionError("unreachable")

    def _turn(self, sender: str, text: str | None, metadata: dict, channel: str,
              hook: TurnHook | None) -> list[Reply]:
        text = (text or "")[:MAX_MESSAGE_CHARS].strip()
        # Intent recognition needs no state: done before the transaction, so the database (on
        # SQLite, the one write lock) is held only for the routing and the writes.
        parsed = self.interpreter.parse(text) if text and not isinstance(metadata.get("event"), dict) else None
        with self.store.open(sender, channel) as convo:
            if hook is not None:
                if not hook.begin(convo):
                    return []
                text = (hook.rewrite(convo, text) or "")[:MAX_MESSAGE_CHARS].strip()
            convo.unblock()  # they wrote to us: they have not blocked the bot
            self._apply_metadata(convo, metadata)
            event = metadata.get("event")
            if isinstance(event, dict):
                replies = self._on_event(convo, event)
            elif not text:
                replies = [Reply(EMPTY_REPLY, buttons=menu_buttons())]
            else:
                parse = parsed if parsed is not None and parsed.text == text else self.interpreter.parse(text)
                convo.state["latest_message"] = parse.to_rasa()
                replies = self._route(convo, parse)
            if not any(reply.facts.get("deleted") for reply in replies):  # nothing kept of an erasing turn
                record_transcript(convo, self.cipher, text or _event_label(event), replies)
            if hook is not None:
                hook.finish(convo, replies)
            return replies

    def _route(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        if parse.intent == "emergency" and self._form_free_text_false_alarm(convo, parse):
            parse.intent, parse.confidence = next((n, c) for n, c in parse.ranking if n != "emergency")
            parse.safety_hint = True
        if parse.intent != "emergency" and not parse.payload_entities and aspects.mentions_harm(parse.normalized):
            parse.safety_hint = True  # "爸爸天天打孩子 谁管": whatever the answer, 110 is named beside it
        if parse.intent != "emergency":
            confirmed = self._deletion_answer(convo, parse)
            if confirmed is not None:
                return confirmed
        lapsed = []
        if parse.intent not in ("affirm", "deny", "cancel"):
            # a confirmation asked for ("确认要删除…吗？") is answered by the next message or never: a
            # later "好的" after another question must not erase anything
            if convo.state.pop("pending_confirm", None) == "delete_data" and parse.intent != "delete_data":
                lapsed = [Reply("刚才的删除没有执行；需要的话请再发“删除我的信息”。")]
        if parse.intent == "emergency":
            replies = self._emergency(convo, parse)
            if self.form.active(convo.state):
                replies += self.form.kept(convo.state)
            else:
                try:  # the emergency reply and its record stand whatever happens to the rest of the message
                    replies += self._rest_of_message(convo, parse)
                except Exception:
                    log.exception("answering the rest of an emergency message failed; the emergency reply stands")
            return replies
        if not parse.payload_entities:
            after = self._after_emergency(convo, parse)
            if after:
                return after
        replies = lapsed + self._calm(convo, parse)
        if parse.safety_hint:  # on every path, first: in the form, before the question it waits on
            at = len(replies) - 1 if self.form.active(convo.state) and replies else 0
            replies.insert(at, Reply(SAFETY_HINT))
        return replies

    def _calm(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """Every turn that is no emergency: the form, the eligibility check, then the intents."""
        threshold = self.config.fallback_threshold
        if parse.intent == "delete_data" and parse.confidence >= threshold and not parse.payload_entities:
            return self._on_delete_data(convo, parse)  # "删除我的信息" is never a child's name in the form
        if self.form.active(convo.state):
            return self.form.step(convo, parse, self._digression)
        if self._answers_eligibility(convo, parse):
            return self._on_check_eligibility(convo, parse)
        convo.state.pop("eligibility", None)  # the parent moved on
        # where the family lives, never the household registration (户口在河南 现在住深圳宝安)
        residence = parse.entity("locality", role=RESIDENCE)
        if residence and parse.intent in (
                "set_locality", "ask_service", "check_eligibility", "human_handoff"):
            convo.state["locality"] = residence
        aid = None if parse.payload_entities else health_now(parse.normalized)
        decided = []
        if _offers_to_give(parse):  # "我们老板想搞个项目帮工人的娃 行不行": charity, whatever else is named
            decided = self._answer_within(convo, parse, GIVING)
        elif _asks_for_temporary_care(parse):  # "俺得住院 娃没人带 政府有地方能临时帮着照看不"
            decided = self._answer_within(convo, parse, GUARDIANSHIP, prefer="临时") + [offer_reply()]
        if decided:  # what to do for the child now first ("娃被狗咬了…能临时帮着照看不")
            return ([Reply(aid)] if aid else []) + decided
        handler = getattr(self, f"_on_{parse.intent}", None)
        unsure = parse.confidence < threshold and not parse.payload_entities
        if aid and (handler is None or unsure or parse.intent in ANSWERED_BY_AID):
            # "娃被猫咬了 出了点血": what to do now is the answer, not "I can't help" or a menu
            convo.state["failures"] = 0
            return [Reply(aid, buttons=menu_buttons())]
        if unsure and not parse.text.startswith("/") and ASKS_FOR_A_PERSON.search(parse.normalized or ""):
            replies = self._on_human_handoff(convo, parse)  # "问了三遍还是没说清楚 转人工吧": no menu first
        elif handler is None or unsure:
            replies = self._answer_if_found(convo, parse) or self._list_question_answer(convo, parse)
            if not replies:  # "我的社保在这边交的 有问题找谁": the line that answers it, not a menu
                outside = not parse.payload_entities and referrals.outside_scope(parse.normalized or "")
                replies = self._on_out_of_scope(convo, parse) if outside else self._clarify(convo, parse)
        else:
            replies = handler(convo, parse)
            if parse.intent not in ("ask_service", "out_of_scope") and not _held_elsewhere(parse):  # these decide themselves
                convo.state["failures"] = 0
        if aid:  # first what to do for the child now, then the entitlement asked about
            replies.insert(0, Reply(aid))
        return replies

    def _digression(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """A question asked in the middle of the form: answered, then the form resumes."""
        handler = getattr(self, f"_on_{parse.intent}", None)
        return handler(convo, parse) if handler else []

    def _apply_metadata(self, convo: ConversationHandle, metadata: dict) -> None:
        locality = metadata.get("locality")
        if isinstance(locality, str) and locality.strip():
            code = self.knowledge.geo.resolve_code(locality)
            if code:
                convo.state["locality"] = code
        referral = metadata.get("referral")
        if isinstance(referral, str) and referral.strip():
            convo.state["referral"] = referral.strip()[:64]

    # --- non-text events (channels translate them; a shared location: bot/places.py) -------------
    def _on_event(self, convo: ConversationHandle, event: dict) -> list[Reply]:
        kind = event.get("type")
        if kind == "start":
            return self._on_start(convo, event)
        if kind == "location":
            return self._on_location(convo, event.get("locality"))
        if kind == "contact":
            return self._on_contact(convo, str(event.get("phone") or ""))
        what = _what_was_sent(event) or "这类消息"
        replies = [Reply(f"抱歉，我目前只能看懂文字消息，还不能处理{what}。请用文字告诉我，谢谢！")]
        if self.form.active(convo.state):
            replies += self.form.reask(convo.state)
        return replies

    def _on_start(self, convo: ConversationHandle, event: dict) -> list[Reply]:
        """``/start`` with or without a committee's referral code (deep link)."""
        code = event.get("referral")
        replies = [Reply(self.domain.text("utter_greet"), buttons=menu_buttons())]
        committee = committee_by_code(session=convo.session, code=code) if code else None
        if committee is not None:
            convo.state["referral"] = committee.code
            convo.state["locality"] = committee.locality_code
            replies.insert(0, Reply(f"欢迎！您是通过{committee.name}（{committee.locality_name}）了解到童伴的。"
                                    "之后的回答会优先用当地的服务清单。"))
            return replies
        if code:
            convo.state["referral"] = str(code)[:64]
        if not convo.state.get("locality"):
            replies.append(Reply("为了告诉您当地的政策，请问您现在住在哪个市、哪个区？"
                                 "可以直接输入（例如“深圳市宝安区”），也可以发送您的位置。", kind=QUESTION))
        if self.form.active(convo.state):
            replies += [Reply("您有一份没填完的帮扶申请，我们接着填写。")] + self.form.reask(convo.state)
        return replies

    def _on_contact(self, convo: ConversationHandle, phone: str) -> list[Reply]:
        if self.form.asking(convo.state) == "guardian_phone":
            return self.form.step(convo, self.interpreter.parse(phone), self._digression)
        replies = [Reply("谢谢。现在还不需要电话号码，我没有保存它；填写帮扶申请时会再请您留下。")]
        if self.form.active(convo.state):
            replies += self.form.reask(convo.state)
        return replies

    # --- the intents answered with a line ----------------------------------------------------
    def _on_greet(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        return [Reply(self.domain.text("utter_greet"), buttons=menu_buttons())]

    def _on_thank(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        return [Reply(self.domain.text("utter_thank"))]

    def _on_goodbye(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        return [Reply(self.domain.text("utter_goodbye"))]

    def _on_inform(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        """A form button pressed when no form is waiting for it (an old message's button)."""
        return [Reply("这个按钮对应的填写已经结束了。需要的话可以重新点“申请帮扶”，或者直接告诉我您想问什么。",
                      buttons=menu_buttons())]

    def _on_cancel(self, convo: ConversationHandle, parse: ParseResult) -> list[Reply]:
        pending = convo.state.pop("pending_confirm", None) or convo.state.pop("pending_handoff", None)
        if pending:
            convo.state.pop("handoff_reason", None)
            return [Reply(self.domain.text("utter_cancelled"))]
        return [Reply("现在没有正在进行的事项。需要什么帮助可以直接问我。", buttons=menu_buttons())]


def _event_label(event) -> str:
    if not isinstance(event, dict):
        return ""
    return {"start": "[开始对话]", "location": "[分享了位置]", "contact": "[分享了联系人]"}.get(
        str(event.get("type")), f"[{_what_was_sent(event) or '非文字消息'}]")


def _what_was_sent(event: dict) -> str:
    """What a parent sent that the bot cannot read, in their words ("语音", "图片"): named by the
    channel that received it, which alone knows its platform's kinds of message; "" when unnamed."""
    what = event.get("what")
    return what[:20] if isinstance(what, str) else ""
