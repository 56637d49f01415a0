"""SLA policies and business calendars over HTTP (``/v1/staff/care/sla``): care leads
manage them (``care:lead``); agents read them and a ticket's clocks (``care:work``)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import select

from anxin.api.deps import ReadUoW, WriteUoW
from anxin.care import sla, sla_admin
from anxin.care.sla_policies import CalendarCache
from anxin.care.sla_schemas import (
    CalendarIn,
    CalendarList,
    CalendarOut,
    CalendarPatch,
    ClockOut,
    DayIn,
    DayList,
    DayOut,
    PolicyIn,
    PolicyList,
    PolicyOut,
    PolicyPatch,
    TicketSlaOut,
)
from anxin.identity.deps import AuthContext, require_permission
from anxin.kit.errors import NotFound
from anxin.models.care import BusinessCalendar, CalendarDay, SlaClock, SlaPolicy, Ticket

router = APIRouter(prefix="/v1/staff/care/sla", tags=["care staff"])
CareWork = Annotated[AuthContext, Depends(require_permission("care:work"))]
CareLead = Annotated[AuthContext, Depends(require_permission("care:lead"))]


class TicketNotFound(NotFound):
    code = "care_ticket_not_found"
    title = "No such ticket"


def _policy(row: SlaPolicy) -> PolicyOut:
    return PolicyOut.model_validate(row, from_attributes=True)


def _calendar(row: BusinessCalendar) -> CalendarOut:
    return CalendarOut(id=row.id, name=row.name, timezone=row.timezone, hours=row.hours,
                       created_at=row.created_at)  # fmt: skip


def _day(row: CalendarDay) -> DayOut:
    return DayOut(day=row.day, kind=row.kind, works_as=row.works_as, name=row.name)


# -- policies ---------------------------------------------------------------------------------


@router.get("/policies", response_model=PolicyList)
def list_policies(auth: CareWork, uow: ReadUoW, include_inactive: bool = True) -> PolicyList:
    """Every policy; a ticket gets the most specific active one matching its category and
    priority (category and priority > category > priority > neither)."""
    rows = sla_admin.list_policies(uow.session, include_inactive=include_inactive)
    return PolicyList(data=[_policy(p) for p in rows])


@router.post("/policies", status_code=201, response_model=PolicyOut)
def create_policy(body: PolicyIn, auth: CareLead, uow: WriteUoW) -> PolicyOut:
    """Targets in minutes of the policy's calendar; one active policy per category and
    priority (409 otherwise)."""
    row = sla_admin.create_policy(uow.session, actor=auth.user, now=auth.now, **body.model_dump())
    out = _policy(row)
    uow.commit()
    return out


@router.get("/policies/{policy_id}", response_model=PolicyOut)
def get_policy(policy_id: uuid.UUID, auth: CareWork, uow: ReadUoW) -> PolicyOut:
    return _policy(sla_admin.get_policy(uow.session, policy_id))


@router.patch("/policies/{policy_id}", response_model=PolicyOut)
def update_policy(
    policy_id: uuid.UUID, body: PolicyPatch, auth: CareLead, uow: WriteUoW
) -> PolicyOut:
    """Change fields sent (``null`` clears category, priority or resolution calendar).
    Running clocks keep the targets they started with."""
    changes = body.model_dump(exclude_unset=True)
    for required in ("name", "calendar_id", "first_response_minutes", "next_response_minutes",
                     "resolution_minutes", "warn_at_percent", "active"):  # fmt: skip
        if required in changes and changes[required] is None:
            del changes[required]
    row = sla_admin.update_policy(
        uow.session, sla_admin.get_policy(uow.session, policy_id), actor=auth.user,
        now=auth.now, changes=changes,
    )  # fmt: skip
    out = _policy(row)
    uow.commit()
    return out


# -- calendars --------------------------------------------------------------------------------


@router.get("/calendars", response_model=CalendarList)
def list_calendars(auth: CareWork, uow: ReadUoW) -> CalendarList:
    return CalendarList(data=[_calendar(c) for c in sla_admin.list_calendars(uow.session)])


@router.post("/calendars", status_code=201, response_model=CalendarOut)
def create_calendar(body: CalendarIn, auth: CareLead, uow: WriteUoW) -> CalendarOut:
    """Weekly hours in a time zone: weekday ("0" = Monday) -> ordered ``[start, end]`` spans
    (``"24:00"`` ends a day)."""
    row = sla_admin.create_calendar(uow.session, actor=auth.user, now=auth.now, name=body.name,
                                    timezone=body.timezone, hours=body.hours)  # fmt: skip
    out = _calendar(row)
    uow.commit()
    return out


@router.get("/calendars/{calendar_id}", response_model=CalendarOut)
def get_calendar(calendar_id: uuid.UUID, auth: CareWork, uow: ReadUoW) -> CalendarOut:
    return _calendar(sla_admin.get_calendar(uow.session, calendar_id))


@router.patch("/calendars/{calendar_id}", response_model=CalendarOut)
def update_calendar(
    calendar_id: uuid.UUID, body: CalendarPatch, auth: CareLead, uow: WriteUoW
) -> CalendarOut:
    """New hours or time zone apply at once: running clocks get a new due time."""
    row = sla_admin.update_calendar(
        uow.session, sla_admin.get_calendar(uow.session, calendar_id), actor=auth.user,
        now=auth.now, name=body.name, timezone=body.timezone, hours=body.hours,
    )  # fmt: skip
    out = _calendar(row)
    uow.commit()
    return out


@router.get("/calendars/{calendar_id}/days", response_model=DayList)
def list_days(
    calendar_id: uuid.UUID, auth: CareWork, uow: ReadUoW,
    year: Annotated[int | None, Query(ge=1970, le=2200)] = None,
) -> DayList:  # fmt: skip
    """Holidays and make-up working days (调休), optionally of one year."""
    sla_admin.get_calendar(uow.session, calendar_id)
    return DayList(data=[_day(d) for d in sla_admin.list_days(uow.session, calendar_id, year=year)])


@router.put("/calendars/{calendar_id}/days/{day}", response_model=DayOut)
def set_day(calendar_id: uuid.UUID, day: date, body: DayIn, auth: CareLead,
            uow: WriteUoW) -> DayOut:  # fmt: skip
    """Make a day a holiday, or a make-up working day with the hours of ``works_as``."""
    row = sla_admin.set_day(
        uow.session, sla_admin.get_calendar(uow.session, calendar_id), day, actor=auth.user,
        now=auth.now, kind=body.kind, works_as=body.works_as, name=body.name,
    )  # fmt: skip
    out = _day(row)
    uow.commit()
    return out


@router.delete("/calendars/{calendar_id}/days/{day}", status_code=204)
def delete_day(calendar_id: uuid.UUID, day: date, auth: CareLead, uow: WriteUoW) -> Response:
    """The day follows the weekly hours again."""
    sla_admin.delete_day(uow.session, sla_admin.get_calendar(uow.session, calendar_id), day,
                         actor=auth.user, now=auth.now)  # fmt: skip
    uow.commit()
    return Response(status_code=204)


# -- a ticket's clocks ------------------------------------------------------------------------


@router.get("/tickets/{ticket_id}", response_model=TicketSlaOut)
def ticket_sla(ticket_id: uuid.UUID, auth: CareWork, uow: ReadUoW) -> TicketSlaOut:
    """The ticket's policy and clocks: business seconds used and left, due, warned,
    breached and met times."""
    ticket = uow.session.get(Ticket, ticket_id)
    if ticket is None:
        raise TicketNotFound(f"no ticket {ticket_id}")
    policy = uow.session.get(SlaPolicy, ticket.sla_policy_id) if ticket.sla_policy_id else None
    clocks: list[ClockOut] = []
    calendars = CalendarCache(uow.session)
    rows = uow.session.scalars(
        select(SlaClock).where(SlaClock.ticket_id == ticket_id).order_by(SlaClock.kind)
    )
    for clock in rows:
        used = clock.used_seconds
        if policy is not None:
            calendar = calendars.get(sla.calendar_id_for(policy, clock.kind))
            used = sla.used_seconds(clock, calendar, auth.now)
        clocks.append(
            ClockOut(
                kind=clock.kind, status=clock.status, target_seconds=clock.target_seconds,
                used_seconds=used, remaining_seconds=max(0, clock.target_seconds - used),
                due_at=clock.due_at, warned_at=clock.warned_at, breached_at=clock.breached_at,
                met_at=clock.met_at,
            )
        )  # fmt: skip
    return TicketSlaOut(
        ticket_id=ticket.id, policy=_policy(policy) if policy else None,
        escalated=ticket.escalated, expected_answer_at=sla.expected_answer_at(uow.session, ticket),
        clocks=clocks,
    )  # fmt: skip
