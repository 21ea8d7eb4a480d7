"""Seeding the ledger at scale for the staff benchmarks: requests as ``ledger.requests.file_request``
builds them (personal fields encrypted with the real ``DataCipher``, keyed hashes, references, a status
history and an audit event each) but with bulk Core inserts, ledger entries with visits, urgent
records and handoffs, committees, over 10 districts × 4 streets × 5 communities and 12 months.
(bench/staff_queue.py)"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from dataclasses import dataclass, field

from sqlalchemy import create_engine, insert, select, text

import ledger.committees
from ledger import clock
from ledger.casework import add_months
from ledger.crypto import DataCipher
from ledger.models import (AssistanceRequest, AuditEvent, Committee, Conversation, HandoffRequest,
                           LedgerEntry, StatusChange, UrgentRecord, Visit)
from ledger.requests import CONSENT_NOTICE_VERSION
from nlu.geo import gazetteer

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


def weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs)
    return rng.choices(values, weights)[0]


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
