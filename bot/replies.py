"""Reply building blocks: buttons, menus and button titles (all text in Simplified Chinese). The
reply itself, channel-neutral, is ``ledger.reply.Reply``."""

from __future__ import annotations

import json

from knowledge.answer import Choice
from knowledge.categories import label
from ledger.reply import Button, Reply


def button(title: str, intent: str, **entities) -> Button:
    """A button that sends ``/intent`` (with its entities as JSON) when pressed."""
    payload = f"/{intent}" + (json.dumps(entities, ensure_ascii=False) if entities else "")
    return Button(title, payload)


def choice_buttons(choices: list[Choice]) -> list[Button]:
    """The choices a checklist answer offers, as buttons whose payloads the engine reads back
    (``/ask_service{"item": …}`` with ``"detail": true`` for the whole item, ``{"category": …}``, and
    the handoff button for a person)."""
    return [_choice_button(choice) for choice in choices]


def _choice_button(choice: Choice) -> Button:
    if choice.person:
        return HANDOFF_BUTTON
    if choice.item is None:
        return button(choice.title, "ask_service", category=choice.category)
    detail = {"detail": True} if choice.detail else {}
    return button(choice.title, "ask_service", item=choice.item, **detail)


def rasa_buttons(buttons: list[dict] | None) -> list[Button]:
    """Buttons in Rasa's shape (``{"title", "payload"}``: the form's declared buttons, rasa-sdk's dispatcher)."""
    return [Button(str(b["title"]), str(b["payload"])) for b in buttons or []]


INTENT_TITLES = {
    "ask_service": "问政策和服务",
    "check_eligibility": "孩子算不算流动儿童",
    "request_assistance": "申请帮扶",
    "check_status": "查申请进度",
    "set_locality": "告诉我您住在哪",
    "human_handoff": "找工作人员",
    "privacy": "个人信息怎么用",
    "delete_data": "删除我的信息",
    "help": "看看我能做什么",
}

MENU_SERVICES = ("compulsory_education", "medical_insurance", "immunization", "childcare",
                 "temporary_assistance", "disability")


def menu_buttons() -> list[Button]:
    """The main menu: common services, then the things a parent can do."""
    buttons = [button(label(code), "ask_service", category=code) for code in MENU_SERVICES]
    buttons += [button(INTENT_TITLES[i], i) for i in ("check_eligibility", "request_assistance",
                                                      "check_status", "human_handoff")]
    return buttons


HANDOFF_BUTTON = button(INTENT_TITLES["human_handoff"], "human_handoff")


def answer_reply(answer) -> Reply:
    """A composed checklist answer as a reply, with the sources it cites."""
    return Reply(answer.text, buttons=choice_buttons(answer.buttons), sources=answer.sources)


def person_offer() -> Reply:
    """A person one tap away, beside an answer to a message that may have asked for one."""
    return Reply("需要的话，也可以请工作人员联系您。", buttons=[HANDOFF_BUTTON])


def privacy_offer() -> Reply:
    """How Tongban keeps the parent's own data, one tap away beside an answer about someone else's."""
    return data_offer("想了解童伴怎么保存和使用您的信息", "童伴的隐私说明", "privacy")


def data_offer(offer: str, title: str, intent: str) -> Reply:
    return Reply(f"{offer}，可以点下面的按钮。", buttons=[button(title, intent)])


def offer_reply() -> Reply:
    """The assistance request offered with buttons (beside an answer), not started."""
    return Reply("如果需要工作人员上门了解情况、帮您登记帮扶，可以点“申请帮扶”，也可以请工作人员联系您。",
                 buttons=[button(INTENT_TITLES["request_assistance"], "request_assistance"), HANDOFF_BUTTON])
