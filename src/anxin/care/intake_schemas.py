"""Request and response bodies of the intake channels: the public contact form, chat,
phone notes and the social-media import."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from anxin.care.schemas import Category, HolderTicketSummary, Language, Priority
from anxin.ledger.schemas import Strict

# -- contact form -------------------------------------------------------------------------


class ContactFormIn(Strict):
    kind: Literal["email", "phone"] = Field(description="How we may answer you.")
    value: str = Field(min_length=3, max_length=320, description="Your email or phone number.")
    subject: str = Field(default="", max_length=200)
    body: str = Field(min_length=1, max_length=20_000, description="What happened.")
    language: Language | None = Field(default=None, description="Default: detected.")


class ContactFormOut(BaseModel):
    id: uuid.UUID = Field(description="Send the code to `POST /v1/care/contact/{id}/verify`.")
    status: Literal["verification_sent"] = "verification_sent"
    channel: Literal["email", "phone"]
    contact: str = Field(description="Where the code went, masked.")
    expires_in_seconds: int


class ContactVerifyIn(Strict):
    code: str = Field(min_length=1, max_length=16)


class ContactTicketOut(BaseModel):
    reference: str = Field(description="Quote it in the subject of emails about this complaint.")
    status: str
    channel: str


# -- chat ---------------------------------------------------------------------------------


class ChatIn(Strict):
    body: str = Field(min_length=1, max_length=20_000)


class ChatMessageOut(BaseModel):
    id: uuid.UUID
    author: str = Field(description="Holders: you, agent or system; staff: customer, agent...")
    visibility: str = Field(description="public, or internal (notes, shown to staff only)")
    body: str
    created_at: datetime


class ChatOut(BaseModel):
    ticket: HolderTicketSummary
    message: ChatMessageOut = Field(description="The message just sent.")
    new_chat: bool = Field(description="True when the chat was closed, so a new one began.")


class ChatHistory(BaseModel):
    data: list[ChatMessageOut]
    last_event_id: uuid.UUID | None = Field(
        description="Give it as `after` (or `Last-Event-ID` on the stream) to continue."
    )


# -- phone notes --------------------------------------------------------------------------


class PhoneNoteIn(Strict):
    phone: str = Field(min_length=3, max_length=32, description="The caller's number.")
    subject: str = Field(default="", max_length=200)
    body: str = Field(min_length=1, max_length=20_000, description="What the caller said.")
    category: Category | None = Field(default=None, description="Default: the classifier's.")
    priority: Priority = "normal"
    language: Language | None = None


# -- social import ------------------------------------------------------------------------


class SocialPostIn(Strict):
    platform: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    external_id: str = Field(min_length=1, max_length=150)
    author: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=20_000)
    url: str | None = Field(default=None, max_length=2000)
    posted_at: AwareDatetime


class SocialImportIn(Strict):
    posts: list[SocialPostIn] = Field(min_length=1, max_length=500)


class SocialImportedOut(BaseModel):
    external_ref: str
    reference: str
    created: bool


class SocialImportOut(BaseModel):
    created: int
    duplicate: int
    tickets: list[SocialImportedOut]
