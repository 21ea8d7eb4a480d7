"""The conversation transcript: what the parent wrote and what Tongban answered, encrypted."""

from __future__ import annotations

from sqlalchemy import insert

from ledger.clock import utcnow
from ledger.crypto import DataCipher
from ledger.models import ConversationMessage

MAX_STORED_CHARS = 4000
_INSERT = insert(ConversationMessage.__table__)


def record_transcript(convo, cipher: DataCipher, incoming: str, replies) -> None:
    """Add this turn's messages in the turn's transaction (nothing for an empty turn); one
    statement for all of them."""
    now = utcnow()
    texts = ([("in", incoming)] if incoming else []) + [("out", reply.text) for reply in replies]
    if texts:
        convo.session.connection().execute(_INSERT, [
            {"conversation_id": convo.id, "direction": direction, "at": now,
             "text_enc": cipher.encrypt(text[:MAX_STORED_CHARS])} for direction, text in texts])

