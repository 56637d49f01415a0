"""Incidents by hand and from detected groups: lifecycle, timeline, linked tickets."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.incidents import service
from anxin.incidents.errors import InvalidIncident, InvalidIncidentTransition
from anxin.kit.db import Database
from anxin.kit.ids import new_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.care import Ticket, TicketLink
from anxin.models.incidents import AffectedHolder, CollectiveGroup, CollectiveMember
from anxin.privacy.vault import Vault
from tests.incidents.conftest import NOW, make_user, new_ticket


def _group(
    session: Session, key: str, tickets: list[Ticket], at: datetime = NOW
) -> CollectiveGroup:
    group = CollectiveGroup(
        id=new_id(), key=key, category="unauthorized_debit", title=f"burst {key}",
        detected_at=at, first_complaint_at=tickets[0].created_at,
        distinct_holders=len(tickets), evidence={"test": True}, incident_id=None,
    )  # fmt: skip
    session.add(group)
    session.flush()
    for ticket in tickets:
        session.add(CollectiveMember(group_id=group.id, ticket_id=ticket.id, added_at=at))
    session.flush()
    return group


def test_lifecycle_moves_forward_with_timestamps_and_events(uow: UnitOfWork, vault: Vault) -> None:
    s = uow.session
    staff = make_user(s, vault, NOW, role="risk_officer")
    incident = service.open_incident(s, title="  Top-ups  not credited ", now=NOW,
                                     opened_by=staff.id, severity="critical")  # fmt: skip
    assert incident.reference == f"INC-{NOW.year}-0001"
    assert incident.title == "Top-ups not credited"
    assert incident.status == "investigating"
    second = service.open_incident(s, title="Another", now=NOW, opened_by=staff.id)
    assert second.reference == f"INC-{NOW.year}-0002"

    later = NOW + timedelta(minutes=20)
    service.change_status(s, incident, "monitoring", actor_id=staff.id, now=later, note="fixed")
    assert incident.monitoring_at == later and incident.identified_at is None
    with pytest.raises(InvalidIncidentTransition):
        service.change_status(s, incident, "identified", actor_id=staff.id, now=later)
    with pytest.raises(InvalidIncidentTransition):
        service.change_status(s, incident, "reviewed", actor_id=staff.id, now=later)
    service.change_status(s, incident, "resolved", actor_id=staff.id, now=later)
    service.change_status(s, incident, "reviewed", actor_id=staff.id, now=later)
    assert incident.reviewed_at == later
    with pytest.raises(InvalidIncident):
        service.change_status(s, incident, "gone", actor_id=staff.id, now=later)

    service.update_incident(s, incident, actor_id=staff.id, now=later, severity="minor",
                            root_cause="The bank's callback was rejected")  # fmt: skip
    service.add_note(s, incident, "Bank confirmed the fix", actor_id=staff.id, now=later)
    kinds = [e.kind for e in service.timeline(s, incident)]
    assert kinds == ["opened", "status", "status", "status", "changed", "note"]
    with pytest.raises(InvalidIncident):
        service.open_incident(s, title=" ", now=NOW)
    with pytest.raises(InvalidIncident):
        service.open_incident(s, title="x", now=NOW, severity="apocalyptic")


def test_linking_a_ticket_makes_its_holder_affected_once(uow: UnitOfWork, vault: Vault) -> None:
    s = uow.session
    holder = make_user(s, vault, NOW)
    ticket = new_ticket(s, vault, holder=holder)
    incident = service.open_incident(s, title="Double charges", now=NOW)
    assert service.link_ticket(s, incident, ticket, now=NOW) is True
    assert service.link_ticket(s, incident, ticket, now=NOW) is False
    link = s.get(TicketLink, (ticket.id, "incident", str(incident.id)))
    assert link is not None
    affected = s.get(AffectedHolder, (incident.id, holder.id))
    assert affected is not None and affected.source == "complaint"
    assert [t.id for t in service.linked_tickets(s, incident)] == [ticket.id]
    linked = [e for e in service.timeline(s, incident) if e.kind == "ticket_linked"]
    assert len(linked) == 1 and linked[0].data["reference"] == ticket.reference


def test_a_group_for_an_open_cause_joins_its_incident(uow: UnitOfWork, vault: Vault) -> None:
    s = uow.session
    holders = [make_user(s, vault, NOW) for _ in range(4)]
    tickets = [new_ticket(s, vault, holder=h) for h in holders]
    first = service.open_from_group(s, _group(s, "merchant=alpha", tickets[:2]), NOW)
    assert first.opened_by is None and first.cause_key == "merchant=alpha"
    assert first.started_at == tickets[0].created_at
    again = service.open_from_group(s, _group(s, "merchant=alpha", tickets[1:]), NOW)
    assert again.id == first.id
    assert len(service.linked_tickets(s, first)) == 4
    detected = [e for e in service.timeline(s, first) if e.kind == "detected"]
    assert [e.data["joined"] for e in detected] == [False, True]
    other = service.open_from_group(s, _group(s, "merchant=beta", tickets[:1]), NOW)
    assert other.id != first.id

    # Once resolved, the same cause is a new incident.
    service.change_status(s, first, "resolved", actor_id=None, now=NOW)
    fresh = service.open_from_group(s, _group(s, "merchant=alpha", tickets[3:]), NOW)
    assert fresh.id != first.id
    groups = s.scalars(select(CollectiveGroup).where(CollectiveGroup.key == "merchant=alpha"))
    assert {g.incident_id for g in groups} == {first.id, fresh.id}


def test_find_by_reference_or_id(uow: UnitOfWork) -> None:
    incident = service.open_incident(uow.session, title="x", now=NOW)
    assert service.find_incident(uow.session, incident.reference.lower()).id == incident.id
    assert service.find_incident(uow.session, str(incident.id)).id == incident.id


def test_incidents_opened_at_once_get_different_references(database: Database) -> None:
    barrier = threading.Barrier(2)
    references: list[str] = []

    def open_one(title: str) -> None:
        barrier.wait(timeout=30)
        with UnitOfWork(database) as unit:
            incident = service.open_incident(unit.session, title=title, now=NOW)
            time.sleep(0.2)  # hold the row so that the other one meets it
            references.append(incident.reference)
            unit.commit()

    threads = [threading.Thread(target=open_one, args=(f"burst {i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(references) == [f"INC-{NOW.year}-0001", f"INC-{NOW.year}-0002"]
