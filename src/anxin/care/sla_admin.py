"""Care leads manage SLA policies and business calendars: create, change, (de)activate;
set and remove a calendar's holidays and make-up working days. Every change is audited.

A policy's new targets apply to clocks started from then on (a running clock keeps the
target it started with, so a ticket's promise does not move under it). A calendar's new
hours or days apply at once: running clocks on it get their ``due_at`` recomputed.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.care.calendar import CalendarError, format_hours, parse_hours, zone
from anxin.care.sla import calendar_id_for, run_clock
from anxin.care.sla_policies import CalendarCache, load_calendar
from anxin.kit.errors import Conflict, NotFound, Unprocessable
from anxin.kit.ids import new_id
from anxin.models import User
from anxin.models.care import (
    CATEGORIES,
    TICKET_PRIORITIES,
    BusinessCalendar,
    CalendarDay,
    SlaClock,
    SlaPolicy,
    Ticket,
)

POLICY_FIELDS = (
    "name", "category", "priority", "calendar_id", "resolution_calendar_id",
    "first_response_minutes", "next_response_minutes", "resolution_minutes",
    "warn_at_percent", "active",
)  # fmt: skip


class PolicyNotFound(NotFound):
    code = "care_sla_policy_not_found"
    title = "No such SLA policy"


class CalendarNotFound(NotFound):
    code = "care_calendar_not_found"
    title = "No such business calendar"


class CalendarDayNotFound(NotFound):
    code = "care_calendar_day_not_found"
    title = "That day is not an exception in this calendar"


class PolicyClash(Conflict):
    code = "care_sla_policy_clash"
    title = "An active policy already covers this category and priority"


class CalendarNameTaken(Conflict):
    code = "care_calendar_name_taken"
    title = "A calendar with this name exists"


class InvalidPolicy(Unprocessable):
    code = "care_sla_policy_invalid"
    title = "The SLA policy is not valid"


def _audit(session: Session, event: str, actor: User, subject: uuid.UUID, now: datetime,
           **data: Any) -> None:  # fmt: skip
    audit.append(session, event=f"care.sla_{event}", actor_id=actor.id, actor_role=actor.role,
                 subject_id=subject, data=data, now=now)  # fmt: skip


# -- policies ---------------------------------------------------------------------------------


def get_policy(session: Session, policy_id: uuid.UUID) -> SlaPolicy:
    policy = session.get(SlaPolicy, policy_id)
    if policy is None:
        raise PolicyNotFound(f"no SLA policy {policy_id}")
    return policy


def list_policies(session: Session, *, include_inactive: bool = True) -> list[SlaPolicy]:
    query = select(SlaPolicy).order_by(SlaPolicy.created_at, SlaPolicy.id)
    if not include_inactive:
        query = query.where(SlaPolicy.active.is_(True))
    return list(session.scalars(query))


def _check_policy(session: Session, policy: SlaPolicy) -> None:
    if policy.category is not None and policy.category not in CATEGORIES:
        raise InvalidPolicy(f"unknown category {policy.category!r}", field="category")
    if policy.priority is not None and policy.priority not in TICKET_PRIORITIES:
        raise InvalidPolicy(f"unknown priority {policy.priority!r}", field="priority")
    for name in ("calendar_id", "resolution_calendar_id"):
        value = getattr(policy, name)
        if value is not None and session.get(BusinessCalendar, value) is None:
            raise CalendarNotFound(f"no business calendar {value}", field=name)
    if not 0 < policy.warn_at_percent < 100:
        raise InvalidPolicy("warn_at_percent is between 1 and 99", field="warn_at_percent")
    for name in ("first_response_minutes", "next_response_minutes", "resolution_minutes"):
        if getattr(policy, name) <= 0:
            raise InvalidPolicy(f"{name} must be positive", field=name)
    if not policy.active:
        return
    same = select(SlaPolicy.id).where(
        SlaPolicy.active.is_(True),
        SlaPolicy.id != policy.id,
        SlaPolicy.category.is_(None) if policy.category is None
        else SlaPolicy.category == policy.category,
        SlaPolicy.priority.is_(None) if policy.priority is None
        else SlaPolicy.priority == policy.priority,
    )  # fmt: skip
    clash = session.scalar(same.limit(1))
    if clash is not None:
        raise PolicyClash(
            "deactivate the active policy for this category and priority first",
            policy_id=str(clash),
        )


def create_policy(session: Session, *, actor: User, now: datetime, **values: Any) -> SlaPolicy:
    values.setdefault("warn_at_percent", 75)
    values.setdefault("active", True)
    values.setdefault("resolution_calendar_id", None)
    policy = SlaPolicy(id=new_id(), created_at=now, **{k: values[k] for k in POLICY_FIELDS})
    with session.no_autoflush:
        _check_policy(session, policy)
    session.add(policy)
    session.flush()
    _audit(session, "policy_created", actor, policy.id, now, name=policy.name,
           category=policy.category, priority=policy.priority)  # fmt: skip
    return policy


def update_policy(
    session: Session, policy: SlaPolicy, *, actor: User, now: datetime, changes: dict[str, Any]
) -> SlaPolicy:
    """Apply ``changes`` (field -> value, only the fields being changed)."""
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        raise InvalidPolicy(f"cannot change {', '.join(sorted(unknown))}")
    with session.no_autoflush:
        for name, value in changes.items():
            setattr(policy, name, value)
        _check_policy(session, policy)
    session.flush()
    _audit(session, "policy_updated", actor, policy.id, now, fields=sorted(changes))
    return policy


# -- calendars --------------------------------------------------------------------------------


def get_calendar(session: Session, calendar_id: uuid.UUID) -> BusinessCalendar:
    row = session.get(BusinessCalendar, calendar_id)
    if row is None:
        raise CalendarNotFound(f"no business calendar {calendar_id}")
    return row


def list_calendars(session: Session) -> list[BusinessCalendar]:
    return list(session.scalars(select(BusinessCalendar).order_by(BusinessCalendar.name)))


def _working_hours(hours: dict[str, Any]) -> dict[str, list[list[str]]]:
    """Checked and normalised; a calendar without any working time would make every due
    time unreachable (and refuse every new ticket), so it is refused here."""
    normalised = format_hours(parse_hours(hours))
    if not normalised:
        raise CalendarError("a calendar needs working hours on at least one weekday")
    return normalised


def _name_free(session: Session, name: str, calendar_id: uuid.UUID | None) -> None:
    taken = session.scalar(select(BusinessCalendar.id).where(BusinessCalendar.name == name))
    if taken is not None and taken != calendar_id:
        raise CalendarNameTaken(f"a calendar named {name!r} exists", field="name")


def create_calendar(
    session: Session, *, actor: User, now: datetime, name: str, timezone: str,
    hours: dict[str, Any],
) -> BusinessCalendar:  # fmt: skip
    zone(timezone)
    normalised = _working_hours(hours)
    _name_free(session, name, None)
    row = BusinessCalendar(id=new_id(), name=name, timezone=timezone, hours=normalised,
                           created_at=now)  # fmt: skip
    session.add(row)
    session.flush()
    _audit(session, "calendar_created", actor, row.id, now, name=name, timezone=timezone)
    return row


def update_calendar(
    session: Session, row: BusinessCalendar, *, actor: User, now: datetime,
    name: str | None = None, timezone: str | None = None, hours: dict[str, Any] | None = None,
) -> BusinessCalendar:  # fmt: skip
    changed = []
    if name is not None and name != row.name:
        _name_free(session, name, row.id)
        row.name = name
        changed.append("name")
    if timezone is not None and timezone != row.timezone:
        zone(timezone)
        row.timezone = timezone
        changed.append("timezone")
    if hours is not None:
        row.hours = _working_hours(hours)
        changed.append("hours")
    session.flush()
    if {"timezone", "hours"} & set(changed):
        refresh_due(session, row.id)
    _audit(session, "calendar_updated", actor, row.id, now, fields=changed)
    return row


def list_days(
    session: Session, calendar_id: uuid.UUID, *, year: int | None = None
) -> list[CalendarDay]:
    query = select(CalendarDay).where(CalendarDay.calendar_id == calendar_id)
    if year is not None:
        query = query.where(
            CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)
        )
    return list(session.scalars(query.order_by(CalendarDay.day)))


def set_day(
    session: Session, row: BusinessCalendar, day: date, *, actor: User, now: datetime,
    kind: str, works_as: int | None, name: str,
) -> CalendarDay:  # fmt: skip
    """Make ``day`` a holiday, or a make-up working day with the hours of ``works_as``."""
    if kind == "workday" and works_as is None:
        works_as = day.weekday() if day.weekday() < 5 else 0
    if kind == "holiday":
        works_as = None
    existing = session.get(CalendarDay, (row.id, day))
    if existing is None:
        existing = CalendarDay(calendar_id=row.id, day=day, kind=kind, works_as=works_as,
                               name=name)  # fmt: skip
        session.add(existing)
    else:
        existing.kind, existing.works_as, existing.name = kind, works_as, name
    session.flush()
    refresh_due(session, row.id)
    _audit(session, "calendar_day_set", actor, row.id, now, day=day.isoformat(), kind=kind)
    return existing


def delete_day(session: Session, row: BusinessCalendar, day: date, *, actor: User,
               now: datetime) -> None:  # fmt: skip
    existing = session.get(CalendarDay, (row.id, day))
    if existing is None:
        raise CalendarDayNotFound(f"{day.isoformat()} is not an exception in {row.name}")
    session.delete(existing)
    session.flush()
    refresh_due(session, row.id)
    _audit(session, "calendar_day_deleted", actor, row.id, now, day=day.isoformat())


def refresh_due(session: Session, calendar_id: uuid.UUID) -> int:
    """Recompute ``due_at`` of running clocks counted on ``calendar_id`` (its hours or days
    changed). The stretch since ``running_since`` is counted on the new calendar, as
    ``used_seconds`` will be when the clock stops."""
    load_calendar(session, calendar_id)  # refuses a calendar that no longer parses
    rows = session.execute(
        select(SlaClock, SlaPolicy)
        .join(Ticket, Ticket.id == SlaClock.ticket_id)
        .join(SlaPolicy, SlaPolicy.id == Ticket.sla_policy_id)
        .where(
            SlaClock.status == "running",
            or_(
                SlaPolicy.calendar_id == calendar_id,
                SlaPolicy.resolution_calendar_id == calendar_id,
            ),
        )
    ).all()
    calendars = CalendarCache(session)
    count = 0
    for clock, policy in rows:
        if calendar_id_for(policy, clock.kind) != calendar_id or clock.running_since is None:
            continue
        # Keep the stretch's start: the new calendar counts it from there.
        since, used = clock.running_since, clock.used_seconds
        run_clock(clock, calendars.get(calendar_id), since)
        clock.used_seconds = used
        count += 1
    session.flush()
    return count
