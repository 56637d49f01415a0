"""Account lifecycle and balance reads. Services flush; the edge commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from anxin.kit.errors import Unprocessable
from anxin.kit.ids import new_id
from anxin.ledger import repository
from anxin.ledger.assets import get_asset
from anxin.ledger.errors import AccountNotEmpty, AccountStatusConflict
from anxin.models import Account

_TEXT_LIMIT = 200  # ledger_accounts.owner_ref and .label


@dataclass(frozen=True, slots=True)
class Balance:
    posted: int
    pending: int
    available: int

    @classmethod
    def of(cls, debits_posted: int, credits_posted: int, debits_pending: int,
           credits_pending: int) -> Balance:  # fmt: skip
        posted = credits_posted - debits_posted
        return cls(
            posted=posted,
            pending=credits_pending - debits_pending,
            available=posted - debits_pending,
        )


def balance_of(account: Account) -> Balance:
    return Balance.of(
        account.debits_posted, account.credits_posted,
        account.debits_pending, account.credits_pending,
    )  # fmt: skip


def create_account(
    session: Session,
    *,
    asset: str,
    allow_negative: bool = False,
    owner_ref: str | None = None,
    label: str | None = None,
    metadata: dict[str, Any] | None = None,
    now: datetime,
    account_id: uuid.UUID | None = None,
) -> Account:
    get_asset(session, asset)  # refuses unknown assets
    # The column limits, checked here so SQLite (which would store anything) and
    # PostgreSQL (which would fail the statement) refuse the same input the same way.
    for name, value in (("owner_ref", owner_ref), ("label", label)):
        if value is not None and not 0 < len(value) <= _TEXT_LIMIT:
            raise Unprocessable(
                f"{name} must be 1 to {_TEXT_LIMIT} characters", code="invalid_account_field"
            )
    account = Account(
        id=account_id or new_id(), asset=asset, allow_negative=allow_negative, status="active",
        status_reason=None, owner_ref=owner_ref, label=label, meta=metadata or {},
        debits_posted=0, credits_posted=0, debits_pending=0, credits_pending=0,
        created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(account)
    session.flush()
    return account


def freeze_account(session: Session, account_id: uuid.UUID, *, reason: str,
                   now: datetime) -> Account:  # fmt: skip
    account = repository.get_account(session, account_id, for_update=True)
    if account.status == "closed":
        raise AccountStatusConflict("a closed account cannot be frozen")
    account.status, account.status_reason, account.updated_at = "frozen", reason, now
    session.flush()
    return account


def unfreeze_account(session: Session, account_id: uuid.UUID, *, reason: str,
                     now: datetime) -> Account:  # fmt: skip
    account = repository.get_account(session, account_id, for_update=True)
    if account.status != "frozen":
        raise AccountStatusConflict(f"account is {account.status}, not frozen")
    account.status, account.status_reason, account.updated_at = "active", reason, now
    session.flush()
    return account


def close_account(session: Session, account_id: uuid.UUID, *, reason: str,
                  now: datetime) -> Account:  # fmt: skip
    account = repository.get_account(session, account_id, for_update=True)
    if account.status == "closed":
        raise AccountStatusConflict("account is already closed")
    balance = balance_of(account)
    if balance.posted != 0 or account.debits_pending or account.credits_pending:
        raise AccountNotEmpty(
            f"posted balance {balance.posted}, pending debits {account.debits_pending}, "
            f"pending credits {account.credits_pending}: settle them first"
        )
    account.status, account.status_reason, account.updated_at = "closed", reason, now
    session.flush()
    return account


def balance_as_of(session: Session, account_id: uuid.UUID, moment: datetime) -> Balance:
    repository.get_account(session, account_id)
    entry = repository.entry_as_of(session, account_id, moment)
    if entry is None:
        return Balance(posted=0, pending=0, available=0)
    return Balance.of(
        entry.debits_posted, entry.credits_posted, entry.debits_pending, entry.credits_pending
    )
