"""Security of the staff app, on SQLite and PostgreSQL: anonymous users, areas, CSRF, escaping,
the audit of every view of personal details, cookies, headers, sessions, throttling, drafts."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from sqlalchemy import select, update

from ledger import clock
from ledger.accounts import set_user_active, token_hash
from ledger.models import AssistanceRequest, Committee, HandoffRequest, LedgerEntry, StatusChange, UrgentRecord, Visit
from ledger.staff_models import StaffDraft, StaffSession
from tests.test_staff_support import (BAOAN, LIUTANG, OTHER_COMMUNITY, OTHER_DISTRICT, PASSWORD, XIXIANG,  # noqa: F401
                                      committee, csrf_of, file, handoff, login, post_form, request_row, staff_app,
                                      staff_backend, urgent)


def _routes(app):
    """(method, path template) of every staff page and action except the login form."""
    from staff.web import route_table

    return [(m, p) for m, p in route_table() if m in ("GET", "POST") and not p.startswith("/staff/login")]


def _fill(path: str, ids: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)


def _seed_world(runtime):
    """A committee, two communities' requests, an accepted one, an urgent record and a handoff."""
    committee_id, code = committee(runtime)
    other_committee_id, other_code = committee(runtime, name="臣田社区居委会", locality=OTHER_COMMUNITY)
    own = file(runtime, referral=code)
    other = file(runtime, referral=other_code, child_name="李小红")
    with runtime.db.session() as session:
        from ledger import casework
        row = casework.find_request(session=session, reference=own)
        casework.change_status(session=session, cipher=runtime.cipher, request=row, status="accepted",
                               note="符合条件", actor="test")
        row = casework.find_request(session=session, reference=other)
        casework.change_status(session=session, cipher=runtime.cipher, request=row, status="accepted",
                               note="符合条件", actor="test")
    return {"own": own, "other": other, "committee_id": committee_id, "other_committee_id": other_committee_id,
            "urgent": urgent(runtime, locality=BAOAN), "handoff": handoff(runtime, locality=BAOAN)}


def _state(runtime) -> tuple:
    """A fingerprint of everything staff actions change."""
    with runtime.db.session() as session:
        return (
            tuple(session.execute(select(AssistanceRequest.reference, AssistanceRequest.status)
                                  .order_by(AssistanceRequest.id)).all()),
            tuple(session.execute(select(StatusChange.id)).scalars()),
            tuple(session.execute(select(LedgerEntry.id, LedgerEntry.next_visit_on)).all()),
            tuple(session.execute(select(Visit.id)).scalars()),
            tuple(session.execute(select(UrgentRecord.id, UrgentRecord.status)).all()),
            tuple(session.execute(select(HandoffRequest.id, HandoffRequest.status)).all()),
            tuple(session.execute(select(Committee.id, Committee.name, Committee.active)).all()),
        )


# ------------------------------------------------------------------ anonymous users

def test_every_page_and_action_refuses_an_anonymous_user(staff_app):
    runtime = staff_app.runtime
    world = _seed_world(runtime)
    ids = {"reference": world["own"], "record_id": world["urgent"], "committee_id": world["committee_id"], "token": "x"}
    routes = _routes(staff_app.app)
    assert len(routes) >= 20, routes
    before = _state(runtime)
    client = staff_app.client()
    for method, template in routes:
        path = _fill(template, ids)
        if method == "GET":
            response = client.get(path, follow_redirects=False)
        else:
            response = client.post(path, data={"note": "x", "status": "closed", "name": "x", "format": "csv"},
                                   follow_redirects=False)
        assert response.status_code in (303, 307), (method, path, response.status_code)
        location = response.headers["location"]
        assert location.startswith("/staff/login") or location == "/staff/", (method, path, location)
        assert "王小明" not in response.text and "李芳" not in response.text
    assert _state(runtime) == before
    assert not [e for e in staff_app.audit() if e.action in ("request.view", "ledger.export", "urgent.view")]


def test_anonymous_get_returns_to_the_page_after_login(staff_app):
    ref = file(staff_app.runtime)
    staff_app.user("admin", "admin", "national")
    client = staff_app.client()
    response = client.get(f"/staff/requests/{ref}?x=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/staff/login?next=%2Fstaff%2Frequests%2F{ref}%3Fx%3D1"
    page = client.get(response.headers["location"])
    assert f'value="/staff/requests/{ref}?x=1"' in page.text
    done = client.post("/staff/login", data={"username": "admin", "password": PASSWORD, "next": f"/staff/requests/{ref}?x=1",
                                             "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/staff/requests/{ref}?x=1"


def test_login_does_not_redirect_off_site(staff_app):
    staff_app.user("admin", "admin", "national")
    client = staff_app.client()
    response = login(client, "admin", next_path="https://evil.example/staff/")
    assert response.headers["location"] == "/staff/"
    response = login(staff_app.client(), "admin", next_path="//evil.example/")
    assert response.headers["location"] == "/staff/"


# ------------------------------------------------------------------ areas

def test_committee_user_cannot_read_change_or_export_another_communitys_request(staff_app):
    runtime = staff_app.runtime
    world = _seed_world(runtime)
    staff_app.user("liutang", "committee", LIUTANG)
    client = staff_app.login("liutang")

    own = client.get(f"/staff/requests/{world['own']}")
    assert own.status_code == 200 and "王小明" in own.text

    other_url = f"/staff/requests/{world['other']}"
    response = client.get(other_url)
    assert response.status_code == 404 and "李小红" not in response.text and world["other"] not in response.text
    missing = client.get("/staff/requests/LD-2026-999999")
    assert missing.status_code == 404
    assert response.text.replace(world["other"], "X") == missing.text.replace("LD-2026-999999", "X")

    before = _state(runtime)
    token = csrf_of(own.text)
    for action, data in ((f"{other_url}/status", {"status": "under_review", "note": "看看"}),
                         (f"{other_url}/visits", {"visited_on": dt.date.today().isoformat(), "visitor": "我",
                                                  "findings": "家里很好", "next_visit_on": "2099-01-01"})):
        response = client.post(action, data={**data, "csrf_token": token, "_page": other_url}, follow_redirects=False)
        assert response.status_code == 404, action
    assert _state(runtime) == before

    # not in the queue, the ledger, reminders or the export either
    queue = client.get("/staff/?status=all")
    assert world["own"] in queue.text and world["other"] not in queue.text
    assert world["other"] not in client.get("/staff/ledger?view=all").text
    assert client.get(f"/staff/?q={world['other']}").text.count(world["other"]) == 1  # only echoed in the search box
    export = client.post("/staff/export", data={"format": "csv", "include_closed": "1",
                                                "csrf_token": token}, follow_redirects=False)
    assert export.status_code == 200
    body = export.content.decode("utf-8-sig")
    assert world["own"] in body and "王小明" in body
    assert world["other"] not in body and "李小红" not in body

    # other community's committee, its poster; an urgent record and a handoff of the district
    assert client.get(f"/staff/committees/{world['other_committee_id']}").status_code == 404
    assert client.get(f"/staff/committees/{world['other_committee_id']}/poster.pdf").status_code == 404
    assert client.get(f"/staff/urgent/{world['urgent']}").status_code == 404
    assert client.get(f"/staff/handoffs/{world['handoff']}").status_code == 404
    assert client.post(f"/staff/urgent/{world['urgent']}/handle",
                       data={"note": "x", "status": "handled", "csrf_token": token}).status_code == 404
    assert _state(runtime) == before
    committees = client.get("/staff/committees").text
    assert "流塘社区居委会" in committees and "臣田社区居委会" not in committees


def test_district_staff_see_their_district_only_and_null_localities_are_for_admins(staff_app):
    runtime = staff_app.runtime
    mine = file(runtime)
    theirs = file(runtime, residence={"code": OTHER_DISTRICT, "name": "广东省深圳市南山区", "text": "粤海街道"})
    urgent_mine = urgent(runtime, locality=BAOAN)
    urgent_theirs = urgent(runtime, locality=OTHER_DISTRICT)
    urgent_nowhere = urgent(runtime, locality=None)
    staff_app.user("baoan", "civil_affairs", BAOAN)
    staff_app.user("admin", "admin", "national")
    baoan = staff_app.login("baoan")
    queue = baoan.get("/staff/").text
    assert mine in queue and theirs not in queue
    assert f"U-{urgent_mine:06d}" in queue
    assert f"U-{urgent_theirs:06d}" not in queue and f"U-{urgent_nowhere:06d}" not in queue
    assert baoan.get(f"/staff/urgent/{urgent_nowhere}").status_code == 404
    admin = staff_app.login("admin")
    queue = admin.get("/staff/").text
    assert all(f"U-{n:06d}" in queue for n in (urgent_mine, urgent_theirs, urgent_nowhere))
    assert admin.get(f"/staff/urgent/{urgent_nowhere}").status_code == 200
    # a street supervisor does not see district-level records outside any street
    staff_app.user("xixiang", "supervisor", XIXIANG)
    street = staff_app.login("xixiang")
    assert mine not in street.get("/staff/?status=all").text
    assert street.get(f"/staff/requests/{mine}").status_code == 404


# ------------------------------------------------------------------ CSRF

def _baoan_and_colleague(app, colleague: str):
    """A request filed in Bao'an and two of its civil-affairs officers: "baoan", signed in here, and
    a colleague, whose token, session or draft must not serve "baoan"'s (or the other way round)."""
    ref = file(app.runtime)
    app.user("baoan", "civil_affairs", BAOAN)
    app.user(colleague, "civil_affairs", BAOAN)
    return ref, app.login("baoan")


def test_posts_without_a_valid_csrf_token_are_refused(staff_app):
    runtime = staff_app.runtime
    ref, client = _baoan_and_colleague(staff_app, "baoan2")
    other_session = staff_app.login("baoan2")
    foreign_token = csrf_of(other_session.get("/staff/").text)
    before = _state(runtime)
    page = f"/staff/requests/{ref}"
    assert client.get(page).status_code == 200
    for token in (None, "", "forged", foreign_token):
        data = {"status": "under_review", "note": "开始审核", "_page": page}
        if token is not None:
            data["csrf_token"] = token
        response = client.post(f"{page}/status", data=data, follow_redirects=False)
        assert response.status_code == 403, token
        assert "安全校验未通过" in response.text
    for action in ("/staff/logout", "/staff/export", "/staff/committees", f"/staff/urgent/{urgent(runtime, locality=BAOAN)}/handle"):
        assert client.post(action, data={"format": "csv", "name": "x", "note": "x", "status": "handled"},
                           follow_redirects=False).status_code == 403, action
    assert _state(runtime)[:4] == before[:4]
    assert client.get("/staff/").status_code == 200  # still signed in: the logout without a token was refused
    ok = post_form(client, page, f"{page}/status", {"status": "under_review", "note": "开始审核"})
    assert ok.status_code == 303


def test_login_form_needs_its_csrf_cookie(staff_app):
    staff_app.user("admin", "admin", "national")
    client = staff_app.client()
    response = client.post("/staff/login", data={"username": "admin", "password": PASSWORD, "csrf_token": "x"},
                           follow_redirects=False)
    assert response.status_code == 403 and "tb_staff" not in response.headers.get("set-cookie", "")


# ------------------------------------------------------------------ escaping

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_html_and_script_in_parent_supplied_fields_are_shown_escaped(staff_app):
    runtime = staff_app.runtime
    ref = file(runtime, child_name=XSS, guardian_name=XSS, guardian_relation="<b>妈妈</b>", description=XSS,
               residence={"code": BAOAN, "name": "广东省深圳市宝安区", "text": XSS},
               hukou={"code": "411625", "name": "<i>郸城</i>"},
               transcript=[(XSS, "好的")])
    urgent_id = urgent(runtime, locality=BAOAN, message=XSS)
    handoff_id = handoff(runtime, locality=BAOAN, reason=XSS)
    staff_app.user("admin", "admin", "national")
    client = staff_app.login("admin")
    for url in (f"/staff/requests/{ref}", f"/staff/urgent/{urgent_id}", f"/staff/handoffs/{handoff_id}", "/staff/"):
        html = client.get(url).text
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>妈妈" not in html, url
        assert "<i>郸城" not in html
    page = client.get(f"/staff/requests/{ref}").text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert page.count("&lt;img src=x onerror=alert(1)&gt;") >= 5  # name, guardian, residence, description, transcript
    # staff-typed text (a committee name) is escaped too, in the page and in the dashboard SVG
    committee(runtime, name="<script>x</script>会")
    assert "<script>x" not in client.get("/staff/committees").text
    assert "<script>x" not in client.get("/staff/dashboard").text


# ------------------------------------------------------------------ audit of personal details

def test_every_view_of_personal_details_is_in_the_audit_log(staff_app):
    runtime = staff_app.runtime
    ref = file(runtime)
    urgent_id = urgent(runtime, locality=BAOAN)
    handoff_id = handoff(runtime, locality=BAOAN)
    staff_app.user("baoan", "civil_affairs", BAOAN)
    client = staff_app.login("baoan")
    for _ in range(3):
        assert client.get(f"/staff/requests/{ref}").status_code == 200
    views = [e for e in staff_app.audit("request.view") if e.target == ref]
    assert len(views) == 3 and {e.actor for e in views} == {"baoan"}
    client.get(f"/staff/urgent/{urgent_id}")
    client.get(f"/staff/handoffs/{handoff_id}")
    assert [e.target for e in staff_app.audit("urgent.view")] == [f"U-{urgent_id:06d}"]
    assert [e.target for e in staff_app.audit("handoff.view")] == [f"H-{handoff_id:06d}"]
    # a failed form re-shows the details: that is a view too
    page = f"/staff/requests/{ref}"
    post_form(client, page, f"{page}/status", {"status": "under_review", "note": ""})
    assert len([e for e in staff_app.audit("request.view") if e.target == ref]) == 5
    # the queue, the ledger and the dashboard never decrypt anything
    for url in ("/staff/", "/staff/ledger", "/staff/visits", "/staff/dashboard"):
        assert "王小明" not in client.get(url).text
    export = post_form(client, "/staff/export", "/staff/export", {"format": "xlsx", "include_closed": "1"})
    assert export.status_code == 200
    (event,) = staff_app.audit("ledger.export")
    assert event.actor == "baoan" and event.target == f"area:{BAOAN}" and "format=xlsx" in event.detail


# ------------------------------------------------------------------ cookies, headers, sessions

def _cookie(response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(name + "="):
            return header
    raise AssertionError(f"no {name} cookie")


def test_session_cookie_is_httponly_samesite_and_secure_on_https(staff_app):
    staff_app.user("admin", "admin", "national")
    response = login(staff_app.client(), "admin")
    cookie = _cookie(response, "tb_staff").lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/staff" in cookie
    assert "max-age=43200" in cookie and "secure" not in cookie
    secure = login(staff_app.client(base_url="https://testserver"), "admin")
    assert "; secure" in _cookie(secure, "tb_staff").lower()
    with staff_app.runtime.db.session() as session:
        stored = list(session.scalars(select(StaffSession.token_hash)))
    token = _cookie(response, "tb_staff").split(";")[0].split("=", 1)[1]
    assert token not in stored and token_hash(token) in stored


def test_security_headers(staff_app):
    staff_app.user("admin", "admin", "national")
    client = staff_app.login("admin")
    for url in ("/staff/", "/staff/login", "/staff/requests/LD-2026-000404"):
        headers = client.get(url).headers
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
        assert headers["cache-control"] == "no-store"
        csp = headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    css = client.get("/staff/static/staff.css")
    assert css.status_code == 200 and css.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in css.headers["cache-control"]
    assert client.get("/healthz").headers.get("content-security-policy") is None  # other apps untouched


def test_idle_absolute_and_revoked_sessions_end(staff_app):
    runtime = staff_app.runtime
    staff_app.user("admin", "admin", "national")
    client = staff_app.login("admin")
    assert client.get("/staff/", follow_redirects=False).status_code == 200
    with runtime.db.session() as session:
        session.execute(update(StaffSession).values(last_seen_at=clock.utcnow() - dt.timedelta(minutes=31)))
    response = client.get("/staff/", follow_redirects=False)
    assert response.status_code == 303 and "expired=1" in response.headers["location"]
    assert "tb_staff=" in response.headers.get("set-cookie", "")  # the stale cookie is cleared

    client = staff_app.login("admin")
    with runtime.db.session() as session:
        session.execute(update(StaffSession).values(expires_at=clock.utcnow() - dt.timedelta(seconds=1)))
    assert client.get("/staff/", follow_redirects=False).status_code == 303

    client = staff_app.login("admin")
    token = csrf_of(client.get("/staff/").text)
    assert client.post("/staff/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert client.get("/staff/", follow_redirects=False).status_code == 303

    client = staff_app.login("admin")
    with runtime.db.session() as session:
        set_user_active(session=session, username="admin", active=False, actor="test")
    assert client.get("/staff/", follow_redirects=False).status_code == 303
    assert login(staff_app.client(), "admin").status_code == 401


@pytest.mark.slow
def test_login_throttling_per_user_and_client_and_per_client(staff_app):
    from staff import throttle

    runtime = staff_app.runtime
    start = (time.time() // throttle.WINDOW + 1) * throttle.WINDOW + 1  # the start of a window
    runtime.limiter.clock = lambda: start
    staff_app.user("admin", "admin", "national")
    client = staff_app.client()
    for _ in range(throttle.PAIR_LIMIT):
        response = login(client, "admin", "wrong-password")
        assert response.status_code == 401 and "用户名或密码不正确" in response.text
    locked = login(client, "admin")  # the right password, but this client used up its attempts
    assert locked.status_code == 429 and "分钟后再试" in locked.text and int(locked.headers["retry-after"]) > 0
    assert len(staff_app.audit("login.failure")) == throttle.PAIR_LIMIT
    assert staff_app.audit("login.throttled")
    # the lock lifts with the window
    runtime.limiter.clock = lambda: start + throttle.WINDOW
    assert login(client, "admin").status_code == 303
    assert staff_app.audit("login.success")
    # one address trying many names is stopped too, whatever the name
    roamer = staff_app.client()  # the same address, no session
    for n in range(throttle.CLIENT_LIMIT):
        assert login(roamer, f"nobody{n}", "x-wrong-password").status_code == 401
    assert login(staff_app.client(), "admin").status_code == 429


def test_unknown_users_and_disabled_users_get_the_same_answer(staff_app):
    staff_app.user("admin", "admin", "national")
    unknown = login(staff_app.client(), "ghost", "whatever-password")
    wrong = login(staff_app.client(), "admin", "whatever-password")
    assert unknown.status_code == wrong.status_code == 401
    assert re.sub(r'value="[^"]*"', "", unknown.text).replace("ghost", "") == \
        re.sub(r'value="[^"]*"', "", wrong.text).replace("admin", "")


# ------------------------------------------------------------------ expired sessions keep the note

def test_expired_session_keeps_the_half_written_note(staff_app):
    runtime = staff_app.runtime
    ref, client = _baoan_and_colleague(staff_app, "other")
    page = f"/staff/requests/{ref}"
    token = csrf_of(client.get(page).text)
    with runtime.db.session() as session:
        session.execute(update(StaffSession).values(last_seen_at=clock.utcnow() - dt.timedelta(hours=1)))
    note = "已电话联系家长，<下周>上门核实"
    response = client.post(f"{page}/status", data={"csrf_token": token, "_page": page, "_form": "status",
                                                   "status": "under_review", "note": note}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/staff/login?next=%2Fstaff%2Frequests%2F{ref}&expired=1"
    assert request_row(runtime, ref).status == "submitted"
    with runtime.db.session() as session:
        (draft,) = session.scalars(select(StaffDraft))
        assert note not in draft.fields_enc  # encrypted at rest
    login_page = client.get(response.headers["location"])
    assert "登录已超时" in login_page.text and "自动填回" in login_page.text
    done = client.post("/staff/login", data={"username": "baoan", "password": PASSWORD, "next": page,
                                             "csrf_token": csrf_of(login_page.text)}, follow_redirects=False)
    assert done.headers["location"] == page
    restored = client.get(page)
    assert "已为您填回" in restored.text
    assert "已电话联系家长，&lt;下周&gt;上门核实</textarea>" in restored.text
    assert '<option value="under_review" selected>' in restored.text
    again = client.get(page)  # used once
    assert "已为您填回" not in again.text and "已电话联系家长" not in again.text
    # nothing is kept for a forged post on an expired session, and a draft is only for its owner
    with runtime.db.session() as session:
        session.execute(update(StaffSession).values(last_seen_at=clock.utcnow() - dt.timedelta(hours=1)))
    client.post(f"{page}/status", data={"csrf_token": "forged", "_page": page, "note": "伪造"}, follow_redirects=False)
    with runtime.db.session() as session:
        assert list(session.scalars(select(StaffDraft))) == []
    token = csrf_of(staff_app.login("baoan").get(page).text)
    with runtime.db.session() as session:
        session.execute(update(StaffSession).values(last_seen_at=clock.utcnow() - dt.timedelta(hours=1)))
    expired = staff_app.client()
    session_cookie = [c for c in staff_app.clients[-2].cookies.jar if c.name == "tb_staff"][0]
    expired.cookies.set("tb_staff", session_cookie.value, path="/staff")
    response = expired.post(f"{page}/status", data={"csrf_token": token, "_page": page, "note": "只给本人"},
                            follow_redirects=False)
    draft_cookie = _cookie(response, "tb_draft").split(";")[0].split("=", 1)[1]
    thief = staff_app.login("other")
    thief.cookies.set("tb_draft", draft_cookie, path="/staff")
    assert "只给本人" not in thief.get(page).text
