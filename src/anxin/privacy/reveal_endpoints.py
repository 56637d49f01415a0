"""Revealing one holder's personal data for a purpose (staff), and the access log (holder).

``POST /v1/staff/holders/{id}/reveal`` is the only staff endpoint that returns unmasked
personal data, and it returns it for exactly one holder. It checks the role's field
permissions, the purpose (an assigned open case, or a break-glass reason) and the
bulk-access guard, then records the reveal where the holder and compliance can see it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from anxin.api.deps import ContainerDep, ReadUoW, WriteUoW
from anxin.identity.deps import AuthContext, HolderAuth, require_permission
from anxin.kit.errors import Unprocessable
from anxin.kit.ids import parse_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.privacy import access_log, guard
from anxin.privacy import reveal as reveals
from anxin.privacy.schemas import AccessLogList, AccessLogOut, RevealIn, RevealOut

router = APIRouter(prefix="/v1", tags=["privacy"])
Revealer = Annotated[AuthContext, Depends(require_permission("holders:reveal"))]


@contextmanager
def keeping_guard_records(uow: UnitOfWork) -> Iterator[None]:
    """A request the guard blocked still commits what the guard recorded (the alert, the
    audit entry, the ended sessions); then it fails."""
    try:
        yield
    except guard.GuardTripped as tripped:
        uow.commit()
        raise tripped.error from None


def _out(revealed: reveals.Revealed) -> RevealOut:
    row, case = revealed.row, revealed.case
    purpose = (
        {"kind": case.kind, "case_id": str(case.id), "reference": case.reference}
        if case is not None
        else {"kind": "break_glass", "reason": row.break_glass_reason}
    )
    return RevealOut(
        reveal_id=row.id, holder_id=row.holder_id, values=revealed.values, purpose=purpose,
        break_glass=case is None, expires_at=row.expires_at,
    )  # fmt: skip


@router.post("/staff/holders/{holder_id}/reveal", response_model=RevealOut, tags=["staff"])
def reveal_holder(
    holder_id: uuid.UUID, body: RevealIn, auth: Revealer, uow: WriteUoW, container: ContainerDep
) -> RevealOut:
    """Unmask fields of one holder, for an open case assigned to you or, without one, a
    break-glass reason (compliance is alerted at once and the holder is told). Recorded in
    the holder's access log and the audit log; readable again until `expires_at`."""
    with keeping_guard_records(uow):
        revealed = reveals.reveal(
            uow.session, auth.vault, container.settings, staff=auth.user, holder_id=holder_id,
            fields=list(body.fields), case_id=body.case_id, reason=body.break_glass_reason,
            now=auth.now,
        )  # fmt: skip
    out = _out(revealed)
    uow.commit()
    return out


@router.get("/staff/reveals/{reveal_id}", response_model=RevealOut, tags=["staff"])
def read_reveal(reveal_id: uuid.UUID, auth: Revealer, uow: ReadUoW) -> RevealOut:
    """A reveal of yours again, while it lasts and its case stays open (410 after)."""
    revealed = reveals.reread(
        uow.session, auth.vault, staff=auth.user, reveal_id=reveal_id, now=auth.now
    )
    return _out(revealed)


@router.get("/me/access-log", response_model=AccessLogList, tags=["me"])
def my_access_log(
    auth: HolderAuth, uow: ReadUoW, limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> AccessLogList:  # fmt: skip
    """Who at Anxin looked at or acted on your account and data, when, and why: staff
    appear by pseudonym and role. Newest first; page with `next_cursor`."""
    before = parse_id(cursor) if cursor else None
    if cursor and before is None:
        raise Unprocessable("cursor is not one this API gave out", code="invalid_cursor")
    rows = access_log.for_holder(uow.session, auth.user.id, limit=limit + 1, before=before)
    more, rows = len(rows) > limit, rows[:limit]
    return AccessLogList(
        data=[
            AccessLogOut(
                id=r.id,
                at=r.at,
                staff=r.staff_pseudonym,
                role=r.staff_role,
                action=r.action,
                fields=list(r.fields),
                purpose=dict(r.purpose),
                break_glass=r.break_glass,
            )
            for r in rows
        ],
        next_cursor=str(rows[-1].id) if more and rows else None,
    )
