"""What a crash-recovery visit is (a parent's 15 messages: a question, then the assistance form)
and the counts after the load: the database's requests, transcripts and outbox against what the
parents sent, and the timeline of every chat with something wrong. (bench/crash_recovery.py)"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

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


@dataclass
class UpdateRecord:
    chat: int
    step: int
    update_id: int
    created: float  # wall clock, when the parent sent it (before the first POST)
    statuses: list[str] = field(default_factory=list)
    acked: float | None = None
    replied: float | None = None  # wall clock of the first bot message after it (None: none came)


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
