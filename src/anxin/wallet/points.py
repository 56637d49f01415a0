"""Reward points: their own ledger asset ``POINTS`` (scale 0).

Earning: a merchant payment earns ``earn_points`` per ``earn_per`` minor units paid (rounded
down, optionally capped), by the rule in force for the payment's currency; the points move
from the system account ``points_issued`` to the holder and form a lot that expires after
the rule's ``expiry_days``. Spending (a fee discount, or credit towards payments) takes
points first-to-expire first; the expiry job takes back what is left of a lot when it
expires. The sum of a holder's lots' ``remaining`` always equals their points balance.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from anxin.identity import limits
from anxin.kit.errors import Conflict, NotFound, Unprocessable
from anxin.kit.ids import new_id
from anxin.ledger.assets import create_asset
from anxin.ledger.batch import apply_batch
from anxin.ledger.commands import Command, TransferOp
from anxin.ledger.service import balance_of
from anxin.models import Asset, PointsLot, PointsRule, User
from anxin.privacy.vault import Vault
from anxin.wallet import accounts, freeze, messages, moves, notify

POINTS = "POINTS"


class NoPointsRule(NotFound):
    code = "points_not_offered"
    title = "Points are not offered in this currency"


class NotEnoughPoints(Unprocessable):
    code = "insufficient_points"
    title = "Not enough points"


class PointsTooFew(Unprocessable):
    code = "points_too_few"
    title = "Too few points to be worth anything"


def ensure_points_asset(session: Session, now: datetime) -> None:
    if session.get(Asset, POINTS) is None:
        create_asset(session, code=POINTS, name="Reward points", scale=0, now=now)


def current_rule(session: Session, asset: str, now: datetime) -> PointsRule | None:
    query = (
        select(PointsRule)
        .where(
            PointsRule.asset == asset,
            PointsRule.valid_from <= now,
            or_(PointsRule.valid_until.is_(None), PointsRule.valid_until > now),
        )
        .order_by(PointsRule.valid_from.desc(), PointsRule.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def create_rule(
    session: Session, *, asset: str, earn_points: int, earn_per: int, redeem_points: int,
    redeem_value: int, expiry_days: int, max_points_per_payment: int | None = None,
    valid_from: datetime, created_by: uuid.UUID | None, now: datetime,
) -> PointsRule:  # fmt: skip
    """A new rule for ``asset`` from ``valid_from``; the rule in force then ends there."""
    if min(earn_per, redeem_points, redeem_value, expiry_days) <= 0 or earn_points < 0:
        raise Unprocessable("rates and the expiry must be positive", code="invalid_points_rule")
    ensure_points_asset(session, now)
    previous = current_rule(session, asset, valid_from)
    if previous is not None:
        if previous.valid_from >= valid_from:
            raise Conflict("a rule already starts at or after that moment", code="rule_overlap")
        previous.valid_until = valid_from
    rule = PointsRule(
        id=new_id(), asset=asset, earn_points=earn_points, earn_per=earn_per,
        max_points_per_payment=max_points_per_payment, redeem_points=redeem_points,
        redeem_value=redeem_value, expiry_days=expiry_days, valid_from=valid_from,
        valid_until=None, created_by=created_by, created_at=now,
    )  # fmt: skip
    session.add(rule)
    session.flush()
    return rule


def list_rules(session: Session) -> list[PointsRule]:
    return list(
        session.scalars(select(PointsRule).order_by(PointsRule.asset, PointsRule.valid_from))
    )


def points_for_payment(rule: PointsRule, amount: int) -> int:
    earned = amount * rule.earn_points // rule.earn_per
    if rule.max_points_per_payment is not None:
        earned = min(earned, rule.max_points_per_payment)
    return max(earned, 0)


def value_of(rule: PointsRule, points: int) -> int:
    """What ``points`` are worth in minor units of the rule's currency (rounded down)."""
    return points * rule.redeem_value // rule.redeem_points


def points_for_value(rule: PointsRule, value: int) -> int:
    """The fewest points worth at least ``value`` (rounded up)."""
    return -(-value * rule.redeem_points // rule.redeem_value)


def balance(session: Session, user_id: uuid.UUID) -> int:
    account = accounts.find_wallet_account(session, user_id, POINTS)
    return balance_of(account).available if account is not None else 0


@dataclass(frozen=True)
class PointsAward:
    points: int
    transfer_id: uuid.UUID
    lot_id: uuid.UUID
    expires_at: datetime


def award_points(
    session: Session, user_id: uuid.UUID, payment_amount: int, asset: str, now: datetime,
    *, reference: str | None = None, vault: Vault | None = None,
) -> PointsAward | None:  # fmt: skip
    """Points for a merchant payment of ``payment_amount`` minor units of ``asset``, in the
    caller's transaction (call it in the payment's unit of work). None when the rule gives
    nothing (no rule for the currency, or too small a payment). With ``vault`` the holder
    is notified."""
    rule = current_rule(session, asset, now)
    if rule is None or payment_amount <= 0:
        return None
    earned = points_for_payment(rule, payment_amount)
    if earned == 0:
        return None
    ensure_points_asset(session, now)
    issuer = accounts.system_account(session, "points_issued", POINTS, now)
    wallet = accounts.wallet_account(session, user_id, POINTS, now)
    [transfer_id] = moves.apply_linked(session, [TransferOp(
        issuer.id, wallet.id, earned, POINTS, kind="points_earned", reference=reference,
        metadata={"payment_amount": payment_amount, "payment_asset": asset,
                  "counterparty": "points", "category": "rewards"},
    )], now)  # fmt: skip
    expires_at = now + timedelta(days=rule.expiry_days)
    lot = PointsLot(
        id=new_id(), user_id=user_id, points=earned, remaining=earned, reference=reference,
        transfer_id=transfer_id, earned_at=now, expires_at=expires_at,
    )  # fmt: skip
    session.add(lot)
    session.flush()
    if vault is not None:
        holder = session.get(User, user_id)
        assert holder is not None
        notify_points(session, vault, holder, "points.earned", earned, now, expires_at=expires_at)
    return PointsAward(earned, transfer_id, lot.id, expires_at)


def notify_points(
    session: Session, vault: Vault, holder: User, kind: str, points: int, now: datetime, *,
    expires_at: datetime | None = None,
) -> None:  # fmt: skip
    expires_text = (
        messages.word("expires", holder.locale).format(date=f"{expires_at:%Y-%m-%d}")
        if expires_at is not None
        else ""
    )
    _points_notice(session, vault, holder, kind, points, now, expires_text, "")


def _points_notice(
    session: Session, vault: Vault, holder: User, kind: str, points: int, now: datetime,
    expires_text: str, amount: str,
) -> None:  # fmt: skip
    prefs = notify.preferences(session, holder.id)
    channels = {c for c, wanted in (("email", prefs.email), ("sms", prefs.sms)) if wanted}
    notify.send(
        session, vault, holder, kind, now=now, data={"points": points}, channels=channels,
        params={"points": points, "expires_text": expires_text, "amount": amount},
    )  # fmt: skip


def _take_from_lots(session: Session, user_id: uuid.UUID, points: int, now: datetime) -> None:
    """Spend ``points`` from the holder's lots, first-to-expire first."""
    lots = session.scalars(
        select(PointsLot)
        .where(PointsLot.user_id == user_id, PointsLot.remaining > 0, PointsLot.expires_at > now)
        .order_by(PointsLot.expires_at, PointsLot.id)
        .with_for_update()
    ).all()
    left = points
    for lot in lots:
        if left == 0:
            break
        used = min(lot.remaining, left)
        lot.remaining -= used
        left -= used
    if left:
        raise NotEnoughPoints(f"{points} points asked for, {points - left} available")
    session.flush()


def burn_ops(
    session: Session, user_id: uuid.UUID, points: int, now: datetime, *, kind: str,
    reference: str | None,
) -> TransferOp:  # fmt: skip
    """Take ``points`` off the holder's lots and return the ledger leg that moves them back
    to the issuer; the caller applies it (linked with what the points pay for)."""
    if points <= 0:
        raise PointsTooFew("give a positive number of points")
    wallet = accounts.find_wallet_account(session, user_id, POINTS)
    if wallet is None or balance_of(wallet).available < points:
        raise NotEnoughPoints(f"you have {balance(session, user_id)} points")
    _take_from_lots(session, user_id, points, now)
    issuer = accounts.system_account(session, "points_issued", POINTS, now)
    return TransferOp(
        wallet.id, issuer.id, points, POINTS, kind=kind, reference=reference,
        metadata={"counterparty": "points", "category": "rewards"},
    )  # fmt: skip


@dataclass(frozen=True)
class Redemption:
    points: int
    asset: str
    amount: int
    transfer_ids: list[uuid.UUID]


def redeem_points(
    session: Session, vault: Vault | None, user: User, points: int, asset: str, now: datetime,
    *, reference: str | None = None,
) -> Redemption:  # fmt: skip
    """Turn ``points`` into their value in ``asset``, credited to the holder's wallet to pay
    with (from the operator's ``points_redemption`` budget), in the caller's transaction."""
    accounts.lock_holder(session, user.id)
    freeze.ensure_can_send(session, user)  # points leave the wallet
    rule = current_rule(session, asset, now)
    if rule is None:
        raise NoPointsRule(f"points cannot be redeemed for {asset}")
    value = value_of(rule, points)
    if value <= 0:
        raise PointsTooFew(f"at least {rule.redeem_points} points are needed")
    used = points_for_value(rule, value)  # never burn points that add no value
    wallet = accounts.wallet_account(session, user.id, asset, now)
    limits.check_balance(
        session, user, currency=asset, balance_after=balance_of(wallet).posted + value
    )
    burn = burn_ops(session, user.id, used, now, kind="points_redeemed", reference=reference)
    budget = accounts.system_account(session, "points_redemption", asset, now)
    credit = TransferOp(
        budget.id, wallet.id, value, asset, kind="points_credit", reference=reference,
        metadata={"points": used, "counterparty": "points", "category": "rewards"},
    )  # fmt: skip
    ids = moves.apply_linked(session, [burn, credit], now)
    if vault is not None:
        shown = notify.money(session, value, asset)
        _points_notice(session, vault, user, "points.redeemed", used, now, "", shown)
    return Redemption(used, asset, value, ids)


@dataclass(frozen=True)
class ExpiryReport:
    holders: int
    points: int
    skipped: int  # holders whose wallet is frozen for all movement: tried again next run


def expire_points(
    session: Session, now: datetime, *, vault: Vault | None = None, limit: int = 1000
) -> ExpiryReport:
    """Take back what is left of lots past their expiry, one ledger transfer per holder."""
    lots = list(
        session.scalars(
            select(PointsLot)
            .where(PointsLot.expires_at <= now, PointsLot.remaining > 0)
            .order_by(PointsLot.expires_at)
            .limit(limit)
            .with_for_update()
        )
    )
    by_user: dict[uuid.UUID, list[PointsLot]] = {}
    for lot in lots:
        by_user.setdefault(lot.user_id, []).append(lot)
    if not by_user:
        return ExpiryReport(0, 0, 0)
    issuer = accounts.system_account(session, "points_issued", POINTS, now)
    users = list(by_user)
    commands = []
    for user_id in users:
        wallet = accounts.wallet_account(session, user_id, POINTS, now)
        total = sum(lot.remaining for lot in by_user[user_id])
        commands.append(Command((TransferOp(
            wallet.id, issuer.id, total, POINTS, kind="points_expired",
            metadata={"counterparty": "points", "category": "rewards"},
        ),)))  # fmt: skip
    results = apply_batch(session.connection(), commands, now)
    expired = skipped = holders = 0
    for user_id, result in zip(users, results, strict=True):
        if not result.ok:
            skipped += 1
            continue
        total = 0
        for lot in by_user[user_id]:
            total += lot.remaining
            lot.remaining = 0
        holders += 1
        expired += total
        if vault is not None:
            holder = session.get(User, user_id)
            assert holder is not None
            _points_notice(session, vault, holder, "points.expired", total, now, "", "")
    session.flush()
    return ExpiryReport(holders, expired, skipped)


def lots_of(session: Session, user_id: uuid.UUID, now: datetime) -> list[PointsLot]:
    query = (
        select(PointsLot)
        .where(PointsLot.user_id == user_id, PointsLot.remaining > 0, PointsLot.expires_at > now)
        .order_by(PointsLot.expires_at)
    )
    return list(session.scalars(query))
