"""Breach response for compliance (``/v1/staff/breaches``) and the public status page's
announcements (``GET /v1/status/announcements``).

The status announcements here are deliberately minimal (a list of published statements);
the incident capability takes them over.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.api.deps import ContainerDep, ReadUoW, WriteUoW
from anxin.identity.deps import AuthContext, require_permission
from anxin.models.rights import Breach
from anxin.privacy import breaches
from anxin.privacy.holder_query import HolderQuery
from anxin.privacy.rights_schemas import (
    AnnouncementList,
    AnnouncementOut,
    BreachIn,
    BreachList,
    BreachOut,
    FactsIn,
    SendOut,
)
from anxin.settings import Settings

router = APIRouter(prefix="/v1/staff/breaches", tags=["staff"])
status_router = APIRouter(prefix="/v1/status", tags=["status"])
Manager = Annotated[AuthContext, Depends(require_permission("breaches:manage"))]


def breach_out(session: Session, row: Breach, settings: Settings, auth: AuthContext) -> BreachOut:
    found = breaches.counts(session, row.id)
    return BreachOut(
        id=row.id, reference=row.reference, title=row.title, scope=row.scope,
        data_categories=list(row.data_categories), status=row.status,
        discovered_at=row.discovered_at, recorded_at=row.recorded_at,
        deadline_at=row.deadline_at,
        seconds_left=int((row.deadline_at - auth.now).total_seconds()),
        deadline_state=breaches.deadline_state(row, settings, auth.now),
        affected=row.affected_count, notified=found["notified"],
        unreachable=found["unreachable"], texts=row.texts, approval_id=row.approval_id,
        approved_by=row.approved_by, approved_at=row.approved_at,
        announcement_id=row.announcement_id, authority_notified_at=row.authority_notified_at,
        holders_notified_at=row.holders_notified_at,
    )  # fmt: skip


@router.post("", status_code=201, response_model=BreachOut)
def record_breach(body: BreachIn, auth: Manager, uow: WriteUoW, c: ContainerDep) -> BreachOut:
    """Record a suspected breach: its scope, the data involved, the holders affected (ids, a
    query, or everyone) and when it was discovered. The notification clock starts."""
    holders = body.holders
    row = breaches.record_breach(
        uow.session, c.settings, staff=auth.user, title=body.title, scope=body.scope,
        data_categories=body.data_categories, discovered_at=body.discovered_at,
        facts={lang: facts.model_dump() for lang, facts in body.facts.items()},
        holder_ids=holders.holder_ids,
        query=HolderQuery(**holders.query.model_dump()) if holders.query else None,
        all_holders=holders.all_holders, now=auth.now,
    )  # fmt: skip
    out = breach_out(uow.session, row, c.settings, auth)
    uow.commit()
    return out


@router.get("", response_model=BreachList)
def list_breaches(
    auth: Manager, uow: WriteUoW, c: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> BreachList:  # fmt: skip
    """Breaches, newest first, with the time left to notify (alerts compliance when near)."""
    breaches.check_deadlines(uow.session, c.settings, auth.now)
    rows = list(uow.session.scalars(select(Breach).order_by(Breach.id.desc()).limit(limit)))
    out = BreachList(data=[breach_out(uow.session, r, c.settings, auth) for r in rows])
    uow.commit()
    return out


@router.get("/{breach_id}", response_model=BreachOut)
def get_breach(breach_id: uuid.UUID, auth: Manager, uow: WriteUoW, c: ContainerDep) -> BreachOut:
    """One breach, its clock and its prepared texts."""
    row = breaches.get(uow.session, breach_id)
    breaches.check_deadlines(uow.session, c.settings, auth.now, breach=row)
    out = breach_out(uow.session, row, c.settings, auth)
    uow.commit()
    return out


@router.post("/{breach_id}/notices", response_model=BreachOut)
def prepare_notices(
    breach_id: uuid.UUID, auth: Manager, uow: WriteUoW, c: ContainerDep,
    body: dict[str, FactsIn] | None = None,
) -> BreachOut:  # fmt: skip
    """Prepare the notices (zh-CN, en) and the public statement, optionally with corrected
    facts, and ask another compliance officer to approve exactly these texts."""
    facts = {lang: f.model_dump() for lang, f in (body or {}).items()
             if lang in ("zh-CN", "en")}  # fmt: skip
    row = breaches.prepare_notices(uow.session, c.settings, breach_id=breach_id,
                                   staff=auth.user, facts=facts or None, now=auth.now)  # fmt: skip
    out = breach_out(uow.session, row, c.settings, auth)
    uow.commit()
    return out


@router.post("/{breach_id}/send", response_model=SendOut)
def send_notices(
    breach_id: uuid.UUID, auth: Manager, uow: WriteUoW,
    batch: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> SendOut:  # fmt: skip
    """Send the approved notices to affected holders not told yet (in-app, email, SMS) and
    publish the statement. Repeat while `remaining` > 0."""
    done = breaches.send_notices(uow.session, auth.vault, breach_id=breach_id, staff=auth.user,
                                 now=auth.now, batch=batch)  # fmt: skip
    uow.commit()
    return SendOut(**done)


@router.post("/{breach_id}/authority-notified", response_model=BreachOut)
def authority_notified(
    breach_id: uuid.UUID, auth: Manager, uow: WriteUoW, c: ContainerDep
) -> BreachOut:
    """Record that the supervisory authority was told."""
    row = breaches.authority_notified(uow.session, breach_id=breach_id, staff=auth.user,
                                      now=auth.now)  # fmt: skip
    out = breach_out(uow.session, row, c.settings, auth)
    uow.commit()
    return out


@router.post("/{breach_id}/close", response_model=BreachOut)
def close_breach(breach_id: uuid.UUID, auth: Manager, uow: WriteUoW, c: ContainerDep) -> BreachOut:
    """Close the breach; its status page statement is marked resolved."""
    row = breaches.close(uow.session, breach_id=breach_id, staff=auth.user, now=auth.now)
    out = breach_out(uow.session, row, c.settings, auth)
    uow.commit()
    return out


@status_router.get("/announcements", response_model=AnnouncementList)
def list_announcements(
    uow: ReadUoW, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> AnnouncementList:
    """Public statements about incidents, newest first (no sign-in needed)."""
    return AnnouncementList(
        data=[
            AnnouncementOut(
                id=r.id,
                kind=r.kind,
                status=r.status,
                published_at=r.published_at,
                updated_at=r.updated_at,
                resolved_at=r.resolved_at,
                texts=dict(r.texts),
            )
            for r in breaches.announcements(uow.session, limit=limit)
        ]
    )
