"""The incident journey in a real browser, in Chinese (phone screen) and English (desktop):
a shop charges eight holders twice for one order; seven complain (six through the API, one
in the browser about the line of their statement); the server's own detector (every
second) opens an incident; a risk officer created with ``anxin staff create`` finds it in
the console, records every payer from the payments, announces it (an anonymous visitor
reads it on /status), prepares a refund of the duplicate charges plus a goodwill credit, is
refused when approving it themself; a second risk officer approves and pays it; a holder
signs in and finds the money back in their wallet and the notice in their inbox."""

from __future__ import annotations

import json
import secrets
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from anxin.identity.stepup import trust_payee
from anxin.kit.clock import SystemClock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import User
from anxin.privacy.keys import KeyService, load_keyring
from anxin.wallet import merchants, payments
from anxin.wallet.accounts import BUSINESS_TZ
from tests.wallet.conftest import fund
from tests.web.conftest import Authenticator, Server, screenshot
from tests.web.test_journeys import CODE, LAYOUTS, PASSWORD, _submit, unlabelled_fields

pytestmark = pytest.mark.slow
PRICE, START, GOODWILL = 38_00, 200_00, 10_00
PAYERS = 8  # the last one never complains
BURST = "Shop Alpha charged me twice for one order, please refund"
WORDS = {
    "zh_CN": {"four_eyes": "须由另一位工作人员批准", "approved": "您已批准该方案",
              "note": "Shop Alpha 重复扣款, 退还重复的一笔并补偿 10 元"},
    "en": {"four_eyes": "A second member of staff must approve", "approved": "You approved",
           "note": "Shop Alpha charged every order twice: refund the duplicate, 10.00 goodwill"},
}  # fmt: skip


@pytest.fixture
def server_env() -> dict[str, str]:
    # The detector runs every second and alarms without a day of warm-up.
    return {"ANXIN_INCIDENTS_DETECT_SECONDS": "1",
            "ANXIN_COLLECTIVE_DETECTOR": json.dumps({"warmup_hours": 0})}  # fmt: skip


@dataclass
class Payer:
    phone: str
    token: str
    session_id: str
    user_id: str = ""
    duplicate: str = ""  # the second capture: the charge the shop's bug added


@dataclass
class Story:
    shop_id: str
    began: datetime
    payers: list[Payer] = field(default_factory=list)


def _api(server: Server, method: str, path: str, body: Any = None,
         token: str | None = None) -> Any:  # fmt: skip
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{server.url}{path}", data=data, method=method,
                                     headers=headers)  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as answer:
        text = answer.read()
        return json.loads(text) if text else None


def _holder(server: Server) -> Payer:
    phone = f"+86139{secrets.randbelow(10**8):08d}"
    _api(server, "POST", "/v1/auth/signup", {"phone": phone, "password": PASSWORD})
    code = CODE.search(server.sent_to(phone))
    assert code is not None
    out = _api(server, "POST", "/v1/auth/verify-contact",
               {"identifier": phone, "password": PASSWORD, "code": code.group(1)})  # fmt: skip
    payer = Payer(phone, out["token"], out["session_id"])
    payer.user_id = _api(server, "GET", "/v1/me", token=payer.token)["id"]
    return payer


def double_charge(server: Server, db_url: str, key_file: Path) -> Story:
    """Eight holders with 200.00 each pay Shop Alpha 38.00 for one order and are charged
    twice (the shop's bug), through the payment services (a payee they trust, under the
    step-up threshold, so no authenticator is needed)."""
    keyring = load_keyring(key_file, None, None)
    assert keyring is not None
    vault, database, clock = KeyService(keyring).vault(), Database(db_url), SystemClock()
    began = clock.now() - timedelta(minutes=1)
    try:
        with UnitOfWork(database) as unit:
            made = merchants.create_merchant(unit.session, vault, name="Shop Alpha",
                                             webhook_url=None, now=clock.now())  # fmt: skip
            shop = made.merchant
            unit.commit()
            story = Story(str(shop.id), began)
        for _ in range(PAYERS):
            payer = _holder(server)
            with UnitOfWork(database) as unit:
                now = clock.now()
                user = unit.session.get(User, uuid.UUID(payer.user_id))
                merchant = unit.session.get(type(shop), shop.id)
                assert user is not None and merchant is not None
                fund(unit.session, user.id, START, now)
                trust_payee(unit.session, user.id, payments.payee_ref(merchant.id), now)
                for _charge in range(2):
                    intent = payments.create_intent(
                        unit.session, merchant, amount=PRICE, currency="CNY",
                        description="order 1", reference=None, confirm_within=None, now=now,
                    )  # fmt: skip
                    payments.confirm(
                        unit.session, vault, user, uuid.UUID(payer.session_id), intent,
                        shown_fee=None, step_up_token=None, now=now,
                    )  # fmt: skip
                    payments.capture(unit.session, vault, merchant, intent, now)
                    payer.duplicate = str(intent.capture_id)
                unit.commit()
            story.payers.append(payer)
    finally:
        database.dispose()
    return story


def _watch(page: Any) -> list[str]:
    errors: list[str] = []
    page.on(
        "console", lambda m: errors.append(f"{m.text} {m.location}") if m.type == "error" else None
    )
    return errors


def _new_staff(server: Server, role: str) -> str:
    """``anxin staff create`` prints a one-time code; the member sets a password with it."""
    email = f"{role}-{secrets.token_hex(3)}@anxin.example"
    output = server.anxin("staff", "create", "--role", role, "--email", email)
    code = output.strip().splitlines()[-1].strip()
    _api(server, "POST", "/v1/auth/password-reset/confirm",
         {"identifier": email, "code": code, "new_password": PASSWORD})  # fmt: skip
    return email


def _console(browser: Any, server: Server, lang: str, role: str) -> tuple[Any, Any, list[str]]:
    """A staff member's browser: sign in, enrol an authenticator, sign in with it."""
    email = _new_staff(server, role)
    context = browser.new_context(**LAYOUTS[lang])
    page = context.new_page()
    errors = _watch(page)
    page.goto(f"{server.url}/console/sign-in?lang={lang}")

    def sign_in() -> None:
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        _submit(page, "/console/sign-in")

    sign_in()
    assert page.url.endswith("/console/enrol")
    _submit(page, "/console/enrol")
    app = Authenticator(page.inner_text("#totp-secret").strip())
    page.fill("#code", app.code())
    _submit(page, "/console/enrol/confirm")
    sign_in()
    page.fill("#code", app.code())
    _submit(page, "/console/sign-in/second-factor")
    assert page.url.endswith("/console")
    return context, page, errors


def _beijing(moment: datetime) -> str:
    return moment.astimezone(BUSINESS_TZ).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_burst_to_incident_to_credit(
    browser: Any, server: Server, lang: str, db_url: str, key_file: Path
) -> None:
    words = WORDS[lang]
    story = double_charge(server, db_url, key_file)
    complainers = story.payers[: PAYERS - 1]
    for payer in complainers[:-1]:  # most complain through the app's API...
        _api(server, "POST", "/v1/me/care/tickets", token=payer.token, body={
            "subject": "Charged twice", "body": BURST, "transfer_ids": [payer.duplicate],
        })  # fmt: skip
    # ...and one in the browser, about the line of their statement.
    last = complainers[-1]
    holder = browser.new_context(**LAYOUTS[lang])
    page = holder.new_page()
    errors = _watch(page)
    page.goto(f"{server.url}/sign-in?lang={lang}")
    page.fill("#identifier", last.phone)
    page.fill("#password", PASSWORD)
    _submit(page, "/sign-in")
    page.goto(f"{server.url}/statement")
    with page.expect_navigation():
        page.locator("a[href^='/care/new?transfer=']").first.click()
    page.fill("#subject", "Charged twice")
    page.fill("#body", BURST)
    assert page.input_value("#transfer") != ""
    assert unlabelled_fields(page) == []
    _submit(page, "/care/new")
    assert "AX-" in page.inner_text("[role=status]")
    holder.close()

    # The first risk officer: the incident appears once the detector has seen the burst.
    staff, console, console_errors = _console(browser, server, lang, "risk_officer")
    console.goto(f"{server.url}/console/incidents")
    deadline = time.monotonic() + 90
    while console.locator("a[data-incident]").count() == 0:
        assert time.monotonic() < deadline, "the detector opened no incident"
        time.sleep(1)
        console.reload()
    reference = console.locator("a[data-incident]").first.get_attribute("data-incident")
    screenshot(console, "incidents", lang)  # the burst's arrivals against its baseline
    with console.expect_navigation():
        console.locator("a[data-incident]").first.click()
    incident_url = console.url.split("?")[0].split("#")[0]

    # Every payer, from the payments (the one who never complained too).
    console.select_option("#q-kind", "merchant_debits")
    console.fill("#q-merchant", story.shop_id)
    console.fill("#q-from", _beijing(story.began))
    console.fill("#q-to", _beijing(SystemClock().now() + timedelta(minutes=2)))
    with console.expect_navigation():
        console.click("form#affected-query button[type=submit]")
    with console.expect_navigation():
        console.click("form#affected-add button[type=submit]")
    count = console.locator("#affected-count").get_attribute("data-count")
    assert count == str(PAYERS)

    # Announced; anyone can read it on the status page.
    console.goto(f"{incident_url}#announcements")
    title = console.input_value("#en-title" if lang == "en" else "#zh-title")
    with console.expect_navigation():
        console.click("form#announce button[value=publish]")
    visitor = browser.new_context(**LAYOUTS[lang])
    status = visitor.new_page()
    status_errors = _watch(status)
    status.goto(f"{server.url}/status?lang={lang}")
    assert title in status.inner_text("main")
    screenshot(status, "status", lang)
    visitor.close()

    # A refund of the duplicate charges and a goodwill credit, previewed then prepared.
    with console.expect_navigation():
        console.click("a#remediation")
    console.fill("#plan-note", words["note"])
    console.check("#plan-refund")
    console.fill("#refund-only", "\n".join(p.duplicate for p in story.payers))
    console.fill("#goodwill-amount", "10.00")
    assert unlabelled_fields(console) == []
    with console.expect_navigation():
        console.click("form#plan-new button[type=submit]")
    assert console.get_attribute("[data-items]", "data-items") == str(2 * PAYERS)
    assert f"{PAYERS * (PRICE + GOODWILL) // 100:,}.00" in console.inner_text("#preview-totals")
    with console.expect_navigation():
        console.click("form#prepare button[type=submit]")
    plan_url = console.url.split("?")[0]
    assert console.get_attribute("#plan-state", "data-state") == "draft"
    # Four eyes: the preparer cannot approve their own plan.
    with console.expect_navigation():
        console.click("form#approve button[type=submit]")
    assert words["four_eyes"] in console.inner_text("#approve-error")
    assert console.get_attribute("#plan-state", "data-state") == "draft"
    # The refusal is a 403 page, which Chromium logs as an error: that one is expected.
    assert (
        len(console_errors) == 1 and "403" in console_errors[0] and "/approve" in console_errors[0]
    )
    console_errors.clear()

    # A second risk officer approves and pays it.
    other, approver, approver_errors = _console(browser, server, lang, "risk_officer")
    approver.goto(plan_url)
    assert unlabelled_fields(approver) == []
    with approver.expect_navigation():
        approver.click("form#approve button[type=submit]")
    assert words["approved"] in approver.inner_text("[role=status]")
    with approver.expect_navigation():
        approver.click("form#execute button[type=submit]")
    assert approver.get_attribute("#plan-state", "data-state") == "done"
    bar = approver.locator("#plan-bar")
    assert bar.get_attribute("value") == bar.get_attribute("max") == str(2 * PAYERS)
    assert "100 %" in approver.inner_text("#plan-progress-text")
    screenshot(approver, "remediation", lang)
    assert (console_errors, approver_errors) == ([], [])
    other.close()
    staff.close()

    # A double-charged holder signs in: charged once, plus the goodwill, and told.
    first = story.payers[0]
    holder = browser.new_context(**LAYOUTS[lang])
    page = holder.new_page()
    holder_errors = _watch(page)
    page.goto(f"{server.url}/sign-in?lang={lang}")
    page.fill("#identifier", first.phone)
    page.fill("#password", PASSWORD)
    _submit(page, "/sign-in")
    page.goto(f"{server.url}/wallet")
    balance = START - PRICE + GOODWILL
    assert f"{balance // 100}.{balance % 100:02d}" in page.inner_text("main")
    page.goto(f"{server.url}/notifications")
    assert reference is not None and reference in page.inner_text("main")
    assert (errors, status_errors, holder_errors) == ([], [], [])
    screenshot(page, "incident", lang)
    holder.close()
