"""Incidents: opening (by hand or from a detected burst), the lifecycle, the timeline and
linked complaint tickets.

Every change writes a timeline event (``record_event``) in the caller's transaction, so
the timeline is exactly what happened: a rolled-back change leaves no event either.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anxin.care.tickets import add_link
from anxin.incidents.errors import IncidentNotFound, InvalidIncident, InvalidIncidentTransition
from anxin.kit.ids import new_id
from anxin.models.care import Ticket, TicketLink
from anxin.models.incidents import (
    INCIDENT_STATUSES,
    SEVERITIES,
    AffectedHolder,
    CollectiveGroup,
    CollectiveMember,
    Incident,
    IncidentEvent,
)

OPEN_STATUSES = ("investigating", "identified", "monitoring")
MAX_TITLE = 200
MAX_NOTE = 4000
# A burst this large is critical from the start; staff can change it either way.
CRITICAL_HOLDERS = 100
MAJOR_HOLDERS = 20
_STAMP = {
    "identified": "identified_at",
    "monitoring": "monitoring_at",
    "resolved": "resolved_at",
    "reviewed": "reviewed_at",
}


def record_event(
    session: Session, incident: Incident, kind: str, data: dict[str, Any],
    actor_id: uuid.UUID | None, now: datetime,
) -> IncidentEvent:  # fmt: skip
    """Append one event to the incident's timeline (``actor_id`` None: the system).

    ``data`` is stored as JSON in plaintext: name holders by id, never by name or contact.
    """
    if not kind or len(kind) > 40:
        raise ValueError("an event kind is 1 to 40 characters")
    event = IncidentEvent(
        id=new_id(), incident_id=incident.id, kind=kind, actor_id=actor_id, data=data, at=now
    )
    session.add(event)
    session.flush()
    return event


def _reference(session: Session, now: datetime) -> str:
    prefix = f"INC-{now.year}-"
    last = session.scalar(
        select(func.max(Incident.reference)).where(Incident.reference.like(f"{prefix}%"))
    )
    number = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{number:04d}"


def _check_title(title: str) -> str:
    title = " ".join(title.split())
    if not title or len(title) > MAX_TITLE:
        raise InvalidIncident(f"a title has 1 to {MAX_TITLE} characters", field="title")
    return title


def _check_severity(severity: str) -> str:
    if severity not in SEVERITIES:
        raise InvalidIncident(f"severity is one of {', '.join(SEVERITIES)}", field="severity")
    return severity


def open_incident(
    session: Session, *, title: str, now: datetime, severity: str = "major",
    category: str | None = None, cause_key: str | None = None, lead_id: uuid.UUID | None = None,
    opened_by: uuid.UUID | None = None, started_at: datetime | None = None,
    detected_at: datetime | None = None,
) -> Incident:  # fmt: skip
    """A new incident in ``investigating`` (``opened_by`` None: the detector opened it)."""
    incident = Incident(
        id=new_id(), reference="", title=_check_title(title),
        cause_key=cause_key, category=category, status="investigating",
        severity=_check_severity(severity), lead_id=lead_id, opened_by=opened_by,
        root_cause=None, started_at=started_at, detected_at=detected_at or now,
        identified_at=None, monitoring_at=None, resolved_at=None, reviewed_at=None,
        first_announced_at=None, first_notified_at=None, compensated_at=None,
    )  # fmt: skip
    # Two transactions opening incidents at once (PostgreSQL) can pick the same number:
    # the second waits for the first, then takes the next one.
    for attempt in range(5):
        incident.reference = _reference(session, now)
        try:
            with session.begin_nested():
                session.add(incident)
                session.flush()
            break
        except IntegrityError:
            if attempt == 4:
                raise
    record_event(
        session, incident, "opened",
        {"by": "detector" if opened_by is None else "staff", "severity": incident.severity,
         "title": incident.title, "cause_key": cause_key},
        opened_by, now,
    )  # fmt: skip
    return incident


def get_incident(session: Session, incident_id: uuid.UUID, *, for_update: bool = False) -> Incident:
    query = select(Incident).where(Incident.id == incident_id)
    if for_update:
        query = query.with_for_update()
    incident = session.scalars(query).one_or_none()
    if incident is None:
        raise IncidentNotFound()
    return incident


def find_incident(session: Session, id_or_reference: str) -> Incident:
    """By id or by reference (``INC-2026-0001``, any case)."""
    text = id_or_reference.strip()
    try:
        return get_incident(session, uuid.UUID(text))
    except ValueError:
        pass
    incident = session.scalars(
        select(Incident).where(Incident.reference == text.upper())
    ).one_or_none()
    if incident is None:
        raise IncidentNotFound(f"no incident {text!r}")
    return incident


def change_status(
    session: Session, incident: Incident, status: str, *, actor_id: uuid.UUID | None,
    now: datetime, note: str | None = None,
) -> Incident:  # fmt: skip
    """Move forward in the lifecycle (steps may be skipped, never gone back); ``reviewed``
    only after ``resolved``. A resolved incident that flares up again is a new incident."""
    if status not in INCIDENT_STATUSES:
        raise InvalidIncident(f"unknown status {status!r}", field="status")
    current = INCIDENT_STATUSES.index(incident.status)
    target = INCIDENT_STATUSES.index(status)
    if target <= current or (status == "reviewed" and incident.status != "resolved"):
        raise InvalidIncidentTransition(f"cannot go from {incident.status} to {status}")
    previous = incident.status
    incident.status = status
    setattr(incident, _STAMP[status], now)
    data: dict[str, Any] = {"from": previous, "to": status}
    if note:
        data["note"] = _check_note(note)
    record_event(session, incident, "status", data, actor_id, now)
    return incident


def update_incident(
    session: Session, incident: Incident, *, actor_id: uuid.UUID | None, now: datetime,
    title: str | None = None, severity: str | None = None, lead_id: uuid.UUID | None = None,
    root_cause: str | None = None, started_at: datetime | None = None,
    category: str | None = None,
) -> Incident:  # fmt: skip
    """Change what is known; the timeline records which fields changed (and the new
    severity and lead)."""
    changed: dict[str, Any] = {}
    if title is not None and _check_title(title) != incident.title:
        incident.title = changed["title"] = _check_title(title)
    if severity is not None and _check_severity(severity) != incident.severity:
        incident.severity = changed["severity"] = severity
    if lead_id is not None and lead_id != incident.lead_id:
        incident.lead_id = lead_id
        changed["lead_id"] = str(lead_id)
    if root_cause is not None:
        if len(root_cause) > MAX_NOTE:
            raise InvalidIncident(f"a root cause has at most {MAX_NOTE} characters")
        incident.root_cause = root_cause.strip() or None
        changed["root_cause"] = True
    if started_at is not None and started_at != incident.started_at:
        incident.started_at = started_at
        changed["started_at"] = started_at.isoformat()
    if category is not None and category != incident.category:
        incident.category = changed["category"] = category
    if changed:
        record_event(session, incident, "changed", changed, actor_id, now)
    return incident


def _check_note(text: str) -> str:
    text = text.strip()
    if not text or len(text) > MAX_NOTE:
        raise InvalidIncident(f"a note has 1 to {MAX_NOTE} characters", field="text")
    return text


def add_note(
    session: Session, incident: Incident, text: str, *, actor_id: uuid.UUID, now: datetime
) -> IncidentEvent:
    """A staff entry on the timeline (operational facts; no holder's personal data)."""
    return record_event(session, incident, "note", {"text": _check_note(text)}, actor_id, now)


def _manual_group(session: Session, incident: Incident, now: datetime) -> CollectiveGroup:
    """The group that holds tickets staff link by hand (one per incident)."""
    key = f"incident:{incident.reference}"
    group = session.scalars(select(CollectiveGroup).where(CollectiveGroup.key == key)).first()
    if group is None:
        group = CollectiveGroup(
            id=new_id(), key=key, category=incident.category or "other",
            title=incident.title[:200], detected_at=now, first_complaint_at=now,
            distinct_holders=0, evidence={"manual": True}, incident_id=incident.id,
        )  # fmt: skip
        session.add(group)
        session.flush()
    return group


def link_ticket(
    session: Session, incident: Incident, ticket: Ticket, *, now: datetime,
    actor_id: uuid.UUID | None = None, group: CollectiveGroup | None = None,
) -> bool:  # fmt: skip
    """Link a complaint to the incident (its holder becomes affected, source complaint);
    False if it already was."""
    if group is None:
        group = _manual_group(session, incident, now)
    if session.get(CollectiveMember, (group.id, ticket.id)) is None:
        session.add(CollectiveMember(group_id=group.id, ticket_id=ticket.id, added_at=now))
    if not add_link(session, ticket, "incident", str(incident.id), now=now, actor_id=actor_id):
        session.flush()
        return False
    if ticket.holder_id is not None and (
        session.get(AffectedHolder, (incident.id, ticket.holder_id)) is None
    ):
        session.add(AffectedHolder(
            incident_id=incident.id, holder_id=ticket.holder_id, source="complaint",
            facts={"tickets": [str(ticket.id)]}, added_at=now, notified_at=None,
            resolution_notified_at=None,
        ))  # fmt: skip
    record_event(
        session, incident, "ticket_linked",
        {"ticket_id": str(ticket.id), "reference": ticket.reference, "category": ticket.category},
        actor_id, now,
    )  # fmt: skip
    return True


def open_for_cause(session: Session, cause_key: str) -> Incident | None:
    """The open incident (not yet resolved) for this cause, if any."""
    return session.scalars(
        select(Incident)
        .where(Incident.cause_key == cause_key, Incident.status.in_(OPEN_STATUSES))
        .order_by(Incident.detected_at)
        .limit(1)
    ).first()


def _severity_for(holders: int) -> str:
    if holders >= CRITICAL_HOLDERS:
        return "critical"
    return "major" if holders >= MAJOR_HOLDERS else "minor"


def open_from_group(session: Session, group: CollectiveGroup, now: datetime) -> Incident:
    """Open an incident for a detected burst, or join the one already open for the same
    cause; either way the group's tickets are linked and the detection is on the timeline."""
    incident = session.get(Incident, group.incident_id) if group.incident_id else None
    if incident is None:
        incident = open_for_cause(session, group.key)
        joined = incident is not None
        if incident is None:
            incident = open_incident(
                session, title=group.title, now=now, category=group.category,
                cause_key=group.key, severity=_severity_for(group.distinct_holders),
                started_at=group.first_complaint_at, detected_at=group.detected_at,
            )  # fmt: skip
        group.incident_id = incident.id
        record_event(
            session, incident, "detected",
            {"group_id": str(group.id), "key": group.key, "title": group.title,
             "distinct_holders": group.distinct_holders, "joined": joined,
             "evidence": group.evidence},
            None, now,
        )  # fmt: skip
    link_group_tickets(session, incident, group, now)
    return incident


def link_group_tickets(
    session: Session, incident: Incident, group: CollectiveGroup, now: datetime
) -> int:
    """Link every member of ``group`` not yet linked to the incident; how many were new."""
    linked = set(
        session.scalars(
            select(TicketLink.ticket_id).where(
                TicketLink.kind == "incident", TicketLink.ref == str(incident.id)
            )
        )
    )
    members = session.scalars(
        select(Ticket)
        .join(CollectiveMember, CollectiveMember.ticket_id == Ticket.id)
        .where(CollectiveMember.group_id == group.id)
        .order_by(Ticket.created_at, Ticket.id)
    )
    count = 0
    for ticket in members:
        if ticket.id not in linked and link_ticket(session, incident, ticket, now=now, group=group):
            count += 1
    return count


def linked_tickets(session: Session, incident: Incident) -> list[Ticket]:
    return list(
        session.scalars(
            select(Ticket)
            .join(TicketLink, TicketLink.ticket_id == Ticket.id)
            .where(TicketLink.kind == "incident", TicketLink.ref == str(incident.id))
            .order_by(Ticket.created_at, Ticket.id)
        )
    )


def timeline(session: Session, incident: Incident) -> list[IncidentEvent]:
    return list(
        session.scalars(
            select(IncidentEvent)
            .where(IncidentEvent.incident_id == incident.id)
            .order_by(IncidentEvent.at, IncidentEvent.id)
        )
    )


def list_incidents(
    session: Session, *, status: str | None = None, limit: int = 50
) -> list[Incident]:
    query = select(Incident)
    if status == "open":
        query = query.where(Incident.status.in_(OPEN_STATUSES))
    elif status is not None:
        query = query.where(Incident.status == status)
    return list(session.scalars(query.order_by(Incident.detected_at.desc()).limit(limit)))
