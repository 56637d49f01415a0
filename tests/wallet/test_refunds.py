"""Refunds: full or partial, never more than captured, the fee given back in proportion,
linked ledger reversals, the holder notified, idempotent."""

from __future__ import annotations

from collections.abc import Callable

from anxin.api.deps import Container
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.verify import verify_ledger
from anxin.models import PointsLot, Refund, Transfer
from tests.wallet.conftest import Api, Person
from tests.wallet.merchant_helpers import (
    Shop,
    balance,
    confirm,
    make_shop,
    notices,
    payment_fee,
    points_rule,
    settlement,
    wallet,
)

__all__ = ["make_shop", "payment_fee", "points_rule"]  # fixtures used below


def _paid(shop: Shop, api: Api, amount: int) -> str:
    intent_id = shop.intent(amount)
    assert confirm(api, intent_id).status_code == 200
    assert shop.post(f"/payment-intents/{intent_id}/capture").status_code == 200
    return intent_id


def test_partial_then_full_refund(
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Callable[..., None], container: Container,
    payment_fee: int,
) -> None:  # fmt: skip
    shop, person = make_shop(), holder()
    give(person, 500_00)
    api = api_for(person)
    intent_id = _paid(shop, api, 100_00)  # fee 0.60
    assert wallet(container, person)["posted"] == 399_40

    part = shop.post(f"/payment-intents/{intent_id}/refunds", {"amount": 30_00, "reason": "缺货"})
    assert part.status_code == 201, part.text
    assert part.json()["amount"] == 30_00
    # 30 % of the payment back, and 30 % of the fee (18 fen).
    assert wallet(container, person)["posted"] == 399_40 + 30_00 + 18
    assert settlement(container, shop)["posted"] == 70_00
    assert shop.get(f"/payment-intents/{intent_id}").json()["refunded_amount"] == 30_00

    rest = shop.post(f"/payment-intents/{intent_id}/refunds", {})
    assert rest.status_code == 201, rest.text
    assert rest.json()["amount"] == 70_00
    assert wallet(container, person)["posted"] == 500_00
    assert settlement(container, shop)["posted"] == 0
    assert balance(container, "system:fee_revenue")["posted"] == 0
    assert shop.get(f"/payment-intents/{intent_id}").json()["status"] == "refunded"
    listed = shop.get(f"/payment-intents/{intent_id}/refunds").json()["items"]
    assert [r["amount"] for r in listed] == [30_00, 70_00]
    assert notices(container, person)[-2:] == ["refund.received"] * 2

    # The holder's statement tells what happened and with whom.
    lines = api.call("GET", "/v1/me/statements").json()["data"]
    shown = [(x["type"], x["counterparty"], x["category"], x["amount"]) for x in lines]
    assert ("payment", "Happy Tea", "shopping", -100_00) in shown
    assert ("refund", "Happy Tea", "refunds", 30_00) in shown
    # The fee's share that came back is on the refund's own line, as a negative fee.
    assert [x["fee"] for x in lines if x["type"] == "refund"] == [-42, -18]
    with UnitOfWork(container.database, write=False) as unit:
        refunds = unit.session.query(Refund).order_by(Refund.created_at).all()
        reversal = unit.session.get(Transfer, refunds[0].transfer_id)
        assert reversal is not None
        assert (reversal.action, reversal.kind, reversal.amount) == ("reverse", "refund", 30_00)
        assert verify_ledger(unit.session.connection()).ok


def test_never_more_than_captured(
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Callable[..., None], container: Container,
) -> None:  # fmt: skip
    shop, person = make_shop(), holder()
    give(person, 100_00)
    api = api_for(person)
    intent_id = _paid(shop, api, 40_00)
    over = shop.post(f"/payment-intents/{intent_id}/refunds", {"amount": 40_01})
    assert over.status_code == 422
    assert (over.json()["code"], over.json()["remaining"]) == ("refund_exceeds_captured", 40_00)
    assert shop.post(f"/payment-intents/{intent_id}/refunds", {"amount": 25_00}).status_code == 201
    again = shop.post(f"/payment-intents/{intent_id}/refunds", {"amount": 15_01})
    assert again.status_code == 422
    assert again.json()["remaining"] == 15_00
    assert shop.post(f"/payment-intents/{intent_id}/refunds", {"amount": 15_00}).status_code == 201
    done = shop.post(f"/payment-intents/{intent_id}/refunds", {"amount": 1})
    assert done.status_code == 422
    assert wallet(container, person)["posted"] == 100_00


def test_only_captured_payments_are_refunded(
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Callable[..., None],
) -> None:  # fmt: skip
    shop, rival, person = make_shop(), make_shop("Rival"), holder()
    give(person, 100_00)
    api = api_for(person)
    waiting = shop.intent(10_00)
    refused = shop.post(f"/payment-intents/{waiting}/refunds", {})
    assert refused.status_code == 409
    assert refused.json()["code"] == "payment_intent_state_conflict"
    held = shop.intent(10_00)
    assert confirm(api, held).status_code == 200
    assert shop.post(f"/payment-intents/{held}/refunds", {}).status_code == 409
    paid = _paid(shop, api, 10_00)
    assert rival.post(f"/payment-intents/{paid}/refunds", {}).status_code == 404


def test_refund_is_idempotent(
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Callable[..., None], container: Container,
) -> None:  # fmt: skip
    shop, person = make_shop(), holder()
    give(person, 100_00)
    intent_id = _paid(shop, api_for(person), 50_00)
    path = f"/payment-intents/{intent_id}/refunds"
    first = shop.post(path, {"amount": 10_00}, key="refund-1")
    replay = shop.post(path, {"amount": 10_00}, key="refund-1")
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    reused = shop.post(path, {"amount": 20_00}, key="refund-1")
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    assert wallet(container, person)["posted"] == 60_00
    missing = shop.post(path, {"amount": 1}, key=None)
    assert missing.status_code == 400
    assert missing.json()["code"] == "idempotency_key_required"


def test_a_refund_takes_back_the_points_the_payment_earned(
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Callable[..., None], container: Container,
    points_rule: None,
) -> None:  # fmt: skip
    shop, person = make_shop(), holder()
    give(person, 500_00)
    api = api_for(person)
    intent_id = _paid(shop, api, 100_00)  # earns 100 points
    assert wallet(container, person, "POINTS")["posted"] == 100

    part = shop.post(f"/payment-intents/{intent_id}/refunds", {"amount": 30_01})
    assert part.status_code == 201, part.text
    # 30.01 % of 100 points, rounded down: 30 back to the issuer, linked with the refund.
    assert wallet(container, person, "POINTS")["posted"] == 70
    assert notices(container, person)[-2:] == ["refund.received", "points.clawed_back"]

    # The holder spends 60 of the 70 points left; the rest of the refund can only take 10.
    spent = api.call("POST", "/v1/me/points/redeem", key="redeem-1",
                     json={"points": 60, "asset": "CNY"})  # fmt: skip
    assert spent.status_code in (200, 201), spent.text
    rest = shop.post(f"/payment-intents/{intent_id}/refunds", {})
    assert rest.status_code == 201, rest.text
    assert wallet(container, person, "POINTS")["posted"] == 0  # never below zero
    with UnitOfWork(container.database, write=False) as unit:
        refunds = unit.session.query(Refund).order_by(Refund.created_at).all()
        first = unit.session.get(Transfer, refunds[0].transfer_id)
        second = unit.session.get(Transfer, refunds[1].transfer_id)
        assert first is not None and second is not None
        # Due in all: 100; the first took 30, the second was due 70 and found 10.
        assert (first.meta["points_clawed_back"], first.meta["points_unrecovered"]) == (
            30, 0)  # fmt: skip
        assert (second.meta["points_clawed_back"],
                second.meta["points_unrecovered"]) == (10, 60)  # fmt: skip
        assert sum(lot.remaining for lot in unit.session.query(PointsLot)) == 0
        assert verify_ledger(unit.session.connection()).ok
    history = api.call("GET", "/v1/me/statements?asset=POINTS").json()["data"]
    assert [x["type"] for x in history if x["type"] == "points_clawback"] == ["points_clawback"] * 2
    assert sum(x["amount"] for x in history) == 0


def test_a_refund_of_a_payment_that_earned_nothing_takes_no_points(
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Callable[..., None], container: Container,
) -> None:  # fmt: skip
    shop, person = make_shop(), holder()
    give(person, 100_00)
    intent_id = _paid(shop, api_for(person), 50_00)  # no points rule: nothing earned
    assert shop.post(f"/payment-intents/{intent_id}/refunds", {}).status_code == 201
    assert wallet(container, person, "POINTS")["posted"] == 0
    assert "points.clawed_back" not in notices(container, person)
