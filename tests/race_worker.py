"""Worker processes for the race tests (tests/test_races.py, tests/test_migrations.py).

``run_workers`` starts two OS processes (``python -m tests.race_worker <spec>``) on one database; each
runs the product's own code for its part of the race (a dialogue turn, an outbox claim, ``tongban ledger
set-status``, the start-up migration) and prints one ``RESULT {json}`` line. A statement hook holds each
worker at the first statement of its critical window until the other worker is there too, or provably
cannot get there before this one has committed (:class:`Rendezvous`): so when a guard is missing both
workers are inside the window at once, every time, and when it is there the test sees it wait. Every
wait has a deadline; nothing here can hang a test run.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Deadlines only end a run that went wrong (a worker that hangs or died): generous, for a loaded machine
# where the other worker may still be importing when the first one arrives.
MEET_DEADLINE = 90.0  # seconds a worker waits at the rendezvous before it gives up (and fails)
RUN_DEADLINE = 240.0  # seconds both workers together may take, start-up included


def app_name(worker: str) -> str:
    return f"tongban-race-{worker}"


def worker_url(url: str, worker: str) -> str:
    """The worker's PostgreSQL URL, named so that the other worker can see it waiting (SQLite: as is)."""
    if not url.startswith("postgresql"):
        return url
    return f"{url}{'&' if '?' in url else '?'}application_name={app_name(worker)}"


class Rendezvous:
    """Two parties meet at one point of a race. ``meet`` returns when the other party has reached the same
    point ("both"), or is excluded from it until this party's transaction ends ("excluded"): on
    PostgreSQL it is waiting for a lock; on SQLite it has started (a transaction there holds the
    database's one write lock from its first statement, so a party that started cannot enter its own
    until this one commits). Parties are processes or threads; they meet through files in ``folder``."""

    def __init__(self, folder: Path, me: str, other: str, url: str, *, other_app: str | None = None,
                 deadline: float = MEET_DEADLINE):
        self.folder, self.me, self.other, self.url = Path(folder), me, other, url
        self.other_app, self.deadline = other_app, deadline

    def started(self) -> None:
        (self.folder / f"{self.me}.started").touch()

    def meet(self, own_pid: int | None = None) -> str:
        (self.folder / f"{self.me}.arrived").touch()
        give_up = time.monotonic() + self.deadline
        monitor = None
        try:
            while True:
                if (self.folder / f"{self.other}.arrived").exists():
                    return "both"
                if self.url.startswith("postgresql"):
                    monitor = monitor or _monitor(self.url)
                    if _waiting_for_a_lock(monitor, own_pid, self.other_app):
                        return "excluded"
                elif (self.folder / f"{self.other}.started").exists():
                    return "excluded"
                if time.monotonic() > give_up:
                    raise TimeoutError(f"{self.me}: {self.other} neither reached the race's window nor waited "
                                       f"for a lock within {self.deadline:.0f} s")
                time.sleep(0.01)
        finally:
            if monitor is not None:
                monitor.close()


def _monitor(url: str):
    import psycopg
    from sqlalchemy.engine import make_url

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(conninfo, autocommit=True)


def _waiting_for_a_lock(monitor, own_pid: int | None, other_app: str | None) -> bool:
    """Whether another session of this database (``other_app``'s, if named) waits for a lock."""
    query = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
             "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() AND pid <> %s")
    params: list = [own_pid or 0]
    if other_app:
        query += " AND application_name = %s"
        params.append(other_app)
    return monitor.execute(query, params).fetchone()[0] > 0


def hold_at(pattern: str, rendezvous: Rendezvous) -> list[str]:
    """Meet the other party before this process's first statement matching ``pattern`` (once); the list
    returned receives how they met."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    met: list[str] = []
    wanted = re.compile(pattern, re.IGNORECASE)

    def before(conn, cursor, statement, parameters, context, executemany):
        if not met and wanted.match(statement.lstrip()):
            met.append(rendezvous.meet(own_pid=_backend_pid(conn)))

    event.listen(Engine, "before_cursor_execute", before)
    return met


def _backend_pid(conn) -> int | None:
    info = getattr(conn.connection.dbapi_connection, "info", None)  # psycopg 3
    return getattr(info, "backend_pid", None)


# ------------------------------------------------------------------------------ the workers' parts

def _settings(spec: dict):
    from tongban.settings import Settings

    return Settings(env="test", data_dir=Path(spec["data_dir"]), database={"url": spec["url"]})


def _turn(spec: dict, rendezvous: Rendezvous) -> dict:
    """One dialogue turn (a channel event: no intent model needed) through ``DialogueEngine.handle``."""
    from types import SimpleNamespace

    from bot.engine import DialogueEngine
    from ledger.conversations import ConversationStore
    from ledger.db import Database
    from nlu.geo import gazetteer
    from tongban.storage import data_cipher
    from tongban.runtime import engine_config

    settings = _settings(spec)
    db, cipher = Database(settings.database_url, migrate=False), data_cipher(settings)
    store = ConversationStore(db, cipher)
    opened = []
    real_open = store.open

    def counting_open(*args, **kwargs):
        opened.append(1)
        return real_open(*args, **kwargs)

    store.open = counting_open
    engine = DialogueEngine(config=engine_config(settings), knowledge=SimpleNamespace(geo=gazetteer()), interpreter=None,
                            store=store, cipher=cipher)
    met = hold_at(r"UPDATE conversations SET", rendezvous)
    rendezvous.started()
    replies = engine.handle(spec["sender"], None, {"event": spec["event"]}, channel="telegram")
    db.dispose()
    return {"replies": [reply.text for reply in replies], "turns": len(opened), "met": met[0] if met else None}


def _claim(spec: dict, rendezvous: Rendezvous) -> dict:
    """What an outbox sender does: claim the conversation's due rows, deliver them, record them sent."""
    from ledger import outbox
    from ledger.db import Database
    from tongban.storage import data_cipher

    settings = _settings(spec)
    db, cipher = Database(settings.database_url, migrate=False), data_cipher(settings)
    met = hold_at(r"UPDATE outbox SET status", rendezvous)
    rendezvous.started()
    with db.session() as session:
        claimed = outbox.claim(session=session, cipher=cipher, conversation_id=spec["conversation_id"],
                               worker=spec["me"])
    delivered = [row.id for row in claimed]  # "sent" to the parent here
    with db.session() as session:
        outbox.mark_sent(session=session, ids=delivered)
    db.dispose()
    return {"delivered": delivered, "met": met[0] if met else None}


def _set_status(spec: dict, rendezvous: Rendezvous) -> dict:
    """``tongban ledger set-status``, as a staff member runs it."""
    from tongban import cli
    from tongban.settings import get_settings

    os.environ.update({"TONGBAN_ENV": "test", "TONGBAN_DATA_DIR": spec["data_dir"],
                       "TONGBAN_DATABASE__URL": spec["url"]})
    get_settings.cache_clear()
    met = hold_at(r"(UPDATE assistance_requests|INSERT INTO (status_history|ledger_entries))\b", rendezvous)
    rendezvous.started()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["ledger", "set-status", spec["reference"], spec["status"], "--note", spec["note"],
                         "--actor", spec["me"]])
    return {"code": code, "out": out.getvalue(), "err": err.getvalue(), "met": met[0] if met else None}


def _upgrade(spec: dict, rendezvous: Rendezvous) -> dict:
    """A worker starting: ``Database(url)`` migrates the database to the newest revision."""
    from ledger.db import Database

    applied: list[str] = []

    class Applied(logging.Handler):
        def emit(self, record):
            found = re.match(r"Running upgrade \S* ?-> (\w+)", record.getMessage())
            if found:
                applied.append(found.group(1))

    migration_log = logging.getLogger("alembic.runtime.migration")
    migration_log.setLevel(logging.INFO)
    migration_log.addHandler(Applied())
    met = hold_at(r"(CREATE|ALTER|DROP)\s", rendezvous)
    rendezvous.started()
    Database(_settings(spec).database_url).dispose()
    return {"applied": applied, "met": met[0] if met else None}


PARTS = {"turn": _turn, "claim": _claim, "status": _set_status, "upgrade": _upgrade}


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    spec["url"] = worker_url(spec["url"], spec["me"])
    rendezvous = Rendezvous(Path(spec["folder"]), spec["me"], spec["other"], spec["url"] or "sqlite",
                            other_app=app_name(spec["other"]))
    result = PARTS[spec["part"]](spec, rendezvous)
    print("RESULT " + json.dumps(result, ensure_ascii=False, default=str), flush=True)
    return 0


# ------------------------------------------------------------------------------ the tests' side

def run_workers(part: str, *, backend: dict, folder: Path, specs: tuple[dict, dict],
                deadline: float = RUN_DEADLINE) -> list[dict]:
    """Run workers "a" and "b" at once, each ``part`` with its spec; their results in that order, each
    with ``returncode`` and ``stderr`` added (``result`` is None when a worker printed none)."""
    folder.mkdir(parents=True, exist_ok=True)
    processes = []
    for (me, other), extra in zip((("a", "b"), ("b", "a")), specs):
        spec = {"part": part, "me": me, "other": other, "folder": str(folder),
                "data_dir": str(backend["data_dir"]), "url": backend["database"]["url"], **extra}
        processes.append(subprocess.Popen([sys.executable, "-m", "tests.race_worker", json.dumps(spec)], cwd=REPO,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    give_up = time.monotonic() + deadline
    outputs = []
    try:
        for process in processes:
            try:
                outputs.append(process.communicate(timeout=max(0.1, give_up - time.monotonic())))
            except subprocess.TimeoutExpired:
                raise AssertionError(f"the {part} workers did not finish within {deadline:.0f} s") from None
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    results = []
    for process, (out, err) in zip(processes, outputs):
        line = next((x for x in reversed(out.splitlines()) if x.startswith("RESULT ")), None)
        result = json.loads(line[len("RESULT "):]) if line else {}
        results.append({**result, "returncode": process.returncode, "stderr": err[-3000:]})
    return results


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
