"""The main journey in a real browser, in Chinese (phone screen) and English (desktop):
sign-up -> authenticator app -> link a card and top up -> transfer to a second holder
(masked payee, step-up) -> statement (htmx filter, CSV export); then the payee signs in
with password and authenticator code and finds the money."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Authenticator, Server, screenshot

pytestmark = pytest.mark.slow

PASSWORD = "violet tandem orchard quietly 42"
CARD = "4111 1111 1111 1111"
CODE = re.compile(r"\b(\d{6})\b")
LAYOUTS = {
    "zh_CN": {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN", "is_mobile": True},
    "en": {"viewport": {"width": 1280, "height": 900}, "locale": "en-GB"},
}


def _submit(page: Any, action: str) -> None:
    with page.expect_navigation():
        page.click(f"form[action='{action}'] button[type=submit]")


def sign_up(page: Any, server: Server, identifier: str, recipient: str, name: str) -> None:
    page.goto(f"{server.url}/sign-up")
    page.fill("#identifier", identifier)
    page.fill("#display_name", name)
    page.fill("#password", PASSWORD)
    _submit(page, "/sign-up")
    found = CODE.search(server.sent_to(recipient))
    assert found is not None
    page.fill("#code", found.group(1))
    page.fill("#password", PASSWORD)
    _submit(page, "/sign-up/verify")
    assert page.url.endswith("/security/totp")


def enrol_authenticator(page: Any) -> Authenticator:
    _submit(page, "/security/totp")
    app = Authenticator(page.inner_text("#totp-secret").strip())
    page.fill("#code", app.code())
    _submit(page, "/security/totp/confirm")
    assert "/wallet" in page.url
    return app


def step_up(page: Any, app: Authenticator) -> None:
    page.fill("#code", app.code())
    with page.expect_navigation():
        page.click("main form.card button[type=submit]")


def unlabelled_fields(page: Any) -> list[str]:
    script = """() => [...document.querySelectorAll('input:not([type=hidden]), select')]
        .filter(e => !(e.labels && e.labels.length)).map(e => e.name)"""
    return list(page.evaluate(script))


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_sign_up_to_statement(browser: Any, server: Server, lang: str) -> None:
    tag = secrets.token_hex(4)
    payee_email = f"payee-{tag}@example.com"
    payee = browser.new_context(**LAYOUTS[lang])
    page = payee.new_page()
    page.goto(f"{server.url}/?lang={lang}")
    sign_up(page, server, payee_email, payee_email, "李小明" if lang == "zh_CN" else "Mary Li")
    payee_app = enrol_authenticator(page)
    _submit(page, "/sign-out")
    payee.close()

    context = browser.new_context(**LAYOUTS[lang])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{server.url}/sign-in?lang={lang}")
    assert page.get_attribute("html", "lang") == ("zh-CN" if lang == "zh_CN" else "en")
    page.keyboard.press("Tab")  # the first stop is the skip link, visible when focused
    assert page.evaluate("document.activeElement.className") == "skip"
    assert page.locator("a.skip").is_visible()
    phone = f"+86139{secrets.randbelow(10**8):08d}"
    sign_up(page, server, phone, phone, "王安心" if lang == "zh_CN" else "Wang Anxin")
    app = enrol_authenticator(page)

    # Top up from a card: linking it needs the authenticator (bound to that card).
    page.goto(f"{server.url}/top-up")
    page.fill("#number", CARD)
    _submit(page, "/top-up/cards")
    assert "****1111" in page.inner_text("main dl")
    step_up(page, app)
    assert "done=card" in page.url
    page.fill("#amount", "200.00")
    _submit(page, "/top-up")
    assert page.inner_text("[data-testid=balance-CNY]") == "0.00"  # pending until the bank
    server.anxin("wallet", "settle")
    page.reload()
    assert page.inner_text("[data-testid=balance-CNY]") == "200.00"

    # Transfer: the payee is shown masked, then step-up for exactly this transfer.
    page.goto(f"{server.url}/transfer")
    page.fill("#to", payee_email)
    page.fill("#amount", "50")
    page.fill("#note", "<b>dinner</b>")
    _submit(page, "/transfer")
    shown = page.inner_text("[data-testid=payee]")
    assert "*" in shown and payee_email not in shown
    assert "<b>dinner</b>" in page.inner_text("main")  # escaped, shown as typed
    with page.expect_navigation():
        page.click("main form.stack button[type=submit]")
    step_up(page, app)
    assert "50.00" in page.inner_text("main [role=status]")

    # Statement: both lines, an htmx filter, and the CSV export of the same lines.
    with page.expect_navigation():
        page.click("main a[href='/statement']")
    lines = page.locator("table.lines tbody tr")
    # Chart.js drew this month's spending (the table beside it has the same numbers).
    expect(page.locator("#spending-chart")).to_have_attribute("data-drawn", "1")
    assert "50.00" in (page.text_content(".spending table") or "")
    assert lines.count() == 2
    page.select_option("#category", "transfers")
    expect(lines).to_have_count(1)  # waits for htmx to swap the table
    expect(page).to_have_url(re.compile(r"category=transfers"))
    assert "-50.00" in lines.first.inner_text()
    csv_url = page.get_attribute("#statement-lines a[download]", "href")
    export = page.request.get(f"{server.url}{csv_url}")
    assert export.status == 200 and "-50.00" in export.text() and "200.00" not in export.text()
    assert unlabelled_fields(page) == []
    page.select_option("#category", "")
    expect(lines).to_have_count(2)
    assert errors == []  # no CSP violation or script error on the way
    screenshot(page, "statement", lang)
    context.close()

    # The payee signs in (password, then the authenticator) and sees the money arrived.
    payee = browser.new_context(**LAYOUTS[lang])
    page = payee.new_page()
    page.goto(f"{server.url}/sign-in?lang={lang}")
    page.fill("#identifier", payee_email)
    page.fill("#password", PASSWORD)
    _submit(page, "/sign-in")
    page.fill("#code", payee_app.code())
    _submit(page, "/sign-in/second-factor")
    assert page.inner_text("[data-testid=balance-CNY]") == "50.00"
    assert "<b>dinner</b>" not in page.content()  # the note is escaped on every page
    screenshot(page, "wallet", lang)
    payee.close()
