"""Holders' and the operator's ledger accounts, found or created on first use.

A holder has one ledger account per asset (owner ``user:<id>``); the operator has named
system accounts per asset (owner ``system:<name>``): ``bank_settlement`` (our money at the
bank: top-ups come from it, withdrawals go to it), ``fee_revenue``, ``points_issued``,
``points_redemption``, ``compensation``, ``merchant_settlement:<merchant id>``, ...
Accounts standing for money outside the wallet may go negative; holders' never do.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anxin.kit.errors import Unprocessable
from anxin.ledger import service as ledger
from anxin.models import Account, Entry, User, WalletAccount
from anxin.models.wallet_money import Freeze

HOLDER_PREFIX = "user:"
SYSTEM_PREFIX = "system:"
# These stand for money outside the holders' wallets (the bank, the issuer of points, the
# operator's own budget), so their balance is allowed to go below zero.
NEGATIVE_ALLOWED = frozenset(
    {"bank_settlement", "points_issued", "points_redemption", "compensation"}
)
_SYSTEM_NAME = re.compile(r"^[a-z][a-z_]{1,60}(:[A-Za-z0-9_-]{1,80})?$")

# Limits count "today" and "this month" in China Standard Time (UTC+8, no daylight saving),
# the business day of the wallet's holders, not in UTC.
BUSINESS_TZ = timezone(timedelta(hours=8), "CST")


class InvalidSystemAccount(Unprocessable):
    code = "invalid_system_account"
    title = "Not a valid system account name"


def holder_owner(user_id: uuid.UUID) -> str:
    return f"{HOLDER_PREFIX}{user_id}"


def _find(session: Session, owner: str, asset: str) -> Account | None:
    link = session.get(WalletAccount, (owner, asset))
    if link is None:
        return None
    return session.get(Account, link.account_id)


def _fully_frozen(session: Session, user_id: uuid.UUID) -> bool:
    found = session.scalar(
        select(Freeze.id).where(
            Freeze.user_id == user_id, Freeze.status == "active", Freeze.scope == "all"
        )
    )
    return found is not None


def _get_or_create(
    session: Session, owner: str, asset: str, *, user_id: uuid.UUID | None,
    allow_negative: bool, label: str, now: datetime,
) -> Account:  # fmt: skip
    found = _find(session, owner, asset)
    if found is not None:
        return found
    # A concurrent request may create the same account: the primary key of the link makes
    # the loser fail inside its savepoint, and it then reads the winner's account.
    try:
        with session.begin_nested():
            account = ledger.create_account(
                session, asset=asset, allow_negative=allow_negative, owner_ref=owner,
                label=label, now=now,
            )  # fmt: skip
            session.add(
                WalletAccount(
                    owner=owner,
                    asset=asset,
                    account_id=account.id,
                    user_id=user_id,
                    created_at=now,
                )
            )
            session.flush()
    except IntegrityError:
        found = _find(session, owner, asset)
        if found is None:
            raise
        return found
    return account


def wallet_account(session: Session, user_id: uuid.UUID, asset: str, now: datetime) -> Account:
    """The holder's ledger account for ``asset``, created on first use (frozen at once if
    the holder's wallet is frozen for all movement)."""
    account = _get_or_create(
        session, holder_owner(user_id), asset, user_id=user_id, allow_negative=False,
        label=f"wallet {asset}", now=now,
    )  # fmt: skip
    if account.status == "active" and _fully_frozen(session, user_id):
        ledger.freeze_account(session, account.id, reason="wallet frozen", now=now)
    return account


def find_wallet_account(session: Session, user_id: uuid.UUID, asset: str) -> Account | None:
    return _find(session, holder_owner(user_id), asset)


def wallet_accounts_of(session: Session, user_id: uuid.UUID) -> list[Account]:
    query = (
        select(Account)
        .join(WalletAccount, WalletAccount.account_id == Account.id)
        .where(WalletAccount.owner == holder_owner(user_id))
        .order_by(WalletAccount.asset)
    )
    return list(session.scalars(query))


def system_account(session: Session, name: str, asset: str, now: datetime) -> Account:
    """A named operator account for ``asset`` (``bank_settlement``, ``fee_revenue``,
    ``merchant_settlement:<merchant id>``, ...), created on first use."""
    if not _SYSTEM_NAME.fullmatch(name):
        raise InvalidSystemAccount(f"{name!r} is not a valid system account name")
    base = name.split(":", 1)[0]
    return _get_or_create(
        session, f"{SYSTEM_PREFIX}{name}", asset, user_id=None,
        allow_negative=base in NEGATIVE_ALLOWED, label=f"{name} {asset}", now=now,
    )  # fmt: skip


def owner_of(session: Session, account_id: uuid.UUID) -> str | None:
    """``user:<id>`` or ``system:<name>`` for a wallet's ledger account, else None."""
    return session.scalar(select(WalletAccount.owner).where(WalletAccount.account_id == account_id))


# -- what left a wallet today and this month -------------------------------------------------


def day_start(now: datetime) -> datetime:
    local = now.astimezone(BUSINESS_TZ)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def month_start(now: datetime) -> datetime:
    return day_start(now).replace(day=1)


@dataclass(frozen=True)
class Outflow:
    today: int
    month: int


def _debited_since(session: Session, account_id: uuid.UUID, since: datetime) -> int:
    # Debit entries add what was posted and what was held; a released hold subtracts what
    # it held, and posting a hold replaces the held amount by the final one. So the sum is
    # what left or is on its way out, with nothing counted twice.
    total = session.scalar(
        select(func.coalesce(func.sum(Entry.posted + Entry.pending), 0)).where(
            Entry.account_id == account_id, Entry.side == "D", Entry.created_at >= since
        )
    )
    return max(int(total or 0), 0)


def lock_holder(session: Session, user_id: uuid.UUID) -> None:
    """Make concurrent outflows of one holder check their limits one after the other (else
    two payments could each fit under the daily limit that both together exceed). The lock
    is on the holder's user row, which ledger writers never lock, so it cannot deadlock
    with the ledger's chain-head lock; it is held until the caller's transaction ends."""
    session.execute(select(User.id).where(User.id == user_id).with_for_update())


def outflow_totals(session: Session, user_id: uuid.UUID, asset: str, now: datetime) -> Outflow:
    """What already left (or is held to leave) the holder's ``asset`` wallet today and this
    calendar month, for ``anxin.identity.limits.check_outflow``. Locks the holder first
    (``lock_holder``): call it in the transaction that then moves the money."""
    lock_holder(session, user_id)
    account = find_wallet_account(session, user_id, asset)
    if account is None:
        return Outflow(0, 0)
    return Outflow(
        today=_debited_since(session, account.id, day_start(now)),
        month=_debited_since(session, account.id, month_start(now)),
    )
