"""Request and response bodies of the identity API (auth, /v1/me, staff)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Generous but bounded: hashing a megabyte of "password" is a denial of service.
Password = Field(min_length=1, max_length=1024)
Locale = Literal["zh-CN", "en"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContactIn(_In):
    phone: str | None = Field(default=None, max_length=40, examples=["13812345678"])
    email: str | None = Field(default=None, max_length=320, examples=["zhang@example.com"])

    @model_validator(mode="after")
    def _exactly_one(self) -> ContactIn:
        if (self.phone is None) == (self.email is None):
            raise ValueError("give either `phone` or `email`")
        return self

    @property
    def kind(self) -> Literal["phone", "email"]:
        return "phone" if self.phone is not None else "email"

    @property
    def value(self) -> str:
        return self.phone if self.phone is not None else str(self.email)


class SignUpIn(ContactIn):
    password: str = Password
    display_name: str | None = Field(default=None, max_length=100)
    locale: Locale = "zh-CN"


class SignUpOut(BaseModel):
    status: Literal["verification_sent"] = "verification_sent"
    channel: Literal["phone", "email"]
    contact: str = Field(description="Where the code went, masked (138****5678).")
    expires_in_seconds: int


class VerifyContactIn(_In):
    identifier: str = Field(max_length=320, description="The phone number or email signed up with.")
    password: str = Password
    code: str = Field(min_length=1, max_length=16)
    device_token: str | None = Field(default=None, max_length=200)


class SignInIn(_In):
    identifier: str = Field(max_length=320, description="Phone number or email address.")
    password: str = Password
    device_token: str | None = Field(
        default=None, max_length=200,
        description="The device token from an earlier sign-in (apps; browsers use a cookie).",
    )  # fmt: skip


class FactorProof(_In):
    method: Literal["totp", "passkey", "recovery_code"]
    proof: dict[str, Any] = Field(
        description='{"code": "123456"} for totp and recovery_code; {"challenge_id": ..., '
        '"credential": <WebAuthn assertion>} for passkey.'
    )


class SecondFactorIn(FactorProof):
    pending_token: str = Field(max_length=200)
    device_token: str | None = Field(default=None, max_length=200)


class SignInOut(BaseModel):
    status: Literal["signed_in", "second_factor_required"]
    token: str | None = Field(default=None, description="The session token (bearer).")
    token_type: Literal["Bearer"] | None = None
    session_id: uuid.UUID | None = None
    expires_at: datetime | None = Field(default=None, description="Absolute end of the session.")
    idle_timeout_seconds: int | None = None
    device_token: str | None = Field(
        default=None, description="Set on a device's first sign-in: keep it and send it again."
    )
    kind: Literal["holder", "staff"] | None = None
    pending_token: str | None = Field(
        default=None, description="With second_factor_required: send it with the factor."
    )
    methods: list[str] = Field(default_factory=list)
    passkey: dict[str, Any] | None = Field(
        default=None, description="WebAuthn assertion options (`challenge_id`, `options`)."
    )


class PasswordStrengthIn(_In):
    password: str = Password
    context: list[str] = Field(
        default_factory=list, max_length=10,
        description="Words the password should not be built from (the phone, the email, a name).",
    )  # fmt: skip
    staff: bool = False


class PasswordStrengthOut(BaseModel):
    score: int = Field(ge=0, le=4, description="0 too guessable ... 4 very unguessable.")
    warning: str
    suggestions: list[str]
    acceptable: bool
    problem: str | None = Field(default=None, description="Why it would be refused.")


class PasswordChangeIn(_In):
    current_password: str = Password
    new_password: str = Password


class ResetRequestIn(_In):
    identifier: str = Field(max_length=320)


class ResetRequestOut(BaseModel):
    status: Literal["sent_if_registered"] = "sent_if_registered"


class ResetConfirmIn(_In):
    identifier: str = Field(max_length=320)
    code: str = Field(min_length=1, max_length=16)
    new_password: str = Password
    second_factor: FactorProof | None = None


class ContactOut(BaseModel):
    kind: Literal["phone", "email"]
    masked: str
    verified: bool


class MeOut(BaseModel):
    id: uuid.UUID
    kind: Literal["holder", "staff"]
    status: str
    tier: str
    locale: str
    display_name: str | None = Field(description="Masked (张*明).")
    contacts: list[ContactOut]
    second_factors: list[str]
    created_at: datetime


class MePatch(_In):
    locale: Locale | None = None
    display_name: str | None = Field(default=None, min_length=1, max_length=100)


class ContactChangeIn(ContactIn):
    pass


class ContactChangeOut(BaseModel):
    status: Literal["verification_sent"] = "verification_sent"
    contact: str


class ContactVerifyIn(_In):
    code: str = Field(min_length=1, max_length=16)


class SessionOut(BaseModel):
    id: uuid.UUID
    current: bool
    created_at: datetime
    last_seen_at: datetime
    idle_expires_at: datetime
    expires_at: datetime
    user_agent: str | None
    device_id: uuid.UUID | None
    auth_methods: list[str]


class SessionList(BaseModel):
    data: list[SessionOut]


class NotificationOut(BaseModel):
    id: uuid.UUID
    kind: str
    title: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class NotificationList(BaseModel):
    data: list[NotificationOut]
    unread: int


# -- staff --------------------------------------------------------------------------------


class StaffMeOut(BaseModel):
    id: uuid.UUID
    role: str
    pseudonym: str | None
    display_name: str | None
    email: str | None
    permissions: list[str]


class HolderSummary(BaseModel):
    id: uuid.UUID
    status: str
    tier: str
    display_name: str | None = Field(description="Masked.")
    contacts: list[ContactOut]
    created_at: datetime


class HolderList(BaseModel):
    data: list[HolderSummary]
    next_cursor: str | None


class HolderDetail(HolderSummary):
    locale: str
    second_factors: list[str]
    live_sessions: int
    updated_at: datetime


class StaffMemberOut(BaseModel):
    id: uuid.UUID
    role: str
    pseudonym: str | None
    status: str
    second_factor: bool
    created_at: datetime


class StaffMemberList(BaseModel):
    data: list[StaffMemberOut]
