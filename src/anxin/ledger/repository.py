"""Read queries for accounts, transfers and the journal."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from anxin.kit.clock import from_micros, to_micros
from anxin.kit.errors import Unprocessable
from anxin.ledger.errors import AccountNotFound, TransferNotFound
from anxin.models import Account, Entry, Transfer


class InvalidCursor(Unprocessable):
    code = "invalid_cursor"
    title = "The pagination cursor is not valid"


def encode_cursor(created_at: datetime, seq: int) -> str:
    micros = to_micros(created_at)
    return base64.urlsafe_b64encode(f"{micros}:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        micros, seq = base64.urlsafe_b64decode(padded.encode()).decode().split(":")
        return from_micros(int(micros)), int(seq)
    except (ValueError, UnicodeDecodeError, OverflowError) as error:
        raise InvalidCursor() from error


def get_account(session: Session, account_id: uuid.UUID, *, for_update: bool = False) -> Account:
    query = select(Account).where(Account.id == account_id)
    if for_update:
        query = query.with_for_update()
    account = session.scalars(query).one_or_none()
    if account is None:
        raise AccountNotFound(f"account {account_id} not found")
    return account


def list_accounts(
    session: Session, *, owner_ref: str | None, after: uuid.UUID | None, limit: int
) -> list[Account]:
    query = select(Account).order_by(Account.id).limit(limit)
    if owner_ref is not None:
        query = query.where(Account.owner_ref == owner_ref)
    if after is not None:
        query = query.where(Account.id > after)
    return list(session.scalars(query))


def get_transfer(session: Session, transfer_id: uuid.UUID) -> Transfer:
    transfer = session.get(Transfer, transfer_id)
    if transfer is None:
        raise TransferNotFound(f"transfer {transfer_id} not found")
    return transfer


def list_transfers(
    session: Session,
    *,
    reference: str | None,
    account_id: uuid.UUID | None,
    after: uuid.UUID | None,
    limit: int,
) -> list[Transfer]:
    # Transfer ids are time-ordered (UUIDv7), so id order is creation order.
    query = select(Transfer).order_by(Transfer.id).limit(limit)
    if reference is not None:
        query = query.where(Transfer.reference == reference)
    if account_id is not None:
        query = query.where(
            (Transfer.source_id == account_id) | (Transfer.destination_id == account_id)
        )
    if after is not None:
        query = query.where(Transfer.id > after)
    return list(session.scalars(query))


@dataclass(frozen=True, slots=True)
class EntryPage:
    entries: list[Entry]
    next_cursor: str | None


def entries_page(
    session: Session,
    account_id: uuid.UUID,
    *,
    cursor: str | None,
    limit: int,
    newest_first: bool,
    since: datetime | None = None,
    until: datetime | None = None,
) -> EntryPage:
    position = tuple_(Entry.created_at, Entry.seq)
    query = select(Entry).where(Entry.account_id == account_id)
    if since is not None:
        query = query.where(Entry.created_at >= since)
    if until is not None:
        query = query.where(Entry.created_at < until)
    if cursor is not None:
        created_at, seq = decode_cursor(cursor)
        bound = tuple_(created_at, seq)
        query = query.where(position < bound if newest_first else position > bound)
    if newest_first:
        query = query.order_by(Entry.created_at.desc(), Entry.seq.desc())
    else:
        query = query.order_by(Entry.created_at, Entry.seq)
    rows = list(session.scalars(query.limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].created_at, rows[-1].seq)
    return EntryPage(entries=rows, next_cursor=next_cursor)


def entry_as_of(session: Session, account_id: uuid.UUID, moment: datetime) -> Entry | None:
    """The account's last journal entry at or before ``moment``."""
    query = (
        select(Entry)
        .where(Entry.account_id == account_id, Entry.created_at <= moment)
        .order_by(Entry.created_at.desc(), Entry.seq.desc())
        .limit(1)
    )
    return session.scalars(query).one_or_none()
