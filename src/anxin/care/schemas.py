"""Request and response bodies of the care desk's holder and staff APIs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from anxin.ledger.schemas import Strict

Category = Literal[
    "unauthorized_debit", "funds_frozen", "topup_withdrawal", "verification_login", "fees",
    "points", "refund", "service_quality", "privacy", "feature_request", "other",
]  # fmt: skip
Priority = Literal["low", "normal", "high", "urgent"]
Status = Literal["new", "open", "pending_customer", "resolved", "closed"]
Language = Literal["zh", "en"]


# -- holder -----------------------------------------------------------------------------------


class ComplaintIn(Strict):
    subject: str = Field(default="", max_length=200)
    body: str = Field(min_length=1, max_length=20_000)
    transfer_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)


class HolderMessageIn(Strict):
    body: str = Field(min_length=1, max_length=20_000)


class RatingIn(Strict):
    rating: int = Field(ge=1, le=5, strict=True)
    comment: str | None = Field(default=None, max_length=2000)


class PublicMessageOut(BaseModel):
    id: uuid.UUID
    author: Literal["you", "agent", "system"]
    body: str
    channel: str
    created_at: datetime


class CsatOut(BaseModel):
    requested_at: datetime
    rating: int | None
    comment: str | None
    answered_at: datetime | None


class HolderTicketSummary(BaseModel):
    id: uuid.UUID
    reference: str
    subject: str
    status: str
    category: str
    channel: str
    created_at: datetime
    updated_at: datetime
    expected_answer_at: datetime | None = Field(
        description="When the next answer is due (None when resolved, closed or waiting for you)."
    )
    merged_into: str | None = Field(description="Reference of the ticket this one continues in.")


class HolderTicketOut(HolderTicketSummary):
    transfer_ids: list[str]
    messages: list[PublicMessageOut]
    csat: CsatOut | None


class HolderTicketList(BaseModel):
    data: list[HolderTicketSummary]


class HolderReplyOut(BaseModel):
    ticket: HolderTicketOut
    new_ticket: bool = Field(
        description="True when the ticket was closed, so your message opened a new one."
    )


# -- staff ------------------------------------------------------------------------------------


class ReplyIn(Strict):
    body: str | None = Field(default=None, min_length=1, max_length=20_000)
    macro_id: uuid.UUID | None = None
    status: Literal["open", "pending_customer", "resolved"] | None = None


class NoteIn(Strict):
    body: str = Field(min_length=1, max_length=20_000)


class AssignIn(Strict):
    assignee_id: uuid.UUID | None


class StatusIn(Strict):
    status: Status


class TicketPatch(Strict):
    category: Category | None = None
    priority: Priority | None = None


class MergeIn(Strict):
    into_ticket_id: uuid.UUID


class LinkIn(Strict):
    kind: Literal["holder", "account", "transfer", "ticket", "incident", "freeze"]
    ref: str = Field(min_length=1, max_length=100)


class QueueCountOut(BaseModel):
    category: str
    language: str
    tickets: int
    unassigned: int
    escalated: int


class QueueCounts(BaseModel):
    data: list[QueueCountOut]


class QueueItemOut(BaseModel):
    id: uuid.UUID
    reference: str
    subject: str
    status: str
    priority: str
    category: str
    language: str
    channel: str
    assignee_id: uuid.UUID | None
    escalated: bool
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime


class QueueList(BaseModel):
    data: list[QueueItemOut]


class HolderCardOut(BaseModel):
    """The holder as agents see them: masked, enough to recognise, not to reveal."""

    id: uuid.UUID
    name: str | None
    contacts: list[str]
    tier: str
    status: str


class StaffMessageOut(BaseModel):
    id: uuid.UUID
    ticket_reference: str
    author_kind: str
    author_id: uuid.UUID | None
    visibility: str
    channel: str
    body: str
    created_at: datetime


class EventOut(BaseModel):
    kind: str
    actor_id: uuid.UUID | None
    data: dict[str, Any]
    created_at: datetime


class ClockOut(BaseModel):
    kind: str
    status: str
    due_at: datetime | None
    breached_at: datetime | None
    met_at: datetime | None


class LinkOut(BaseModel):
    kind: str
    ref: str


class StaffTicketOut(BaseModel):
    id: uuid.UUID
    reference: str
    subject: str
    status: str
    priority: str
    category: str
    category_source: str
    category_confidence: int | None
    language: str
    channel: str
    holder: HolderCardOut | None
    contact: str | None = Field(description="The ticket's email or phone, masked.")
    assignee_id: uuid.UUID | None
    escalated: bool
    merged_into_id: uuid.UUID | None
    reopen_count: int
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    reopen_until: datetime | None
    closed_at: datetime | None
    expected_answer_at: datetime | None
    clocks: list[ClockOut]
    links: list[LinkOut]
    messages: list[StaffMessageOut]
    events: list[EventOut]
    csat: CsatOut | None


class MacroIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    language: Language
    category: Category | None = None
    body: str = Field(min_length=1, max_length=4000)


class MacroPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    category: Category | None = None
    clear_category: bool = False
    body: str | None = Field(default=None, min_length=1, max_length=4000)
    active: bool | None = None


class MacroOut(BaseModel):
    id: uuid.UUID
    name: str
    language: str
    category: str | None
    body: str
    active: bool
    created_at: datetime


class MacroList(BaseModel):
    data: list[MacroOut]
    placeholders: list[str]


class RenderIn(Strict):
    ticket_id: uuid.UUID


class RenderOut(BaseModel):
    text: str
