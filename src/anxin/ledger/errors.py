"""Ledger errors. Each rejection code is stable: clients may switch on it."""

from __future__ import annotations

from anxin.kit.errors import AnxinError, Conflict, NotFound, Unprocessable


class LedgerRejection(Unprocessable):
    """The ledger refused an operation; nothing changed."""

    code = "ledger_rejected"


class AccountNotFound(NotFound):
    code = "account_not_found"
    title = "Account not found"


class TransferNotFound(NotFound):
    code = "transfer_not_found"
    title = "Transfer not found"


class UnknownAsset(Unprocessable):
    code = "unknown_asset"
    title = "Unknown asset"


class AssetExists(Conflict):
    code = "asset_exists"
    title = "Asset already exists"


class AccountNotEmpty(Conflict):
    code = "account_not_empty"
    title = "Account still holds funds or pending transfers"


class AccountStatusConflict(Conflict):
    code = "account_status_conflict"
    title = "Account is not in a state that allows this"


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"
    title = "Idempotency key was already used with a different request"


class IdempotencyKeyInFlight(Conflict):
    code = "idempotency_key_in_flight"
    title = "A request with this idempotency key is still being processed"


class IdempotencyKeyRequired(AnxinError):
    status = 400
    code = "idempotency_key_required"
    title = "Money-moving requests need an Idempotency-Key header"


# Rejection codes the engine may return for one operation, with their human titles. They
# are data (not exception classes) because a batch returns many of them at once.
REJECTIONS: dict[str, str] = {
    "account_not_found": "Account not found",
    "account_frozen": "Account is frozen",
    "account_closed": "Account is closed",
    "asset_mismatch": "Accounts and transfer use different assets",
    "insufficient_funds": "Insufficient funds",
    "same_account": "Source and destination are the same account",
    "overflow": "Amount would overflow the account's counters",
    "transfer_not_found": "Transfer not found",
    "transfer_not_pending": "Transfer is not a pending transfer",
    "pending_transfer_already_resolved": "Pending transfer was already posted, voided or expired",
    "pending_transfer_expired": "Pending transfer has expired",
    "amount_exceeds_pending": "Amount is more than the pending transfer holds",
    "transfer_not_reversible": "Only posted transfers can be reversed",
    "amount_exceeds_reversible": "Amount is more than what remains to reverse",
    "linked_event_failed": "Another transfer in the linked batch failed",
    "duplicate_in_batch": "The same pending transfer is resolved twice in one linked batch",
}

_REJECTION_STATUS = {"account_not_found": 404, "transfer_not_found": 404}


def rejection_error(code: str, detail: str | None = None, **extra: object) -> LedgerRejection:
    """An exception for one rejection code, carrying the right status."""
    title = REJECTIONS.get(code, "Rejected")
    return LedgerRejection(
        detail or title, code=code, status=_REJECTION_STATUS.get(code, 422), title=title, **extra
    )
