"""Fees: a schedule per operation and asset, waivers, and a row for every fee charged.

The fee of an amount under a rule, in integers only:

    part = amount * basis_points / 10000, rounded by the rule's ``rounding``
           (``half_up``: a remainder of half a minor unit or more rounds up; ``up``; ``down``)
    fee  = clamp(part + fixed, minimum, maximum)

A waiver then takes ``discount_bps`` of that fee off (rounded in the holder's favour), and
points may pay for part or all of what is left. The best applicable waiver is used: a
campaign or time window open to everyone, or one granted to the holder (goodwill or
compensation), optionally limited in uses. Every fee charged, waived or not, is a
``FeeCharge`` row naming the rule and the waiver, so any fee can be explained later.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from anxin.kit.errors import Conflict, NotFound, Unprocessable
from anxin.kit.ids import new_id
from anxin.ledger.assets import get_asset
from anxin.ledger.commands import TransferOp
from anxin.models import Account, FeeCharge, FeeRule, FeeWaiver
from anxin.wallet import accounts, points

OPERATIONS = ("topup", "withdrawal", "p2p", "payment", "mandate_debit", "refund")
ROUNDINGS = ("half_up", "up", "down")
WAIVER_KINDS = ("campaign", "holder", "time_window", "compensation")
FULL = 10_000  # basis points in a whole


class UnknownOperation(Unprocessable):
    code = "unknown_operation"
    title = "No such operation"


class InvalidFeeRule(Unprocessable):
    code = "invalid_fee_rule"
    title = "The fee rule is not valid"


class InvalidWaiver(Unprocessable):
    code = "invalid_fee_waiver"
    title = "The fee waiver is not valid"


class WaiverNotFound(NotFound):
    code = "fee_waiver_not_found"
    title = "No such fee waiver"


class FeeChanged(Conflict):
    code = "fee_changed"
    title = "The fee changed since it was quoted; quote again"


def _divide(numerator: int, rounding: str) -> int:
    whole, rest = divmod(numerator, FULL)
    if rounding == "down" or rest == 0:
        return whole
    if rounding == "up":
        return whole + 1
    return whole + (1 if 2 * rest >= FULL else 0)  # half_up


def fee_under(rule: FeeRule, amount: int) -> int:
    fee = _divide(amount * rule.basis_points, rule.rounding) + rule.fixed
    if rule.minimum is not None:
        fee = max(fee, rule.minimum)
    if rule.maximum is not None:
        fee = min(fee, rule.maximum)
    return fee


def _check_operation(operation: str) -> None:
    if operation not in OPERATIONS:
        raise UnknownOperation(f"{operation!r} is not one of {', '.join(OPERATIONS)}")


def current_rule(session: Session, operation: str, asset: str, now: datetime) -> FeeRule | None:
    query = (
        select(FeeRule)
        .where(
            FeeRule.operation == operation,
            FeeRule.asset == asset,
            FeeRule.valid_from <= now,
            or_(FeeRule.valid_until.is_(None), FeeRule.valid_until > now),
        )
        .order_by(FeeRule.valid_from.desc(), FeeRule.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def _waivers(
    session: Session, operation: str, asset: str, user_id: uuid.UUID | None, now: datetime
) -> list[FeeWaiver]:
    w = FeeWaiver
    query = select(w).where(
        w.revoked_at.is_(None), w.starts_at <= now, or_(w.ends_at.is_(None), w.ends_at > now),
        or_(w.operation.is_(None), w.operation == operation),
        or_(w.asset.is_(None), w.asset == asset),
        or_(w.user_id.is_(None), w.user_id == user_id) if user_id else w.user_id.is_(None),
        or_(w.max_uses.is_(None), w.uses < w.max_uses),
    )  # fmt: skip
    # Best discount first; among equals, the one ending soonest (save open-ended ones).
    found = list(session.scalars(query))
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted(found, key=lambda x: (-x.discount_bps, x.ends_at or far, x.created_at))


@dataclass(frozen=True)
class FeeQuote:
    operation: str
    asset: str
    amount: int
    user_id: uuid.UUID | None
    gross_fee: int  # what the schedule asks
    waived: int  # taken off by a waiver
    points_used: int
    points_discount: int  # paid with points
    fee: int  # to pay in money
    rule_id: uuid.UUID | None
    waiver_id: uuid.UUID | None
    waiver_kind: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("user_id", "rule_id", "waiver_id"):
            data[key] = str(data[key]) if data[key] is not None else None
        return data


def quote_fee(
    session: Session, operation: str, asset: str, amount: int, user_id: uuid.UUID | None,
    now: datetime, *, points_offered: int = 0,
) -> FeeQuote:  # fmt: skip
    """The fee for ``amount`` of ``asset`` under the schedule and waivers in force at
    ``now``; with ``points_offered``, how many of those points would pay for it. Reads only:
    ``charge_fee`` records it (and uses up the waiver) when the operation goes ahead."""
    _check_operation(operation)
    get_asset(session, asset)
    if amount <= 0:
        raise Unprocessable("the amount must be positive", code="invalid_amount")
    rule = current_rule(session, operation, asset, now)
    gross = fee_under(rule, amount) if rule is not None else 0
    waived, waiver = 0, None
    if gross > 0:
        found = _waivers(session, operation, asset, user_id, now)
        if found:
            waiver = found[0]
            waived = min(gross, -(-gross * waiver.discount_bps // FULL))
    used = discount = 0
    left = gross - waived
    if points_offered > 0 and left > 0 and user_id is not None:
        points_rule = points.current_rule(session, asset, now)
        if points_rule is None:
            raise points.NoPointsRule(f"points cannot pay fees in {asset}")
        usable = min(points_offered, points.balance(session, user_id))
        discount = min(left, points.value_of(points_rule, usable))
        used = points.points_for_value(points_rule, discount) if discount else 0
    return FeeQuote(
        operation=operation, asset=asset, amount=amount, user_id=user_id, gross_fee=gross,
        waived=waived, points_used=used, points_discount=discount,
        fee=gross - waived - discount, rule_id=rule.id if rule else None,
        waiver_id=waiver.id if waiver else None, waiver_kind=waiver.kind if waiver else None,
    )  # fmt: skip


def fee_leg(
    session: Session, quote: FeeQuote, payer: Account, now: datetime, *,
    reference: str | None = None, pending: bool = False, metadata: dict[str, Any] | None = None,
) -> TransferOp | None:  # fmt: skip
    """The ledger leg paying ``quote.fee`` from ``payer`` to ``fee_revenue`` (None when
    there is nothing to pay); link it with the operation it is for."""
    if quote.fee == 0:
        return None
    revenue = accounts.system_account(session, "fee_revenue", quote.asset, now)
    return TransferOp(
        payer.id, revenue.id, quote.fee, quote.asset, kind="fee", reference=reference,
        pending=pending,
        metadata={"fee_for": quote.operation, "category": "fees", **(metadata or {})},
    )  # fmt: skip


def points_leg(
    session: Session, quote: FeeQuote, now: datetime, *, reference: str | None
) -> TransferOp | None:
    """The ledger leg burning the points a quote uses (taken off the holder's lots now)."""
    if quote.points_used == 0 or quote.user_id is None:
        return None
    return points.burn_ops(
        session, quote.user_id, quote.points_used, now, kind="points_fee_discount",
        reference=reference,
    )  # fmt: skip


def charge_fee(
    session: Session, quote: FeeQuote, *, reference: str, now: datetime,
    transfer_id: uuid.UUID | None = None,
) -> FeeCharge | None:  # fmt: skip
    """Record the fee of an operation that goes ahead, and use up its waiver. Call it in
    the operation's unit of work. Nothing is recorded when there was no fee to begin with."""
    if quote.gross_fee == 0:
        return None
    if quote.waiver_id is not None:
        waiver = session.scalars(
            select(FeeWaiver).where(FeeWaiver.id == quote.waiver_id).with_for_update()
        ).one()
        if waiver.revoked_at is not None or (
            waiver.max_uses is not None and waiver.uses >= waiver.max_uses
        ):
            raise FeeChanged("the waiver was used up or withdrawn meanwhile")
        waiver.uses += 1
    charge = FeeCharge(
        id=new_id(), operation=quote.operation, reference=reference, user_id=quote.user_id,
        asset=quote.asset, amount=quote.amount, rule_id=quote.rule_id,
        gross_fee=quote.gross_fee, waiver_id=quote.waiver_id, waived=quote.waived,
        points_used=quote.points_used, points_discount=quote.points_discount, fee=quote.fee,
        transfer_id=transfer_id, created_at=now, released_at=None,
    )  # fmt: skip
    session.add(charge)
    session.flush()
    return charge


def release_charges(session: Session, reference: str, now: datetime) -> None:
    """The operation failed after all: its fee was not taken, and its waiver use returns."""
    for charge in session.scalars(
        select(FeeCharge).where(FeeCharge.reference == reference, FeeCharge.released_at.is_(None))
    ):
        charge.released_at = now
        if charge.waiver_id is not None:
            waiver = session.scalars(
                select(FeeWaiver).where(FeeWaiver.id == charge.waiver_id).with_for_update()
            ).one()
            waiver.uses = max(waiver.uses - 1, 0)
    session.flush()


# -- the schedule and waivers, as staff manage them -----------------------------------------


def create_rule(
    session: Session, *, operation: str, asset: str, basis_points: int, fixed: int,
    minimum: int | None, maximum: int | None, rounding: str, valid_from: datetime,
    created_by: uuid.UUID | None, now: datetime,
) -> FeeRule:  # fmt: skip
    """A new rule from ``valid_from``; the rule in force at that moment ends there. Rules
    are never edited, so every fee ever charged can be recomputed from its rule."""
    _check_operation(operation)
    get_asset(session, asset)
    if rounding not in ROUNDINGS:
        raise InvalidFeeRule(f"rounding is one of {', '.join(ROUNDINGS)}")
    if not 0 <= basis_points <= FULL or fixed < 0:
        raise InvalidFeeRule("basis points are 0 to 10000 and the fixed part is not negative")
    if (minimum is not None and minimum < 0) or (
        minimum is not None and maximum is not None and maximum < minimum
    ):
        raise InvalidFeeRule("the minimum is not negative and not above the maximum")
    previous = current_rule(session, operation, asset, valid_from)
    if previous is not None:
        if previous.valid_from >= valid_from:
            raise Conflict("a rule already starts at or after that moment", code="rule_overlap")
        previous.valid_until = valid_from
    rule = FeeRule(
        id=new_id(), operation=operation, asset=asset, basis_points=basis_points, fixed=fixed,
        minimum=minimum, maximum=maximum, rounding=rounding, valid_from=valid_from,
        valid_until=None, created_by=created_by, created_at=now,
    )  # fmt: skip
    session.add(rule)
    session.flush()
    return rule


def list_rules(session: Session, *, at: datetime | None = None) -> list[FeeRule]:
    query = select(FeeRule).order_by(FeeRule.operation, FeeRule.asset, FeeRule.valid_from)
    if at is not None:
        query = query.where(
            FeeRule.valid_from <= at, or_(FeeRule.valid_until.is_(None), FeeRule.valid_until > at)
        )
    return list(session.scalars(query))


def create_waiver(
    session: Session, *, kind: str, reason: str, discount_bps: int, starts_at: datetime,
    ends_at: datetime | None, user_id: uuid.UUID | None = None, campaign: str | None = None,
    operation: str | None = None, asset: str | None = None, max_uses: int | None = None,
    created_by: uuid.UUID | None, now: datetime,
) -> FeeWaiver:  # fmt: skip
    if kind not in WAIVER_KINDS:
        raise InvalidWaiver(f"kind is one of {', '.join(WAIVER_KINDS)}")
    personal = kind in ("holder", "compensation")
    if personal != (user_id is not None):
        raise InvalidWaiver(f"a {kind} waiver {'needs' if personal else 'cannot have'} a holder")
    if kind == "campaign" and not campaign:
        raise InvalidWaiver("a campaign waiver needs the campaign's name")
    if kind == "time_window" and ends_at is None:
        raise InvalidWaiver("a time-window waiver needs an end")
    if ends_at is not None and ends_at <= starts_at:
        raise InvalidWaiver("the waiver must end after it starts")
    if not 0 < discount_bps <= FULL:
        raise InvalidWaiver("the discount is 1 to 10000 basis points")
    if max_uses is not None and max_uses <= 0:
        raise InvalidWaiver("max_uses must be positive")
    if not reason.strip():
        raise InvalidWaiver("say why the fee is waived")
    if operation is not None:
        _check_operation(operation)
    if asset is not None:
        get_asset(session, asset)
    waiver = FeeWaiver(
        id=new_id(), kind=kind, campaign=campaign, user_id=user_id, operation=operation,
        asset=asset, discount_bps=discount_bps, max_uses=max_uses, uses=0, starts_at=starts_at,
        ends_at=ends_at, reason=reason.strip(), created_by=created_by, created_at=now,
        revoked_at=None, revoked_by=None,
    )  # fmt: skip
    session.add(waiver)
    session.flush()
    return waiver


def get_waiver(session: Session, waiver_id: uuid.UUID) -> FeeWaiver:
    waiver = session.get(FeeWaiver, waiver_id)
    if waiver is None:
        raise WaiverNotFound()
    return waiver


def revoke_waiver(
    session: Session, waiver_id: uuid.UUID, *, by: uuid.UUID | None, now: datetime
) -> FeeWaiver:
    waiver = get_waiver(session, waiver_id)
    if waiver.revoked_at is not None:
        raise Conflict("the waiver was already revoked", code="waiver_revoked")
    waiver.revoked_at, waiver.revoked_by = now, by
    session.flush()
    return waiver


def list_waivers(
    session: Session, *, user_id: uuid.UUID | None = None, active_at: datetime | None = None
) -> list[FeeWaiver]:
    query = select(FeeWaiver).order_by(FeeWaiver.created_at)
    if user_id is not None:
        query = query.where(FeeWaiver.user_id == user_id)
    if active_at is not None:
        query = query.where(
            FeeWaiver.revoked_at.is_(None), FeeWaiver.starts_at <= active_at,
            or_(FeeWaiver.ends_at.is_(None), FeeWaiver.ends_at > active_at),
        )  # fmt: skip
    return list(session.scalars(query))


def list_charges(
    session: Session, *, user_id: uuid.UUID | None = None, waiver_id: uuid.UUID | None = None,
    reference: str | None = None, limit: int = 100,
) -> list[FeeCharge]:  # fmt: skip
    query = select(FeeCharge).order_by(FeeCharge.created_at.desc(), FeeCharge.id.desc())
    if user_id is not None:
        query = query.where(FeeCharge.user_id == user_id)
    if waiver_id is not None:
        query = query.where(FeeCharge.waiver_id == waiver_id)
    if reference is not None:
        query = query.where(FeeCharge.reference == reference)
    return list(session.scalars(query.limit(limit)))
