"""Points taken back by refunds: in proportion, cumulatively rounded, own lot first, never
below zero. (The refund endpoint's side is in test_refunds.)"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import PointsLot
from anxin.privacy.vault import Vault
from anxin.wallet import moves, points
from anxin.wallet.points_clawback import clawback, points_due
from tests.wallet.conftest import START, make_user


@settings(max_examples=200, deadline=None)
@given(
    earned=st.integers(0, 10_000),
    captured=st.integers(1, 10**9),
    cuts=st.lists(st.integers(1, 10**9), max_size=8),
)
def test_partial_refunds_never_take_more_than_a_full_one(
    earned: int, captured: int, cuts: list[int]
) -> None:
    refunded = taken = 0
    for cut in cuts:
        part = min(cut, captured - refunded)
        if part <= 0:
            break
        due = points_due(earned, captured, refunded, part)
        assert due >= 0
        taken += due
        refunded += part
        assert taken == earned * refunded // captured  # the same as one refund of it all
    assert taken <= earned


def _rule(uow: UnitOfWork) -> None:
    points.create_rule(
        uow.session, asset="CNY", earn_points=1, earn_per=1_00, redeem_points=1,
        redeem_value=1, expiry_days=30, valid_from=START, created_by=None, now=START,
    )  # fmt: skip


def test_own_lot_first_then_soonest_expiring_and_never_below_zero(
    uow: UnitOfWork, vault: Vault
) -> None:
    s = uow.session
    user = make_user(s, vault, START)
    _rule(uow)
    points.award_points(s, user.id, 50_00, "CNY", START, reference="older")  # 50, day 30
    later = START + timedelta(days=5)
    points.award_points(s, user.id, 40_00, "CNY", later, reference="pay")  # 40, day 35

    half = clawback(s, user.id, reference="pay", captured=40_00, refunded_before=0,
                    refunding=20_00, transfer_reference="pay:refund:1", now=later)  # fmt: skip
    assert (half.due, half.taken, half.unrecovered) == (20, 20, 0)
    assert half.op is not None
    moves.apply_linked(s, [half.op], later)
    lots = {lot.reference: lot.remaining for lot in s.scalars(select(PointsLot))}
    assert lots == {"older": 50, "pay": 20}  # the payment's own lot went first

    # The holder spends 65 of the 70 left (the older lot first, as spending does).
    spend = points.burn_ops(s, user.id, 65, later, kind="points_redeemed", reference="r")
    moves.apply_linked(s, [spend], later)
    rest = clawback(s, user.id, reference="pay", captured=40_00, refunded_before=20_00,
                    refunding=20_00, transfer_reference="pay:refund:2", now=later)  # fmt: skip
    assert (rest.due, rest.taken, rest.unrecovered) == (20, 5, 15)
    assert rest.op is not None and rest.op.metadata["points_unrecovered"] == 15
    moves.apply_linked(s, [rest.op], later)
    assert points.balance(s, user.id) == 0
    assert sum(lot.remaining for lot in s.scalars(select(PointsLot))) == 0

    nothing = clawback(s, user.id, reference="unknown", captured=10_00, refunded_before=0,
                       refunding=10_00, transfer_reference="x", now=later)  # fmt: skip
    assert (nothing.due, nothing.taken, nothing.op) == (0, 0, None)
