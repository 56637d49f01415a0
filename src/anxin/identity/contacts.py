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
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from anxin.kit.errors import AnxinError, Unprocessable
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


class InvalidCode(AnxinError):
    status = 400
    code = "invalid_code"
    title = "The code is not right or no longer valid"


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


# -- accounts' personal fields -------------------------------------------------------------


def drop_contact(session: Session, contact: Contact) -> None:
    session.execute(delete(OneTimeCode).where(OneTimeCode.contact_id == contact.id))
    session.delete(contact)
    session.flush()


def seal_name(session: Session, vault: Vault, user_id: uuid.UUID, name: str | None) -> bytes | None:
    if not name:
        return None
    return vault.encrypt(
        session, user_id, table="identity_users", column="display_name_enc", row_id=user_id,
        plaintext=name,
    )  # fmt: skip


def display_name(session: Session, vault: Vault, user: User) -> str | None:
    if user.display_name_enc is None:
        return None
    return vault.decrypt(
        session, user.id, table="identity_users", column="display_name_enc", row_id=user.id,
        ciphertext=user.display_name_enc,
    )  # fmt: skip


def new_user(
    session: Session, vault: Vault, *, kind: str, role: str | None, status: str,
    password_hash: str, name: str | None, locale: str, now: datetime,
    pseudonym: str | None = None,
) -> User:  # fmt: skip
    user_id = new_id()
    vault.create_data_key(session, user_id, now)
    user = User(
        id=user_id, kind=kind, role=role, status=status, pseudonym=pseudonym,
        display_name_enc=seal_name(session, vault, user_id, name), locale=locale,
        tier="unverified", password_hash=password_hash, password_changed_at=now,
        failed_passwords=0, failed_factors=0, locked_until=None, daily_limit=None,
        created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(user)
    session.flush()
    return user


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


# -- changing a phone number or email -----------------------------------------------------


def start_change(
    session: Session, vault: Vault, user: User, auth_session_id: uuid.UUID, *,
    contact: ContactValue, step_up_token: str | None, lifetime_seconds: int, now: datetime,
) -> None:  # fmt: skip
    """Send a code to a new phone or email (after step-up for exactly that value). If the
    value belongs to someone else, its owner is told instead and the caller sees no
    difference."""
    from anxin.identity.notifications import send_to_contact
    from anxin.identity.stepup import require_step_up

    action = {"type": "change_contact", "kind": contact.kind, "contact": lookup_key(vault, contact)}
    require_step_up(
        session, user, auth_session_id, action=action, step_up_token=step_up_token, now=now
    )
    existing = find_contact(session, vault, contact)
    if existing is not None and existing.user_id == user.id and existing.verified_at:
        raise Unprocessable("this is already your contact", code="contact_unchanged")
    if existing is not None and existing.user_id != user.id:
        if existing.verified_at is not None:
            owner = session.get(User, existing.user_id)
            send_to_contact(
                session, vault, existing, template="contact_taken",
                locale=owner.locale if owner else user.locale, now=now,
            )  # fmt: skip
            return
        drop_contact(session, existing)  # never verified: whoever proves it first gets it
        existing = None
    for other in contacts_of(session, user.id):
        if other.kind == contact.kind and other.verified_at is None and other is not existing:
            drop_contact(session, other)  # one change at a time
    row = existing or add_contact(session, vault, user, contact, now=now)
    code = issue_code(
        session, vault, row, purpose="verify_contact", now=now, lifetime_seconds=lifetime_seconds
    )
    send_to_contact(
        session, vault, row, template="verify_contact", locale=user.locale, now=now, code=code,
        minutes=max(1, lifetime_seconds // 60),
    )  # fmt: skip


def finish_change(
    session: Session, vault: Vault, user: User, *, code: str, now: datetime
) -> Contact:
    """Verify the new contact with its code; it replaces the old one of its kind, whose
    owner is told on the old channel."""
    from anxin.identity.notifications import channel_word, notify, send_to_contact
    from anxin.identity.throttle import Rejected

    matched = check_code(session, vault, user.id, purpose="verify_contact", code=code, now=now)
    new = session.get(Contact, matched.contact_id) if matched is not None else None
    if new is None or new.user_id != user.id or new.verified_at is not None:
        raise Rejected(InvalidCode(), commit=True, code_failed=True)
    new.verified_at = now
    channel = channel_word(new.kind, user.locale)
    for old in contacts_of(session, user.id):
        if old.kind == new.kind and old.id != new.id:
            send_to_contact(
                session, vault, old, template="contact_replaced", locale=user.locale, now=now,
                masked=new.masked,
            )  # fmt: skip
            drop_contact(session, old)
    notify(
        session, vault, user, "security.contact_changed", now=now, channel=channel,
        masked=new.masked, copy_to_contacts=True,
    )  # fmt: skip
    return new
