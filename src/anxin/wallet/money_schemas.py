"""Request and response bodies of the wallet money API. Amounts are strict JSON integers
in minor units, as everywhere in Anxin."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, StrictBool, StrictInt

from anxin.ledger.schemas import Amount, AssetCode, BalanceOut, Strict, no_nul

Note = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(no_nul)]
Count = Annotated[StrictInt, Field(ge=0, le=2**62)]
Bps = Annotated[StrictInt, Field(ge=0, le=10_000)]
Operation = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$", examples=["withdrawal"])]


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as error:
        raise ValueError("outside the range of representable times") from error


# A moment given by a client: with an offset (never guessed), stored in UTC.
Moment = Annotated[AwareDatetime, AfterValidator(_utc)]


# -- wallet and funding sources ---------------------------------------------------------------


class WalletAccountOut(BaseModel):
    asset: str
    status: str
    balance: BalanceOut


class FreezeNotice(BaseModel):
    id: uuid.UUID
    scope: str
    reason_code: str
    explanation: str
    next_steps: str
    review_by: datetime
    created_at: datetime
    status: str
    lifted_at: datetime | None = None


class WalletOut(BaseModel):
    accounts: list[WalletAccountOut]
    points: int
    freezes: list[FreezeNotice]


class SourceCreate(Strict):
    kind: Literal["card", "bank_account"]
    number: Annotated[str, Field(min_length=8, max_length=40), AfterValidator(no_nul)]


class SourceOut(BaseModel):
    id: uuid.UUID
    kind: str
    masked: str
    created_at: datetime


class SourceList(BaseModel):
    data: list[SourceOut]


# -- fees -------------------------------------------------------------------------------------


class QuoteRequest(Strict):
    operation: Operation
    amount: Amount
    asset: AssetCode = "CNY"
    points: Count = Field(default=0, description="Points you would use to pay the fee")


class FeeQuoteOut(BaseModel):
    operation: str
    asset: str
    amount: int
    gross_fee: int
    waived: int
    waiver_kind: str | None
    points_used: int
    points_discount: int
    fee: int
    total: int  # amount + fee: what the holder pays for an outgoing operation


# -- top-ups and withdrawals ------------------------------------------------------------------


class TopUpCreate(Strict):
    source_id: uuid.UUID
    amount: Amount
    asset: AssetCode = "CNY"
    fee: Count | None = Field(
        default=None, description="The fee the holder was shown; refused if it changed."
    )


class WithdrawalCreate(Strict):
    destination_id: uuid.UUID
    amount: Amount
    asset: AssetCode = "CNY"
    fee: Count | None = Field(
        default=None, description="The fee the holder was shown; refused if it changed."
    )


class FundingOrderOut(BaseModel):
    id: uuid.UUID
    direction: str
    status: str
    asset: str
    amount: int
    fee: int
    total: int
    source: SourceOut
    failure_reason: str | None
    created_at: datetime
    settled_at: datetime | None


class FundingOrderList(BaseModel):
    data: list[FundingOrderOut]
    next_cursor: str | None


# -- preferences ------------------------------------------------------------------------------


class PreferencesIn(Strict):
    email: StrictBool
    sms: StrictBool


class PreferencesOut(BaseModel):
    email: bool
    sms: bool


# -- freezes ----------------------------------------------------------------------------------


class FreezeCreate(Strict):
    scope: Literal["all", "outgoing"]
    reason_code: Annotated[str, Field(min_length=1, max_length=48)]
    note: Note
    review_days: Annotated[StrictInt, Field(ge=1, le=90)] | None = None


class FreezeLift(Strict):
    note: Note


class AppealCreate(Strict):
    message: Note


class AppealOut(BaseModel):
    id: uuid.UUID
    freeze_id: uuid.UUID
    status: str
    care_ticket_id: uuid.UUID | None
    created_at: datetime


class StaffFreezeOut(FreezeNotice):
    note: str
    created_by: uuid.UUID
    lifted_by: uuid.UUID | None
    lift_note: str | None
    appeals: list[AppealOut]


class StaffFreezeList(BaseModel):
    data: list[StaffFreezeOut]


class FreezeList(BaseModel):
    data: list[FreezeNotice]


# -- fee schedule and waivers (staff) ---------------------------------------------------------


class FeeRuleCreate(Strict):
    operation: Operation
    asset: AssetCode
    basis_points: Bps = 0
    fixed: Count = 0
    minimum: Count | None = None
    maximum: Count | None = None
    rounding: Literal["half_up", "up", "down"] = "half_up"
    valid_from: Moment | None = None


class FeeRuleOut(BaseModel):
    id: uuid.UUID
    operation: str
    asset: str
    basis_points: int
    fixed: int
    minimum: int | None
    maximum: int | None
    rounding: str
    valid_from: datetime
    valid_until: datetime | None
    created_at: datetime


class FeeRuleList(BaseModel):
    data: list[FeeRuleOut]


class WaiverCreate(Strict):
    kind: Literal["campaign", "holder", "time_window", "compensation"]
    reason: Note
    discount_bps: Annotated[StrictInt, Field(gt=0, le=10_000)] = 10_000
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    user_id: uuid.UUID | None = None
    campaign: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    operation: Operation | None = None
    asset: AssetCode | None = None
    max_uses: Annotated[StrictInt, Field(gt=0, le=1_000_000)] | None = None


class WaiverOut(BaseModel):
    id: uuid.UUID
    kind: str
    campaign: str | None
    user_id: uuid.UUID | None
    operation: str | None
    asset: str | None
    discount_bps: int
    max_uses: int | None
    uses: int
    starts_at: datetime
    ends_at: datetime | None
    reason: str
    created_by: uuid.UUID | None
    created_at: datetime
    revoked_at: datetime | None


class WaiverList(BaseModel):
    data: list[WaiverOut]


class FeeChargeOut(BaseModel):
    id: uuid.UUID
    operation: str
    reference: str
    user_id: uuid.UUID | None
    asset: str
    amount: int
    rule_id: uuid.UUID | None
    gross_fee: int
    waiver_id: uuid.UUID | None
    waived: int
    points_used: int
    points_discount: int
    fee: int
    created_at: datetime
    released_at: datetime | None


class FeeChargeList(BaseModel):
    data: list[FeeChargeOut]


# -- points -----------------------------------------------------------------------------------


class PointsRuleCreate(Strict):
    asset: AssetCode
    earn_points: Annotated[StrictInt, Field(ge=0, le=1_000_000)]
    earn_per: Annotated[StrictInt, Field(gt=0, le=2**62)]
    redeem_points: Annotated[StrictInt, Field(gt=0, le=1_000_000)]
    redeem_value: Annotated[StrictInt, Field(gt=0, le=2**62)]
    expiry_days: Annotated[StrictInt, Field(gt=0, le=3650)]
    max_points_per_payment: Annotated[StrictInt, Field(gt=0, le=2**62)] | None = None
    valid_from: Moment | None = None


class PointsRuleOut(BaseModel):
    id: uuid.UUID
    asset: str
    earn_points: int
    earn_per: int
    max_points_per_payment: int | None
    redeem_points: int
    redeem_value: int
    expiry_days: int
    valid_from: datetime
    valid_until: datetime | None


class PointsRuleList(BaseModel):
    data: list[PointsRuleOut]


class PointsLotOut(BaseModel):
    points: int
    remaining: int
    earned_at: datetime
    expires_at: datetime


class PointsOut(BaseModel):
    balance: int
    lots: list[PointsLotOut]


class RedeemCreate(Strict):
    points: Annotated[StrictInt, Field(gt=0, le=2**62)]
    asset: AssetCode = "CNY"


class RedeemOut(BaseModel):
    points: int
    asset: str
    amount: int
