"""The web chat page (/chat) in a browser: its JavaScript really sends, shows the cited answer and
its buttons, and a tap on a button moves the conversation on (Playwright driving Debian's Chromium
against the real app served by uvicorn, on SQLite in a temporary folder). Screenshots go to
``test-artifacts/screenshots/chat-*.png``."""

from __future__ import annotations

import pytest

from tests.browser import browser, page, screenshot  # noqa: F401
from tests.live_server import LiveServer

pytestmark = pytest.mark.slow  # a browser: left out of make test-fast

QUESTION = "孩子在这边上小学要带什么材料"


@pytest.fixture(scope="module")
def served(browser, tmp_path_factory, kb, interpreter):
    """(chat page address, runtime): the real app on a free port (``browser`` first: without
    Chromium, no server)."""
    from tongban.app import create_app
    from tongban.runtime import Runtime
    from tongban.settings import Settings

    settings = Settings(env="test", data_dir=tmp_path_factory.mktemp("browser-chat"), database={"url": ""},
                        knowledge={"watch_interval": 0})
    runtime = Runtime.build(settings, knowledge=kb, interpreter=interpreter)
    try:
        with LiveServer(create_app(settings, runtime=runtime)) as server:
            yield server.url + "/chat", runtime
    finally:
        runtime.close(stop_knowledge=False)


@pytest.fixture
def chat_url(served):
    return served[0]


def _send(page, text: str) -> None:
    page.fill("#text", text)
    page.click("form button[type=submit]")


def test_a_question_typed_and_sent_gets_a_cited_answer_and_its_detail_button_works(page, chat_url):
    from playwright.sync_api import expect

    page.goto(chat_url)
    bot = page.locator(".msg.bot")
    expect(bot).to_have_count(1)  # the greeting, before anything is sent
    _send(page, QUESTION)
    expect(page.locator(".msg.me")).to_have_text([QUESTION])
    expect(page.locator("#text")).to_have_value("")
    answer = bot.nth(1)
    expect(answer).to_contain_text("依据：")
    # the session is the server's HttpOnly cookie, which the page itself never reads
    cookies = page.context.cookies()
    assert cookies and all(cookie["httpOnly"] for cookie in cookies), cookies
    assert page.evaluate("document.cookie") == ""
    screenshot(page, "chat-answer")

    answer.locator(".buttons button", has_text="详细").click()
    expect(page.locator(".msg.me").nth(1)).to_have_text("详细")  # the title is shown, the payload sent
    detail = bot.nth(2)
    expect(detail).to_contain_text("来源：")
    assert detail.inner_text() != answer.inner_text()
    screenshot(page, "chat-detail")


def _tap(page, title: str) -> None:
    """Tap the button ``title`` on the newest reply that offers it; the page shows the title sent."""
    from playwright.sync_api import expect

    offering = page.locator(".msg.bot").filter(has=page.locator(".buttons button", has_text=title)).last
    expect(offering).to_be_visible()
    offering.locator(".buttons button", has_text=title).click()
    expect(page.locator(".msg.me").last).to_have_text(title)


def test_buttons_of_the_form_and_of_deletion_work_from_the_page(page, chat_url):
    from playwright.sync_api import expect

    page.goto(chat_url)
    _send(page, "我想申请帮扶")
    _tap(page, "不同意")
    expect(page.locator(".msg.bot").last).to_contain_text("没有保存任何信息")  # nothing kept without consent
    screenshot(page, "chat-consent-refused")

    _send(page, "删除我的信息")
    _tap(page, "不删了")
    expect(page.locator(".msg.bot").last).to_contain_text("没有删除任何信息")
    screenshot(page, "chat-deletion-kept")


def test_a_reply_is_shown_as_text_never_as_markup(page, served, monkeypatch):
    """What the page shows is text: the parent's own words, and a reply or a button title holding
    markup (as a checklist's text could), never run or drawn."""
    from playwright.sync_api import expect

    from ledger.reply import Button, Reply

    chat_url, runtime = served
    markup = "<img src=x onerror=\"document.title='hacked'\"><b>粗体</b>"
    monkeypatch.setattr(runtime.engine, "handle", lambda *args, **kwargs: [
        Reply("回复 " + markup, buttons=[Button(markup, "/greet")])])
    page.goto(chat_url)
    _send(page, markup + "孩子打疫苗去哪里")
    expect(page.locator(".msg.bot")).to_have_count(2)
    expect(page.locator(".msg.me")).to_contain_text(["<img src=x"])
    expect(page.locator(".msg.bot").last).to_contain_text("<b>粗体</b>")
    expect(page.locator(".msg.bot button")).to_contain_text(["<img src=x"])
    assert page.locator("#log img, #log b").count() == 0 and page.title() != "hacked"
