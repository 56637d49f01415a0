"""Disputes over HTTP: holders file them under /v1/me/care/disputes, staff with
``care:disputes`` decide them under /v1/staff/care/disputes.

Both filing and deciding move money, so both need an ``Idempotency-Key``: a replay returns
the first answer. The provisional-credit policy is ``app.state.dispute_policy`` if set,
else ``anxin.care.disputes.DEFAULT_POLICY``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from anxin.api.deps import ContainerDep, ReadUoW, WriteUoW
from anxin.care import dispute_outcomes, disputes
from anxin.identity.deps import AuthContext, HolderAuth, require_permission
from anxin.ledger.schemas import Strict
from anxin.models.care import Dispute, Ticket
from anxin.wallet.merchant_requests import run_holder_keyed
from anxin.wallet.pay_endpoints import IdempotencyKey

holder_router = APIRouter(prefix="/v1/me/care/disputes", tags=["care"])
staff_router = APIRouter(prefix="/v1/staff/care/disputes", tags=["care staff"])
DecideDisputes = Annotated[AuthContext, Depends(require_permission("care:disputes"))]


class DisputeCreate(Strict):
    transfer_id: uuid.UUID
    reason: Literal["not_me", "unrecognised", "duplicate", "amount_wrong", "other"]
    note: str | None = Field(default=None, max_length=disputes.MAX_NOTE)


class DisputeDecide(Strict):
    outcome: Literal["upheld", "rejected"]
    note: str = Field(min_length=1, max_length=4000)


class DisputeOut(BaseModel):
    id: uuid.UUID
    transfer_id: uuid.UUID
    ticket_id: uuid.UUID
    ticket_reference: str
    asset: str
    amount: int
    reason: str
    status: str
    provisional_credit: bool
    created_at: datetime
    decided_at: datetime | None


class StaffDisputeOut(DisputeOut):
    holder_id: uuid.UUID
    provisional_transfer_id: uuid.UUID | None
    outcome_transfer_id: uuid.UUID | None
    recovery_refund_id: uuid.UUID | None
    unrecovered_amount: int
    decided_by: uuid.UUID | None


class DecisionOut(BaseModel):
    dispute: StaffDisputeOut
    credited: int
    recovered_from_merchant: int
    reversed: int
    unrecovered: int
    recovery_failed: str | None


class DisputeList(BaseModel):
    data: list[DisputeOut]


class StaffDisputeList(BaseModel):
    data: list[StaffDisputeOut]


def _common(uow: Any, d: Dispute) -> dict[str, Any]:
    ticket = uow.session.get(Ticket, d.ticket_id)
    return {
        "id": d.id, "transfer_id": d.transfer_id, "ticket_id": d.ticket_id,
        "ticket_reference": ticket.reference if ticket is not None else "", "asset": d.asset,
        "amount": d.amount, "reason": d.reason, "status": d.status,
        "provisional_credit": d.provisional_transfer_id is not None,
        "created_at": d.created_at, "decided_at": d.decided_at,
    }  # fmt: skip


def _out(uow: Any, d: Dispute) -> DisputeOut:
    return DisputeOut(**_common(uow, d))


def _staff_out(uow: Any, d: Dispute) -> StaffDisputeOut:
    return StaffDisputeOut(
        **_common(uow, d), holder_id=d.holder_id, provisional_transfer_id=d.provisional_transfer_id,
        outcome_transfer_id=d.outcome_transfer_id, recovery_refund_id=d.recovery_refund_id,
        unrecovered_amount=d.unrecovered_amount, decided_by=d.decided_by,
    )  # fmt: skip


def _policy(request: Request) -> disputes.DisputePolicy:
    found = getattr(request.app.state, "dispute_policy", None)
    return found if isinstance(found, disputes.DisputePolicy) else disputes.DEFAULT_POLICY


@holder_router.post("", status_code=201, response_model=DisputeOut)
def file_dispute(
    body: DisputeCreate, request: Request, auth: HolderAuth, uow: WriteUoW, c: ContainerDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:  # fmt: skip
    """Dispute a debit from your statement (`transfer_id` is the statement line's id). This
    opens a complaint ticket; if the policy allows, the money is credited back at once while
    we investigate (`provisional_credit`). Each debit can be disputed once."""
    now = c.clock.now()

    def work() -> DisputeOut:
        found = disputes.open_dispute(
            uow.session, c.keys.vault(), auth.user, transfer_id=body.transfer_id,
            reason=body.reason, note=body.note, now=now, policy=_policy(request),
        )  # fmt: skip
        return _out(uow, found)

    return run_holder_keyed(
        uow, auth.user.id, idempotency_key, route="care:dispute",
        body=body.model_dump(mode="json"), now=now, status_code=201, work=work,
    )  # fmt: skip


@holder_router.get("", response_model=DisputeList)
def my_disputes(auth: HolderAuth, uow: ReadUoW) -> DisputeList:
    """Your disputes, newest first."""
    return DisputeList(data=[_out(uow, d) for d in disputes.disputes_of(uow.session, auth.user.id)])


@holder_router.get("/{dispute_id}", response_model=DisputeOut)
def my_dispute(dispute_id: uuid.UUID, auth: HolderAuth, uow: ReadUoW) -> DisputeOut:
    return _out(uow, disputes.dispute_of(uow.session, auth.user, dispute_id))


@staff_router.get("", response_model=StaffDisputeList)
def list_disputes(
    auth: DecideDisputes, uow: ReadUoW,
    status: Annotated[Literal["investigating", "upheld", "rejected", "withdrawn"] | None,
                      Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> StaffDisputeList:  # fmt: skip
    """Disputes, oldest first (by default every status)."""
    found = disputes.list_disputes(uow.session, status=status, limit=limit)
    return StaffDisputeList(data=[_staff_out(uow, d) for d in found])


@staff_router.get("/{dispute_id}", response_model=StaffDisputeOut)
def show_dispute(dispute_id: uuid.UUID, auth: DecideDisputes, uow: ReadUoW) -> StaffDisputeOut:
    return _staff_out(uow, disputes.get_dispute(uow.session, dispute_id))


@staff_router.post("/{dispute_id}/decision", response_model=DecisionOut)
def decide_dispute(
    dispute_id: uuid.UUID, body: DisputeDecide, auth: DecideDisputes, uow: WriteUoW,
    c: ContainerDep, idempotency_key: IdempotencyKey = None,
) -> Any:  # fmt: skip
    """Uphold (the credit becomes final; a merchant payment is charged back to the merchant
    by a refund) or reject (the provisional credit is reversed; what the holder already
    spent is reported as `unrecovered`). The holder gets a public reply and the ticket is
    resolved."""
    now = c.clock.now()

    def work() -> DecisionOut:
        made = dispute_outcomes.decide(
            uow.session, c.keys.vault(), auth.user, dispute_id, outcome=body.outcome,
            note=body.note, now=now,
        )  # fmt: skip
        return DecisionOut(
            dispute=_staff_out(uow, made.dispute), credited=made.credited,
            recovered_from_merchant=made.recovered_from_merchant, reversed=made.reversed,
            unrecovered=made.unrecovered, recovery_failed=made.recovery_failed,
        )  # fmt: skip

    return run_holder_keyed(
        uow, auth.user.id, idempotency_key, route=f"care:dispute:{dispute_id}:decision",
        body=body.model_dump(mode="json"), now=now, status_code=200, work=work,
    )  # fmt: skip
