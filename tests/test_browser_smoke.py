"""Smoke test of the browser-test machinery: LiveServer + Playwright + Debian Chromium.

A tiny FastAPI app with a server-rendered Chinese form; the browser fills and submits it,
checks the result page, downloads a file and compares its bytes.
"""

from __future__ import annotations

import html
from contextlib import asynccontextmanager
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI, Form
from fastapi.responses import HTMLResponse, Response

from tests.browser import SCREENSHOTS, browser, page, screenshot  # noqa: F401
from tests.live_server import LiveServer

pytestmark = pytest.mark.slow  # a browser: left out of make test-fast

RECEIPT = "回执,王芳\r\n孩子年龄,9\r\n".encode("utf-8-sig")

FORM_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>童伴 · 帮扶申请</title></head>
<body>
  <h1>帮扶申请</h1>
  <form method="post" action="/submit">
    <label>家长姓名 <input name="parent" required></label>
    <label>孩子年龄
      <select name="age"><option value="6">6 岁</option><option value="9">9 岁</option></select>
    </label>
    <label><input type="checkbox" name="consent" value="yes" required> 我同意提供孩子的信息</label>
    <button type="submit">提交申请</button>
  </form>
</body></html>"""


def make_app() -> FastAPI:
    state = {"started": False}

    @asynccontextmanager
    async def lifespan(app):
        state["started"] = True
        yield
        state["started"] = False

    app = FastAPI(lifespan=lifespan)
    app.state.flags = state

    @app.get("/", response_class=HTMLResponse)
    def form_page():
        return FORM_PAGE

    @app.post("/submit", response_class=HTMLResponse)
    def submit(parent: str = Form(...), age: int = Form(...), consent: str = Form("")):
        name = html.escape(parent)
        return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
                f"<title>已提交</title></head><body><h1>申请已提交</h1>"
                f'<p id="summary">已收到 {name} 的申请，孩子 {age} 岁。</p>'
                f'<a href="/receipt?parent={quote(parent)}">下载回执</a></body></html>')

    @app.get("/receipt")
    def receipt(parent: str):
        return Response(RECEIPT, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition":
                                 "attachment; filename*=UTF-8''%E5%9B%9E%E6%89%A7.csv"})

    @app.get("/external")
    def external():
        # A page that tries to load something from outside: the page fixture blocks it.
        return HTMLResponse('<!doctype html><meta charset="utf-8"><p>外部资源</p>'
                            '<img id="x" src="http://example.com/x.png">')

    return app


@pytest.fixture(scope="module")
def server():
    with LiveServer(make_app()) as live:
        yield live


def test_live_server_serves_and_stops():
    app = make_app()
    with LiveServer(app) as live:
        assert live.url.startswith("http://127.0.0.1:")
        assert app.state.flags["started"] is True  # lifespan ran
        with httpx.Client(trust_env=False) as client:
            response = client.get(live.url + "/")
        assert response.status_code == 200
        assert "帮扶申请" in response.text
        url = live.url
    assert app.state.flags["started"] is False  # lifespan shutdown ran
    with pytest.raises(httpx.ConnectError), httpx.Client(trust_env=False) as client:
        client.get(url + "/", timeout=2)


def test_form_submit_and_download(page, server):
    page.goto(server.url + "/")
    assert page.title() == "童伴 · 帮扶申请"
    screenshot(page, "smoke-form")

    page.get_by_label("家长姓名").fill("王芳 <b>")
    page.get_by_label("孩子年龄").select_option("9")
    page.get_by_label("我同意提供孩子的信息").check()
    page.get_by_role("button", name="提交申请").click()

    page.wait_for_url("**/submit")
    assert page.get_by_role("heading", level=1).inner_text() == "申请已提交"
    assert page.locator("#summary").inner_text() == "已收到 王芳 <b> 的申请，孩子 9 岁。"
    screenshot(page, "smoke-result")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="下载回执").click()
    download = download_info.value
    assert download.suggested_filename == "回执.csv"
    with open(download.path(), "rb") as fh:
        assert fh.read() == RECEIPT

    assert (SCREENSHOTS / "smoke-form.png").stat().st_size > 1000


def test_external_requests_are_blocked(page, server):
    blocked = []
    page.on("requestfailed", lambda request: blocked.append(request.url))
    page.goto(server.url + "/external")
    page.wait_for_load_state("load")
    assert "外部资源" in page.content()
    assert any(url.startswith("http://example.com/") for url in blocked)
