"""Staff work, on SQLite and PostgreSQL: the queue, a request's status and visits, reminders,
the dashboard, the export, committees and posters, urgent records and handoffs, roles."""

from __future__ import annotations

import datetime as dt
import io
import re

from sqlalchemy import select, update

from ledger import clock
from ledger.casework import add_months
from ledger.models import LedgerEntry, OutboxMessage, UrgentRecord
from ledger.queue import QUEUE_PAGE_SIZE
from staff.export import LEDGER_COLUMNS
from tests.test_staff_support import (BAOAN, LIUTANG, OTHER_DISTRICT, XIXIANG, committee, csrf_of, file,  # noqa: F401
                                      handoff, post_form, request_row, staff_app, staff_backend, urgent)

NOW = dt.datetime.now(dt.timezone.utc)


def _days_ago(n: int) -> dt.datetime:
    return NOW - dt.timedelta(days=n)


def _set_status(runtime, reference: str, *statuses: str, first_visit_on=None) -> None:
    from ledger import casework

    with runtime.db.session() as session:
        row = casework.find_request(session=session, reference=reference)
        for status in statuses:
            casework.change_status(session=session, cipher=runtime.cipher, request=row, status=status,
                                   note=f"测试：{status}", actor="test", first_visit_on=first_visit_on)


def _refs(html: str) -> list[str]:
    return re.findall(r'data-reference="(LD-\d{4}-\d+)"', html)


# ------------------------------------------------------------------ the queue

def test_queue_urgent_first_then_requests_and_handoffs_with_filters(staff_app):
    runtime = staff_app.runtime
    _cid, code = committee(runtime)
    old = file(runtime, now=_days_ago(40), situations=["disability"])
    new = file(runtime, now=_days_ago(1))
    via_committee = file(runtime, now=_days_ago(5), referral=code, situations=["vagrancy"])
    done = file(runtime, now=_days_ago(10))
    _set_status(runtime, done, "accepted")
    elsewhere = file(runtime, residence={"code": OTHER_DISTRICT, "name": "广东省深圳市南山区", "text": "粤海"})
    urgent_id = urgent(runtime, locality=BAOAN)
    handoff_id = handoff(runtime, locality=BAOAN)
    staff_app.user("baoan", "civil_affairs", BAOAN)
    client = staff_app.login("baoan")

    html = client.get("/staff/").text
    assert html.index('id="urgent-table"') < html.index('id="handoff-table"') < html.index('id="queue-table"')
    assert f'href="/staff/urgent/{urgent_id}"' in html and 'class="urgent-row"' in html
    assert f'href="/staff/handoffs/{handoff_id}"' in html
    assert _refs(html) == [new, via_committee, old]  # open requests, newest first; not accepted, not elsewhere
    assert elsewhere not in html and done not in html
    assert _refs(client.get("/staff/?order=oldest").text) == [old, via_committee, new]
    assert _refs(client.get("/staff/?status=accepted").text) == [done]
    assert _refs(client.get("/staff/?status=all").text) == [new, via_committee, done, old]
    assert _refs(client.get("/staff/?situation=disability").text) == [old]
    assert _refs(client.get(f"/staff/?area={LIUTANG}").text) == [via_committee]
    assert _refs(client.get(f"/staff/?area={XIXIANG}").text) == [via_committee]
    since, until = (NOW - dt.timedelta(days=7)).date(), NOW.date()
    assert _refs(client.get(f"/staff/?since={since}&until={until}").text) == [new, via_committee]
    assert _refs(client.get(f"/staff/?q={done.lower()}").text) == [done]  # search finds any status
    assert client.get(f"/staff/?q=H-{handoff_id:06d}", follow_redirects=False).headers["location"] == \
        f"/staff/handoffs/{handoff_id}"

    bad = client.get(f"/staff/?q=abc&since=2026-13-01&area={OTHER_DISTRICT}&situation=x")
    assert bad.status_code == 400
    assert "请输入完整的编号" in bad.text and "格式不对" in bad.text and "不在您的管辖范围内" in bad.text
    assert "请选择列表中的困境情形" in bad.text
    wrong_order = client.get(f"/staff/?since={until}&until={since}")
    assert wrong_order.status_code == 400 and "结束日期不能早于开始日期" in wrong_order.text


def test_queue_paginates(staff_app):
    runtime = staff_app.runtime
    refs = [file(runtime, now=_days_ago(60 - i)) for i in range(QUEUE_PAGE_SIZE + 3)]
    staff_app.user("admin", "admin", "national")
    client = staff_app.login("admin")
    first = client.get("/staff/").text
    assert "共 53 份申请" in first and "第 1 / 2 页" in first and 'id="page-next"' in first
    assert _refs(first) == list(reversed(refs))[:QUEUE_PAGE_SIZE]
    second = client.get("/staff/?page=2").text
    assert _refs(second) == list(reversed(refs))[QUEUE_PAGE_SIZE:] and 'id="page-prev"' in second
    assert _refs(client.get("/staff/?page=99").text) == _refs(second)  # past the end: the last page


# ------------------------------------------------------------------ status changes

def test_status_changes_need_a_note_accept_into_the_ledger_and_notify_the_parent(staff_app):
    runtime = staff_app.runtime
    ref = file(runtime, channel="telegram", sender="tg-1001")
    staff_app.user("baoan", "civil_affairs", BAOAN)
    client = staff_app.login("baoan")
    page = f"/staff/requests/{ref}"
    html = client.get(page).text
    assert "王小明" in html and "13800138000" not in html  # the helper gives every filing its own phone
    assert re.findall(r'<option value="(\w+)"', html) == ["under_review", "accepted", "referred", "not_eligible",
                                                          "closed"]

    missing = post_form(client, page, f"{page}/status", {"status": "under_review", "note": "   "})
    assert missing.status_code == 400 and "请填写说明" in missing.text and 'aria-invalid="true"' in missing.text
    no_status = post_form(client, page, f"{page}/status", {"status": "", "note": "看一下"})
    assert no_status.status_code == 400 and "请选择新的状态" in no_status.text and "看一下</textarea>" in no_status.text
    too_long = post_form(client, page, f"{page}/status", {"status": "under_review", "note": "长" * 2001})
    assert too_long.status_code == 400 and "2000 字以内" in too_long.text
    assert request_row(runtime, ref).status == "submitted"

    ok = post_form(client, page, f"{page}/status", {"status": "under_review", "note": "已电话联系，约周三上门"})
    assert ok.status_code == 303 and ok.headers["location"] == f"{page}?done=status#history"
    shown = client.get(ok.headers["location"]).text
    assert "状态已更新" in shown and "已电话联系，约周三上门" in shown and 'id="request-status"' in shown
    assert request_row(runtime, ref).status == "under_review"

    bad_date = post_form(client, page, f"{page}/status", {"status": "accepted", "note": "符合条件",
                                                          "first_visit_on": "2020-01-01"})
    assert bad_date.status_code == 400 and "首次走访日期不能早于今天" in bad_date.text
    first_visit = clock.beijing_today() + dt.timedelta(days=3)
    accepted = post_form(client, page, f"{page}/status", {"status": "accepted", "note": "家庭困难，纳入台账",
                                                          "first_visit_on": first_visit.isoformat()})
    assert accepted.status_code == 303
    with runtime.db.session() as session:
        entry = session.scalar(select(LedgerEntry))
        assert entry.next_visit_on == first_visit and entry.status == "active"
        assert entry.next_review_on in (add_months(NOW.date(), 6), add_months(clock.beijing_today(), 6))
        texts = [runtime.cipher.decrypt(m.payload_enc) for m in session.scalars(select(OutboxMessage))]
    assert len(texts) == 2 and ref in texts[0] and "审核中" in texts[0] and "已纳入重点关爱台账" in texts[1]
    assert all("约周三上门" not in t for t in texts)  # the staff note stays internal
    html = client.get(page).text
    assert re.findall(r'<option value="(\w+)"', html) == ["closed"] and 'id="visit-form"' in html
    wrong = post_form(client, page, f"{page}/status", {"status": "under_review", "note": "退回"})
    assert wrong.status_code == 400 and "不能改为" in wrong.text
    events = staff_app.audit("request.status")
    assert [(e.actor, e.target, e.detail) for e in events] == [("baoan", ref, "under_review"), ("baoan", ref, "accepted")]


def test_committee_and_director_roles_start_reviews_and_refer_but_do_not_decide(staff_app):
    runtime = staff_app.runtime
    _cid, code = committee(runtime)
    ref = file(runtime, referral=code)
    staff_app.user("liutang", "committee", LIUTANG)
    client = staff_app.login("liutang")
    page = f"/staff/requests/{ref}"
    assert re.findall(r'<option value="(\w+)"', client.get(page).text) == ["under_review", "referred"]
    refused = post_form(client, page, f"{page}/status", {"status": "accepted", "note": "纳入"})
    assert refused.status_code == 400 and "您的角色不能做出这项决定" in refused.text
    assert request_row(runtime, ref).status == "submitted"
    assert post_form(client, page, f"{page}/status", {"status": "referred", "note": "转街道"}).status_code == 303
    for url in ("/staff/audit", "/staff/knowledge", "/staff/users"):
        response = client.get(url)
        assert response.status_code == 403 and "没有这项操作的权限" in response.text, url
    assert client.get("/staff/export").status_code == 200


# ------------------------------------------------------------------ visits and reminders

def test_visits_are_validated_recorded_and_reminders_list_what_is_due(staff_app):
    runtime = staff_app.runtime
    ref = file(runtime)
    _set_status(runtime, ref, "accepted")
    due = file(runtime)
    _set_status(runtime, due, "accepted")
    staff_app.user("director", "civil_affairs", BAOAN, display_name="张主任")
    client = staff_app.login("director")
    page = f"/staff/requests/{ref}"
    html = client.get(page).text
    assert f'value="{clock.beijing_today().isoformat()}"' in html and 'value="张主任"' in html
    # a day that is "today or earlier" in UTC and in Beijing time alike (casework counts in UTC)
    today = min(clock.beijing_today(), dt.datetime.now(dt.timezone.utc).date())

    cases = [
        ({"visited_on": "", "visitor": "张主任", "findings": "好", "next_visit_on": "2099-01-01"}, "请填写走访日期"),
        ({"visited_on": "昨天", "visitor": "张主任", "findings": "好", "next_visit_on": "2099-01-01"}, "走访日期的格式不对"),
        ({"visited_on": (clock.beijing_today() + dt.timedelta(days=2)).isoformat(), "visitor": "张主任", "findings": "好",
          "next_visit_on": "2099-01-01"}, "走访日期不能晚于今天"),
        ({"visited_on": today.isoformat(), "visitor": "", "findings": "好", "next_visit_on": "2099-01-01"}, "请填写走访人"),
        ({"visited_on": today.isoformat(), "visitor": "张主任", "findings": "  ", "next_visit_on": "2099-01-01"},
         "请填写走访情况"),
        ({"visited_on": today.isoformat(), "visitor": "张主任", "findings": "好", "next_visit_on": ""},
         "请填写下次走访日期"),
        ({"visited_on": today.isoformat(), "visitor": "张主任", "findings": "好",
          "next_visit_on": (today - dt.timedelta(days=1)).isoformat()}, "下次走访日期应晚于本次走访日期"),
    ]
    for data, message in cases:
        response = post_form(client, page, f"{page}/visits", data)
        assert response.status_code == 400 and message in response.text, message
        assert 'id="visit-errors"' in response.text
    next_visit = today + dt.timedelta(days=30)
    ok = post_form(client, page, f"{page}/visits", {"visited_on": today.isoformat(), "visitor": "张主任",
                                                    "findings": "孩子已返校，<家里>已申请临时救助",
                                                    "next_visit_on": next_visit.isoformat(), "review_done": "1"})
    assert ok.status_code == 303 and ok.headers["location"].endswith("?done=visit#visits")
    html = client.get(ok.headers["location"]).text
    assert "走访记录已保存" in html and "孩子已返校，&lt;家里&gt;已申请临时救助" in html
    with runtime.db.session() as session:
        entry = session.scalar(select(LedgerEntry).order_by(LedgerEntry.id))
        assert entry.next_visit_on == next_visit and entry.next_review_on == add_months(today, 6)
        # the other child: a visit overdue and a review in ten days
        cst_today = clock.beijing_today()
        session.execute(update(LedgerEntry).where(LedgerEntry.id != entry.id).values(
            next_visit_on=cst_today - dt.timedelta(days=3), next_review_on=cst_today + dt.timedelta(days=10)))
    assert staff_app.audit("visit.create")[0].actor == "director"
    reminders = client.get("/staff/visits").text
    overdue = reminders[reminders.index('id="overdue-section"'):reminders.index('id="reviews-section"')]
    reviews = reminders[reminders.index('id="reviews-section"'):]
    assert due in overdue and ref not in overdue and "逾期" in overdue
    assert due in reviews and ref not in reviews
    assert _refs(client.get("/staff/ledger?view=overdue").text) == [due]
    assert _refs(client.get("/staff/ledger?view=review").text) == [due]
    assert set(_refs(client.get("/staff/ledger").text)) == {ref, due}
    dash = client.get("/staff/dashboard").text
    assert re.search(r'id="stat-overdue">1<', dash) and re.search(r'id="stat-reviews">1<', dash)

    _set_status(runtime, ref, "closed")
    html = client.get(page).text
    assert 'id="visit-form"' not in html and "已结案" in html


# ------------------------------------------------------------------ dashboard

def test_dashboard_counts_by_status_situation_area_and_month_with_svg_charts(staff_app):
    runtime = staff_app.runtime
    _cid, code = committee(runtime)
    file(runtime, situations=["disability"])
    file(runtime, referral=code, situations=["disability", "vagrancy"])
    accepted = file(runtime, now=_days_ago(40))
    _set_status(runtime, accepted, "accepted")
    file(runtime, residence={"code": OTHER_DISTRICT, "name": "广东省深圳市南山区", "text": "粤海"})
    urgent(runtime, locality=BAOAN)
    staff_app.user("baoan", "civil_affairs", BAOAN)
    client = staff_app.login("baoan")
    response = client.get("/staff/dashboard")
    html = response.text
    assert response.status_code == 200 and html.count("<svg") == 4 and "<script" not in html
    assert re.search(r'id="stat-total">3<', html) and re.search(r'id="stat-urgent">1<', html)
    assert re.search(r'id="stat-active">1<', html)

    def table(key):
        part = html[html.index(f'id="table-{key}"'):]
        part = part[:part.index("</table>")]
        return dict(re.findall(r'<th scope="row">([^<]+)</th><td>(\d+)</td>', part))

    assert table("status")["已提交，等待审核"] == "2" and table("status")["已纳入重点关爱台账"] == "1"
    situations = table("situation")
    assert situations["自身残疾"] == "2" and situations["流浪"] == "1" and situations["家庭生活困难"] == "1"
    areas = table("area")
    assert list(areas.values()) == ["2", "1"] and any("直接受理" in k for k in areas)
    months = table("month")
    assert len(months) == 12 and months[f"{clock.beijing_today():%Y-%m}"] in ("2", "3")
    assert sum(int(v) for v in months.values()) == 3


# ------------------------------------------------------------------ export

def test_export_csv_and_excel_limited_to_the_area_and_audited(staff_app):
    from openpyxl import load_workbook

    runtime = staff_app.runtime
    refs = [file(runtime, child_name=f"孩子{i}") for i in range(3)]
    for ref in refs:
        _set_status(runtime, ref, "accepted")
    _set_status(runtime, refs[2], "closed")
    outside = file(runtime, child_name="外区孩子",
                   residence={"code": OTHER_DISTRICT, "name": "广东省深圳市南山区", "text": "粤海"})
    _set_status(runtime, outside, "accepted")
    staff_app.user("baoan", "civil_affairs", BAOAN)
    client = staff_app.login("baoan")
    form = client.get("/staff/export").text
    assert re.search(r'id="export-active">2<', form) and re.search(r'id="export-total">3<', form)

    csv_response = post_form(client, "/staff/export", "/staff/export", {"format": "csv"})
    assert csv_response.status_code == 200 and csv_response.headers["content-type"].startswith("text/csv")
    assert csv_response.headers["cache-control"] == "no-store"
    assert "attachment" in csv_response.headers["content-disposition"]
    lines = csv_response.content.decode("utf-8-sig").splitlines()
    assert lines[0].split(",") == [header for _, header in LEDGER_COLUMNS]
    body = "\n".join(lines[1:])
    assert len(lines) == 3 and refs[0] in body and refs[1] in body and "孩子0" in body
    assert refs[2] not in body and "外区孩子" not in body and "家庭生活困难、监护缺失" in body

    xlsx = post_form(client, "/staff/export", "/staff/export", {"format": "xlsx", "include_closed": "1"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "申请编号" and sorted(r[0] for r in rows[1:]) == sorted(refs)
    assert {r[-1] for r in rows[1:]} == {"在册", "已结案"}

    bad = post_form(client, "/staff/export", "/staff/export", {"format": "pdf"})
    assert bad.status_code == 400 and "请选择导出格式" in bad.text
    events = staff_app.audit("ledger.export")
    assert [e.detail for e in events] == ["format=csv rows=2 closed=no", "format=xlsx rows=3 closed=yes"]


# ------------------------------------------------------------------ committees and posters

def test_committees_referral_codes_counts_and_posters(staff_app):
    runtime = staff_app.runtime
    staff_app.user("xixiang", "supervisor", XIXIANG)
    client = staff_app.login("xixiang")
    refused = post_form(client, "/staff/committees", "/staff/committees",
                        {"name": "", "locality_code": "440305001001", "locality_name": "", "code": "a b"})
    assert refused.status_code == 400
    for message in ("请填写居委会名称", "不在您的管辖范围内", "请填写社区或街道名称", "推荐码须为"):
        assert message in refused.text, message
    refused = post_form(client, "/staff/committees", "/staff/committees",
                        {"name": "流塘社区居委会", "locality_code": "440306001000", "locality_name": "流塘社区"})
    assert refused.status_code == 400 and "不是有效的社区" in refused.text
    created = post_form(client, "/staff/committees", "/staff/committees",
                        {"name": "流塘社区居委会", "locality_code": LIUTANG, "locality_name": "西乡街道流塘社区"})
    assert created.status_code == 303
    detail_url = created.headers["location"].split("?")[0]
    detail = client.get(detail_url).text
    code = re.search(r'id="committee-code">([A-Z2-9]{8})<', detail).group(1)
    assert f"https://t.me/tongban_test_bot?start={code}" in detail
    assert "广东省深圳市宝安区西乡街道流塘社区" in detail
    duplicate = post_form(client, "/staff/committees", "/staff/committees",
                          {"name": "另一个", "locality_code": LIUTANG, "locality_name": "流塘", "code": code})
    assert duplicate.status_code == 400 and "已被使用" in duplicate.text

    shared_phone = "13900001111"
    first = file(runtime, referral=code, guardian_phone=shared_phone, child_name="大宝")
    file(runtime, referral=code, guardian_phone=shared_phone, child_name="二宝")
    file(runtime, referral=code)
    _set_status(runtime, first, "accepted")
    assert request_row(runtime, first).area_code == LIUTANG
    detail = client.get(detail_url).text
    assert re.search(r'id="committee-families">2<', detail) and re.search(r'id="committee-requests">3<', detail)
    assert re.search(r'id="committee-accepted">1<', detail)
    listing = client.get("/staff/committees").text
    assert re.search(r'<td class="num">2</td>\s*<td class="num">3</td>\s*<td class="num">1</td>', listing)

    pdf = client.get(f"{detail_url}/poster.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"
    png = client.get(f"{detail_url}/poster.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert [e.detail for e in staff_app.audit("committee.poster")] == ["pdf", "png"]
    assert staff_app.audit("committee.create")[0].actor == "xixiang"

    edit = post_form(client, detail_url, detail_url, {"name": "", "locality_name": "x", "active": "2"})
    assert edit.status_code == 400 and "请填写居委会名称" in edit.text and "请选择是否启用" in edit.text
    edit = post_form(client, detail_url, detail_url, {"name": "流塘社区居委会", "locality_name": "流塘", "active": "0"})
    assert edit.status_code == 303
    assert client.get(f"{detail_url}/poster.pdf").status_code == 403
    assert "active=False" in staff_app.audit("committee.update")[0].detail

    # a committee user sees its committee but cannot manage committees
    staff_app.user("liutang", "committee", LIUTANG)
    member = staff_app.login("liutang")
    assert member.get(detail_url).status_code == 200 and 'id="committee-edit-form"' not in member.get(detail_url).text
    assert post_form(member, "/staff/committees", "/staff/committees", {"name": "x"},
                     form_on_page=False).status_code == 403


def test_posters_need_the_bot_username(staff_app):
    staff_app.runtime.settings.telegram.bot_username = ""
    committee_id, _code = committee(staff_app.runtime)
    staff_app.user("admin", "admin", "national")
    client = staff_app.login("admin")
    page = client.get(f"/staff/committees/{committee_id}").text
    assert "尚未配置机器人的用户名" in page and 'id="poster-pdf"' not in page
    response = client.get(f"/staff/committees/{committee_id}/poster.pdf")
    assert response.status_code == 409 and "TONGBAN_TELEGRAM__BOT_USERNAME" in response.text
    staff_app.app.state.telegram_bot_username = "learnt_from_getme_bot"
    assert client.get(f"/staff/committees/{committee_id}/poster.pdf").status_code == 200


# ------------------------------------------------------------------ urgent records and handoffs

def test_a_record_the_parent_stood_down_is_tagged_and_stays_open(staff_app):
    from ledger import services

    runtime = staff_app.runtime
    urgent_id = urgent(runtime, locality=BAOAN, message="孩子放学四个钟头了还没回来")
    other_id = urgent(runtime, locality=BAOAN, message="孩子被打了，身上都是伤")
    with runtime.db.session() as session:
        services.record_stand_down(session=session, cipher=runtime.cipher,
                                   record=session.get(UrgentRecord, urgent_id), message="找到了 在同学家")
    staff_app.user("baoan-sd", "civil_affairs", BAOAN)
    client = staff_app.login("baoan-sd")
    queue = client.get("/staff/").text
    row = queue[queue.index(f'id="urgent-{urgent_id}"'):]
    assert "家长称已解除" in row[:row.index("</tr>")]
    row = queue[queue.index(f'id="urgent-{other_id}"'):]
    assert "家长称已解除" not in row[:row.index("</tr>")]
    html = client.get(f"/staff/urgent/{urgent_id}").text
    assert 'id="case-stood-down"' in html and "请联系家长确认" in html
    assert "孩子放学四个钟头了还没回来" in html and "找到了 在同学家" in html
    with runtime.db.session() as session:
        assert session.get(UrgentRecord, urgent_id).status == "new"


def test_urgent_records_and_handoffs_are_handled_with_a_note(staff_app):
    runtime = staff_app.runtime
    urgent_id = urgent(runtime, locality=BAOAN, message="他爸爸喝醉了打孩子")
    handoff_id = handoff(runtime, locality=BAOAN)
    staff_app.user("baoan", "civil_affairs", BAOAN)
    client = staff_app.login("baoan")
    page = f"/staff/urgent/{urgent_id}"
    html = client.get(page).text
    assert "他爸爸喝醉了打孩子" in html and "110" in html and "暴力或虐待" in html and 'id="transcript-list"' in html
    missing = post_form(client, page, f"{page}/handle", {"note": "", "status": "handled"})
    assert missing.status_code == 400 and "请填写处理情况" in missing.text
    keep = post_form(client, page, f"{page}/handle", {"note": "已转派出所，明天回访", "status": "new"})
    assert keep.status_code == 303
    assert f"U-{urgent_id:06d}" in client.get("/staff/").text
    done = post_form(client, page, f"{page}/handle", {"note": "派出所已出警，孩子安全", "status": "handled"})
    assert done.status_code == 303 and done.headers["location"] == f"{page}?done=handled"
    html = client.get(done.headers["location"]).text
    assert "已转派出所，明天回访" in html and "派出所已出警，孩子安全" in html and "处理记录已保存" in html
    assert f"U-{urgent_id:06d}" not in client.get("/staff/").text
    with runtime.db.session() as session:
        assert session.get(UrgentRecord, urgent_id).status == "handled"
    assert [e.action for e in staff_app.audit() if e.target == f"U-{urgent_id:06d}"] == \
        ["urgent.view"] * 4 + ["urgent.note", "urgent.view", "urgent.handled", "urgent.view"]

    page = f"/staff/handoffs/{handoff_id}"
    assert post_form(client, page, f"{page}/handle", {"note": "已回电", "status": "handled"}).status_code == 303
    html = client.get(page).text
    assert "已联系" in html and "baoan" in html
    assert f"H-{handoff_id:06d}" not in client.get("/staff/").text
