"""The incidents' staff API (``/v1/staff/incidents``, permission ``incidents:manage``):
open and update incidents, the timeline, linked complaints, affected holders (queries
previewed before use), public updates, notices and the post-incident report."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.api.deps import ReadUoW, WriteUoW
from anxin.care.tickets import get_ticket
from anxin.identity.deps import AuthContext, require_permission
from anxin.incidents import affected, notify, report, service, updates
from anxin.incidents.errors import InvalidIncident
from anxin.incidents.schemas import (
    AffectedHoldersIn,
    AffectedList,
    AffectedOut,
    AffectedQueryIn,
    AppliedOut,
    EventList,
    EventOut,
    IncidentIn,
    IncidentList,
    IncidentOut,
    IncidentPatch,
    LinkedOut,
    LinkTicketsIn,
    NoteIn,
    NotifyIn,
    NotifyOut,
    PreviewOut,
    StatusChangeIn,
    UpdateIn,
    UpdateList,
    UpdateOut,
)
from anxin.models import User
from anxin.models.incidents import AffectedHolder, Incident, IncidentUpdate

router = APIRouter(prefix="/v1/staff/incidents", tags=["incidents"])
Manager = Annotated[AuthContext, Depends(require_permission("incidents:manage"))]


def site_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def incident_out(session: Session, incident: Incident) -> IncidentOut:
    return IncidentOut(
        id=incident.id, reference=incident.reference, title=incident.title,
        status=incident.status, severity=incident.severity, category=incident.category,
        cause_key=incident.cause_key, lead_id=incident.lead_id, opened_by=incident.opened_by,
        root_cause=incident.root_cause, started_at=incident.started_at,
        detected_at=incident.detected_at, identified_at=incident.identified_at,
        monitoring_at=incident.monitoring_at, resolved_at=incident.resolved_at,
        reviewed_at=incident.reviewed_at, first_announced_at=incident.first_announced_at,
        first_notified_at=incident.first_notified_at, compensated_at=incident.compensated_at,
        affected=affected.counts(session, incident),
        tickets=len(service.linked_tickets(session, incident)),
    )  # fmt: skip


def _lead(session: Session, lead_id: uuid.UUID | None) -> None:
    if lead_id is None:
        return
    user = session.get(User, lead_id)
    if user is None or user.kind != "staff":
        raise InvalidIncident("the lead is a staff member", field="lead_id")


@router.post("", status_code=201, response_model=IncidentOut)
def open_incident(body: IncidentIn, auth: Manager, uow: WriteUoW) -> IncidentOut:
    """Open an incident by hand (it starts in `investigating`)."""
    _lead(uow.session, body.lead_id)
    incident = service.open_incident(
        uow.session, title=body.title, severity=body.severity, category=body.category,
        cause_key=body.cause_key, lead_id=body.lead_id or auth.user.id,
        opened_by=auth.user.id, started_at=body.started_at, now=auth.now,
    )  # fmt: skip
    out = incident_out(uow.session, incident)
    uow.commit()
    return out


@router.get("", response_model=IncidentList)
def list_incidents(
    auth: Manager, uow: ReadUoW,
    status: Annotated[
        str | None,
        Query(pattern="^(open|investigating|identified|monitoring|resolved|reviewed)$"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> IncidentList:  # fmt: skip
    """Incidents, most recently detected first (`status=open`: not yet resolved)."""
    rows = service.list_incidents(uow.session, status=status, limit=limit)
    return IncidentList(data=[incident_out(uow.session, i) for i in rows])


@router.get("/{incident_id}", response_model=IncidentOut)
def get_incident(incident_id: uuid.UUID, auth: Manager, uow: ReadUoW) -> IncidentOut:
    return incident_out(uow.session, service.get_incident(uow.session, incident_id))


@router.patch("/{incident_id}", response_model=IncidentOut)
def update_incident(
    incident_id: uuid.UUID, body: IncidentPatch, auth: Manager, uow: WriteUoW
) -> IncidentOut:
    """Title, severity, lead, category, root cause, when it began."""
    _lead(uow.session, body.lead_id)
    incident = service.get_incident(uow.session, incident_id, for_update=True)
    service.update_incident(
        uow.session, incident, actor_id=auth.user.id, now=auth.now, title=body.title,
        severity=body.severity, lead_id=body.lead_id, root_cause=body.root_cause,
        started_at=body.started_at, category=body.category,
    )  # fmt: skip
    out = incident_out(uow.session, incident)
    uow.commit()
    return out


@router.post("/{incident_id}/status", response_model=IncidentOut)
def change_status(
    incident_id: uuid.UUID, body: StatusChangeIn, auth: Manager, uow: WriteUoW
) -> IncidentOut:
    """Move forward: investigating → identified → monitoring → resolved → reviewed."""
    incident = service.get_incident(uow.session, incident_id, for_update=True)
    service.change_status(uow.session, incident, body.status, actor_id=auth.user.id,
                          now=auth.now, note=body.note)  # fmt: skip
    out = incident_out(uow.session, incident)
    uow.commit()
    return out


@router.get("/{incident_id}/timeline", response_model=EventList)
def get_timeline(incident_id: uuid.UUID, auth: Manager, uow: ReadUoW) -> EventList:
    incident = service.get_incident(uow.session, incident_id)
    return EventList(data=[
        EventOut(id=e.id, kind=e.kind, actor_id=e.actor_id, data=e.data, at=e.at)
        for e in service.timeline(uow.session, incident)
    ])  # fmt: skip


@router.post("/{incident_id}/timeline", status_code=201, response_model=EventOut)
def add_note(incident_id: uuid.UUID, body: NoteIn, auth: Manager, uow: WriteUoW) -> EventOut:
    """A staff entry on the timeline (facts about the incident, no holder's personal data)."""
    incident = service.get_incident(uow.session, incident_id)
    event = service.add_note(uow.session, incident, body.text, actor_id=auth.user.id,
                             now=auth.now)  # fmt: skip
    out = EventOut(id=event.id, kind=event.kind, actor_id=event.actor_id, data=event.data,
                   at=event.at)  # fmt: skip
    uow.commit()
    return out


@router.post("/{incident_id}/tickets", response_model=LinkedOut)
def link_tickets(
    incident_id: uuid.UUID, body: LinkTicketsIn, auth: Manager, uow: WriteUoW
) -> LinkedOut:
    """Link complaint tickets (their holders become affected); already linked ones count 0."""
    incident = service.get_incident(uow.session, incident_id, for_update=True)
    linked = 0
    for ticket_id in dict.fromkeys(body.ticket_ids):
        ticket = get_ticket(uow.session, ticket_id)
        linked += service.link_ticket(uow.session, incident, ticket, now=auth.now,
                                      actor_id=auth.user.id)  # fmt: skip
    uow.commit()
    return LinkedOut(linked=linked)


@router.post("/{incident_id}/affected/preview", response_model=PreviewOut)
def preview_affected(
    incident_id: uuid.UUID, body: AffectedQueryIn, auth: Manager, uow: ReadUoW
) -> PreviewOut:
    """What a query would find: holders, items and money per asset. Writes nothing."""
    incident = service.get_incident(uow.session, incident_id)
    found = affected.preview(uow.session, incident, body.definition, auth.now)
    return PreviewOut(**vars(found))


@router.post("/{incident_id}/affected/queries", status_code=201, response_model=AppliedOut)
def apply_affected(
    incident_id: uuid.UUID, body: AffectedQueryIn, auth: Manager, uow: WriteUoW
) -> AppliedOut:
    """Store the query and add every holder it finds, with the facts found."""
    incident = service.get_incident(uow.session, incident_id, for_update=True)
    query, found = affected.apply(uow.session, incident, body.definition,
                                  actor_id=auth.user.id, now=auth.now)  # fmt: skip
    uow.commit()
    return AppliedOut(query_id=query.id, **vars(found))


@router.post("/{incident_id}/affected/holders", response_model=LinkedOut)
def add_affected(
    incident_id: uuid.UUID, body: AffectedHoldersIn, auth: Manager, uow: WriteUoW
) -> LinkedOut:
    """Name affected holders one by one (source `staff`)."""
    incident = service.get_incident(uow.session, incident_id, for_update=True)
    added = affected.add_holders(uow.session, incident, body.holder_ids, actor_id=auth.user.id,
                                 now=auth.now)  # fmt: skip
    uow.commit()
    return LinkedOut(linked=added)


@router.get("/{incident_id}/affected", response_model=AffectedList)
def list_affected(
    incident_id: uuid.UUID, auth: Manager, uow: ReadUoW,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AffectedList:  # fmt: skip
    incident = service.get_incident(uow.session, incident_id)
    rows = uow.session.scalars(
        select(AffectedHolder)
        .where(AffectedHolder.incident_id == incident.id)
        .order_by(AffectedHolder.added_at, AffectedHolder.holder_id)
        .limit(limit)
        .offset(offset)
    )
    return AffectedList(
        data=[AffectedOut(
            holder_id=r.holder_id, source=r.source, facts=r.facts, added_at=r.added_at,
            notified_at=r.notified_at, resolution_notified_at=r.resolution_notified_at,
        ) for r in rows],
        counts=affected.counts(uow.session, incident),
    )  # fmt: skip


def _update_out(row: IncidentUpdate) -> UpdateOut:
    return UpdateOut(id=row.id, status=row.status, template=row.template, texts=row.texts,
                     published_by=row.published_by, published_at=row.published_at)  # fmt: skip


@router.post("/{incident_id}/updates", status_code=201, response_model=UpdateOut)
def publish_update(
    incident_id: uuid.UUID, body: UpdateIn, request: Request, auth: Manager, uow: WriteUoW
) -> UpdateOut:
    """Publish a public update from a template (with optional details per language) or with
    texts written by hand; subscribers are emailed. A status ahead of the incident's moves
    it there."""
    incident = service.get_incident(uow.session, incident_id, for_update=True)
    texts: dict[str, dict[str, str]] | None = (
        {str(k): {"title": v.title, "body": v.body} for k, v in body.texts.items()}
        if body.texts
        else None
    )
    row = updates.publish(
        uow.session, auth.vault, incident, now=auth.now, actor_id=auth.user.id,
        template=body.template, details={str(k): v for k, v in body.details.items()},
        texts=texts, status=body.status, site_url=site_url(request),
    )  # fmt: skip
    out = _update_out(row)
    uow.commit()
    return out


@router.get("/{incident_id}/updates", response_model=UpdateList)
def list_updates(incident_id: uuid.UUID, auth: Manager, uow: ReadUoW) -> UpdateList:
    incident = service.get_incident(uow.session, incident_id)
    rows = updates.updates_of(uow.session, [incident.id])[incident.id]
    return UpdateList(data=[_update_out(r) for r in rows])


@router.post("/{incident_id}/notify", response_model=NotifyOut)
def notify_affected(
    incident_id: uuid.UUID, body: NotifyIn, auth: Manager, uow: WriteUoW
) -> NotifyOut:
    """Tell the affected holders (in-app, email/SMS) and reply on linked tickets; stage
    `resolved` once the incident is resolved. Only those not yet told; `remaining` says
    how many holders are left for another call."""
    incident = service.get_incident(uow.session, incident_id, for_update=True)
    result = notify.notify(uow.session, auth.vault, incident, stage=body.stage,
                           actor_id=auth.user.id, now=auth.now, limit=body.limit)  # fmt: skip
    uow.commit()
    return NotifyOut(
        stage=result.stage, holders=result.holders, tickets=result.tickets,
        skipped_tickets=result.skipped_tickets, remaining=result.remaining,
    )  # fmt: skip


@router.get("/{incident_id}/report", response_model=None,
            responses={200: {"content": {"text/markdown": {}, "text/html": {}}}})  # fmt: skip
def get_report(
    incident_id: uuid.UUID, auth: Manager, uow: ReadUoW,
    format: Annotated[str, Query(pattern="^(md|html)$")] = "md",
) -> PlainTextResponse | HTMLResponse:  # fmt: skip
    """The post-incident report: timeline, root cause, holders affected, complaints, money
    returned, and the times to detect, announce, notify and compensate."""
    incident = service.get_incident(uow.session, incident_id)
    if format == "html":
        return HTMLResponse(report.html(uow.session, incident))
    return PlainTextResponse(report.markdown(uow.session, incident),
                             media_type="text/markdown; charset=utf-8")  # fmt: skip
