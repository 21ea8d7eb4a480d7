"""Rate limits shared by every worker process: fixed-window counters in the ledger database.

``RateLimiter.hit(key, limit=…, window=…)`` counts one event for ``key`` in the current window
and says whether it is still within ``limit``. Keys name who is limited ("ip:203.0.113.9",
"session:…", "login:user+client:…"); they are stored only as keyed hashes, since an IP
address or a username is personal information.

The count lives in the database (one upsert per hit, on SQLite and PostgreSQL alike), so two
workers — or a restarted one — see the same number. Each process also keeps its own count per
window: it is never more than the shared one, so a client already over the limit in this process
is refused without a database round trip (a flood costs the database nothing more once it is
refused locally).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from ledger.db import Database
from ledger.models import RateCounter

COUNTERS = RateCounter.__table__
LOCAL_KEYS_MAX = 50_000  # this process's own counts are forgotten past this many keys


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    hits: int
    retry_after: int  # seconds until the window ends (when refused)


class RateLimiter:
    def __init__(self, db: Database, key_hash: Callable[[str], str], clock: Callable[[], float] = time.time):
        self.db = db
        self.key_hash = key_hash
        self.clock = clock
        self._local: dict[tuple[str, int], int] = {}
        self._guard = threading.Lock()
        dialect = sqlite if db.engine.dialect.name == "sqlite" else postgresql
        insert = dialect.insert(COUNTERS)
        self._upsert = (insert.on_conflict_do_update(index_elements=["key_hash", "window_start"],
                                                     set_={"hits": COUNTERS.c.hits + insert.excluded.hits})
                        .returning(COUNTERS.c.hits))

    def _window(self, window: int) -> tuple[int, int]:
        now = self.clock()
        start = int(now // window) * window
        return start, max(1, int(start + window - now + 0.999))

    def hit(self, key: str, *, limit: int, window: int, cost: int = 1) -> Verdict:
        """Count ``cost`` events for ``key`` now; allowed while the window's total ≤ ``limit``."""
        return self.hit_all([(key, limit, window)], cost=cost)

    def hit_all(self, rules: list[tuple[str, int, int]], *, cost: int = 1) -> Verdict:
        """Count one event under each ``(key, limit, window)`` in one transaction (a chat message
        counts per address and per session); the first refusal, else the last verdict."""
        checks = []
        for key, limit, window in rules:
            start, left = self._window(window)
            local_key = (f"{window}:{key}", start)
            with self._guard:
                local = self._local.get(local_key, 0) + cost
                self._remember(local_key, local, start)
            if local > limit:  # already over here, so over everywhere
                return Verdict(False, local, left)
            checks.append((self._hash(key, window), start, limit, left))
        verdict = Verdict(True, 0, 0)
        with self.db.session() as session:
            for key_hash, start, limit, left in checks:
                hits = session.execute(self._upsert, {"key_hash": key_hash, "window_start": start,
                                                      "hits": cost}).scalar_one()
                verdict = Verdict(hits <= limit, hits, left)
                if not verdict.allowed:
                    break
        return verdict

    def count(self, key: str, *, window: int) -> int:
        """Events counted for ``key`` in the current window (nothing counted)."""
        start, _ = self._window(window)
        with self.db.session() as session:
            hits = session.scalar(select(COUNTERS.c.hits).where(COUNTERS.c.key_hash == self._hash(key, window),
                                                                COUNTERS.c.window_start == start))
        return int(hits or 0)

    def clear(self, key: str, *, window: int) -> None:
        """Forget ``key``'s count in the current window (e.g. after a successful login)."""
        start, _ = self._window(window)
        with self._guard:
            self._local.pop((f"{window}:{key}", start), None)
        with self.db.session() as session:
            session.execute(delete(COUNTERS).where(COUNTERS.c.key_hash == self._hash(key, window),
                                                   COUNTERS.c.window_start == start))

    def purge(self, older_than: float = 86_400) -> int:
        """Delete counters of windows that started more than ``older_than`` seconds ago."""
        cutoff = int(self.clock() - older_than)
        with self.db.session() as session:
            return session.execute(delete(COUNTERS).where(COUNTERS.c.window_start < cutoff)).rowcount or 0

    def _hash(self, key: str, window: int) -> str:
        return self.key_hash(f"rate:{window}:{key}")

    def _remember(self, local_key: tuple[str, int], hits: int, start: int) -> None:
        self._local[local_key] = hits
        if len(self._local) > LOCAL_KEYS_MAX:  # drop finished windows, then (a flood of keys) all
            for stale in [k for k in self._local if k[1] < start]:
                del self._local[stale]
            if len(self._local) > LOCAL_KEYS_MAX:
                self._local.clear()
