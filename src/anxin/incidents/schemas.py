"""Request and response bodies of the incidents' staff API and the status subscriptions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from anxin.ledger.schemas import Strict

Severity = Literal["minor", "major", "critical"]
IncidentStatus = Literal["investigating", "identified", "monitoring", "resolved", "reviewed"]
UpdateTemplate = Literal["investigating", "identified", "monitoring", "resolved"]
Lang = Literal["zh", "en"]


class IncidentIn(Strict):
    title: str = Field(min_length=1, max_length=200)
    severity: Severity = "major"
    category: str | None = Field(default=None, max_length=24)
    cause_key: str | None = Field(default=None, max_length=200)
    lead_id: uuid.UUID | None = None
    started_at: AwareDatetime | None = None


class IncidentPatch(Strict):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    severity: Severity | None = None
    category: str | None = Field(default=None, max_length=24)
    lead_id: uuid.UUID | None = None
    root_cause: str | None = Field(default=None, max_length=4000)
    started_at: AwareDatetime | None = None


class StatusChangeIn(Strict):
    status: IncidentStatus
    note: str | None = Field(default=None, max_length=4000)


class NoteIn(Strict):
    text: str = Field(min_length=1, max_length=4000)


class LinkTicketsIn(Strict):
    ticket_ids: list[uuid.UUID] = Field(min_length=1, max_length=500)


class AffectedQueryIn(Strict):
    definition: dict[str, Any]


class AffectedHoldersIn(Strict):
    holder_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)


class UpdateText(Strict):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=4000)


class UpdateIn(Strict):
    template: UpdateTemplate | None = None
    details: dict[Lang, str] = Field(default_factory=dict)
    texts: dict[Lang, UpdateText] | None = None
    status: UpdateTemplate | None = None


class NotifyIn(Strict):
    stage: Literal["affected", "resolved"] = "affected"
    limit: int = Field(default=5000, ge=1, le=50_000, strict=True)


class SubscribeIn(Strict):
    email: str = Field(min_length=3, max_length=254)
    locale: Lang = "zh"


class IncidentOut(BaseModel):
    id: uuid.UUID
    reference: str
    title: str
    status: str
    severity: str
    category: str | None
    cause_key: str | None
    lead_id: uuid.UUID | None
    opened_by: uuid.UUID | None
    root_cause: str | None
    started_at: datetime | None
    detected_at: datetime
    identified_at: datetime | None
    monitoring_at: datetime | None
    resolved_at: datetime | None
    reviewed_at: datetime | None
    first_announced_at: datetime | None
    first_notified_at: datetime | None
    compensated_at: datetime | None
    affected: dict[str, int]
    tickets: int


class IncidentList(BaseModel):
    data: list[IncidentOut]


class EventOut(BaseModel):
    id: uuid.UUID
    kind: str
    actor_id: uuid.UUID | None
    data: dict[str, Any]
    at: datetime


class EventList(BaseModel):
    data: list[EventOut]


class UpdateOut(BaseModel):
    id: uuid.UUID
    status: str
    template: str | None
    texts: dict[str, Any]
    published_by: uuid.UUID | None
    published_at: datetime


class UpdateList(BaseModel):
    data: list[UpdateOut]


class PreviewOut(BaseModel):
    definition: dict[str, Any]
    holders: int
    items: int
    new_holders: int
    totals: dict[str, int]


class AppliedOut(PreviewOut):
    query_id: uuid.UUID


class AffectedOut(BaseModel):
    holder_id: uuid.UUID
    source: str
    facts: dict[str, Any]
    added_at: datetime
    notified_at: datetime | None
    resolution_notified_at: datetime | None


class AffectedList(BaseModel):
    data: list[AffectedOut]
    counts: dict[str, int]


class LinkedOut(BaseModel):
    linked: int


class NotifyOut(BaseModel):
    stage: str
    holders: int
    tickets: int
    skipped_tickets: int
    remaining: int


class Accepted(BaseModel):
    detail: str
