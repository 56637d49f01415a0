"""Subscribing to the status page in a real browser (Chinese on a phone, English on a
desktop; SQLite and PostgreSQL): from /status to the subscribe page, the form, the email's
confirm link that only shows a button (opening it twice changes nothing), the button by
keyboard, pressed again with the same answer. axe finds nothing serious on these pages.
The one-click unsubscribe and the headers are tested without a browser
(tests/incidents/test_status_subscriptions.py)."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import Server, screenshot
from tests.web.test_accessibility import AXE, violations
from tests.web.test_journeys import LAYOUTS

pytestmark = pytest.mark.slow
WORDS = {
    "zh_CN": {"follow": "通过邮件订阅更新", "sent": "确认邮件", "press": "确认订阅",
              "done": "您的订阅已确认"},
    "en": {"follow": "Get updates by email", "sent": "we sent it an email",
           "press": "Confirm subscription", "done": "Your subscription is confirmed"},
}  # fmt: skip


def _axe(page: Any, report: dict[str, list[str]]) -> None:
    if Path(AXE).exists():  # `npm ci` installs it; the accessibility gate insists on it
        found = violations(page, Path(AXE).read_text(encoding="utf-8"))
        if found:
            report[page.url] = found


@pytest.mark.parametrize("lang", list(LAYOUTS))
def test_subscribe_and_confirm_by_the_button(browser: Any, server: Server, lang: str) -> None:
    words = WORDS[lang]
    context = browser.new_context(**LAYOUTS[lang])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    report: dict[str, list[str]] = {}
    page.goto(f"{server.url}/status?lang={lang}")
    assert page.locator("main form").count() == 0  # the status page itself has no form
    with page.expect_navigation():
        page.click(f"main a[href='/status/subscribe']:has-text('{words['follow']}')")
    assert page.locator("h1").inner_text() == words["follow"]
    _axe(page, report)

    address = f"reader-{secrets.token_hex(4)}@example.com"
    page.fill("#email", address)
    with page.expect_navigation():
        page.press("#email", "Enter")
    assert words["sent"] in page.inner_text("[role=status]")

    found = re.search(r"(http://\S+/status/subscriptions/confirm\?token=\S+)",
                      server.sent_to(address))  # fmt: skip
    assert found is not None
    link = found.group(1)
    for _ in range(2):  # a link scanner, then the reader: nothing done by opening it
        answer = page.goto(link)
        assert answer is not None and answer.status == 200
        assert page.locator("h1").inner_text() != words["done"]
    _axe(page, report)
    for _ in range(2):  # pressed by keyboard; again (a double press) says the same
        page.goto(link)
        page.focus(f"main form button:has-text('{words['press']}')")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url.endswith("/status/subscriptions/confirmed")
        assert words["done"] in page.inner_text("h1")
    _axe(page, report)
    screenshot(page, "status-subscribe", lang)
    assert errors == []
    # A bad link is a page too (its 404 is the one console error expected).
    answer = page.goto(f"{server.url}/status/subscriptions/confirm?token=not-ours")
    assert answer is not None and answer.status == 404
    _axe(page, report)
    context.close()
    assert report == {}, report
