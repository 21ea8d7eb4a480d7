"""The conversation transcript: what the parent wrote and what Tongban answered, encrypted."""

from __future__ import annotations

from sqlalchemy import delete

from ledger.crypto import DataCipher
from ledger.models import ConversationMessage

MAX_STORED_CHARS = 4000


def record_transcript(convo, cipher: DataCipher, incoming: str, replies) -> None:
    """Add this turn's messages in the turn's transaction (nothing for an empty turn)."""
    rows = []
    if incoming:
        rows.append(ConversationMessage(conversation_id=convo.id, direction="in",
                                        text_enc=cipher.encrypt(incoming[:MAX_STORED_CHARS])))
    rows += [ConversationMessage(conversation_id=convo.id, direction="out",
                                 text_enc=cipher.encrypt(reply.text[:MAX_STORED_CHARS])) for reply in replies]
    convo.session.add_all(rows)


def delete_transcript(convo) -> None:
    """The parent asked to delete their data: the transcript goes with the conversation state."""
    convo.session.execute(delete(ConversationMessage).where(ConversationMessage.conversation_id == convo.id))
