"""Limits per verification tier, and the holder's own daily payment limit.

Each tier (unverified, basic, full) caps, per currency and in minor units, the balance a
holder may keep and what may leave their wallets per day and per calendar month. A
currency with no configured limits is refused: limits fail closed. The wallet services
call ``check_outflow`` before moving money out, and ``check_balance`` before money comes in.

On top of the tier, a holder may choose a lower daily payment limit for themselves; a lower
limit applies at once, a higher one needs step-up (a stolen session must not raise it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from anxin.identity.stepup import require_step_up
from anxin.kit.errors import Unprocessable
from anxin.models import User
from anxin.settings import Settings, get_settings

KINDS = ("balance", "daily_outflow", "monthly_outflow")


def _tier(balance: int, daily: int, monthly: int) -> dict[str, int]:
    return {"balance": balance, "daily_outflow": daily, "monthly_outflow": monthly}


DEFAULT_TIER_LIMITS: dict[str, dict[str, dict[str, int]]] = {
    "unverified": {
        "CNY": _tier(100_000, 50_000, 200_000),
        "HKD": _tier(110_000, 55_000, 220_000),
        "USD": _tier(15_000, 7_500, 30_000),
        "EUR": _tier(15_000, 7_500, 30_000),
    },
    "basic": {
        "CNY": _tier(2_000_000, 1_000_000, 5_000_000),
        "HKD": _tier(2_200_000, 1_100_000, 5_500_000),
        "USD": _tier(300_000, 150_000, 750_000),
        "EUR": _tier(300_000, 150_000, 750_000),
    },
    "full": {
        "CNY": _tier(50_000_000, 20_000_000, 100_000_000),
        "HKD": _tier(55_000_000, 22_000_000, 110_000_000),
        "USD": _tier(7_500_000, 3_000_000, 15_000_000),
        "EUR": _tier(7_500_000, 3_000_000, 15_000_000),
    },
}


class LimitExceeded(Unprocessable):
    code = "limit_exceeded"
    title = "This would exceed a limit"

    def __init__(
        self, detail: str, *, limit: str, currency: str, maximum: int | None, attempted: int
    ) -> None:
        super().__init__(
            detail, limit=limit, currency=currency, maximum=maximum, attempted=attempted
        )


class DailyLimitAboveTier(Unprocessable):
    code = "limit_above_tier"
    title = "The daily limit cannot exceed your verification tier's"


@dataclass(frozen=True)
class LimitPolicy:
    tiers: dict[str, dict[str, dict[str, int]]]
    daily_limit_currency: str = "CNY"

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> LimitPolicy:
        s = settings or get_settings()
        return cls(
            tiers=s.tier_limits or DEFAULT_TIER_LIMITS, daily_limit_currency=s.daily_limit_currency
        )

    def for_tier(self, tier: str, currency: str) -> dict[str, int] | None:
        found = self.tiers.get(tier, {}).get(currency)
        if found is None or any(kind not in found for kind in KINDS):
            return None
        return found


def _policy(policy: LimitPolicy | None) -> LimitPolicy:
    return policy or LimitPolicy.from_settings()


def _limits(policy: LimitPolicy, user: User, currency: str, attempted: int) -> dict[str, int]:
    found = policy.for_tier(user.tier, currency)
    if found is None:
        raise LimitExceeded(
            f"{currency} is not available to wallets at the {user.tier} tier",
            limit="currency", currency=currency, maximum=None, attempted=attempted,
        )  # fmt: skip
    return found


def check_balance(
    session: Session, user: User, *, currency: str, balance_after: int,
    policy: LimitPolicy | None = None,
) -> None:  # fmt: skip
    """Raise ``LimitExceeded`` if the holder's balance would pass their tier's cap."""
    limits = _limits(_policy(policy), user, currency, balance_after)
    if balance_after > limits["balance"]:
        raise LimitExceeded(
            f"the balance would exceed the {user.tier} tier's {currency} limit; verify your "
            "identity to raise it",
            limit="balance", currency=currency, maximum=limits["balance"],
            attempted=balance_after,
        )  # fmt: skip


def check_outflow(
    session: Session, user: User, *, currency: str, amount: int, balance_after: int,
    outflow_today: int, outflow_month: int, policy: LimitPolicy | None = None,
) -> None:  # fmt: skip
    """Raise ``LimitExceeded`` (naming the limit) if paying ``amount`` out is not allowed.

    ``outflow_today``/``outflow_month`` are what already left the holder's wallets in
    ``currency`` today and this month, before this payment. ``balance_after`` is not limited
    here: a balance above the tier's cap (say, after a downgrade) must never stop the holder
    from spending it down.
    """
    policy = _policy(policy)
    limits = _limits(policy, user, currency, amount)
    checks = [
        ("daily_outflow", limits["daily_outflow"], outflow_today + amount, "today"),
        ("monthly_outflow", limits["monthly_outflow"], outflow_month + amount, "this month"),
    ]
    if user.daily_limit is not None and currency == policy.daily_limit_currency:
        checks.append(("holder_daily_limit", user.daily_limit, outflow_today + amount, "today"))
    for limit, maximum, attempted, period in checks:
        if attempted > maximum:
            who = "your own daily limit" if limit == "holder_daily_limit" else "your tier's limit"
            raise LimitExceeded(
                f"payments {period} would total {attempted}, above {who} of {maximum} {currency}",
                limit=limit, currency=currency, maximum=maximum, attempted=attempted,
            )  # fmt: skip


@dataclass(frozen=True)
class DailyLimit:
    currency: str
    tier_limit: int | None  # the tier's daily outflow cap in that currency
    chosen: int | None  # the holder's own limit, if set
    effective: int | None


def daily_limit(user: User, policy: LimitPolicy | None = None) -> DailyLimit:
    policy = _policy(policy)
    currency = policy.daily_limit_currency
    found = policy.for_tier(user.tier, currency)
    tier_limit = found["daily_outflow"] if found else None
    candidates = [v for v in (tier_limit, user.daily_limit) if v is not None]
    return DailyLimit(currency, tier_limit, user.daily_limit, min(candidates, default=None))


def set_daily_limit(
    session: Session, user: User, auth_session_id: uuid.UUID, *, limit: int | None,
    step_up_token: str | None, now: datetime, policy: LimitPolicy | None = None,
) -> DailyLimit:  # fmt: skip
    """Set (or with None, clear) the holder's own daily limit. Lowering applies at once;
    raising or clearing needs step-up for exactly the new value."""
    policy = _policy(policy)
    current = daily_limit(user, policy)
    if limit is not None and limit < 0:
        raise Unprocessable("a limit cannot be negative", code="validation_failed")
    if limit is not None and current.tier_limit is not None and limit > current.tier_limit:
        raise DailyLimitAboveTier(
            f"at most {current.tier_limit} {current.currency} a day at your tier",
            maximum=current.tier_limit,
        )
    new_effective = limit if limit is not None else current.tier_limit
    raising = current.effective is not None and (
        new_effective is None or new_effective > current.effective
    )
    if raising:
        require_step_up(
            session, user, auth_session_id,
            action={"type": "raise_daily_limit", "daily_limit": limit,
                    "currency": current.currency},
            step_up_token=step_up_token, now=now,
        )  # fmt: skip
    user.daily_limit = limit
    user.updated_at = now
    session.flush()
    return daily_limit(user, policy)
