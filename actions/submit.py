"""``ActionSubmitAssistanceRequest``: file the completed form into the ledger.

The action gets a :class:`RequestStore` in its constructor: the engine passes one bound to the
turn's database transaction; the standalone action server (``python -m tongban.action_server``,
its composition root) one that opens a transaction per filing.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.slots import STORED
from ledger.requests import Filed, RequestData


class RequestStore(ABC):
    """Where a completed request goes."""

    @abstractmethod
    def file(self, data: RequestData, *, conversation_id: int | None, channel: str,
             referral: str | None) -> Filed:
        """Store (or link to an earlier duplicate) and return the filing."""


class SessionRequestStore(RequestStore):
    """Files inside an open SQLAlchemy session (the engine's turn transaction)."""

    def __init__(self, session, cipher):
        self.session = session
        self.cipher = cipher

    def file(self, data, *, conversation_id, channel, referral):
        from ledger.requests import file_request

        return file_request(session=self.session, cipher=self.cipher, data=data,
                            conversation_id=conversation_id, channel=channel, referral=referral)


class DatabaseRequestStore(RequestStore):
    """Opens its own transaction per filing (the standalone action server)."""

    def __init__(self, db, cipher):
        self.db = db  # a ledger.db.Database
        self.cipher = cipher

    def file(self, data, *, conversation_id, channel, referral):
        from ledger.requests import file_request

        with self.db.session() as session:
            return file_request(session=session, cipher=self.cipher, data=data,
                                conversation_id=conversation_id, channel=channel, referral=referral)


def request_data(slots: dict[str, Any], consent_at: dt.datetime) -> RequestData:
    """The filled slots as the ledger's ``RequestData``: each declared slot into its field."""
    fields = {slot.stored.field: slot.stored.convert(slots.get(slot.name)) for slot in STORED}
    return RequestData(**fields, consent_at=consent_at)


class ActionSubmitAssistanceRequest(Action):
    def __init__(self, store: RequestStore):
        self.store = store

    def name(self) -> str:
        return "action_submit_assistance_request"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict]:
        slots = tracker.current_slot_values()
        if slots.get("consent") is not True:
            dispatcher.utter_message(text="没有监护人的同意，不能提交申请。")
            return [SlotSet("reference", None)]
        consent_at = dt.datetime.fromisoformat(slots.get("consent_at") or dt.datetime.now(dt.timezone.utc).isoformat())
        conversation_id = slots.get("conversation_id")
        filed = self.store.file(request_data(slots, consent_at), conversation_id=conversation_id,
                                channel=slots.get("channel") or "rest", referral=slots.get("referral"))
        reference = filed.request.reference
        if filed.duplicate_of is not None:
            dispatcher.utter_message(text=(
                f"这个孩子在30天内已经提交过申请（编号 {reference}），这次的提交已合并到原申请，不会重复登记。"
                "工作人员会按原申请跟进；发送“查进度”可以查看状态。"))
        else:
            dispatcher.utter_message(text=(
                f"已提交，您的申请编号是 {reference}。\n接下来：{slots['residence']['name']}的民政工作人员或儿童主任"
                "会审核申请，需要时会打您留的电话或通过这个对话联系您、上门了解情况。"
                "发送“查进度”可以随时查看状态。孩子如有危险请直接拨打 110。"))
        return [SlotSet("reference", reference)]
