"""Issue 12, the staff app seen from outside (over HTTP, on SQLite and PostgreSQL): checklists a
district cannot take over, logins nobody else can lock, and the code-read items — area-scoped audit
log and accounts, transcripts kept within their area, urgent records without a place that still reach
someone, and an urgent queue no page limit can hide. (Status changes that serialise: tests/test_races.py.)"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest

from knowledge.store import shipped_dir
import ledger.audit
from ledger import accounts, clock
from ledger.models import UrgentRecord
from tests.test_staff_support import (BAOAN, OTHER_DISTRICT, PASSWORD, csrf_of, file,  # noqa: F401
                                      hidden_fields, login, own_kb, staff_app, staff_app_own_kb,  # noqa: F401
                                      staff_backend, urgent)  # noqa: F401

DATA = Path(__file__).parent / "data"
EXAMPLE = shipped_dir() / "example-shenzhen-baoan.yaml"
NANSHAN = {"code": OTHER_DISTRICT, "name": "广东省深圳市南山区", "text": "粤海街道"}
ATTACKER, COLLEAGUE, PROXY = "198.51.100.7", "203.0.113.20", "10.0.0.2"


def _versions(kb) -> dict:
    return {cid: sorted(v) for cid, v in kb.snapshot.catalog.versions.items()}


def _upload(client, files: dict, data: dict):
    page = client.get("/staff/knowledge")
    assert page.status_code == 200
    hidden = hidden_fields(page.text, "/staff/knowledge/upload")
    return client.post("/staff/knowledge/upload", data={**hidden, **data}, files=files, follow_redirects=False)


def _yaml_with_id(checklist_id: str, code: str = BAOAN) -> bytes:
    text = EXAMPLE.read_text(encoding="utf-8").replace("id: example-shenzhen-baoan", f"id: {checklist_id}")
    return text.replace('code: "440306"', f'code: "{code}"').encode("utf-8")


def _frozen_window(runtime):
    """Stop the limiter's clock at the start of a window (no window ends mid-test)."""
    from staff import throttle

    start = (time.time() // throttle.WINDOW + 1) * throttle.WINDOW + 1
    runtime.limiter.clock = lambda: start
    return start


# ------------------------------------------------------------------ finding 4: checklists

def test_a_district_user_cannot_replace_national_checklists(staff_app_own_kb):
    app = staff_app_own_kb
    kb = app.runtime.knowledge
    before = (_versions(kb), kb.snapshot.generation)
    app.user("baoan", "civil_affairs", BAOAN)
    client = app.login("baoan")

    # the national action plan's id, with the district's own place
    taken = _upload(client, {"file": ("plan.yaml", _yaml_with_id("national-action-plan"), "text/plain")},
                    {"kind": "yaml"})
    assert taken.status_code == 400 and "不能替换" in taken.text and 'name="token"' not in taken.text
    # a published notice filed under the national guidance's id
    notice = _upload(client, {"file": ("notice.txt", (DATA / "notice_plain.txt").read_bytes(), "text/plain")},
                     {"kind": "notice", "locality": "深圳市宝安区", "title": "宝安区实施细则", "published": "2025-01-01",
                      "checklist_id": "national-guidance"})
    assert notice.status_code == 400 and "不能替换" in notice.text and 'name="token"' not in notice.text
    # guidance is the national admins' too, and a new id must carry the district's code
    guidance = _yaml_with_id("440306-guidance").replace(b"authority: example", b"authority: guidance")
    assert _upload(client, {"file": ("g.yaml", guidance, "text/plain")}, {"kind": "yaml"}).status_code == 400
    unprefixed = _upload(client, {"file": ("u.yaml", _yaml_with_id("summer-care"), "text/plain")}, {"kind": "yaml"})
    assert unprefixed.status_code == 400 and "地区代码开头" in unprefixed.text
    assert _upload(client, {"file": ("o.yaml", _yaml_with_id("440305-summer-care"), "text/plain")},
                   {"kind": "yaml"}).status_code == 400
    assert (_versions(kb), kb.snapshot.generation) == before and app.audit("knowledge.publish") == []

    # its own: a new checklist under its code, and the next version of the district's example
    fresh = _upload(client, {"file": ("n.yaml", _yaml_with_id("440306-summer-care"), "text/plain")},
                    {"kind": "yaml"})
    assert fresh.status_code == 200 and "不替换任何现有清单" in fresh.text
    own = _upload(client, {"file": ("b.yaml", EXAMPLE.read_bytes(), "text/plain")}, {"kind": "yaml"})
    assert own.status_code == 200
    replaces = re.search(r'id="preview-replaces">(.*?)</dd>', own.text, re.S).group(1)
    assert "example-shenzhen-baoan" in replaces and "第 1 版" in replaces and "广东省深圳市宝安区" in replaces

    # a national admin may publish the national plan, and the preview says what it replaces
    app.user("chief", "admin", "national")
    chief = app.login("chief")
    preview = _upload(chief, {"file": ("plan.yaml", _yaml_with_id("national-action-plan"), "text/plain")},
                      {"kind": "yaml"})
    assert preview.status_code == 200
    replaces = re.search(r'id="preview-replaces">(.*?)</dd>', preview.text, re.S).group(1)
    assert "national-action-plan" in replaces and "全国" in replaces and 'id="preview-moves"' in replaces


def test_a_district_admin_is_no_national_admin_for_checklists(staff_app_own_kb):
    """An admin whose area is one district publishes like that district's staff."""
    app = staff_app_own_kb
    kb = app.runtime.knowledge
    app.user("baoan_admin", "admin", BAOAN)
    client = app.login("baoan_admin")
    taken = _upload(client, {"file": ("plan.yaml", _yaml_with_id("national-guidance"), "text/plain")},
                    {"kind": "yaml"})
    assert taken.status_code == 400 and "不能替换" in taken.text
    assert _versions(kb)["national-guidance"] == [1]


# ------------------------------------------------------------------ finding 5: logins

@pytest.mark.slow
def test_wrong_passwords_from_one_client_do_not_lock_the_user_out_elsewhere(staff_app):
    from staff import throttle

    _frozen_window(staff_app.runtime)
    staff_app.user("baoan", "civil_affairs", BAOAN)
    attacker = staff_app.client(address=ATTACKER)
    for _ in range(throttle.PAIR_LIMIT):
        assert login(attacker, "baoan", "Wrong-password-1").status_code == 401
    refused = login(attacker, "baoan")  # this client is done for this window, right password or not
    assert refused.status_code == 429 and "分钟后再试" in refused.text
    # the real user, from their own computer: in at once
    assert login(staff_app.client(address=COLLEAGUE), "baoan").status_code == 303
    # an X-Forwarded-For header from a client that is not a configured proxy changes nothing
    spoofed = attacker.post("/staff/login", headers={"X-Forwarded-For": "192.0.2.99"},
                            data={"username": "baoan", "password": PASSWORD,
                                  "csrf_token": csrf_of(attacker.get("/staff/login").text)},
                            follow_redirects=False)
    assert spoofed.status_code == 429
    # one client trying many names is stopped for every name
    roamer = staff_app.client(address="198.51.100.99")
    for n in range(throttle.CLIENT_LIMIT):
        assert login(roamer, f"guess{n}", "Wrong-password-1").status_code == 401
    assert login(roamer, "baoan").status_code == 429
    assert login(staff_app.client(address=COLLEAGUE), "baoan").status_code == 303


def test_behind_a_trusted_proxy_each_forwarded_client_is_counted_apart(staff_app):
    from staff import throttle

    _frozen_window(staff_app.runtime)
    staff_app.runtime.settings.security.trusted_proxies = ["10.0.0.0/8"]
    staff_app.user("baoan", "civil_affairs", BAOAN)
    proxy = staff_app.client(address=PROXY)

    def through_proxy(forwarded: str, password: str):
        page = proxy.get("/staff/login", headers={"X-Forwarded-For": forwarded})
        return proxy.post("/staff/login", headers={"X-Forwarded-For": forwarded},
                          data={"username": "baoan", "password": password, "csrf_token": csrf_of(page.text)},
                          follow_redirects=False)

    for _ in range(throttle.PAIR_LIMIT):  # the forged first address is ignored: the proxy appended the real one
        assert through_proxy(f"192.0.2.{_}, {ATTACKER}", "Wrong-password-1").status_code == 401
    assert through_proxy(ATTACKER, PASSWORD).status_code == 429
    assert through_proxy(COLLEAGUE, PASSWORD).status_code == 303
    (success,) = staff_app.audit("login.success")
    assert success.target == f"ip:{COLLEAGUE}"


def test_an_account_guessed_from_many_clients_is_slowed_but_its_owner_gets_in(staff_app, monkeypatch):
    from staff import auth, throttle
    from tests.helpers import Sleeps

    monkeypatch.setattr(throttle, "ATTACK_DELAY", 0.3)
    waits = Sleeps()  # what the login route waits (instead of timing the request)
    monkeypatch.setattr(auth, "asyncio", waits)
    _frozen_window(staff_app.runtime)
    staff_app.user("baoan", "civil_affairs", BAOAN)
    for n in range(throttle.ATTACK_THRESHOLD):  # a botnet: two guesses from each of many addresses
        client = staff_app.client(address=f"198.51.100.{n // 2 + 1}")
        assert login(client, "baoan", "Wrong-password-1").status_code == 401
    owner = staff_app.client(address=COLLEAGUE)
    page = owner.get("/staff/login")
    assert waits.waits == []  # the guesses up to the threshold were not slowed
    done = owner.post("/staff/login", data={"username": "baoan", "password": PASSWORD,
                                            "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert done.status_code == 303 and waits.waits == [0.3]  # slowed by the attack delay, then let in
    assert len(staff_app.audit("login.under_attack")) == 1


def test_the_password_is_checked_outside_the_database_transaction(staff_app, monkeypatch):
    """While a login's (slow) password check runs, other writes go through: the check is held here
    until another write has finished."""
    runtime = staff_app.runtime
    staff_app.user("baoan", "civil_affairs", BAOAN)
    started, written, real = threading.Event(), threading.Event(), accounts._hasher

    class SlowHasher:
        def verify(self, stored, password):
            started.set()
            written.wait(30)
            return real.verify(stored, password)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(accounts, "_hasher", SlowHasher())
    client = staff_app.client()
    page = client.get("/staff/login")
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("r", client.post(
        "/staff/login", data={"username": "baoan", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False)))
    worker.start()
    try:
        assert started.wait(10)

        def write():
            with runtime.db.session() as session:
                ledger.audit.audit(session, actor="other", action="test.write", target="-")
            result["written"] = worker.is_alive()  # the login still in its password check

        writer = threading.Thread(target=write)
        writer.start()
        writer.join(20)  # a deadline, so that a write stuck behind the check fails instead of hanging
        assert result.get("written") is True, "the write waited for the login's password check"
    finally:
        written.set()
    worker.join(20)
    assert result["r"].status_code == 303


# ------------------------------------------------------------------ the audit log and accounts of an area

def test_an_area_admin_sees_only_the_audit_events_and_accounts_of_the_area(staff_app):
    runtime = staff_app.runtime
    ours = file(runtime)
    theirs = file(runtime, residence=NANSHAN)
    staff_app.user("baoan_admin", "admin", BAOAN)
    staff_app.user("baoan", "civil_affairs", BAOAN)
    staff_app.user("nanshan", "civil_affairs", OTHER_DISTRICT)
    staff_app.user("chief", "admin", "national")
    assert staff_app.login("baoan").get(f"/staff/requests/{ours}").status_code == 200
    assert staff_app.login("nanshan").get(f"/staff/requests/{theirs}").status_code == 200
    assert staff_app.login("chief").get(f"/staff/requests/{theirs}").status_code == 200

    area_admin = staff_app.login("baoan_admin")
    audit = area_admin.get("/staff/audit")
    assert audit.status_code == 200
    assert ours in audit.text and "baoan" in audit.text
    assert theirs not in audit.text and "nanshan" not in audit.text and "chief" not in audit.text
    assert area_admin.get("/staff/audit", params={"actor": "nanshan"}).text.count("<tr") <= 1
    users = area_admin.get("/staff/users").text
    assert "baoan_admin" in users and ">baoan<" in users and "nanshan" not in users and "chief" not in users

    chief = staff_app.login("chief")
    audit = chief.get("/staff/audit").text
    assert ours in audit and theirs in audit and "nanshan" in audit
    users = chief.get("/staff/users").text
    assert "nanshan" in users and "baoan_admin" in users


# ------------------------------------------------------------------ transcripts across areas

def test_a_transcript_shows_only_the_parts_of_the_readers_area(staff_app):
    runtime = staff_app.runtime
    sender = "parent-two-districts"
    ours = file(runtime, sender=sender, transcript=[("我家在宝安，孩子叫王小明，宝安秘密甲", "好的")])
    theirs = file(runtime, sender=sender, child_name="李小红", residence=NANSHAN,
                  transcript=[("我们搬到南山了，孩子叫李小红，南山秘密乙", "好的")])
    record = urgent(runtime, locality=BAOAN, sender=sender, message="孩子被打了，宝安紧急丙")
    staff_app.user("baoan", "civil_affairs", BAOAN)
    staff_app.user("nanshan", "civil_affairs", OTHER_DISTRICT)
    staff_app.user("chief", "admin", "national")

    baoan = staff_app.login("baoan")
    page = baoan.get(f"/staff/requests/{ours}").text
    assert "宝安秘密甲" in page and "南山秘密乙" not in page and 'id="transcript-hidden"' in page
    case = baoan.get(f"/staff/urgent/{record}").text
    assert "宝安紧急丙" in case and "宝安秘密甲" in case and "南山秘密乙" not in case

    page = staff_app.login("nanshan").get(f"/staff/requests/{theirs}").text
    assert "南山秘密乙" in page and "宝安秘密甲" not in page

    page = staff_app.login("chief").get(f"/staff/requests/{ours}").text
    assert "宝安秘密甲" in page and "南山秘密乙" in page and 'id="transcript-hidden"' not in page


# ------------------------------------------------------------------ urgent records without a place

def test_urgent_records_without_a_place_reach_someone(staff_app):
    runtime = staff_app.runtime
    sender = "parent-no-place"
    file(runtime, sender=sender)  # the conversation filed a request in 宝安
    placed = urgent(runtime, locality=None, sender=sender, message="孩子被打了，地点没说")
    nowhere = urgent(runtime, locality=None, message="孩子不见了，不知道在哪")
    staff_app.user("baoan", "civil_affairs", BAOAN)
    staff_app.user("nanshan", "civil_affairs", OTHER_DISTRICT)
    staff_app.user("chief", "admin", "national")

    baoan = staff_app.login("baoan")
    queue = baoan.get("/staff/").text
    assert f'id="urgent-{placed}"' in queue and f'id="urgent-{nowhere}"' not in queue
    assert baoan.get(f"/staff/urgent/{placed}").status_code == 200
    assert baoan.get(f"/staff/urgent/{nowhere}").status_code == 404
    nanshan = staff_app.login("nanshan")
    assert f'id="urgent-{placed}"' not in nanshan.get("/staff/").text
    assert nanshan.get(f"/staff/urgent/{placed}").status_code == 404

    queue = staff_app.login("chief").get("/staff/").text
    unknown = re.search(r'id="urgent-unknown-section"(.*?)</section>', queue, re.S)
    assert unknown and f'id="urgent-{nowhere}"' in unknown.group(1) and "地区未知" in unknown.group(1)
    assert f'id="urgent-{placed}"' in queue


# ------------------------------------------------------------------ no page limit hides an urgent record

def test_the_queue_reaches_every_urgent_record_with_an_exact_count(staff_app):
    runtime = staff_app.runtime
    genuine = urgent(runtime, locality=BAOAN, message="孩子被打了，真的")
    with runtime.db.session() as session:
        first = session.get(UrgentRecord, genuine)
        for n in range(120):  # a flood of newer ones
            session.add(UrgentRecord(conversation_id=first.conversation_id, channel="rest", locality=BAOAN,
                                     kinds="abuse", detected_by="patterns", status="new",
                                     message_enc=runtime.cipher.encrypt(f"flood {n}"),
                                     created_at=clock.utcnow()))
    staff_app.user("baoan", "civil_affairs", BAOAN)
    client = staff_app.login("baoan")
    first_page = client.get("/staff/").text
    assert re.search(r'id="urgent-count">121<', first_page)
    seen, page = set(), 1
    while True:
        html = client.get("/staff/", params={"upage": page}).text
        seen |= {int(i) for i in re.findall(r'id="urgent-(\d+)"', html)}
        if 'id="urgent-page-next"' not in html:
            break
        page += 1
        assert page < 10
    assert genuine in seen and len(seen) == 121
