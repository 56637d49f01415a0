"""Request and response bodies of the SLA endpoints (``/v1/staff/care/sla``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from anxin.care.schemas import Category, Priority
from anxin.ledger.schemas import Strict

Minutes = Field(ge=1, le=366 * 24 * 60)
# {"0": [["09:00", "12:00"], ["13:00", "18:00"]], ...}: weekday (Monday = 0) -> spans.
Hours = dict[str, list[list[str]]]


class PolicyIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    category: Category | None = None
    priority: Priority | None = None
    calendar_id: uuid.UUID
    resolution_calendar_id: uuid.UUID | None = Field(
        default=None, description="Calendar of the resolution target (default: calendar_id)."
    )
    first_response_minutes: int = Minutes
    next_response_minutes: int = Minutes
    resolution_minutes: int = Minutes
    warn_at_percent: int = Field(default=75, ge=1, le=99)
    active: bool = True


class PolicyPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    category: Category | None = None
    priority: Priority | None = None
    calendar_id: uuid.UUID | None = None
    resolution_calendar_id: uuid.UUID | None = None
    first_response_minutes: int | None = Field(default=None, ge=1, le=366 * 24 * 60)
    next_response_minutes: int | None = Field(default=None, ge=1, le=366 * 24 * 60)
    resolution_minutes: int | None = Field(default=None, ge=1, le=366 * 24 * 60)
    warn_at_percent: int | None = Field(default=None, ge=1, le=99)
    active: bool | None = None


class PolicyOut(BaseModel):
    id: uuid.UUID
    name: str
    category: str | None
    priority: str | None
    calendar_id: uuid.UUID
    resolution_calendar_id: uuid.UUID | None
    first_response_minutes: int
    next_response_minutes: int
    resolution_minutes: int
    warn_at_percent: int
    active: bool
    created_at: datetime


class PolicyList(BaseModel):
    data: list[PolicyOut]


class CalendarIn(Strict):
    name: str = Field(min_length=1, max_length=64)
    timezone: str = Field(min_length=1, max_length=64, examples=["Asia/Shanghai"])
    hours: Hours = Field(examples=[{"0": [["09:00", "12:00"], ["13:00", "18:00"]]}])


class CalendarPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    hours: Hours | None = None


class CalendarOut(BaseModel):
    id: uuid.UUID
    name: str
    timezone: str
    hours: Hours
    created_at: datetime


class CalendarList(BaseModel):
    data: list[CalendarOut]


class DayIn(Strict):
    kind: Literal["holiday", "workday"]
    works_as: int | None = Field(
        default=None, ge=0, le=6,
        description="A make-up working day follows this weekday's hours (Monday = 0).",
    )  # fmt: skip
    name: str = Field(min_length=1, max_length=100)


class DayOut(BaseModel):
    day: date
    kind: str
    works_as: int | None
    name: str


class DayList(BaseModel):
    data: list[DayOut]


class ClockOut(BaseModel):
    kind: str
    status: str
    target_seconds: int
    used_seconds: int
    remaining_seconds: int
    due_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None
    met_at: datetime | None


class TicketSlaOut(BaseModel):
    ticket_id: uuid.UUID
    policy: PolicyOut | None
    escalated: bool
    expected_answer_at: datetime | None
    clocks: list[ClockOut]


class TickOut(BaseModel):
    warned: int
    breached: int
    escalated: int
