"""Cases (``/v1/staff/cases``): risk cases are opened, assigned and closed here; tickets,
disputes and incidents register themselves from their own capabilities. Staff see the
cases assigned to them; risk and compliance officers see every case."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from anxin.api.deps import ReadUoW, WriteUoW
from anxin.identity.deps import AuthContext, MissingPermission, require_permission
from anxin.identity.permissions import has_permission
from anxin.kit.errors import Unprocessable
from anxin.kit.ids import parse_id
from anxin.models.insider import Case
from anxin.privacy import cases, honeytokens
from anxin.privacy.schemas import AssignIn, CaseIn, CaseList, CaseOut

router = APIRouter(prefix="/v1/staff/cases", tags=["staff"])
CaseReader = Annotated[AuthContext, Depends(require_permission("cases:read"))]
CaseManager = Annotated[AuthContext, Depends(require_permission("cases:manage"))]


def _out(case: Case) -> CaseOut:
    return CaseOut(
        id=case.id, kind=case.kind, reference=case.reference, holder_id=case.holder_id,
        assignee_id=case.assignee_id, status=case.status, summary=case.summary,
        opened_by=case.opened_by, opened_at=case.opened_at, closed_at=case.closed_at,
    )  # fmt: skip


@router.get("", response_model=CaseList)
def list_cases(
    auth: CaseReader, uow: ReadUoW,
    scope: Annotated[Literal["mine", "all"], Query()] = "mine",
    status: Annotated[Literal["open", "closed"] | None, Query()] = None,
    holder_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> CaseList:  # fmt: skip
    """Cases assigned to you (`scope=mine`), or every case (`scope=all`, officers only).
    Newest first; page with `next_cursor`."""
    if scope == "all" and not has_permission(auth.user.role, "cases:manage"):
        raise MissingPermission(f"the {auth.user.role} role lacks 'cases:manage'")
    before = parse_id(cursor) if cursor else None
    if cursor and before is None:
        raise Unprocessable("cursor is not one this API gave out", code="invalid_cursor")
    rows = cases.list_cases(
        uow.session, assignee_id=auth.user.id if scope == "mine" else None,
        holder_id=holder_id, status=status, limit=limit + 1, before=before,
    )  # fmt: skip
    more, rows = len(rows) > limit, rows[:limit]
    return CaseList(
        data=[_out(c) for c in rows], next_cursor=str(rows[-1].id) if more and rows else None
    )


@router.post("", status_code=201, response_model=CaseOut)
def open_case(body: CaseIn, auth: CaseManager, uow: WriteUoW) -> CaseOut:
    """Open a risk case about one holder, optionally assigned to a staff member."""
    case = cases.open_risk_case(
        uow.session, by=auth.user, holder_id=body.holder_id, assignee_id=body.assignee_id,
        summary=body.summary, now=auth.now,
    )  # fmt: skip
    honeytokens.check(uow.session, auth.vault, [body.holder_id], staff=auth.user,
                      action="case_opened", now=auth.now)  # fmt: skip
    out = _out(case)
    uow.commit()
    return out


@router.get("/{case_id}", response_model=CaseOut)
def get_case(case_id: uuid.UUID, auth: CaseReader, uow: ReadUoW) -> CaseOut:
    """One case assigned to you (any case, for officers)."""
    case = cases.get(uow.session, case_id)
    if not cases.visible_to(case, auth.user):
        raise cases.CaseNotFound()
    return _out(case)


@router.post("/{case_id}/assign", response_model=CaseOut)
def assign_case(case_id: uuid.UUID, body: AssignIn, auth: CaseManager, uow: WriteUoW) -> CaseOut:
    """Assign (or reassign) an open case to a staff member who may work on holders' data."""
    case = cases.assign(
        uow.session, case_id=case_id, assignee_id=body.assignee_id, by=auth.user, now=auth.now
    )
    out = _out(case)
    uow.commit()
    return out


@router.post("/{case_id}/close", response_model=CaseOut)
def close_case(case_id: uuid.UUID, auth: CaseReader, uow: WriteUoW) -> CaseOut:
    """Close a case assigned to you (officers: any case). Reveals for it end at once."""
    case = cases.close(uow.session, case_id=case_id, by=auth.user, now=auth.now)
    out = _out(case)
    uow.commit()
    return out
