"""The care journey in a real browser, in Chinese (phone screen) and English (desktop):
a holder files a complaint about a line of their statement; a staff member created with
``anxin staff create`` enrols an authenticator and signs in to the console with it, finds
the ticket in the queue (SLA colour), fills a reply from a macro, leaves an internal note
and resolves; the holder reads the reply and rates it (once)."""

from __future__ import annotations

import json
import secrets
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import Authenticator, Server, screenshot
from tests.web.test_journeys import (
    CARD,
    LAYOUTS,
    PASSWORD,
    _submit,
    enrol_authenticator,
    sign_up,
    step_up,
    unlabelled_fields,
)

pytestmark = pytest.mark.slow
WORDS = {
    "zh_CN": {
        "subject": "充值后余额不对", "body": "我充值了 200 元, 到账了吗?", "macro": "正在处理",
        "reply": "您好 {holder_name}, 我们已核实 {ticket_reference}, 这笔充值已到账。",
        "resolved": "已解决", "thanks": "感谢您的评价",
    },
    "en": {
        "subject": "Top-up question", "body": "I topped up 200 CNY; did it arrive?",
        "macro": "Confirmed", "resolved": "Resolved", "thanks": "Thank you for your rating",
        "reply": "Dear {holder_name}, we checked {ticket_reference}: the top-up arrived.",
    },
}  # fmt: skip


def _watch(page: Any) -> list[str]:
    errors: list[str] = []
    page.on(
        "console", lambda m: errors.append(f"{m.text} {m.location}") if m.type == "error" else None
    )
    return errors


def _new_staff(server: Server, email: str) -> None:
    """``anxin staff create`` prints a one-time code; the member sets a password with it."""
    output = server.anxin("staff", "create", "--role", "senior_agent", "--email", email)
    code = output.strip().splitlines()[-1].strip()
    body = json.dumps({"identifier": email, "code": code, "new_password": PASSWORD}).encode()
    request = urllib.request.Request(
        f"{server.url}/v1/auth/password-reset/confirm", data=body, method="POST",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 204


def _console_sign_in(page: Any, server: Server, email: str) -> None:
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    _submit(page, "/console/sign-in")


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_complaint_reply_rating(browser: Any, server: Server, lang: str) -> None:
    words = WORDS[lang]
    # A holder with a statement line: signed up, authenticator, a settled top-up.
    holder = browser.new_context(**LAYOUTS[lang])
    page = holder.new_page()
    errors = _watch(page)
    page.goto(f"{server.url}/?lang={lang}")
    phone = f"+86137{secrets.randbelow(10**8):08d}"
    sign_up(page, server, phone, phone, "李安心" if lang == "zh_CN" else "Li Anxin")
    app = enrol_authenticator(page)
    page.goto(f"{server.url}/top-up")
    page.fill("#number", CARD)
    _submit(page, "/top-up/cards")
    step_up(page, app)
    page.fill("#amount", "200.00")
    _submit(page, "/top-up")
    server.anxin("wallet", "settle")

    # The complaint, about that top-up.
    with page.expect_navigation():
        page.click("header nav a[href='/care']")
    with page.expect_navigation():
        page.click("main a[href='/care/new']")
    page.fill("#subject", words["subject"])
    page.fill("#body", words["body"])
    page.select_option("#transfer", index=1)
    assert unlabelled_fields(page) == []
    _submit(page, "/care/new")
    reference = page.inner_text("main dl dd").strip()
    assert reference.startswith("AX-") and reference in page.inner_text("[role=status]")
    ticket_url = page.url.split("?")[0]

    # The agent: created by the CLI, enrols an authenticator, signs in with it.
    email = f"agent-{secrets.token_hex(3)}@anxin.example"
    _new_staff(server, email)
    staff = browser.new_context(**LAYOUTS[lang])
    console = staff.new_page()
    console_errors = _watch(console)
    console.goto(f"{server.url}/console?lang={lang}")
    assert "/console/sign-in" in console.url
    _console_sign_in(console, server, email)
    assert console.url.endswith("/console/enrol")
    _submit(console, "/console/enrol")
    agent_app = Authenticator(console.inner_text("#totp-secret").strip())
    console.fill("#code", agent_app.code())
    _submit(console, "/console/enrol/confirm")
    assert "done=enrolled" in console.url
    _console_sign_in(console, server, email)
    console.fill("#code", agent_app.code())
    _submit(console, "/console/sign-in/second-factor")
    assert console.url.endswith("/console")
    # A care lead's saved reply, through the staff API (same session cookie and origin).
    made = console.request.post(
        f"{server.url}/v1/staff/care/macros", headers={"Origin": server.url},
        data={"name": words["macro"], "language": "zh" if lang == "zh_CN" else "en",
              "body": words["reply"]},
    )  # fmt: skip
    assert made.status == 201, made.text()
    console.reload()
    row = console.locator("table.queue tbody tr", has_text=reference)
    expect(row).to_have_class("sla-ok")  # just filed: far from its due time
    with console.expect_navigation():
        row.locator("a").click()
    assert "*" in console.inner_text("dd.masked")  # the holder, masked
    ticket_id = ticket_url.rsplit("/", 1)[1]
    console.fill("#note-body", "checked the bank file <ok>")
    _submit(console, f"/console/tickets/{ticket_id}/note")
    console.select_option("#macro", label=words["macro"])
    with console.expect_navigation():
        console.click("form.macro-picker button[type=submit]")
    filled = console.input_value("#reply-body")
    assert reference in filled and "{" not in filled
    console.select_option("#reply-status", "resolved")
    _submit(console, f"/console/tickets/{ticket_id}/reply")
    assert words["resolved"] in console.inner_text("main dl")
    assert "checked the bank file <ok>" in console.inner_text("ol.thread")
    assert unlabelled_fields(console) == []

    # The holder reads the answer and rates it, once.
    page.goto(ticket_url)
    assert reference in page.inner_text("ol.thread")
    assert "checked the bank file" not in page.content()  # internal notes stay inside
    page.check("#rating-5")
    page.fill("#comment", "快" if lang == "zh_CN" else "Quick and clear")
    assert unlabelled_fields(page) == []
    _submit(page, f"{ticket_url.split(server.url)[1]}/rating")
    assert words["thanks"] in page.inner_text("[role=status]")
    assert page.locator("#rating-5").count() == 0  # no second rating
    assert (errors, console_errors) == ([], [])
    screenshot(page, "complaint", lang)
    console.reload()
    assert "5" in console.inner_text("main dl")
    screenshot(console, "console", lang)
    staff.close()
    holder.close()
