"""Complaint email into tickets: threading, holder linking, bounces, and the sink the SMTP
listener hands each message to.

A message joins an existing ticket when its subject quotes the ticket's reference
("[AX-7K2M9Q]") or its In-Reply-To/References name a message already on a ticket, and it
comes from that ticket's contact or holder; otherwise it opens a new ticket (linked to the
one it quoted, so an agent sees the connection without a stranger joining someone else's
conversation). A reply to a closed ticket opens a new one linked to it. The sender is
linked to a holder when the address is a verified email of a wallet holder.

Auto-replies and bulk mail are accepted and dropped: answering an out-of-office notice
with an acknowledgement is how mail loops start.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.parser import BytesParser

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.care.errors import TicketClosed
from anxin.care.mail import (
    InboundMail,
    MailTooLarge,
    MalformedMail,
    bounce_address,
    bounce_text,
    decode_header_text,
    parse_mail,
)
from anxin.care.sealing import contact_lookup
from anxin.care.smtp_listener import CareSmtpController, start_listener
from anxin.care.tickets import NewTicket, add_message, find_by_reference, open_ticket, survivor
from anxin.identity.contacts import ContactValue, find_contact
from anxin.identity.outbox import enqueue
from anxin.kit.clock import Clock, SystemClock
from anxin.kit.db import Database
from anxin.kit.errors import AnxinError
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import User
from anxin.models.care import Ticket, TicketMessage
from anxin.privacy.keys import KeyService, resolve_keyring
from anxin.privacy.vault import Vault
from anxin.settings import Settings

log = logging.getLogger(__name__)
ACCEPTED = "250 2.0.0 Accepted"


@dataclass(frozen=True)
class MailOutcome:
    ticket: Ticket | None  # None: dropped (an auto-reply)
    created: bool = False
    duplicate: bool = False


def holder_for_email(session: Session, vault: Vault, address: str) -> uuid.UUID | None:
    """The wallet holder whose verified email this is (blind index), if any."""
    contact = find_contact(session, vault, ContactValue("email", address))
    if contact is None or contact.verified_at is None:
        return None
    user = session.get(User, contact.user_id)
    if user is None or user.kind != "holder" or user.status == "closed":
        return None
    return user.id


def _candidates(session: Session, mail: InboundMail) -> Iterator[Ticket]:
    if mail.reference:
        quoted = find_by_reference(session, mail.reference)
        if quoted is not None:
            yield quoted
    for message_id in mail.replied_to:
        ticket_id = session.scalar(
            select(TicketMessage.ticket_id).where(TicketMessage.email_message_id == message_id)
        )
        ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
        if ticket is not None:
            yield ticket


def _same_person(vault: Vault, ticket: Ticket, sender: str, holder_id: uuid.UUID | None) -> bool:
    if holder_id is not None and ticket.holder_id == holder_id:
        return True
    return ticket.contact_kind == "email" and ticket.contact_lookup == contact_lookup(
        vault, "email", sender
    )


def take_mail(session: Session, vault: Vault, mail: InboundMail, *, now: datetime) -> MailOutcome:
    """Thread ``mail`` onto its ticket or open a new one (flushes, never commits)."""
    if mail.automated:
        return MailOutcome(ticket=None)
    if mail.message_id:
        seen = session.scalar(
            select(TicketMessage.ticket_id).where(TicketMessage.email_message_id == mail.message_id)
        )
        if seen is not None:  # the relaying server delivered it twice
            return MailOutcome(ticket=session.get(Ticket, seen), duplicate=True)
    holder_id = holder_for_email(session, vault, mail.sender)
    links: list[tuple[str, str]] = []
    for candidate in _candidates(session, mail):
        ticket = survivor(session, candidate)
        if not _same_person(vault, ticket, mail.sender, holder_id):
            links.append(("ticket", str(ticket.id)))
            continue
        try:
            add_message(
                session, vault, ticket, author_kind="customer", body=mail.body, channel="email",
                now=now, author_id=holder_id, email_message_id=mail.message_id,
            )  # fmt: skip
        except TicketClosed:
            links.append(("ticket", str(ticket.id)))
            break
        return MailOutcome(ticket=ticket)
    ticket = open_ticket(
        session, vault,
        NewTicket(
            channel="email", subject=mail.subject, body=mail.body, holder_id=holder_id,
            contact_kind="email", contact=mail.sender, email_message_id=mail.message_id,
            links=tuple(dict.fromkeys(links)),
        ),
        now=now,
    )  # fmt: skip
    return MailOutcome(ticket=ticket, created=True)


def queue_bounce(
    session: Session, vault: Vault, recipient: str, *, reason: str, subject: str | None,
    now: datetime,
) -> None:  # fmt: skip
    """The "we could not take your email" notice, sent through the delivery outbox."""
    title, body = bounce_text(reason, subject)
    enqueue(session, vault, user_id=None, channel="email", recipient=recipient, subject=title,
            body=body, now=now)  # fmt: skip


def _headers_of_unreadable(raw: bytes) -> tuple[str | None, str | None, bool]:
    """From, Subject and "is automated" of mail we refuse, as far as they can be read."""
    try:
        headers = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
        sender, subject = headers.get("From"), headers.get("Subject")
        auto = (headers.get("Auto-Submitted") or "no").strip().lower() != "no"
        return (
            decode_header_text(str(sender)) if sender else None,
            decode_header_text(str(subject)) if subject else None,
            auto,
        )
    except Exception:  # headers so broken that only the envelope is left
        return None, None, False


def _one_line(text: str) -> str:
    # An SMTP reply is one line of ASCII.
    return " ".join(text.encode("ascii", errors="replace").decode().split())[:300]


class CareMailSink:
    """What the SMTP listener hands each message to: one unit of work per message."""

    def __init__(self, database: Database, keys: KeyService, clock: Clock) -> None:
        self.database, self.keys, self.clock = database, keys, clock

    def receive(self, raw: bytes, envelope_from: str | None) -> str:
        try:
            mail = parse_mail(raw)
        except MalformedMail as refused:
            sender, subject, automated = _headers_of_unreadable(raw)
            if not automated:
                self._bounce(envelope_from, sender, refused.detail, subject)
            return f"{refused.smtp_status}: {_one_line(refused.detail)}"
        try:
            with UnitOfWork(self.database) as uow:
                outcome = take_mail(uow.session, self.keys.vault(), mail, now=self.clock.now())
                uow.commit()
        except AnxinError as refused:  # the ticket itself was refused: permanent
            if not mail.automated:
                self._bounce(envelope_from, mail.sender, refused.detail, mail.subject)
            return f"550 5.7.0 {_one_line(refused.detail)}"
        if outcome.ticket is None:
            log.info("dropped an automated email")
        return ACCEPTED

    def too_large(self, envelope_from: str | None) -> None:
        self._bounce(envelope_from, None, MailTooLarge.title, None)

    def _bounce(
        self, envelope_from: str | None, header_from: str | None, reason: str,
        subject: str | None,
    ) -> None:  # fmt: skip
        recipient = bounce_address(envelope_from, header_from)
        if recipient is None:
            return
        with UnitOfWork(self.database) as uow:
            queue_bounce(uow.session, self.keys.vault(), recipient, reason=reason,
                         subject=subject, now=self.clock.now())  # fmt: skip
            uow.commit()


@contextmanager
def mail_listener(
    settings: Settings, *, database: Database | None = None, keys: KeyService | None = None,
    clock: Clock | None = None,
) -> Iterator[CareSmtpController | None]:  # fmt: skip
    """Run the complaint-email listener for the block if ANXIN_CARE_SMTP_PORT is set."""
    if not settings.care_smtp_port:
        yield None
        return
    own = database is None
    database = database or Database(settings.resolved_database_url, pool_size=2)
    keys = keys or KeyService(resolve_keyring(settings))
    sink = CareMailSink(database, keys, clock or SystemClock())
    try:
        controller = start_listener(
            sink, port=settings.care_smtp_port, max_bytes=settings.care_smtp_max_bytes
        )
        try:
            yield controller
        finally:
            controller.stop()
    finally:
        if own:
            database.dispose()
