"""What a remediation plan is asked to do (its spec), the typed errors of remediation, and
how a holder's ``AffectedHolder.facts`` name the debits to refund and the freezes to lift.

A spec combines any of four remedies, each computed for every affected holder:

- ``refund``: pay back each debit the facts name (the amount the holder was debited, never
  more than the ledger shows, less what was already reversed), from the operator's
  ``compensation`` account;
- ``goodwill``: credit the same amount to every holder;
- ``fee_waiver``: waive fees for a period (a ``compensation`` waiver per holder);
- ``unfreeze``: lift the holder's freezes the facts name, or those with given reason codes.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import Field, StrictInt, ValidationError, model_validator

from anxin.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from anxin.ledger.schemas import Amount, AssetCode, Strict
from anxin.wallet.fees import OPERATIONS
from anxin.wallet.freeze import REASONS

KINDS = ("unfreeze", "fee_waiver", "refund", "goodwill")  # also the order they are paid in
MONEY_KINDS = ("refund", "goodwill")
MAX_NOTE = 500

FeeOperation = Literal["topup", "withdrawal", "p2p", "payment", "mandate_debit", "refund"]
assert set(OPERATIONS) == set(FeeOperation.__args__)  # type: ignore[attr-defined]


class InvalidRemediation(Unprocessable):
    code = "invalid_remediation"
    title = "The remediation plan is not valid"


class PlanNotFound(NotFound):
    code = "remediation_plan_not_found"
    title = "No such remediation plan"


class PlanInProgress(Conflict):
    code = "remediation_plan_in_progress"
    title = "The incident already has a remediation plan that is not finished or rejected"


class PlanNotApprovable(Conflict):
    code = "remediation_plan_not_draft"
    title = "Only a draft plan can be approved or rejected"


class PlanNotExecutable(Conflict):
    code = "remediation_plan_not_approved"
    title = "Only an approved plan can be executed"


class FourEyes(Forbidden):
    code = "four_eyes"
    title = "The person who prepared a plan cannot approve or reject it"


class NotAllowed(Forbidden):
    code = "missing_permission"
    title = "Your role does not allow this"


class NothingToRemediate(Unprocessable):
    code = "nothing_to_remediate"
    title = "The plan would pay or change nothing"


class RefundSpec(Strict):
    transfer_ids: list[uuid.UUID] | None = Field(
        default=None, max_length=10_000,
        description="Refund only these of the debits the facts name (default: every one).",
    )  # fmt: skip


class GoodwillSpec(Strict):
    amount: Amount
    asset: AssetCode


class FeeWaiverSpec(Strict):
    days: Annotated[StrictInt, Field(ge=1, le=366)]
    discount_bps: Annotated[StrictInt, Field(ge=1, le=10_000)] = 10_000
    operation: FeeOperation | None = None
    asset: AssetCode | None = None
    max_uses: Annotated[StrictInt, Field(ge=1, le=10_000)] | None = None


class UnfreezeSpec(Strict):
    note: str = Field(min_length=1, max_length=MAX_NOTE, description="Why the freezes end.")
    reason_codes: list[str] | None = Field(
        default=None, max_length=len(REASONS),
        description="Also lift every active freeze with one of these reasons (default: only "
        "the freezes the facts name).",
    )  # fmt: skip

    @model_validator(mode="after")
    def _known_reasons(self) -> UnfreezeSpec:
        unknown = set(self.reason_codes or ()) - set(REASONS)
        if unknown:
            raise ValueError(f"unknown reason codes: {', '.join(sorted(unknown))}")
        return self


class RemediationSpec(Strict):
    note: str = Field(min_length=1, max_length=MAX_NOTE, description="What this plan is for.")
    refund: RefundSpec | None = None
    goodwill: GoodwillSpec | None = None
    fee_waiver: FeeWaiverSpec | None = None
    unfreeze: UnfreezeSpec | None = None

    @model_validator(mode="after")
    def _something(self) -> RemediationSpec:
        if not (self.refund or self.goodwill or self.fee_waiver or self.unfreeze):
            raise ValueError("name at least one of refund, goodwill, fee_waiver, unfreeze")
        return self


def parse_spec(data: Any) -> RemediationSpec:
    """A spec from JSON data (a stored plan, a CLI file), refused as one typed error."""
    try:
        return RemediationSpec.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "spec"
        raise InvalidRemediation(f"{where}: {first['msg']}", field=where) from error


# -- what the facts name ------------------------------------------------------------------


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def named_debits(facts: dict[str, Any]) -> dict[uuid.UUID, int | None]:
    """The debits a holder's facts name, with the amount debited if the facts say it.

    ``payments`` (from the ``merchant_debits`` query) name the captured transfer and the
    captured fee's transfer of each payment. ``transfers`` (``[{"id": ..., "amount": ...}]``)
    and ``transfer_ids`` name ledger debits directly. Malformed entries are ignored: facts
    come from queries, and a refund is only ever made for a real debit in the ledger.
    """
    found: dict[uuid.UUID, int | None] = {}
    for entry in facts.get("payments") or ():
        if not isinstance(entry, dict):
            continue
        for key, amount in (("capture_id", "amount"), ("fee_capture_id", "fee")):
            if (transfer_id := _uuid(entry.get(key))) is not None:
                found[transfer_id] = _int(entry.get(amount))
    for entry in facts.get("transfers") or ():
        if isinstance(entry, dict):
            transfer_id = _uuid(entry.get("id", entry.get("transfer_id")))
            if transfer_id is not None:
                found[transfer_id] = _int(entry.get("amount"))
        elif (transfer_id := _uuid(entry)) is not None:
            found[transfer_id] = None
    for value in facts.get("transfer_ids") or ():
        if (transfer_id := _uuid(value)) is not None:
            found.setdefault(transfer_id, None)
    return found


def named_freezes(facts: dict[str, Any]) -> set[uuid.UUID]:
    """The freezes a holder's facts name: ``{"freezes": [{"freeze_id": ...}, ...]}`` (from
    the ``frozen_by_rule`` query; ``id`` or a bare id also accepted) or ``freeze_ids``."""
    values: list[Any] = []
    for entry in facts.get("freezes") or ():
        values.append(entry.get("freeze_id", entry.get("id")) if isinstance(entry, dict) else entry)
    values.extend(facts.get("freeze_ids") or ())
    return {found for value in values if (found := _uuid(value)) is not None}
