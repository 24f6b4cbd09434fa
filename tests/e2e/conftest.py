"""Real-browser tests: Playwright (sync API) drives Debian's chromium against a live server.

Django's sync ORM refuses to run while an event loop is running in the thread, and
Playwright's sync API keeps one running in the test thread for as long as it is started. The
tests only touch the database between browser calls, so the ``browser`` fixture switches the
check off (DJANGO_ALLOW_ASYNC_UNSAFE) for exactly as long as Playwright runs. It is not set at
import time: that would leak into every test of the session, and into the subprocesses they
start (``check --deploy`` refuses to pass with it set).

Every module marks its tests ``django_db(transaction=True, serialized_rollback=True)``: the
live server runs in another thread, so the data must be committed, and the flush after each
test empties every table, including the rules the data migration loaded; serialized_rollback
puts them back, so the tests running after these still find them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import translation
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from biobank.core.models import User

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Where a failing test leaves a screenshot of its page (ignored by git).
RESULTS = Path(__file__).resolve().parents[2] / "test-results"
TIMEOUT_MS = 10_000


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the item, so the page fixture knows whether the test failed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One chromium for the e2e package, stopped after its last test.

    Package scope, not session: pytest-django runs the non-database tests after the
    transactional ones, and they must not run under Playwright's event loop, nor with
    DJANGO_ALLOW_ASYNC_UNSAFE set.
    """
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with pytest.MonkeyPatch.context() as env, sync_playwright() as playwright:
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context per test (no cookies carried over), as a Taiwanese user."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-TW",
        timezone_id="Asia/Taipei",
        accept_downloads=True,
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        RESULTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
        page.screenshot(path=RESULTS / f"{name}.png", full_page=True)
    context.close()


class UI:
    """What the tests do with the layout every page shares: sign in and out, switch language."""

    def __init__(self, page: Page, password: str) -> None:
        self.page = page
        self.password = password

    @property
    def html(self) -> Locator:
        return self.page.locator("html")

    @property
    def heading(self) -> Locator:
        return self.page.locator("main h1")

    @property
    def login_button(self) -> Locator:
        # The login form's own submit button (the language switch's buttons are submits too).
        return self.page.locator("main form button[type=submit]")

    @property
    def sign_out_button(self) -> Locator:
        return self.page.locator('header form[action="/accounts/logout/"] button[type=submit]')

    @property
    def nav(self) -> Locator:
        return self.page.locator("header nav")

    def sign_in(self, user: User, password: str | None = None) -> None:
        """Fill in and submit the login form (the cast's password unless another is given)."""
        self.page.goto("/accounts/login/")
        self.page.locator("#id_username").fill(user.username)
        self.page.locator("#id_password").fill(self.password if password is None else password)
        self.login_button.click()
        if password is None:
            expect(self.page).to_have_url(re.compile(r"/$"))

    def sign_out(self) -> None:
        self.sign_out_button.click()
        expect(self.page).to_have_url(re.compile(r"/accounts/login/"))

    def switch_language(self, code: str) -> None:
        """Click the top bar's button for ``code`` and wait for the page in that language."""
        self.page.locator(f'button[data-language="{code}"]').click()
        expect(self.html).to_have_attribute("lang", code)

    def expect_zh_hant_text(self, locator: Locator, msgid: str, text: str) -> None:
        """Assert ``locator`` reads ``text``, the zh-Hant translation of ``msgid``."""
        with translation.override("zh-hant"):
            assert translation.gettext(msgid) == text, f"zh-Hant of {msgid!r} is not {text!r}"
        expect(locator).to_have_text(text)


@pytest.fixture
def ui(page: Page, cast) -> UI:
    return UI(page, cast.password)
