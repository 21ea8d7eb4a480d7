"""Browser-test helpers: Playwright (sync API) driving Debian's Chromium.

Never ``playwright install``: it downloads a browser build from a CDN this project's
machines cannot reach. ``scripts/ensure-browser`` installs Debian's ``chromium`` instead,
and ``chromium_path()`` finds it.

Use from a test module::

    from tests.browser import browser, page, screenshot  # noqa: F401

    def test_something(page):
        page.goto(...)
        screenshot(page, "after-login")

``page`` is a fresh context per test (downloads accepted, zh-CN, 1280x900). After each
test it saves ``test-artifacts/screenshots/<test name>.png``, plus the page's HTML when the
test failed. Requests to anything but loopback are aborted, as tests/conftest.py does for
the test process.

When no Chromium is found the browser tests are skipped, or fail when
``TONGBAN_REQUIRE_BROWSER=1`` (CI sets it, so a missing browser cannot pass silently).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("TONGBAN_TEST_ARTIFACTS") or REPO / "test-artifacts")
SCREENSHOTS = ARTIFACTS / "screenshots"

CHROMIUM_ENV = "TONGBAN_CHROMIUM"
REQUIRE_ENV = "TONGBAN_REQUIRE_BROWSER"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 900}
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def chromium_path() -> str | None:
    """``$TONGBAN_CHROMIUM`` if set, else Debian's /usr/bin/chromium (or chromium-browser).
    None when none is an executable file."""
    override = os.environ.get(CHROMIUM_ENV)
    candidates = [override] if override else list(CHROMIUM_CANDIDATES)
    for candidate in candidates:
        resolved = shutil.which(candidate) if candidate else None
        if resolved and os.access(resolved, os.X_OK):
            return resolved
    return None


def browser_required() -> bool:
    from tests.conftest import env_flag

    return env_flag(REQUIRE_ENV)


def _unavailable(reason: str):
    if browser_required():
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1: the browser tests must run; "
                    "run scripts/ensure-browser)", pytrace=False)
    pytest.skip(f"{reason}; run scripts/ensure-browser (or set {CHROMIUM_ENV})")


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^\w.-]+", "_", name, flags=re.ASCII).strip("._")
    return cleaned[:150] or "screenshot"


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """Save ``test-artifacts/screenshots/<name>.png`` and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{_safe_name(name)}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


# -------------------------------------------------------------- test-outcome reporting
# The page fixture needs to know whether its test failed. The usual recipe is a
# pytest_runtest_makereport hook in conftest.py that stores each phase's report on the item;
# this module registers that hook itself (once) so that importing the fixtures is enough.


class _ReportKeeper:
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        setattr(item, f"rep_{report.when}", report)
        return report


_KEEPER_NAME = "tongban-browser-report-keeper"


def _ensure_report_keeper(config) -> None:
    if not config.pluginmanager.has_plugin(_KEEPER_NAME):
        config.pluginmanager.register(_ReportKeeper(), _KEEPER_NAME)


def _test_failed(node) -> bool:
    return any(getattr(getattr(node, f"rep_{when}", None), "failed", False)
               for when in ("setup", "call"))


# ------------------------------------------------------------------------------ fixtures


# Module scope, not session: while Playwright's sync API runs, its event loop is the main thread's
# running loop, and any later test calling asyncio.run() would fail.
@pytest.fixture(scope="module")
def browser(request):
    """One headless Debian Chromium per test module."""
    _ensure_report_keeper(request.config)
    executable = chromium_path()
    if executable is None:
        _unavailable("Chromium not found (looked at "
                     f"{os.environ.get(CHROMIUM_ENV) or ', '.join(CHROMIUM_CANDIDATES)})")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is not installed")

    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=CHROMIUM_ARGS)
    except Exception:
        playwright.stop()
        raise
    try:
        yield launched
    finally:
        try:
            launched.close()
        finally:
            playwright.stop()


def _keep_on_loopback(route) -> None:
    host = urlsplit(route.request.url).hostname or ""
    if host in _LOOPBACK or host.startswith("127."):
        route.continue_()
    else:
        route.abort("blockedbyclient")


@pytest.fixture
def page(browser, request):
    """A page in a fresh browser context; screenshot saved after the test."""
    _ensure_report_keeper(request.config)
    context = browser.new_context(accept_downloads=True, locale="zh-CN", viewport=VIEWPORT)
    context.set_default_timeout(15_000)
    context.route(re.compile(r"^(https?|wss?|ftp)://"), _keep_on_loopback)
    new_page = context.new_page()
    try:
        yield new_page
    finally:
        name = request.node.name
        try:
            if not new_page.is_closed():
                screenshot(new_page, name)
                if _test_failed(request.node):
                    (SCREENSHOTS / f"{_safe_name(name)}.html").write_text(
                        new_page.content(), encoding="utf-8")
        except Exception as exc:  # noqa: BLE001 - a screenshot must not mask the test result
            print(f"tests/browser.py: could not save the screenshot of {name}: {exc!r}")
        context.close()
