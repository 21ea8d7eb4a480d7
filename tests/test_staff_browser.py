"""Browser tests of the staff app (工作人员平台): Playwright driving Debian's Chromium against the
real app (``tongban.app.create_app``, which installs the staff pages) served by uvicorn.

One server per module, on SQLite in a temporary directory, with a knowledge base of its own (a copy
of the shared index: publishing a checklist here must not change what other tests see). Every test
seeds the records it works on through the real filing and casework functions and signs in itself,
so the tests do not depend on each other or on their order. Screenshots of each key step go to
``test-artifacts/screenshots/staff-*.png``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from ledger import clock
from ledger.accounts import create_user
from ledger.casework import add_months
from tests.browser import VIEWPORT, browser, page, screenshot  # noqa: F401
from tests.live_server import LiveServer
from tests.test_staff_support import BAOAN, BOT, LIUTANG, PASSWORD, file, urgent

pytestmark = pytest.mark.slow  # a browser: left out of make test-fast

ADMIN = "chief"
BAOAN_USER = "baoan-staff"
BAOAN_NAME = "宝安民政小刘"
DANGER_BG = "rgb(253, 236, 236)"  # --danger-bg in staff/static/staff.css

NEW_CHECKLIST_ID = "440306-browser-test-summer"  # a district names its new checklists with its code
NEW_ITEM_ID = "BT-BA-summer-care"
NEW_ITEM_TITLE = "【测试】宝安区暑期少儿托管班报名"


# ------------------------------------------------------------------ the server


@dataclass
class Site:
    url: str
    runtime: object

    def at(self, path: str) -> str:
        return self.url + path


@pytest.fixture(scope="module")
def own_knowledge(tmp_path_factory, kb, embedder):
    """A knowledge base for this module only, started from a copy of the shared index."""
    from tests.helpers import private_knowledge

    own = private_knowledge(tmp_path_factory, kb, embedder, "browser-kb")
    yield own
    own.stop()


@pytest.fixture(scope="module")
def site(browser, tmp_path_factory, own_knowledge, interpreter):
    """The real app on a free port (``browser`` first: without Chromium, no server)."""
    from tongban.app import create_app
    from tongban.runtime import Runtime
    from tongban.settings import Settings

    settings = Settings(env="test", data_dir=tmp_path_factory.mktemp("browser-staff"),
                        database={"url": ""}, knowledge={"watch_interval": 0},
                        telegram={"bot_username": BOT}, security={"api_token": API_TOKEN})
    runtime = Runtime.build(settings, knowledge=own_knowledge, interpreter=interpreter)
    with runtime.db.session() as session:
        create_user(session=session, areas=runtime.areas, username=ADMIN, role="admin", area="national",
                    password=PASSWORD, display_name="王主任", created_by="test")
        create_user(session=session, areas=runtime.areas, username=BAOAN_USER, role="civil_affairs",
                    area=BAOAN, password=PASSWORD, display_name=BAOAN_NAME,
                    created_by="test")
    app = create_app(settings, runtime=runtime)
    try:
        with LiveServer(app) as server:
            yield Site(server.url, runtime)
    finally:
        runtime.close(stop_knowledge=False)


# ------------------------------------------------------------------ helpers


def today() -> dt.date:
    return clock.beijing_today()


def sign_in(page, site: Site, username: str, password: str = PASSWORD) -> None:
    """Open the queue, get sent to the login page, sign in like a user, land on the queue."""
    page.goto(site.at("/staff/"))
    page.wait_for_url(re.compile(r"/staff/login\?next="))
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(site.at("/staff/"))
    page.locator("#current-user").wait_for()


def submit(page, button: str, url_pattern: str) -> None:
    """Click a submit button and wait for the page the server answers with (a new navigation, even
    when the answer has the same address as the form's page)."""
    with page.expect_navigation(url=re.compile(url_pattern), wait_until="domcontentloaded"):
        page.locator(button).click()


def accept(site: Site, reference: str, *, now: dt.datetime | None = None) -> None:
    """Accept a request into the ledger through the real casework function."""
    from ledger import casework

    with site.runtime.db.session() as session:
        row = casework.find_request(session=session, reference=reference)
        casework.change_status(session=session, cipher=site.runtime.cipher, request=row,
                               status="accepted", note="入户核实后纳入台账", actor="seed", now=now)


def audit_details(site: Site, action: str, target: str | None = None) -> list[str]:
    """The details of the audit events with this action (and target), oldest first."""
    from sqlalchemy import select

    from ledger.models import AuditEvent

    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    if target is not None:
        query = query.where(AuditEvent.target == target)
    with site.runtime.db.session() as session:
        return [event.detail or "" for event in session.scalars(query)]


def background(locator) -> str:
    return locator.evaluate("el => getComputedStyle(el).backgroundColor")


API_TOKEN = "browser-test-token"  # the parent's side talks as a trusted REST integration


def chat(site: Site, sender: str, text: str) -> list[dict]:
    with httpx.Client(trust_env=False, timeout=30) as client:
        response = client.post(site.at("/webhooks/rest/webhook"), json={"sender": sender, "message": text},
                               headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert response.status_code == 200, response.text
    return response.json()


def search(site: Site, q: str, locality: str = BAOAN) -> dict:
    with httpx.Client(trust_env=False, timeout=30) as client:
        response = client.get(site.at("/knowledge/search"), params={"q": q, "locality": locality})
    assert response.status_code == 200, response.text
    return response.json()


# ------------------------------------------------------------------ 1. signing in


def test_login_wrong_password_then_success_and_logout(page, site):
    page.goto(site.at("/staff/"))
    page.wait_for_url(re.compile(r"/staff/login\?next=%2Fstaff%2F"))
    assert page.title().startswith("登录")
    page.get_by_label("用户名").fill(ADMIN)
    page.get_by_label("密码").fill("not-the-password-1")
    page.get_by_role("button", name="登录").click()
    page.locator("#login-error").wait_for()
    assert page.locator("#login-error").inner_text() == "用户名或密码不正确。"
    # the name is kept, the password not
    assert page.locator("#login-username").input_value() == ADMIN
    assert page.locator("#login-password").input_value() == ""
    screenshot(page, "staff-login-error")

    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(site.at("/staff/"))
    assert page.locator("#current-user").inner_text() == "王主任"
    assert page.get_by_role("heading", level=1).inner_text() == "待办队列"
    nav = page.get_by_role("navigation", name="主导航")
    for label in ("待办队列", "台账", "走访提醒", "统计", "导出", "居委会", "服务清单", "审计日志", "账号"):
        assert nav.get_by_role("link", name=label, exact=True).count() == 1, label
    screenshot(page, "staff-login-queue")

    page.locator("#logout-button").click()
    page.wait_for_url(re.compile(r"/staff/login\?bye=1"))
    assert page.locator("#logout-notice").inner_text() == "您已安全退出。"
    page.goto(site.at("/staff/ledger"))  # signed out: back to the login page
    page.wait_for_url(re.compile(r"/staff/login\?next=%2Fstaff%2Fledger"))


# ------------------------------------------------------------------ 2. urgent records


def test_urgent_record_on_top_highlighted_and_triaged(page, site):
    message = f"孩子被继父打了，胳膊上都是伤 {uuid.uuid4().hex[:6]}"
    record_id = urgent(site.runtime, locality=BAOAN, message=message)
    reference = f"U-{record_id:06d}"
    request_ref = file(site.runtime, child_name="赵小雨")  # so the queue has requests below it

    sign_in(page, site, BAOAN_USER)
    link = page.locator(f"#urgent-{record_id}")
    assert link.inner_text() == reference
    urgent_table, queue_table = page.locator("#urgent-table"), page.locator("#queue-table")
    # on top of the requests
    assert urgent_table.bounding_box()["y"] < queue_table.bounding_box()["y"]
    row = urgent_table.locator("tr", has=link)
    assert "urgent-row" in row.get_attribute("class")
    assert background(row) == DANGER_BG
    assert background(queue_table.locator(f'tr[data-reference="{request_ref}"]')) != DANGER_BG
    assert "深圳市宝安区" in row.inner_text() and "暴力或虐待" in row.inner_text()
    assert message not in page.content()  # the message is shown only on the record's own page
    screenshot(page, "staff-queue-urgent")

    link.click()
    page.wait_for_url(site.at(f"/staff/urgent/{record_id}"))
    assert page.locator("#case-reference").inner_text() == reference
    assert page.locator("#case-text").inner_text() == message
    assert page.locator("#case-status").inner_text() == "待处理"
    assert "请立即拨打 110" in page.locator("#transcript-list").inner_text()

    # a note is required
    page.get_by_role("button", name="保存").click()
    page.locator("#note-error").wait_for()
    assert page.locator("#note-error").inner_text() == "请填写处理情况。"
    assert page.locator("#case-errors").is_visible()

    note = "已电话联系家长并报告派出所，社工明天上门。"
    page.get_by_label("处理情况（必填）").fill(note)
    page.get_by_label("已处理").check()
    submit(page, "#case-submit", rf"/staff/urgent/{record_id}\?done=handled")
    assert page.locator("#notice").inner_text() == "处理记录已保存。"
    assert page.locator("#case-status").inner_text() == "已处理"
    notes = page.locator("#notes-table tbody tr")
    assert notes.count() == 1
    assert note in notes.first.inner_text() and BAOAN_USER in notes.first.inner_text()
    screenshot(page, "staff-urgent-handled")

    page.get_by_role("link", name="待办队列").first.click()
    page.wait_for_url(site.at("/staff/"))
    assert page.locator(f"#urgent-{record_id}").count() == 0  # handled: off the queue


# ------------------------------------------------------------------ 3 + 4. a request: accept, visit


def test_accept_a_request_then_record_a_visit(page, site):
    child = f"测试{uuid.uuid4().hex[:4]}"
    reference = file(site.runtime, child_name=child, guardian_name="周红",
                     description="孩子爸爸住院了，家里没人照看孩子", situations=["guardianship_gap"])

    sign_in(page, site, BAOAN_USER)
    page.get_by_label("按编号查找").fill(reference.lower())  # case does not matter
    page.locator("#filter-submit").click()
    page.wait_for_url(re.compile(r"/staff/\?q="))
    rows = page.locator("#queue-table tbody tr")
    assert rows.count() == 1 and rows.first.get_attribute("data-reference") == reference
    assert "已提交，等待审核" in rows.first.inner_text() and "监护缺失" in rows.first.inner_text()
    assert child not in page.content()  # personal details are decrypted only on the request's page

    rows.first.get_by_role("link", name=reference).click()
    page.wait_for_url(site.at(f"/staff/requests/{reference}"))
    assert page.locator("#request-reference").inner_text() == reference
    assert page.locator("#child-name").inner_text() == child
    assert page.locator("#guardian-name").inner_text() == "周红"
    assert page.locator("#request-description").inner_text() == "孩子爸爸住院了，家里没人照看孩子"
    assert page.locator("#entry-none").is_visible()
    screenshot(page, "staff-request-details")

    # accept with a note and a first-visit date
    first_visit = today() + dt.timedelta(days=7)
    page.get_by_label("新状态").select_option(label="已纳入重点关爱台账")
    page.get_by_label("说明（必填，家长看不到）").fill("核实属实，纳入重点关爱台账。")
    page.get_by_label("首次走访日期").fill(first_visit.isoformat())
    submit(page, "#status-submit", rf"/staff/requests/{reference}\?done=status")
    assert page.locator("#notice").inner_text().startswith("状态已更新")
    assert page.locator("#request-status").inner_text() == "已纳入重点关爱台账"
    last_change = page.locator("#history-table tbody tr").last
    assert "已纳入重点关爱台账" in last_change.inner_text() and "核实属实" in last_change.inner_text()
    assert page.locator("#entry-status").inner_text() == "在册"
    assert page.locator("#entry-next-visit").inner_text() == first_visit.isoformat()
    assert page.locator("#entry-next-review").inner_text() == add_months(today(), 6).isoformat()
    assert page.locator("#visits-empty").is_visible()
    screenshot(page, "staff-request-accepted")

    # the ledger lists the entry with its dates
    page.get_by_role("link", name="台账", exact=True).click()
    page.wait_for_url(site.at("/staff/ledger"))
    entry = page.locator(f'#ledger-table tr[data-reference="{reference}"]')
    cells = entry.locator("td").all_inner_texts()
    assert today().isoformat() in cells                        # 纳入日期
    assert first_visit.isoformat() in cells                    # 下次走访
    assert add_months(today(), 6).isoformat() in cells         # 下次复核
    screenshot(page, "staff-ledger")

    # record a visit: a date in the future is refused in Chinese, what was typed is kept
    entry.get_by_role("link", name=reference).click()
    page.wait_for_url(re.compile(rf"/staff/requests/{reference}#visits"))
    assert page.locator("#visit-date").input_value() == today().isoformat()  # today by default
    assert page.locator("#visit-visitor").input_value() == BAOAN_NAME
    findings = "孩子由奶奶临时照看，情绪稳定；已对接社区托管。"
    next_visit = today() + dt.timedelta(days=30)
    page.get_by_label("走访日期", exact=True).fill((today() + dt.timedelta(days=2)).isoformat())
    page.get_by_label("走访人").fill("刘社工")
    page.get_by_label("走访情况").fill(findings)
    page.get_by_label("下次走访日期").fill(next_visit.isoformat())
    page.locator("#visit-submit").click()
    page.locator("#visited_on-error").wait_for()
    assert page.locator("#visited_on-error").inner_text() == "走访日期不能晚于今天。"
    assert page.locator("#visit-errors").inner_text() == "没有保存，请按提示修改后再提交。"
    assert page.locator("#visit-date").get_attribute("aria-invalid") == "true"
    assert page.locator("#visit-findings").input_value() == findings
    assert page.locator("#visit-visitor").input_value() == "刘社工"
    screenshot(page, "staff-visit-error")

    page.get_by_label("走访日期", exact=True).fill(today().isoformat())
    submit(page, "#visit-submit", rf"/staff/requests/{reference}\?done=visit")
    assert page.locator("#notice").inner_text() == "走访记录已保存。"
    visit = page.locator("#visits-table tbody tr")
    assert visit.count() == 1
    assert visit.first.locator("td").all_inner_texts() == [today().isoformat(), "刘社工", findings,
                                                          next_visit.isoformat()]
    assert page.locator("#entry-next-visit").inner_text() == next_visit.isoformat()
    screenshot(page, "staff-visit-saved")

    page.get_by_role("link", name="台账", exact=True).click()
    page.wait_for_url(site.at("/staff/ledger"))
    cells = page.locator(f'#ledger-table tr[data-reference="{reference}"] td').all_inner_texts()
    # 纳入日期 and 最近走访 are today; 下次走访 is the date just entered
    assert cells.count(today().isoformat()) == 2 and next_visit.isoformat() in cells


def test_overdue_visit_on_the_reminders_and_dashboard_then_recorded(page, site):
    reference = file(site.runtime, child_name="钱小川")
    # accepted 170 days ago: the first visit was due 156 days ago, the review is due in ~13 days
    accepted_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=170)
    accept(site, reference, now=accepted_at)

    sign_in(page, site, BAOAN_USER)
    page.get_by_role("link", name="统计").click()
    page.wait_for_url(site.at("/staff/dashboard"))
    overdue_before = int(page.locator("#stat-overdue").inner_text())
    assert overdue_before >= 1 and int(page.locator("#stat-active").inner_text()) >= 1
    assert page.locator("#chart-status svg").count() == 1
    screenshot(page, "staff-dashboard")

    page.get_by_role("link", name="走访提醒").click()
    page.wait_for_url(site.at("/staff/visits"))
    overdue = page.locator(f'#overdue-table tr[data-reference="{reference}"]')
    assert "逾期" in overdue.inner_text()
    assert page.locator(f'#reviews-table tr[data-reference="{reference}"]').count() == 1
    screenshot(page, "staff-visits-overdue")

    overdue.get_by_role("link", name=reference).click()
    page.wait_for_url(re.compile(rf"/staff/requests/{reference}#visits"))
    assert "已逾期" in page.locator("#entry-next-visit").inner_text()
    page.get_by_label("走访情况").fill("入户走访，孩子已入学，家庭情况好转。")
    page.get_by_label("下次走访日期").fill((today() + dt.timedelta(days=60)).isoformat())
    page.get_by_label("本次走访同时完成了半年复核").check()
    submit(page, "#visit-submit", rf"/staff/requests/{reference}\?done=visit")
    assert page.locator("#entry-next-review").inner_text() == add_months(today(), 6).isoformat()

    page.get_by_role("link", name="走访提醒").click()
    page.wait_for_url(site.at("/staff/visits"))
    assert page.locator(f'tr[data-reference="{reference}"]').count() == 0
    screenshot(page, "staff-visits-after")
    page.get_by_role("link", name="统计").click()
    page.wait_for_url(site.at("/staff/dashboard"))
    assert int(page.locator("#stat-overdue").inner_text()) == overdue_before - 1


# ------------------------------------------------------------------ 5. export


def test_export_the_ledger_as_csv_and_excel(page, site):
    import openpyxl

    child = f"导出{uuid.uuid4().hex[:4]}"
    reference = file(site.runtime, child_name=child, guardian_phone="13712345678")
    accept(site, reference)

    sign_in(page, site, BAOAN_USER)
    page.get_by_role("link", name="导出").click()
    page.wait_for_url(site.at("/staff/export"))
    assert int(page.locator("#export-active").inner_text()) >= 1
    screenshot(page, "staff-export")

    page.get_by_label("CSV（UTF-8）").check()
    with page.expect_download() as info:
        page.locator("#export-submit").click()
    download = info.value
    assert re.fullmatch(r"重点关爱台账-440306-\d{8}-\d{4}\.csv", download.suggested_filename)
    data = Path(download.path()).read_bytes()
    text = data.decode("utf-8-sig")
    assert "申请编号" in text and reference in text and child in text
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][0] == "申请编号"
    (row,) = [r for r in table[1:] if r[0] == reference]
    assert child in row and "13712345678" in row

    page.get_by_label("Excel（.xlsx，推荐：电话、编号按文本保存）").check()
    with page.expect_download() as info:
        page.locator("#export-submit").click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    xlsx = Path(download.path()).read_bytes()
    assert xlsx.startswith(b"PK")
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx), read_only=True)
    sheet = workbook.worksheets[0]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    workbook.close()
    assert values[0][0] == "申请编号"
    (xrow,) = [r for r in values[1:] if r[0] == reference]
    assert child in xrow and "13712345678" in xrow
    assert page.url == site.at("/staff/export")  # a download, the page stays
    exports = audit_details(site, "ledger.export", "area:440306")
    assert any(d.startswith("format=csv ") for d in exports)
    assert any(d.startswith("format=xlsx ") for d in exports)
    screenshot(page, "staff-export-done")


# ------------------------------------------------------------------ 6. knowledge


def _new_checklist_yaml() -> str:
    data = {
        "checklist": {
            "id": NEW_CHECKLIST_ID,
            "locality": {"code": BAOAN, "name": "广东省深圳市宝安区"},
            "title": "【测试】宝安区暑期少儿托管服务清单（浏览器测试数据）",
            "issuer": "童伴测试数据（非官方）",
            "doc_number": None,
            "published": today().isoformat(),
            "version": 1,
            "status": "current",
            "authority": "example",
            "source_url": "https://example.invalid/tongban/browser-test",
        },
        "items": [
            {
                "id": NEW_ITEM_ID,
                "category": "childcare",
                "title": NEW_ITEM_TITLE,
                "service_object": "测试：在宝安区居住、暑假无人照看的 6–12 岁流动儿童",
                "content": "（测试数据）暑假期间，各社区党群服务中心开办少儿暑期托管班，"
                           "流动儿童家庭可在 6 月 20 日前向所在社区报名，免费参加。",
                "departments": ["测试：区妇联（虚构）"],
                "how_to_apply": "测试：到所在社区党群服务中心报名（虚构流程）。",
                "materials": ["测试：居住证"],
                "clause": "测试条款（一）",
                "source_url": "https://example.invalid/tongban/browser-test",
                "keywords": ["暑期托管", "暑假托管", "托管班", "暑假没人带孩子"],
            },
        ],
    }
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _checklist_rows(page) -> list[str]:
    return page.locator("#checklists-table tbody tr").all_inner_texts()


def test_publish_a_checklist_and_the_bot_answers_from_it(page, site, tmp_path):
    kb = site.runtime.knowledge
    sign_in(page, site, BAOAN_USER)
    page.get_by_role("link", name="服务清单").click()
    page.wait_for_url(site.at("/staff/knowledge"))
    before_rows, before_generation = _checklist_rows(page), kb.snapshot.generation
    assert page.locator('tr[data-checklist="example-shenzhen-baoan"]').count() == 1

    # an invalid file: rejected with its reasons, nothing changes
    bad = yaml.safe_load(_new_checklist_yaml())
    del bad["checklist"]["issuer"]
    bad["items"][0]["category"] = "flying"
    bad["items"][0]["source_url"] = "ftp://example.invalid/x"
    bad_file = tmp_path / "坏清单.yaml"
    bad_file.write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    page.get_by_label("清单 YAML 文件（含 checklist 和 items 两部分）").check()
    page.locator("#knowledge-file").set_input_files(str(bad_file))
    submit(page, "#knowledge-upload-submit", r"/staff/knowledge/upload$")
    problems = page.locator("#upload-problems")
    assert "文件没有通过校验，未做任何更改" in problems.inner_text()
    reasons = problems.locator("li").all_inner_texts()
    for reason in ("issuer：缺少此字段", "未知类别 'flying'", "须为 http(s) 链接"):
        assert any(reason in r for r in reasons), (reason, reasons)
    assert _checklist_rows(page) == before_rows and kb.snapshot.generation == before_generation
    assert page.locator(f'tr[data-checklist="{NEW_CHECKLIST_ID}"]').count() == 0
    screenshot(page, "staff-knowledge-invalid")

    # a valid file: preview of the parsed items, nothing published yet
    good_file = tmp_path / "baoan-summer.yaml"
    good_file.write_text(_new_checklist_yaml(), encoding="utf-8")
    page.get_by_label("清单 YAML 文件（含 checklist 和 items 两部分）").check()
    page.locator("#knowledge-file").set_input_files(str(good_file))
    submit(page, "#knowledge-upload-submit", r"/staff/knowledge/upload$")
    assert page.locator("#preview-ok").inner_text().startswith("文件已通过校验，共 1 条")
    assert "广东省深圳市宝安区（440306）" in page.locator("#preview-header").inner_text()
    assert page.locator("#preview-version").inner_text() == "第 1 版（新清单）"
    items = page.locator("#preview-items tbody tr")
    assert items.count() == 1
    assert NEW_ITEM_TITLE in items.first.inner_text() and "测试条款（一）" in items.first.inner_text()
    assert kb.snapshot.generation == before_generation
    assert all(h["item_id"] != NEW_ITEM_ID for h in search(site, "暑假托管班怎么报名")["results"])
    screenshot(page, "staff-knowledge-preview")

    submit(page, "#knowledge-publish-submit", r"/staff/knowledge\?done=published")
    assert page.locator("#notice").inner_text() == "新版本已发布，机器人已开始使用新的清单回答。"
    published = page.locator(f'tr[data-checklist="{NEW_CHECKLIST_ID}"]')
    assert "第 1 版（共 1 版）" in published.inner_text() and "广东省深圳市宝安区" in published.inner_text()
    assert published.locator("td.num").inner_text() == "1"  # 条目数
    assert kb.snapshot.generation == before_generation + 1
    (published_event,) = audit_details(site, "knowledge.publish", f"checklist:{NEW_CHECKLIST_ID}")
    assert "version=1 items=1" in published_event
    screenshot(page, "staff-knowledge-published")

    # the running app answers from it at once: the search API and the bot itself
    found = search(site, "暑假托管班怎么报名")
    assert found["results"][0]["item_id"] == NEW_ITEM_ID
    assert found["results"][0]["checklist"]["id"] == NEW_CHECKLIST_ID
    sender = f"parent-{uuid.uuid4().hex[:8]}"
    assert "广东省深圳市宝安区" in chat(site, sender, "我现在住在深圳宝安")[0]["text"]
    reply = chat(site, sender, "暑假孩子没人带，托管班怎么报名")[0]
    assert reply["custom"]["sources"][0]["item_id"] == NEW_ITEM_ID, reply
    assert "托管" in reply["text"]


# ------------------------------------------------------------------ 7. committees and posters


def test_create_a_committee_and_download_its_posters(page, site):
    code = f"BT-{uuid.uuid4().hex[:6].upper()}"
    sign_in(page, site, BAOAN_USER)
    page.get_by_role("link", name="居委会").click()
    page.wait_for_url(site.at("/staff/committees"))

    # outside the user's area: refused with the reason
    page.get_by_label("居委会名称").fill("蛇口社区居委会")
    page.get_by_label("所在地区代码").fill("440305001001")
    page.get_by_label("社区或街道名称").fill("招商街道蛇口社区")
    submit(page, "#committee-create-submit", r"/staff/committees$")
    assert page.locator("#locality_code-error").inner_text() == "这个地区不在您的管辖范围内。"
    assert page.locator("#committee-errors").is_visible()

    page.get_by_label("居委会名称").fill("流塘社区居委会")
    page.get_by_label("所在地区代码").fill(LIUTANG)
    page.get_by_label("社区或街道名称").fill("西乡街道流塘社区")
    page.get_by_label("推荐码（可留空，自动生成）").fill(code)
    screenshot(page, "staff-committee-form")
    submit(page, "#committee-create-submit", r"/staff/committees/\d+\?done=created")
    assert page.locator("#notice").inner_text() == "已创建。"
    assert page.locator("#committee-title").inner_text() == "流塘社区居委会"
    assert page.locator("#committee-code").inner_text() == code
    assert page.locator("#committee-active").inner_text() == "启用"
    assert page.locator("#poster-link").inner_text() == f"https://t.me/{BOT}?start={code}"
    screenshot(page, "staff-committee-created")

    with page.expect_download() as info:
        page.locator("#poster-png").click()
    png = info.value
    assert png.suggested_filename == "童伴海报-流塘社区居委会.png"
    png_bytes = Path(png.path()).read_bytes()
    assert png_bytes.startswith(b"\x89PNG\r\n\x1a\n") and len(png_bytes) > 10_000

    with page.expect_download() as info:
        page.locator("#poster-pdf").click()
    pdf = info.value
    assert pdf.suggested_filename == "童伴海报-流塘社区居委会.pdf"
    assert Path(pdf.path()).read_bytes().startswith(b"%PDF")
    committee_id = int(re.search(r"/committees/(\d+)", page.url).group(1))
    assert audit_details(site, "committee.poster", f"committee:{committee_id}") == ["png", "pdf"]

    page.get_by_role("link", name="社区居委会").click()  # the breadcrumb
    page.wait_for_url(site.at("/staff/committees"))
    assert code in page.locator(f'#committees-table tr[data-code="{code}"]').inner_text()
    screenshot(page, "staff-committees")


# ------------------------------------------------------------------ no JavaScript


def test_pages_work_without_javascript(browser, site):
    record_id = urgent(site.runtime, locality=BAOAN, message="孩子说想从楼上跳下去")
    reference = file(site.runtime, child_name="孙小北")
    context = browser.new_context(java_script_enabled=False, locale="zh-CN", viewport=VIEWPORT)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, site, BAOAN_USER)
        assert page.locator(f"#urgent-{record_id}").is_visible()
        assert page.locator(f'#queue-table tr[data-reference="{reference}"]').is_visible()
        screenshot(page, "staff-nojs-queue")

        # a form round trip without scripts: filter the queue by status
        page.get_by_label("状态").select_option("all")
        page.locator("#filter-submit").click()
        page.wait_for_url(re.compile(r"/staff/\?.*status=all"))
        assert page.locator(f'#queue-table tr[data-reference="{reference}"]').is_visible()
        row = page.locator(f'#queue-table tr[data-reference="{reference}"]')
        row.get_by_role("link", name=reference).click()
        page.wait_for_url(site.at(f"/staff/requests/{reference}"))
        assert page.locator("#child-name").inner_text() == "孙小北"
        screenshot(page, "staff-nojs-request")

        # and a POST form (CSRF token and all): triage the urgent record
        page.goto(site.at(f"/staff/urgent/{record_id}"))
        page.get_by_label("处理情况（必填）").fill("已联系学校心理老师和家长，今晚有人陪护。")
        submit(page, "#case-submit", rf"/staff/urgent/{record_id}\?done=handled")
        assert page.locator("#case-status").inner_text() == "已处理"
        screenshot(page, "staff-nojs-urgent-handled")
    finally:
        context.close()
