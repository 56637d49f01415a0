"""SLA hooks on tickets: policies chosen, clocks started, met, paused, resumed; warnings,
breaches and escalation by ``tick``. Tickets are inserted directly, so these tests see only
what the hooks do (the ticket service's own tests drive them end to end)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.care import sla
from anxin.care.sla_policies import ALWAYS_CALENDAR, BUSINESS_CALENDAR, ensure_defaults
from anxin.kit.db import Database
from anxin.kit.ids import new_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Notification, User
from anxin.models.care import BusinessCalendar, SlaClock, SlaPolicy, Ticket, TicketEvent

# Monday 2030-01-07, 10:00 in Beijing (02:00 UTC): a plain working day.
MONDAY_10 = datetime(2030, 1, 7, 2, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    with UnitOfWork(database) as uow:
        yield uow.session


def make_ticket(
    session: Session, now: datetime = MONDAY_10, *, category: str = "other",
    priority: str = "normal", status: str = "new",
) -> Ticket:  # fmt: skip
    ticket_id = new_id()
    ticket = Ticket(
        id=ticket_id, reference=f"AX-{ticket_id.hex[-6:].upper()}", holder_id=None,
        owner_id=ticket_id, channel="app", contact_kind=None, contact_enc=None,
        contact_lookup=None, subject_enc=b"sealed", status=status, priority=priority,
        category=category, category_source="agent", category_confidence=None, language="en",
        assignee_id=None, escalated=False, merged_into_id=None, external_ref=None,
        sla_policy_id=None, reopen_count=0, created_at=now, updated_at=now,
        first_response_at=None, last_customer_at=now, last_agent_at=None, resolved_at=None,
        closed_at=None,
    )  # fmt: skip
    session.add(ticket)
    session.flush()
    sla.start_clocks(session, ticket, now)
    return ticket


def make_staff(session: Session, role: str, now: datetime = MONDAY_10) -> User:
    user_id = new_id()
    user = User(
        id=user_id, kind="staff", role=role, status="active", pseudonym=f"s-{user_id.hex[-8:]}",
        display_name_enc=None, locale="en", tier="basic", password_hash="unused",
        password_changed_at=now, failed_passwords=0, failed_factors=0, locked_until=None,
        daily_limit=None, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(user)
    session.flush()
    return user


def clock(session: Session, ticket: Ticket, kind: str) -> SlaClock:
    found = session.get(SlaClock, (ticket.id, kind))
    assert found is not None
    return found


def set_status(session: Session, ticket: Ticket, new: str, now: datetime) -> None:
    old, ticket.status = ticket.status, new
    sla.on_status(session, ticket, old, new, now)


def events(session: Session, ticket: Ticket, kind: str) -> list[TicketEvent]:
    return list(
        session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == kind)
        )
    )


def test_defaults_are_created_once(session: Session) -> None:
    ensure_defaults(session, MONDAY_10)
    ensure_defaults(session, MONDAY_10)
    names = set(session.scalars(select(BusinessCalendar.name)))
    assert names == {BUSINESS_CALENDAR, ALWAYS_CALENDAR}
    assert len(session.scalars(select(SlaPolicy)).all()) == 5


def test_first_response_due_one_business_day_later(session: Session) -> None:
    ticket = make_ticket(session)
    first = clock(session, ticket, "first_response")
    assert first.status == "running"
    assert first.target_seconds == 9 * 3600
    assert first.due_at == MONDAY_10 + timedelta(days=1)  # Tuesday 10:00 Beijing
    resolution = clock(session, ticket, "resolution")
    assert resolution.due_at == MONDAY_10 + timedelta(days=15)  # calendar days
    assert sla.expected_answer_at(session, ticket) == first.due_at


def test_friday_afternoon_ticket_is_due_monday(session: Session) -> None:
    friday_17 = MONDAY_10 + timedelta(days=4, hours=7)
    ticket = make_ticket(session, friday_17)
    assert clock(session, ticket, "first_response").due_at == friday_17 + timedelta(days=3)


def test_most_specific_policy_wins(session: Session) -> None:
    urgent_debit = make_ticket(session, category="unauthorized_debit", priority="urgent")
    debit = make_ticket(session, category="unauthorized_debit", priority="low")
    urgent = make_ticket(session, category="fees", priority="urgent")
    assert clock(session, urgent_debit, "first_response").target_seconds == 30 * 60
    assert clock(session, debit, "first_response").target_seconds == 2 * 3600
    assert clock(session, urgent, "first_response").target_seconds == 2 * 3600
    assert clock(session, urgent, "resolution").target_seconds == 5 * 86400


def test_reply_meets_first_response_and_customer_starts_next(session: Session) -> None:
    ticket = make_ticket(session)
    sla.on_agent_reply(session, ticket, MONDAY_10 + HOUR)
    set_status(session, ticket, "open", MONDAY_10 + HOUR)
    first = clock(session, ticket, "first_response")
    assert (first.status, first.used_seconds, first.breached_at) == ("met", 3600, None)
    sla.on_customer_message(session, ticket, MONDAY_10 + 2 * HOUR)
    following = clock(session, ticket, "next_response")
    assert following.status == "running"
    assert sla.expected_answer_at(session, ticket) == following.due_at
    # A second customer message keeps the clock the first one started.
    sla.on_customer_message(session, ticket, MONDAY_10 + 3 * HOUR)
    assert clock(session, ticket, "next_response").running_since == MONDAY_10 + 2 * HOUR
    sla.on_agent_reply(session, ticket, MONDAY_10 + 4 * HOUR)
    assert clock(session, ticket, "next_response").status == "met"
    assert sla.expected_answer_at(session, ticket) == clock(session, ticket, "resolution").due_at


def test_waiting_for_the_customer_is_not_counted(session: Session) -> None:
    ticket = make_ticket(session)
    sla.on_agent_reply(session, ticket, MONDAY_10 + HOUR)
    set_status(session, ticket, "pending_customer", MONDAY_10 + HOUR)
    resolution = clock(session, ticket, "resolution")
    assert (resolution.status, resolution.used_seconds, resolution.due_at) == ("paused", 3600, None)
    assert sla.expected_answer_at(session, ticket) is None
    later = MONDAY_10 + timedelta(days=3)
    set_status(session, ticket, "open", later)
    assert resolution.status == "running"
    assert resolution.due_at == later + timedelta(days=15) - HOUR


def test_reopen_resumes_resolution(session: Session) -> None:
    ticket = make_ticket(session)
    set_status(session, ticket, "resolved", MONDAY_10 + 2 * HOUR)
    resolution = clock(session, ticket, "resolution")
    assert resolution.status == "met"
    set_status(session, ticket, "open", MONDAY_10 + 5 * HOUR)
    assert resolution.status == "running"
    assert resolution.used_seconds == 7200


def test_tick_warns_breaches_and_escalates_to_least_loaded_senior(session: Session) -> None:
    busy, idle = make_staff(session, "senior_agent"), make_staff(session, "senior_agent")
    agent = make_staff(session, "agent")
    for _ in range(2):
        make_ticket(session).assignee_id = busy.id
    ticket = make_ticket(session)
    ticket.assignee_id = agent.id
    session.flush()
    # 75% of 9 business hours is 6h45m.
    assert sla.tick(session, MONDAY_10 + timedelta(hours=6, minutes=44)).warned == 0
    report = sla.tick(session, MONDAY_10 + timedelta(hours=6, minutes=45))
    assert report.warned == 3
    assert clock(session, ticket, "first_response").warned_at is not None
    assert sla.tick(session, MONDAY_10 + timedelta(hours=7)).warned == 0  # once
    report = sla.tick(session, MONDAY_10 + timedelta(days=1))
    assert report.breached == 3 and report.escalated == 3
    assert ticket.escalated and ticket.assignee_id in {busy.id, idle.id}
    assert clock(session, ticket, "first_response").breached_at == MONDAY_10 + timedelta(days=1)
    assert len(events(session, ticket, "sla_breached")) == 1
    assert len(events(session, ticket, "sla_escalated")) == 1
    assert sla.tick(session, MONDAY_10 + timedelta(days=2)).breached == 0
    notices = session.scalars(select(Notification).where(Notification.kind == "care.sla_breached"))
    assert {n.user_id for n in notices} <= {busy.id, idle.id}


def test_escalation_picks_the_idle_senior(session: Session) -> None:
    busy, idle = make_staff(session, "senior_agent"), make_staff(session, "senior_agent")
    make_ticket(session).assignee_id = busy.id
    ticket = make_ticket(session)
    session.flush()
    assert sla.escalate(session, ticket, "first_response", MONDAY_10)
    assert ticket.assignee_id == idle.id


def test_breach_noticed_when_met_late_without_tick(session: Session) -> None:
    ticket = make_ticket(session)
    sla.on_agent_reply(session, ticket, MONDAY_10 + timedelta(days=2))
    first = clock(session, ticket, "first_response")
    assert first.breached_at == MONDAY_10 + timedelta(days=1)
    assert events(session, ticket, "sla_breached")[0].data["noticed"] == "late"
    assert not ticket.escalated  # answered already: nothing left to escalate


def test_no_senior_agent_marks_escalated_without_assignee(session: Session) -> None:
    ticket = make_ticket(session)
    assert not sla.escalate(session, ticket, "resolution", MONDAY_10)
    assert ticket.escalated and ticket.assignee_id is None


def test_unknown_ticket_policy_is_ignored(session: Session) -> None:
    ticket = make_ticket(session)
    ticket.sla_policy_id = None
    sla.on_agent_reply(session, ticket, MONDAY_10)
    assert clock(session, ticket, "first_response").status == "running"
    assert uuid.UUID(int=0) != ticket.id


def test_one_tick_spreads_escalations_over_the_seniors(session: Session) -> None:
    first, second = make_staff(session, "senior_agent"), make_staff(session, "senior_agent")
    away = make_staff(session, "senior_agent")
    away.status = "suspended"
    tickets = [make_ticket(session) for _ in range(4)]
    report = sla.tick(session, MONDAY_10 + timedelta(days=2))
    assert report.escalated == 4  # once per ticket, though two clocks may have run out
    owners = [t.assignee_id for t in tickets]
    assert owners.count(first.id) == 2 and owners.count(second.id) == 2


def test_a_senior_agent_keeps_a_breached_ticket(session: Session) -> None:
    idle, owner = make_staff(session, "senior_agent"), make_staff(session, "senior_agent")
    ticket = make_ticket(session)
    ticket.assignee_id = owner.id
    make_ticket(session).assignee_id = owner.id
    session.flush()
    sla.tick(session, MONDAY_10 + timedelta(days=2))
    assert ticket.assignee_id == owner.id and ticket.escalated
    assert idle.id != owner.id
