"""``tongban serve --workers N``: worker processes on one port, balanced, restarted, stopped.

Runs the real command against the session's trained models (no training in the workers) and a
SQLite ledger of its own, which both workers write at once.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import REPO

pytestmark = [pytest.mark.slow,  # server processes
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> set[int]:
    """The supervisor's worker processes (not multiprocessing's resource tracker)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"resource_tracker" not in command:
                found.add(int(entry.name))
    return found


def _listeners(port: int) -> int:
    """Listening sockets on ``port``: one per worker that has finished starting."""
    return sum(1 for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
               if int(line.split()[1].split(":")[1], 16) == port and line.split()[3] == "0A")


def _connections_by_process(pids: set[int], port: int) -> dict[int, int]:
    """Established TCP connections to ``port`` held by each of ``pids`` (from /proc)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
            inodes.add(fields[9])
    counts = {}
    for pid in pids:
        held = 0
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                held += 1
        counts[pid] = held
    return counts


def _get(port: int, path: str, timeout: float = 5.0) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def _wait_healthy(port: int, process: subprocess.Popen, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "tongban serve exited at start"
        try:
            if _get(port, "/healthz") == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError("tongban serve did not become healthy")


def _wait_for(predicate, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(message)


@pytest.fixture
def served(interpreter, kb, kb_settings, tmp_path):
    """``tongban serve --workers 2`` on a free port; yields (process, port, database URL)."""
    port = _free_port()
    database = f"sqlite:///{tmp_path / 'ledger.db'}"
    env = {**os.environ, "TONGBAN_DATA_DIR": str(kb_settings.data_dir), "TONGBAN_DATABASE__URL": database,
           "TONGBAN_KNOWLEDGE__WATCH_INTERVAL": "0", "TONGBAN_LOG_LEVEL": "WARNING", "TONGBAN_TELEGRAM__TOKEN": "",
           "TONGBAN_SECURITY__API_TOKEN": API_TOKEN}
    log = open(tmp_path / "serve.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "tongban.cli", "serve", "--host", "127.0.0.1",
                                "--port", str(port), "--workers", "2"], cwd=REPO, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        _wait_healthy(port, process)
        # a worker listens once its app has started; both are up when the port has two listeners
        _wait_for(lambda: _listeners(port) == 2, 240, "two listening workers")
        yield process, port, database
    finally:
        if process.poll() is None:
            process.kill()
            for pid in _children(process.pid):
                os.kill(pid, signal.SIGKILL)
            process.wait(10)
        log.close()


API_TOKEN = "serve-test-token"  # the chats come from a trusted integration (any sender names)


def _say(port: int, sender: str, message: str) -> list[dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", "/webhooks/rest/webhook", body=json.dumps({"sender": sender, "message": message}),
                           headers={"Content-Type": "application/json", "Authorization": f"Bearer {API_TOKEN}"})
        response = connection.getresponse()
        assert response.status == 200
        return json.loads(response.read())
    finally:
        connection.close()


def test_workers_share_the_port_write_one_database_restart_and_stop(served):
    process, port, database = served
    workers = _children(process.pid)
    assert len(workers) == 2

    # Keep-alive connections (as Telegram holds its webhook connections) spread over both
    # workers: each worker listens on its own SO_REUSEPORT socket.
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(40)]
    for connection in connections:
        connection.request("GET", "/healthz")
        assert connection.getresponse().read()
    spread = _connections_by_process(workers, port)
    for connection in connections:
        connection.close()
    assert all(count > 0 for count in spread.values()), spread
    assert sum(spread.values()) == 40

    # Both processes write the one SQLite ledger at once: every parent's turns are kept.
    senders = [f"parent-serve-{n}" for n in range(24)]
    with ThreadPoolExecutor(12) as pool:
        replies = list(pool.map(lambda s: _say(port, s, "你好") + _say(port, s, "谢谢"), senders))
    assert all(len(r) >= 2 for r in replies)
    engine = create_engine(database)
    with engine.connect() as conn:
        conversations = conn.execute(text("SELECT count(*), min(version) FROM conversations")).one()
        inbound = conn.execute(text("SELECT count(*) FROM conversation_messages WHERE direction = 'in'")).scalar()
    engine.dispose()
    assert tuple(conversations) == (24, 3) and inbound == 48

    # A worker that dies is replaced; the service keeps answering meanwhile.
    victim = sorted(workers)[0]
    os.kill(victim, signal.SIGKILL)
    _wait_for(lambda: _listeners(port) == 1 and _healthy(port), 30, "the other worker answers alone")
    _wait_for(lambda: len(_children(process.pid) - {victim}) == 2, 60, "a replacement worker")
    _wait_for(lambda: _listeners(port) == 2 and _healthy(port), 240, "the replacement listens")

    # SIGTERM stops the supervisor and every worker, cleanly.
    current = _children(process.pid)
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0
    assert not any(Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid) for pid in current)


def _healthy(port: int) -> bool:
    try:
        return all(_get(port, "/healthz") == 200 for _ in range(8))
    except OSError:  # a connection that reached the killed worker's socket in its last moment
        return False


def _state(pid: int) -> str:
    try:
        return "zombie" if (Path(f"/proc/{pid}") / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z" else "alive"
    except OSError:
        return "zombie"
