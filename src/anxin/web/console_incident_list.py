"""The incident dashboard (``/console/incidents``): collective-complaint groups detected in
the last seven days with their arrival charts, open incidents, and resolved ones. The
groups and incidents section is also served alone (``/console/incidents/live``) for htmx
to refresh it every 20 seconds; without scripts, reloading the page does the same."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.identity import contacts as contact_book
from anxin.incidents import affected
from anxin.incidents.service import OPEN_STATUSES, linked_tickets
from anxin.models import User
from anxin.models.incidents import CollectiveGroup, CollectiveMember, Incident
from anxin.privacy.vault import Vault
from anxin.web.console_auth import Staff
from anxin.web.console_incident_charts import Arrivals, arrivals
from anxin.web.console_incident_common import base, require_manager
from anxin.web.pages import show

router = APIRouter(include_in_schema=False)
LIVE_DAYS = 7
HISTORY = 50


@dataclass(frozen=True)
class GroupRow:
    group: CollectiveGroup
    complaints: int
    incident: Incident | None
    chart: Arrivals


@dataclass(frozen=True)
class IncidentRow:
    incident: Incident
    lead: str | None
    affected: int
    tickets: int


def staff_name(session: Session, vault: Vault, user_id: uuid.UUID | None) -> str | None:
    """A colleague as staff know them: their name, else their pseudonym."""
    if user_id is None:
        return None
    user = session.get(User, user_id)
    if user is None:
        return None
    return contact_book.display_name(session, vault, user) or user.pseudonym or str(user.id)[:8]


def group_rows(session: Session, groups: list[CollectiveGroup]) -> list[GroupRow]:
    if not groups:
        return []
    sizes = dict(
        session.execute(
            select(CollectiveMember.group_id, func.count())
            .where(CollectiveMember.group_id.in_([g.id for g in groups]))
            .group_by(CollectiveMember.group_id)
        ).all()
    )
    return [
        GroupRow(g, int(sizes.get(g.id, 0)),
                 session.get(Incident, g.incident_id) if g.incident_id else None,
                 arrivals(session, g))
        for g in groups
    ]  # fmt: skip


def live_groups(session: Session, now: datetime) -> list[CollectiveGroup]:
    """Bursts the detector raised in the last week, newest first (not the groups that only
    hold tickets staff linked by hand)."""
    rows = session.scalars(
        select(CollectiveGroup)
        .where(CollectiveGroup.detected_at >= now - timedelta(days=LIVE_DAYS))
        .order_by(CollectiveGroup.detected_at.desc(), CollectiveGroup.id)
        .limit(50)
    )
    return [g for g in rows if not g.evidence.get("manual")]


def incident_rows(session: Session, vault: Vault, incidents: list[Incident]) -> list[IncidentRow]:
    return [
        IncidentRow(i, staff_name(session, vault, i.lead_id),
                    affected.counts(session, i)["total"], len(linked_tickets(session, i)))
        for i in incidents
    ]  # fmt: skip


def _live(session: Session, staff: Staff) -> dict[str, Any]:
    open_ = session.scalars(
        select(Incident)
        .where(Incident.status.in_(OPEN_STATUSES))
        .order_by(Incident.detected_at.desc())
        .limit(200)
    )
    return {
        "groups": group_rows(session, live_groups(session, staff.now)),
        "open_incidents": incident_rows(session, staff.vault, list(open_)),
        "refreshed_at": staff.now,
    }


@router.get("/console/incidents", response_class=HTMLResponse)
def dashboard(request: Request, container: ContainerDep, uow: WriteUoW) -> HTMLResponse:
    staff = require_manager(request, container, uow)
    closed = closed_incidents(uow.session)
    context = {**base(request, staff), **_live(uow.session, staff),
               "closed_incidents": incident_rows(uow.session, staff.vault, closed)}  # fmt: skip
    return show(request, container, "console/incidents/list.html", context)


def closed_incidents(session: Session) -> list[Incident]:
    return list(
        session.scalars(
            select(Incident)
            .where(Incident.status.in_(("resolved", "reviewed")))
            .order_by(Incident.resolved_at.desc(), Incident.detected_at.desc())
            .limit(HISTORY)
        )
    )


@router.get("/console/incidents/live", response_class=HTMLResponse)
def live(request: Request, container: ContainerDep, uow: WriteUoW) -> HTMLResponse:
    """The groups and open incidents alone, for htmx's periodic refresh."""
    staff = require_manager(request, container, uow)
    return show(request, container, "console/incidents/_live.html",
                {**base(request, staff), **_live(uow.session, staff)})  # fmt: skip
