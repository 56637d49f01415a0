"""A holder's bank cards and bank accounts: where top-ups come from, withdrawals go to.

The number is personal data: stored only encrypted under the holder's data key, found
through a blind index (so the same card is not linked twice), shown masked. Linking one
needs step-up: a stolen session must not be able to add a thief's account to withdraw to.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.identity.stepup import require_step_up
from anxin.kit.errors import Conflict, NotFound, Unprocessable
from anxin.kit.ids import new_id
from anxin.models import FundingSource, User
from anxin.privacy.vault import Vault
from anxin.wallet import messages

KINDS = ("card", "bank_account")
_TABLE, _COLUMN = "wallet_funding_sources", "number_enc"
_SEPARATORS = re.compile(r"[\s-]")


class InvalidNumber(Unprocessable):
    code = "invalid_account_number"
    title = "This card or account number is not valid"


class SourceNotFound(NotFound):
    code = "funding_source_not_found"
    title = "No such card or bank account"


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def normalise(kind: str, number: str) -> str:
    if kind not in KINDS:
        raise InvalidNumber(f"kind is one of {', '.join(KINDS)}", code="invalid_source_kind")
    text = _SEPARATORS.sub("", number).upper()
    if kind == "card":
        if not (text.isdigit() and 12 <= len(text) <= 19 and _luhn_ok(text)):
            raise InvalidNumber("a card number is 12 to 19 digits with a valid check digit")
        return text
    if not (text.isascii() and text.isalnum() and 8 <= len(text) <= 34):
        raise InvalidNumber("a bank account number is 8 to 34 letters and digits")
    return text


def masked(number: str) -> str:
    return f"****{number[-4:]}"


def link(
    session: Session, vault: Vault, user: User, auth_session_id: uuid.UUID, *, kind: str,
    number: str, step_up_token: str | None, now: datetime,
) -> FundingSource:  # fmt: skip
    value = normalise(kind, number)
    lookup = vault.blind_index(f"{_TABLE}.number", f"{kind}:{value}")
    require_step_up(
        session, user, auth_session_id,
        action={"type": "link_funding_source", "kind": kind, "last4": value[-4:]},
        step_up_token=step_up_token, now=now,
    )  # fmt: skip
    found = session.scalars(
        select(FundingSource).where(
            FundingSource.user_id == user.id,
            FundingSource.kind == kind,
            FundingSource.lookup == lookup,
        )
    ).first()
    if found is not None:
        if found.status == "active":
            raise Conflict("this is already linked", code="funding_source_exists")
        found.status, found.removed_at = "active", None
        session.flush()
        return found
    source_id = new_id()
    row = FundingSource(
        id=source_id, user_id=user.id, kind=kind, lookup=lookup, masked=masked(value),
        number_enc=vault.encrypt(session, user.id, table=_TABLE, column=_COLUMN,
                                 row_id=source_id, plaintext=value),
        status="active", created_at=now, removed_at=None,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def get(session: Session, user_id: uuid.UUID, source_id: uuid.UUID, *,
        active: bool = True) -> FundingSource:  # fmt: skip
    row = session.get(FundingSource, source_id)
    if row is None or row.user_id != user_id or (active and row.status != "active"):
        raise SourceNotFound()
    return row


def list_of(session: Session, user_id: uuid.UUID) -> list[FundingSource]:
    query = select(FundingSource).where(
        FundingSource.user_id == user_id, FundingSource.status == "active"
    )
    return list(session.scalars(query.order_by(FundingSource.created_at)))


def remove(session: Session, user_id: uuid.UUID, source_id: uuid.UUID, now: datetime) -> None:
    row = get(session, user_id, source_id)
    row.status, row.removed_at = "removed", now
    session.flush()


def reveal(session: Session, vault: Vault, row: FundingSource) -> str:
    """The full number, for the instruction to the bank only (never for display)."""
    return vault.decrypt(
        session, row.user_id, table=_TABLE, column=_COLUMN, row_id=row.id,
        ciphertext=row.number_enc,
    )  # fmt: skip


def describe(row: FundingSource, locale: str = "en") -> str:
    """How a statement or notice names it: ``card ****1234``, ``银行卡 ****1234``."""
    return f"{messages.word(row.kind, locale)} {row.masked}"
