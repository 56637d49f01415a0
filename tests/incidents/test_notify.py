"""Notices to the affected: once per holder and stage, ticket replies once per stage,
limits and what remains, closed tickets skipped, resolution only once resolved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from anxin.care import states
from anxin.incidents import affected, notify, service
from anxin.incidents.errors import InvalidIncidentTransition
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Notification, OutboxMessage
from anxin.models.care import TicketMessage
from anxin.models.incidents import AffectedHolder
from anxin.privacy.vault import Vault
from anxin.wallet.notify import set_preferences
from tests.incidents.conftest import NOW, make_user, new_ticket


def test_each_holder_and_ticket_is_told_once_per_stage(uow: UnitOfWork, vault: Vault) -> None:
    s = uow.session
    staff = make_user(s, vault, NOW, role="senior_agent")
    holders = [make_user(s, vault, NOW) for _ in range(5)]
    holders[1].locale = "en"
    set_preferences(s, holders[2].id, email=False, sms=False, now=NOW)
    incident = service.open_incident(s, title="Top-ups not credited", now=NOW)
    tickets = [new_ticket(s, vault, holder=h) for h in holders[:2]]
    outsider = new_ticket(s, vault)  # by email, no wallet: a ticket reply only
    for ticket in (*tickets, outsider):
        service.link_ticket(s, incident, ticket, now=NOW)
    affected.add_holders(s, incident, [h.id for h in holders[2:]], actor_id=staff.id, now=NOW)
    before = len(s.scalars(select(TicketMessage)).all())

    later = NOW + timedelta(minutes=30)
    first = notify.notify(s, vault, incident, actor_id=staff.id, now=later, limit=3)
    assert (first.holders, first.remaining, first.tickets) == (3, 2, 3)
    rest = notify.notify(s, vault, incident, actor_id=staff.id, now=later)
    assert (rest.holders, rest.remaining, rest.tickets) == (2, 0, 0)
    assert notify.notify(s, vault, incident, actor_id=staff.id, now=later).holders == 0
    assert incident.first_notified_at == later

    inbox = s.scalars(select(Notification).where(Notification.kind == "incident.affected")).all()
    assert len(inbox) == 5
    english = next(n for n in inbox if n.user_id == holders[1].id)
    assert english.title == f"Service problem notice ({incident.reference})"
    assert all(incident.reference in n.body for n in inbox)
    # Replies: one public reply per linked ticket, from the staff member who sent them.
    replies = s.scalars(select(TicketMessage)).all()[before:]
    assert len(replies) == 3 and {m.author_kind for m in replies} == {"agent"}
    assert all(r.visibility == "public" for r in replies)
    rows = s.scalars(select(AffectedHolder)).all()
    assert all(r.notified_at == later for r in rows)

    with pytest.raises(InvalidIncidentTransition):
        notify.notify(s, vault, incident, stage="resolved", actor_id=staff.id, now=later)
    service.change_status(s, incident, "resolved", actor_id=staff.id, now=later)
    states.change_status(s, vault, tickets[0], "closed", now=later, reason="test", tell=False)
    done = notify.notify(s, vault, incident, stage="resolved", actor_id=None, now=later)
    assert (done.holders, done.tickets, done.skipped_tickets) == (5, 2, 1)
    again = notify.notify(s, vault, incident, stage="resolved", actor_id=None, now=later)
    assert again.holders == 0
    resolved = s.scalars(select(Notification).where(Notification.kind == "incident.resolved")).all()
    assert len(resolved) == 5
    kinds = [e.data["stage"] for e in service.timeline(s, incident) if e.kind == "notified"]
    assert kinds == ["affected", "affected", "resolved"]
    assert s.scalars(select(OutboxMessage)).all()  # email/SMS copies queued
