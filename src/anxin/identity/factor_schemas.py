"""Request and response bodies of the second-factor, step-up, KYC and limits endpoints."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from anxin.identity.kyc import KycSubmission

Method = Literal["totp", "passkey", "recovery_code"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- factors --------------------------------------------------------------------------------


class TotpOut(BaseModel):
    id: uuid.UUID
    enrolled_at: datetime | None


class PasskeyOut(BaseModel):
    id: uuid.UUID
    name: str
    created_at: datetime
    last_used_at: datetime | None
    backed_up: bool = Field(description="Synced to the user's other devices (a backup exists).")


class FactorsOut(BaseModel):
    methods: list[Method] = Field(description="What can be used as a second factor now.")
    totp: TotpOut | None
    passkeys: list[PasskeyOut]
    recovery_codes_left: int


class TotpStarted(BaseModel):
    factor_id: uuid.UUID
    secret: str = Field(description="Base32 seed, for typing into the app by hand.")
    otpauth_uri: str = Field(description="otpauth:// URI to show as a QR code.")


class TotpConfirm(_Body):
    code: str = Field(min_length=1, max_length=16, description="The app's current 6-digit code.")


class RecoveryCodesOut(BaseModel):
    codes: list[str] = Field(description="Shown once; each works once. Old codes stop working.")


class PasskeyOptionsOut(BaseModel):
    challenge_id: uuid.UUID
    options: dict[str, Any] = Field(
        description="Options for navigator.credentials.create() or .get(), JSON-encoded "
        "(binary values as base64url)."
    )


class PasskeyRegister(_Body):
    challenge_id: uuid.UUID
    credential: dict[str, Any] = Field(
        description="The PublicKeyCredential from navigator.credentials.create(), as JSON."
    )
    name: str = Field(default="Passkey", min_length=1, max_length=100)


class PasskeyList(BaseModel):
    items: list[PasskeyOut]


# -- passwordless and step-up ---------------------------------------------------------------


class PasskeySignIn(_Body):
    challenge_id: uuid.UUID
    credential: dict[str, Any] = Field(
        description="The PublicKeyCredential from navigator.credentials.get(), as JSON."
    )
    device_token: str | None = Field(
        default=None, max_length=200, description="The device token from an earlier sign-in."
    )


class StepUpProof(_Body):
    method: Method
    proof: dict[str, Any] = Field(
        description='{"code": "123456"} for totp or recovery_code; {"challenge_id": ..., '
        '"credential": {...}} for passkey (options from '
        "POST /v1/me/factors/passkeys/assertion-options)."
    )


class StepUpTokenOut(BaseModel):
    step_up_token: str = Field(
        description="Send as the X-Step-Up-Token header when repeating the action. Single use."
    )
    expires_at: datetime
    action: dict[str, Any]


# -- KYC ------------------------------------------------------------------------------------


class KycSubmit(_Body):
    tier: Literal["basic", "full"]
    full_name: str = Field(min_length=1, max_length=200)
    id_type: Literal["resident_id", "passport"]
    id_number: str = Field(min_length=6, max_length=32, pattern=r"^[0-9A-Za-z]+$")
    date_of_birth: date
    nationality: str = Field(min_length=2, max_length=2, pattern=r"^[A-Z]{2}$")
    address: str | None = Field(default=None, max_length=500)

    def submission(self) -> KycSubmission:
        return KycSubmission(
            full_name=self.full_name, id_type=self.id_type, id_number=self.id_number.upper(),
            date_of_birth=self.date_of_birth, nationality=self.nationality, address=self.address,
        )  # fmt: skip


class KycOut(BaseModel):
    tier: str = Field(description="The holder's tier now.")
    check_id: uuid.UUID | None = None
    applied_for: str | None = None
    status: Literal["none", "pending", "approved", "rejected"]
    reason: str | None = None
    submitted_at: datetime | None = None
    decided_at: datetime | None = None


# -- limits ---------------------------------------------------------------------------------


class TierLimitOut(BaseModel):
    balance: int
    daily_outflow: int
    monthly_outflow: int


class DailyLimitOut(BaseModel):
    currency: str
    tier_limit: int | None
    chosen: int | None = Field(description="The holder's own limit; null: the tier's applies.")
    effective: int | None


class LimitsOut(BaseModel):
    tier: str
    limits: dict[str, TierLimitOut] = Field(description="Per currency, in minor units.")
    daily_limit: DailyLimitOut


class LimitsUpdate(_Body):
    daily_limit: StrictInt | None = Field(
        ge=0,
        description="Own daily payment limit in minor units of the daily-limit currency; "
        "null to use the tier's. Lowering applies at once, raising needs step-up.",
    )
