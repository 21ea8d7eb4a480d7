"""The assistance-request form as rasa-sdk code: ``ValidateAssistanceRequestForm``.

One ``validate_<slot>`` method per slot of the contract. A method returns ``{slot: value}``
for a good answer or ``{slot: None}`` with the refusal's message for a bad one; the third bad answer in a
row for the same slot adds buttons or examples and the way out (发送“取消”).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import validators as v

FORM_NAME = "assistance_request_form"
REQUIRED_SLOTS = ("consent", "child_name", "child_age", "hukou_location", "residence",
                  "months_at_residence", "guardian_name", "guardian_relation", "guardian_phone",
                  "situations", "description")
WAY_OUT = "如果现在不方便，可以发送“取消”停止填写，什么都不会保存；也可以发送“找工作人员”。"


def situation_buttons() -> list[dict]:
    return [{"title": label, "payload": f'/inform{{"situations": ["{code}"]}}'}
            for code, label in v.SITUATIONS.items()]


class ValidateAssistanceRequestForm(FormValidationAction):
    def name(self) -> str:
        return f"validate_{FORM_NAME}"

    # --- helpers ---------------------------------------------------------------
    def _result(self, slot: str, checked: v.Checked, dispatcher: CollectingDispatcher,
                tracker: Tracker, buttons: list[dict] | None = None) -> dict[str, Any]:
        attempts = dict(tracker.get_slot("form_attempts") or {})
        if checked.ok:
            attempts.pop(slot, None)
            return {slot: checked.value, "form_attempts": attempts}
        attempts[slot] = attempts.get(slot, 0) + 1
        message = checked.refusal.message
        if attempts[slot] >= 2:  # the next prompt would be the third: add help and a way out
            dispatcher.utter_message(text=f"{message}\n{WAY_OUT}", buttons=buttons or [])
        else:
            dispatcher.utter_message(text=message, buttons=buttons or [])
        return {slot: None, "form_attempts": attempts}

    # --- one method per slot --------------------------------------------------------
    def validate_consent(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                         domain: DomainDict) -> dict[str, Any]:
        checked = v.check_consent(value)
        if checked.value is False:
            return {"consent": False, "requested_slot": None}
        return self._result("consent", checked, dispatcher, tracker,
                            [{"title": "同意", "payload": "/affirm"}, {"title": "不同意", "payload": "/deny"}])

    def validate_child_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> dict[str, Any]:
        return self._result("child_name", v.check_name(value, who="孩子"), dispatcher, tracker)

    def validate_child_age(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> dict[str, Any]:
        checked = v.check_child_age(value)
        if isinstance(checked.refusal, v.OverAge):
            dispatcher.utter_message(text=checked.refusal.message)
            return {"child_age": None, v.OverAge.flag: True, "requested_slot": None}
        return self._result("child_age", checked, dispatcher, tracker)

    def validate_hukou_location(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> dict[str, Any]:
        return self._result("hukou_location", v.check_place(value, what="户籍地"), dispatcher, tracker)

    def validate_residence(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> dict[str, Any]:
        return self._result("residence", v.check_place(value, what="现在的住址"), dispatcher, tracker)

    def validate_months_at_residence(self, value: Any, dispatcher: CollectingDispatcher,
                                     tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        return self._result("months_at_residence", v.check_months(value), dispatcher, tracker)

    def validate_guardian_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> dict[str, Any]:
        return self._result("guardian_name", v.check_name(value, who="监护人"), dispatcher, tracker)

    def validate_guardian_relation(self, value: Any, dispatcher: CollectingDispatcher,
                                   tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        buttons = [{"title": r, "payload": r} for r in ("妈妈", "爸爸", "奶奶", "爷爷", "外婆", "外公")]
        return self._result("guardian_relation", v.check_relation(value), dispatcher, tracker, buttons)

    def validate_guardian_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> dict[str, Any]:
        return self._result("guardian_phone", v.check_phone(value), dispatcher, tracker)

    def validate_situations(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> dict[str, Any]:
        return self._result("situations", v.check_situations(value), dispatcher, tracker,
                            situation_buttons())

    def validate_description(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> dict[str, Any]:
        return self._result("description", v.check_description(value), dispatcher, tracker)
