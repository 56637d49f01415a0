"""States, auto-close, assignment, priority, category correction, queues (service level)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from anxin.care import queues, sla_worker, states, triage, views
from anxin.care.errors import InvalidTicket, InvalidTransition
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.care import SlaClock, Ticket, TicketEvent
from anxin.privacy.keys import KeyService, load_keyring
from anxin.privacy.vault import Vault
from anxin.settings import Settings
from tests.care.conftest import NOW, make_user, new_ticket


def test_transitions(uow: UnitOfWork, vault: Vault) -> None:
    ticket = new_ticket(uow.session, vault)
    for bad in ("weird", "new"):
        states.change_status(uow.session, vault, ticket, "open", now=NOW)
        with pytest.raises(InvalidTransition):
            states.change_status(uow.session, vault, ticket, bad, now=NOW)
    states.change_status(uow.session, vault, ticket, "pending_customer", now=NOW)
    states.change_status(uow.session, vault, ticket, "resolved", now=NOW)
    states.change_status(uow.session, vault, ticket, "closed", now=NOW)
    with pytest.raises(InvalidTransition):
        states.change_status(uow.session, vault, ticket, "open", now=NOW)
    moves = [
        (e.data["old"], e.data["new"])
        for e in uow.session.scalars(
            select(TicketEvent).where(TicketEvent.kind == "status").order_by(TicketEvent.id)
        )
    ]
    assert moves == [("new", "open"), ("open", "pending_customer"),
                     ("pending_customer", "resolved"), ("resolved", "closed")]  # fmt: skip


def test_close_expired(uow: UnitOfWork, vault: Vault) -> None:
    old, fresh = new_ticket(uow.session, vault), new_ticket(uow.session, vault)
    states.change_status(uow.session, vault, old, "resolved", now=NOW,
                         reopen_window=timedelta(days=1))  # fmt: skip
    states.change_status(uow.session, vault, fresh, "resolved", now=NOW,
                         reopen_window=timedelta(days=3))  # fmt: skip
    assert states.close_expired(uow.session, vault, NOW + timedelta(days=2)) == 1
    assert (old.status, fresh.status) == ("closed", "resolved")


def test_assign_priority_category(uow: UnitOfWork, vault: Vault) -> None:
    agent = make_user(uow.session, vault, NOW, role="agent")
    compliance = make_user(uow.session, vault, NOW, role="compliance_officer")
    holder = make_user(uow.session, vault, NOW)
    ticket = new_ticket(uow.session, vault, holder=holder, category=None,
                        body="my points expired too early")  # fmt: skip
    for wrong in (compliance, holder):
        with pytest.raises(InvalidTicket):
            triage.assign(uow.session, ticket, wrong.id, actor=agent, now=NOW)
    triage.assign(uow.session, ticket, agent.id, actor=agent, now=NOW)
    assert ticket.assignee_id == agent.id
    with pytest.raises(InvalidTicket):
        triage.set_priority(uow.session, ticket, "asap", actor=agent, now=NOW)
    triage.set_priority(uow.session, ticket, "urgent", actor=agent, now=NOW)
    before = ticket.category
    triage.set_category(uow.session, ticket, "fees", actor=agent, now=NOW)
    assert (ticket.category, ticket.category_source) == ("fees", "agent")
    [event] = uow.session.scalars(select(TicketEvent).where(TicketEvent.kind == "category"))
    assert event.data["old"] == before and event.data["old_source"] == "auto"
    assert event.actor_id == agent.id


def test_queue_sorts_by_sla_due_time(uow: UnitOfWork, vault: Vault) -> None:
    normal = new_ticket(uow.session, vault, category="fees", now=NOW)
    urgent = new_ticket(uow.session, vault, category="fees", priority="urgent",
                        now=NOW + timedelta(minutes=5))  # fmt: skip
    waiting = new_ticket(uow.session, vault, category="fees", now=NOW - timedelta(days=1))
    states.change_status(uow.session, vault, waiting, "pending_customer", now=NOW)
    other = new_ticket(uow.session, vault, category="points", language="zh", now=NOW)
    items = queues.queue(uow.session, category="fees")
    ids = [i.ticket.id for i in items]
    assert set(ids) == {normal.id, urgent.id, waiting.id}
    assert uow.session.scalars(select(SlaClock)).first() is not None
    # The default policies give urgent tickets shorter targets; waiting ones come last.
    assert ids == [urgent.id, normal.id, waiting.id]
    assert items[-1].due_at is None
    counts = {(c.category, c.language): c.tickets for c in queues.counts(uow.session)}
    assert counts[("fees", "en")] == 3 and counts[("points", "zh")] == 1
    assert [i.ticket.id for i in queues.queue(uow.session, language="zh")] == [other.id]


def test_an_erased_holder_reads_as_erased(uow: UnitOfWork, vault: Vault) -> None:
    agent = make_user(uow.session, vault, NOW, role="agent")
    holder = make_user(uow.session, vault, NOW)
    ticket = new_ticket(uow.session, vault, holder=holder)
    vault.shred(uow.session, holder.id, NOW)
    [item] = queues.queue(uow.session)
    assert views.queue_item(uow.session, vault, item.ticket, item.due_at).subject == "[erased]"
    seen = views.staff_ticket(uow.session, vault, ticket, staff=agent, now=NOW)
    assert [m.body for m in seen.messages] == ["[erased]"]


def test_the_sla_worker_pass_closes_expired_tickets(
    database: Database, settings: Settings, vault: Vault
) -> None:
    with UnitOfWork(database) as unit:
        ticket = new_ticket(unit.session, vault)
        states.change_status(unit.session, vault, ticket, "resolved", now=NOW,
                             reopen_window=timedelta(days=1))  # fmt: skip
        ticket_id = ticket.id
        unit.commit()
    keys = KeyService(load_keyring(settings.resolved_key_file, None, None) or pytest.fail())
    assert sla_worker.close_resolved_once(database, keys, NOW + timedelta(hours=23)) == 0
    assert sla_worker.close_resolved_once(database, keys, NOW + timedelta(days=2)) == 1
    with UnitOfWork(database) as unit:
        assert unit.session.get(Ticket, ticket_id).status == "closed"  # type: ignore[union-attr]
