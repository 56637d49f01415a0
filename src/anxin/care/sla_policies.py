"""SLA policies and business calendars as stored: the defaults, loading a calendar for the
arithmetic in ``anxin.care.calendar``, and choosing the policy of a ticket.

Defaults (``ensure_defaults``; why these numbers: docs/care.md, "SLA clocks"):

========================================  ==============  =============  ====================
policy                                    first response  next response  resolution
========================================  ==============  =============  ====================
any category, any priority                1 business day  2 business d.  15 calendar days
any category, high                        4 business h.   1 business d.  10 calendar days
any category, urgent                      2 business h.   4 business h.  5 calendar days
unauthorized_debit, any priority         2 business h.   4 business h.  7 calendar days
unauthorized_debit, urgent               30 business m.  2 business h.  3 calendar days
========================================  ==============  =============  ====================

A business day is 9 hours of the PRC calendar (Mon-Fri 09:00-18:00 Asia/Shanghai with
public holidays and make-up working days); calendar days run on a 24x7 calendar in the same
time zone. Either way time waiting for the customer is not counted.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anxin.care.calendar import Calendar, DayRule, format_hours, parse_hours
from anxin.kit.ids import new_id
from anxin.models.care import BusinessCalendar, CalendarDay, SlaPolicy

BUSINESS_CALENDAR = "prc-business"
ALWAYS_CALENDAR = "prc-24x7"
BUSINESS_DAY_MINUTES = 9 * 60
CALENDAR_DAY_MINUTES = 24 * 60


@dataclass(frozen=True)
class DefaultPolicy:
    name: str
    category: str | None
    priority: str | None
    first_response_minutes: int
    next_response_minutes: int
    resolution_minutes: int  # on the 24x7 calendar


DEFAULT_POLICIES = (
    DefaultPolicy(
        "Regulatory default: acknowledge in 1 business day, answer in 15 days",
        None, None, BUSINESS_DAY_MINUTES, 2 * BUSINESS_DAY_MINUTES, 15 * CALENDAR_DAY_MINUTES,
    ),
    DefaultPolicy(
        "High priority", None, "high", 4 * 60, BUSINESS_DAY_MINUTES, 10 * CALENDAR_DAY_MINUTES
    ),
    DefaultPolicy("Urgent", None, "urgent", 2 * 60, 4 * 60, 5 * CALENDAR_DAY_MINUTES),
    DefaultPolicy(
        "Unauthorized debit", "unauthorized_debit", None, 2 * 60, 4 * 60, 7 * CALENDAR_DAY_MINUTES
    ),
    DefaultPolicy(
        "Unauthorized debit, urgent", "unauthorized_debit", "urgent", 30, 2 * 60,
        3 * CALENDAR_DAY_MINUTES,
    ),
)  # fmt: skip


def calendar_data() -> dict[str, Any]:
    """The shipped PRC calendar: weekly hours and 2026-2027 holidays and make-up days."""
    text = resources.files("anxin.care").joinpath("data/prc_calendar.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _add_calendar(
    session: Session, name: str, timezone: str, hours: dict[str, Any], now: datetime
) -> BusinessCalendar:
    row = BusinessCalendar(id=new_id(), name=name, timezone=timezone, hours=hours, created_at=now)
    session.add(row)
    session.flush()
    return row


def _calendar_named(session: Session, name: str) -> BusinessCalendar | None:
    return session.scalar(select(BusinessCalendar).where(BusinessCalendar.name == name))


def ensure_defaults(session: Session, now: datetime) -> None:
    """Unless some SLA policy exists (active or not: a desk that switched them all off
    meant it), create the default policies and, unless they exist, the PRC calendars.

    Idempotent. Two first tickets at once: the loser's insert of a calendar name waits for
    the winner (unique index), fails, and its savepoint rolls back; it then reads the
    winner's committed rows."""
    if session.scalar(select(SlaPolicy.id).limit(1)) is not None:
        return
    try:
        with session.begin_nested():
            data = calendar_data()
            business = _calendar_named(session, data["name"])
            if business is None:
                business = _add_calendar(session, data["name"], data["timezone"], data["hours"],
                                         now)  # fmt: skip
                for entry in data["days"]:
                    session.add(
                        CalendarDay(
                            calendar_id=business.id, day=date.fromisoformat(entry["day"]),
                            kind=entry["kind"], works_as=entry.get("works_as"),
                            name=entry["name"],
                        )
                    )  # fmt: skip
            always = _calendar_named(session, ALWAYS_CALENDAR)
            if always is None:
                every_day = {str(d): [["00:00", "24:00"]] for d in range(7)}
                always = _add_calendar(session, ALWAYS_CALENDAR, data["timezone"], every_day, now)
            for policy in DEFAULT_POLICIES:
                session.add(
                    SlaPolicy(
                        id=new_id(), name=policy.name, category=policy.category,
                        priority=policy.priority, calendar_id=business.id,
                        resolution_calendar_id=always.id,
                        first_response_minutes=policy.first_response_minutes,
                        next_response_minutes=policy.next_response_minutes,
                        resolution_minutes=policy.resolution_minutes, warn_at_percent=75,
                        active=True, created_at=now,
                    )
                )  # fmt: skip
            session.flush()
    except IntegrityError:
        pass  # another transaction created them first


def load_calendar(session: Session, calendar_id: uuid.UUID) -> Calendar:
    row = session.get(BusinessCalendar, calendar_id)
    assert row is not None  # policies reference calendars by foreign key
    days = session.scalars(select(CalendarDay).where(CalendarDay.calendar_id == calendar_id))
    return Calendar(
        row.timezone,
        parse_hours(row.hours),
        {d.day: DayRule(d.kind, d.works_as) for d in days},
    )


class CalendarCache:
    """Calendars loaded once per unit of work (a tick touches many tickets)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._loaded: dict[uuid.UUID, Calendar] = {}

    def get(self, calendar_id: uuid.UUID) -> Calendar:
        found = self._loaded.get(calendar_id)
        if found is None:
            found = self._loaded[calendar_id] = load_calendar(self._session, calendar_id)
        return found


def specificity(policy: SlaPolicy) -> int:
    # A category says more about the work than a priority does.
    return (2 if policy.category is not None else 0) + (1 if policy.priority is not None else 0)


def select_policy(session: Session, category: str, priority: str) -> SlaPolicy | None:
    """The most specific active policy matching the category and priority (NULL matches
    anything); among equals the newest."""
    candidates = session.scalars(
        select(SlaPolicy).where(
            SlaPolicy.active.is_(True),
            (SlaPolicy.category.is_(None)) | (SlaPolicy.category == category),
            (SlaPolicy.priority.is_(None)) | (SlaPolicy.priority == priority),
        )
    ).all()
    if not candidates:
        return None
    return max(candidates, key=lambda p: (specificity(p), p.created_at, p.id))


def hours_text(row: BusinessCalendar) -> dict[str, list[list[str]]]:
    """The stored hours normalised (checked, sorted, empty days left out)."""
    return format_hours(parse_hours(row.hours))
