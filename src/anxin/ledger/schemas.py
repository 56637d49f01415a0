"""Request and response bodies of the ledger API.

Amounts are JSON integers in minor units (fen, cents, points), strictly: ``10.5``,
``"10"`` and ``true`` are refused rather than coerced, because silently converting money
is how money gets lost.
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    model_validator,
)

from anxin.ledger.commands import MAX_AMOUNT

_MAX_METADATA_BYTES = 4096


def no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refusing it here keeps both databases alike and
    # turns what would be a database error into a validation error.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _check_json_value(value: Any) -> None:
    if isinstance(value, str):
        no_nul(value)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite (no NaN or Infinity)")
    elif isinstance(value, dict):
        for key, item in value.items():
            no_nul(key)
            _check_json_value(item)
    elif isinstance(value, list):
        for item in value:
            _check_json_value(item)


def _metadata(value: dict[str, Any]) -> dict[str, Any]:
    _check_json_value(value)
    if len(json.dumps(value, ensure_ascii=False).encode()) > _MAX_METADATA_BYTES:
        raise ValueError(f"metadata is limited to {_MAX_METADATA_BYTES} bytes of JSON")
    return value


Amount = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT, description="Minor units, > 0")]
AssetCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{2,15}$", examples=["CNY"])]
Text200 = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(no_nul)]
Kind = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.:-]+$")]
Metadata = Annotated[dict[str, Any], AfterValidator(_metadata)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BalanceOut(BaseModel):
    posted: int
    pending: int
    available: int


class AccountCreate(Strict):
    asset: AssetCode
    allow_negative: StrictBool = False
    owner_ref: Text200 | None = None
    label: Text200 | None = None
    metadata: Metadata = Field(default_factory=dict)


class AccountOut(BaseModel):
    id: uuid.UUID
    asset: str
    allow_negative: bool
    status: Literal["active", "frozen", "closed"]
    status_reason: str | None
    owner_ref: str | None
    label: str | None
    metadata: dict[str, Any]
    balance: BalanceOut
    created_at: datetime
    updated_at: datetime


class AccountList(BaseModel):
    data: list[AccountOut]
    next_cursor: str | None


class StatusChange(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500), AfterValidator(no_nul)]


class TransferCreate(Strict):
    source: uuid.UUID
    destination: uuid.UUID
    amount: Amount
    asset: AssetCode
    kind: Kind = "transfer"
    reference: Text200 | None = None
    metadata: Metadata = Field(default_factory=dict)
    pending: StrictBool = Field(
        default=False, description="Reserve the funds (a hold) instead of moving them now."
    )
    timeout_seconds: Annotated[StrictInt, Field(gt=0, le=366 * 86400)] | None = Field(
        default=None, description="For a pending transfer: void it automatically after this."
    )

    @model_validator(mode="after")
    def _timeout_needs_hold(self) -> TransferCreate:
        # A timeout on an immediate transfer would be silently meaningless.
        if self.timeout_seconds is not None and not self.pending:
            raise ValueError("timeout_seconds is only for pending transfers")
        return self


class BatchCreate(Strict):
    transfers: Annotated[list[TransferCreate], Field(min_length=1, max_length=1000)]
    linked: StrictBool = Field(
        default=False, description="All-or-none: if one transfer fails, none is made."
    )


class PostPending(Strict):
    amount: Amount | None = Field(default=None, description="Default: the full amount held.")
    metadata: Metadata = Field(default_factory=dict)


class VoidPending(Strict):
    metadata: Metadata = Field(default_factory=dict)


class ReverseCreate(Strict):
    amount: Amount | None = Field(default=None, description="Default: all not yet reversed.")
    kind: Kind = "reversal"
    reference: Text200 | None = None
    metadata: Metadata = Field(default_factory=dict)


class TransferOut(BaseModel):
    id: uuid.UUID
    action: Literal["transfer", "hold", "post", "void", "expire", "reverse"]
    kind: str
    status: Literal["posted", "pending", "voided", "expired"]
    source: uuid.UUID
    destination: uuid.UUID
    asset: str
    amount: int
    pending_id: uuid.UUID | None
    reverses_id: uuid.UUID | None
    link_id: uuid.UUID | None
    reference: str | None
    metadata: dict[str, Any]
    expires_at: datetime | None
    created_at: datetime
    settled_amount: int | None = Field(
        default=None,
        description="For a hold: the amount finally posted. For a posted transfer: the "
        "amount reversed so far. Absent in the answer to the request that created it.",
    )


class TransferList(BaseModel):
    data: list[TransferOut]
    next_cursor: str | None


class BatchItemOut(BaseModel):
    index: int
    status: Literal["created", "rejected"]
    transfer: TransferOut | None = None
    error: dict[str, Any] | None = None


class BatchOut(BaseModel):
    linked: bool
    results: list[BatchItemOut]


class EntryOut(BaseModel):
    seq: int
    transfer_id: uuid.UUID
    side: Literal["debit", "credit"]
    posted: int = Field(description="Change to the posted debits or credits of this side")
    pending: int = Field(description="Signed change to the pending debits or credits")
    balance: BalanceOut = Field(description="The account's balance after this entry")
    created_at: datetime


class EntryPageOut(BaseModel):
    data: list[EntryOut]
    next_cursor: str | None


class AssetCreate(Strict):
    code: AssetCode
    name: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(no_nul)]
    scale: Annotated[StrictInt, Field(ge=0, le=18)]


class AssetOut(BaseModel):
    code: str
    name: str
    scale: int
    kind: Literal["currency", "custom"]
