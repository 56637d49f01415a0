"""SLA clocks over random timelines: random calendars (several spans a day, holidays,
make-up days, daylight-saving zones), random policies, and random sequences of agent
replies, customer messages, waits for the customer, resumes, resolutions, reopenings,
closings, ticks and priority changes that switch between two policies on different
calendars. After each timeline every clock must equal a brute-force model that
walks the timeline minute by minute: time waiting for the customer or after resolution is
never counted, breaches are dated when the target ran out, warnings come only from ticks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update
from sqlalchemy.orm import Session

from anxin.care import sla
from anxin.care.calendar import Calendar, format_hours
from anxin.care.sla_policies import ensure_defaults
from anxin.kit.db import Database
from anxin.kit.ids import new_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.care import BusinessCalendar, CalendarDay, SlaClock, SlaPolicy, Ticket
from tests.care.test_calendar_properties import reference_minute, scenarios
from tests.care.test_sla import make_ticket

MINUTE = timedelta(minutes=1)
EVENTS = ("reply", "customer", "pending", "open", "resolve", "close", "tick", "priority")
KINDS = ("first_response", "next_response", "resolution")


@dataclass
class RefClock:
    target: int  # seconds
    state: str = "running"
    used: int = 0
    breach_at: datetime | None = None  # when the target ran out
    breach_recorded: bool = False
    warned: bool = False


@dataclass(frozen=True)
class RefPolicy:
    calendars: dict[str, Calendar]  # per clock kind
    targets: dict[str, int]  # seconds


class Reference:
    """The SLA rules restated as simply as possible, stepping one minute at a time."""

    def __init__(self, policies: dict[str, RefPolicy], warn: int) -> None:
        self.policies, self.warn = policies, warn
        self.priority, self.status = "normal", "new"
        self.now = datetime.min.replace(tzinfo=UTC)
        self.clocks = {kind: RefClock(self.policy.targets[kind])
                       for kind in ("first_response", "resolution")}  # fmt: skip

    @property
    def policy(self) -> RefPolicy:
        return self.policies[self.priority]

    def advance(self, start: datetime, end: datetime) -> None:
        minute = start
        while minute < end:
            for kind, clock in self.clocks.items():
                if clock.state == "running" and reference_minute(
                    self.policy.calendars[kind], minute
                ):
                    clock.used += 60
                    if clock.breach_at is None and clock.used >= clock.target:
                        clock.breach_at = minute + MINUTE
            minute += MINUTE

    def _run(self, clock: RefClock, now: datetime) -> None:
        clock.state = "running"
        # Over target already (a smaller target came while it was stopped): runs out now.
        if clock.breach_at is None and clock.used >= clock.target:
            clock.breach_at = now

    def reprioritise(self, now: datetime) -> None:
        self.priority = "urgent" if self.priority == "normal" else "normal"
        for kind, clock in self.clocks.items():
            clock.target = self.policy.targets[kind]
            if not clock.breach_recorded:
                clock.breach_at = None
                if clock.state == "running":
                    self._run(clock, now)

    def _stop(self, clock: RefClock, state: str) -> None:
        if clock.breach_at is not None:
            clock.breach_recorded = True
        clock.state = state

    def set_status(self, new: str) -> None:
        old, self.status = self.status, new
        for kind, clock in self.clocks.items():
            if new in ("resolved", "closed") and clock.state != "met":
                self._stop(clock, "met")
            elif new == "pending_customer" and clock.state == "running":
                self._stop(clock, "paused")
            elif new == "open" and old == "pending_customer" and clock.state == "paused":
                self._run(clock, self.now)
            elif new == "open" and old == "resolved" and kind == "resolution":
                self._run(clock, self.now)  # reopened: the complaint was not resolved after all

    def apply(self, event: str, now: datetime) -> None:
        self.now = now
        if event == "priority":
            self.reprioritise(now)
        elif event == "reply" and self.status != "closed":
            for kind in ("first_response", "next_response"):
                clock = self.clocks.get(kind)
                if clock is not None and clock.state != "met":
                    self._stop(clock, "met")
            if self.status == "new":
                self.set_status("open")
        elif event == "customer" and self.status != "closed":
            if self.status in ("pending_customer", "resolved"):
                self.set_status("open")
            following = self.clocks.get("next_response")
            if self.clocks["first_response"].state == "met" and (
                following is None or following.state == "met"
            ):
                self.clocks["next_response"] = RefClock(self.policy.targets["next_response"])
        elif event == "pending" and self.status in ("new", "open"):
            self.set_status("pending_customer")
        elif event == "open" and self.status == "pending_customer":
            self.set_status("open")
        elif event == "resolve" and self.status in ("new", "open", "pending_customer"):
            self.set_status("resolved")
        elif event == "close" and self.status == "resolved":
            self.set_status("closed")
        elif event == "tick":
            for clock in self.clocks.values():
                if clock.state != "running" or clock.breach_recorded:
                    continue
                if clock.breach_at is not None and clock.breach_at <= now:
                    clock.breach_recorded = True
                elif clock.used * 100 >= clock.target * self.warn:
                    clock.warned = True


def drive(session: Session, ticket: Ticket, event: str, now: datetime) -> None:
    """What the ticket service does for each event, reduced to the SLA hooks it calls."""

    def status(new: str) -> None:
        old, ticket.status = ticket.status, new
        sla.on_status(session, ticket, old, new, now)

    if event == "reply" and ticket.status != "closed":
        sla.on_agent_reply(session, ticket, now)
        if ticket.status == "new":
            status("open")
    elif event == "customer" and ticket.status != "closed":
        if ticket.status in ("pending_customer", "resolved"):
            status("open")
        sla.on_customer_message(session, ticket, now)
    elif event == "pending" and ticket.status in ("new", "open"):
        status("pending_customer")
    elif event == "open" and ticket.status == "pending_customer":
        status("open")
    elif event == "resolve" and ticket.status in ("new", "open", "pending_customer"):
        status("resolved")
    elif event == "close" and ticket.status == "resolved":
        status("closed")
    elif event == "tick":
        sla.tick(session, now)
    elif event == "priority":
        ticket.priority = "urgent" if ticket.priority == "normal" else "normal"
        sla.reapply_policy(session, ticket, now)


def store_calendar(session: Session, calendar: Calendar, now: datetime) -> BusinessCalendar:
    row = BusinessCalendar(
        id=new_id(), name=f"random-{new_id().hex}", timezone=calendar.tz.key,
        hours=format_hours(calendar.weekly), created_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    for day, rule in calendar.days.items():
        session.add(CalendarDay(calendar_id=row.id, day=day, kind=rule.kind,
                                works_as=rule.works_as, name="random"))  # fmt: skip
    session.flush()
    return row


minutes = st.integers(1, 30).map(lambda m: m * 60)
targets = st.fixed_dictionaries(
    {"first_response": minutes, "next_response": minutes,
     "resolution": minutes.map(lambda s: s * 3)}
)  # fmt: skip
timelines = st.lists(
    st.tuples(st.integers(0, 600).map(lambda m: m * MINUTE), st.sampled_from(EVENTS)),
    max_size=12,
)


def store_policy(
    session: Session, priority: str | None, calendar: BusinessCalendar,
    resolution_calendar: BusinessCalendar | None, targets: dict[str, int], warn: int,
    now: datetime,
) -> None:  # fmt: skip
    session.add(
        SlaPolicy(
            id=new_id(), name=f"random {priority}", category=None, priority=priority,
            calendar_id=calendar.id,
            resolution_calendar_id=resolution_calendar.id if resolution_calendar else None,
            first_response_minutes=targets["first_response"] // 60,
            next_response_minutes=targets["next_response"] // 60,
            resolution_minutes=targets["resolution"] // 60, warn_at_percent=warn,
            active=True, created_at=now,
        )
    )  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    scenario=scenarios(), other=scenarios(), normal=targets, urgent=targets,
    shared_resolution=st.booleans(), warn=st.integers(1, 99), timeline=timelines,
    tail=st.integers(0, 900),
)  # fmt: skip
def test_clocks_match_the_minute_by_minute_model(
    database: Database, scenario: tuple[Calendar, datetime], other: tuple[Calendar, datetime],
    normal: dict[str, int], urgent: dict[str, int], shared_resolution: bool, warn: int,
    timeline: list[tuple[timedelta, str]], tail: int,
) -> None:  # fmt: skip
    (calendar, start), second = scenario, other[0]
    if not any(calendar.weekly.values()) or not any(second.weekly.values()):
        return  # a calendar without hours is refused before it could start a clock
    start = start.replace(second=0, microsecond=0)
    urgent_resolution = calendar if shared_resolution else second
    policies = {
        "normal": RefPolicy(dict.fromkeys(KINDS, calendar), normal),
        "urgent": RefPolicy(
            {"first_response": second, "next_response": second, "resolution": urgent_resolution},
            urgent,
        ),
    }
    with UnitOfWork(database) as uow:
        session = uow.session
        ensure_defaults(session, start)
        session.execute(update(SlaPolicy).values(active=False))
        first_row, second_row = (store_calendar(session, c, start) for c in (calendar, second))
        store_policy(session, None, first_row, None, normal, warn, start)
        store_policy(session, "urgent", second_row, first_row if shared_resolution else None,
                     urgent, warn, start)  # fmt: skip
        session.flush()
        ticket = make_ticket(session, start)
        model = Reference(policies, warn)
        now = start
        for gap, event in timeline:
            model.advance(now, now + gap)
            now += gap
            drive(session, ticket, event, now)
            model.apply(event, now)
        end = now + tail * MINUTE
        model.advance(now, end)
        drive(session, ticket, "tick", end)
        model.apply("tick", end)
        session.flush()
        for kind in KINDS:
            clock = session.get(SlaClock, (ticket.id, kind))
            expected = model.clocks.get(kind)
            if expected is None:
                assert clock is None
                continue
            assert clock is not None
            on = model.policy.calendars[kind]
            assert clock.status == expected.state, kind
            assert clock.target_seconds == expected.target, kind
            assert sla.used_seconds(clock, on, end) == expected.used, kind
            recorded = expected.breach_at if expected.breach_recorded else None
            assert clock.breached_at == recorded, kind
            assert (clock.warned_at is not None) == expected.warned, kind
            if clock.status == "running" and expected.used < expected.target:
                assert clock.due_at == on.add_business_seconds(end, expected.target - expected.used)


def test_reference_counts_nothing_while_paused() -> None:
    """The model itself: a paused clock gains nothing, however long the pause."""
    calendar = Calendar("UTC", dict.fromkeys(range(7), ((0, 86400),)))
    targets = {"first_response": 600, "next_response": 600, "resolution": 6000}
    model = Reference({"normal": RefPolicy(dict.fromkeys(KINDS, calendar), targets)}, 50)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    model.apply("pending", start)
    model.advance(start, start + timedelta(days=2))
    assert all(c.used == 0 for c in model.clocks.values())
    assert date(2026, 1, 5) == start.date()
