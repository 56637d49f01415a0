"""SLA clocks of a ticket, moved by what happens to it (the hooks ``tickets.py`` and
``states.py`` call) and by ``tick`` (warnings, breaches, escalation; a worker and
``anxin care sla-tick``).

Three clocks per ticket, each counting business seconds on its policy's calendar:

- ``first_response`` starts when the ticket opens and is met by the first public agent reply;
- ``next_response`` starts on a customer message after that first reply (unless already
  running: the oldest unanswered message counts) and is met by the next agent reply;
- ``resolution`` starts when the ticket opens and is met on resolution; a reopened ticket
  resumes it where it stopped (the complaint was not resolved after all).

Every running clock pauses while the ticket waits for the customer (``pending_customer``)
and resumes when it leaves that state. A clock's ``due_at`` is recomputed on each resume;
``breached_at`` is the instant the target ran out, recorded by ``tick`` or, if the clock
stops first, by the hook that stops it, so reports never depend on how often ``tick`` ran.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.care.calendar import Calendar
from anxin.care.sla_escalation import SeniorPicker, escalate, notify_staff, record_event
from anxin.care.sla_policies import CalendarCache, ensure_defaults, select_policy
from anxin.models.care import SlaClock, SlaPolicy, Ticket

__all__ = [
    "TickReport", "escalate", "expected_answer_at", "on_agent_reply", "on_customer_message",
    "on_status", "reapply_policy", "start_clocks", "tick",
]  # fmt: skip
RESPONSE_CLOCKS = ("first_response", "next_response")


@dataclass
class TickReport:
    warned: int = 0
    breached: int = 0
    escalated: int = 0  # tickets
    tickets: list[str] = field(default_factory=list)  # references escalated


# -- the arithmetic of one clock ------------------------------------------------------------


def target_seconds(policy: SlaPolicy, kind: str) -> int:
    minutes = {
        "first_response": policy.first_response_minutes,
        "next_response": policy.next_response_minutes,
        "resolution": policy.resolution_minutes,
    }[kind]
    return minutes * 60


def calendar_id_for(policy: SlaPolicy, kind: str) -> uuid.UUID:
    if kind == "resolution" and policy.resolution_calendar_id is not None:
        return policy.resolution_calendar_id
    return policy.calendar_id


def used_seconds(clock: SlaClock, calendar: Calendar, now: datetime) -> int:
    """Business seconds used so far, including the running stretch up to ``now``."""
    if clock.status != "running" or clock.running_since is None:
        return clock.used_seconds
    return clock.used_seconds + max(0, calendar.business_seconds_between(clock.running_since, now))


def run_clock(clock: SlaClock, calendar: Calendar, now: datetime) -> None:
    clock.status, clock.running_since, clock.met_at = "running", now, None
    clock.due_at = calendar.add_business_seconds(
        now, max(0, clock.target_seconds - clock.used_seconds)
    )


class _Context:
    """What the hooks of one ticket need: its policy and the calendars of its clocks."""

    def __init__(self, session: Session, ticket: Ticket, calendars: CalendarCache | None = None):
        self.session, self.ticket = session, ticket
        self.calendars = calendars or CalendarCache(session)
        self.policy = session.get(SlaPolicy, ticket.sla_policy_id) if ticket.sla_policy_id else None

    def calendar(self, kind: str) -> Calendar:
        assert self.policy is not None
        return self.calendars.get(calendar_id_for(self.policy, kind))

    def clock(self, kind: str) -> SlaClock | None:
        return self.session.get(SlaClock, (self.ticket.id, kind))

    def clocks(self) -> list[SlaClock]:
        return list(
            self.session.scalars(select(SlaClock).where(SlaClock.ticket_id == self.ticket.id))
        )

    def start(self, kind: str, now: datetime) -> SlaClock:
        """Start ``kind`` afresh (a new row, or a met next_response reused)."""
        assert self.policy is not None
        calendar = self.calendar(kind)  # before adding a half-made row (autoflush)
        clock = self.clock(kind)
        if clock is None:
            clock = SlaClock(ticket_id=self.ticket.id, kind=kind)
        clock.target_seconds = target_seconds(self.policy, kind)
        clock.used_seconds = 0
        clock.warned_at = clock.breached_at = None
        run_clock(clock, calendar, now)
        self.session.add(clock)
        return clock

    def stop(self, clock: SlaClock, now: datetime, *, met: bool) -> None:
        """Pause (``met`` False) or meet a clock, banking the time it ran."""
        calendar = self.calendar(clock.kind)
        clock.used_seconds = used_seconds(clock, calendar, now)
        clock.running_since = None
        if clock.breached_at is None and clock.used_seconds >= clock.target_seconds:
            # Ran out before tick noticed: the breach happened at due_at, not now.
            clock.breached_at = clock.due_at or now
            noticed = "late" if met else "on_pause"
            record_event(self.session, self.ticket, "sla_breached", now, clock=clock.kind,
                   due_at=_iso(clock.breached_at), noticed=noticed)  # fmt: skip
            if not met:
                escalate(self.session, self.ticket, clock.kind, now)
        if met:
            clock.status, clock.met_at = "met", now
        else:
            clock.status, clock.due_at = "paused", None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


# -- the hooks --------------------------------------------------------------------------------


def start_clocks(session: Session, ticket: Ticket, now: datetime) -> None:
    """Choose the ticket's policy and start first_response and resolution."""
    ensure_defaults(session, now)
    policy = select_policy(session, ticket.category, ticket.priority)
    if policy is None:
        return  # every policy switched off: no targets to keep
    ticket.sla_policy_id = policy.id
    context = _Context(session, ticket)
    for kind in ("first_response", "resolution"):
        if context.clock(kind) is None:
            context.start(kind, now)
    session.flush()


def on_agent_reply(session: Session, ticket: Ticket, now: datetime) -> None:
    """A public agent reply meets first_response (the first time) and next_response."""
    context = _Context(session, ticket)
    if context.policy is None:
        return
    for kind in RESPONSE_CLOCKS:
        clock = context.clock(kind)
        if clock is not None and clock.status != "met":
            context.stop(clock, now, met=True)
    session.flush()


def on_customer_message(session: Session, ticket: Ticket, now: datetime) -> None:
    """After the first response, a customer message starts next_response (the oldest
    unanswered message keeps the clock it started)."""
    context = _Context(session, ticket)
    if context.policy is None or ticket.status in ("resolved", "closed"):
        return
    first = context.clock("first_response")
    if first is None or first.status != "met":
        return  # still waiting for the first response: that clock covers this message
    current = context.clock("next_response")
    if current is not None and current.status != "met":
        return
    clock = context.start("next_response", now)
    if ticket.status == "pending_customer":
        context.stop(clock, now, met=False)
    session.flush()


def on_status(session: Session, ticket: Ticket, old: str, new: str, now: datetime) -> None:
    """Pause on pending_customer, resume on leaving it, meet everything on resolved or
    closed, resume the resolution clock on reopen."""
    context = _Context(session, ticket)
    if context.policy is None or old == new:
        return
    clocks = context.clocks()
    if new in ("resolved", "closed"):
        for clock in clocks:
            if clock.status != "met":
                context.stop(clock, now, met=True)
    elif new == "pending_customer":
        for clock in clocks:
            if clock.status == "running":
                context.stop(clock, now, met=False)
    elif old == "pending_customer":
        for clock in clocks:
            if clock.status == "paused":
                run_clock(clock, context.calendar(clock.kind), now)
    elif old in ("resolved", "closed"):
        for clock in clocks:
            if clock.kind == "resolution" and clock.status == "met":
                run_clock(clock, context.calendar(clock.kind), now)
    session.flush()


def reapply_policy(session: Session, ticket: Ticket, now: datetime) -> None:
    """After an agent changes the category or priority: the policy that now applies sets
    the targets of the clocks (time already used stays used)."""
    policy = select_policy(session, ticket.category, ticket.priority)
    if policy is None or policy.id == ticket.sla_policy_id:
        return
    before = _Context(session, ticket)
    clocks = before.clocks()
    if before.policy is not None:
        for clock in clocks:  # bank the running stretch on the calendar it ran on
            if clock.status == "running":
                clock.used_seconds = used_seconds(clock, before.calendar(clock.kind), now)
                clock.running_since = now
    ticket.sla_policy_id = policy.id
    after = _Context(session, ticket, before.calendars)
    for clock in clocks:
        clock.target_seconds = target_seconds(policy, clock.kind)
        if clock.status == "running":
            run_clock(clock, after.calendar(clock.kind), now)
    record_event(session, ticket, "sla_policy", now, policy_id=str(policy.id), policy=policy.name)
    session.flush()


def expected_answer_at(session: Session, ticket: Ticket) -> datetime | None:
    """What the holder is told: when the next answer is due - the running response clock's
    due time, else the resolution's; None when resolved, closed or waiting for them."""
    if ticket.status not in ("new", "open"):
        return None
    due = {
        clock.kind: clock.due_at
        for clock in session.scalars(
            select(SlaClock).where(SlaClock.ticket_id == ticket.id, SlaClock.status == "running")
        )
    }
    for kind in (*RESPONSE_CLOCKS, "resolution"):
        if due.get(kind) is not None:
            return due[kind]
    return None


# -- warnings, breaches and escalation -------------------------------------------------------


def tick(session: Session, now: datetime, *, limit: int | None = None) -> TickReport:
    """Warn about running clocks past their policy's ``warn_at_percent``, record breaches of
    those past ``due_at`` and escalate their tickets. Rows another tick holds are skipped."""
    report = TickReport()
    calendars = CalendarCache(session)
    picker = SeniorPicker(session)
    rows = session.execute(
        select(SlaClock, Ticket, SlaPolicy)
        .join(Ticket, Ticket.id == SlaClock.ticket_id)
        .join(SlaPolicy, SlaPolicy.id == Ticket.sla_policy_id)
        .where(SlaClock.status == "running", SlaClock.breached_at.is_(None))
        .order_by(SlaClock.due_at)
        .limit(limit)  # None: every clock (soonest due first)
        .with_for_update(of=SlaClock, skip_locked=True)
    ).all()
    for clock, ticket, policy in rows:
        if clock.due_at is not None and clock.due_at <= now:
            clock.breached_at = clock.due_at
            report.breached += 1
            record_event(session, ticket, "sla_breached", now, clock=clock.kind,
                   due_at=_iso(clock.due_at), noticed="tick")  # fmt: skip
            # One escalation per ticket and pass, for the clock that ran out first.
            if ticket.reference not in report.tickets and escalate(
                session, ticket, clock.kind, now, picker
            ):
                report.escalated += 1
                report.tickets.append(ticket.reference)
            continue
        if clock.warned_at is not None:
            continue
        calendar = calendars.get(calendar_id_for(policy, clock.kind))
        if (
            used_seconds(clock, calendar, now) * 100
            >= clock.target_seconds * policy.warn_at_percent
        ):
            clock.warned_at = now
            report.warned += 1
            record_event(session, ticket, "sla_warning", now, clock=clock.kind,
                   due_at=_iso(clock.due_at), percent=policy.warn_at_percent)  # fmt: skip
            if ticket.assignee_id is not None:
                notify_staff(session, ticket.assignee_id, ticket, "care.sla_warning", clock.kind,
                              clock.due_at, now)  # fmt: skip
    session.flush()
    return report
