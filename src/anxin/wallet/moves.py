"""Moving money from wallet code: linked ledger operations applied in the caller's
transaction, with every rejection turned into a typed error."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from anxin.ledger.batch import apply_batch
from anxin.ledger.commands import Command, Operation
from anxin.ledger.errors import LedgerRejection, rejection_error


def outcome_error(outcomes: list[dict[str, object]]) -> LedgerRejection | None:
    """The error of the first operation that really failed (not just "linked_event_failed")."""
    errors = [o for o in outcomes if "error" in o]
    if not errors:
        return None
    first = next((o for o in errors if o["error"] != "linked_event_failed"), errors[0])
    detail = first.get("detail")
    return rejection_error(str(first["error"]), str(detail) if detail is not None else None)


def apply_linked(session: Session, ops: Sequence[Operation], now: datetime) -> list[uuid.UUID]:
    """Apply ``ops`` all-or-none; the ids of the transfers made, in order."""
    session.flush()  # rows the ledger reads (new accounts) must be visible to its connection
    result = apply_batch(session.connection(), [Command(tuple(ops))], now)[0]
    error = outcome_error(result.outcomes)
    if error is not None:
        raise error
    return [uuid.UUID(str(o["transfer"]["id"])) for o in result.outcomes]
