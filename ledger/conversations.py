"""Conversation state in the database, encrypted, one row per sender.

``ConversationStore.open(sender, channel)`` yields a :class:`ConversationHandle` inside one
transaction; its ``state`` dict is saved (encrypted) when the block ends without error.
Turns of one sender are serialised by a per-sender lock in this process; across
processes the row's ``version`` column turns a lost update into a retry.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.crypto import DataCipher
from ledger.db import Database
from ledger.models import Conversation


class ConcurrentUpdate(Exception):
    """Another process saved this conversation first; the turn should be retried."""


@dataclass
class ConversationHandle:
    row: Conversation
    sender: str
    session: Session
    state: dict = field(default_factory=dict)

    @property
    def id(self) -> int:
        return self.row.id

    @property
    def channel(self) -> str:
        return self.row.channel


class ConversationStore:
    def __init__(self, db: Database, cipher: DataCipher):
        self.db = db
        self.cipher = cipher
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _lock(self, key: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    def sender_hash(self, sender: str) -> str:
        return self.cipher.lookup_hash(f"sender:{sender}")

    @contextmanager
    def open(self, sender: str, channel: str = "rest") -> Iterator[ConversationHandle]:
        key = self.sender_hash(sender)
        with self._lock(key), self.db.session() as session:
            row = self._row(session, key, sender, channel)
            handle = ConversationHandle(row, sender, session, json.loads(self.cipher.decrypt(row.state_enc)))
            yield handle
            self._save(session, row, handle.state)

    def peek(self, sender: str) -> dict | None:
        """The state without opening a turn (for the tracker endpoint); None if unknown."""
        with self.db.session() as session:
            row = session.scalar(select(Conversation).where(Conversation.sender_hash == self.sender_hash(sender)))
            return json.loads(self.cipher.decrypt(row.state_enc)) if row else None

    def _row(self, session: Session, key: str, sender: str, channel: str) -> Conversation:
        row = session.scalar(select(Conversation).where(Conversation.sender_hash == key))
        if row is not None:
            return row
        row = Conversation(sender_hash=key, sender_enc=self.cipher.encrypt(sender), channel=channel,
                           state_enc=self.cipher.encrypt("{}"), version=1)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:  # created by another process a moment ago
            row = session.scalar(select(Conversation).where(Conversation.sender_hash == key))
        return row

    def _save(self, session: Session, row: Conversation, state: dict) -> None:
        encrypted = self.cipher.encrypt(json.dumps(state, ensure_ascii=False, default=str))
        result = session.execute(
            update(Conversation)
            .where(Conversation.id == row.id, Conversation.version == row.version)
            .values(state_enc=encrypted, version=row.version + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise ConcurrentUpdate(row.id)
        row.version += 1
