"""The dialogue engine: one message in, a list of replies out.

Channels (the REST webhook, the web chat, later Telegram) call :meth:`DialogueEngine.handle`
and know nothing of retrieval; the engine knows nothing of HTTP.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field

from knowledge import Answer, KnowledgeBase, compose, not_understood
from knowledge.answer import render_item, source_record
from knowledge.categories import CATEGORIES

log = logging.getLogger(__name__)

_PAYLOAD = re.compile(r"^/(?P<intent>[a-z_]+)(?P<entities>\{.*\})?$", re.S)
MAX_MESSAGE_CHARS = 10_000

EMPTY_REPLY = "您好，请直接输入想问的问题，比如“孩子在这边上小学要带什么材料”。"
HUMAN_REPLY = ("如需工作人员帮助，可以联系您居住地的社区居委会或儿童主任；"
               "遇到紧急危险请立即拨打 110，孩子受伤请拨打 120，青少年心理与维权求助可拨打 12355。")


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


@dataclass
class Conversation:
    sender: str
    locality: str | None = None


class ConversationStore:
    """Per-sender state kept in memory (the ledger issue moves it to the database)."""

    def __init__(self):
        self._items: dict[str, Conversation] = {}
        self._lock = threading.Lock()

    def get(self, sender: str) -> Conversation:
        with self._lock:
            return self._items.setdefault(sender, Conversation(sender))


class DialogueEngine:
    def __init__(self, knowledge: KnowledgeBase, conversations: ConversationStore | None = None):
        self.knowledge = knowledge
        self.conversations = conversations or ConversationStore()

    def handle(self, sender: str, text: str | None, metadata: dict | None = None) -> list[Reply]:
        conversation = self.conversations.get(sender)
        self._apply_metadata(conversation, metadata or {})
        text = (text or "")[:MAX_MESSAGE_CHARS].strip()
        if not text:
            return [Reply(EMPTY_REPLY)]
        payload = _PAYLOAD.match(text)
        if payload:
            return self._payload(conversation, payload.group("intent"), payload.group("entities"))
        return [self._answer(conversation, text)]

    def _apply_metadata(self, conversation: Conversation, metadata: dict) -> None:
        locality = metadata.get("locality")
        if isinstance(locality, str) and locality.strip():
            code = self.knowledge.geo.resolve_code(locality)
            if code:
                conversation.locality = code

    def _answer(self, conversation: Conversation, text: str) -> Reply:
        result = self.knowledge.search(text, conversation.locality)
        answer = compose(result, min_confidence=self.knowledge.settings.knowledge.min_confidence,
                         locality_name=self.knowledge.locality_name(conversation.locality))
        return _reply(answer)

    def _payload(self, conversation: Conversation, intent: str, raw: str | None) -> list[Reply]:
        try:
            entities = json.loads(raw) if raw else {}
        except ValueError:
            entities = {}
        if intent == "ask_service" and isinstance(entities, dict):
            if "item" in entities:
                entry = self.knowledge.find_item(str(entities["item"]))
                if entry is not None:
                    return [Reply(render_item(entry), custom={"sources": [source_record(entry)]})]
            category = entities.get("category")
            if category in CATEGORIES:
                return [self._answer_category(conversation, category)]
        if intent == "human_handoff":
            return [Reply(HUMAN_REPLY)]
        return [_reply(not_understood())]

    def _answer_category(self, conversation: Conversation, category: str) -> Reply:
        """The most local item of a category, for a pressed category button."""
        result = self.knowledge.search(CATEGORIES[category], conversation.locality, k=20)
        for hit in result.hits:
            if hit.entry.item.category == category:
                return Reply(render_item(hit.entry), custom={"sources": [source_record(hit.entry)]})
        return _reply(not_understood(result))


def _reply(answer: Answer) -> Reply:
    custom = {"sources": answer.sources} if answer.sources else None
    return Reply(answer.text, buttons=answer.buttons, custom=custom)
