"""Engine, sessions and migrations for the ledger database (SQLite or PostgreSQL)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, Table, create_engine, event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
READ_ONLY = "tongban_read_only"  # execution option of ``Database.reading``'s connections
POOL_SIZE = 24  # PostgreSQL connections a worker keeps open
POOL_OVERFLOW = 8  # and opens beyond them for a moment: at most 32 per worker (max_connections is 100 by default)


def _write_ahead_log(cursor, wait: float = 30.0) -> None:
    """Put the database in WAL mode. Switching needs the database to itself for a moment, and SQLite
    answers "database is locked" at once, without its busy timeout, when another process holds a lock
    then (two workers starting together, one migrating: tests/test_migrations.py): try again for up to
    ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        _sqlite_folder(url).mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            _write_ahead_log(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            # With WAL, NORMAL syncs at checkpoints instead of every commit: a committed turn
            # survives a crash or restart of the process; only an OS crash or power cut can lose
            # the last moments (production runs on PostgreSQL). Measured in bench/results.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
            # SQLAlchemy emits BEGIN itself (below), so SAVEPOINTs work as documented.
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):  # pragma: no cover - trivial
            # Take the write lock when the transaction starts: a transaction that read first and
            # wrote later would otherwise fail at once (SQLITE_BUSY_SNAPSHOT) whenever another
            # one committed in between, instead of waiting its turn. A reader (``Database.reading``)
            # begins nothing: each statement reads its own snapshot of the WAL, no lock taken.
            if not connection.get_execution_options().get(READ_ONLY):
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # No server-side prepared statements: PostgreSQL would settle on a generic plan for the area
    # filter (estimated at 2 rows) and read a whole district to show 50 requests (measured in
    # bench/results/staff_queue.md: 44 → 15 ms p50 for a district's queue without them).
    connect_args = {"prepare_threshold": None} if url.startswith("postgresql+psycopg") else {}
    # POOL_SIZE connections stay open: the threads of a worker that hold one at once under load (the
    # channels' turns and deliveries, the staff pages') take them without a new connection each time
    # (an overflow connection is closed again when it is given back).
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW,
                         connect_args=connect_args)


def _sqlite_folder(url: str) -> Path:
    """The folder a SQLite database file goes in (the working folder for an in-memory one)."""
    database = make_url(url).database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return Path(".")
    return Path(database).parent


_INSERT_IGNORE: dict[tuple, object] = {}


def insert_ignore(connection: Connection, table: Table, conflict: list[str], **values) -> bool:
    """INSERT unless a row with the same ``conflict`` columns exists; True if it inserted.

    One statement on both databases (``ON CONFLICT DO NOTHING``): on PostgreSQL a concurrent
    insert of the same key waits for the other transaction and then does nothing. Built once
    per table (turns call it for every Telegram update)."""
    key = (connection.dialect.name, table.name, tuple(conflict))
    statement = _INSERT_IGNORE.get(key)
    if statement is None:
        dialect = sqlite if connection.dialect.name == "sqlite" else postgresql
        statement = _INSERT_IGNORE[key] = (
            dialect.insert(table).on_conflict_do_nothing(index_elements=conflict)
            .execution_options(preserve_rowcount=True))  # an INSERT's rowcount is not kept by default
    return connection.execute(statement, values).rowcount == 1


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection, _foreign_keys_off(connection):
        with connection.begin():
            if engine.dialect.name == "postgresql":
                # several worker processes start at once: one migrates, the others wait and find it done
                # (on SQLite, BEGIN IMMEDIATE already serialises them)
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(730142)")
            config.attributes["connection"] = connection
            before = MigrationContext.configure(connection).get_current_revision()
            command.upgrade(config, "head")
            migrated = MigrationContext.configure(connection).get_current_revision() != before
            if migrated and engine.dialect.name == "sqlite" \
                    and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                raise RuntimeError("the migration left rows whose foreign keys point nowhere; nothing was changed")


@contextmanager
def _foreign_keys_off(connection: Connection) -> Iterator[None]:
    """SQLite: foreign keys unenforced while migrating. A migration there copies a table, drops the old
    one and renames the copy (Alembic's batch mode); enforced, the drop fails as soon as another table's
    rows refer to it. The pragma is ignored inside a transaction, so it is set before one begins."""
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.driver_connection
    enforced = raw.execute("PRAGMA foreign_keys").fetchone()[0]
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA foreign_keys={'ON' if enforced else 'OFF'}")
        if raw.execute("PRAGMA foreign_keys").fetchone()[0] != enforced:  # still inside a transaction
            connection.invalidate()  # never back to the pool with foreign keys unenforced


def drop_everything(url: str) -> None:
    """Drop every ledger table and the migration record (tests and benchmarks on a scratch database)."""
    from sqlalchemy import text

    from ledger.schema import METADATA

    engine = create_engine(url)
    with engine.begin() as connection:
        METADATA.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


class Database:
    """An engine plus a session factory; build once per process (``url``: SQLAlchemy's, SQLite or
    PostgreSQL via psycopg 3; ``echo`` logs every statement)."""

    def __init__(self, url: str, *, echo: bool = False, migrate: bool = True):
        self.engine = make_engine(url, echo=echo)
        # SQLite has one writer at a time. Threads of this process queue here for it instead of
        # in SQLite's busy handler, which polls with sleeps and lets unlucky writers starve
        # (measured: p95 of a Telegram turn 20 s → see bench/results); worker processes queue on
        # an flock of a file beside the database, which the kernel hands over without polling
        # (busy_timeout still covers other programs). PostgreSQL needs neither.
        self._write_lock = threading.RLock() if self.engine.dialect.name == "sqlite" else None
        self._lock_fd: int | None = None
        self._depth = 0
        database = self.engine.url.database if self._write_lock is not None else None
        if database and database != ":memory:" and not database.startswith("file:"):
            self._lock_fd = os.open(f"{database}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        if migrate:
            upgrade(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on error."""
        if self._write_lock is None:
            with self.sessions() as session:
                with session.begin():
                    yield session
            return
        with self._write_lock, self._process_lock(), self.sessions() as session:
            with session.begin():
                yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session that only reads, without the writers' lock: on SQLite no transaction at all
        (each statement reads the latest committed state), on PostgreSQL one rolled back at the end.
        For loops that look every second whether there is work (the duty alerts)."""
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            with Session(bind=connection) as session:
                yield session
                session.rollback()

    @contextmanager
    def _process_lock(self) -> Iterator[None]:
        """The database file's write lock across processes (taken once per thread's nesting)."""
        self._depth += 1
        try:
            if self._depth == 1 and self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            yield
        finally:
            if self._depth == 1 and self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            self._depth -= 1

    def dispose(self) -> None:
        self.engine.dispose()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
