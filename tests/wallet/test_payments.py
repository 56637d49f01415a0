"""Payment intents end to end: the merchant asks, the holder sees amount, fee and payee,
confirms (step-up), the money is held, then captured or released; and every refusal."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from anxin.api.deps import Container
from anxin.kit.clock import ManualClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.verify import verify_ledger
from anxin.models import FeeCharge, PointsLot, User, WebhookDelivery
from anxin.wallet import freeze, payments
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

Give = Callable[..., None]


def _ready(holder: Callable[..., Person], api_for: Callable[[Person], Api], give: Give,
           amount: int = 500_00) -> tuple[Person, Api]:  # fmt: skip
    person = holder()
    give(person, amount)
    return person, api_for(person)


def test_create_show_confirm_capture(
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Give, container: Container, payment_fee: int,
    points_rule: None,
) -> None:  # fmt: skip
    shop = make_shop()
    person, api = _ready(holder, api_for, give)
    intent_id = shop.intent(100_00, description="两杯奶茶", reference="order-1")

    shown = api.call("GET", f"/v1/me/payment-intents/{intent_id}").json()
    assert shown["payee"] == {"kind": "merchant", "name": "Happy Tea", "contact": None}
    assert (shown["amount"], shown["fee"], shown["total"]) == (100_00, 60, 100_60)
    assert shown["status"] == "requires_confirmation"

    # Without a second factor's proof nothing is held.
    first = api.call("POST", f"/v1/me/payment-intents/{intent_id}/confirm", key="pay-1")
    assert first.status_code == 401 and first.json()["code"] == "step_up_required"
    assert wallet(container, person)["available"] == 500_00

    done = confirm(api, intent_id, key="pay-1", fee=60)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "confirmed"
    held = wallet(container, person)
    assert held == {"posted": 500_00, "pending": -100_60, "available": 500_00 - 100_60}

    captured = shop.post(f"/payment-intents/{intent_id}/capture")
    assert captured.status_code == 200, captured.text
    assert captured.json()["status"] == "captured"
    assert captured.json()["captured_amount"] == 100_00
    assert wallet(container, person) == {"posted": 399_40, "pending": 0, "available": 399_40}
    assert settlement(container, shop)["posted"] == 100_00
    assert balance(container, "system:fee_revenue")["posted"] == 60
    assert notices(container, person)[-2:] == ["points.earned", "payment.sent"]
    with UnitOfWork(container.database, write=False) as unit:
        lots = unit.session.query(PointsLot).all()
        assert [lot.points for lot in lots] == [100]
        charge = unit.session.query(FeeCharge).one()
        assert (charge.operation, charge.fee, charge.reference) == (
            "payment",
            60,
            f"payment_intent:{intent_id}",
        )
        assert verify_ledger(unit.session.connection()).ok


def test_replayed_confirmation_holds_once(
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Give, container: Container,
) -> None:  # fmt: skip
    shop = make_shop()
    person, api = _ready(holder, api_for, give)
    intent_id = shop.intent(20_00)
    first = confirm(api, intent_id, key="same")
    again = api.call("POST", f"/v1/me/payment-intents/{intent_id}/confirm", key="same")
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert wallet(container, person)["available"] == 480_00
    other = api.call("POST", f"/v1/me/payment-intents/{intent_id}/confirm", key="same",
                     json={"fee": 1})  # fmt: skip
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


def test_cancel_releases_the_hold(
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Give, container: Container, payment_fee: int,
) -> None:  # fmt: skip
    shop = make_shop()
    person, api = _ready(holder, api_for, give)
    intent_id = shop.intent(50_00)
    assert confirm(api, intent_id).status_code == 200
    cancelled = shop.post(f"/payment-intents/{intent_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "canceled"
    assert wallet(container, person) == {"posted": 500_00, "pending": 0, "available": 500_00}
    assert settlement(container, shop)["posted"] == 0
    again = shop.post(f"/payment-intents/{intent_id}/capture")
    assert again.status_code == 409
    assert again.json()["code"] == "payment_intent_state_conflict"
    assert notices(container, person)[-1] == "payment.released"


def test_a_merchant_cannot_capture_what_nobody_confirmed(
    make_shop: Callable[..., Shop], container: Container
) -> None:
    shop = make_shop()
    intent_id = shop.intent(10_00)
    refused = shop.post(f"/payment-intents/{intent_id}/capture")
    assert refused.status_code == 409
    assert refused.json()["code"] == "payment_intent_state_conflict"
    unknown = shop.post(f"/payment-intents/{uuid.uuid4()}/capture")
    assert unknown.status_code == 404
    # Cancelling an unconfirmed intent needs no ledger at all.
    assert shop.post(f"/payment-intents/{intent_id}/cancel").json()["status"] == "canceled"


def test_refusals_leave_nothing_held(
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Give, container: Container, payment_fee: int,
) -> None:  # fmt: skip
    shop = make_shop()
    person, api = _ready(holder, api_for, give, amount=30_00)

    poor = confirm(api, shop.intent(40_00))
    assert poor.status_code == 422 and poor.json()["code"] == "insufficient_funds", poor.text

    # An unverified holder may pay out at most 500 CNY a day.
    give(person, 600_00)
    over = confirm(api, shop.intent(501_00))
    assert over.status_code == 422
    assert (over.json()["code"], over.json()["limit"]) == ("limit_exceeded", "daily_outflow")

    changed = confirm(api, shop.intent(10_00), fee=0)
    assert changed.status_code == 409
    assert (changed.json()["code"], changed.json()["fee"]) == ("fee_changed", 6)
    assert wallet(container, person)["pending"] == 0
    assert wallet(container, person)["available"] == 630_00


def test_own_daily_limit(
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Give, container: Container,
) -> None:  # fmt: skip
    shop = make_shop()
    person, api = _ready(holder, api_for, give)
    with UnitOfWork(container.database) as unit:
        user = unit.session.get(User, uuid.UUID(person.user_id))
        assert user is not None
        user.daily_limit = 50_00
        unit.commit()
    assert confirm(api, shop.intent(30_00)).status_code == 200
    refused = confirm(api, shop.intent(30_00))
    assert refused.status_code == 422
    assert refused.json()["limit"] == "holder_daily_limit"


def test_frozen_wallet_cannot_pay(
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Give, container: Container,
    ready_staff: Callable[[str], Person],
) -> None:  # fmt: skip
    shop = make_shop()
    person, api = _ready(holder, api_for, give)
    officer = ready_staff("risk_officer")
    with UnitOfWork(container.database) as unit:
        staff = unit.session.get(User, uuid.UUID(officer.user_id))
        user = unit.session.get(User, uuid.UUID(person.user_id))
        assert staff is not None and user is not None
        freeze.freeze(
            unit.session, container.keys.vault(), staff, user, scope="outgoing",
            reason_code="suspected_fraud", note="test", now=container.clock.now(),
        )  # fmt: skip
        unit.commit()
    refused = confirm(api, shop.intent(10_00))
    assert refused.status_code == 403
    assert refused.json()["code"] == "wallet_frozen"


def test_step_up_needs_a_factor_and_binds_to_the_intent(
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Give, client: TestClient, container: Container,
) -> None:  # fmt: skip
    shop = make_shop()
    bare = holder()
    give(bare, 100_00)
    intent_id = shop.intent(60_00)
    no_factor = client.post(
        f"/v1/me/payment-intents/{intent_id}/confirm",
        headers=bare.headers | {"Idempotency-Key": "x"},
    )
    assert no_factor.status_code == 403
    assert no_factor.json()["code"] == "second_factor_required"

    person, api = _ready(holder, api_for, give)
    first, second = shop.intent(60_00), shop.intent(60_00)
    asked = api.call("POST", f"/v1/me/payment-intents/{first}/confirm", key="a")
    token = api.step_up(asked)
    # A token for one intent does not pay another of the same amount to the same merchant.
    wrong = client.post(
        f"/v1/me/payment-intents/{second}/confirm",
        headers=person.headers | {"Idempotency-Key": "b", "X-Step-Up-Token": token},
    )
    assert wrong.status_code == 401 and wrong.json()["code"] == "step_up_required"
    assert wallet(container, person)["available"] == 500_00


def test_holders_and_merchants_see_only_their_own(
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Give,
) -> None:  # fmt: skip
    shop, rival = make_shop(), make_shop("Other Tea")
    _, api = _ready(holder, api_for, give)
    intent_id = shop.intent(10_00)
    assert rival.get(f"/payment-intents/{intent_id}").status_code == 404
    assert rival.post(f"/payment-intents/{intent_id}/cancel").status_code == 404
    assert confirm(api, intent_id).status_code == 200
    stranger = api_for(holder())
    seen = stranger.call("GET", f"/v1/me/payment-intents/{intent_id}")
    assert seen.status_code == 404
    assert seen.json()["code"] == "payment_intent_not_found"
    assert shop.get(f"/payment-intents/{intent_id}").json()["status"] == "confirmed"
    listed = shop.get("/payment-intents").json()["items"]
    assert [i["id"] for i in listed] == [intent_id]


def test_expiry_before_confirmation_and_before_capture(
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Give, clock: ManualClock, container: Container,
) -> None:  # fmt: skip
    shop = make_shop()
    _, api = _ready(holder, api_for, give)
    late = shop.intent(10_00, confirm_within_seconds=60)
    held = shop.intent(10_00)
    assert confirm(api, held).status_code == 200
    clock.advance(timedelta(minutes=2))
    refused = confirm(api, late)
    assert refused.status_code == 409
    assert refused.json()["code"] == "payment_intent_expired"
    clock.advance(timedelta(days=7))
    assert shop.get(f"/payment-intents/{held}").json()["status"] == "expired"
    too_late = shop.post(f"/payment-intents/{held}/capture")
    assert too_late.status_code == 409
    assert too_late.json()["code"] == "payment_intent_expired"


def test_lapsed_intents_are_closed_and_the_money_comes_back(
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Give, clock: ManualClock, container: Container,
    payment_fee: int,
) -> None:  # fmt: skip
    shop = make_shop(webhook_url="http://127.0.0.1:9/unused")
    person, api = _ready(holder, api_for, give)
    unanswered = shop.intent(10_00, confirm_within_seconds=60)
    held = shop.intent(20_00)
    assert confirm(api, held).status_code == 200
    assert wallet(container, person)["available"] == 500_00 - 20_12

    def close() -> int:
        return payments.close_lapsed(container.database, container.keys, container.clock)

    clock.advance(timedelta(minutes=2))
    assert close() == 1  # the unanswered one; the confirmed one has 7 days
    clock.advance(timedelta(days=7))
    assert close() == 1
    assert close() == 0
    assert wallet(container, person) == {"posted": 500_00, "pending": 0, "available": 500_00}
    assert notices(container, person)[-1] == "payment.released"
    assert shop.get(f"/payment-intents/{unanswered}").json()["status"] == "expired"
    assert shop.get(f"/payment-intents/{held}").json()["status"] == "expired"
    with UnitOfWork(container.database, write=False) as unit:
        charge = unit.session.query(FeeCharge).one()
        assert charge.released_at is not None  # the fee was never taken
        events = [d.event_type for d in unit.session.query(WebhookDelivery)]
        assert events.count("payment_intent.expired") == 2
        assert verify_ledger(unit.session.connection()).ok
