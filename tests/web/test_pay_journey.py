"""Paying a merchant and withdrawing in a real browser, in Chinese (phone screen) and English
(desktop): a merchant created with ``anxin merchant create`` asks for a payment through its
API; the holder signs up, enrols an authenticator, tops up, opens the merchant's /pay link,
sees the merchant, fee, points and balance after, confirms (step-up when asked) and gets the
receipt; then links a bank account (step-up), withdraws part of the balance (fee shown,
step-up) and sees the withdrawal pending until the bank pays out."""

from __future__ import annotations

import json
import secrets
import urllib.request
from typing import Any

import pytest

from tests.web.conftest import Server, screenshot
from tests.web.test_journeys import (
    CARD,
    LAYOUTS,
    _submit,
    enrol_authenticator,
    sign_up,
    step_up,
    unlabelled_fields,
)

pytestmark = pytest.mark.slow


def merchant_asks(server: Server, name: str, amount: int, description: str) -> str:
    """A merchant made through the CLI creates a payment request through its API."""
    key = server.anxin("merchant", "create", "--name", name).strip().splitlines()[-1]
    body = json.dumps({"amount": amount, "currency": "CNY", "description": description})
    request = urllib.request.Request(
        f"{server.url}/v1/merchant/payment-intents", data=body.encode(), method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                 "Idempotency-Key": secrets.token_hex(8)},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as answer:
        return str(json.loads(answer.read())["id"])


def answer_step_up_if_asked(page: Any, app: Any) -> None:
    # The risk policy decides whether a payment needs the second factor; if it asks, the
    # page says what is authorised and takes the code.
    if page.locator("main #code").count():
        step_up(page, app)


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_pay_a_merchant_then_withdraw(browser: Any, server: Server, lang: str) -> None:
    shop = "安心茶铺" if lang == "zh_CN" else "Happy Tea"
    intent_id = merchant_asks(server, shop, 88_00, "<b>oolong</b> x2")

    context = browser.new_context(**LAYOUTS[lang])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{server.url}/sign-in?lang={lang}")
    phone = f"+86137{secrets.randbelow(10**8):08d}"
    sign_up(page, server, phone, phone, "张明" if lang == "zh_CN" else "Ming Zhang")
    app = enrol_authenticator(page)

    # Money in: a card (step-up), a top-up the bank settles.
    page.goto(f"{server.url}/top-up")
    page.fill("#number", CARD)
    _submit(page, "/top-up/cards")
    step_up(page, app)
    page.fill("#amount", "200")
    _submit(page, "/top-up")
    server.anxin("wallet", "settle")

    # The merchant's link: what, to whom, the fee, the points, the balance after.
    page.goto(f"{server.url}/pay/{intent_id}")
    assert page.inner_text("[data-testid=merchant]") == shop
    assert page.inner_text("[data-testid=description]") == "<b>oolong</b> x2"  # escaped
    assert "88.00" in page.inner_text("[data-testid=total]")
    assert "112.00" in page.inner_text("[data-testid=after]")
    assert unlabelled_fields(page) == []
    _submit(page, f"/pay/{intent_id}/confirm")
    answer_step_up_if_asked(page, app)
    assert page.url.endswith(f"/pay/{intent_id}?done=paid")
    assert "88.00" in page.inner_text("main [role=status]")
    assert shop in page.inner_text("[data-testid=receipt]")

    # Money out: a bank account (step-up), the fee shown, step-up, pending at the bank.
    page.goto(f"{server.url}/withdraw")
    page.fill("#number", "6222 0212 3456 7890")
    _submit(page, "/withdraw/accounts")
    assert "****7890" in page.inner_text("main dl")
    step_up(page, app)
    assert "done=account" in page.url
    page.fill("#amount", "50")
    _submit(page, "/withdraw")
    assert "50.00" in page.inner_text("[data-testid=total]")
    _submit(page, "/withdraw/confirm")
    assert "50.00" in page.inner_text("main dl")  # what the code authorises
    step_up(page, app)
    assert "done=started" in page.url
    assert page.get_attribute("[data-testid=order-state]", "class") == "state state-pending"
    page.goto(f"{server.url}/wallet")
    assert page.inner_text("[data-testid=balance-CNY]") == "62.00"  # 200 - 88 - 50
    page.goto(f"{server.url}/withdraw")
    assert page.locator("[data-testid=order-state]").count() == 1
    assert unlabelled_fields(page) == []
    assert errors == []  # no CSP violation or script error on the way
    screenshot(page, "pay", lang)
    context.close()
