"""The WeChat API access token: one for every worker, kept in the database with its expiry.

WeChat allows few token requests a day and invalidates the previous token when a new one is issued,
so workers must not each fetch their own. ``SharedToken.current()`` answers from this process's copy
while it is fresh, else from the database row (``wechat_tokens``, the token encrypted like any other
secret); only when that too is stale does one worker fetch a new one, holding the row's lock while it
does (PostgreSQL: ``SELECT … FOR UPDATE``; SQLite: the write lock every transaction takes), so the
others wait and then read what it stored. ``refresh(stale)`` is the answer to WeChat saying a token is
invalid (40001, 42001): a token other than ``stale`` already stored by another worker is taken as it
is, else a new one is fetched.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from typing import Callable

from sqlalchemy import select, update

from ledger.clock import aware, utcnow
from ledger.crypto import DataCipher
from ledger.db import Database, insert_ignore
from ledger.models import WeChatToken

log = logging.getLogger(__name__)
TOKENS = WeChatToken.__table__
MARGIN = dt.timedelta(minutes=5)  # a token this close to its expiry is replaced
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_SECRETS = re.compile(r"((?:secret|access_token)=)[^&\s'\")]+")


def redact(text: str) -> str:
    """An error's text without the app secret or token its URL carries (logs, the outbox's last error)."""
    return _SECRETS.sub(r"\1***", text)


class TokenUnavailable(RuntimeError):
    """WeChat gave no token (wrong secret, the server's address not whitelisted, unreachable)."""


class SharedToken:
    """``fetch()`` asks WeChat for a new token: its JSON answer (``access_token``, ``expires_in``)."""

    def __init__(self, *, db: Database, cipher: DataCipher, app_id: str, fetch: Callable[[], dict]):
        self.db = db
        self.cipher = cipher
        self.app_id = app_id
        self.fetch = fetch
        self._cached: tuple[str, dt.datetime] | None = None
        self._lock = threading.RLock()  # one refresh at a time in this process
        self.fetched = 0  # tokens this process fetched from WeChat (logs, tests)

    def cached(self) -> str | None:
        """This process's copy while it is fresh (no database, no lock); else None."""
        cached = self._cached
        return cached[0] if cached is not None and _fresh(cached[1]) else None

    def current(self) -> str:
        cached = self._cached
        if cached is not None and _fresh(cached[1]):
            return cached[0]
        with self._lock:
            cached = self._cached
            if cached is not None and _fresh(cached[1]):
                return cached[0]
            with self.db.session() as session:
                row = session.execute(select(TOKENS.c.token_enc, TOKENS.c.expires_at)
                                      .where(TOKENS.c.app_id == self.app_id)).first()
            if row is not None and _fresh(aware(row.expires_at)):
                token = self.cipher.decrypt(row.token_enc) or ""
                if token:
                    self._cached = (token, aware(row.expires_at))
                    return token
            return self.refresh(None)

    def refresh(self, stale: str | None) -> str:
        """A token other than ``stale``: one another worker stored meanwhile, else a new one."""
        with self._lock, self.db.session() as session:
            connection = session.connection()
            insert_ignore(connection, TOKENS, ["app_id"], app_id=self.app_id, token_enc=self.cipher.encrypt(""),
                          expires_at=EPOCH, refreshed_at=EPOCH)
            row = connection.execute(select(TOKENS.c.token_enc, TOKENS.c.expires_at)
                                     .where(TOKENS.c.app_id == self.app_id).with_for_update()).one()
            token = self.cipher.decrypt(row.token_enc) or ""
            if token and token != stale and _fresh(aware(row.expires_at)):
                self._cached = (token, aware(row.expires_at))
                return token
            token, expires_at = self._fetch()
            connection.execute(update(TOKENS).where(TOKENS.c.app_id == self.app_id)
                               .values(token_enc=self.cipher.encrypt(token), expires_at=expires_at,
                                       refreshed_at=utcnow()))
        self._cached = (token, expires_at)
        return token

    def forget(self) -> None:
        """Drop this process's copy (the next call reads the database)."""
        self._cached = None

    def _fetch(self) -> tuple[str, dt.datetime]:
        try:
            result = self.fetch()
        except Exception as exc:
            raise TokenUnavailable(redact(f"WeChat gave no access token: {exc}")) from exc
        token = result.get("access_token") if isinstance(result, dict) else None
        if not token:
            raise TokenUnavailable(redact(f"WeChat gave no access token: {result!r}")[:300])
        self.fetched += 1
        log.info("WeChat access token refreshed")
        return str(token), utcnow() + dt.timedelta(seconds=int(result.get("expires_in") or 7200))


def _fresh(expires_at: dt.datetime) -> bool:
    return expires_at - MARGIN > utcnow()
