"""Crash recovery under load: SIGKILLed workers, a restarted database, nothing lost or doubled.

**Telegram part** (PostgreSQL). Starts a PostgreSQL cluster of its own (initdb into a temporary
folder, trust auth, port 55432 or a free one; the shared server on 5432 is not touched), the fake
Bot API server (tests/fake_telegram.py) and ``tongban serve --workers 2`` in webhook mode. 200
chats each make a whole visit (/start, a question, the assistance form with consent, 确认提交:
15 updates) while

* one worker process gets SIGKILL whenever both serve, at least ``--kill-interval`` seconds after
  the last kill and at a moment when at least ``--min-in-flight`` webhook POSTs wait for an answer
  (so that turns are cut short); only workers up for longer than the supervisor's crash-loop window
  (30 s, tongban/serve.py) are chosen. The supervisor starts another, which loads its models again
  (a minute or two on a busy 2-core machine: that, not the interval, bounds the number of kills;
  ``--allow-outage`` also kills the only worker serving);
* PostgreSQL is restarted once in the middle of the load (``pg_ctl restart -m immediate``: a crash
  of the database server, every connection cut, crash recovery on start).

This process plays Telegram: an update is POSTed to the webhook over at most 40 connections
(setWebhook's max_connections) and POSTed again, with the same update_id, until it is acknowledged
with 200 (a connection error, a timeout of 30 s or any other status means a redelivery after 0.5,
1, 2, 4, 5, 5… s). A parent sends the next message only once the bot answered the last one (and
presses a button only once it is shown), after a pause that spreads the 15 updates over
``--duration`` seconds.

Counted from the fake's side: updates sent; answered (the bot sent at least one message to the
chat between the update and the chat's next update — the reply may come late, from the outbox
sweeper); lost (no reply within ``--reply-timeout``); answered twice (the chat received a message
more often than the outbox holds messages with that text: a row sent twice). From the database
(decrypted with the key given to the servers): form answers lost (a field of the filed request
that differs from what the chat sent; all of them for a chat with no request), requests
duplicated (a chat with more than one request, or a filing merged into an earlier one).
Cross-checks: the parent's messages in the transcript against updates sent (processed twice /
never), sendMessage calls against outbox rows sent. The timeline of every chat with something
wrong goes to ``<data dir>/telegram-anomalies.txt``.

**REST part** (SQLite). One ``tongban serve`` process; 40 REST clients, each a trusted integration
(``Authorization: Bearer`` with ``TONGBAN_SECURITY__API_TOKEN``) making the same visit through
``POST /webhooks/rest/webhook`` with a ``message_id`` per message; the process is SIGKILLed
``--rest-kills`` times, each after serving ``--rest-kill-interval`` seconds, while requests are in
flight, and started again at once. A client whose request fails (connection
error, 5xx) sends it again with the same message_id until it gets an answer. Counted: messages
sent, answered, answered twice (processed twice: the transcript holds the message twice), lost;
form answers lost and requests duplicated as above.

    .venv/bin/python bench/crash_recovery.py [--part telegram|rest|both] [--chats 200]
        [--duration 60] [--kill-interval 5] [--min-in-flight 3] [--rest-chats 40] [--rest-kills 2]

Exit status 0 when every count that must be zero is zero.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchutil import children, free_port  # noqa: E402

import aiohttp  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

from ledger.outbox import RECOVERED  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402

TOKEN = "123456:CRASH-BENCH"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
RESTART_WINDOW = 30.0  # tongban/serve.py: deaths sooner than this after a start count as a crash loop
TELEGRAM_CONNECTIONS = 40
POST_TIMEOUT = 30.0
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
# not 子涵: the safety net reads that name as an emergency (abuse, P 0.99) and the form stops
GIVEN = ["小明", "小红", "一诺", "浩然", "欣怡", "梓轩", "雨桐", "宇航", "诗涵", "俊杰"]
QUESTIONS = ["孩子在这边上小学要带什么材料", "孩子打疫苗去哪里", "没有居住证能上公办学校吗", "孩子看病能报销吗",
             "有没有课后托管", "孩子的户口在老家，这边能参加中考吗", "附近有儿童之家吗", "孩子心情不好可以找谁聊聊"]


def child_of(n: int) -> str:
    """200 different names; beyond that they repeat, but the guardian's phone (the chat's own)
    keeps each child distinct for the duplicate check (name + phone)."""
    return SURNAMES[n % 20] + GIVEN[n // 20 % 10]


def journey(n: int) -> list[tuple[str, str]]:
    """One parent's visit: /start, a question, then an assistance request through the form with
    consent, filed with 确认提交 (15 updates). Child name and phone are the chat's own."""
    return [("command", "/start"), ("text", QUESTIONS[n % len(QUESTIONS)]), ("text", "我想申请帮扶"),
            ("press", "同意"), ("text", child_of(n)), ("text", f"{6 + n % 9}岁"), ("text", "河南周口郸城"),
            ("text", "深圳宝安西乡街道"), ("text", "两年"), ("text", "李芳"), ("text", "妈妈"),
            ("text", f"139{n:08d}"), ("text", "1"), ("text", "跳过"), ("press", "确认提交")]


def expected_request(n: int) -> dict:
    """What the request filed by chat ``n`` must hold (the constant fields were read from a run
    without faults: 河南周口郸城 → 411625, 深圳宝安 → 440306, 两年 → 24 months, "1" → the first
    situation, family_hardship)."""
    return {"child_name": child_of(n), "child_age": 6 + n % 9, "hukou_code": "411625",
            "residence_code": "440306", "residence_detail": "深圳宝安西乡街道", "months_at_residence": 24.0,
            "guardian_name": "李芳", "guardian_relation": "妈妈", "guardian_phone": f"139{n:08d}",
            "situations": "family_hardship", "description": ""}


# --------------------------------------------------------------------------------------------
# a PostgreSQL cluster of our own
# --------------------------------------------------------------------------------------------

class OwnPostgres:
    """initdb into a temporary folder; started, restarted and removed by this benchmark only."""

    def __init__(self, port: int):
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="tongban-crash-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/tongban"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        # no pipes: the server pg_ctl starts would inherit them, and run() would wait for it to exit
        with open(self.root / "pg_ctl.log", "a") as out:
            return subprocess.run(command, check=check, stdin=subprocess.DEVNULL, stdout=out, stderr=out)

    def start(self) -> "OwnPostgres":
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale")
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c max_connections=200 "
                   "-c shared_buffers=64MB")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE tongban")
        return self

    def restart(self) -> float:
        """A crash of the database server (immediate shutdown, no checkpoint) and a start; seconds
        until it accepts connections again."""
        started = time.monotonic()
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "immediate", "-w", "restart")
        return time.monotonic() - started

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# --------------------------------------------------------------------------------------------
# the server processes
# --------------------------------------------------------------------------------------------

def server_env(data_dir: Path, database_url: str, key: str, **extra: str) -> dict:
    return {**os.environ, "TONGBAN_DATA_DIR": str(data_dir), "TONGBAN_LOG_LEVEL": "WARNING",
            "TONGBAN_KNOWLEDGE__WATCH_INTERVAL": "0", "TONGBAN_DATABASE__URL": database_url,
            "TONGBAN_SECURITY__DATA_KEY": key, **extra}


def prepare(data_dir: Path) -> None:
    """Train the intent model and build the index once, in one process: workers starting together
    on an empty data folder would each train it (and race on the embedding cache file)."""
    if not (data_dir / "models" / "intent.pkl").exists():
        env = {**os.environ, "TONGBAN_DATA_DIR": str(data_dir)}
        for command in (["nlu", "train"], ["knowledge", "reindex"]):
            subprocess.run([str(REPO / ".venv" / "bin" / "tongban"), *command], env=env, cwd=str(REPO),
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_serve(env: dict, port: int, workers: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen([str(REPO / ".venv" / "bin" / "tongban"), "serve", "--port", str(port),
                             "--workers", str(workers)], env=env, cwd=str(REPO),
                            stdout=subprocess.DEVNULL, stderr=open(log, "a"), start_new_session=True)


def stop_serve(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def worker_pids(supervisor: int) -> list[int]:
    """The supervisor's worker processes (multiprocessing's spawned children; not its resource tracker)."""
    found = []
    for pid in children(supervisor):
        try:
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            pass
    return found


def listening_pids(pids: list[int], port: int) -> list[int]:
    """Those of ``pids`` that hold a socket listening on ``port`` (a worker listens once started)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    serving = []
    for pid in pids:
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        if any(link.startswith("socket:[") and link[8:-1] in inodes for link in links):
            serving.append(pid)
    return serving


TICKS = os.sysconf("SC_CLK_TCK")


def age_seconds(pid: int) -> float:
    try:
        start_ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except OSError:
        return 0.0
    return uptime - start_ticks / TICKS


class Killer(threading.Thread):
    """SIGKILL one serving worker at least ``interval`` s after the last kill, at a moment when at
    least ``min_in_flight`` webhook POSTs are waiting for an answer (so that turns are cut
    short), choosing among workers older than the supervisor's crash-loop window (a younger one's
    death would count towards "keeps exiting at start"). The only worker serving is spared unless
    ``outages`` (then nothing serves until the supervisor's new worker has loaded its models)."""

    def __init__(self, supervisor: int, port: int, interval: float, outages: bool = False,
                 in_flight=lambda: 0, min_in_flight: int = 0, seed: int = 5):
        super().__init__(daemon=True, name="killer")
        self.supervisor, self.port, self.interval, self.outages = supervisor, port, interval, outages
        self.in_flight, self.min_in_flight = in_flight, min_in_flight
        self.stop_event = threading.Event()
        self.kills: list[tuple[float, int, int]] = []  # (seconds into the load, pid, POSTs in flight)
        self.wall: list[float] = []  # the same moments, wall clock
        self.rng = random.Random(seed)
        self.started_at = time.monotonic()

    def run(self) -> None:
        self.started_at = last = time.monotonic()
        while not self.stop_event.wait(0.05):
            if time.monotonic() - last < self.interval or self.in_flight() < self.min_in_flight:
                continue
            serving = listening_pids(worker_pids(self.supervisor), self.port)
            victims = [pid for pid in serving if age_seconds(pid) > RESTART_WINDOW + 1]
            if not victims or (len(serving) < 2 and not self.outages):
                continue
            victim = self.rng.choice(victims)
            in_flight = self.in_flight()
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                continue
            last = time.monotonic()
            self.kills.append((last - self.started_at, victim, in_flight))
            self.wall.append(time.time())

    def stop(self) -> None:
        self.stop_event.set()
        self.join()


# --------------------------------------------------------------------------------------------
# Telegram part
# --------------------------------------------------------------------------------------------

@dataclass
class UpdateRecord:
    chat: int
    step: int
    update_id: int
    created: float  # wall clock, when the parent sent it (before the first POST)
    statuses: list[str] = field(default_factory=list)
    acked: float | None = None
    replied: float | None = None  # wall clock of the first bot message after it (None: none came)


def _button(fake: FakeTelegram, chat: int, title: str) -> tuple[str, int] | None:
    for message in reversed(fake.sent(chat)):
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if button["text"] == title:
                    return button["callback_data"], message["message_id"]
    return None


async def post_counted(load, client: aiohttp.ClientSession, url: str, body: dict,
                       headers: dict) -> tuple[str, bytes]:
    """One POST, counted in ``load.in_flight`` while it waits: ("200", body), or the status code,
    "timeout" or the connection error's name (with an empty body)."""
    load.in_flight += 1
    try:
        async with client.post(url, json=body, headers=headers,
                               timeout=aiohttp.ClientTimeout(total=POST_TIMEOUT)) as response:
            return str(response.status), await response.read()
    except asyncio.TimeoutError:
        return "timeout", b""
    except aiohttp.ClientError as exc:
        return type(exc).__name__, b""
    finally:
        load.in_flight -= 1


async def wait_until(predicate, timeout: float, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(interval)


class TelegramLoad:
    """Telegram's side: parents writing, and the webhook delivery that retries until 200."""

    def __init__(self, fake: FakeTelegram, url: str, secret: str, chats: int, duration: float,
                 reply_timeout: float):
        self.fake, self.url, self.secret = fake, url, secret
        self.chats, self.duration, self.reply_timeout = chats, duration, reply_timeout
        self.records: list[UpdateRecord] = []
        self.aborted: list[int] = []  # chats that could not go on (a button never shown)
        self.in_flight = 0  # webhook POSTs waiting for an answer

    async def deliver(self, client: aiohttp.ClientSession, slots: asyncio.Semaphore, update: dict,
                      record: UpdateRecord) -> None:
        """POST the update until it is acknowledged with 200; a growing pause between tries."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.secret}
        pause = 0.5
        while True:
            async with slots:  # one of Telegram's webhook connections
                status, _ = await post_counted(self, client, self.url, update, headers)
            record.statuses.append(status)
            if status == "200":
                record.acked = time.time()
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)

    async def chat(self, client: aiohttp.ClientSession, slots: asyncio.Semaphore, n: int) -> None:
        chat = 800_000 + n
        steps = journey(n)
        think = self.duration / len(steps)
        rng = random.Random(n)
        await asyncio.sleep(rng.uniform(0, think))
        for step, (kind, value) in enumerate(steps):
            if step:
                await asyncio.sleep(rng.uniform(0.5, 1.5) * think)
            if kind == "press":
                found = await wait_until(lambda: _button(self.fake, chat, value), 30.0)
                if found is None:
                    self.aborted.append(chat)
                    return
                update = self.fake.callback_update(chat, data=found[0], message_id=found[1])
            elif kind == "command":
                update = self.fake.command_update(chat, value)
            else:
                update = self.fake.text_update(chat, value)
            before = self.fake.sent_count(chat)
            record = UpdateRecord(chat, step, update["update_id"], time.time())
            self.records.append(record)
            await self.deliver(client, slots, update, record)
            # the parent reads the answer before writing again (a reply may come late, from the
            # outbox sweeper, when the worker that wrote it was killed)
            if await wait_until(lambda: self.fake.sent_count(chat) > before, self.reply_timeout):
                record.replied = time.time()
            await asyncio.sleep(0.3)  # the rest of a reply of several messages

    async def run(self) -> float:
        slots = asyncio.Semaphore(TELEGRAM_CONNECTIONS)
        started = time.monotonic()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=TELEGRAM_CONNECTIONS)) as client:
            await asyncio.gather(*(self.chat(client, slots, n) for n in range(self.chats)))
        return time.monotonic() - started


def count_replies(fake: FakeTelegram, records: list[UpdateRecord], outbox_texts: dict[int, Counter]) -> dict:
    """answered / answered twice / lost, from what the fake received.

    A bot message belongs to the chat's last update sent before it (a parent writes again only
    after an answer). An update is answered when at least one message belongs to it. A message is
    a second copy when the chat received its text more often than the outbox holds messages with
    that text (a row sent twice: delivered, then sent again by another worker); the update its
    first copy belongs to was answered twice."""
    by_chat: dict[int, list[UpdateRecord]] = {}
    for record in records:
        by_chat.setdefault(record.chat, []).append(record)
    sent_at: dict[int, list[float]] = {}
    for call in fake.calls("sendMessage"):
        if call["status"] == 200:
            sent_at.setdefault(int(call["params"]["chat_id"]), []).append(call["time"])
    result = {"answered": 0, "answered_twice": 0, "lost": 0, "second_copies": 0, "lost_updates": [],
              "doubled_updates": [], "messages": {}}
    for chat, chat_records in by_chat.items():
        chat_records.sort(key=lambda r: r.step)
        messages = [(at, m["text"]) for m, at in zip(fake.sent(chat), sent_at.get(chat, []))]
        result["messages"][chat] = messages
        replies = [0] * len(chat_records)
        seen: Counter = Counter()
        first_owner: dict[str, int] = {}
        doubled: set[int] = set()
        for at, text in messages:
            owner = max((k for k, r in enumerate(chat_records) if r.created <= at), default=-1)
            seen[text] += 1
            first_owner.setdefault(text, owner)
            if seen[text] > outbox_texts.get(chat, Counter())[text]:
                result["second_copies"] += 1
                doubled.add(first_owner[text])
            if owner >= 0:
                replies[owner] += 1
        last_sent = [0.0] * len(chat_records)
        for at, _ in messages:
            owner = max((k for k, r in enumerate(chat_records) if r.created <= at), default=-1)
            if owner >= 0 and chat_records[owner].acked and at <= chat_records[owner].acked:
                last_sent[owner] = max(last_sent[owner], at)
        result.setdefault("unrecorded_window", []).extend(
            r.acked - last for r, last in zip(chat_records, last_sent) if last and r.acked)
        result["answered"] += sum(1 for count in replies if count)
        result["lost"] += sum(1 for count in replies if not count)
        result["lost_updates"] += [(chat, chat_records[k].step) for k, count in enumerate(replies) if not count]
        result["answered_twice"] += len(doubled)
        result["doubled_updates"] += [(chat, chat_records[k].step if k >= 0 else -1) for k in sorted(doubled)]
    return result


def database_counts(url: str, key: str, records: list, chat_of_sender, chat_base: int) -> dict:
    """Form answers lost, requests duplicated, what the outbox holds per chat and the transcript,
    read with the ledger's key."""
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from ledger.crypto import DataCipher
    from ledger.models import (AssistanceRequest, Conversation, ConversationMessage, OutboxMessage,
                               StatusChange, UrgentRecord)
    from tests.fake_telegram import _rendered_text

    cipher = DataCipher(key.encode())
    engine = create_engine(url)
    sent_per_chat: Counter = Counter(record.chat for record in records)
    out = {"chats_without_request": 0, "form_answers_lost": 0, "requests_duplicated": 0,
           "merged_filings": 0, "transcript_extra": 0, "transcript_missing": 0, "outbox_send_rows_sent": 0,
           "outbox_other": Counter(), "lost_fields": [], "outbox_texts": {}, "transcripts": {},
           "urgent": {}, "processed_twice": [], "never_processed": []}
    with Session(engine) as session:
        chat_of = {}
        for row in session.scalars(select(Conversation)):
            chat = chat_of_sender(cipher.decrypt(row.sender_enc) or "")
            if chat is not None:
                chat_of[row.id] = chat
        for row in session.scalars(select(ConversationMessage).order_by(ConversationMessage.id)):
            if row.conversation_id in chat_of:
                out["transcripts"].setdefault(chat_of[row.conversation_id], []).append(
                    (row.direction, cipher.decrypt(row.text_enc)))
        for row in session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reply")):
            payload = json.loads(cipher.decrypt(row.payload_enc))
            if payload.get("op", "send") == "send":
                text = _rendered_text(payload["text"], payload.get("parse_mode"))
                out["outbox_texts"].setdefault(chat_of.get(row.conversation_id), Counter())[text] += 1
                out["outbox_send_rows_sent"] += row.status == "sent"
            if row.status != "sent":
                out["outbox_other"][row.status] += 1
        for row in session.scalars(select(UrgentRecord)):
            out["urgent"].setdefault(chat_of.get(row.conversation_id), []).append(
                (row.kinds, cipher.decrypt(row.message_enc)))
        filed: dict[int, list[AssistanceRequest]] = {}
        for request in session.scalars(select(AssistanceRequest).order_by(AssistanceRequest.id)):
            filed.setdefault(chat_of.get(request.conversation_id, -1), []).append(request)
        out["merged_filings"] = len(session.scalars(
            select(StatusChange).where(StatusChange.note.contains("再次提交"))).all())
        for chat, count in sent_per_chat.items():
            processed = sum(1 for direction, _ in out["transcripts"].get(chat, []) if direction == "in")
            out["transcript_extra"] += max(0, processed - count)
            out["transcript_missing"] += max(0, count - processed)
            if processed > count:
                out["processed_twice"].append(chat)
            elif processed < count:
                out["never_processed"].append(chat)
        out["requests_duplicated"] = sum(len(v) - 1 for v in filed.values()) + out["merged_filings"]
        for chat in sent_per_chat:
            expected = expected_request(chat - chat_base)
            if not filed.get(chat):
                out["chats_without_request"] += 1
                out["form_answers_lost"] += len(expected)
                continue
            request = filed[chat][0]
            got = {"child_name": cipher.decrypt(request.child_name_enc), "child_age": request.child_age,
                   "hukou_code": request.hukou_code, "residence_code": request.residence_code,
                   "residence_detail": cipher.decrypt(request.residence_detail_enc),
                   "months_at_residence": request.months_at_residence,
                   "guardian_name": cipher.decrypt(request.guardian_name_enc),
                   "guardian_relation": request.guardian_relation,
                   "guardian_phone": cipher.decrypt(request.guardian_phone_enc),
                   "situations": request.situations, "description": cipher.decrypt(request.description_enc)}
            for name, value in expected.items():
                if got[name] != value:
                    out["form_answers_lost"] += 1
                    out["lost_fields"].append((chat, name, value, got[name]))
    engine.dispose()
    return out


def write_anomalies(path: Path, chats: set[int], records: list, messages: dict, db: dict, started: float,
                    events: list[tuple[float, str]]) -> None:
    """For every chat with something wrong: what it sent (with the webhook's answers), what it
    received, and the transcript, in order — to find the cause."""
    with open(path, "w", encoding="utf-8") as out:
        for at, what in events:
            out.write(f"{at - started:7.2f} {what}\n")
        for chat in sorted(chats):
            out.write(f"== chat {chat}\n")
            for record in sorted((r for r in records if r.chat == chat), key=lambda r: r.step):
                out.write(f"  {record.created - started:7.2f} sent step {record.step} (update {record.update_id}): "
                          f"{record.statuses}\n")
            for at, text in messages.get(chat, []):
                out.write(f"  {at - started:7.2f} bot: {text[:70]!r}\n")
            for direction, text in db["transcripts"].get(chat, []):
                out.write(f"    transcript {direction}: {(text or '')[:70]!r}\n")
            for kinds, text in db["urgent"].get(chat, []):
                out.write(f"    urgent record ({kinds}): {text!r}\n")


def outbox_undelivered(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')")).scalar()
    except Exception:  # noqa: BLE001 - the database is restarting
        return -1
    finally:
        engine.dispose()


def percentile(values: list[float], share: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(len(values) * share) - 1))] if values else float("nan")


def run_telegram(args) -> bool:
    key = Fernet.generate_key().decode()
    pg_port = args.pg_port if port_free(args.pg_port) else free_port()
    log = args.data_dir / "telegram-server.log"
    log.write_text("")
    prepare(args.data_dir)
    pg = OwnPostgres(pg_port).start()
    print(f"[telegram] own PostgreSQL 15 cluster on 127.0.0.1:{pg_port} ({pg.root})", flush=True)
    try:
        with FakeTelegram(token=TOKEN) as fake:
            port = free_port()
            env = server_env(args.data_dir, pg.url, key, TONGBAN_TELEGRAM__TOKEN=TOKEN,
                             TONGBAN_TELEGRAM__BASE_URL=fake.base_url,
                             TONGBAN_TELEGRAM__BASE_FILE_URL=fake.base_file_url,
                             TONGBAN_TELEGRAM__WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/webhook")
            server = start_serve(env, port, args.workers, log)
            try:
                started = time.monotonic()
                while len(listening_pids(worker_pids(server.pid), port)) < args.workers \
                        or len(fake.calls("setWebhook")) < args.workers:
                    if server.poll() is not None or time.monotonic() - started > 900:
                        raise SystemExit(f"server did not start; see {log}")
                    time.sleep(0.5)
                print(f"[telegram] {args.workers} workers serving after {time.monotonic() - started:.0f} s", flush=True)
                load = TelegramLoad(fake, f"http://127.0.0.1:{port}/telegram/webhook", fake.webhook["secret_token"],
                                    args.chats, args.duration, args.reply_timeout)
                killer = Killer(server.pid, port, args.kill_interval, args.allow_outage,
                                lambda: load.in_flight, args.min_in_flight) if args.kill_interval > 0 else None
                restart: dict = {}

                def restart_database() -> None:
                    restart["at"] = time.monotonic() - load_started
                    restart["wall"] = time.time()
                    restart["seconds"] = pg.restart()

                pg_timer = threading.Timer(args.pg_restart_at if args.pg_restart_at is not None
                                           else args.duration / 2, restart_database)
                load_started = time.monotonic()
                if killer:
                    killer.start()
                if args.pg_restart_at is None or args.pg_restart_at >= 0:
                    pg_timer.start()
                elapsed = asyncio.run(load.run())
                if killer:
                    killer.stop()
                pg_timer.cancel()  # the load ended first: no restart
                if restart:
                    pg_timer.join()
                drain_started = time.monotonic()
                while outbox_undelivered(pg.url) != 0 and time.monotonic() - drain_started < 120:
                    time.sleep(1.0)
                left = outbox_undelivered(pg.url)
                time.sleep(1.0)
                serving_at_end = len(listening_pids(worker_pids(server.pid), port))
            finally:
                stop_serve(server)
            db = database_counts(pg.url, key, load.records, _telegram_chat, 800_000)
            replies = count_replies(fake, load.records, db["outbox_texts"])
            webhook_posts = sum(len(r.statuses) for r in load.records)
            refusals = Counter(status for r in load.records for status in r.statuses if status != "200")
            send_calls = sum(1 for c in fake.calls("sendMessage") if c["status"] == 200)
    finally:
        pg.stop()
    server_log = log.read_text(errors="replace")
    restarts = server_log.count("starting another")
    recovered = server_log.count(RECOVERED)
    delays = [r.replied - r.created for r in load.records if r.replied]
    updates = len(load.records)
    kills = killer.kills if killer else []
    print(f"[telegram] {args.chats} chats, {updates} updates over {elapsed:.0f} s; {len(kills)} workers SIGKILLed "
          f"(at {', '.join(f'{t:.0f}' for t, _, _ in kills)} s; webhook POSTs in flight then: "
          f"{', '.join(str(n) for _, _, n in kills)}), {restarts} worker starts by the supervisor, {serving_at_end} "
          "serving at the end; PostgreSQL restarted "
          + (f"at {restart['at']:.0f} s (back after {restart['seconds']:.1f} s)" if restart else "never"))
    print(f"[telegram] webhook POSTs {webhook_posts} (redeliveries {webhook_posts - updates}; not acknowledged: "
          f"{dict(sorted(refusals.items()))})")
    print(f"[telegram] update -> first reply: p50 {statistics.median(delays):.2f} s, p95 {percentile(delays, .95):.2f} s, "
          f"max {max(delays):.1f} s; {sum(1 for d in delays if d > 10)} replies later than 10 s")
    window = replies.get("unrecorded_window", [])
    if window:
        print(f"[telegram] last reply sent -> update acknowledged (the turn waits for the outbox to record its replies; "
              f"a worker killed in between has them in its sent log): p50 {statistics.median(window) * 1000:.0f} ms, "
              f"p95 {percentile(window, .95) * 1000:.0f} ms")
    print(f"[telegram] rows a killed worker had sent and not yet recorded, found in its sent log and recorded as sent "
          f"by the worker taking over (not sent again): {recovered}")
    print(f"[telegram] sendMessage calls {send_calls}, outbox messages sent {db['outbox_send_rows_sent']}, other outbox "
          f"states {dict(db['outbox_other'])} ({left} undelivered when the drain ended); transcript: updates processed "
          f"twice {db['transcript_extra']}, never processed {db['transcript_missing']}; urgent records opened "
          f"{sum(len(v) for v in db['urgent'].values())}; chats that could not go on {len(load.aborted)}")
    zero = {"answered twice": replies["answered_twice"], "lost": replies["lost"],
            "form answers lost": db["form_answers_lost"], "requests duplicated": db["requests_duplicated"]}
    print(f"[telegram] updates sent {updates}, answered {replies['answered']}, answered twice {replies['answered_twice']} "
          f"({replies['second_copies']} second copies), lost {replies['lost']}; form answers lost "
          f"{db['form_answers_lost']} (chats without a request: {db['chats_without_request']}), requests duplicated "
          f"{db['requests_duplicated']}")
    for chat, name, wanted, got in db["lost_fields"][:10]:
        print(f"[telegram]   chat {chat}: {name} {wanted!r} filed as {got!r}")
    suspects = ({chat for chat, _ in replies["lost_updates"] + replies["doubled_updates"]}
                | {chat for chat, *_ in db["lost_fields"]} | set(load.aborted) | set(db["processed_twice"])
                | set(db["never_processed"]) | {c for c in db["urgent"] if c is not None})
    if suspects:
        details = args.data_dir / "telegram-anomalies.txt"
        started = min(r.created for r in load.records)
        events = [(at, f"SIGKILL worker {pid}") for at, (_, pid, _) in zip(killer.wall if killer else [], kills)]
        if restart:
            events.append((restart["wall"], f"PostgreSQL restart (back after {restart['seconds']:.1f} s)"))
        write_anomalies(details, suspects, load.records, replies["messages"], db, started, sorted(events))
        print(f"[telegram] {len(suspects)} chats with something wrong: see {details}")
    return not any(zero.values()) and not load.aborted and db["transcript_extra"] == 0 \
        and db["transcript_missing"] == 0


def _telegram_chat(sender: str) -> int | None:
    return int(sender.removeprefix("telegram:")) if sender.startswith("telegram:") else None


# --------------------------------------------------------------------------------------------
# REST part
# --------------------------------------------------------------------------------------------

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["telegram", "rest", "both"], default="both")
    parser.add_argument("--chats", type=int, default=200, help="Telegram chats, each a 15-update visit")
    parser.add_argument("--duration", type=float, default=60.0,
                        help="seconds the parents' pauses spread each visit over (the load takes longer when "
                             "replies come late)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-interval", type=float, default=5.0,
                        help="at least this many seconds between SIGKILLs of a worker (0: none)")
    parser.add_argument("--min-in-flight", type=int, default=3,
                        help="kill only while at least this many webhook POSTs wait for an answer")
    parser.add_argument("--allow-outage", action="store_true",
                        help="also kill the only worker serving (default: only while both serve)")
    parser.add_argument("--pg-restart-at", type=float, default=None,
                        help="seconds into the load to restart PostgreSQL (default: half the duration; <0: never)")
    parser.add_argument("--pg-port", type=int, default=55432, help="port of our own cluster (a free one if taken)")
    parser.add_argument("--reply-timeout", type=float, default=150.0,
                        help="seconds a parent waits for an answer before counting the update lost")
    parser.add_argument("--rest-chats", type=int, default=40, help="REST clients, each a 15-message visit")
    parser.add_argument("--rest-duration", type=float, default=60.0)
    parser.add_argument("--rest-kills", type=int, default=2, help="SIGKILLs (each followed by a restart)")
    parser.add_argument("--rest-kill-interval", type=float, default=15.0,
                        help="seconds the server serves before it is killed")
    parser.add_argument("--data-dir", type=Path, default=REPO / "var" / "bench" / "crash",
                        help="keeps the trained model and index between runs")
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    ok = True
    if args.part in ("telegram", "both"):
        ok = run_telegram(args) and ok
    if args.part in ("rest", "both"):
        ok = run_rest(args) and ok
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
