"""Reply building blocks: the Reply type, menus and button titles (all text in Simplified Chinese)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from knowledge.categories import label


@dataclass
class Reply:
    text: str
    buttons: list[dict] = field(default_factory=list)
    custom: dict | None = None

    def to_rest(self, recipient_id: str) -> dict:
        out: dict = {"recipient_id": recipient_id, "text": self.text}
        if self.buttons:
            out["buttons"] = self.buttons
        if self.custom:
            out["custom"] = self.custom
        return out


def button(title: str, intent: str, **entities) -> dict:
    payload = f"/{intent}" + (json.dumps(entities, ensure_ascii=False) if entities else "")
    return {"title": title, "payload": payload}


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


def menu_buttons() -> list[dict]:
    """The main menu: common services, then the things a parent can do."""
    buttons = [button(label(code), "ask_service", category=code) for code in MENU_SERVICES]
    buttons += [button(INTENT_TITLES[i], i) for i in ("check_eligibility", "request_assistance",
                                                      "check_status", "human_handoff")]
    return buttons


HANDOFF_BUTTON = button(INTENT_TITLES["human_handoff"], "human_handoff")
