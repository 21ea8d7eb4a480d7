"""The staff queue page on 100,000 requests in PostgreSQL (target p95 ≤ 200 ms), and the ledger export.

1. Drops and recreates the schema on a scratch database (default ``bench_staff``; never ``test``).
2. Seeds requests the way ``ledger.requests.file_request`` builds them — personal fields encrypted
   with the real ``DataCipher``, keyed hashes, ``LD-YYYY-NNNNNN`` references, a status history and
   an audit event each — but with bulk Core inserts: a mix of statuses, situations and channels,
   10 districts × 4 streets × 5 communities (committee referrals give community area codes),
   created over the last 12 months; ``--entries`` of them accepted into the ledger (some since
   closed) with visits; some hundreds of urgent records and handoff requests (some without a place).
3. Creates an admin (national), a civil-affairs user (宝安区 440306) and a committee user (one
   community) with ``ledger.accounts.create_user``, starts a real server (``tongban serve``, one
   uvicorn worker) on this database, signs in through the login form and times GETs of the queue
   page (``/staff/``) with httpx, HTTP included: first page, filters by status / situation / area /
   date, search by reference, deeper pages; ``--samples`` timed requests per scenario after a
   warm-up. Also a few samples of the ledger list, visit reminders and the dashboard.
4. Times the export (CSV and Excel, closed records included) through ``POST /staff/export``, for
   the admin (the whole ledger) and the district user (its share), with sizes and row counts.
5. Runs EXPLAIN (ANALYZE, BUFFERS) on the SQL the queue page issues (captured from the real
   ledger functions) and shows which indexes the plans use — the custom plan, and for the count
   and page queries also the generic plan PostgreSQL may switch to for psycopg's prepared statements.
6. Measures the queue (and the other list pages) again with the fixes the report proposes, applied
   to the database for the trial and undone afterwards: (A) expression statistics on the situation
   list plus custom plans only (``PGOPTIONS=-c plan_cache_mode=force_custom_plan`` for the server);
   (B) A plus a covering index for the counts. ``--skip-fix-trial`` leaves this out.
7. Writes bench/results/staff_queue.md (machine, load averages, row counts, all tables, plans).

    .venv/bin/python bench/staff_queue.py [--requests 100000] [--entries 10000]
        [--url postgresql+psycopg://postgres@127.0.0.1:5432/bench_staff] [--samples 200]

``--skip-seed`` measures the database left by an earlier run (same data dir, so the same key).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchutil import free_port, memory_kb  # noqa: E402
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import httpx  # noqa: E402
from sqlalchemy import create_engine, event, func, insert, select, text  # noqa: E402

import ledger.committees  # noqa: E402
from ledger import cases, clock  # noqa: E402
from ledger.accounts import create_user, find_user  # noqa: E402
from ledger.areas import area_clause, area_prefix  # noqa: E402
from ledger.casework import add_months  # noqa: E402
from ledger.crypto import DataCipher, load_or_create_key  # noqa: E402
from ledger.db import Database, drop_everything  # noqa: E402
from ledger.models import (AssistanceRequest, AuditEvent, Committee, Conversation, HandoffRequest,  # noqa: E402
                           LedgerEntry, StatusChange, UrgentRecord, Visit)
from ledger.queue import QUEUE_PAGE_SIZE, QueueFilter, normalise_reference, queue_page  # noqa: E402
from ledger.requests import CONSENT_NOTICE_VERSION  # noqa: E402
from nlu.areas import GazetteerAreas  # noqa: E402
from nlu.geo import gazetteer  # noqa: E402
from tongban.settings import Settings  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_staff"
PASSWORD = "Queue-Bench-2026!"
NOW = dt.datetime.now(dt.timezone.utc)
TODAY = clock.beijing_today(NOW)

# 10 districts where migrant families live (weights: share of the requests).
DISTRICTS = [("440306", 20), ("440303", 12), ("440305", 10), ("440106", 10), ("420111", 10), ("310115", 8),
             ("110108", 8), ("510107", 8), ("330106", 7), ("320106", 7)]
STREETS_PER_DISTRICT = 4
COMMUNITIES_PER_STREET = 5
STREET_NAMES = ["新安街道", "西乡街道", "福永街道", "沙井街道"]
COMMUNITY_NAMES = ["流塘社区", "河东社区", "龙珠社区", "桃源社区", "新城社区"]
HUKOU = ["411625", "511321", "430524", "500236", "360781", "341221", "522324", "412726", "421182", "431081",
         "450881", "510921", "522127", "360730", "341323"]
SITUATIONS = [("family_hardship", 45), ("guardianship_gap", 22), ("psych_behavior", 14), ("self_request", 10),
              ("disability", 7), ("vagrancy", 2)]
RELATIONS = [("妈妈", 45), ("爸爸", 30), ("奶奶", 10), ("外婆", 6), ("爷爷", 5), ("姑姑", 2), ("舅舅", 2)]
CHANNELS = [("telegram", 45), ("rest", 45), ("web", 10)]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "子涵梓轩浩宇欣怡雨桐一诺思远俊杰佳琪晨曦明轩航诗嘉妍萱然天佑若辰博文静美玲芳丽军伟强磊洋勇艳娟霞秀英华"
DESCRIPTIONS = [
    "孩子爸爸受伤干不了活，下学期学费交不上，想问问有没有补助。",
    "我们在这边打工，孩子一直跟着我们，户口不在这里，上学的事不知道怎么办。",
    "孩子有听力残疾，需要康复训练，费用太高负担不起。",
    "爸爸妈妈都在外地打工，孩子跟奶奶住，奶奶年纪大了身体不好，照顾不过来。",
    "孩子最近不愿意说话，在学校也不合群，老师让我们找专业的人看看。",
    "家里就我一个人带孩子，没有稳定工作，房租都快交不上了。",
    "孩子之前离家出走过两次，现在找回来了，不知道该怎么管。",
    "想申请困难儿童的生活补助，不知道需要什么材料。",
]
STAFF_NAMES = ["baoan_mz", "luohu_mz", "nanshan_mz", "tianhe_mz", "hongshan_mz", "pudong_mz", "haidian_mz",
               "wuhou_mz", "xihu_mz", "gulou_mz"]
VISITORS = ["张主任", "李主任", "王督导", "刘社工", "陈主任", "杨社工"]
FINDINGS = ["家中整洁，孩子精神状态良好，已按时上学。", "监护人在外务工，孩子由奶奶照顾，生活基本有保障。",
            "孩子近期情绪低落，已联系学校心理老师跟进。", "家庭经济困难，已协助申请临时救助。",
            "已协调社区为孩子安排课后托管。"]
URGENT_KINDS = ["abuse", "sexual_harm", "self_harm", "missing", "neglect", "danger"]
ROLE_LABELS = {"admin": "admin (national)", "civil_affairs": "civil affairs (440306)",
               "committee": "committee (community)"}


def weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs)
    return rng.choices(values, weights)[0]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


# ------------------------------------------------------------------ the places

@dataclass
class Place:
    district: str
    district_name: str
    streets: list[str] = field(default_factory=list)
    communities: list[tuple[str, str]] = field(default_factory=list)  # (code, locality name)


def places() -> list[Place]:
    geo = gazetteer()
    result = []
    for code, _weight in DISTRICTS:
        place = Place(code, geo.full_name(code))
        for s in range(1, STREETS_PER_DISTRICT + 1):
            street = f"{code}{s:03d}"
            place.streets.append(street)
            for c in range(1, COMMUNITIES_PER_STREET + 1):
                place.communities.append((f"{street}{c:03d}", f"{place.district_name}{STREET_NAMES[s - 1]}"
                                                              f"{COMMUNITY_NAMES[c - 1]}"))
        result.append(place)
    return result


# ------------------------------------------------------------------ seeding

def insert_batches(conn, table, rows: list[dict], size: int = 2000) -> None:
    for start in range(0, len(rows), size):
        conn.execute(insert(table), rows[start:start + size])


def created_at_for(rng: random.Random) -> dt.datetime:
    # over the last 12 months, somewhat more in recent months
    days = 365 * rng.random() ** 1.3
    return NOW - dt.timedelta(days=days, seconds=rng.randint(0, 86399))


def plan_statuses(rng: random.Random, created: list[dt.datetime], entries: int) -> tuple[list[str], dict[int, str]]:
    """(request status per index, {index: entry status} for the ledger)."""
    n = len(created)
    eligible = [i for i in range(n) if created[i] < NOW - dt.timedelta(days=20)]
    chosen = rng.sample(eligible, min(entries, len(eligible)))
    ledger = {i: ("closed" if k % 20 == 0 else "active") for k, i in enumerate(chosen)}
    statuses = []
    for i in range(n):
        if i in ledger:
            statuses.append("accepted" if ledger[i] == "active" else "closed")
            continue
        age = (NOW - created[i]).days
        if age < 30:
            pairs = [("submitted", 55), ("under_review", 30), ("referred", 5), ("not_eligible", 6), ("closed", 4)]
        elif age < 90:
            pairs = [("submitted", 15), ("under_review", 20), ("referred", 20), ("not_eligible", 25), ("closed", 20)]
        else:
            pairs = [("submitted", 4), ("under_review", 6), ("referred", 25), ("not_eligible", 35), ("closed", 30)]
        statuses.append(weighted(rng, pairs))
    return statuses, ledger


def seed(url: str, cipher: DataCipher, n_requests: int, n_entries: int, n_urgent: int, n_handoffs: int,
         batch: int = 5000) -> dict:
    rng = random.Random(2026)
    engine = create_engine(url)
    timings = {}
    started = time.perf_counter()
    all_places = places()
    district_weights = [w for _c, w in DISTRICTS]
    geo = gazetteer()
    hukou = [(code, geo.full_name(code)) for code in HUKOU if geo.get(code)]

    # committees: one per community
    committees, by_community = [], {}
    used_codes = set()
    for place in all_places:
        for community, name in place.communities:
            while True:
                code = "".join(rng.choice(ledger.committees._CODE_ALPHABET) for _ in range(8))
                if code not in used_codes:
                    used_codes.add(code)
                    break
            committees.append({"id": len(committees) + 1, "code": code, "name": f"{name[-4:]}居委会",
                               "locality_code": community, "locality_name": name, "active": True,
                               "created_at": NOW - dt.timedelta(days=400), "created_by": "bench"})
            by_community[community] = code
    with engine.begin() as conn:
        insert_batches(conn, Committee.__table__, committees)

    created = [created_at_for(rng) for _ in range(n_requests)]
    created.sort()  # ids grow with time, as they do when parents file one after another
    statuses, ledger = plan_statuses(rng, created, n_entries)
    situation_codes = {}
    t0 = time.perf_counter()
    conv_id = 0
    status_rows_total = 0
    for start in range(0, n_requests, batch):
        conversations, requests_, history, audits = [], [], [], []
        for i in range(start, min(start + batch, n_requests)):
            rid = i + 1
            at = created[i]
            place = rng.choices(all_places, district_weights)[0]
            channel = weighted(rng, CHANNELS)
            referral = None
            area = place.district
            if rng.random() < 0.35:  # referred by a community committee (its QR poster)
                community, _name = rng.choice(place.communities)
                referral = by_community[community]
                area = community
            conv_id += 1
            sender = f"tg-{700000000 + rid}" if channel == "telegram" else \
                f"{channel}-{uuid.UUID(int=rng.getrandbits(128))}"
            conversations.append({"id": conv_id, "sender_hash": cipher.lookup_hash(f"sender:{sender}"),
                                  "sender_enc": cipher.encrypt(sender), "channel": channel,
                                  "state_enc": cipher.encrypt("{}"), "version": 14, "created_at": at,
                                  "updated_at": at})
            child = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
            guardian = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
            phone = f"1{rng.choice('3578')}{(rid * 7919 + 12345) % 10 ** 9:09d}"
            k = rng.choices((1, 2, 3), (60, 30, 10))[0]
            situations = []
            while len(situations) < k:
                code = weighted(rng, SITUATIONS)
                if code not in situations:
                    situations.append(code)
            situations = [c for c, _w in SITUATIONS if c in situations]
            situation_codes[rid] = situations
            street_index = int(area[6:9]) - 1 if len(area) > 6 else rng.randrange(STREETS_PER_DISTRICT)
            detail = f"{STREET_NAMES[street_index]}{rng.choice('东西南北中')}环路 {rng.randint(1, 300)} 号 " \
                     f"{rng.randint(1, 30)} 栋 {rng.randint(101, 2808)} 室"
            hk_code, hk_name = rng.choice(hukou)
            status = statuses[i]
            requests_.append({
                "id": rid, "reference": f"LD-{at:%Y}-{rid:06d}", "conversation_id": conv_id, "channel": channel,
                "referral": referral, "child_name_enc": cipher.encrypt(child),
                "child_key_hash": cipher.lookup_hash(f"child:{child}|{phone}"),
                "child_age": rng.choices(range(18), [3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 8, 8, 7, 7, 6, 5, 4, 3])[0],
                "hukou_code": hk_code, "hukou_name": hk_name, "residence_code": place.district,
                "residence_name": place.district_name, "area_code": area,
                "residence_detail_enc": cipher.encrypt(detail),
                "months_at_residence": float(rng.choice((3, 6, 8, 12, 18, 24, 36, 48, 60, 96))),
                "guardian_name_enc": cipher.encrypt(guardian), "guardian_relation": weighted(rng, RELATIONS),
                "guardian_phone_enc": cipher.encrypt(phone),
                "guardian_phone_hash": cipher.lookup_hash(f"phone:{phone}"),
                "situations": ",".join(situations), "description_enc": cipher.encrypt(rng.choice(DESCRIPTIONS)),
                "status": status, "urgency": "urgent" if rng.random() < 0.01 else "normal",
                "consent_notice_version": CONSENT_NOTICE_VERSION,
                "consent_at": at - dt.timedelta(minutes=rng.randint(2, 15)), "duplicate_of_id": None,
                "deletion_requested_at": at + dt.timedelta(days=3) if rng.random() < 0.003 else None,
                "created_at": at,
            })
            history.append({"request_id": rid, "status": "submitted", "note": "家长通过对话提交",
                            "changed_by": "parent", "changed_at": at})
            staff = STAFF_NAMES[[c for c, _w in DISTRICTS].index(place.district)]
            steps = {"submitted": [], "under_review": ["under_review"], "referred": ["under_review", "referred"],
                     "not_eligible": ["under_review", "not_eligible"], "accepted": ["under_review", "accepted"],
                     "closed": ["under_review", "accepted", "closed"] if i in ledger else ["under_review", "closed"]}
            for n, step in enumerate(steps[status], start=1):
                history.append({"request_id": rid, "status": step, "note": "已电话联系家长核实情况",
                                "changed_by": staff, "changed_at": at + dt.timedelta(days=n * 2)})
            audits.append({"actor": f"parent:{conv_id}", "action": "request.create",
                           "target": f"LD-{at:%Y}-{rid:06d}", "detail": "", "at": at})
        with engine.begin() as conn:
            insert_batches(conn, Conversation.__table__, conversations)
            insert_batches(conn, AssistanceRequest.__table__, requests_)
            insert_batches(conn, StatusChange.__table__, history)
            insert_batches(conn, AuditEvent.__table__, audits)
        status_rows_total += len(history)
        print(f"  requests {min(start + batch, n_requests):>7}/{n_requests} ({time.perf_counter() - t0:.0f} s)",
              flush=True)
    timings["requests"] = time.perf_counter() - t0

    # the ledger: entries, visits
    t0 = time.perf_counter()
    with engine.connect() as conn:
        areas = dict(conn.execute(select(AssistanceRequest.id, AssistanceRequest.area_code)
                                  .where(AssistanceRequest.id.in_([i + 1 for i in ledger]))).all())
    entries, visits = [], []
    for entry_id, (i, entry_status) in enumerate(sorted(ledger.items()), start=1):
        rid = i + 1
        accepted_at = min(created[i] + dt.timedelta(days=rng.randint(3, 15), hours=rng.randint(0, 8)),
                          NOW - dt.timedelta(days=1))
        accepted_on = accepted_at.astimezone(clock.BEIJING).date()
        next_visit = accepted_on + dt.timedelta(days=rng.randint(5, 14))
        last = accepted_on
        for _ in range(rng.choices((0, 1, 2, 3, 4), (25, 30, 25, 15, 5))[0]):
            visited = next_visit + dt.timedelta(days=rng.randint(-3, 10))
            if visited > TODAY - dt.timedelta(days=1) or visited <= last:
                break
            next_visit = visited + dt.timedelta(days=rng.choice((30, 45, 60, 90)))
            visits.append({"entry_id": entry_id, "visited_on": visited, "visitor": rng.choice(VISITORS),
                           "findings_enc": cipher.encrypt(rng.choice(FINDINGS)), "next_visit_on": next_visit,
                           "created_at": dt.datetime.combine(visited, dt.time(10), clock.BEIJING)})
            last = visited
        review = add_months(accepted_on, 6)
        while review < TODAY - dt.timedelta(days=rng.randint(0, 20)):  # most reviews done on time, some overdue
            review = add_months(review, 6)
        entries.append({"id": entry_id, "request_id": rid, "locality": areas[rid], "accepted_at": accepted_at,
                        "next_visit_on": next_visit, "next_review_on": review, "status": entry_status})
    with engine.begin() as conn:
        insert_batches(conn, LedgerEntry.__table__, entries)
        insert_batches(conn, Visit.__table__, visits)
    timings["ledger"] = time.perf_counter() - t0

    # urgent records and handoff requests, each from a conversation of its own
    t0 = time.perf_counter()
    extra_convs, urgent, handoffs = [], [], []
    district_codes = [c for c, _w in DISTRICTS]
    for n in range(n_urgent + n_handoffs):
        conv_id += 1
        sender = f"tg-{800000000 + n}"
        at = NOW - dt.timedelta(days=60 * rng.random() ** 2, seconds=rng.randint(0, 3600))
        extra_convs.append({"id": conv_id, "sender_hash": cipher.lookup_hash(f"sender:{sender}"),
                            "sender_enc": cipher.encrypt(sender), "channel": "telegram",
                            "state_enc": cipher.encrypt("{}"), "version": 3, "created_at": at, "updated_at": at})
        locality = rng.choices(district_codes, district_weights)[0] if rng.random() < 0.8 else None
        if n < n_urgent:
            kinds = rng.sample(URGENT_KINDS, rng.choice((1, 1, 2)))
            urgent.append({"conversation_id": conv_id, "channel": "telegram", "locality": locality,
                           "kinds": ",".join(kinds), "detected_by": rng.choice(("patterns", "classifier", "both")),
                           "message_enc": cipher.encrypt("孩子被打了，身上都是伤，我不知道该怎么办"),
                           "status": "new" if rng.random() < 0.6 else "handled", "created_at": at})
        else:
            is_open = rng.random() < 0.5
            handoffs.append({"conversation_id": conv_id, "channel": "telegram", "locality": locality,
                             "reason_enc": cipher.encrypt("想找工作人员问问孩子上学的事"),
                             "status": "open" if is_open else "handled", "created_at": at,
                             "handled_at": None if is_open else at + dt.timedelta(hours=5),
                             "handled_by": None if is_open else "baoan_mz"})
    with engine.begin() as conn:
        insert_batches(conn, Conversation.__table__, extra_convs)
        insert_batches(conn, UrgentRecord.__table__, urgent)
        insert_batches(conn, HandoffRequest.__table__, handoffs)
        for table in ("committees", "conversations", "assistance_requests", "ledger_entries"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    timings["urgent_handoffs"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    timings["vacuum_analyze"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - started
    engine.dispose()
    return {"timings": timings, "visits": len(visits), "status_rows": status_rows_total,
            "urgent": len(urgent), "handoffs": len(handoffs), "committees": len(committees)}


# ------------------------------------------------------------------ the server

def memory_mb(pid: int) -> tuple[float, float]:
    rss, peak = memory_kb(pid)
    return rss / 1024, peak / 1024


def start_server(url: str, data_dir: Path, key: bytes, extra_env: dict | None = None) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_") and k != "PGOPTIONS"}
    env.update(extra_env or {})
    env.update({"TONGBAN_DATA_DIR": str(data_dir), "TONGBAN_DATABASE__URL": url,
                "TONGBAN_SECURITY__DATA_KEY": key.decode("ascii"), "TONGBAN_KNOWLEDGE__WATCH_INTERVAL": "0",
                "TONGBAN_LOG_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    port = free_port()
    log = open(data_dir / "server.log", "ab")
    server = subprocess.Popen([sys.executable, "-m", "tongban.cli", "serve", "--port", str(port), "--workers", "1"],
                              env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 900
    with httpx.Client(timeout=10) as client:
        while True:
            try:
                if client.get(f"{base}/healthz").status_code == 200:
                    return server, base
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(f"server did not start; see {data_dir / 'server.log'}")
            time.sleep(0.5)


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TOTAL = re.compile(r"共 (\d+) 份申请")


def login(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120)
    page = client.get("/staff/login", params={"next": "/staff/"})
    page.raise_for_status()
    response = client.post("/staff/login", data={"username": username, "password": PASSWORD, "next": "/staff/",
                                                 "csrf_token": _CSRF.search(page.text).group(1)})
    if response.status_code != 303:
        raise RuntimeError(f"login of {username} failed: {response.status_code}")
    return client


# ------------------------------------------------------------------ scenarios

@dataclass
class RoleContext:
    role: str
    username: str
    area: str
    references: list[str]
    sub_areas: list[str]  # narrower areas inside the user's (for the area filter)


def random_range(rng: random.Random, days: int) -> tuple[str, str]:
    since = TODAY - dt.timedelta(days=rng.randint(days, 360))
    return since.isoformat(), (since + dt.timedelta(days=days)).isoformat()


STATUS_CHOICES = ["submitted", "under_review", "accepted", "referred", "not_eligible", "closed"]
SITUATION_CHOICES = [c for c, _w in SITUATIONS]


def scenarios(ctx: RoleContext, total_pages_all: int) -> list[tuple[str, callable]]:
    """(name, rng → query params) of the queue page."""
    items = [
        ("first page (open, newest)", lambda rng: {}),
        ("all statuses", lambda rng: {"status": "all"}),
        ("one status", lambda rng: {"status": rng.choice(STATUS_CHOICES)}),
        ("open, oldest first", lambda rng: {"order": "oldest"}),
        ("situation (open)", lambda rng: {"situation": rng.choice(SITUATION_CHOICES)}),
        ("situation, all statuses", lambda rng: {"status": "all", "situation": rng.choice(SITUATION_CHOICES)}),
    ]
    if ctx.sub_areas:
        items.append(("area (narrower)", lambda rng: {"status": "all", "area": rng.choice(ctx.sub_areas)}))
    items += [
        ("date range 30 days, all", lambda rng: dict(zip(("since", "until"), random_range(rng, 30)), status="all")),
        ("status+situation+area+dates", lambda rng: {
            "status": rng.choice(STATUS_CHOICES), "situation": rng.choice(SITUATION_CHOICES),
            **({"area": rng.choice(ctx.sub_areas)} if ctx.sub_areas else {}),
            **dict(zip(("since", "until"), random_range(rng, 90)))}),
        ("search by reference", lambda rng: {"q": rng.choice(ctx.references).lower()
                                             if rng.random() < 0.3 else rng.choice(ctx.references)}),
        ("page 10, all statuses", lambda rng: {"status": "all", "page": "10"}),
        ("last page, all statuses", lambda rng: {"status": "all", "page": str(total_pages_all)}),
    ]
    return items


def time_get(client: httpx.Client, path: str, params: dict) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.get(path, params=params)
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, response


def measure_queue(client: httpx.Client, ctx: RoleContext, samples: int, warmup: int, total_pages_all: int,
                  seed_value: int) -> list[dict]:
    rng = random.Random(seed_value)
    results = []
    for name, make in scenarios(ctx, total_pages_all):
        for _ in range(warmup):
            client.get("/staff/", params=make(rng)).raise_for_status()
        times, sizes, totals = [], [], []
        for _ in range(samples):
            params = make(rng)
            elapsed, response = time_get(client, "/staff/", params)
            if response.status_code != 200 or 'id="queue-total"' not in response.text:
                raise RuntimeError(f"{ctx.username} {name} {params}: HTTP {response.status_code}")
            times.append(elapsed)
            sizes.append(len(response.content))
            totals.append(int(_TOTAL.search(response.text).group(1)))
        row = {"role": ctx.role, "scenario": name, "n": len(times), "p50": statistics.median(times),
               "p95": percentile(times, 0.95), "max": max(times), "kb": statistics.median(sizes) / 1024,
               "matches": int(statistics.median(totals)), "times": times}
        results.append(row)
        print(f"  {ROLE_LABELS[ctx.role]:<24} {name:<30} p50 {row['p50']:6.1f}  p95 {row['p95']:6.1f}  "
              f"max {row['max']:6.1f} ms   ~{row['matches']} matching, {row['kb']:.0f} KB", flush=True)
    return results


def measure_pages(client: httpx.Client, role: str, samples: int) -> list[dict]:
    rows = []
    for name, path, params in [("ledger list (in care)", "/staff/ledger", {}),
                               ("ledger: overdue visits", "/staff/ledger", {"view": "overdue"}),
                               ("visit reminders", "/staff/visits", {}),
                               ("dashboard", "/staff/dashboard", {})]:
        client.get(path, params=params).raise_for_status()
        times = []
        for _ in range(samples):
            elapsed, response = time_get(client, path, params)
            response.raise_for_status()
            times.append(elapsed)
        rows.append({"role": role, "page": name, "n": samples, "p50": statistics.median(times),
                     "p95": percentile(times, 0.95), "max": max(times)})
        print(f"  {ROLE_LABELS[role]:<24} {name:<30} p50 {rows[-1]['p50']:6.1f}  p95 {rows[-1]['p95']:6.1f}  "
              f"max {rows[-1]['max']:6.1f} ms", flush=True)
    return rows


def measure_export(client: httpx.Client, role: str, runs: int, server_pid: int) -> list[dict]:
    rows = []
    for fmt in ("csv", "xlsx"):
        times, size, count = [], 0, 0
        for _ in range(runs):
            page = client.get("/staff/export")
            page.raise_for_status()
            token = _CSRF.search(page.text).group(1)
            started = time.perf_counter()
            response = client.post("/staff/export", data={"csrf_token": token, "format": fmt, "include_closed": "1"})
            times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"export {fmt} by {role}: HTTP {response.status_code}")
            size = len(response.content)
            if fmt == "csv":
                count = response.content.decode("utf-8-sig").count("\n") - 1
            else:
                from openpyxl import load_workbook

                book = load_workbook(io.BytesIO(response.content), read_only=True)
                count = sum(1 for _ in book.active.iter_rows(values_only=True)) - 1
                book.close()
        rss, peak = memory_mb(server_pid)
        rows.append({"role": role, "format": fmt, "runs": runs, "min": min(times), "median": statistics.median(times),
                     "max": max(times), "mb": size / 1024 / 1024, "rows": count, "rss": rss, "peak": peak})
        print(f"  export {ROLE_LABELS[role]:<24} {fmt:<4} {count:>6} rows  {size / 1024 / 1024:6.2f} MB  "
              f"median {statistics.median(times):6.2f} s (min {min(times):.2f}, max {max(times):.2f})  "
              f"server RSS {rss:.0f} MB, peak {peak:.0f} MB", flush=True)
    return rows


# ------------------------------------------------------------------ EXPLAIN ANALYZE

def filter_for(params: dict, area: str) -> QueueFilter:
    """The QueueFilter the queue view builds from these query parameters (valid ones only)."""
    status = params.get("status", "open")
    reference = ""
    if params.get("q"):
        reference, status = normalise_reference(params["q"]), "all"
    sub = params.get("area", "")
    sub = sub if sub and sub.startswith(area_prefix(area)) else ""
    since = dt.date.fromisoformat(params["since"]) if params.get("since") else None
    until = dt.date.fromisoformat(params["until"]) if params.get("until") else None
    return QueueFilter(status=status, situation=params.get("situation", ""), area=sub, since=since,
                       until=until, reference=reference, order=params.get("order", "newest"),
                       page=int(params.get("page", 1)))


_PLAN_INDEX = re.compile(r"(Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)")
_PLAN_SEQ = re.compile(r"Seq Scan on (\w+)")
_EXEC = re.compile(r"Execution Time: ([\d.]+) ms")


def _generic_plan(raw, statement: str, parameters: dict) -> str:
    """EXPLAIN ANALYZE of the statement as a prepared statement under its generic plan — the plan
    PostgreSQL may switch to once psycopg has prepared a statement (after 5 executions on a connection)."""
    import psycopg

    names: list[str] = []

    def dollar(match):
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    query = re.sub(r"%\((\w+)\)s", dollar, statement)
    literals = ", ".join(psycopg.sql.Literal(parameters[n]).as_string(raw) for n in names)
    raw.execute("DEALLOCATE ALL")
    raw.execute(f"PREPARE bench_q AS {query}")
    try:
        raw.execute("SET plan_cache_mode = force_generic_plan")
        return "\n".join(r[0] for r in raw.execute(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_q({literals})"))
    finally:
        raw.execute("RESET plan_cache_mode")
        raw.execute("DEALLOCATE bench_q")


def explain_queue(db: Database, url: str, ctx: RoleContext, total_pages_all: int, seed_value: int) -> list[dict]:
    """EXPLAIN (ANALYZE, BUFFERS) of what the queue page runs: custom plans (the parameters' values
    known to the planner) for every query, generic plans too for the count and the page rows."""
    import psycopg

    rng = random.Random(seed_value)
    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    results = []
    raw = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True,
                          prepare_threshold=None)
    try:
        for name, make in scenarios(ctx, total_pages_all):
            params = make(rng)
            f = filter_for(params, ctx.area)
            captured.clear()
            event.listen(db.engine, "before_cursor_execute", capture)
            try:
                with db.session() as session:
                    page = queue_page(session=session, user_area=ctx.area, f=f)
                    cases.open_urgent_records(session=session, user_area=ctx.area, sub_area=f.area)
                    cases.open_handoffs(session=session, user_area=ctx.area, sub_area=f.area)
                    ledger.committees.locality_names(session, [row.area_code for row in page.rows])
            finally:
                event.remove(db.engine, "before_cursor_execute", capture)
            labels = ["count", "page rows", "urgent records", "handoffs", "committee names"]
            for label, (statement, parameters) in zip(labels, list(captured)):
                plan = "\n".join(r[0] for r in raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters))
                row = {"role": ctx.role, "scenario": name, "query": label, "ms": float(_EXEC.search(plan).group(1)),
                       "indexes": sorted(set(m.group(2) for m in _PLAN_INDEX.finditer(plan))),
                       "seq": sorted(set(_PLAN_SEQ.findall(plan))), "plan": plan, "sql": statement,
                       "params": parameters, "filter": params, "generic_ms": None, "generic_plan": "",
                       "generic_indexes": []}
                if label in ("count", "page rows") and parameters:
                    generic = _generic_plan(raw, statement, parameters)
                    row.update(generic_ms=float(_EXEC.search(generic).group(1)), generic_plan=generic,
                               generic_indexes=sorted(set(m.group(2) for m in _PLAN_INDEX.finditer(generic)))
                               + [f"seq:{t}" for t in sorted(set(_PLAN_SEQ.findall(generic)))])
                results.append(row)
    finally:
        raw.close()
    return results


# ------------------------------------------------------------------ report

def machine_info(url: str) -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = ""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
    engine = create_engine(url)
    with engine.connect() as conn:
        version = conn.execute(text("show server_version")).scalar()
        buffers = conn.execute(text("show shared_buffers")).scalar()
        work_mem = conn.execute(text("show work_mem")).scalar()
        sizes = {t: conn.execute(text(f"select pg_size_pretty(pg_total_relation_size('{t}'))")).scalar()
                 for t in ("assistance_requests", "ledger_entries", "status_history")}
        counts = {t.__tablename__: conn.execute(select(func.count()).select_from(t)).scalar()
                  for t in (AssistanceRequest, LedgerEntry, Visit, StatusChange, UrgentRecord, HandoffRequest,
                            Committee, Conversation, AuditEvent)}
        by_status = dict(conn.execute(select(AssistanceRequest.status, func.count())
                                      .group_by(AssistanceRequest.status)).all())
        open_urgent = conn.execute(select(func.count()).select_from(UrgentRecord)
                                   .where(UrgentRecord.status == "new")).scalar()
        open_handoffs = conn.execute(select(func.count()).select_from(HandoffRequest)
                                     .where(HandoffRequest.status == "open")).scalar()
        active_entries = conn.execute(select(func.count()).select_from(LedgerEntry)
                                      .where(LedgerEntry.status == "active")).scalar()
    engine.dispose()
    return {"cpu": cpu, "cores": os.cpu_count(), "mem": mem, "python": platform.python_version(),
            "pg": version, "shared_buffers": buffers, "work_mem": work_mem, "sizes": sizes, "counts": counts,
            "by_status": by_status, "open_urgent": open_urgent, "open_handoffs": open_handoffs,
            "active_entries": active_entries}


def _summary(queue: list[dict], role: str | None = None) -> tuple[int, float, float, float]:
    times = [t for r in queue if role is None or r["role"] == role for t in r["times"]]
    return len(times), statistics.median(times), percentile(times, 0.95), max(times)


def _plan_block(title: str, sql: str, params, plan: str) -> list[str]:
    return [f"<details><summary>{title}</summary>", "", "```", sql.strip(), f"-- {params}", "", plan, "```",
            "</details>", ""]


def _findings(queue: list[dict], explains: list[dict], fixes: list[dict]) -> list[str]:
    worst = max(queue, key=lambda r: r["p95"])
    lines = ["", "## Findings", "",
             f"- Worst queue-page p95: **{worst['p95']:.1f} ms** ({ROLE_LABELS[worst['role']]}, {worst['scenario']}) "
             "— the 200 ms target is met in every scenario."
             if all(r["p95"] <= 200 for r in queue) else
             f"- Worst queue-page p95: **{worst['p95']:.1f} ms** ({ROLE_LABELS[worst['role']]}, {worst['scenario']}) "
             f"— the 200 ms target is **missed** in "
             + ", ".join(f"{ROLE_LABELS[r['role']]} / {r['scenario']}" for r in queue if r["p95"] > 200) + "."]
    seq = [e for e in explains if "assistance_requests" in e["seq"]]
    by_situation = [e for e in seq if e["filter"].get("situation")]
    if by_situation:
        lines.append("- Full scans of `assistance_requests` (custom plans) with a situation filter: " + "; ".join(
            f"{ROLE_LABELS[e['role']]} / {e['scenario']} / {e['query']} {e['ms']:.0f} ms" for e in by_situation)
            + ". The situation filter (`ledger/queue.py` `situation_clause`: `(',' || situations || ',') LIKE "
            "'%,code,%'`) cannot use an index, and without statistics on that expression PostgreSQL estimates "
            "it at a handful of rows, so the page query too scans the whole table and sorts instead of walking "
            "`ix_assistance_requests_created_at` backwards until it has 50 rows.")
    others = [e for e in seq if not e["filter"].get("situation")]
    if others:
        lines.append("- Other full scans of `assistance_requests`: " + "; ".join(
            f"{ROLE_LABELS[e['role']]} / {e['scenario']} / {e['query']} {e['ms']:.0f} ms" for e in others) + ".")
    trap = sorted((e for e in explains if e["generic_ms"] is not None and e["generic_ms"] > 5 * e["ms"] + 5),
                  key=lambda e: -(e["generic_ms"] - e["ms"]))
    if trap:
        lines.append("- Generic plans much slower than custom ones: " + "; ".join(
            f"{ROLE_LABELS[e['role']]} / {e['scenario']} / {e['query']} {e['generic_ms']:.0f} ms vs {e['ms']:.1f} ms"
            for e in trap[:6]) + ". With bound parameters the planner cannot see that `area_code >= $1 AND "
            "area_code < $2 AND area_code LIKE $3` selects a whole district, estimates 2 rows, and reads and sorts "
            "every request of the area; psycopg prepares a statement after 5 executions on a connection and "
            "PostgreSQL keeps the generic plan once it looks no dearer than the average custom plan (after "
            "deep pages or narrow areas with the same SQL), so a pooled connection can stay on it.")
    for phase in fixes:
        worst_fix = max(phase["queue"], key=lambda r: r["p95"])
        everything = _summary(phase["queue"])
        lines.append(f"- With fix {phase['letter']} ({phase['label']}): all scenarios p50 {everything[1]:.1f} ms, "
                     f"p95 {everything[2]:.1f} ms (before: p50 {_summary(queue)[1]:.1f}, p95 "
                     f"{_summary(queue)[2]:.1f}); worst scenario p95 {worst_fix['p95']:.1f} ms "
                     f"({ROLE_LABELS[worst_fix['role']]}, {worst_fix['scenario']}).")
    return lines


def write_report(path: Path, args, info: dict, seeding: dict | None, base: dict, explains: list[dict],
                 fixes: list[dict], contexts: dict[str, RoleContext]) -> str:
    queue, pages, exports = base["queue"], base["pages"], base["exports"]
    lines = [f"# Staff queue page and ledger export on PostgreSQL — {dt.date.today():%Y-%m-%d}", ""]
    lines += [f"`.venv/bin/python bench/staff_queue.py --requests {args.requests} --entries {args.entries} "
              f"--samples {args.samples}` (database `{args.url.rsplit('/', 1)[-1]}`; {info['elapsed'] / 60:.0f} min "
              "in all).", ""]
    lines += [f"Machine: {info['cores']} cores ({info['cpu']}), {info['mem']} RAM; Python {info['python']}; "
              f"PostgreSQL {info['pg']} (shared_buffers {info['shared_buffers']}, work_mem {info['work_mem']}, "
              "defaults otherwise) on the same machine. One uvicorn worker (`tongban serve`, its default pool of "
              "10 connections); the client (httpx, one request at a time, HTTP included) runs on the same cores. "
              "The machine was shared with other work (test suites) while this ran — load averages (1/5/15 min) "
              "before → after each part:", ""]
    lines += [f"- {k}: {v}" for k, v in info["load"].items()]
    lines += [""]
    c = info["counts"]
    status_text = ", ".join(f"{s} {info['by_status'].get(s, 0):,}" for s in STATUS_CHOICES)
    lines += ["Data: " + f"{c['assistance_requests']:,} requests ({status_text}); "
              f"{c['ledger_entries']:,} ledger entries ({info['active_entries']:,} in care), {c['visits']:,} visits; "
              f"{c['status_history']:,} status-history rows, {c['audit_log']:,} audit events; "
              f"{c['urgent_records']:,} urgent records ({info['open_urgent']} open), {c['handoff_requests']:,} "
              f"handoff requests ({info['open_handoffs']} open), 20 % of both without a known district; "
              f"{c['committees']} committees; 10 districts × 4 streets × 5 communities, 35 % of requests referred "
              "by a committee (community area code), created over the last 12 months (more in recent months; "
              "open ones mostly recent). Personal fields encrypted with the real DataCipher, hashes and "
              "`LD-YYYY-NNNNNN` references as `file_request` makes them. Table sizes: assistance_requests "
              f"{info['sizes']['assistance_requests']}, ledger_entries {info['sizes']['ledger_entries']}, "
              f"status_history {info['sizes']['status_history']}.", ""]
    users = "; ".join(f"{ROLE_LABELS[r]} `{ctx.username}` area `{ctx.area}`" for r, ctx in contexts.items())
    lines += [f"Users (created with `ledger.accounts.create_user`, signed in through the login form): {users}.", ""]
    if seeding:
        t = seeding["timings"]
        lines += [f"**Seeding**: {t['total']:.0f} s in all (bulk Core `insert()`, 2,000 rows a statement): requests "
                  f"with their conversations, status history and audit events {t['requests']:.0f} s, ledger entries "
                  f"and visits {t['ledger']:.1f} s, urgent records and handoffs {t['urgent_handoffs']:.1f} s, "
                  f"VACUUM ANALYZE {t['vacuum_analyze']:.1f} s; schema drop + migrations {t['schema']:.1f} s.", ""]
    lines += ["## The queue page `GET /staff/` (target p95 ≤ 200 ms)", "",
              f"{args.samples} timed requests per scenario after {args.warmup} warm-up requests; random filter "
              "values per request (statuses, situations, areas, 30/90-day ranges, references). \"matching\" is the "
              "median number of requests the filter matches (the page shows 50); the page also lists the open "
              "urgent records and handoffs of the area (up to 100 each).", "",
              "| user | scenario | p50 ms | p95 ms | max ms | matching | page KB | p95 ≤ 200 |",
              "|---|---|---:|---:|---:|---:|---:|:---:|"]
    for r in queue:
        ok = "yes" if r["p95"] <= 200 else "**no**"
        lines.append(f"| {ROLE_LABELS[r['role']]} | {r['scenario']} | {r['p50']:.1f} | {r['p95']:.1f} | "
                     f"{r['max']:.1f} | {r['matches']:,} | {r['kb']:.0f} | {ok} |")
    lines += ["", "Per user, all scenarios together:", "", "| user | requests | p50 ms | p95 ms | max ms |",
              "|---|---:|---:|---:|---:|"]
    for role in contexts:
        n, p50, p95, top = _summary(queue, role)
        lines.append(f"| {ROLE_LABELS[role]} | {n} | {p50:.1f} | {p95:.1f} | {top:.1f} |")
    n, p50, p95, top = _summary(queue)
    lines.append(f"| **all** | {n} | {p50:.1f} | {p95:.1f} | {top:.1f} |")
    if fixes:
        lines += ["", "### The same scenarios with the proposed fixes", "",
                  "Measured again with the same random filter values, each fix applied to the database and undone "
                  "afterwards:", ""]
        for phase in fixes:
            lines.append(f"- **{phase['letter']}** ({phase['label']}): `" + "`; `".join(phase["ddl"]) + "`; the "
                         "server's connections with `" + " ".join(f"{k}='{v}'" for k, v in phase["env"].items())
                         + "`.")
        head = " | ".join(f"p50 {p['letter']}" for p in fixes)
        head95 = " | ".join(f"p95 {p['letter']}" for p in fixes)
        lines += ["", f"| user | scenario | p50 before | {head} | p95 before | {head95} |",
                  "|---|---|" + "---:|" * (2 + 2 * len(fixes))]
        after = [{(r["role"], r["scenario"]): r for r in p["queue"]} for p in fixes]
        for r in queue:
            cells = [a.get((r["role"], r["scenario"])) for a in after]
            p50s = " | ".join(f"{c['p50']:.1f}" if c else "" for c in cells)
            p95s = " | ".join(f"{c['p95']:.1f}" if c else "" for c in cells)
            lines.append(f"| {ROLE_LABELS[r['role']]} | {r['scenario']} | {r['p50']:.1f} | {p50s} | "
                         f"{r['p95']:.1f} | {p95s} |")
        for role in contexts:
            b = _summary(queue, role)
            s50 = " | ".join(f"{_summary(p['queue'], role)[1]:.1f}" for p in fixes)
            s95 = " | ".join(f"{_summary(p['queue'], role)[2]:.1f}" for p in fixes)
            lines.append(f"| **{ROLE_LABELS[role]}, all** | | {b[1]:.1f} | {s50} | {b[2]:.1f} | {s95} |")
    lines += _findings(queue, explains, fixes)
    if pages:
        extra = [{(r["role"], r["page"]): r for r in p["pages"]} for p in fixes]
        head = "".join(f" p50 {p['letter']} | p95 {p['letter']} |" for p in fixes)
        lines += ["", "## Other list pages (fewer samples)", "",
                  f"| user | page | n | p50 ms | p95 ms | max ms |{head}",
                  "|---|---|---:|---:|---:|---:|" + "---:|---:|" * len(fixes)]
        for r in pages:
            cells = "".join(f" {x['p50']:.1f} | {x['p95']:.1f} |" if x else "  |  |"
                            for x in (e.get((r["role"], r["page"])) for e in extra))
            lines.append(f"| {ROLE_LABELS[r['role']]} | {r['page']} | {r['n']} | {r['p50']:.1f} | {r['p95']:.1f} | "
                         f"{r['max']:.1f} |{cells}")
    lines += ["", "## Ledger export `POST /staff/export` (closed records included)", "",
              "Time from sending the POST to the last byte received; rows counted in the returned file.", "",
              "| user | format | rows | size MB | median s | min s | max s | runs | server RSS after MB "
              "| peak RSS MB |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {ROLE_LABELS[r['role']]} | {r['format']} | {r['rows']:,} | {r['mb']:.2f} | {r['median']:.2f} | "
              f"{r['min']:.2f} | {r['max']:.2f} | {r['runs']} | {r['rss']:.0f} | {r['peak']:.0f} |" for r in exports]
    lines += ["", "## EXPLAIN (ANALYZE, BUFFERS) of the queue page's queries", "",
              "One random sample per scenario, run through the real ledger functions (`queue_page`, "
              "`open_urgent_records`, `open_handoffs`, `locality_names`); the captured SQL is explained with its "
              "parameters (a custom plan). For the count and the page rows also the **generic plan** "
              "(`PREPARE` + `plan_cache_mode=force_generic_plan`): psycopg prepares a statement after 5 executions "
              "on a connection, and PostgreSQL may then switch to the generic plan for good on that connection.", "",
              "| user | scenario | query | custom ms | indexes used | seq scans | generic ms | generic plan uses |",
              "|---|---|---|---:|---|---|---:|---|"]
    for e in explains:
        generic = (f"{e['generic_ms']:.1f}", ", ".join(e["generic_indexes"]) or "—") \
            if e["generic_ms"] is not None else ("", "")
        lines.append(f"| {ROLE_LABELS[e['role']]} | {e['scenario']} | {e['query']} | {e['ms']:.1f} | "
                     f"{', '.join(e['indexes']) or '—'} | {', '.join(e['seq']) or '—'} | {generic[0]} | "
                     f"{generic[1]} |")
    main_queries = [e for e in explains if e["query"] in ("count", "page rows")]
    lines += ["", "Plans of the slowest queue queries (custom plans):", ""]
    for e in sorted(main_queries, key=lambda e: -e["ms"])[:4]:
        lines += _plan_block(f"{ROLE_LABELS[e['role']]} — {e['scenario']} — {e['query']} ({e['ms']:.1f} ms)",
                             e["sql"], e["params"], e["plan"])
    worst_generic = sorted((e for e in main_queries if e["generic_ms"] is not None),
                           key=lambda e: -(e["generic_ms"] - e["ms"]))[:2]
    if worst_generic:
        lines += ["Generic plans that cost most over the custom plan:", ""]
        for e in worst_generic:
            lines += _plan_block(f"{ROLE_LABELS[e['role']]} — {e['scenario']} — {e['query']}: generic "
                                 f"{e['generic_ms']:.1f} ms vs custom {e['ms']:.1f} ms", e["sql"], e["params"],
                                 e["generic_plan"])
    if fixes:
        head = " | ".join(f"ms {p['letter']} | plan {p['letter']}" for p in fixes)
        lines += ["With the fixes, the count and page-rows queries (custom plans):", "",
                  f"| user | scenario | query | ms before | {head} |", "|---|---|---|---:|" + "---:|---|" * len(fixes)]
        after = [{(e["role"], e["scenario"], e["query"]): e for e in p["explains"]} for p in fixes]
        for e in main_queries:
            cells = []
            for a in after:
                x = a.get((e["role"], e["scenario"], e["query"]))
                cells.append(f"{x['ms']:.1f} | {', '.join(x['indexes'] + ['seq:' + t for t in x['seq']]) or '—'}"
                             if x else " | ")
            lines.append(f"| {ROLE_LABELS[e['role']]} | {e['scenario']} | {e['query']} | {e['ms']:.1f} | "
                         + " | ".join(cells) + " |")
    report = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report, encoding="utf-8")
    return report


# ------------------------------------------------------------------ the fix tried at the end

# What the note proposes (see the report), tried on the same data: (A) expression statistics so the
# planner knows how many requests a situation filter matches, and a custom plan for every execution
# (no generic plans of psycopg's auto-prepared statements); (B) A plus a narrow covering index for
# the counts. Each is undone afterwards, so the database keeps the schema of the migrations.
STATISTICS_DDL = ("CREATE STATISTICS IF NOT EXISTS bench_fix_situations ON (((',' || situations) || ',')) "
                  "FROM assistance_requests")
COVERING_DDL = ("CREATE INDEX IF NOT EXISTS bench_fix_queue ON assistance_requests (created_at, id) "
                "INCLUDE (status, area_code, situations)")
CUSTOM_PLANS_ENV = {"PGOPTIONS": "-c plan_cache_mode=force_custom_plan"}
FIX_VARIANTS = [("A", "statistics + custom plans", [STATISTICS_DDL], CUSTOM_PLANS_ENV),
                ("B", "A + covering index", [STATISTICS_DDL, COVERING_DDL], CUSTOM_PLANS_ENV)]
UNDO_FIX_DDL = ["DROP INDEX IF EXISTS bench_fix_queue", "DROP STATISTICS IF EXISTS bench_fix_situations"]


def run_ddl(url: str, statements: list[str]) -> None:
    engine = create_engine(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for statement in statements:
            conn.execute(text(statement))
        conn.execute(text("VACUUM ANALYZE assistance_requests"))
    engine.dispose()


# ------------------------------------------------------------------ main

def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def measure_phase(args, key: bytes, contexts: dict[str, RoleContext], total_pages: dict[str, int], *,
                  extra_env: dict | None, with_pages: bool, with_exports: bool) -> dict:
    print("starting the server (tongban serve) …", flush=True)
    t0 = time.perf_counter()
    server, base = start_server(args.url, args.data_dir, key, extra_env)
    print(f"server up at {base} in {time.perf_counter() - t0:.0f} s", flush=True)
    phase = {"queue": [], "pages": [], "exports": [], "load": {}}
    try:
        clients = {role: login(base, ctx.username) for role, ctx in contexts.items()}
        print("queue page:", flush=True)
        for n, (role, ctx) in enumerate(contexts.items()):
            before = load()
            phase["queue"] += measure_queue(clients[role], ctx, args.samples, args.warmup, total_pages[role], 100 + n)
            phase["load"][f"queue, {ROLE_LABELS[role]}"] = f"{before} → {load()}"
        if with_pages and args.page_samples:
            print("other pages:", flush=True)
            before = load()
            for role in ("admin", "civil_affairs"):
                phase["pages"] += measure_pages(clients[role], role, args.page_samples)
            phase["load"]["other pages"] = f"{before} → {load()}"
        if with_exports:
            print("export:", flush=True)
            before = load()
            for role in ("admin", "civil_affairs"):
                phase["exports"] += measure_export(clients[role], role, args.export_runs, server.pid)
            phase["load"]["export"] = f"{before} → {load()}"
        for client in clients.values():
            client.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    return phase


def explain_phase(db: Database, url: str, contexts: dict[str, RoleContext], total_pages: dict[str, int]) -> list:
    print("EXPLAIN ANALYZE:", flush=True)
    explains = []
    for n, (role, ctx) in enumerate(contexts.items()):
        explains += explain_queue(db, url, ctx, total_pages[role], 500 + n)
    for e in explains:
        generic = f"; generic plan {e['generic_ms']:.1f} ms ({', '.join(e['generic_indexes'])})" \
            if e["generic_ms"] is not None else ""
        print(f"  {ROLE_LABELS[e['role']]:<24} {e['scenario']:<30} {e['query']:<16} {e['ms']:7.1f} ms  "
              f"indexes: {', '.join(e['indexes']) or '-'}; seq scans: {', '.join(e['seq']) or '-'}{generic}")
    return explains


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--urgent", type=int, default=400)
    parser.add_argument("--handoffs", type=int, default=300)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--samples", type=int, default=200, help="timed requests per queue scenario")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--page-samples", type=int, default=30, help="timed requests per other page")
    parser.add_argument("--export-runs", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=REPO / "var" / "bench" / "staff_queue")
    parser.add_argument("--skip-seed", action="store_true", help="measure the database of an earlier run")
    parser.add_argument("--skip-fix-trial", action="store_true",
                        help="do not measure the queue again with the proposed statistics/index/custom plans")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "staff_queue.md")
    args = parser.parse_args()
    db_name = args.url.rsplit("/", 1)[-1].split("?")[0]
    if db_name in ("test", "test_staff"):
        parser.error(f"refusing to drop the tables of the shared database {db_name!r}")
    args.data_dir.mkdir(parents=True, exist_ok=True)
    key = load_or_create_key(args.data_dir / "secret.key")
    cipher = DataCipher(key)
    settings = Settings(data_dir=args.data_dir, database={"url": args.url}, security={"data_key": key.decode()},
                        knowledge={"watch_interval": 0}, log_level="WARNING")
    started = time.perf_counter()
    start_load = load()

    seeding = None
    if not args.skip_seed:
        print(f"dropping and recreating the schema on {args.url}", flush=True)
        t0 = time.perf_counter()
        drop_everything(args.url)
        Database(settings.database_url).dispose()
        schema = time.perf_counter() - t0
        print(f"seeding {args.requests:,} requests, {args.entries:,} ledger entries", flush=True)
        seeding = seed(args.url, cipher, args.requests, args.entries, args.urgent, args.handoffs)
        seeding["timings"]["schema"] = schema
        print(f"seeded in {seeding['timings']['total']:.0f} s: {seeding['timings']}", flush=True)
    else:
        run_ddl(args.url, UNDO_FIX_DDL)  # an interrupted earlier run may have left them

    db = Database(settings.database_url)
    users = [("admin", "bench_admin", "national"), ("civil_affairs", "bench_baoan", "440306"),
             ("committee", "bench_liutang", "440306001001")]
    with db.session() as session:
        for role, username, area in users:
            if find_user(session, username) is None:
                create_user(session=session, areas=GazetteerAreas(), username=username, role=role, area=area,
                            password=PASSWORD, display_name=username, created_by="bench")
    contexts: dict[str, RoleContext] = {}
    all_places = places()
    with db.session() as session:
        for role, username, area in users:
            refs = list(session.scalars(select(AssistanceRequest.reference)
                                        .where(area_clause(AssistanceRequest.area_code, area))
                                        .order_by(func.random()).limit(2000)))
            if area == "national":
                subs = [p.district for p in all_places] + [s for p in all_places for s in p.streets]
            elif len(area) == 6:
                place = next(p for p in all_places if p.district == area)
                subs = place.streets + [c for c, _n in place.communities]
            else:
                subs = []
            contexts[role] = RoleContext(role, username, area, refs, subs)
    total_pages = {role: max(1, -(-_count_area(db, ctx.area) // QUEUE_PAGE_SIZE))
                   for role, ctx in contexts.items()}

    base = measure_phase(args, key, contexts, total_pages, extra_env=None, with_pages=True, with_exports=True)
    explains = explain_phase(db, args.url, contexts, total_pages)
    fixes = []
    if not args.skip_fix_trial:
        for letter, label, ddl, env in FIX_VARIANTS:
            print(f"\ntrying fix {letter} ({label}): " + "; ".join(ddl) + f"; server with {env}", flush=True)
            run_ddl(args.url, ddl)
            try:
                phase = measure_phase(args, key, contexts, total_pages, extra_env=env, with_pages=True,
                                      with_exports=False)
                phase["explains"] = explain_phase(db, args.url, contexts, total_pages)
            finally:
                run_ddl(args.url, UNDO_FIX_DDL)
            phase.update(letter=letter, label=label, ddl=ddl, env=env)
            fixes.append(phase)
    db.dispose()

    info = machine_info(args.url)
    info["load"] = {"start": start_load, **base["load"]}
    for phase in fixes:
        info["load"].update({f"fix {phase['letter']}, {k}": v for k, v in phase["load"].items()})
    info["elapsed"] = time.perf_counter() - started
    report = write_report(args.out, args, info, seeding, base, explains, fixes, contexts)
    print("\n" + report.split("## EXPLAIN")[0])
    print(f"written to {args.out}")
    worst = max(r["p95"] for r in base["queue"])
    print(f"worst queue-page p95: {worst:.1f} ms ({'meets' if worst <= 200 else 'MISSES'} the 200 ms target)")
    return 0


def _count_area(db: Database, area: str) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(AssistanceRequest)
                              .where(area_clause(AssistanceRequest.area_code, area)))


if __name__ == "__main__":
    sys.exit(main())
