"""Four-eyes approvals of every registered kind (exports, breach notices, ...):
``/v1/staff/approvals``. Deciding checks the permission of the approval's kind; the
requester can never decide their own request."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from anxin.api.deps import ReadUoW, WriteUoW
from anxin.identity.deps import AuthContext, require_permission
from anxin.models.rights import Approval
from anxin.privacy import approvals
from anxin.privacy.rights_schemas import ApprovalList, ApprovalOut, DecisionIn, RejectIn

router = APIRouter(prefix="/v1/staff", tags=["staff"])
AnyStaff = Annotated[AuthContext, Depends(require_permission("staff:self"))]


def approval_out(row: Approval, now: datetime) -> ApprovalOut:
    return ApprovalOut(
        id=row.id, kind=row.kind, subject_ref=row.subject_ref, requested_by=row.requested_by,
        payload=dict(row.payload), status=approvals.effective_status(row, now),
        created_at=row.created_at, expires_at=row.expires_at, decided_by=row.decided_by,
        decided_at=row.decided_at,
    )  # fmt: skip


@router.get("/approvals", response_model=ApprovalList)
def list_approvals(
    auth: AnyStaff, uow: ReadUoW, mine: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ApprovalList:  # fmt: skip
    """Requests waiting for you to decide (never your own), or with `mine=true` your own."""
    rows = (
        approvals.requested_by(uow.session, auth.user, limit=limit)
        if mine
        else approvals.waiting_for(uow.session, auth.user, auth.now, limit=limit)
    )
    return ApprovalList(data=[approval_out(r, auth.now) for r in rows])


def _visible(row: Approval, auth: AuthContext) -> Approval:
    if row.requested_by != auth.user.id and not approvals.may_decide(auth.user, row):
        raise approvals.ApprovalNotFound()
    return row


@router.get("/approvals/{approval_id}", response_model=ApprovalOut)
def get_approval(approval_id: uuid.UUID, auth: AnyStaff, uow: ReadUoW) -> ApprovalOut:
    """One request you asked for or may decide."""
    return approval_out(_visible(approvals.get(uow.session, approval_id), auth), auth.now)


@router.post("/approvals/{approval_id}/approve", response_model=ApprovalOut)
def approve(
    approval_id: uuid.UUID, auth: AnyStaff, uow: WriteUoW, body: DecisionIn | None = None
) -> ApprovalOut:
    """Approve someone else's request before it expires (your own: 403 `self_approval`)."""
    _visible(approvals.get(uow.session, approval_id), auth)
    row = approvals.approve(
        uow.session, approval_id, auth.user, auth.now, note=body.note if body else None
    )
    out = approval_out(row, auth.now)
    uow.commit()
    return out


@router.post("/approvals/{approval_id}/reject", response_model=ApprovalOut)
def reject(approval_id: uuid.UUID, body: RejectIn, auth: AnyStaff, uow: WriteUoW) -> ApprovalOut:
    """Refuse someone else's request, saying why."""
    _visible(approvals.get(uow.session, approval_id), auth)
    row = approvals.reject(uow.session, approval_id, auth.user, auth.now, body.note)
    out = approval_out(row, auth.now)
    uow.commit()
    return out


@router.post("/approvals/{approval_id}/cancel", response_model=ApprovalOut)
def cancel(approval_id: uuid.UUID, auth: AnyStaff, uow: WriteUoW) -> ApprovalOut:
    """Withdraw your own request while nobody decided it."""
    row = approvals.cancel(uow.session, approval_id, auth.user, auth.now)
    out = approval_out(row, auth.now)
    uow.commit()
    return out
