"""The assistance-request form as rasa-sdk code: ``ValidateAssistanceRequestForm``.

One ``validate_<slot>`` method per slot of the declaration (actions/slots.py), made from it below:
rasa-sdk looks them up by name. A method returns ``{slot: value}`` for a good answer, or
``{slot: None}`` with the refusal's message for a bad one; the third bad answer in a row for the
same slot adds the way out (发送“取消”). A refusal that ends the form (the child is 16 or older) and
a no to the consent question stop the form (``requested_slot`` None).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.slots import FORM_NAME, SLOTS, Slot

WAY_OUT = "如果现在不方便，可以发送“取消”停止填写，什么都不会保存；也可以发送“找工作人员”。"


class ValidateAssistanceRequestForm(FormValidationAction):
    def name(self) -> str:
        return f"validate_{FORM_NAME}"

    def check_answer(self, slot: Slot, value: Any, dispatcher: CollectingDispatcher,
                     tracker: Tracker) -> dict[str, Any]:
        """The slot events for one answer, checked by the slot's check."""
        checked = slot.check(value)
        if checked.value is False:  # no to a yes/no question (the consent): the form stops
            return {slot.name: False, "requested_slot": None}
        refusal = checked.refusal
        if refusal is not None and refusal.ends_form:
            dispatcher.utter_message(text=refusal.message)
            return {slot.name: None, refusal.flag: True, "requested_slot": None}
        attempts = dict(tracker.get_slot("form_attempts") or {})
        if checked.ok:
            attempts.pop(slot.name, None)
            return {slot.name: checked.value, "form_attempts": attempts}
        attempts[slot.name] = attempts.get(slot.name, 0) + 1
        # the next prompt would be the third: add the way out
        text = f"{refusal.message}\n{WAY_OUT}" if attempts[slot.name] >= 2 else refusal.message
        dispatcher.utter_message(text=text, buttons=slot.offered_buttons())
        return {slot.name: None, "form_attempts": attempts}


def _validate_method(slot: Slot):
    """``validate_<slot>``, as rasa-sdk calls it."""
    def validate(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                 domain: DomainDict) -> dict[str, Any]:
        return self.check_answer(slot, value, dispatcher, tracker)

    validate.__name__ = f"validate_{slot.name}"
    validate.__qualname__ = f"ValidateAssistanceRequestForm.validate_{slot.name}"
    validate.__doc__ = f"The answer to ``{slot.name}``, checked by actions.validators.{slot.check.function}."
    return validate


for _slot in SLOTS:
    setattr(ValidateAssistanceRequestForm, f"validate_{_slot.name}", _validate_method(_slot))
