"""The core of the care desk: every channel opens tickets and adds messages through here.

``open_ticket`` turns a complaint from any channel into a ticket with its first message,
category (the classifier's unless given), language, links and SLA clocks; ``add_message``
appends the customer's words, an agent's public reply or an internal note, and moves the
state as the conversation implies (states.py). Text is sealed under the ticket's owner.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.care import notify, sla, states
from anxin.care.classify import default_classifier, detect_language
from anxin.care.errors import InvalidTicket, TicketClosed, TicketNotFound
from anxin.care.sealing import (
    contact_lookup,
    ensure_owner_key,
    message_body,
    seal,
    ticket_contact,
    ticket_subject,
)
from anxin.kit.ids import new_id
from anxin.models.care import (
    CATEGORIES,
    TICKET_CHANNELS,
    TICKET_PRIORITIES,
    Ticket,
    TicketLink,
    TicketMessage,
)
from anxin.privacy.vault import Vault

__all__ = [
    "LINK_KINDS",
    "NewTicket",
    "TicketClosed",
    "TicketNotFound",
    "add_link",
    "add_message",
    "contact_lookup",
    "find_by_reference",
    "get_ticket",
    "message_body",
    "open_ticket",
    "survivor",
    "ticket_contact",
    "ticket_subject",
]

LINK_KINDS = ("holder", "account", "transfer", "ticket", "incident", "freeze")
MAX_SUBJECT = 200
MAX_BODY = 20_000
# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: a reference read out on the phone is heard right.
_REFERENCE_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
_REFERENCE_LENGTH = 6


@dataclass(frozen=True)
class NewTicket:
    channel: str  # app | email | web_form | chat | phone | social
    subject: str
    body: str  # the customer's first message (public)
    holder_id: uuid.UUID | None = None
    contact_kind: str | None = None  # "email" | "phone": how to answer outside the app
    contact: str | None = None  # normalised address (identity.contacts normalisers)
    category: str | None = None  # None: the classifier decides (category_source "auto")
    priority: str = "normal"
    language: str | None = None  # None: detect_language(subject + body)
    external_ref: str | None = None  # e.g. "weibo:123"; a second import returns the same ticket
    email_message_id: str | None = None
    links: tuple[tuple[str, str], ...] = ()  # (kind, ref): ("transfer", id), ("account", id)
    author_id: uuid.UUID | None = None  # who logged it (an agent for phone notes)


def _new_reference(session: Session) -> str:
    while True:
        code = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(_REFERENCE_LENGTH))
        reference = f"AX-{code}"
        if session.scalar(select(Ticket.id).where(Ticket.reference == reference)) is None:
            return reference


def _check(new: NewTicket) -> tuple[str, str]:
    subject, body = new.subject.strip(), new.body.strip()
    if new.channel not in TICKET_CHANNELS:
        raise InvalidTicket(f"unknown channel {new.channel!r}", field="channel")
    if not body:
        raise InvalidTicket("say what happened", field="body")
    if len(subject) > MAX_SUBJECT:
        raise InvalidTicket(f"a subject has at most {MAX_SUBJECT} characters", field="subject")
    if len(body) > MAX_BODY:
        raise InvalidTicket(f"a message has at most {MAX_BODY} characters", field="body")
    if new.priority not in TICKET_PRIORITIES:
        raise InvalidTicket(f"unknown priority {new.priority!r}", field="priority")
    if new.category is not None and new.category not in CATEGORIES:
        raise InvalidTicket(f"unknown category {new.category!r}", field="category")
    if new.language is not None and new.language not in ("zh", "en"):
        raise InvalidTicket("language is zh or en", field="language")
    if (new.contact is None) != (new.contact_kind is None) or new.contact_kind not in (
        None, "email", "phone",
    ):  # fmt: skip
        raise InvalidTicket("a contact needs its kind, email or phone", field="contact")
    if new.holder_id is None and new.contact is None and new.external_ref is None:
        raise InvalidTicket("a ticket needs a holder, a contact or an external reference")
    for kind, ref in new.links:
        if kind not in LINK_KINDS or not ref or len(ref) > 100:
            raise InvalidTicket(f"cannot link {kind!r} {ref!r}", field="links")
    # Without a subject (chat, social), the first words stand in for one.
    return subject or " ".join(body.split())[:80], body


def add_link(
    session: Session, ticket: Ticket, kind: str, ref: str, *, now: datetime,
    actor_id: uuid.UUID | None = None,
) -> bool:  # fmt: skip
    """Link the ticket to a holder, account, transfer, ticket, incident or freeze; False if
    it already was."""
    if kind not in LINK_KINDS or not ref or len(ref) > 100:
        raise InvalidTicket(f"cannot link {kind!r} {ref!r}", field="links")
    if session.get(TicketLink, (ticket.id, kind, ref)) is not None:
        return False
    session.add(TicketLink(ticket_id=ticket.id, kind=kind, ref=ref, created_at=now))
    states.record(session, ticket, "linked", now=now, actor_id=actor_id, link_kind=kind, ref=ref)
    session.flush()
    return True


def open_ticket(
    session: Session, vault: Vault, new: NewTicket, *, now: datetime, acknowledge: bool = True
) -> Ticket:
    """Flush a ticket with its first message, events and links, and start its SLA clocks.

    A second import with the same ``external_ref`` returns the first ticket unchanged.
    ``acknowledge`` sends the customer a "we received it" notice with the reference.
    """
    if new.external_ref is not None:
        existing = session.scalars(
            select(Ticket).where(Ticket.external_ref == new.external_ref)
        ).one_or_none()
        if existing is not None:
            return existing
    subject, body = _check(new)
    ticket_id = new_id()
    owner_id = new.holder_id if new.holder_id is not None else ticket_id
    ensure_owner_key(session, vault, owner_id, now)
    text = f"{subject}\n{body}"
    language = new.language or detect_language(text)
    confidence: int | None = None
    category = new.category
    if category is None:
        prediction = default_classifier().predict(text)
        category = prediction.category if prediction.category in CATEGORIES else "other"
        confidence = round(prediction.confidence * 1000)

    def sealed(column: str, value: str) -> bytes:
        return seal(session, vault, owner_id, table="care_tickets", column=column,
                    row_id=ticket_id, text=value)  # fmt: skip

    ticket = Ticket(
        id=ticket_id, reference=_new_reference(session), holder_id=new.holder_id,
        owner_id=owner_id, channel=new.channel, contact_kind=new.contact_kind,
        contact_enc=sealed("contact_enc", new.contact) if new.contact else None,
        contact_lookup=(
            contact_lookup(vault, new.contact_kind, new.contact)
            if new.contact and new.contact_kind else None
        ),
        subject_enc=sealed("subject_enc", subject), status="new", priority=new.priority,
        category=category, category_source="auto" if new.category is None else "agent",
        category_confidence=confidence, language=language, assignee_id=None, escalated=False,
        merged_into_id=None, external_ref=new.external_ref, sla_policy_id=None,
        reopen_count=0, created_at=now, updated_at=now, first_response_at=None,
        last_customer_at=now, last_agent_at=None, resolved_at=None, closed_at=None,
        reopen_until=None,
    )  # fmt: skip
    session.add(ticket)
    session.flush()
    _message(session, vault, ticket, author_kind="customer", visibility="public",
             author_id=new.author_id or new.holder_id, body=body, channel=new.channel,
             email_message_id=new.email_message_id, now=now)  # fmt: skip
    states.record(
        session, ticket, "created", now=now, actor_id=new.author_id or new.holder_id,
        channel=new.channel, category=category, category_source=ticket.category_source,
        confidence=confidence, language=language, priority=new.priority,
    )  # fmt: skip
    links = list(new.links)
    if new.holder_id is not None:
        links.insert(0, ("holder", str(new.holder_id)))
    for kind, ref in links:
        add_link(session, ticket, kind, ref, now=now, actor_id=new.author_id)
    session.flush()
    sla.start_clocks(session, ticket, now)
    if acknowledge:
        notify.tell_customer(session, vault, ticket, "care.received", now=now)
    return ticket


def _message(
    session: Session, vault: Vault, ticket: Ticket, *, author_kind: str, visibility: str,
    author_id: uuid.UUID | None, body: str, channel: str, email_message_id: str | None,
    now: datetime,
) -> TicketMessage:  # fmt: skip
    message_id = new_id()
    message = TicketMessage(
        id=message_id, ticket_id=ticket.id, author_kind=author_kind, author_id=author_id,
        visibility=visibility, channel=channel,
        body_enc=seal(session, vault, ticket.owner_id, table="care_messages",
                      column="body_enc", row_id=message_id, text=body),
        email_message_id=email_message_id, created_at=now,
    )  # fmt: skip
    session.add(message)
    session.flush()
    return message


def survivor(session: Session, ticket: Ticket) -> Ticket:
    """The ticket a merged ticket now lives in (itself if not merged)."""
    seen = {ticket.id}
    while ticket.merged_into_id is not None:
        target = session.get(Ticket, ticket.merged_into_id)
        if target is None or target.id in seen:
            break
        seen.add(target.id)
        ticket = target
    return ticket


def add_message(
    session: Session, vault: Vault, ticket: Ticket, *, author_kind: str, body: str,
    channel: str, now: datetime, visibility: str = "public",
    author_id: uuid.UUID | None = None, email_message_id: str | None = None,
    status: str | None = None, reopen_window: timedelta = states.DEFAULT_REOPEN_WINDOW,
) -> TicketMessage:  # fmt: skip
    """Append a message to ``ticket`` (or to the ticket it was merged into).

    - customer: ``pending_customer`` -> ``open``; ``resolved`` before ``reopen_until`` ->
      ``open`` (reopened); ``closed`` or resolved past the window -> ``TicketClosed`` (the
      caller opens a new ticket linked to this one).
    - agent, public: the first response is recorded, ``new`` -> ``open`` (or ``status``,
      the agent's choice, e.g. ``pending_customer`` or ``resolved``), the customer is told.
    - agent, internal: a note; no state change, nobody outside is told.
    """
    body = body.strip()
    if not body:
        raise InvalidTicket("a message cannot be empty", field="body")
    if len(body) > MAX_BODY:
        raise InvalidTicket(f"a message has at most {MAX_BODY} characters", field="body")
    if author_kind not in ("customer", "agent", "system"):
        raise InvalidTicket(f"unknown author kind {author_kind!r}")
    if visibility not in ("public", "internal"):
        raise InvalidTicket(f"unknown visibility {visibility!r}", field="visibility")
    if visibility == "internal" and author_kind == "customer":
        raise InvalidTicket("customers cannot write internal notes")
    if channel not in TICKET_CHANNELS:
        raise InvalidTicket(f"unknown channel {channel!r}", field="channel")
    ticket = survivor(session, ticket)
    if author_kind == "customer":
        return _from_customer(session, vault, ticket, body=body, channel=channel, now=now,
                              author_id=author_id, email_message_id=email_message_id)  # fmt: skip
    if ticket.status == "closed":
        raise TicketClosed(f"ticket {ticket.reference} is closed")
    message = _message(session, vault, ticket, author_kind=author_kind, visibility=visibility,
                       author_id=author_id, body=body, channel=channel,
                       email_message_id=email_message_id, now=now)  # fmt: skip
    if visibility == "internal":
        states.record(session, ticket, "note", now=now, actor_id=author_id,
                      message_id=str(message.id))  # fmt: skip
        session.flush()
        return message
    ticket.updated_at = now
    if author_kind == "agent":
        ticket.last_agent_at = now
        if ticket.first_response_at is None:
            ticket.first_response_at = now
        states.record(session, ticket, "reply", now=now, actor_id=author_id,
                      message_id=str(message.id))  # fmt: skip
        session.flush()
        sla.on_agent_reply(session, ticket, now)
        notify.tell_customer(session, vault, ticket, "care.reply", now=now, reply_text=body,
                             data={"message_id": str(message.id)})  # fmt: skip
        target = status or ("open" if ticket.status == "new" else None)
        if target is not None and target != ticket.status:
            # The reply itself is the news: no separate state notice after it (resolving
            # still asks for the rating, which says the complaint is resolved).
            states.change_status(session, vault, ticket, target, now=now, actor_id=author_id,
                                 reopen_window=reopen_window, tell=False)  # fmt: skip
    elif status is not None and status != ticket.status:
        # A system message (e.g. an incident's resolution) may settle the ticket too; it is
        # not an agent's first response, so the SLA clocks see only the state change.
        states.change_status(session, vault, ticket, status, now=now, actor_id=author_id,
                             reopen_window=reopen_window, tell=False)  # fmt: skip
    session.flush()
    return message


def _from_customer(
    session: Session, vault: Vault, ticket: Ticket, *, body: str, channel: str, now: datetime,
    author_id: uuid.UUID | None, email_message_id: str | None,
) -> TicketMessage:  # fmt: skip
    if ticket.status == "resolved" and (ticket.reopen_until is None or now >= ticket.reopen_until):
        # The auto-close job has not run yet: the window is over all the same.
        states.change_status(session, vault, ticket, "closed", now=now,
                             reason="reopen window passed", tell=False)  # fmt: skip
    if ticket.status == "closed":
        raise TicketClosed(
            f"ticket {ticket.reference} is closed", ticket_id=str(ticket.id),
            reference=ticket.reference,
        )  # fmt: skip
    message = _message(session, vault, ticket, author_kind="customer", visibility="public",
                       author_id=author_id or ticket.holder_id, body=body, channel=channel,
                       email_message_id=email_message_id, now=now)  # fmt: skip
    ticket.last_customer_at = now
    ticket.updated_at = now
    states.record(session, ticket, "customer_message", now=now,
                  actor_id=author_id or ticket.holder_id, message_id=str(message.id))  # fmt: skip
    session.flush()
    if ticket.status in ("pending_customer", "resolved"):
        reopened = ticket.status == "resolved"
        states.change_status(session, vault, ticket, "open", now=now,
                             actor_id=author_id or ticket.holder_id, tell=reopened,
                             reason="customer replied")  # fmt: skip
        if reopened:
            states.record(session, ticket, "reopened", now=now, actor_id=ticket.holder_id,
                          reopen_count=ticket.reopen_count)  # fmt: skip
    sla.on_customer_message(session, ticket, now)
    session.flush()
    return message


def find_by_reference(session: Session, reference: str) -> Ticket | None:
    """The ticket quoted as ``AX-7K2M9Q`` (any case, with or without brackets), or None."""
    cleaned = reference.strip().strip("[]").strip().upper()
    if not cleaned.startswith("AX-") or len(cleaned) > 16:
        return None
    return session.scalars(select(Ticket).where(Ticket.reference == cleaned)).one_or_none()


def get_ticket(session: Session, ticket_id: uuid.UUID, *, for_update: bool = False) -> Ticket:
    query = select(Ticket).where(Ticket.id == ticket_id)
    if for_update:
        query = query.with_for_update()
    ticket = session.scalars(query).one_or_none()
    if ticket is None:
        raise TicketNotFound()
    return ticket
