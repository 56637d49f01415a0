"""Request and response bodies of the insider-privacy API: reveals, cases, compliance
alerts, break-glass reviews, and the holder's access log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Field_ = Literal[
    "display_name", "phone", "email", "legal_name", "id_type", "id_number", "id_number_last4",
    "date_of_birth", "address", "nationality",
]  # fmt: skip


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RevealIn(_In):
    fields: list[Field_] = Field(min_length=1, max_length=10, description="What to unmask.")
    case_id: uuid.UUID | None = Field(
        default=None, description="An open case about this holder, assigned to you."
    )
    break_glass_reason: str | None = Field(
        default=None, min_length=1, max_length=1000,
        description="Only without a case: why this cannot wait. Compliance is alerted at "
        "once and reviews it; the holder is told.",
    )  # fmt: skip


class RevealOut(BaseModel):
    reveal_id: uuid.UUID
    holder_id: uuid.UUID
    values: dict[str, str | None] = Field(description="Unmasked; null where there is none.")
    purpose: dict[str, Any]
    break_glass: bool
    expires_at: datetime = Field(description="Until then `GET /v1/staff/reveals/{id}`.")


class CaseIn(_In):
    holder_id: uuid.UUID
    assignee_id: uuid.UUID | None = None
    summary: str | None = Field(
        default=None, max_length=500, description="What the case is about; no personal data."
    )


class AssignIn(_In):
    assignee_id: uuid.UUID


class CaseOut(BaseModel):
    id: uuid.UUID
    kind: str
    reference: str
    holder_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    status: str
    summary: str | None
    opened_by: uuid.UUID | None
    opened_at: datetime
    closed_at: datetime | None


class CaseList(BaseModel):
    data: list[CaseOut]
    next_cursor: str | None


class AlertOut(BaseModel):
    id: uuid.UUID
    kind: str
    severity: str
    staff_id: uuid.UUID | None
    holder_id: uuid.UUID | None
    details: dict[str, Any]
    created_at: datetime
    acknowledged_by: uuid.UUID | None
    acknowledged_at: datetime | None
    note: str | None


class AlertList(BaseModel):
    data: list[AlertOut]
    next_cursor: str | None


class AcknowledgeIn(_In):
    note: str = Field(min_length=1, max_length=1000, description="What was done about it.")


class BreakGlassOut(BaseModel):
    reveal_id: uuid.UUID
    staff_id: uuid.UUID
    holder_id: uuid.UUID
    fields: list[str]
    reason: str | None
    created_at: datetime
    review_status: str
    review_due_at: datetime | None
    reviewed_by: uuid.UUID | None
    reviewed_at: datetime | None
    review_note: str | None


class BreakGlassList(BaseModel):
    data: list[BreakGlassOut]


class ReviewIn(_In):
    outcome: Literal["justified", "unjustified"]
    note: str = Field(min_length=1, max_length=1000)


class AccessLogOut(BaseModel):
    id: uuid.UUID
    at: datetime
    staff: str = Field(description="The staff member's pseudonym (never their name).")
    role: str
    action: str = Field(description="reveal, export, freeze, unfreeze, suspend, ...")
    fields: list[str]
    purpose: dict[str, Any] = Field(description="The case (kind, reference) or the reason.")
    break_glass: bool


class AccessLogList(BaseModel):
    data: list[AccessLogOut]
    next_cursor: str | None
