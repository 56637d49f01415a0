"""Reward points: earning by rule, spending first-to-expire first, expiry, redemption."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from anxin.api.deps import Container
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.service import balance_of
from anxin.models import Notification, PointsLot
from anxin.privacy.vault import Vault
from anxin.wallet import accounts, freeze, points
from tests.identity.conftest import Person
from tests.wallet.conftest import START, Api, fund, make_user


def _rule(uow: UnitOfWork, **kw: int) -> None:
    values = {"earn_points": 1, "earn_per": 1_00, "redeem_points": 100, "redeem_value": 1_00,
              "expiry_days": 30, **kw}  # fmt: skip
    points.create_rule(uow.session, asset="CNY", valid_from=START, created_by=None, now=START,
                       **values)  # fmt: skip


def test_payments_earn_points_by_the_rule(uow: UnitOfWork, vault: Vault) -> None:
    s = uow.session
    user = make_user(s, vault, START)
    assert points.award_points(s, user.id, 100_00, "CNY", START) is None  # no rule yet
    _rule(uow, max_points_per_payment=500)
    award = points.award_points(s, user.id, 38_99, "CNY", START, reference="pay-1", vault=vault)
    assert award is not None and award.points == 38  # rounded down
    assert award.expires_at == START + timedelta(days=30)
    assert points.award_points(s, user.id, 99, "CNY", START) is None  # too small
    capped = points.award_points(s, user.id, 10_000_00, "CNY", START)
    assert capped is not None and capped.points == 500
    assert points.balance(s, user.id) == 538
    assert points.award_points(s, user.id, 100_00, "USD", START) is None
    notice = s.scalars(select(Notification).where(Notification.user_id == user.id)).one()
    assert notice.kind == "points.earned" and "38" in notice.body


def test_spending_takes_the_soonest_expiring_points_and_expiry_takes_the_rest(
    uow: UnitOfWork, vault: Vault
) -> None:
    s = uow.session
    user = make_user(s, vault, START)
    _rule(uow)
    points.award_points(s, user.id, 100_00, "CNY", START)  # 100 points, expire day 30
    _rule_later = START + timedelta(days=10)
    points.award_points(s, user.id, 50_00, "CNY", _rule_later)  # 50 points, expire day 40
    op = points.burn_ops(s, user.id, 120, _rule_later, kind="points_redeemed", reference="r")
    from anxin.wallet import moves

    moves.apply_linked(s, [op], _rule_later)
    lots = s.scalars(select(PointsLot).order_by(PointsLot.expires_at)).all()
    assert [lot.remaining for lot in lots] == [0, 30]
    assert points.expire_points(s, START + timedelta(days=35)).points == 0  # first lot used up
    report = points.expire_points(s, START + timedelta(days=41), vault=vault)
    assert (report.holders, report.points) == (1, 30)
    assert points.balance(s, user.id) == 0
    with pytest.raises(points.NotEnoughPoints):
        points.burn_ops(s, user.id, 1, START, kind="points_redeemed", reference=None)


def test_expiry_skips_a_fully_frozen_wallet_and_comes_back_later(
    uow: UnitOfWork, vault: Vault
) -> None:
    s = uow.session
    user, staff = make_user(s, vault, START), make_user(s, vault, START, role="risk_officer")
    _rule(uow)
    points.award_points(s, user.id, 10_00, "CNY", START)
    row = freeze.freeze(s, vault, staff, user, scope="all", reason_code="aml_review",
                        note="check", now=START)  # fmt: skip
    later = START + timedelta(days=31)
    assert points.expire_points(s, later).skipped == 1
    assert points.balance(s, user.id) == 10
    freeze.lift(s, vault, staff, user, row.id, note="cleared", now=later)
    assert points.expire_points(s, later).points == 10


def test_redeeming_points_credits_money(uow: UnitOfWork, vault: Vault) -> None:
    s = uow.session
    user = make_user(s, vault, START)
    _rule(uow, redeem_points=100, redeem_value=50)  # a point is worth half a fen
    points.award_points(s, user.id, 250_00, "CNY", START)
    done = points.redeem_points(s, vault, user, 199, "CNY", START)
    assert (done.points, done.amount) == (198, 99)  # the 199th point would add nothing
    wallet = accounts.find_wallet_account(s, user.id, "CNY")
    assert wallet is not None and balance_of(wallet).available == 99
    assert points.balance(s, user.id) == 52
    with pytest.raises(points.PointsTooFew):
        points.redeem_points(s, vault, user, 1, "CNY", START)
    with pytest.raises(points.NotEnoughPoints):
        points.redeem_points(s, vault, user, 1_000, "CNY", START)
    with pytest.raises(points.NoPointsRule):
        points.redeem_points(s, vault, user, 100, "USD", START)
    fund(s, user.id, 1, START)


def test_points_api(
    client: TestClient, holder: Callable[..., Person], api_for: Callable[[Person], Api],
    ready_staff: Callable[[str], Person], container: Container,
) -> None:  # fmt: skip
    admin = ready_staff("admin")
    rule = {"asset": "CNY", "earn_points": 1, "earn_per": 1_00, "redeem_points": 100,
            "redeem_value": 1_00, "expiry_days": 365}  # fmt: skip
    made = client.post("/v1/staff/points/rules", json=rule, headers=admin.headers)
    assert made.status_code == 201, made.text
    risk = ready_staff("risk_officer")
    denied = client.post("/v1/staff/points/rules", json=rule, headers=risk.headers)
    assert denied.status_code == 403
    api = api_for(holder())
    with UnitOfWork(container.database) as uow:
        import uuid

        points.award_points(uow.session, uuid.UUID(api.person.user_id), 300_00, "CNY",
                            container.clock.now())  # fmt: skip
        uow.commit()
    mine = api.call("GET", "/v1/me/points").json()
    assert mine["balance"] == 300 and mine["lots"][0]["remaining"] == 300
    redeemed = api.call("POST", "/v1/me/points/redeem", key="r-1", json={"points": 200})
    assert redeemed.status_code == 201, redeemed.text
    assert redeemed.json() == {"points": 200, "asset": "CNY", "amount": 2_00}
    replay = api.call("POST", "/v1/me/points/redeem", key="r-1", json={"points": 200})
    assert replay.json() == redeemed.json() and replay.headers["Idempotent-Replayed"] == "true"
    reused = api.call("POST", "/v1/me/points/redeem", key="r-1", json={"points": 100})
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    assert api.call("GET", "/v1/me/points").json()["balance"] == 100
    history = api.call("GET", "/v1/me/statements?asset=POINTS").json()["data"]
    assert [(x["type"], x["amount"]) for x in history] == [
        ("points_redeemed", -200),
        ("points_earned", 300),
    ]
    too_many = api.call("POST", "/v1/me/points/redeem", key="r-2", json={"points": 1_000})
    assert (too_many.status_code, too_many.json()["code"]) == (422, "insufficient_points")
