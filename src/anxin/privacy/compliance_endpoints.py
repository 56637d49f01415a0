"""Compliance (``/v1/staff/compliance``): alerts to act on, and the review every
break-glass reveal gets afterwards. Reviews past due are escalated as new alerts."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from anxin.api.deps import ReadUoW, WriteUoW
from anxin.identity.deps import AuthContext, require_permission
from anxin.kit.errors import Unprocessable
from anxin.kit.ids import parse_id
from anxin.models.insider import ComplianceAlert, Reveal
from anxin.privacy import alerts
from anxin.privacy import reveal as reveals
from anxin.privacy.schemas import (
    AcknowledgeIn,
    AlertList,
    AlertOut,
    BreakGlassList,
    BreakGlassOut,
    ReviewIn,
)

router = APIRouter(prefix="/v1/staff/compliance", tags=["staff"])
Compliance = Annotated[AuthContext, Depends(require_permission("compliance:review"))]


def _alert(row: ComplianceAlert) -> AlertOut:
    return AlertOut(
        id=row.id, kind=row.kind, severity=row.severity, staff_id=row.staff_id,
        holder_id=row.holder_id, details=dict(row.details), created_at=row.created_at,
        acknowledged_by=row.acknowledged_by, acknowledged_at=row.acknowledged_at, note=row.note,
    )  # fmt: skip


def _break_glass(row: Reveal) -> BreakGlassOut:
    return BreakGlassOut(
        reveal_id=row.id, staff_id=row.staff_id, holder_id=row.holder_id,
        fields=list(row.fields), reason=row.break_glass_reason, created_at=row.created_at,
        review_status=row.review_status or "", review_due_at=row.review_due_at,
        reviewed_by=row.reviewed_by, reviewed_at=row.reviewed_at, review_note=row.review_note,
    )  # fmt: skip


@router.get("/alerts", response_model=AlertList)
def list_alerts(
    auth: Compliance, uow: ReadUoW,
    status: Annotated[Literal["open", "all"], Query()] = "open",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> AlertList:  # fmt: skip
    """Alerts, newest first: open ones (not yet acknowledged) by default."""
    before = parse_id(cursor) if cursor else None
    if cursor and before is None:
        raise Unprocessable("cursor is not one this API gave out", code="invalid_cursor")
    rows = alerts.list_alerts(
        uow.session, open_only=status == "open", limit=limit + 1, before=before
    )
    more, rows = len(rows) > limit, rows[:limit]
    return AlertList(
        data=[_alert(r) for r in rows], next_cursor=str(rows[-1].id) if more and rows else None
    )


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut)
def acknowledge_alert(
    alert_id: uuid.UUID, body: AcknowledgeIn, auth: Compliance, uow: WriteUoW
) -> AlertOut:
    """Acknowledge an alert, saying what was done about it."""
    row = alerts.acknowledge(
        uow.session, alert_id=alert_id, officer=auth.user, note=body.note, now=auth.now
    )
    out = _alert(row)
    uow.commit()
    return out


@router.get("/break-glass", response_model=BreakGlassList)
def list_break_glass(
    auth: Compliance, uow: WriteUoW,
    status: Annotated[
        Literal["pending", "overdue", "justified", "unjustified"] | None, Query()
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> BreakGlassList:  # fmt: skip
    """Break-glass reveals and their reviews, newest first (reviews past due are
    escalated first)."""
    if reveals.sweep_overdue(uow.session, auth.now):
        uow.commit()
    rows = reveals.reviews(uow.session, status=status, limit=limit)
    return BreakGlassList(data=[_break_glass(r) for r in rows])


@router.post("/break-glass/{reveal_id}/review", response_model=BreakGlassOut)
def review_break_glass(
    reveal_id: uuid.UUID, body: ReviewIn, auth: Compliance, uow: WriteUoW
) -> BreakGlassOut:
    """Decide whether a break-glass reveal was justified (never one's own)."""
    row = reveals.review(
        uow.session, reviewer=auth.user, reveal_id=reveal_id, outcome=body.outcome,
        note=body.note, now=auth.now,
    )  # fmt: skip
    out = _break_glass(row)
    uow.commit()
    return out
