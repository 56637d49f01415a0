"""Request and response bodies of the data-rights API: approvals, staff exports, the
holder's own data (export, correction, closure), breaches and status announcements."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from anxin.identity.schemas import Locale


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- approvals ------------------------------------------------------------------------------


class ApprovalOut(BaseModel):
    id: uuid.UUID
    kind: str
    subject_ref: str
    requested_by: uuid.UUID
    payload: dict[str, Any] = Field(description="What is to be approved (no personal data).")
    status: str = Field(description="pending, approved, rejected, expired or cancelled.")
    created_at: datetime
    expires_at: datetime
    decided_by: uuid.UUID | None
    decided_at: datetime | None


class ApprovalList(BaseModel):
    data: list[ApprovalOut]


class DecisionIn(_In):
    note: str | None = Field(default=None, max_length=1000, description="Why (kept private).")


class RejectIn(_In):
    note: str = Field(min_length=1, max_length=1000, description="Why not.")


# -- staff exports --------------------------------------------------------------------------


class HolderQueryIn(_In):
    status: Literal["pending", "active", "suspended"] | None = None
    tier: Literal["unverified", "basic", "full"] | None = None
    created_from: AwareDatetime | None = None
    created_to: AwareDatetime | None = None


class ExportIn(_In):
    holder_ids: list[uuid.UUID] | None = Field(
        default=None, min_length=1, max_length=10_000, description="These holders, or:"
    )
    query: HolderQueryIn | None = Field(
        default=None, description="Holders matching account facts, fixed when asked for."
    )
    fields: list[str] = Field(min_length=1, max_length=20)
    reason: str = Field(
        min_length=1, max_length=1000,
        description="Why. Every holder in the export reads it in their access log.",
    )  # fmt: skip
    reference: str | None = Field(default=None, max_length=100, description="E.g. a case.")
    format: Literal["csv", "json"] = "csv"


class ExportOut(BaseModel):
    id: uuid.UUID
    status: str = Field(description="pending_approval, approved, rejected, expired, cancelled")
    approval_id: uuid.UUID
    requested_by: uuid.UUID
    approved_by: uuid.UUID | None
    format: str
    fields: list[str]
    reason: str
    reference: str | None
    holders: int
    created_at: datetime
    approved_at: datetime | None
    available_until: datetime | None
    downloads: int


class ExportList(BaseModel):
    data: list[ExportOut]


class ExportLinkOut(BaseModel):
    url: str = Field(description="GET it (with your session) once, before `expires_at`.")
    expires_at: datetime


class TraceIn(_In):
    content: str = Field(min_length=1, max_length=900_000, description="The file as found.")


class TraceMatchOut(BaseModel):
    export_id: uuid.UUID
    requested_by: uuid.UUID
    requested_by_pseudonym: str | None
    approved_by: uuid.UUID | None
    downloads: int
    named_in_header: bool
    rows_matched: int
    canary_found: bool


class TraceOut(BaseModel):
    matches: list[TraceMatchOut]


# -- the holder's own data ------------------------------------------------------------------


class ProfilePatch(_In):
    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    locale: Locale | None = None


class ProfileOut(BaseModel):
    display_name: str | None = Field(description="Yours, in full: you are the one asking.")
    locale: str
    updated_at: datetime


class CloseIn(_In):
    password: str = Field(min_length=1, max_length=1024, description="Your current password.")
    payout_source_id: uuid.UUID | None = Field(
        default=None,
        description="A linked bank account to pay any remaining balance to; without one, "
        "every balance must be zero.",
    )
    confirm: Literal["CLOSE"] = Field(description='Type "CLOSE": this cannot be undone.')


class PayoutOut(BaseModel):
    asset: str
    amount: int
    destination: str


class ClosedOut(BaseModel):
    closed_at: datetime
    retain_until: datetime = Field(
        description="Until then the ledger keeps your transactions under a pseudonym, as "
        "the law requires; your personal data is erased now."
    )
    payouts: list[PayoutOut]


# -- breaches and status --------------------------------------------------------------------


class FactsIn(_In):
    what_happened: str = Field(min_length=1, max_length=2000)
    what_we_are_doing: str = Field(min_length=1, max_length=2000)
    what_you_should_do: str = Field(min_length=1, max_length=2000)


class BreachHoldersIn(_In):
    holder_ids: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=100_000)
    query: HolderQueryIn | None = None
    all_holders: bool = False


class BreachIn(_In):
    title: str = Field(min_length=1, max_length=200)
    scope: str = Field(min_length=1, max_length=4000, description="Systems and how; no names.")
    data_categories: list[str] = Field(min_length=1, max_length=20)
    discovered_at: AwareDatetime
    holders: BreachHoldersIn
    facts: dict[Literal["zh-CN", "en"], FactsIn] = Field(
        description="The facts in each language notices are sent in (zh-CN and en)."
    )


class BreachOut(BaseModel):
    id: uuid.UUID
    reference: str
    title: str
    scope: str
    data_categories: list[str]
    status: str
    discovered_at: datetime
    recorded_at: datetime
    deadline_at: datetime
    seconds_left: int = Field(description="Until the notification deadline (negative: late).")
    deadline_state: str = Field(description="ok, near (alert) or overdue; done once notified.")
    affected: int
    notified: int
    unreachable: int
    texts: dict[str, Any] | None
    approval_id: uuid.UUID | None
    approved_by: uuid.UUID | None
    approved_at: datetime | None
    announcement_id: uuid.UUID | None
    authority_notified_at: datetime | None
    holders_notified_at: datetime | None


class BreachList(BaseModel):
    data: list[BreachOut]


class SendOut(BaseModel):
    notified: int
    unreachable: int
    remaining: int


class AnnouncementOut(BaseModel):
    id: uuid.UUID
    kind: str
    status: str
    published_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    texts: dict[str, dict[str, str]] = Field(description="Title and body per language.")


class AnnouncementList(BaseModel):
    data: list[AnnouncementOut]
