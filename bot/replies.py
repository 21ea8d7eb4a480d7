"""Reply building blocks: buttons, menus and button titles (all text in Simplified Chinese). The
reply itself, channel-neutral, is ``ledger.reply.Reply``."""

from __future__ import annotations

import json

from knowledge.categories import label
from ledger.reply import Button


def button(title: str, intent: str, **entities) -> Button:
    """A button that sends ``/intent`` (with its entities as JSON) when pressed."""
    payload = f"/{intent}" + (json.dumps(entities, ensure_ascii=False) if entities else "")
    return Button(title, payload)


def rasa_buttons(buttons: list[dict] | None) -> list[Button]:
    """Buttons in Rasa's shape (``{"title", "payload"}``: rasa-sdk's dispatcher, knowledge answers)."""
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
