"""The public contact form: a complaint from someone who is not signed in, held until they
prove the email or phone they gave is theirs with a six-digit code; then it becomes a ticket
(channel ``web_form``), linked to the holder whose verified contact it is, if any.

The request is sealed under a data key of its own; once it has become a ticket (which seals
its own copy) that key is destroyed, so the held copy is gone. Codes are stored as keyed
hashes; five wrong codes end the request (start again), and the endpoint's address
throttles bound guessing across requests.
"""

# Chinese texts use full-width punctuation on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.care.classify import detect_language
from anxin.care.sealing import contact_lookup, ensure_owner_key, seal
from anxin.care.tickets import NewTicket, open_ticket
from anxin.identity.contacts import ContactKind, ContactValue, find_contact
from anxin.identity.notifications import CHANNEL_OF
from anxin.identity.outbox import enqueue
from anxin.kit.errors import AnxinError, Conflict, Gone, NotFound
from anxin.kit.ids import new_id
from anxin.models import User
from anxin.models.care import ContactRequest, Ticket
from anxin.privacy.vault import Vault

MAX_CODE_ATTEMPTS = 5
# Unverified requests are erased this long after their code expired (each new request
# sweeps a few, so no job is needed).
KEEP_UNVERIFIED = timedelta(days=1)
SWEEP_LIMIT = 20
CODE_DIGITS = 6
_TABLE = "care_contact_requests"
_CODE_COLUMN = "care_contact_requests.code"
CODE_TEXTS = {
    "zh": (
        "安心客服验证码",
        "您的投诉验证码是 {code}，{minutes} 分钟内有效。如非本人操作，请忽略。",
    ),
    "en": (
        "Your Anxin care code",
        "Your code to send your complaint is {code}; it is valid for {minutes} minutes. "
        "If this was not you, ignore this message.",
    ),
}


class ContactRequestNotFound(NotFound):
    code = "contact_request_not_found"
    title = "No such contact request"


class ContactCodeInvalid(AnxinError):
    status = 400
    code = "invalid_code"
    title = "The code is not right"


class ContactCodeExpired(Gone):
    code = "contact_code_expired"
    title = "The code has expired or was tried too often; send the form again"


class ContactAlreadyVerified(Conflict):
    code = "contact_already_verified"
    title = "This complaint was already verified and sent"


@dataclass(frozen=True)
class Started:
    request: ContactRequest
    code: str  # for tests and the sender only; never stored


def _code_hash(vault: Vault, request_id: uuid.UUID, code: str) -> str:
    # Keyed and per request: six digits are a million guesses, trivial against a plain hash.
    return vault.blind_index(_CODE_COLUMN, f"{request_id}:{code}")


def _open(session: Session, vault: Vault, row: ContactRequest, column: str) -> str:
    return vault.decrypt(
        session, row.owner_id, table=_TABLE, column=column, row_id=row.id,
        ciphertext=getattr(row, column),
    )  # fmt: skip


def start(
    session: Session, vault: Vault, *, contact: ContactValue, subject: str, body: str,
    language: str | None, now: datetime, lifetime_seconds: int,
) -> Started:  # fmt: skip
    """Hold the complaint and send a code to the contact (through the outbox)."""
    request_id = new_id()
    owner_id = new_id()
    ensure_owner_key(session, vault, owner_id, now)
    language = language or detect_language(f"{subject}\n{body}")
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"

    def sealed(column: str, text: str) -> bytes:
        return seal(session, vault, owner_id, table=_TABLE, column=column, row_id=request_id,
                    text=text)  # fmt: skip

    row = ContactRequest(
        id=request_id, owner_id=owner_id, contact_kind=contact.kind,
        contact_enc=sealed("contact_enc", contact.value),
        contact_lookup=contact_lookup(vault, contact.kind, contact.value),
        subject_enc=sealed("subject_enc", subject), body_enc=sealed("body_enc", body),
        language=language, code_hash=_code_hash(vault, request_id, code), attempts=0,
        expires_at=now + timedelta(seconds=lifetime_seconds), verified_at=None, ticket_id=None,
        created_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    purge_unverified(session, vault, now=now)
    title, template = CODE_TEXTS["zh" if language == "zh" else "en"]
    enqueue(
        session, vault, user_id=None, channel=CHANNEL_OF[contact.kind], recipient=contact.value,
        subject=title, body=template.format(code=code, minutes=max(1, lifetime_seconds // 60)),
        now=now,
    )  # fmt: skip
    return Started(request=row, code=code)


def purge_unverified(
    session: Session, vault: Vault, *, now: datetime, limit: int = SWEEP_LIMIT
) -> int:
    """Erase requests whose code expired over ``KEEP_UNVERIFIED`` ago unverified: the
    complaint of someone who never proved the contact is not kept."""
    stale = session.scalars(
        select(ContactRequest)
        .where(
            ContactRequest.verified_at.is_(None),
            ContactRequest.expires_at < now - KEEP_UNVERIFIED,
        )
        .order_by(ContactRequest.expires_at)
        .limit(limit)
    ).all()
    for row in stale:
        vault.shred(session, row.owner_id, now)
        session.delete(row)
    session.flush()
    return len(stale)


def _holder_of(session: Session, vault: Vault, contact: ContactValue) -> uuid.UUID | None:
    known = find_contact(session, vault, contact)
    if known is None or known.verified_at is None:
        return None
    user = session.get(User, known.user_id)
    if user is None or user.kind != "holder" or user.status == "closed":
        return None
    return user.id


def verify(
    session: Session, vault: Vault, request_id: uuid.UUID, *, code: str, now: datetime
) -> Ticket:
    """Turn the request into a ticket if ``code`` is right. A wrong code is counted (the
    caller commits before answering, so the count holds) and raises ``ContactCodeInvalid``."""
    row = session.scalars(
        select(ContactRequest).where(ContactRequest.id == request_id).with_for_update()
    ).one_or_none()
    if row is None:
        raise ContactRequestNotFound()
    if row.verified_at is not None:
        raise ContactAlreadyVerified()
    if row.expires_at <= now or row.attempts >= MAX_CODE_ATTEMPTS:
        raise ContactCodeExpired()
    if not hmac.compare_digest(row.code_hash, _code_hash(vault, row.id, code.strip())):
        row.attempts += 1
        session.flush()
        left = MAX_CODE_ATTEMPTS - row.attempts
        if left <= 0:
            raise ContactCodeExpired("five wrong codes: send the form again for a new one")
        raise ContactCodeInvalid(attempts_left=left)
    kind = cast(ContactKind, row.contact_kind)
    contact = ContactValue(kind, _open(session, vault, row, "contact_enc"))
    ticket = open_ticket(
        session, vault,
        NewTicket(
            channel="web_form", subject=_open(session, vault, row, "subject_enc"),
            body=_open(session, vault, row, "body_enc"),
            holder_id=_holder_of(session, vault, contact), contact_kind=contact.kind,
            contact=contact.value, language=row.language,
        ),
        now=now,
    )  # fmt: skip
    row.verified_at = now
    row.ticket_id = ticket.id
    # The ticket holds its own sealed copy; the held one is erased with its key.
    vault.shred(session, row.owner_id, now)
    session.flush()
    return ticket
