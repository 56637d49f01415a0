"""Realistic data for the accessibility gate's pages that need an id: made through the
HTTP API (a merchant's key from ``anxin merchant create``, the holder's and the staff
member's browser sessions through Playwright's request context, so the same cookies and
the same checks as their pages), the CLI, and, for one thing the API only does with a
step-up the gate does not need to exercise, the service itself."""

from __future__ import annotations

import json
import secrets
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from anxin.identity.stepup import trust_payee
from anxin.kit.clock import SystemClock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.wallet import payments
from anxin.wallet.accounts import BUSINESS_TZ
from tests.web.conftest import Authenticator, Server

BANK_ACCOUNT = "6222 0212 3456 7890"


def call(page: Any, server: Server, method: str, path: str, body: Any = None,
         headers: dict[str, str] | None = None) -> Any:  # fmt: skip
    """One API call with the page's session cookie (and its site's Origin, as a page's
    script would send); anything but success fails the test with the answer."""
    answer = page.request.fetch(
        f"{server.url}{path}", method=method, data=body,
        headers={"Origin": server.url, **(headers or {})},
    )  # fmt: skip
    assert answer.ok, f"{method} {path}: {answer.status} {answer.text()}"
    return answer.json() if answer.text() else None


def stepped(page: Any, server: Server, app: Authenticator, method: str, path: str,
            body: Any, *, key: bool = False) -> Any:  # fmt: skip
    """A call the API answers with a step-up challenge first: answered with the holder's
    authenticator app, then the call again with the token."""
    headers = {"Idempotency-Key": secrets.token_hex(8)} if key else {}
    first = page.request.fetch(
        f"{server.url}{path}", method=method, data=body, headers={"Origin": server.url, **headers}
    )
    if first.status == 401 and first.json().get("code") == "step_up_required":
        challenge = first.json()["challenge_id"]
        proof = {"method": "totp", "proof": {"code": app.code()}}
        token = call(page, server, "POST", f"/v1/auth/step-up/{challenge}", proof)
        return call(page, server, method, path, body,
                    {**headers, "X-Step-Up-Token": token["step_up_token"]})  # fmt: skip
    assert first.ok, f"{method} {path}: {first.status} {first.text()}"
    return first.json()


def merchant(server: Server, key: str, method: str, path: str, body: Any = None) -> Any:
    """A merchant's own API call with its key (every one idempotent by a fresh key)."""
    request = urllib.request.Request(
        f"{server.url}/v1/merchant{path}", method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                 "Idempotency-Key": secrets.token_hex(8)},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


@dataclass
class HolderData:
    holder_id: str
    shop: str  # the merchant's id
    since: str  # Beijing time before the holder's payments, as a datetime-local field has it
    until: str  # and after them
    intent: str  # a payment request, not yet paid
    paid: str  # a payment request the holder paid and the merchant captured
    order: str  # a withdrawal, pending at the bank
    mandate: str  # proposed by the merchant, for the holder to read
    dispute: str  # the holder disputes the captured payment
    ticket: str  # a complaint with two transactions linked


def holder_data(page: Any, server: Server, app: Authenticator, db_url: str,
                shop: str) -> HolderData:  # fmt: skip
    """A signed-in holder (with an authenticator) with money moved every way: a bank
    account (step-up), a top-up the bank settles, a merchant payment, a withdrawal
    (step-up), a mandate to read, a dispute and a complaint about the payment."""
    me = call(page, server, "GET", "/v1/me")
    since = SystemClock().now().astimezone(BUSINESS_TZ) - timedelta(minutes=5)
    key = server.anxin("merchant", "create", "--name", shop).strip().splitlines()[-1]
    shop_id = merchant(server, key, "GET", "/me")["id"]
    ask = {"currency": "CNY", "description": "乌龙茶 oolong x2"}
    intent = merchant(server, key, "POST", "/payment-intents", {**ask, "amount": 88_00})["id"]
    paid = merchant(server, key, "POST", "/payment-intents", {**ask, "amount": 38_00})["id"]

    account = stepped(page, server, app, "POST", "/v1/me/funding-sources",
                      {"kind": "bank_account", "number": BANK_ACCOUNT})["id"]  # fmt: skip
    topup = {"source_id": account, "amount": 500_00, "asset": "CNY"}
    call(page, server, "POST", "/v1/me/topups", topup, {"Idempotency-Key": secrets.token_hex(8)})
    server.anxin("wallet", "settle")

    # A payee the holder already confirmed once (the step-up for a new payee is the pay
    # journey's): trusted through the service, so this small payment needs no code.
    database = Database(db_url)
    try:
        with UnitOfWork(database) as unit:
            trust_payee(unit.session, uuid.UUID(me["id"]),
                        payments.payee_ref(uuid.UUID(shop_id)), SystemClock().now())  # fmt: skip
            unit.commit()
    finally:
        database.dispose()
    call(page, server, "POST", f"/v1/me/payment-intents/{paid}/confirm", None,
         {"Idempotency-Key": secrets.token_hex(8)})  # fmt: skip
    merchant(server, key, "POST", f"/payment-intents/{paid}/capture")
    order = stepped(page, server, app, "POST", "/v1/me/withdrawals",
                    {"destination_id": account, "amount": 50_00, "asset": "CNY"},
                    key=True)["id"]  # fmt: skip

    ends = (SystemClock().now() + timedelta(days=365)).isoformat()
    mandate = merchant(server, key, "POST", "/mandates", {
        "currency": "CNY", "max_per_debit": 30_00, "frequency": "monthly",
        "debits_per_period": 1, "ends_at": ends, "description": "会员月费 membership",
    })["id"]  # fmt: skip

    lines = call(page, server, "GET", "/v1/me/statements")["data"]
    payment = next(x["id"] for x in lines if x["amount"] == -38_00)
    withdrawal = next(x["id"] for x in lines if x["amount"] == -50_00)
    dispute = call(page, server, "POST", "/v1/me/care/disputes",
                   {"transfer_id": payment, "reason": "amount_wrong",
                    "note": "<b>charged</b> for two, got one"},
                   {"Idempotency-Key": secrets.token_hex(8)})["id"]  # fmt: skip
    ticket = call(page, server, "POST", "/v1/me/care/tickets", {
        "subject": "<i>axe</i> 余额不对", "body": "checking every page",
        "transfer_ids": [payment, withdrawal],
    })["id"]  # fmt: skip
    until = SystemClock().now().astimezone(BUSINESS_TZ) + timedelta(minutes=5)
    return HolderData(
        me["id"],
        shop_id,
        f"{since:%Y-%m-%dT%H:%M}",
        f"{until:%Y-%m-%dT%H:%M}",
        intent,
        paid,
        order,
        mandate,
        dispute,
        ticket,
    )


@dataclass
class StaffData:
    incident: str
    reference: str
    plan: str
    freeze: str


def staff_data(console: Any, server: Server, holder_id: str) -> StaffData:
    """A risk officer's work on the holder: an incident with public updates, a timeline
    note, the holder among the affected and told, a remediation plan (draft), and a freeze
    of the holder's outgoing money (they are told at once)."""
    base = "/v1/staff/incidents"
    made = call(console, server, "POST", base,
                {"title": "转账延迟 Transfers delayed", "severity": "major"})  # fmt: skip
    incident, reference = made["id"], made["reference"]
    call(console, server, "POST", f"{base}/{incident}/updates", {"template": "investigating"})
    call(console, server, "POST", f"{base}/{incident}/updates", {
        "template": "identified",
        "details": {"zh": "银行接口超时, 正在恢复。", "en": "The bank's link timed out."},
    })  # fmt: skip
    call(console, server, "POST", f"{base}/{incident}/timeline", {"text": "bank called back"})
    call(console, server, "POST", f"{base}/{incident}/affected/holders",
         {"holder_ids": [holder_id]})  # fmt: skip
    call(console, server, "POST", f"{base}/{incident}/notify", {"stage": "affected"})
    plan = call(console, server, "POST", f"{base}/{incident}/remediation", {
        "note": "延迟补偿 goodwill for the delay", "goodwill": {"amount": 5_00, "asset": "CNY"},
    })["plan"]["plan_id"]  # fmt: skip
    freeze = call(console, server, "POST", f"/v1/staff/holders/{holder_id}/freezes", {
        "scope": "outgoing", "reason_code": "suspected_fraud",
        "note": "card testing pattern, review", "review_days": 7,
    })["id"]  # fmt: skip
    return StaffData(incident, reference, plan, freeze)
