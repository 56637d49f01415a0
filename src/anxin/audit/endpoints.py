"""Compliance reads the audit log (``/v1/staff/audit``). Read only: no endpoint, for any
role, writes, changes or deletes an audit entry or a checkpoint; entries are only appended
by the actions they record."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from anxin.api.deps import ContainerDep, ReadUoW
from anxin.audit import checkpoints
from anxin.audit import service as audit
from anxin.identity.deps import AuthContext, require_permission
from anxin.models.insider import AuditCheckpoint

router = APIRouter(prefix="/v1/staff/audit", tags=["staff"])
AuditReader = Annotated[AuthContext, Depends(require_permission("audit:read"))]


class AuditEntryOut(BaseModel):
    seq: int
    at: datetime
    event: str
    actor_id: uuid.UUID | None
    actor_role: str | None
    subject_id: uuid.UUID | None
    data: dict[str, Any]
    prev_hash: str = Field(description="SHA-256 (hex) of the entry before.")
    hash: str


class AuditEntryList(BaseModel):
    data: list[AuditEntryOut]
    next_cursor: int | None = Field(description="Pass as `cursor` for the next page.")


class CheckpointOut(BaseModel):
    log: str
    seq: int
    hash: str
    at: str
    key_id: str
    signature: str
    public_key: str | None = None


class CheckpointList(BaseModel):
    data: list[CheckpointOut]


@router.get("/entries", response_model=AuditEntryList)
def list_entries(
    auth: AuditReader, uow: ReadUoW,
    order: Annotated[Literal["oldest", "newest"], Query()] = "newest",
    cursor: Annotated[int, Query(ge=0, description="A sequence number to continue from.")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    event: Annotated[str | None, Query(max_length=64)] = None,
    actor_id: uuid.UUID | None = None,
    subject_id: uuid.UUID | None = None,
) -> AuditEntryList:  # fmt: skip
    """Audit entries, filtered by event, actor or subject (e.g. a holder's id)."""
    rows = audit.entries(
        uow.session, after_seq=cursor, limit=limit + 1, event_name=event, actor_id=actor_id,
        subject_id=subject_id, newest_first=order == "newest",
    )  # fmt: skip
    more, rows = len(rows) > limit, rows[:limit]
    return AuditEntryList(
        data=[
            AuditEntryOut(
                seq=r.seq,
                at=r.at,
                event=r.event,
                actor_id=r.actor_id,
                actor_role=r.actor_role,
                subject_id=r.subject_id,
                data=dict(r.data),
                prev_hash=r.prev_hash.hex(),
                hash=r.hash.hex(),
            )
            for r in rows
        ],
        next_cursor=rows[-1].seq if more and rows else None,
    )


@router.get("/checkpoints", response_model=CheckpointList)
def list_checkpoints(
    auth: AuditReader, uow: ReadUoW, container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> CheckpointList:  # fmt: skip
    """Signed checkpoints, newest first, as published (with the public key if known)."""
    keyring = container.keys.keyring
    signer = checkpoints.signer_of(keyring) if keyring.audit_signing_key else None
    rows = uow.session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(limit)
    )
    return CheckpointList(
        data=[
            CheckpointOut(
                **checkpoints.published(
                    row, signer.public_key if signer and signer.key_id == row.key_id else None
                )
            )
            for row in rows
        ]
    )
