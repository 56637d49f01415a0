"""Mandates: proposed by a merchant, signed by the holder with step-up, every debit checked
(cap, frequency, end, cancellation) and notified; the holder lists and cancels them."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from anxin.api.deps import Container
from anxin.kit.clock import ManualClock
from anxin.kit.errors import AnxinError
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Merchant, PaymentIntent, User
from anxin.wallet import freeze, mandates
from tests.wallet.conftest import Api, Person
from tests.wallet.merchant_helpers import (
    Shop,
    fee_of,
    make_shop,
    notices,
    payment_fee,
    settlement,
    wallet,
)

__all__ = ["make_shop", "payment_fee"]  # fixtures used below


def _terms(clock: ManualClock, **changes: Any) -> dict[str, Any]:
    terms = {
        "currency": "CNY", "max_per_debit": 30_00, "frequency": "daily",
        "debits_per_period": 2, "ends_at": (clock.now() + timedelta(days=30)).isoformat(),
        "description": "每日早餐",
    }  # fmt: skip
    return terms | changes


def _signed(shop: Shop, api: Api, clock: ManualClock, **changes: Any) -> str:
    proposed = shop.post("/mandates", _terms(clock, **changes))
    assert proposed.status_code == 201, proposed.text
    mandate_id = str(proposed.json()["id"])
    accepted = api.call("POST", f"/v1/me/mandates/{mandate_id}/accept", stepped=True)
    assert accepted.status_code == 200, accepted.text
    return mandate_id


def _debit(shop: Shop, mandate_id: str, amount: int, **extra: Any) -> Any:
    body = {"amount": amount, "currency": "CNY", **extra}
    return shop.post(f"/mandates/{mandate_id}/debits", body)


@pytest.fixture
def payer(holder: Callable[..., Person], give: Callable[..., None]) -> Person:
    person = holder(name="张三明")
    give(person, 500_00)
    return person


def test_sign_then_debit_without_asking(
    make_shop: Callable[..., Shop], payer: Person, api_for: Callable[[Person], Api],
    clock: ManualClock, container: Container, payment_fee: int,
) -> None:  # fmt: skip
    shop, api = make_shop(), api_for(payer)
    proposed = shop.post("/mandates", _terms(clock)).json()
    assert proposed["status"] == "proposed"
    shown = api.call("GET", f"/v1/me/mandates/{proposed['id']}").json()
    assert shown["payee"]["name"] == "Happy Tea"
    assert (shown["max_per_debit"], shown["frequency"]) == (30_00, "daily")
    # Nothing can be taken before the holder signs.
    early = _debit(shop, proposed["id"], 10_00)
    assert early.status_code == 409 and early.json()["code"] == "mandate_not_active"
    # Signing always needs a second factor.
    unsigned = api.call("POST", f"/v1/me/mandates/{proposed['id']}/accept")
    assert unsigned.status_code == 401 and unsigned.json()["code"] == "step_up_required"
    signed = api.call("POST", f"/v1/me/mandates/{proposed['id']}/accept", stepped=True)
    assert signed.json()["status"] == "active"
    assert notices(container, payer)[-1] == "mandate.accepted"

    debited = _debit(shop, proposed["id"], 25_00, reference="breakfast-1")
    assert debited.status_code == 201, debited.text
    body = debited.json()
    assert (body["status"], body["captured_amount"]) == ("captured", 25_00)
    assert body["mandate_id"] == proposed["id"]
    assert wallet(container, payer)["posted"] == 500_00 - 25_00 - fee_of(25_00)
    assert settlement(container, shop)["posted"] == 25_00
    assert notices(container, payer)[-1] == "mandate.debited"
    listed = api.call("GET", "/v1/me/mandates").json()["items"]
    assert [m["id"] for m in listed] == [proposed["id"]]
    # A debit is refundable like any payment.
    refund = shop.post(f"/payment-intents/{body['id']}/refunds", {"amount": 5_00})
    assert refund.status_code == 201, refund.text


def test_every_debit_is_checked(
    make_shop: Callable[..., Shop], payer: Person, api_for: Callable[[Person], Api],
    clock: ManualClock, container: Container,
) -> None:  # fmt: skip
    shop, api = make_shop(), api_for(payer)
    mandate_id = _signed(shop, api, clock)
    too_much = _debit(shop, mandate_id, 30_01)
    assert too_much.status_code == 422
    assert (too_much.json()["code"], too_much.json()["limit"]) == (
        "mandate_exceeded", "max_per_debit"
    )  # fmt: skip
    other_currency = shop.post(f"/mandates/{mandate_id}/debits",
                               {"amount": 1_00, "currency": "USD"})  # fmt: skip
    assert other_currency.json()["code"] == "mandate_exceeded"
    assert _debit(shop, mandate_id, 10_00).status_code == 201
    assert _debit(shop, mandate_id, 10_00).status_code == 201
    third = _debit(shop, mandate_id, 10_00)
    assert third.status_code == 422
    assert (third.json()["code"], third.json()["limit"]) == ("mandate_exceeded", "frequency")
    clock.advance(timedelta(days=1))  # a new day, a new period
    assert _debit(shop, mandate_id, 10_00).status_code == 201
    clock.advance(timedelta(days=30))
    ended = _debit(shop, mandate_id, 10_00)
    assert ended.status_code == 422 and ended.json()["code"] == "mandate_expired"
    assert wallet(container, payer)["posted"] == 500_00 - 30_00


def test_holder_cancels_at_any_time(
    make_shop: Callable[..., Shop], payer: Person, api_for: Callable[[Person], Api],
    clock: ManualClock, container: Container,
) -> None:  # fmt: skip
    shop, api = make_shop(), api_for(payer)
    mandate_id = _signed(shop, api, clock, frequency="monthly", debits_per_period=10)
    assert _debit(shop, mandate_id, 5_00).status_code == 201
    cancelled = api.call("POST", f"/v1/me/mandates/{mandate_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["cancelled_by"]) == ("cancelled", "holder")
    refused = _debit(shop, mandate_id, 5_00)
    assert refused.status_code == 422 and refused.json()["code"] == "mandate_cancelled"
    assert notices(container, payer)[-1] == "mandate.cancelled"
    assert shop.get(f"/mandates/{mandate_id}").json()["status"] == "cancelled"
    assert wallet(container, payer)["posted"] == 495_00


def test_refusals_from_the_wallet(
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Callable[..., None], clock: ManualClock,
    container: Container, ready_staff: Callable[[str], Person],
) -> None:  # fmt: skip
    shop = make_shop()
    person = holder()
    give(person, 20_00)
    mandate_id = _signed(shop, api_for(person), clock, max_per_debit=600_00)
    poor = _debit(shop, mandate_id, 21_00)
    assert poor.status_code == 422 and poor.json()["code"] == "insufficient_funds"
    give(person, 600_00)
    over = _debit(shop, mandate_id, 501_00)  # unverified: 500 CNY a day
    assert over.status_code == 422 and over.json()["code"] == "limit_exceeded"
    # The same key twice takes once; with another body it is refused.
    path = f"/mandates/{mandate_id}/debits"
    first = shop.post(path, {"amount": 5_00, "currency": "CNY"}, key="d-1")
    replay = shop.post(path, {"amount": 5_00, "currency": "CNY"}, key="d-1")
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == first.json()
    reused = shop.post(path, {"amount": 6_00, "currency": "CNY"}, key="d-1")
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    assert wallet(container, person)["posted"] == 615_00
    # A frozen wallet pays nobody, mandate or not.
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
    frozen = _debit(shop, mandate_id, 1_00)
    assert frozen.status_code == 403 and frozen.json()["code"] == "wallet_frozen"


def test_only_the_parties_see_a_mandate(
    make_shop: Callable[..., Shop], payer: Person, holder: Callable[..., Person],
    api_for: Callable[[Person], Api], clock: ManualClock,
) -> None:  # fmt: skip
    shop, rival = make_shop(), make_shop("Rival")
    mandate_id = _signed(shop, api_for(payer), clock)
    assert rival.get(f"/mandates/{mandate_id}").status_code == 404
    stolen = _debit(rival, mandate_id, 1_00)
    assert stolen.status_code == 404 and stolen.json()["code"] == "mandate_not_found"
    stranger = api_for(holder())
    assert stranger.call("GET", f"/v1/me/mandates/{mandate_id}").status_code == 404
    assert stranger.call("POST", f"/v1/me/mandates/{mandate_id}/cancel").status_code == 404
    assert stranger.call("GET", "/v1/me/mandates").json()["items"] == []
    # A signed mandate cannot be signed again by anyone.
    again = stranger.call("POST", f"/v1/me/mandates/{mandate_id}/accept", stepped=True)
    assert again.status_code == 404


def test_merchant_cancels_and_terms_are_validated(
    make_shop: Callable[..., Shop], payer: Person, api_for: Callable[[Person], Api],
    clock: ManualClock,
) -> None:  # fmt: skip
    shop = make_shop()
    mandate_id = _signed(shop, api_for(payer), clock)
    out = shop.post(f"/mandates/{mandate_id}/cancel", key=None)
    assert out.json()["cancelled_by"] == "merchant"
    past = shop.post("/mandates", _terms(clock, ends_at=(clock.now() - timedelta(days=1))
                                         .isoformat()))  # fmt: skip
    assert past.status_code == 422 and past.json()["code"] == "invalid_mandate_terms"
    naive = shop.post("/mandates", _terms(clock, ends_at="2031-01-01T00:00:00"))
    assert naive.status_code == 422
    assert shop.post("/mandates", _terms(clock, frequency="hourly")).status_code == 422
    assert shop.post("/mandates", _terms(clock, max_per_debit=0)).status_code == 422


def test_racing_debits_cannot_share_the_last_slot(
    make_shop: Callable[..., Shop], payer: Person, api_for: Callable[[Person], Api],
    clock: ManualClock, container: Container,
) -> None:  # fmt: skip
    shop = make_shop()
    mandate_id = uuid.UUID(_signed(shop, api_for(payer), clock, debits_per_period=1))
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def run() -> None:
        start.wait()
        with UnitOfWork(container.database) as unit:
            try:
                merchant = unit.session.get(Merchant, uuid.UUID(shop.id))
                assert merchant is not None
                mandate = mandates.for_merchant(unit.session, merchant, mandate_id, lock=True)
                mandates.debit(
                    unit.session, container.keys.vault(), merchant, mandate, amount=10_00,
                    currency="CNY", description=None, reference=None, now=clock.now(),
                )  # fmt: skip
                unit.commit()
                outcomes.append("ok")
            except AnxinError as error:
                outcomes.append(error.code)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["mandate_exceeded"] * 3 + ["ok"]
    with UnitOfWork(container.database, write=False) as unit:
        assert unit.session.query(PaymentIntent).count() == 1
    assert wallet(container, payer)["posted"] == 490_00
