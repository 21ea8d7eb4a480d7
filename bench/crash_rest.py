"""The REST part of bench/crash_recovery.py: 40 trusted clients' visits through ``POST
/webhooks/rest/webhook`` of one ``tongban serve`` on SQLite, the process SIGKILLed and restarted
while requests are in flight."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from cryptography.fernet import Fernet

from benchutil import free_port
from crash_checks import UpdateRecord, database_counts, journey, post_counted
from processes import listening_pids, prepare, server_env, start_serve, stop_serve


REST_SENDER = "crash-rest-{:06d}"
REST_TOKEN = "crash-bench-api-token"


def rest_journey(n: int) -> list[tuple[str, str]]:
    """The Telegram visit through the REST channel: a greeting instead of /start, and a button's
    payload sent as the message (as Rasa REST clients do)."""
    return [("text", "你好")] + journey(n)[1:]


@dataclass
class RestRecord:
    chat: int
    step: int
    message_id: str
    attempts: list[str] = field(default_factory=list)
    replies: int | None = None  # replies in the answer that was finally received


class RestLoad:
    def __init__(self, url: str, chats: int, duration: float, give_up: float):
        self.url, self.chats, self.duration, self.give_up = url, chats, duration, give_up
        self.records: list[RestRecord] = []
        self.aborted: list[int] = []
        self.in_flight = 0

    async def send(self, client: aiohttp.ClientSession, sender: str, text: str, record: RestRecord) -> list[dict] | None:
        """POST until answered; the same message_id every time."""
        body = {"sender": sender, "message": text, "message_id": record.message_id}
        headers = {"Authorization": f"Bearer {REST_TOKEN}"}
        deadline = time.monotonic() + self.give_up
        pause = 0.5
        while time.monotonic() < deadline:
            status, payload = await post_counted(self, client, self.url, body, headers)
            record.attempts.append(status)
            if status == "200":
                replies = json.loads(payload)
                record.replies = len(replies)
                return replies
            if status.startswith("4") and status not in ("408", "429"):
                raise SystemExit(f"REST webhook answered {status}: {payload[:300]!r}")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)
        return None

    async def chat(self, client: aiohttp.ClientSession, n: int) -> None:
        sender = REST_SENDER.format(n)
        steps = rest_journey(n)
        think = self.duration / len(steps)
        rng = random.Random(n)
        await asyncio.sleep(rng.uniform(0, think))
        last: list[dict] = []
        for step, (kind, value) in enumerate(steps):
            if step:
                await asyncio.sleep(rng.uniform(0.5, 1.5) * think)
            text = value
            if kind == "press":
                text = next((b["payload"] for r in last for b in r.get("buttons") or [] if b["title"] == value), None)
                if text is None:
                    self.aborted.append(n)
                    return
            record = RestRecord(n, step, f"m{n}-{step}")
            self.records.append(record)
            last = await self.send(client, sender, text, record) or []

    async def run(self) -> float:
        started = time.monotonic()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as client:
            await asyncio.gather(*(self.chat(client, n) for n in range(self.chats)))
        return time.monotonic() - started


def run_rest(args) -> bool:
    key = Fernet.generate_key().decode()
    scratch = Path(tempfile.mkdtemp(prefix="tongban-crash-rest-"))
    url = f"sqlite:///{scratch / 'tongban.db'}"
    log = args.data_dir / "rest-server.log"
    log.write_text("")
    prepare(args.data_dir)
    port = free_port()
    env = server_env(args.data_dir, url, key, TONGBAN_SECURITY__API_TOKEN=REST_TOKEN)
    kills: list[float] = []
    servers: list[subprocess.Popen] = []

    def serving(process: subprocess.Popen) -> bool:
        return bool(listening_pids([process.pid], port))

    def start() -> subprocess.Popen:
        process = start_serve(env, port, 1, log)
        servers.append(process)
        return process

    try:
        server = start()
        started = time.monotonic()
        while not serving(server):
            if server.poll() is not None or time.monotonic() - started > 900:
                raise SystemExit(f"server did not start; see {log}")
            time.sleep(0.3)
        print(f"[rest] serving after {time.monotonic() - started:.0f} s", flush=True)
        load = RestLoad(f"http://127.0.0.1:{port}/webhooks/rest/webhook", args.rest_chats, args.rest_duration,
                        give_up=600.0)  # a restart loads the models again: minutes on a busy machine
        stop = threading.Event()
        outages: list[float] = []
        in_flight: list[int] = []

        def killer() -> None:
            """Kill the process once it has served ``rest_kill_interval`` s, while at least two
            requests wait for an answer; start it again at once."""
            nonlocal server
            while len(kills) < args.rest_kills and not stop.wait(args.rest_kill_interval):
                while load.in_flight < min(2, args.min_in_flight) and not stop.wait(0.05):
                    pass
                if stop.is_set():
                    break
                in_flight.append(load.in_flight)
                os.kill(server.pid, signal.SIGKILL)
                server.wait()
                kills.append(time.monotonic() - load_started)
                down = time.monotonic()
                server = start()
                while not serving(server) and not stop.is_set():
                    if server.poll() is not None:
                        server = start()
                    time.sleep(0.2)
                outages.append(time.monotonic() - down)

        load_started = time.monotonic()
        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        elapsed = asyncio.run(load.run())
        stop.set()
        thread.join()
    finally:
        for process in servers:
            stop_serve(process)
    sent = len(load.records)
    answered = sum(1 for r in load.records if r.replies)
    posts = sum(len(r.attempts) for r in load.records)
    failures: dict[str, int] = {}
    for record in load.records:
        for status in record.attempts:
            if status != "200":
                failures[status] = failures.get(status, 0) + 1
    db = database_counts(url, key, [UpdateRecord(r.chat, r.step, 0, 0.0) for r in load.records], _rest_chat, 0)
    shutil.rmtree(scratch, ignore_errors=True)
    twice = db["transcript_extra"]
    lost = sent - answered + db["transcript_missing"]
    print(f"[rest] {args.rest_chats} clients, {sent} messages over {elapsed:.0f} s; SIGKILL + restart at "
          f"{', '.join(f'{t:.0f}' for t in kills)} s (requests in flight then: {', '.join(map(str, in_flight))}; down "
          f"{', '.join(f'{t:.0f}' for t in outages)} s)")
    print(f"[rest] POSTs {posts} (resent with the same message_id {posts - sent}; failed: {dict(sorted(failures.items()))})")
    print(f"[rest] messages sent {sent}, answered {answered}, answered twice (processed twice) {twice}, lost {lost} "
          f"(never processed: {db['transcript_missing']}); form answers lost {db['form_answers_lost']} (chats without a "
          f"request: {db['chats_without_request']}), requests duplicated {db['requests_duplicated']}; clients that could "
          f"not go on {len(load.aborted)}")
    for chat, name, wanted, got in db["lost_fields"][:10]:
        print(f"[rest]   client {chat}: {name} {wanted!r} filed as {got!r}")
    return not (twice or lost or db["form_answers_lost"] or db["requests_duplicated"] or load.aborted)


def _rest_chat(sender: str) -> int | None:
    """crash-rest-000012 (under whatever namespace the REST channel gives trusted senders) → 12."""
    head, _, number = sender.rpartition("crash-rest-")
    return int(number) if head is not None and _ and number.isdigit() else None
