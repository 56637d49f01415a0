"""Phone numbers and email addresses: normalising, storing encrypted, finding by blind
index, and the one-time codes that prove a person controls one.

Phones are stored as E.164 (default region CN), emails lower-cased after IDNA/Unicode
normalisation by email-validator. The plaintext is only ever in ``value_enc`` (encrypted
under the owner's data key); ``lookup`` is a keyed blind index and ``masked`` a display form.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.kit.errors import Unprocessable
from anxin.kit.ids import new_id
from anxin.models import Contact, OneTimeCode, User
from anxin.privacy.masking import mask_email, mask_phone
from anxin.privacy.vault import Vault

ContactKind = Literal["phone", "email"]
DEFAULT_REGION = "CN"
CODE_DIGITS = 6
MAX_CODE_ATTEMPTS = 5
_LOOKUP_COLUMN = "identity_contacts.value"
_CODE_COLUMN = "identity_codes.code"


class InvalidContact(Unprocessable):
    code = "invalid_contact"
    title = "Not a valid phone number or email address"


@dataclass(frozen=True)
class ContactValue:
    kind: ContactKind
    value: str  # normalised

    @property
    def masked(self) -> str:
        return mask_phone(self.value) if self.kind == "phone" else mask_email(self.value)


def normalise_phone(text: str, region: str = DEFAULT_REGION) -> str:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        raise InvalidContact(f"not a phone number: {error}") from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidContact("this phone number does not exist in its numbering plan")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(text: str) -> str:
    try:
        result = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidContact(str(error)) from error
    # Mailbox names are case-insensitive in practice; one person, one account.
    return result.normalized.lower()


def parse_contact(kind: ContactKind, text: str) -> ContactValue:
    if kind == "phone":
        return ContactValue("phone", normalise_phone(text))
    return ContactValue("email", normalise_email(text))


def parse_identifier(text: str) -> ContactValue:
    """A sign-in identifier: an email if it has an ``@``, else a phone number."""
    text = text.strip()
    if not text or len(text) > 320:
        raise InvalidContact("enter your phone number or email address")
    return parse_contact("email" if "@" in text else "phone", text)


def lookup_key(vault: Vault, contact: ContactValue) -> str:
    return vault.blind_index(_LOOKUP_COLUMN, f"{contact.kind}:{contact.value}")


def find_contact(session: Session, vault: Vault, contact: ContactValue) -> Contact | None:
    return session.scalars(
        select(Contact).where(
            Contact.kind == contact.kind, Contact.lookup == lookup_key(vault, contact)
        )
    ).one_or_none()


def add_contact(
    session: Session, vault: Vault, user: User, contact: ContactValue, *, now: datetime,
    verified: bool = False,
) -> Contact:  # fmt: skip
    row_id = new_id()
    row = Contact(
        id=row_id, user_id=user.id, kind=contact.kind,
        value_enc=vault.encrypt(
            session, user.id, table="identity_contacts", column="value_enc", row_id=row_id,
            plaintext=contact.value,
        ),
        lookup=lookup_key(vault, contact), masked=contact.masked,
        verified_at=now if verified else None, created_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def reveal(session: Session, vault: Vault, contact: Contact) -> str:
    """The plaintext value, for sending a message to it (never for display)."""
    return vault.decrypt(
        session, contact.user_id, table="identity_contacts", column="value_enc",
        row_id=contact.id, ciphertext=contact.value_enc,
    )  # fmt: skip


def contacts_of(session: Session, user_id: uuid.UUID, *, verified: bool = False) -> list[Contact]:
    query = select(Contact).where(Contact.user_id == user_id).order_by(Contact.created_at)
    if verified:
        query = query.where(Contact.verified_at.is_not(None))
    return list(session.scalars(query))


# -- one-time codes -----------------------------------------------------------------------


def _code_hash(vault: Vault, code_id: uuid.UUID, code: str) -> str:
    # Keyed: six digits are a million guesses, trivial against an unkeyed hash.
    return vault.blind_index(_CODE_COLUMN, f"{code_id}:{code}")


def issue_code(
    session: Session, vault: Vault, contact: Contact, *, purpose: str, now: datetime,
    lifetime_seconds: int,
) -> str:  # fmt: skip
    """A fresh numeric code for this contact and purpose; earlier ones stop working."""
    for earlier in _open_codes(session, contact.user_id, purpose, now):
        earlier.consumed_at = now
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    code_id = new_id()
    session.add(
        OneTimeCode(
            id=code_id, user_id=contact.user_id, contact_id=contact.id, purpose=purpose,
            code_hash=_code_hash(vault, code_id, code), attempts=0,
            expires_at=now + timedelta(seconds=lifetime_seconds), consumed_at=None,
            created_at=now,
        )
    )  # fmt: skip
    session.flush()
    return code


def _open_codes(
    session: Session, user_id: uuid.UUID, purpose: str, now: datetime
) -> list[OneTimeCode]:
    return list(
        session.scalars(
            select(OneTimeCode).where(
                OneTimeCode.user_id == user_id,
                OneTimeCode.purpose == purpose,
                OneTimeCode.consumed_at.is_(None),
                OneTimeCode.expires_at > now,
            )
        )
    )


def check_code(
    session: Session, vault: Vault, user_id: uuid.UUID, *, purpose: str, code: str,
    now: datetime, consume: bool = True,
) -> OneTimeCode | None:  # fmt: skip
    """The matching open code (consumed unless told otherwise), or None. Each wrong guess
    counts against every open code of the purpose; after five a code is dead."""
    code = code.strip()
    matched: OneTimeCode | None = None
    for row in _open_codes(session, user_id, purpose, now):
        if row.attempts >= MAX_CODE_ATTEMPTS:
            continue
        if hmac.compare_digest(row.code_hash, _code_hash(vault, row.id, code)):
            matched = row
        else:
            row.attempts += 1
    if matched is not None and consume:
        matched.consumed_at = now
    session.flush()
    return matched
