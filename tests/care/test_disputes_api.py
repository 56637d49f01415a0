"""Disputes over HTTP: a holder disputes a merchant payment from their statement
(idempotent, 404 for anything not theirs), staff with care:disputes decide, the merchant
is charged back by a refund, the holder hears of every step; the ledger verifies."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from anxin.api.deps import Container
from anxin.care.disputes import DisputePolicy
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.batch import apply_batch
from anxin.ledger.commands import Command, TransferOp
from anxin.ledger.verify import verify_ledger
from anxin.models import Base
from anxin.wallet import accounts
from tests.care.conftest import Person
from tests.wallet.conftest import Api, api_for, give
from tests.wallet.merchant_helpers import (
    Shop,
    balance,
    confirm,
    make_shop,
    notices,
    payment_fee,
    settlement,
    wallet,
)

__all__ = ["api_for", "give", "make_shop", "payment_fee"]  # fixtures used below


def plaintext_found(container: Container, *needles: str) -> list[str]:
    """Tables in which any of ``needles`` appears in plaintext (in any column)."""
    found = []
    with container.database.connect(write=False) as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(table.select()):
                cells = b" ".join(
                    bytes(v) if isinstance(v, bytes | memoryview) else
                    (json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list)
                     else str(v)).encode()
                    for v in row
                )  # fmt: skip
                if any(n.encode() in cells for n in needles):
                    found.append(table.name)
    return found


def verify(container: Container) -> None:
    with container.database.connect(write=False) as connection:
        report = verify_ledger(connection)
    assert report.ok, report.problems


def paid(api: Api, shop: Shop, amount: int) -> str:
    """Pay ``shop`` and return the statement line's id of that payment."""
    intent_id = shop.intent(amount)
    assert confirm(api, intent_id).status_code == 200
    assert shop.post(f"/payment-intents/{intent_id}/capture").status_code == 200
    lines = api.call("GET", "/v1/me/statements").json()["data"]
    line = next(x for x in lines if x["type"] == "payment")
    return str(line["id"])


def dispute(api: Api, transfer_id: str, key: str, **body: Any) -> Any:
    payload = {"transfer_id": transfer_id, "reason": "not_me", **body}
    return api.call("POST", "/v1/me/care/disputes", key=key, json=payload)


def test_a_disputed_merchant_payment_is_credited_then_charged_back_to_the_merchant(
    client: TestClient, container: Container, holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Callable[..., None], make_shop: Callable[..., Shop],
    payment_fee: int, ready_staff: Callable[[str], Person],
) -> None:  # fmt: skip
    person = holder()
    give(person, 500_00)
    api = api_for(person)
    shop = make_shop()
    line_id = paid(api, shop, 100_00)
    assert wallet(container, person)["posted"] == 399_40  # 100.00 and a 0.60 fee

    refused = api.call("POST", "/v1/me/care/disputes",
                       json={"transfer_id": line_id, "reason": "not_me"})  # fmt: skip
    assert refused.status_code == 400 and refused.json()["code"] == "idempotency_key_required"
    made = dispute(api, line_id, "d-1", note="I was asleep")
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["provisional_credit"] is True and body["amount"] == 100_00
    assert body["ticket_reference"].startswith("AX-")
    again = dispute(api, line_id, "d-1", note="I was asleep")
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["id"] == body["id"]
    assert dispute(api, line_id, "d-2").json()["code"] == "dispute_exists"
    assert wallet(container, person)["posted"] == 499_40
    assert "dispute.credited" in notices(container, person)

    # Another holder sees nothing of it.
    stranger = api_for(holder())
    assert dispute(stranger, line_id, "s-1").status_code == 404
    assert stranger.call("GET", f"/v1/me/care/disputes/{body['id']}").status_code == 404
    mine = api.call("GET", "/v1/me/care/disputes").json()["data"]
    assert [d["id"] for d in mine] == [body["id"]]

    # Only care:disputes decides.
    agent = ready_staff("agent")
    path = f"/v1/staff/care/disputes/{body['id']}/decision"
    decision = {"outcome": "upheld", "note": "card reported stolen the day before"}
    denied = client.post(path, json=decision,
                         headers={**agent.headers, "Idempotency-Key": "x"})  # fmt: skip
    assert denied.status_code == 403
    risk = ready_staff("risk_officer")
    listed = client.get("/v1/staff/care/disputes?status=investigating", headers=risk.headers)
    assert [d["id"] for d in listed.json()["data"]] == [body["id"]]
    decided = client.post(path, json=decision, headers={**risk.headers, "Idempotency-Key": "k"})
    assert decided.status_code == 200, decided.text
    out = decided.json()
    assert out["recovered_from_merchant"] == 100_00 and out["credited"] == 0
    assert out["dispute"]["status"] == "upheld" and out["dispute"]["recovery_refund_id"]
    # The holder keeps 100.00 (and the refund gave the fee back); the merchant repaid it and
    # the operator's budget is whole again.
    assert wallet(container, person)["posted"] == 500_00
    assert settlement(container, shop)["posted"] == 0
    assert balance(container, "system:compensation")["posted"] == 0
    kinds = notices(container, person)
    assert "refund.received" in kinds and "care.reply" in kinds and "care.csat" in kinds
    replay = client.post(path, json=decision, headers={**risk.headers, "Idempotency-Key": "k"})
    assert replay.json() == out
    second = client.post(path, json={"outcome": "rejected", "note": "no"},
                         headers={**risk.headers, "Idempotency-Key": "k2"})  # fmt: skip
    assert second.status_code == 409 and second.json()["code"] == "dispute_decided"
    ticket = api.call("GET", "/v1/me/care/disputes").json()["data"][0]
    assert ticket["status"] == "upheld"
    # What the holder and the staff wrote is sealed everywhere it is kept.
    assert plaintext_found(container, "I was asleep", "card reported stolen") == []
    assert "care_disputes" in plaintext_found(container, "not_me")  # the scan does see rows
    verify(container)


def test_a_rejected_dispute_over_the_policy_limit_moves_nothing_and_the_policy_is_configurable(
    client: TestClient, container: Container, holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Callable[..., None], make_shop: Callable[..., Shop],
    ready_staff: Callable[[str], Person],
) -> None:  # fmt: skip
    client.app.state.dispute_policy = DisputePolicy(limits={"CNY": 50_00})  # type: ignore[attr-defined]
    person = holder()
    give(person, 500_00)
    api = api_for(person)
    line_id = paid(api, make_shop(), 60_00)
    made = dispute(api, line_id, "d-1", reason="unrecognised")
    assert made.status_code == 201 and made.json()["provisional_credit"] is False
    assert wallet(container, person)["posted"] == 440_00
    senior = ready_staff("senior_agent")
    decided = client.post(
        f"/v1/staff/care/disputes/{made.json()['id']}/decision",
        json={"outcome": "rejected", "note": "merchant shows delivery"},
        headers={**senior.headers, "Idempotency-Key": "r-1"},
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["reversed"] == 0 and decided.json()["unrecovered"] == 0
    assert wallet(container, person)["posted"] == 440_00
    bad = dispute(api, line_id, "d-9", reason="because")
    assert bad.status_code == 422
    verify(container)


def test_merchant_recovery_without_a_provisional_credit_and_when_the_merchant_cannot_pay(
    client: TestClient, container: Container, holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Callable[..., None], make_shop: Callable[..., Shop],
    ready_staff: Callable[[str], Person],
) -> None:  # fmt: skip
    client.app.state.dispute_policy = DisputePolicy(limits={"CNY": 50_00})  # type: ignore[attr-defined]
    person = holder()
    give(person, 500_00)
    api = api_for(person)
    shop, empty_shop = make_shop(), make_shop("Gone Tea")
    big = dispute(api, paid(api, shop, 80_00), "d-1").json()  # over the limit: no credit
    small = dispute(api, paid(api, empty_shop, 20_00), "d-2").json()  # credited at once
    assert (big["provisional_credit"], small["provisional_credit"]) == (False, True)
    assert wallet(container, person)["posted"] == 500_00 - 80_00 - 20_00 + 20_00
    # The second shop's money has already gone to its bank.
    with UnitOfWork(container.database) as unit:
        now = container.clock.now()
        source = accounts.system_account(unit.session, f"merchant_settlement:{empty_shop.id}",
                                         "CNY", now)  # fmt: skip
        bank = accounts.system_account(unit.session, "bank_settlement", "CNY", now)
        [out] = apply_batch(unit.session.connection(), [Command((TransferOp(
            source.id, bank.id, 20_00, "CNY", kind="payout"),))], now)  # fmt: skip
        assert out.ok, out.outcomes
        unit.commit()
    senior = ready_staff("senior_agent")

    def uphold(dispute_id: str, key: str) -> Any:
        made = client.post(f"/v1/staff/care/disputes/{dispute_id}/decision",
                           json={"outcome": "upheld", "note": "not the holder"},
                           headers={**senior.headers, "Idempotency-Key": key})  # fmt: skip
        assert made.status_code == 200, made.text
        return made.json()

    first = uphold(big["id"], "u-1")  # the merchant repays: nothing from the operator
    assert (first["recovered_from_merchant"], first["credited"]) == (80_00, 0)
    second = uphold(small["id"], "u-2")  # the merchant cannot: the credit stays the operator's
    assert second["recovered_from_merchant"] == 0 and second["recovery_failed"]
    assert second["dispute"]["recovery_refund_id"] is None
    assert wallet(container, person)["posted"] == 500_00
    assert balance(container, "system:compensation")["posted"] == -20_00
    verify(container)
