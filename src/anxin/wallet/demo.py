"""Demo fee schedule and points rule (``anxin demo seed``): rules only, no accounts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from anxin.wallet import fees, points


def seed_fees_and_points(session: Session, now: datetime) -> None:
    """Withdrawals 0.1% (at least 1.00, at most 25.00 CNY), merchant payments 0.5% (the
    demo's 38.00 payment pays 0.19), top-ups and transfers free; half-price withdrawals for
    the first 30 days; 1 point per 1.00 CNY paid to merchants, 100 points worth 1.00 CNY,
    kept a year."""
    if fees.list_rules(session) or points.list_rules(session):
        return
    fees.create_rule(
        session, operation="withdrawal", asset="CNY", basis_points=10, fixed=0, minimum=1_00,
        maximum=25_00, rounding="half_up", valid_from=now, created_by=None, now=now,
    )  # fmt: skip
    fees.create_rule(
        session, operation="payment", asset="CNY", basis_points=50, fixed=0, minimum=None,
        maximum=None, rounding="half_up", valid_from=now, created_by=None, now=now,
    )  # fmt: skip
    fees.create_waiver(
        session, kind="time_window", reason="新用户提现半价 / half-price withdrawals at launch",
        discount_bps=5_000, starts_at=now, ends_at=now + timedelta(days=30),
        operation="withdrawal", asset="CNY", created_by=None, now=now,
    )  # fmt: skip
    points.create_rule(
        session, asset="CNY", earn_points=1, earn_per=1_00, redeem_points=100, redeem_value=1_00,
        expiry_days=365, valid_from=now, created_by=None, now=now,
    )  # fmt: skip
