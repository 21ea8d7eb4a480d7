"""Telegram webhook throughput: updates handled per second with 200 concurrent chats.

Starts the fake Bot API server (tests/fake_telegram.py) here and ``tongban serve`` in a
separate process in webhook mode pointed at it (``TONGBAN_TELEGRAM__BASE_URL``), then posts
webhook updates as Telegram would — each chat sends its next message when the previous one
was acknowledged — and a share of them a second time (Telegram redelivers). Our webhook
answers after the turn has committed and its replies were sent, so the time of one POST is
the time from update to reply delivered.

Checks afterwards: every update got at least one reply; the number of sendMessage calls the
fake received equals the number of reply rows the outbox marked sent (none twice); nothing is
left pending; redeliveries added no message.

    .venv/bin/python bench/telegram_throughput.py [--chats 200] [--rounds 5] [--pg]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from tests.fake_telegram import FakeTelegram  # noqa: E402

TOKEN = "123456:BENCH-TOKEN"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MESSAGES = ["你好", "孩子在这边上小学要带什么材料", "医保怎么办理", "孩子打疫苗去哪里", "谢谢",
            "我们在深圳宝安", "孩子算不算流动儿童", "有没有托育服务", "查一下进度", "再见"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(data_dir: Path, fake: FakeTelegram, port: int, database_url: str) -> subprocess.Popen:
    env = {**os.environ, "TONGBAN_DATA_DIR": str(data_dir), "TONGBAN_LOG_LEVEL": "WARNING",
           "TONGBAN_KNOWLEDGE__WATCH_INTERVAL": "0", "TONGBAN_DATABASE__URL": database_url,
           "TONGBAN_TELEGRAM__TOKEN": TOKEN, "TONGBAN_TELEGRAM__BASE_URL": fake.base_url,
           "TONGBAN_TELEGRAM__BASE_FILE_URL": fake.base_file_url,
           "TONGBAN_TELEGRAM__WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook"}
    return subprocess.Popen([str(REPO / ".venv" / "bin" / "tongban"), "serve", "--port", str(port)], env=env,
                            cwd=str(REPO), stdout=subprocess.DEVNULL, stderr=open(data_dir / "server.log", "w"))


async def chat_session(client: httpx.AsyncClient, url: str, secret: str, fake: FakeTelegram, chat: int,
                       rounds: int, redeliver: float, latencies: list[float], redelivered: list[int],
                       rng: random.Random) -> None:
    for n in range(rounds):
        update = fake.text_update(chat, MESSAGES[(chat + n) % len(MESSAGES)])
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        started = time.perf_counter()
        response = await client.post(url, json=update, headers=headers)
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"webhook answered {response.status_code} for chat {chat}")
        if rng.random() < redeliver:
            again = await client.post(url, json=update, headers=headers)
            if again.status_code != 200:
                raise SystemExit(f"redelivery answered {again.status_code}")
            redelivered.append(chat)


async def load(url: str, secret: str, fake: FakeTelegram, chats: int, rounds: int, redeliver: float):
    latencies: list[float] = []
    redelivered: list[int] = []
    rng = random.Random(7)
    # Telegram opens at most setWebhook's max_connections (40 by default) to a webhook at once.
    limits = httpx.Limits(max_connections=40, max_keepalive_connections=40)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(chat_session(client, url, secret, fake, 700_000 + c, rounds, redeliver, latencies,
                                            redelivered, rng) for c in range(chats)))
        elapsed = time.perf_counter() - started
    return latencies, redelivered, elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5, help="messages per chat")
    parser.add_argument("--redeliver", type=float, default=0.05, help="share of updates posted twice")
    parser.add_argument("--pg", action="store_true", help="PostgreSQL (127.0.0.1:5432/test, emptied) instead of SQLite")
    parser.add_argument("--data-dir", type=Path, default=REPO / "var" / "bench" / "telegram",
                        help="keeps the trained model and index between runs")
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    db_file = args.data_dir / "tongban.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    if args.pg:
        from ledger.db import drop_everything

        drop_everything(PG_URL)
    database_url = PG_URL if args.pg else f"sqlite:///{db_file.resolve()}"
    port = free_port()
    with FakeTelegram(token=TOKEN) as fake:
        server = start_server(args.data_dir, fake, port, database_url)
        try:
            deadline = time.monotonic() + 600
            while fake.webhook is None:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"server did not start; see {args.data_dir / 'server.log'}")
                time.sleep(0.5)
            secret = fake.webhook["secret_token"]
            url = f"http://127.0.0.1:{port}/telegram/webhook"
            # warm-up: one chat, so lazy loading is not measured
            asyncio.run(load(url, secret, fake, 1, 2, 0.0))
            warm_sent = len(fake.sent())
            latencies, redelivered, elapsed = asyncio.run(
                load(url, secret, fake, args.chats, args.rounds, args.redeliver))
            time.sleep(1.0)
            sent = fake.sent()[warm_sent:]
        finally:
            server.terminate()
            server.wait(30)
    updates = args.chats * args.rounds
    per_chat: dict[int, int] = {}
    for message in sent:
        per_chat[int(message["chat_id"])] = per_chat.get(int(message["chat_id"]), 0) + 1
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT status, count(*) FROM outbox WHERE kind='reply' GROUP BY status")).all())
    engine.dispose()
    warm_rows = warm_sent  # the warm-up's replies are rows too
    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    missing = [c for c in range(700_000, 700_000 + args.chats) if per_chat.get(c, 0) < args.rounds]
    print(f"backend: {'PostgreSQL' if args.pg else 'SQLite'}; chats {args.chats} x {args.rounds} = {updates} updates "
          f"(+{len(redelivered)} redeliveries)")
    print(f"throughput: {updates / elapsed:.1f} updates/s ({elapsed:.1f} s)")
    print(f"update -> reply delivered: p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {latencies[-1]:.0f} ms")
    print(f"sendMessage calls: {len(sent)}; outbox reply rows sent: {rows.get('sent', 0) - warm_rows}; "
          f"other outbox states: { {k: v for k, v in rows.items() if k != 'sent'} }")
    print(f"chats with fewer replies than messages: {len(missing)}")
    ok = not missing and len(sent) == rows.get("sent", 0) - warm_rows and set(rows) == {"sent"}
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
