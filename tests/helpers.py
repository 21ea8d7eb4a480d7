"""Small builders shared by tests."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import SHARED_EVAL


def checklist_dict(checklist_id: str, locality: str, name: str, items: list[dict], *,
                   version: int = 1, authority: str = "official", title: str | None = None) -> dict:
    return {
        "checklist": {
            "id": checklist_id, "locality": {"code": locality, "name": name},
            "title": title or f"{name}流动儿童关爱服务清单", "issuer": f"{name}民政局",
            "doc_number": None, "published": "2026-01-15", "version": version,
            "status": "current", "authority": authority,
            "source_url": "https://example.invalid/notice",
        },
        "items": items,
    }


def item(item_id: str, category: str, title: str, content: str, **extra) -> dict:
    base = {"id": item_id, "category": category, "title": title, "service_object": "流动儿童",
            "content": content, "departments": ["民政局"], "how_to_apply": "到街道办理",
            "materials": [], "clause": "（一）", "source_url": "https://example.invalid/notice"}
    base.update(extra)
    return base


def write_checklist(folder: Path, name: str, data: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def eval_command_output(kind: str, data_dir: Path, *, timeout: float) -> str:
    """What `tongban eval KIND` prints for the shared dev set, run as an operator runs it (a process
    of its own, with its own data folder); the command must succeed. Skips where the shared folder
    is not laid out beside the clone."""
    if not SHARED_EVAL.exists():
        pytest.skip("shared dev set not present")
    run = subprocess.run([sys.executable, "-m", "tongban.cli", "eval", kind, str(SHARED_EVAL)],
                         capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, "TONGBAN_DATA_DIR": str(data_dir)})
    assert run.returncode == 0, run.stderr
    return run.stdout


class CountingEmbedder:
    """Wraps a real embedder and counts passage embeddings (to prove cache/index reuse) and
    records the query texts it was given."""

    def __init__(self, inner, model_id: str | None = None):
        self.inner = inner
        self.model_id = model_id or inner.model_id
        self.dim = inner.dim
        self.passages = 0
        self.queries: list[str] = []

    def embed_queries(self, texts):
        self.queries += list(texts)
        return self.inner.embed_queries(texts)

    def embed_query(self, text):
        self.queries.append(text)
        return self.inner.embed_query(text)

    def embed_passages(self, texts):
        self.passages += len(texts)
        return self.inner.embed_passages(texts)


def private_knowledge(tmp_path_factory, kb, embedder, name: str):
    """A knowledge base of its own (publishing must not touch the shared ``kb``), started from a
    copy of the shared index and models so nothing is embedded twice."""
    import shutil

    from tongban.runtime import knowledge_base
    from tongban.settings import Settings

    data_dir = tmp_path_factory.mktemp(name)
    for source, sub in ((kb.index_dir, "index"), (kb.models_dir, "models")):
        if source.exists():
            shutil.copytree(source, data_dir / sub, dirs_exist_ok=True)
    settings = Settings(env="test", data_dir=data_dir, knowledge={"watch_interval": 0})
    return knowledge_base(settings, embedder).start(watch=False)


class Sleeps:
    """Stands in for ``asyncio`` inside one product module (``monkeypatch.setattr(module, "asyncio",
    Sleeps())``): every ``asyncio.sleep(delay)`` there is recorded in ``waits``, so a test checks
    what was waited instead of timing it. ``held=True``: each such sleep lasts until ``release()``
    (at most ``limit`` seconds), so a test can check what happens *during* the wait. Everything
    else is the real asyncio."""

    def __init__(self, *, held: bool = False, limit: float = 30.0):
        self.waits: list[float] = []
        self.held = held
        self.limit = limit
        self._released = threading.Event()

    def __getattr__(self, name):
        return getattr(asyncio, name)

    async def sleep(self, delay, result=None):
        self.waits.append(delay)
        if not self.held:
            return await asyncio.sleep(delay, result)
        deadline = time.monotonic() + self.limit
        while not self._released.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        return result

    def release(self) -> None:
        self._released.set()

    def wait_begun(self, count: int = 1, timeout: float = 20.0) -> None:
        """Block this thread until ``count`` sleeps have begun."""
        deadline = time.monotonic() + timeout
        while len(self.waits) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.waits)} of {count} waits begun in {timeout} s")
            time.sleep(0.005)
