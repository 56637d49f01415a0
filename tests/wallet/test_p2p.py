"""Person-to-person transfers: the payee found by phone or email and shown masked, a quote
with the fee, confirmation with step-up, both people notified; and every refusal."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from anxin.api.deps import Container
from anxin.kit.clock import ManualClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import User
from anxin.wallet import freeze
from tests.wallet.conftest import Api, Person
from tests.wallet.merchant_helpers import balance, fee_of, notices, payment_fee, wallet

__all__ = ["payment_fee"]  # fixtures used below


def _quote(api: Api, to: str, amount: int, **extra: Any) -> Any:
    body = {"to": to, "amount": amount, "currency": "CNY", **extra}
    return api.call("POST", "/v1/me/transfers/quote", json=body)


def _confirm(api: Api, transfer_id: str, key: str = "p2p-1", stepped: bool = True) -> Any:
    return api.call("POST", f"/v1/me/transfers/{transfer_id}/confirm", key=key, stepped=stepped)


def test_quote_shows_the_payee_masked_then_money_moves(
    holder: Callable[..., Person], api_for: Callable[[Person], Api],
    give: Callable[..., None], container: Container, payment_fee: int,
) -> None:  # fmt: skip
    payer = holder(name="李四")
    payee = holder(phone="+8613812345678", name="张三明")
    give(payer, 200_00)
    api = api_for(payer)
    quoted = _quote(api, "138 1234 5678", 66_00, note="午饭 AA")
    assert quoted.status_code == 201, quoted.text
    body = quoted.json()
    assert body["counterparty"] == {"kind": "holder", "name": "张*明", "contact": "138****5678"}
    assert (body["amount"], body["fee"], body["total"]) == (66_00, fee_of(66_00), 66_40)
    assert body["status"] == "quoted"
    assert wallet(container, payer)["posted"] == 200_00  # a quote moves nothing

    asked = _confirm(api, body["id"], stepped=False)
    assert asked.status_code == 401 and asked.json()["code"] == "step_up_required"
    done = _confirm(api, body["id"])
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    assert wallet(container, payer)["posted"] == 200_00 - 66_40
    assert wallet(container, payee)["posted"] == 66_00
    assert balance(container, "system:fee_revenue")["posted"] == 40
    assert notices(container, payer)[-1] == "transfer.sent"
    assert notices(container, payee)[-1] == "transfer.received"

    seen = api_for(payee).call("GET", f"/v1/me/transfers/{body['id']}").json()
    assert (seen["direction"], seen["note"], seen["fee"]) == ("received", "午饭 AA", 0)
    assert seen["counterparty"]["name"] == "李*"
    listed = api.call("GET", "/v1/me/transfers").json()["items"]
    assert [t["id"] for t in listed] == [body["id"]]
    # Each statement names the other person, masked: the payee for the payer, and the
    # payer (not themselves) for the payee.
    sent = api.call("GET", "/v1/me/statements?type=p2p").json()["data"]
    assert [(x["amount"], x["fee"], x["counterparty"]) for x in sent] == [(-66_00, 40, "张*明")]
    got = api_for(payee).call("GET", "/v1/me/statements?type=p2p").json()["data"]
    assert [(x["amount"], x["fee"], x["counterparty"]) for x in got] == [(66_00, 0, "李*")]
    csv_text = api_for(payee).call("GET", "/v1/me/statements/export.csv").text
    assert "李*" in csv_text and "张*明" not in csv_text

    replay = _confirm(api, body["id"], stepped=False)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    again = _confirm(api, body["id"], key="p2p-2")
    assert again.status_code == 409 and again.json()["code"] == "transfer_already_confirmed"
    other = _quote(api, "138 1234 5678", 1_00).json()["id"]
    reused = _confirm(api, other, key="p2p-1", stepped=False)  # the key of the first transfer
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    assert wallet(container, payee)["posted"] == 66_00


def test_payee_by_email_and_unknown_payees(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], give: Callable[..., None],
) -> None:  # fmt: skip
    payer = holder()
    holder(email="zhang.san@example.com")
    api = api_for(payer)
    found = _quote(api, "Zhang.San@Example.com", 1_00).json()
    assert found["counterparty"] == {"kind": "holder", "name": None, "contact": "z***@example.com"}
    missing = _quote(api, "+8613900000000", 1_00)
    assert missing.status_code == 404 and missing.json()["code"] == "payee_not_found"
    myself = _quote(api, payer.identifier, 1_00)
    assert myself.status_code == 422 and myself.json()["code"] == "payee_is_payer"
    bad = _quote(api, "not a number", 1_00)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_contact"
    assert _quote(api, "zhang.san@example.com", 10.5).status_code == 422


def test_refusals(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], give: Callable[..., None],
    clock: ManualClock, container: Container, set_tier: Callable[[Person, str], None],
) -> None:  # fmt: skip
    payer, payee = holder(), holder()
    give(payer, 50_00)
    api = api_for(payer)
    poor = _confirm(api, _quote(api, payee.identifier, 60_00).json()["id"], key="a")
    assert poor.status_code == 422 and poor.json()["code"] == "insufficient_funds"

    give(payer, 600_00)
    over = _confirm(api, _quote(api, payee.identifier, 501_00).json()["id"], key="b")
    assert over.status_code == 422 and over.json()["code"] == "limit_exceeded"

    stale = _quote(api, payee.identifier, 1_00).json()["id"]
    clock.advance(timedelta(minutes=4))  # (sessions end after 5 idle minutes)
    assert api.call("GET", "/v1/me/transfers").status_code == 200
    clock.advance(timedelta(minutes=4))
    assert api.call("GET", "/v1/me/transfers").status_code == 200
    clock.advance(timedelta(minutes=3))
    expired = _confirm(api, stale, key="c")
    assert expired.status_code == 410 and expired.json()["code"] == "quote_expired"

    # The payee's own limits are theirs: the payer learns only that it cannot be received.
    give(payee, 999_00)  # unverified wallets hold at most 1000 CNY
    full = _confirm(api, _quote(api, payee.identifier, 2_00).json()["id"], key="d")
    assert full.status_code == 422 and full.json()["code"] == "payee_cannot_receive"
    assert "maximum" not in full.json() and "attempted" not in full.json()
    set_tier(payee, "basic")
    fits = _confirm(api, _quote(api, payee.identifier, 2_00).json()["id"], key="e")
    assert fits.status_code == 200
    assert wallet(container, payer)["posted"] == 648_00


def test_frozen_payer_and_payee(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], give: Callable[..., None],
    container: Container, ready_staff: Callable[[str], Person],
) -> None:  # fmt: skip
    payer, payee = holder(), holder()
    give(payer, 50_00)
    api = api_for(payer)
    officer = ready_staff("compliance_officer")

    def freeze_(person: Person, scope: str) -> None:
        with UnitOfWork(container.database) as unit:
            staff = unit.session.get(User, uuid.UUID(officer.user_id))
            user = unit.session.get(User, uuid.UUID(person.user_id))
            assert staff is not None and user is not None
            freeze.freeze(
                unit.session,
                container.keys.vault(),
                staff,
                user,
                scope=scope,
                reason_code="aml_review",
                note="check",
                now=container.clock.now(),
            )
            unit.commit()  # fmt: skip

    quote_id = _quote(api, payee.identifier, 5_00).json()["id"]
    freeze_(payee, "all")
    blocked = _confirm(api, quote_id, key="x")
    assert blocked.status_code == 422 and blocked.json()["code"] == "payee_cannot_receive"
    assert "reason_code" not in blocked.json()
    freeze_(payer, "outgoing")
    refused = _quote(api, payee.identifier, 5_00)
    assert refused.status_code == 403 and refused.json()["code"] == "wallet_frozen"
    assert wallet(container, payer)["posted"] == 50_00


def test_others_cannot_see_or_confirm_a_quote(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], give: Callable[..., None],
) -> None:  # fmt: skip
    payer, payee = holder(), holder()
    give(payer, 10_00)
    quote_id = _quote(api_for(payer), payee.identifier, 1_00).json()["id"]
    their = api_for(payee)
    assert their.call("GET", f"/v1/me/transfers/{quote_id}").status_code == 404
    assert _confirm(their, quote_id).status_code == 404


def test_the_note_is_stored_encrypted(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], give: Callable[..., None],
    container: Container,
) -> None:  # fmt: skip
    payer, payee = holder(), holder()
    give(payer, 10_00)
    note = "房租 unique-marker-7731"
    _quote(api_for(payer), payee.identifier, 1_00, note=note)
    with UnitOfWork(container.database, write=False) as unit:
        raw = unit.session.execute(text("SELECT note_enc FROM wallet_p2p_transfers")).scalar_one()
    assert b"unique-marker-7731" not in bytes(raw)


def test_payee_lookups_are_limited(
    holder: Callable[..., Person], api_for: Callable[[Person], Api]
) -> None:
    payer = holder()
    api = api_for(payer)
    for n in range(30):
        found = _quote(api, f"+86139{n:08d}", 1_00)
        assert found.status_code == 404, found.text
    limited = _quote(api, "+8613900000099", 1_00)
    assert limited.status_code == 429 and limited.json()["code"] == "too_many_attempts"
    # Another holder has their own allowance.
    assert _quote(api_for(holder()), "+8613900000099", 1_00).status_code == 404
