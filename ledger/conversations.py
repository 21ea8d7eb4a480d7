"""Conversation state in the database, encrypted, one row per sender.

``ConversationStore.open(sender, channel)`` yields a :class:`ConversationHandle` inside one
transaction; its ``state`` dict is saved (encrypted) when the block ends without error.
Turns of one sender are serialised by a per-sender lock in this process; across
processes the row's ``version`` column turns a lost update into a retry.

Every message of every parent passes through here, so the row is read and written with
plain SQL statements (SQLAlchemy Core, compiled once and cached) on the turn's connection
rather than through the ORM's unit of work (measured in bench/results/telegram_throughput.md).
The turn's session is still there for the rarer ORM work (filing a request, handoffs).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from ledger.crypto import DataCipher
from ledger.db import Database, insert_ignore
from ledger.models import Conversation

CONVERSATIONS = Conversation.__table__
# the statements of every turn, built once (SQLAlchemy then reuses their compiled form)
_SELECT = select(CONVERSATIONS.c.id, CONVERSATIONS.c.channel, CONVERSATIONS.c.state_enc, CONVERSATIONS.c.version,
                 CONVERSATIONS.c.blocked_at).where(CONVERSATIONS.c.sender_hash == bindparam("key"))
_SAVE = (update(CONVERSATIONS)
         .where(CONVERSATIONS.c.id == bindparam("row_id"), CONVERSATIONS.c.version == bindparam("old_version"))
         .values(state_enc=bindparam("new_state"), version=bindparam("new_version")))


class ConcurrentUpdate(Exception):
    """Another process saved this conversation first; the turn should be retried."""


class ForeignConversation(Exception):
    """The sender's conversation belongs to another channel: only that channel's verified
    transport may continue it (a REST client naming a Telegram chat, say)."""


@dataclass
class ConversationRow:
    """The columns a turn reads; ``changes`` holds the ones it sets (saved with the state)."""

    id: int
    channel: str
    version: int
    blocked_at: dt.datetime | None = None
    changes: dict = field(default_factory=dict)


@dataclass
class ConversationHandle:
    row: ConversationRow
    sender: str
    session: Session
    state: dict = field(default_factory=dict)

    @property
    def id(self) -> int:
        return self.row.id

    @property
    def channel(self) -> str:
        return self.row.channel

    def unblock(self) -> None:
        """They wrote to us: they have not blocked the bot (or no longer)."""
        if self.row.blocked_at is not None:
            self.row.changes["blocked_at"] = None

    def deletion_requested(self, at: dt.datetime) -> None:
        self.row.changes["deletion_requested_at"] = at


class ConversationStore:
    def __init__(self, db: Database, cipher: DataCipher):
        self.db = db
        self.cipher = cipher
        # one lock per sender with a turn running or waiting, dropped when the last one ends
        self._locks: dict[str, tuple[threading.Lock, int]] = {}
        self._locks_guard = threading.Lock()

    @contextmanager
    def _lock(self, key: str) -> Iterator[None]:
        with self._locks_guard:
            lock, users = self._locks.get(key, (None, 0))
            lock = lock or threading.Lock()
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._locks_guard:
                lock, users = self._locks[key]
                if users <= 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

    @property
    def locks_held(self) -> int:
        """Senders with a turn running or waiting in this process."""
        return len(self._locks)

    def sender_hash(self, sender: str) -> str:
        return self.cipher.lookup_hash(f"sender:{sender}")

    @contextmanager
    def open(self, sender: str, channel: str = "rest") -> Iterator[ConversationHandle]:
        key = self.sender_hash(sender)
        with self._lock(key), self.db.session() as session:
            row, state_enc = self._row(session, key, sender, channel)
            if row.channel != channel:
                raise ForeignConversation(row.id)
            handle = ConversationHandle(row, sender, session, json.loads(self.cipher.decrypt(state_enc)))
            yield handle
            self._save(session, row, handle.state)

    def peek(self, sender: str) -> dict | None:
        """The state without opening a turn (for the tracker endpoint); None if unknown."""
        with self.db.session() as session:
            row = session.scalar(select(Conversation).where(Conversation.sender_hash == self.sender_hash(sender)))
            return json.loads(self.cipher.decrypt(row.state_enc)) if row else None

    def _row(self, session: Session, key: str, sender: str, channel: str) -> tuple[ConversationRow, str]:
        connection = session.connection()
        found = connection.execute(_SELECT, {"key": key}).first()
        if found is None:
            # a parent writing twice at once from two processes: one insert wins, both read it
            insert_ignore(connection, CONVERSATIONS, ["sender_hash"], sender_hash=key,
                          sender_enc=self.cipher.encrypt(sender), channel=channel,
                          state_enc=self.cipher.encrypt("{}"), version=1)
            found = connection.execute(_SELECT, {"key": key}).one()
        return ConversationRow(found.id, found.channel, found.version, found.blocked_at), found.state_enc

    def _save(self, session: Session, row: ConversationRow, state: dict) -> None:
        encrypted = self.cipher.encrypt(json.dumps(state, ensure_ascii=False, default=str))
        statement = _SAVE.values(**row.changes) if row.changes else _SAVE  # changes: now and then
        result = session.connection().execute(statement, {"row_id": row.id, "old_version": row.version,
                                                          "new_state": encrypted, "new_version": row.version + 1})
        if result.rowcount != 1:
            raise ConcurrentUpdate(row.id)
        row.version += 1
        row.changes = {}
