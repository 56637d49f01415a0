"""Remediation over HTTP, under /v1/staff/incidents/{incident}/remediation (the incident by
id or reference).

``remediation:prepare`` previews and prepares plans; ``remediation:approve`` approves or
rejects someone else's draft and executes approved plans; ``incidents:manage`` reads
progress. Preparing and deciding accept an ``Idempotency-Key`` (a replay returns the first
answer); without one, repeating them is refused with 409 rather than done twice.
Executing needs none: every item carries its own ledger key, so calling it again
only carries on with what is still pending. It runs up to ``max_items`` items, one
transaction per chunk, and answers 202 while items remain, 200 when the plan is done.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictInt

from anxin.api.deps import ContainerDep, ReadUoW, WriteUoW
from anxin.identity.deps import AuthContext, require_permission
from anxin.incidents import remediation_approval as approval
from anxin.incidents import remediation_execute, remediation_plan
from anxin.incidents.remediation_progress import plans_of, progress
from anxin.incidents.remediation_runner import run_plan
from anxin.incidents.remediation_spec import MAX_NOTE, PlanNotFound, RemediationSpec
from anxin.incidents.service import find_incident
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.schemas import Strict
from anxin.wallet.merchant_requests import run_holder_keyed
from anxin.wallet.pay_endpoints import IdempotencyKey

router = APIRouter(prefix="/v1/staff/incidents", tags=["incidents staff"])
Prepare = Annotated[AuthContext, Depends(require_permission("remediation:prepare"))]
Approve = Annotated[AuthContext, Depends(require_permission("remediation:approve"))]
Manage = Annotated[AuthContext, Depends(require_permission("incidents:manage"))]


class SummaryOut(BaseModel):
    affected_holders: int
    holders: int
    items: dict[str, int]
    item_count: int
    totals: dict[str, int]
    per_kind: dict[str, dict[str, int]]
    skipped: dict[str, int]


class KindProgress(BaseModel):
    total: int
    done: int
    failed: int


class AssetProgress(BaseModel):
    planned: int
    paid: int


class PlanOut(BaseModel):
    plan_id: uuid.UUID
    incident_id: uuid.UUID
    status: str
    spec: dict[str, Any]
    totals: dict[str, int]
    total: int
    paid: int
    failed: int
    pending: int
    per_kind: dict[str, KindProgress]
    per_asset: dict[str, AssetProgress]
    prepared_by: uuid.UUID
    prepared_at: datetime
    approved_by: uuid.UUID | None
    approved_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None


class PreparedOut(BaseModel):
    plan: PlanOut
    summary: SummaryOut


class PlanList(BaseModel):
    data: list[PlanOut]


class Decision(Strict):
    note: str | None = Field(default=None, max_length=MAX_NOTE)


class Execute(Strict):
    max_items: Annotated[StrictInt, Field(ge=1, le=1_000_000)] = 10_000
    chunk_items: Annotated[StrictInt, Field(ge=10, le=10_000)] = 1000


class ExecuteOut(BaseModel):
    done: int
    failed: int
    skipped: int
    finished: bool
    remaining: int
    plan: PlanOut


def _keyed(uow: Any, auth: AuthContext, key: str | None, *, route: str, body: Any,
           now: datetime, status_code: int, work: Callable[[], BaseModel]) -> Any:  # fmt: skip
    """With an Idempotency-Key, a replay returns the first answer; without one the request
    is still safe to repeat (a second approval or plan is refused with 409)."""
    if key is None:
        answer = work()
        uow.commit()
        return JSONResponse(answer.model_dump(mode="json"), status_code=status_code)
    return run_holder_keyed(uow, auth.user.id, key, route=route, body=body, now=now,
                            status_code=status_code, work=work)  # fmt: skip


def _plan_out(uow: Any, plan: Any) -> PlanOut:
    return PlanOut.model_validate(progress(uow.session, plan))


@router.post("/{incident}/remediation/preview", response_model=SummaryOut)
def preview_plan(incident: str, body: RemediationSpec, auth: Prepare, uow: ReadUoW) -> SummaryOut:
    """What the plan would pay and change, per asset and per kind, and what it would skip
    and why. Nothing is saved."""
    found = find_incident(uow.session, incident)
    summary = remediation_plan.preview(uow.session, found, body)
    return SummaryOut.model_validate(summary.to_json())


@router.post("/{incident}/remediation", status_code=201, response_model=PreparedOut)
def prepare_plan(
    incident: str, body: RemediationSpec, auth: Prepare, uow: WriteUoW, c: ContainerDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:  # fmt: skip
    """Save a draft plan for every affected holder. Someone else approves it."""
    now = c.clock.now()

    def work() -> PreparedOut:
        found = find_incident(uow.session, incident)
        plan, summary = remediation_plan.prepare(uow.session, found, body, staff=auth.user,
                                                 now=now)  # fmt: skip
        return PreparedOut(plan=_plan_out(uow, plan),
                           summary=SummaryOut.model_validate(summary.to_json()))  # fmt: skip

    return _keyed(
        uow, auth, idempotency_key, route=f"incident:{incident}:remediation",
        body=body.model_dump(mode="json"), now=now, status_code=201, work=work,
    )  # fmt: skip


@router.get("/{incident}/remediation", response_model=PlanOut)
def current_plan(incident: str, auth: Manage, uow: ReadUoW) -> PlanOut:
    """The latest plan and its progress: items paid of the total, per kind, per asset."""
    found = find_incident(uow.session, incident)
    plans = plans_of(uow.session, found.id)
    if not plans:
        raise PlanNotFound(f"{found.reference} has no remediation plan")
    return _plan_out(uow, plans[0])


@router.get("/{incident}/remediation/plans", response_model=PlanList)
def list_plans(incident: str, auth: Manage, uow: ReadUoW) -> PlanList:
    """Every plan of the incident, newest first."""
    found = find_incident(uow.session, incident)
    return PlanList(data=[_plan_out(uow, p) for p in plans_of(uow.session, found.id)])


def _decide(incident: str, plan_id: uuid.UUID, body: Decision, auth: AuthContext,
            uow: Any, c: Any, key: str | None, decision: str) -> Any:  # fmt: skip
    now = c.clock.now()

    def work() -> PlanOut:
        found = find_incident(uow.session, incident)
        approval.get_plan(uow.session, plan_id, incident_id=found.id)
        act = approval.approve if decision == "approve" else approval.reject
        plan = act(uow.session, plan_id, auth.user, now=now, note=body.note or "")
        return _plan_out(uow, plan)

    return _keyed(
        uow, auth, key, route=f"remediation:{plan_id}:{decision}",
        body=body.model_dump(mode="json"), now=now, status_code=200, work=work,
    )  # fmt: skip


@router.post("/{incident}/remediation/{plan_id}/approve", response_model=PlanOut)
def approve_plan(
    incident: str, plan_id: uuid.UUID, body: Decision, auth: Approve, uow: WriteUoW,
    c: ContainerDep, idempotency_key: IdempotencyKey = None,
) -> Any:  # fmt: skip
    """Approve a draft (not one you prepared yourself). Recorded in the audit trail."""
    return _decide(incident, plan_id, body, auth, uow, c, idempotency_key, "approve")


@router.post("/{incident}/remediation/{plan_id}/reject", response_model=PlanOut)
def reject_plan(
    incident: str, plan_id: uuid.UUID, body: Decision, auth: Approve, uow: WriteUoW,
    c: ContainerDep, idempotency_key: IdempotencyKey = None,
) -> Any:  # fmt: skip
    """Reject a draft (not one you prepared yourself); say why in `note`."""
    return _decide(incident, plan_id, body, auth, uow, c, idempotency_key, "reject")


@router.post(
    "/{incident}/remediation/{plan_id}/execute",
    response_model=ExecuteOut,
    responses={202: {"description": "Items remain: call again to carry on."}},
)
def execute_plan(
    incident: str, plan_id: uuid.UUID, body: Execute, auth: Approve, uow: WriteUoW,
    c: ContainerDep, response: Response,
) -> ExecuteOut:  # fmt: skip
    """Pay an approved plan (or carry on with one already executing)."""
    found = find_incident(uow.session, incident)
    approval.get_plan(uow.session, plan_id, incident_id=found.id)
    # The run commits chunk by chunk on its own connections: end the request's transaction
    # (which checking the staff session opened) so it does not hold SQLite's write lock.
    staff_id = auth.user.id  # read before the rollback expires it
    uow.session.rollback()
    run = run_plan(c.database, c.keys.vault(), plan_id, staff_id, clock=c.clock,
                   chunk_items=body.chunk_items, max_items=body.max_items)  # fmt: skip
    response.status_code = 200 if run.finished else 202
    with UnitOfWork(c.database, write=False) as reader:
        plan = approval.get_plan(reader.session, plan_id)
        return ExecuteOut(done=run.done, failed=run.failed, skipped=run.skipped,
                          finished=run.finished, remaining=run.remaining,
                          plan=_plan_out(reader, plan))  # fmt: skip


@router.post("/{incident}/remediation/{plan_id}/retry-failed", response_model=PlanOut)
def retry_failed(
    incident: str, plan_id: uuid.UUID, auth: Approve, uow: WriteUoW, c: ContainerDep
) -> PlanOut:
    """Put the plan's failed items back to pending (each with a new ledger key), for the
    next execution, once their cause is fixed."""
    found = find_incident(uow.session, incident)
    approval.get_plan(uow.session, plan_id, incident_id=found.id)
    remediation_execute.retry_failed(uow.session, plan_id, auth.user, now=c.clock.now())
    answer = _plan_out(uow, approval.get_plan(uow.session, plan_id))
    uow.commit()
    return answer
