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
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchutil import (commit_of, cpu_line, cpu_since, cpu_snapshot, free_port, percentile,  # noqa: E402
                       python_loop_seconds, start_tongban)
from journeys import FormFiller, phrasings  # noqa: E402

import aiohttp  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from tests.fake_telegram import FakeTelegram  # noqa: E402

TOKEN = "123456:BENCH-TOKEN"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SIDE = "telegram"  # this process in the CPU figures: the fake Bot API server and the load generator


def start_server(data_dir: Path, fake: FakeTelegram, port: int, database_url: str, workers: int,
                 tree: Path = REPO) -> subprocess.Popen:
    """``tongban serve`` of the checkout ``tree`` (this one, or a worktree of another commit)."""
    return start_tongban(tree, data_dir, port, workers, {
        "TONGBAN_DATABASE__URL": database_url, "TONGBAN_TELEGRAM__TOKEN": TOKEN,
        "TONGBAN_TELEGRAM__BASE_URL": fake.base_url, "TONGBAN_TELEGRAM__BASE_FILE_URL": fake.base_file_url,
        "TONGBAN_TELEGRAM__WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook"})


class Script:
    """One chat's messages, sent in order, whatever the bot answers (the distinct workload)."""

    def __init__(self, steps: list[tuple[str, str]]):
        self.steps, self.taken = steps, 0

    def next_step(self, fake: FakeTelegram, chat: int) -> tuple[str, str] | None:
        """The next (kind, value) to send, or None when the chat is done."""
        if self.taken >= len(self.steps):
            return None
        self.taken += 1
        return self.steps[self.taken - 1]


class Journey(Script):
    """A parent's whole visit: /start, a question, then an assistance request filed through the
    form (``journeys.FormFiller``), the buttons pressed as people press them (about 15 updates)."""

    def __init__(self, n: int, question: str):
        super().__init__([("command", "/start"), ("text", question)])
        self.form = FormFiller(n, f"chat {700_000 + n}")
        self.seen = 0  # replies read so far

    def next_step(self, fake: FakeTelegram, chat: int) -> tuple[str, str] | None:
        replies = fake.sent(chat)[self.seen:]  # what the bot said to the last message
        self.seen += len(replies)
        step = super().next_step(fake, chat)
        if step is not None or self.form.submitted:
            return step
        said = "\n".join(reply["text"] for reply in replies)
        buttons = {button["text"] for reply in replies
                   for row in (reply.get("reply_markup") or {}).get("inline_keyboard", []) for button in row}
        step = self.form.step(said, buttons)
        if step is None:
            raise SystemExit(f"chat {chat}: the form asked what the journey cannot answer: {said[:160]!r}")
        self.taken += 1
        return step


def _button(fake: FakeTelegram, chat: int, title: str) -> tuple[str, int]:
    for message in reversed(fake.sent(chat)):
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if button["text"] == title:
                    return button["callback_data"], message["message_id"]
    raise SystemExit(f"chat {chat}: no button {title!r} (last reply: {fake.sent(chat)[-1]['text'][:60]!r})")


def _update(fake: FakeTelegram, chat: int, kind: str, value: str) -> dict:
    if kind == "press":
        data, message_id = _button(fake, chat, value)
        return fake.callback_update(chat, data=data, message_id=message_id)
    if kind == "command":
        return fake.command_update(chat, value)
    return fake.text_update(chat, value)


async def load(url: str, secret: str, fake: FakeTelegram, scripts: list[Script], redeliver: float,
               connections: int = 40):
    """Telegram's side: a parent's next message arrives when the previous one was answered; ready
    updates wait in one FIFO queue for one of ``connections`` webhook connections (setWebhook's
    max_connections, 40 by default). Returns (processing ms, end-to-end ms, redelivered, seconds)."""
    processing: list[float] = []
    end_to_end: list[float] = []
    redelivered: list[int] = []
    rng = random.Random(7)
    queue: asyncio.Queue = asyncio.Queue()
    active = len(scripts)
    finished = asyncio.Event()
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret}

    async def worker(client: aiohttp.ClientSession) -> None:
        nonlocal active
        while True:
            index, arrived = await queue.get()
            chat = 700_000 + index
            step = scripts[index].next_step(fake, chat)
            if step is None:
                active -= 1
                if active == 0:
                    finished.set()
                continue
            kind, value = step
            update = _update(fake, chat, kind, value)
            started = time.perf_counter()
            async with client.post(url, json=update, headers=headers) as response:
                status = response.status
                await response.read()
            done = time.perf_counter()
            if status != 200:
                raise SystemExit(f"webhook answered {status} for chat {chat}")
            processing.append((done - started) * 1000)
            end_to_end.append((done - arrived) * 1000)
            if rng.random() < redeliver:  # Telegram did not see our answer and sends it again
                async with client.post(url, json=update, headers=headers) as again:
                    await again.read()
                    if again.status != 200:
                        raise SystemExit(f"redelivery answered {again.status}")
                redelivered.append(chat)
            queue.put_nowait((index, time.perf_counter()))

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as client:
        started = time.perf_counter()
        for index in range(len(scripts)):
            queue.put_nowait((index, started))
        workers = [asyncio.create_task(worker(client)) for _ in range(connections)]
        await finished.wait()
        elapsed = time.perf_counter() - started
        for task in workers:
            task.cancel()
    return processing, end_to_end, redelivered, elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--workload", choices=["journeys", "distinct"], default="journeys",
                        help="journeys: each chat asks a question and files a request (about 15 updates, buttons "
                             "included); distinct: --rounds free-text messages per chat, every one different")
    parser.add_argument("--rounds", type=int, default=5, help="messages per chat (distinct workload)")
    parser.add_argument("--redeliver", type=float, default=0.05, help="share of updates posted twice")
    parser.add_argument("--connections", type=int, default=40,
                        help="webhook connections Telegram keeps open (40 is setWebhook's default; Telegram "
                             "uses up to the max_connections the bot registered)")
    parser.add_argument("--workers", type=int, default=2, help="tongban serve worker processes")
    parser.add_argument("--pg", action="store_true", help="PostgreSQL (--pg-url, emptied) instead of SQLite")
    parser.add_argument("--pg-url", default=PG_URL, help="the PostgreSQL database to empty and use")
    parser.add_argument("--tree", type=Path, default=REPO,
                        help="the checkout whose server is measured (e.g. a git worktree of an older commit)")
    parser.add_argument("--data-dir", type=Path, default=REPO / "var" / "bench" / "telegram",
                        help="keeps the trained model and index between runs")
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    db_file = args.data_dir / "tongban.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    if args.pg:
        from ledger.db import drop_everything

        drop_everything(args.pg_url)
    database_url = args.pg_url if args.pg else f"sqlite:///{db_file.resolve()}"
    port = free_port()
    calibration = python_loop_seconds()
    with FakeTelegram(token=TOKEN) as fake:
        server = start_server(args.data_dir, fake, port, database_url, args.workers, args.tree.resolve())
        try:
            deadline = time.monotonic() + 600
            # every worker registers the webhook once it has started (trained, loaded): measure
            # all of them serving, not one serving while another still trains its model
            while len(fake.calls("setWebhook")) < args.workers:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"server did not start; see {args.data_dir / 'server.log'}")
                time.sleep(0.5)
            time.sleep(1.0)  # the last one's socket starts listening just after
            secret = fake.webhook["secret_token"]
            url = f"http://127.0.0.1:{port}/telegram/webhook"
            # warm-up: one chat, so lazy loading is not measured
            pool = phrasings()
            if args.workload == "journeys":
                scripts = [Journey(c, pool[c % len(pool)]) for c in range(args.chats)]
            else:
                scripts = [Script([("text", pool[(c * args.rounds + n) % len(pool)]) for n in range(args.rounds)])
                           for c in range(args.chats)]
            asyncio.run(load(url, secret, fake, [Script([("text", "你好"), ("text", "谢谢")])], 0.0, connections=1))
            warm_sent = len(fake.sent())
            connections = min(args.connections, int(fake.webhook.get("max_connections") or 40))
            cpu_before = cpu_snapshot(server.pid, SIDE)
            latencies, end_to_end, redelivered, elapsed = asyncio.run(
                load(url, secret, fake, scripts, args.redeliver, connections))
            cpu = cpu_since(cpu_before, server.pid, SIDE)
            time.sleep(1.0)
            sent = fake.sent()[warm_sent:]
            fake_edits = len(fake.edits())
        finally:
            server.terminate()
            server.wait(30)
    updates = sum(script.taken for script in scripts)
    per_chat: dict[int, int] = {}
    for message in sent:
        per_chat[int(message["chat_id"])] = per_chat.get(int(message["chat_id"]), 0) + 1
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT status, count(*) FROM outbox WHERE kind='reply' GROUP BY status")).all())
        filed = conn.execute(text("SELECT count(*) FROM assistance_requests")).scalar()
    engine.dispose()
    warm_rows = warm_sent  # the warm-up's replies are rows too
    latencies.sort()
    end_to_end.sort()
    p50 = statistics.median(latencies)
    p95 = percentile(latencies, 0.95)
    e2e50, e2e95 = statistics.median(end_to_end), percentile(end_to_end, 0.95)
    missing = [c for c, script in enumerate(scripts, 700_000) if per_chat.get(c, 0) < script.taken]
    print(f"code: {args.tree.resolve()} at {commit_of(args.tree)}")
    print(f"backend: {'PostgreSQL' if args.pg else 'SQLite'}, {args.workers} worker process(es); workload {args.workload}: {args.chats} chats, "
          f"{updates} updates (+{len(redelivered)} redeliveries); {connections} webhook connections")
    print(f"throughput: {updates / elapsed:.1f} updates/s ({elapsed:.1f} s)")
    print(f"webhook request -> reply delivered: p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {latencies[-1]:.0f} ms")
    print(f"update ready at Telegram -> reply delivered (incl. waiting for a free connection): "
          f"p50 {e2e50:.0f} ms, p95 {e2e95:.0f} ms")
    print(f"sendMessage + edit calls: {len(sent)} + {fake_edits}; outbox rows sent: {rows.get('sent', 0) - warm_rows}; "
          f"other outbox states: { {k: v for k, v in rows.items() if k != 'sent'} }")
    print(cpu_line(cpu, updates, "update", "updates/s", SIDE, "Telegram side"))
    print(f"machine speed now: a pure-Python loop of 10 M additions takes {calibration:.2f} s")
    print(f"chats with fewer replies than updates: {len(missing)}; requests filed: {filed}")
    ok = not missing and len(sent) + fake_edits == rows.get("sent", 0) - warm_rows and set(rows) == {"sent"}
    if args.workload == "journeys":
        ok = ok and filed == args.chats
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
