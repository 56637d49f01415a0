"""Fees: integer arithmetic and rounding, schedules over time, waivers as auditable rows,
points paying fees, and the staff API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from anxin.api.deps import Container
from anxin.kit.unit_of_work import UnitOfWork
from anxin.privacy.vault import Vault
from anxin.wallet import accounts, fees, moves, points
from anxin.wallet.fees import FeeQuote, fee_under
from tests.identity.conftest import Person
from tests.wallet.conftest import START, Api, fund, make_user


def rule(**kw: Any) -> Any:
    base = {"basis_points": 0, "fixed": 0, "minimum": None, "maximum": None,
            "rounding": "half_up"}  # fmt: skip
    return SimpleNamespace(**{**base, **kw})


@pytest.mark.parametrize(
    ("amount", "kw", "fee"),
    [
        (10_000, {"basis_points": 60}, 60),  # 0.6% of 100.00
        (1_250, {"basis_points": 40}, 5),  # 5.00 exactly
        (1_249, {"basis_points": 40}, 5),  # 4.996 -> 5 (half up)
        (1_237, {"basis_points": 40}, 5),  # 4.948 -> 5
        (1_112, {"basis_points": 40}, 4),  # 4.448 -> 4
        (125, {"basis_points": 40}, 1),  # 0.5 -> 1 (half up)
        (124, {"basis_points": 40}, 0),  # 0.496 -> 0
        (124, {"basis_points": 40, "rounding": "up"}, 1),
        (1_249, {"basis_points": 40, "rounding": "down"}, 4),
        (100, {"basis_points": 100, "fixed": 30}, 31),
        (100, {"basis_points": 10, "minimum": 1_00}, 1_00),
        (10**9, {"basis_points": 100, "maximum": 50_00}, 50_00),
        (2**63 - 1, {"basis_points": 10_000}, 2**63 - 1),  # no overflow: Python integers
    ],
)
def test_fee_arithmetic(amount: int, kw: dict[str, Any], fee: int) -> None:
    assert fee_under(rule(**kw), amount) == fee


def test_the_rule_in_force_applies_and_rules_are_superseded_not_edited(
    uow: UnitOfWork, vault: Vault
) -> None:
    s = uow.session
    user = make_user(s, vault, START)
    assert fees.quote_fee(s, "withdrawal", "CNY", 100_00, user.id, START).fee == 0
    first = fees.create_rule(s, operation="withdrawal", asset="CNY", basis_points=100, fixed=0,
                             minimum=None, maximum=None, rounding="half_up",
                             valid_from=START, created_by=None, now=START)  # fmt: skip
    later = START + timedelta(days=10)
    fees.create_rule(s, operation="withdrawal", asset="CNY", basis_points=0, fixed=2_00,
                     minimum=None, maximum=None, rounding="half_up", valid_from=later,
                     created_by=None, now=START)  # fmt: skip
    assert fees.quote_fee(s, "withdrawal", "CNY", 100_00, user.id, START).fee == 1_00
    assert fees.quote_fee(s, "withdrawal", "CNY", 100_00, user.id, later).fee == 2_00
    assert first.valid_until == later
    assert fees.quote_fee(s, "withdrawal", "USD", 100_00, user.id, START).fee == 0
    with pytest.raises(fees.UnknownOperation):
        fees.quote_fee(s, "teleport", "CNY", 1, user.id, START)
    with pytest.raises(fees.InvalidFeeRule):
        fees.create_rule(s, operation="p2p", asset="CNY", basis_points=10_001, fixed=0,
                         minimum=None, maximum=None, rounding="half_up", valid_from=START,
                         created_by=None, now=START)  # fmt: skip


def _withdrawal_rule(s: Session) -> None:
    fees.create_rule(s, operation="withdrawal", asset="CNY", basis_points=0, fixed=2_00,
                     minimum=None, maximum=None, rounding="half_up", valid_from=START,
                     created_by=None, now=START)  # fmt: skip


def test_the_best_waiver_applies_and_every_use_is_recorded(uow: UnitOfWork, vault: Vault) -> None:
    s = uow.session
    alice, bob = make_user(s, vault, START), make_user(s, vault, START)
    _withdrawal_rule(s)
    half = fees.create_waiver(
        s, kind="campaign", campaign="spring", reason="spring sale", discount_bps=5_000,
        starts_at=START, ends_at=START + timedelta(days=30), created_by=None, now=START,
    )  # fmt: skip
    sorry = fees.create_waiver(
        s, kind="compensation", user_id=alice.id, reason="outage on 1 Jan", discount_bps=10_000,
        starts_at=START, ends_at=None, max_uses=1, operation="withdrawal", created_by=None,
        now=START,
    )  # fmt: skip
    quote = fees.quote_fee(s, "withdrawal", "CNY", 100_00, alice.id, START)
    assert (quote.gross_fee, quote.waived, quote.fee, quote.waiver_id) == (2_00, 2_00, 0, sorry.id)
    assert fees.quote_fee(s, "withdrawal", "CNY", 100_00, bob.id, START).fee == 1_00
    charge = fees.charge_fee(s, quote, reference="order-1", now=START)
    assert charge is not None and charge.waiver_id == sorry.id and charge.waived == 2_00
    # Used up: the campaign is next best for Alice.
    again = fees.quote_fee(s, "withdrawal", "CNY", 100_00, alice.id, START)
    assert (again.fee, again.waiver_id) == (1_00, half.id)
    # A stale quote naming the used-up waiver is refused rather than charged.
    with pytest.raises(fees.FeeChanged):
        fees.charge_fee(s, quote, reference="order-2", now=START)
    # Releasing the charge (the operation failed) gives the use back.
    fees.release_charges(s, "order-1", START)
    assert fees.quote_fee(s, "withdrawal", "CNY", 100_00, alice.id, START).waiver_id == sorry.id
    # Outside its window the campaign does not apply; revoked waivers neither.
    after = START + timedelta(days=31)
    assert fees.quote_fee(s, "withdrawal", "CNY", 100_00, bob.id, after).fee == 2_00
    fees.revoke_waiver(s, sorry.id, by=None, now=START)
    assert fees.quote_fee(s, "withdrawal", "CNY", 100_00, alice.id, START).waiver_id == half.id
    assert [c.reference for c in fees.list_charges(s, waiver_id=sorry.id)] == ["order-1"]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"kind": "holder"}, "needs a holder"),
        ({"kind": "campaign"}, "campaign's name"),
        ({"kind": "time_window", "user_id": None}, "needs an end"),
        ({"kind": "campaign", "campaign": "x", "discount_bps": 0}, "1 to 10000"),
        ({"kind": "campaign", "campaign": "x", "reason": "  "}, "say why"),
    ],
)
def test_invalid_waivers(uow: UnitOfWork, kw: dict[str, Any], message: str) -> None:
    args = {"reason": "r", "discount_bps": 10_000, "starts_at": START, "ends_at": None,
            "created_by": None, "now": START, **kw}  # fmt: skip
    with pytest.raises(fees.InvalidWaiver, match=message):
        fees.create_waiver(uow.session, **args)


def test_points_pay_part_of_a_fee(uow: UnitOfWork, vault: Vault) -> None:
    s = uow.session
    user = make_user(s, vault, START)
    _withdrawal_rule(s)
    points.create_rule(s, asset="CNY", earn_points=1, earn_per=1_00, redeem_points=100,
                       redeem_value=1_00, expiry_days=365, valid_from=START,
                       created_by=None, now=START)  # fmt: skip
    points.award_points(s, user.id, 150_00, "CNY", START)  # 150 points, worth 1.50
    quote = fees.quote_fee(s, "withdrawal", "CNY", 10_00, user.id, START, points_offered=1_000)
    assert (quote.points_used, quote.points_discount, quote.fee) == (150, 1_50, 50)
    small = fees.quote_fee(s, "withdrawal", "CNY", 10_00, user.id, START, points_offered=99)
    assert (small.points_used, small.points_discount, small.fee) == (99, 99, 1_01)
    fund(s, user.id, 100_00, START)
    wallet = accounts.wallet_account(s, user.id, "CNY", START)
    legs = [fees.fee_leg(s, quote, wallet, START, reference="pay-1"),
            fees.points_leg(s, quote, START, reference="pay-1")]  # fmt: skip
    moves.apply_linked(s, [leg for leg in legs if leg is not None], START)
    fees.charge_fee(s, quote, reference="pay-1", now=START)
    assert points.balance(s, user.id) == 0
    assert points.lots_of(s, user.id, START) == []  # the lot is used up


def test_a_quote_with_nothing_to_pay(uow: UnitOfWork, vault: Vault) -> None:
    quote = FeeQuote("p2p", "CNY", 1, None, 0, 0, 0, 0, 0, None, None)
    assert fees.charge_fee(uow.session, quote, reference="x", now=START) is None
    assert quote.to_json()["fee"] == 0


# -- the staff API ------------------------------------------------------------------------------


def test_staff_manage_rules_and_waivers_by_role(
    client: TestClient, ready_staff: Callable[[str], Person], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], container: Container,
) -> None:  # fmt: skip
    admin, senior, agent = ready_staff("admin"), ready_staff("senior_agent"), ready_staff("agent")
    body = {"operation": "withdrawal", "asset": "CNY", "basis_points": 50, "minimum": 1_00}
    made = client.post("/v1/staff/fees/rules", json=body, headers=admin.headers)
    assert made.status_code == 201, made.text
    denied = client.post("/v1/staff/fees/rules", json=body, headers=senior.headers)
    assert (denied.status_code, denied.json()["code"]) == (403, "missing_permission")
    assert client.get("/v1/staff/fees/rules", headers=agent.headers).status_code == 403
    listed = client.get("/v1/staff/fees/rules", headers=senior.headers).json()["data"]
    assert [r["basis_points"] for r in listed] == [50]
    person = holder()
    api = api_for(person)
    quote = api.call("POST", "/v1/me/fees/quote",
                     json={"operation": "withdrawal", "amount": 1_000_00})  # fmt: skip
    assert (quote.json()["fee"], quote.json()["total"]) == (5_00, 1_005_00)
    goodwill = {"kind": "compensation", "user_id": person.user_id, "reason": "late payout",
                "max_uses": 1}  # fmt: skip
    waived = client.post("/v1/staff/fees/waivers", json=goodwill, headers=senior.headers)
    assert waived.status_code == 201, waived.text
    campaign = {"kind": "campaign", "campaign": "new year", "reason": "promo",
                "discount_bps": 5_000}  # fmt: skip
    no = client.post("/v1/staff/fees/waivers", json=campaign, headers=senior.headers)
    assert (no.status_code, no.json()["code"]) == (403, "missing_permission")
    assert client.post("/v1/staff/fees/waivers", json=campaign,
                       headers=admin.headers).status_code == 201  # fmt: skip
    now_free = api.call("POST", "/v1/me/fees/quote",
                        json={"operation": "withdrawal", "amount": 1_000_00}).json()  # fmt: skip
    assert (now_free["fee"], now_free["waived"], now_free["waiver_kind"]) == (
        0, 5_00, "compensation")  # fmt: skip
    revoked = client.post(f"/v1/staff/fees/waivers/{waived.json()['id']}/revoke",
                          headers=senior.headers)  # fmt: skip
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    again = client.post(f"/v1/staff/fees/waivers/{waived.json()['id']}/revoke",
                        headers=senior.headers)  # fmt: skip
    assert (again.status_code, again.json()["code"]) == (409, "waiver_revoked")
    mine = client.get(f"/v1/staff/fees/waivers?user_id={person.user_id}",
                      headers=senior.headers).json()["data"]  # fmt: skip
    assert [w["kind"] for w in mine] == ["compensation"]
    bad = client.post("/v1/staff/fees/waivers", headers=senior.headers,
                      json={**goodwill, "user_id": admin.user_id})  # fmt: skip
    assert (bad.status_code, bad.json()["code"]) == (404, "holder_not_found")
    with UnitOfWork(container.database) as uow:
        assert fees.list_waivers(uow.session, active_at=container.clock.now())


def test_the_demo_schedule(uow: UnitOfWork, vault: Vault) -> None:
    from anxin.wallet.demo import seed_fees_and_points

    s = uow.session
    user = make_user(s, vault, START)
    seed_fees_and_points(s, START)
    seed_fees_and_points(s, START)  # once only
    assert len(fees.list_rules(s)) == 2 and len(points.list_rules(s)) == 1
    payment = fees.quote_fee(s, "payment", "CNY", 38_00, user.id, START)
    assert payment.fee == 19  # the demo's tea
    withdrawal = fees.quote_fee(s, "withdrawal", "CNY", 500_00, user.id, START)
    assert (withdrawal.gross_fee, withdrawal.fee, withdrawal.waiver_kind) == (
        1_00,
        50,
        "time_window",
    )
    later = fees.quote_fee(s, "withdrawal", "CNY", 500_00, user.id, START + timedelta(days=31))
    assert later.fee == 1_00
