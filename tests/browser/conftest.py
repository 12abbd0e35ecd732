"""Real-browser fixtures: Debian's Chromium driven by Playwright (sync API) against
pytest-django's live server.

Every page a test opens is watched: a console error or an uncaught exception fails the test
(at teardown), unless the test said it expects that message (e.g. the 403 of a forbidden page).
Skipped cleanly when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
DESKTOP = {"width": 1280, "height": 900}
# Chromium's own request for /favicon.ico: test_the_pages_have_a_favicon checks it, once.
IGNORED = (re.compile(r"status of 404 .*\(https?://[^)]*/favicon\.ico\)$"),)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread, so Django sees an "async
    # context" and refuses ORM calls from the test code; nothing here is actually async.
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@dataclass
class Tab:
    """One browser context (its own cookies and locale) with its page, watched for errors."""

    context: Any
    page: Any
    base_url: str
    errors: list[str] = field(default_factory=list)
    expected: list[re.Pattern[str]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    def goto(self, path: str) -> Any:
        return self.page.goto(self.url(path))

    def expect_error(self, pattern: str) -> None:
        """A console error this test provokes on purpose (e.g. a 403 page's status)."""
        self.expected.append(re.compile(pattern))

    def unexpected_errors(self) -> list[str]:
        allowed = (*IGNORED, *self.expected)
        return [e for e in self.errors if not any(p.search(e) for p in allowed)]

    def log_in(self, username: str, password: str) -> None:
        """Through the login form, as a person would."""
        self.goto("/accounts/login/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        with self.page.expect_navigation():
            self.page.click("form[action='/accounts/login/'] button[type=submit]")

    def log_out(self) -> None:
        with self.page.expect_navigation():
            self.page.click("form[action='/accounts/logout/'] button[type=submit]")

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def open_tab(browser: Any, live_server: Any) -> Iterator[Callable[..., Tab]]:
    """`open_tab(locale="ja-JP", width=1280)` -> a fresh context and page on the live server.
    At teardown every tab must be free of console errors and page errors."""
    tabs: list[Tab] = []

    def open_(locale: str = "ja-JP", width: int = DESKTOP["width"]) -> Tab:
        viewport = {"width": width, "height": DESKTOP["height"]}
        context = browser.new_context(
            locale=locale, viewport=viewport, accept_downloads=True, timezone_id="Asia/Tokyo"
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        tab = Tab(context, page, live_server.url)

        def on_console(message: Any) -> None:
            if message.type == "error":
                tab.errors.append(f"console: {message.text} ({message.location.get('url')})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: tab.errors.append(f"pageerror: {error}"))
        tabs.append(tab)
        return tab

    yield open_
    problems = []
    for tab in tabs:
        problems += tab.unexpected_errors()
        tab.context.close()
    assert not problems, "errors in the browser:\n" + "\n".join(problems)
