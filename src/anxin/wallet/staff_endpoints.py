"""Staff operations on wallet money under /v1/staff: the fee schedule, fee waivers and the
record of fees charged, points rules, and reconciliation runs and exceptions."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.identity.deps import AuthContext, require_permission
from anxin.kit.errors import NotFound
from anxin.ledger.schemas import Strict
from anxin.models import FeeCharge, FeeRule, FeeWaiver, PointsRule, ReconciliationException, User
from anxin.wallet import fees, points, reconcile, staff_log
from anxin.wallet.api_deps import funding_provider
from anxin.wallet.money_schemas import (
    FeeChargeList,
    FeeChargeOut,
    FeeRuleCreate,
    FeeRuleList,
    FeeRuleOut,
    Moment,
    Note,
    PointsRuleCreate,
    PointsRuleList,
    PointsRuleOut,
    WaiverCreate,
    WaiverList,
    WaiverOut,
)

router = APIRouter(prefix="/v1/staff", tags=["wallet staff"])
ManageFees = Annotated[AuthContext, Depends(require_permission("fees:manage"))]
WaiveFees = Annotated[AuthContext, Depends(require_permission("fees:waive"))]
ManagePoints = Annotated[AuthContext, Depends(require_permission("points:manage"))]
Reconcile = Annotated[AuthContext, Depends(require_permission("reconciliation:manage"))]


def _rule_out(r: FeeRule) -> FeeRuleOut:
    return FeeRuleOut.model_validate(r, from_attributes=True)


def _waiver_out(w: FeeWaiver) -> WaiverOut:
    return WaiverOut.model_validate(w, from_attributes=True)


def _charge_out(c: FeeCharge) -> FeeChargeOut:
    return FeeChargeOut.model_validate(c, from_attributes=True)


# -- fees -------------------------------------------------------------------------------------


@router.get("/fees/rules", response_model=FeeRuleList)
def list_fee_rules(auth: WaiveFees, uow: WriteUoW) -> FeeRuleList:
    """Every fee rule, past, present and future."""
    return FeeRuleList(data=[_rule_out(r) for r in fees.list_rules(uow.session)])


@router.post("/fees/rules", status_code=201, response_model=FeeRuleOut)
def create_fee_rule(body: FeeRuleCreate, auth: ManageFees, uow: WriteUoW) -> FeeRuleOut:
    """A new rule for an operation and asset from `valid_from` (default now); the rule in
    force then ends there. Rules are never edited."""
    rule = fees.create_rule(
        uow.session, operation=body.operation, asset=body.asset,
        basis_points=body.basis_points, fixed=body.fixed, minimum=body.minimum,
        maximum=body.maximum, rounding=body.rounding,
        valid_from=body.valid_from or auth.now, created_by=auth.user.id, now=auth.now,
    )  # fmt: skip
    staff_log.record(
        uow.session, staff=auth.user, holder_id=None, event="wallet.fee_rule_created",
        action="fee_rule", data={"rule_id": str(rule.id), "operation": rule.operation,
                                 "asset": rule.asset}, purpose={}, now=auth.now,
    )  # fmt: skip
    uow.commit()
    return _rule_out(rule)


@router.get("/fees/waivers", response_model=WaiverList)
def list_fee_waivers(
    auth: WaiveFees, uow: WriteUoW, user_id: uuid.UUID | None = None, active: bool = False
) -> WaiverList:
    found = fees.list_waivers(uow.session, user_id=user_id, active_at=auth.now if active else None)
    return WaiverList(data=[_waiver_out(w) for w in found])


@router.post("/fees/waivers", status_code=201, response_model=WaiverOut)
def create_fee_waiver(body: WaiverCreate, auth: WaiveFees, uow: WriteUoW) -> WaiverOut:
    """Waive fees (`discount_bps` of them, all by default): for a `campaign` or a
    `time_window` (everyone; needs `fees:manage`), or for one holder as goodwill (`holder`)
    or `compensation`. Every use is a fee charge naming the waiver."""
    if body.kind in ("campaign", "time_window"):
        require_permission("fees:manage")(auth)
    if body.user_id is not None:
        holder = uow.session.get(User, body.user_id)
        if holder is None or holder.kind != "holder":
            raise NotFound("no such wallet holder", code="holder_not_found")
    waiver = fees.create_waiver(
        uow.session, kind=body.kind, reason=body.reason, discount_bps=body.discount_bps,
        starts_at=body.starts_at or auth.now, ends_at=body.ends_at, user_id=body.user_id,
        campaign=body.campaign, operation=body.operation, asset=body.asset,
        max_uses=body.max_uses, created_by=auth.user.id, now=auth.now,
    )  # fmt: skip
    staff_log.record(
        uow.session, staff=auth.user, holder_id=waiver.user_id, event="wallet.fee_waived",
        action="fee_waiver",
        data={"waiver_id": str(waiver.id), "kind": waiver.kind,
              "discount_bps": waiver.discount_bps},
        purpose={"reason": waiver.kind}, now=auth.now,
    )  # fmt: skip
    uow.commit()
    return _waiver_out(waiver)


@router.post("/fees/waivers/{waiver_id}/revoke", response_model=WaiverOut)
def revoke_fee_waiver(waiver_id: uuid.UUID, auth: WaiveFees, uow: WriteUoW) -> WaiverOut:
    waiver = fees.get_waiver(uow.session, waiver_id)
    if waiver.kind in ("campaign", "time_window"):
        require_permission("fees:manage")(auth)
    fees.revoke_waiver(uow.session, waiver_id, by=auth.user.id, now=auth.now)
    staff_log.record(
        uow.session, staff=auth.user, holder_id=waiver.user_id,
        event="wallet.fee_waiver_revoked", action="fee_waiver",
        data={"waiver_id": str(waiver.id)}, purpose={}, now=auth.now,
    )  # fmt: skip
    uow.commit()
    return _waiver_out(waiver)


@router.get("/fees/charges", response_model=FeeChargeList)
def list_fee_charges(
    auth: WaiveFees, uow: WriteUoW, user_id: uuid.UUID | None = None,
    waiver_id: uuid.UUID | None = None,
    reference: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> FeeChargeList:  # fmt: skip
    """Fees as charged, newest first: the rule, the waiver and what it took off."""
    found = fees.list_charges(
        uow.session, user_id=user_id, waiver_id=waiver_id, reference=reference, limit=limit
    )
    return FeeChargeList(data=[_charge_out(c) for c in found])


# -- points -----------------------------------------------------------------------------------


def _points_rule_out(r: PointsRule) -> PointsRuleOut:
    return PointsRuleOut.model_validate(r, from_attributes=True)


@router.get("/points/rules", response_model=PointsRuleList)
def list_points_rules(auth: ManagePoints, uow: WriteUoW) -> PointsRuleList:
    return PointsRuleList(data=[_points_rule_out(r) for r in points.list_rules(uow.session)])


@router.post("/points/rules", status_code=201, response_model=PointsRuleOut)
def create_points_rule(body: PointsRuleCreate, auth: ManagePoints,
                       uow: WriteUoW) -> PointsRuleOut:  # fmt: skip
    """How payments in a currency earn points, what points are worth, how long they last."""
    rule = points.create_rule(
        uow.session, asset=body.asset, earn_points=body.earn_points, earn_per=body.earn_per,
        redeem_points=body.redeem_points, redeem_value=body.redeem_value,
        expiry_days=body.expiry_days, max_points_per_payment=body.max_points_per_payment,
        valid_from=body.valid_from or auth.now, created_by=auth.user.id, now=auth.now,
    )  # fmt: skip
    staff_log.record(
        uow.session, staff=auth.user, holder_id=None, event="wallet.points_rule_created",
        action="points_rule", data={"rule_id": str(rule.id), "asset": rule.asset},
        purpose={}, now=auth.now,
    )  # fmt: skip
    uow.commit()
    return _points_rule_out(rule)


# -- reconciliation ---------------------------------------------------------------------------


class RunCreate(Strict):
    since: Moment | None = Field(default=None, description="Default: 7 days ago")
    until: Moment | None = Field(default=None, description="Default: now")


class RunOut(BaseModel):
    run_id: uuid.UUID
    since: datetime
    until: datetime
    orders_synced: int
    records_checked: int
    orders_checked: int
    matched: int
    new_exceptions: int
    known_exceptions: int


class ExceptionOut(BaseModel):
    id: uuid.UUID
    kind: str
    order_id: uuid.UUID | None
    provider_ref: str | None
    user_id: uuid.UUID | None
    asset: str
    ledger_amount: int
    bank_amount: int
    status: str
    resolution: str | None
    resolution_note: str | None
    resolved_by: uuid.UUID | None
    resolved_at: datetime | None
    transfer_id: uuid.UUID | None
    detected_at: datetime


class ExceptionList(BaseModel):
    data: list[ExceptionOut]


class Resolve(Strict):
    action: Annotated[str, Field(pattern="^(credit|debit|dismiss)$")]
    note: Note
    amount: Annotated[int, Field(gt=0, le=2**63 - 1, strict=True)] | None = None


def _exception_out(row: ReconciliationException) -> ExceptionOut:
    return ExceptionOut.model_validate(row, from_attributes=True)


@router.post("/reconciliation/runs", status_code=201, response_model=RunOut)
def run_reconciliation(
    body: RunCreate, auth: Reconcile, uow: WriteUoW, container: ContainerDep, request: Request
) -> RunOut:
    """Reconcile the provider's settlement records with the ledger now."""
    uow.commit()  # the run has its own transactions
    until = body.until or auth.now
    since = body.since or until - timedelta(days=7)
    report = reconcile.reconcile(
        container.database, funding_provider(request, container), auth.vault, container.clock,
        since=since, until=until, started_by=auth.user.id,
    )  # fmt: skip
    return RunOut(
        run_id=report.run_id, since=since, until=until, orders_synced=report.sync.checked,
        records_checked=report.records_checked, orders_checked=report.orders_checked,
        matched=report.matched, new_exceptions=len(report.new_exceptions),
        known_exceptions=report.known_exceptions,
    )  # fmt: skip


@router.get("/reconciliation/exceptions", response_model=ExceptionList)
def list_exceptions(
    auth: Reconcile, uow: WriteUoW,
    status: Annotated[str | None, Query(pattern="^(open|resolved)$")] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ExceptionList:  # fmt: skip
    """Mismatches between the bank and the ledger, newest first (open ones by default)."""
    rows = reconcile.list_exceptions(uow.session, status=status, limit=limit)
    return ExceptionList(data=[_exception_out(r) for r in rows])


@router.post("/reconciliation/exceptions/{exception_id}/resolve", response_model=ExceptionOut)
def resolve_exception(exception_id: uuid.UUID, body: Resolve, auth: Reconcile,
                      uow: WriteUoW) -> ExceptionOut:  # fmt: skip
    """Close a mismatch: `credit` or `debit` the holder's wallet against the bank
    settlement account (the difference, or `amount`), or `dismiss` it, with a note."""
    row = reconcile.resolve(
        uow.session, auth.vault, auth.user, exception_id, action=body.action, note=body.note,
        amount=body.amount, now=auth.now,
    )  # fmt: skip
    uow.commit()
    return _exception_out(row)
