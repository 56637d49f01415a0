"""Staff exports of holders' data (``/v1/staff/exports``).

An export is asked for, approved by someone else (``/v1/staff/approvals``), then
downloaded by its requester through a single-use link; the file is generated on download
with a watermark.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.api.deps import ContainerDep, ReadUoW, WriteUoW
from anxin.identity.deps import AuthContext, require_permission
from anxin.models.rights import Approval, Export
from anxin.privacy import export_trace, exports
from anxin.privacy.holder_query import HolderQuery
from anxin.privacy.rights_schemas import (
    ExportIn,
    ExportLinkOut,
    ExportList,
    ExportOut,
    TraceIn,
    TraceMatchOut,
    TraceOut,
)

router = APIRouter(prefix="/v1/staff", tags=["staff"])
Requester = Annotated[AuthContext, Depends(require_permission("exports:request"))]
Approver = Annotated[AuthContext, Depends(require_permission("exports:approve"))]
AnyStaff = Annotated[AuthContext, Depends(require_permission("staff:self"))]


def export_out(session: Session, row: Export, now: datetime) -> ExportOut:
    approval = session.get(Approval, row.approval_id)
    return ExportOut(
        id=row.id, status=exports.effective_status(row, now, approval),
        approval_id=row.approval_id, requested_by=row.requested_by, approved_by=row.approved_by,
        format=row.format, fields=list(row.fields), reason=str(row.purpose.get("reason", "")),
        reference=row.purpose.get("reference"), holders=row.holder_count,
        created_at=row.created_at, approved_at=row.approved_at,
        available_until=row.available_until, downloads=row.downloads,
    )  # fmt: skip


@router.post("/exports", status_code=201, response_model=ExportOut)
def request_export(
    body: ExportIn, auth: Requester, uow: WriteUoW, container: ContainerDep
) -> ExportOut:
    """Ask for an export of holders' data. Another staff member must approve it before it
    can be downloaded; unmasked fields follow your role's reveal rules; the reason is shown
    to every holder in it."""
    query = HolderQuery(**body.query.model_dump()) if body.query else None
    row = exports.request_export(
        uow.session, auth.vault, container.settings, staff=auth.user, fields=body.fields,
        reason=body.reason, reference=body.reference, holder_ids=body.holder_ids, query=query,
        fmt=body.format, now=auth.now,
    )  # fmt: skip
    out = export_out(uow.session, row, auth.now)
    uow.commit()
    return out


@router.get("/exports", response_model=ExportList)
def my_exports(
    auth: Requester, uow: ReadUoW, limit: Annotated[int, Query(ge=1, le=100)] = 50
) -> ExportList:
    """Your exports, newest first."""
    rows = uow.session.scalars(
        select(Export).where(Export.requested_by == auth.user.id)
        .order_by(Export.id.desc()).limit(limit)
    )  # fmt: skip
    return ExportList(data=[export_out(uow.session, r, auth.now) for r in rows])


@router.get("/exports/{export_id}", response_model=ExportOut)
def get_export(export_id: uuid.UUID, auth: AnyStaff, uow: ReadUoW) -> ExportOut:
    """An export you asked for or may approve (404 otherwise)."""
    row = exports.visible_export(uow.session, export_id, auth.user)
    return export_out(uow.session, row, auth.now)


@router.post("/exports/{export_id}/link", response_model=ExportLinkOut)
def export_link(
    export_id: uuid.UUID, auth: Requester, uow: WriteUoW, container: ContainerDep
) -> ExportLinkOut:
    """A single-use download link for your approved export, valid for minutes."""
    token, expires = exports.make_link(
        uow.session, container.settings, export_id=export_id, staff=auth.user, now=auth.now
    )
    uow.commit()
    return ExportLinkOut(
        url=f"/v1/staff/exports/{export_id}/download?token={token}", expires_at=expires
    )


@router.get(
    "/exports/{export_id}/download",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
def download_export(
    export_id: uuid.UUID, auth: Requester, uow: WriteUoW, container: ContainerDep,
    token: Annotated[str, Query(min_length=1, max_length=100)],
) -> Response:  # fmt: skip
    """The export file, generated now and watermarked. Every holder in it sees this in
    their access log."""
    made = exports.download(
        uow.session, auth.vault, container.settings, export_id=export_id, token=token,
        staff=auth.user, now=auth.now,
    )  # fmt: skip
    uow.commit()
    return Response(
        content=made.content.encode(), media_type=made.media_type,
        headers={"Content-Disposition": f'attachment; filename="{made.filename}"',
                 "Cache-Control": "no-store", "X-Export-Rows": str(made.rows)},
    )  # fmt: skip


@router.post("/exports/trace", response_model=TraceOut)
def trace_leak(body: TraceIn, auth: Approver, uow: WriteUoW, container: ContainerDep) -> TraceOut:
    """Which export (and so which staff member) a leaked file came from."""
    matches = export_trace.trace(
        uow.session, auth.vault, text=body.content, staff=auth.user,
        canary_domain=container.settings.export_canary_domain, now=auth.now,
    )  # fmt: skip
    uow.commit()
    return TraceOut(matches=[TraceMatchOut(**m.__dict__) for m in matches])
