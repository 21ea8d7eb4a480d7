"""The Telegram part of bench/crash_recovery.py: 200 chats' visits through the webhook of ``tongban
serve --workers 2`` on our own PostgreSQL, workers SIGKILLed and the database restarted under load."""

from __future__ import annotations

import asyncio
import random
import statistics
import threading
import time
from collections import Counter

import aiohttp
from cryptography.fernet import Fernet

from benchutil import free_port
from crash_checks import (UpdateRecord, database_counts, journey, outbox_undelivered, percentile,
                          post_counted, wait_until, write_anomalies)
from processes import (Killer, OwnPostgres, listening_pids, port_free, prepare, server_env, start_serve,
                       stop_serve, worker_pids)

from ledger.outbox import RECOVERED
from tests.fake_telegram import FakeTelegram

TOKEN = "123456:CRASH-BENCH"
TELEGRAM_CONNECTIONS = 40


def _button(fake: FakeTelegram, chat: int, title: str) -> tuple[str, int] | None:
    for message in reversed(fake.sent(chat)):
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if button["text"] == title:
                    return button["callback_data"], message["message_id"]
    return None


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
