"""The assistance-request form inside the dialogue engine.

The form's state lives in the conversation state (``active_loop``, ``requested_slot``,
``slots``). Each answer is validated by running the rasa-sdk ``ValidateAssistanceRequestForm``
in-process with a real ``Tracker``; the completed form is filed by
``ActionSubmitAssistanceRequest``. The questions, labels and displays are the declaration's
(actions/slots.py); the steps between states are declared in bot/form_graph.py, drawn in
docs/form.md, and named here as they are taken (``_walked``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import threading
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import ValidateAssistanceRequestForm
from actions.slots import ANSWERS, FORM_NAME, REQUIRED_SLOTS, SLOT, SLOTS, Slot
from actions.submit import ActionSubmitAssistanceRequest, SessionRequestStore
from actions.validators import OverAge
from bot.form_graph import Event, Phase, edge, phase_of
from bot.replies import button, rasa_buttons
from ledger.reply import ANSWER, QUESTION, Reply
from nlu.domain import Domain
from nlu.interpreter import ParseResult

log = logging.getLogger(__name__)

ACTION_DOMAIN = {"forms": {FORM_NAME: {"required_slots": list(REQUIRED_SLOTS)}},
                 "slots": {s: {"type": "any", "mappings": [{"type": "custom"}]} for s in REQUIRED_SLOTS}}
DIGRESSIONS = {"ask_service", "check_eligibility", "privacy", "help", "check_status", "greet", "thank"}
_FIXABLE = {slot.name for slot in ANSWERS}  # what the summary lists, the parent may change
_CONFIRM_WORDS = {"确认提交", "确认", "提交", "提交吧", "没问题", "对", "对的", "是的", "好的", "可以"}
_CORRECTION = re.compile(r"其实|应该是|改成|改为|更正|说错|不对|搞错|修改")
# (entity, role) → form slot, for answers given early or corrected later (role None: any other role)
_ENTITY_SLOTS = {(slot.entity, slot.role): slot.name for slot in SLOTS if slot.entity}


def _slot_of(entity) -> str | None:
    """The form slot an entity fills. A place is where the family lives, unless the message says it
    is the household registration (户口在河南): then it is the 户籍地, never the residence — the
    request goes to the staff of the area where the family lives."""
    role = (entity.extra or {}).get("role")
    return _ENTITY_SLOTS.get((entity.entity, role)) or _ENTITY_SLOTS.get((entity.entity, None))


_thread_loops = threading.local()


def run_coroutine(coro):
    """Run a coroutine to completion from sync code, whether or not a loop is running here.

    A thread without a running loop keeps one event loop for all its calls: ``asyncio.run``
    builds and tears down a loop (a selector and a socket pair) each time, which cost more
    than the form validation it ran (~2.5 ms of every form step, bench/results)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        loop = getattr(_thread_loops, "loop", None)
        if loop is None or loop.is_closed():
            loop = _thread_loops.loop = asyncio.new_event_loop()
        return loop.run_until_complete(coro)
    box: dict = {}
    thread = threading.Thread(target=lambda: box.setdefault("value", asyncio.run(coro)))
    thread.start()
    thread.join()
    return box["value"]


class AssistanceForm:
    def __init__(self, domain: Domain, cipher):
        self.domain = domain
        self.cipher = cipher
        self.validator = ValidateAssistanceRequestForm()
        self.trail: list | None = None  # a list (tests): each step taken, (state, event, its edge or None)

    def _walked(self, source: Phase, event: Event) -> None:
        """Name a step of the form's graph (bot/form_graph.py) as it is taken."""
        step = edge(source, event)
        if step is None:
            log.warning("form: a step the graph does not declare, %s on %s", source.value, event.value)
        if self.trail is not None:
            self.trail.append((source, event, step))

    # --- state ---------------------------------------------------------------------
    @staticmethod
    def active(state: dict) -> bool:
        return state.get("active_loop") == FORM_NAME

    @staticmethod
    def reset(state: dict) -> None:
        for key in ("active_loop", "requested_slot", "slots", "form_attempts", "awaiting_confirm",
                    "choosing_fix"):
            state.pop(key, None)

    @staticmethod
    def asking(state: dict) -> str | None:
        """The slot whose answer the form is waiting for (None at the summary or when inactive)."""
        if state.get("active_loop") != FORM_NAME or state.get("awaiting_confirm") or state.get("choosing_fix"):
            return None
        return state.get("requested_slot")

    def reask(self, state: dict) -> list[Reply]:
        """The form's current question again (after a message it could not use)."""
        if state.get("awaiting_confirm"):
            return [self._summary(state)]
        if state.get("choosing_fix"):
            return [Reply("请点一项要修改的内容。", kind=QUESTION)]
        return [self._ask(state["requested_slot"])]

    def kept(self, state: dict) -> list[Reply]:
        """An emergency answered in the middle of the form: the form waits where it was."""
        self._walked(phase_of(state), Event.SAFETY_NET)
        return [Reply("您的帮扶申请还没填完，已为您保留，安全之后可以接着填写。")]

    # --- start -------------------------------------------------------------------
    def start(self, convo, parse: ParseResult) -> list[Reply]:
        state = convo.state
        self.reset(state)
        state["active_loop"] = FORM_NAME
        state["slots"] = {}
        state["prefill"] = {slot: e.value for e in parse.entities if (slot := _slot_of(e))}
        residence = _ENTITY_SLOTS[("locality", None)]  # the place the conversation already knows
        if state.get("locality") and residence not in state["prefill"]:
            state["prefill"][residence] = state["locality"]
        state["requested_slot"] = "consent"
        notice = self.domain.text("utter_consent_notice")
        self._walked(Phase.START, Event.REQUEST)
        return [Reply(notice), self._ask("consent")]

    # --- one turn inside the form ----------------------------------------------------
    def step(self, convo, parse: ParseResult, answer_digression) -> list[Reply]:
        state = convo.state
        if parse.intent == "cancel" and parse.confidence >= 0.5:
            cancelled = [{"text": self.domain.text("utter_cancelled")}]
            return self._end(state, cancelled, phase_of(state), Event.CANCEL)
        if state.get("awaiting_confirm"):
            return self._confirm_step(convo, parse, answer_digression)
        if state.get("choosing_fix"):
            return self._choose_fix(state, parse)
        slot = state["requested_slot"]
        here = phase_of(state)
        value = self._answer_value(SLOT[slot], parse)
        corrected = self._correction(convo, parse, slot)
        if corrected is not None:
            return corrected
        if SLOT[slot].short_answer and parse.intent in DIGRESSIONS and parse.confidence >= 0.8:
            # "你好" is not a child's name: a confident greeting or question is answered first
            self._walked(here, Event.QUESTION)
            return answer_digression(convo, parse) + [Reply("我们继续填写申请。"), self._ask(slot)]
        result, messages = self._validate(convo, slot, value)
        if result.get(OverAge.flag):
            return self._end(state, messages, here, Event.OVER_AGE)
        if slot in result and result[slot] is not None:  # a value, or False: no to the consent
            state.setdefault("form_attempts", {}).pop(slot, None)
            return self._after_valid(convo, slot, result)
        if parse.intent in DIGRESSIONS and parse.confidence >= 0.5:
            self._walked(here, Event.QUESTION)
            replies = answer_digression(convo, parse)
            return replies + [Reply("我们继续填写申请。"), self._ask(slot)]
        state["form_attempts"] = result.get("form_attempts", state.get("form_attempts", {}))
        self._walked(here, Event.UNCLEAR)
        return [_reply_from(m, QUESTION) for m in messages] or [self._ask(slot)]

    @staticmethod
    def _answer_value(slot: Slot, parse: ParseResult) -> Any:
        if slot.rasa_type == "bool" and parse.intent in ("affirm", "deny") and parse.confidence >= 0.5:
            return parse.intent == "affirm"
        if slot.name in parse.payload_entities:  # the slot's own button (/inform{"situations": [...]})
            return parse.payload_entities[slot.name]
        if parse.text.strip().startswith("/"):  # a button of another question: no answer
            return None
        return parse.text

    def _correction(self, convo, parse: ParseResult, current: str) -> list[Reply] | None:
        """孩子其实是九岁: re-validate an earlier slot from an entity, then ask the current question."""
        if not _CORRECTION.search(parse.normalized or ""):
            return None
        for entity in parse.entities:
            slot = _slot_of(entity)
            if slot and slot != current and slot in convo.state["slots"]:
                self._walked(Phase.ASKING, Event.CORRECTION)
                result, messages = self._validate(convo, slot, entity.value)
                if result.get(slot) is None:
                    return [_reply_from(m, QUESTION) for m in messages] + [self._ask(current)]
                convo.state["slots"][slot] = result[slot]
                shown = SLOT[slot].show(result[slot])
                return [Reply(f"好的，已把{SLOT[slot].label}改为：{shown}。"), self._ask(current)]
        return None

    def _validate(self, convo, slot: str, value: Any) -> tuple[dict, list[dict]]:
        """Run the rasa-sdk validation action on one candidate value; changes no state."""
        state = convo.state
        slots = {**state["slots"], "form_attempts": state.get("form_attempts", {}), "requested_slot": slot}
        tracker = Tracker(convo.sender, {**slots, slot: value}, {"text": str(value), "intent": {}},
                          [{"event": "user", "text": str(value)}, {"event": "slot", "name": slot, "value": value}],
                          False, None, {"name": FORM_NAME}, "action_listen")
        dispatcher = CollectingDispatcher()
        events = run_coroutine(self.validator.run(dispatcher, tracker, ACTION_DOMAIN))
        return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}, dispatcher.messages

    def _after_valid(self, convo, slot: str, result: dict) -> list[Reply]:
        state = convo.state
        if slot == "consent":
            if result["consent"] is False:
                stopped = [{"text": "好的，已停止填写，没有保存任何信息。需要时可以随时再来。"}]
                return self._end(state, stopped, Phase.CONSENT, Event.DECLINE)
            state["slots"]["consent"] = True
            state["slots"]["consent_at"] = dt.datetime.now(dt.timezone.utc).isoformat()
            self._walked(Phase.CONSENT, Event.CONSENT)
            replies = self._apply_prefill(convo)
            self._walked(Phase.PREFILL, Event.PREFILLED)
            return replies + self._next(state)
        state["slots"][slot] = result[slot]
        replies = self._next(state)
        self._walked(Phase.ASKING, Event.FILLED if state.get("awaiting_confirm") else Event.ANSWER)
        return replies

    def _apply_prefill(self, convo) -> list[Reply]:
        """Answers given before consent (我家孩子8岁，在深圳宝安) are validated now, not asked again."""
        prefill = convo.state.pop("prefill", {}) or {}
        taken = []
        for slot, value in prefill.items():
            result, _ = self._validate(convo, slot, value)
            if result.get(slot) is not None:
                convo.state["slots"][slot] = result[slot]
                taken.append(f"{SLOT[slot].label}：{SLOT[slot].show(result[slot])}")
            elif result.get(OverAge.flag):
                return [Reply("谢谢。这个帮扶登记面向不满16周岁的孩子。")]
        return [Reply("您前面已经告诉我：" + "；".join(taken) + "。")] if taken else []

    def _next(self, state: dict) -> list[Reply]:
        missing = [s for s in REQUIRED_SLOTS if s != "consent" and s not in state["slots"]]
        if missing:
            state["requested_slot"] = missing[0]
            return [self._ask(missing[0])]
        state["requested_slot"] = None
        state["awaiting_confirm"] = True
        return [self._summary(state)]

    def _end(self, state: dict, messages: list[dict], source: Phase, event: Event) -> list[Reply]:
        """The form stops, nothing stored: cancelled, consent refused, the child over age."""
        self._walked(source, event)
        self._walked(Phase.STOPPED, Event.DONE)
        self.reset(state)
        state.pop("prefill", None)
        return [_reply_from(m) for m in messages]

    # --- summary, confirmation, corrections ------------------------------------------------
    @staticmethod
    def _summary(state: dict) -> Reply:
        lines = ["请核对您填写的信息："]
        lines += [f"· {s.label}：{s.show(state['slots'][s.name])}" for s in ANSWERS]
        lines.append("信息无误请点“确认提交”；需要修改请点“修改”。")
        return Reply("\n".join(lines), buttons=[button("确认提交", "affirm"), button("修改", "deny"),
                                                button("取消", "cancel")], kind=QUESTION)

    def _confirm_step(self, convo, parse: ParseResult, answer_digression) -> list[Reply]:
        state = convo.state
        text = (parse.normalized or "").strip(" 。.!！")
        if (parse.intent == "affirm" and parse.confidence >= 0.5) or text in _CONFIRM_WORDS:
            return self._submit(convo)
        if parse.payload_entities.get("fix") in _FIXABLE:  # a field button pressed at the summary
            state["awaiting_confirm"] = False
            self._walked(Phase.SUMMARY, Event.FIX)
            return self._choose_fix(state, parse)
        if (parse.intent == "deny" and parse.confidence >= 0.5) or re.fullmatch(r"(?:我要)?(?:修改|改一下|改|不对|有错)", text):
            state["awaiting_confirm"] = False
            state["choosing_fix"] = True
            self._walked(Phase.SUMMARY, Event.FIX)
            buttons = [button(s.label, "inform", fix=s.name) for s in ANSWERS]
            return [Reply("请问要修改哪一项？", buttons=buttons, kind=QUESTION)]
        if parse.intent in DIGRESSIONS and parse.confidence >= 0.5:
            self._walked(Phase.SUMMARY, Event.QUESTION)
            return answer_digression(convo, parse) + [self._summary(state)]
        self._walked(Phase.SUMMARY, Event.UNCLEAR)
        return [Reply("请点“确认提交”或“修改”。", kind=QUESTION), self._summary(state)]

    def _choose_fix(self, state: dict, parse: ParseResult) -> list[Reply]:
        slot = parse.payload_entities.get("fix")
        if slot not in _FIXABLE:
            slot = next((s.name for s in ANSWERS if s.label in (parse.normalized or "")), None)
        if slot is None:
            self._walked(Phase.CHOOSE_FIX, Event.UNCLEAR)
            return [Reply("请点一项要修改的内容。", kind=QUESTION)]
        state["choosing_fix"] = False
        state["slots"].pop(slot, None)
        state["requested_slot"] = slot
        self._walked(Phase.CHOOSE_FIX, Event.FIX_CHOSEN)
        return [self._ask(slot)]

    def _submit(self, convo) -> list[Reply]:
        state = convo.state
        self._walked(Phase.SUMMARY, Event.CONFIRM)
        slots = {**state["slots"], "conversation_id": convo.id, "channel": convo.channel,
                 "referral": state.get("referral")}
        tracker = Tracker(convo.sender, slots, {"text": "/affirm", "intent": {"name": "affirm"}}, [],
                          False, None, {}, "action_listen")
        dispatcher = CollectingDispatcher()
        store = SessionRequestStore(convo.session, self.cipher)
        events = ActionSubmitAssistanceRequest(store).run(dispatcher, tracker, ACTION_DOMAIN)
        reference = next((e["value"] for e in events if e.get("name") == "reference"), None)
        self.reset(state)
        if reference:
            state.setdefault("references", []).append(reference)
        self._walked(Phase.SUBMITTED, Event.FILED)
        return [_reply_from(m) for m in dispatcher.messages]

    # --- prompts ------------------------------------------------------------------------
    @staticmethod
    def _ask(slot: str) -> Reply:
        """The slot's question, with its buttons when it offers them with the question."""
        declared = SLOT[slot]
        return Reply(declared.question, buttons=rasa_buttons(declared.offered_buttons() if declared.ask_with_buttons else []),
                     kind=QUESTION)


def _reply_from(message: dict, kind: str = ANSWER) -> Reply:
    """A message rasa-sdk's dispatcher collected, as a reply."""
    return Reply(message.get("text") or "", buttons=rasa_buttons(message.get("buttons")), kind=kind)
