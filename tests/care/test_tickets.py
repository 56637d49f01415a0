"""The core ticket contract: opening from any channel, messages, states, references."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from anxin.care.errors import InvalidTicket, TicketClosed
from anxin.care.tickets import (
    NewTicket,
    add_message,
    find_by_reference,
    message_body,
    open_ticket,
    ticket_contact,
    ticket_subject,
)
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Notification, OutboxMessage
from anxin.models.care import Ticket, TicketEvent, TicketLink, TicketMessage
from anxin.privacy.vault import Vault
from tests.care.conftest import NOW, make_user, new_ticket


def _events(uow: UnitOfWork, ticket: Ticket) -> list[str]:
    return list(
        uow.session.scalars(
            select(TicketEvent.kind)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(TicketEvent.created_at, TicketEvent.id)
        )
    )


def test_a_holder_ticket_is_sealed_linked_and_acknowledged(uow: UnitOfWork, vault: Vault) -> None:
    holder = make_user(uow.session, vault, NOW)
    ticket = new_ticket(uow.session, vault, holder=holder, links=(("transfer", "t-1"),))
    assert ticket.reference.startswith("AX-") and len(ticket.reference) == 9
    assert ticket.status == "new" and ticket.owner_id == holder.id
    assert ticket.category == "unauthorized_debit" and ticket.category_source == "agent"
    assert ticket.language == "en"
    assert ticket_subject(uow.session, vault, ticket) == "Money taken"
    assert b"Money" not in ticket.subject_enc
    [message] = uow.session.scalars(select(TicketMessage)).all()
    assert message.author_kind == "customer" and message.visibility == "public"
    assert message_body(uow.session, vault, message) == "I did not make this payment"
    links = {(link.kind, link.ref) for link in uow.session.scalars(select(TicketLink))}
    assert links == {("holder", str(holder.id)), ("transfer", "t-1")}
    assert _events(uow, ticket)[0] == "created"
    [notice] = uow.session.scalars(select(Notification)).all()
    assert notice.kind == "care.received" and ticket.reference in notice.body


def test_someone_without_a_wallet_gets_their_own_key_and_an_email(
    uow: UnitOfWork, vault: Vault
) -> None:
    ticket = new_ticket(uow.session, vault, channel="email", contact="li@example.com")
    assert ticket.holder_id is None and ticket.owner_id == ticket.id
    assert ticket_contact(uow.session, vault, ticket) == "li@example.com"
    assert ticket.contact_lookup is not None and "li@" not in ticket.contact_lookup
    [mail] = uow.session.scalars(select(OutboxMessage)).all()
    assert mail.channel == "email"


def test_classifier_and_language_decide_when_not_given(uow: UnitOfWork, vault: Vault) -> None:
    ticket = new_ticket(uow.session, vault, subject="", body="我的钱被扣了 不是我操作的",
                        category=None)  # fmt: skip
    assert ticket.language == "zh"
    assert ticket.category_source == "auto" and ticket.category_confidence is not None
    assert ticket_subject(uow.session, vault, ticket).startswith("我的钱被扣了")


def test_an_external_ref_is_imported_once(uow: UnitOfWork, vault: Vault) -> None:
    new = NewTicket(channel="social", subject="", body="wallet ate my money", category="other",
                    external_ref="weibo:123")  # fmt: skip
    first = open_ticket(uow.session, vault, new, now=NOW)
    again = open_ticket(uow.session, vault, new, now=NOW + timedelta(minutes=1))
    assert again.id == first.id
    assert len(uow.session.scalars(select(Ticket)).all()) == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"channel": "fax"},
        {"body": "  "},
        {"priority": "asap"},
        {"category": "weather"},
        {"language": "fr"},
        {"contact_kind": None, "contact": "x@example.com"},
        {"links": (("planet", "mars"),)},
        {"subject": "x" * 201},
    ],
)
def test_bad_tickets_are_refused(uow: UnitOfWork, vault: Vault, fields: dict[str, object]) -> None:
    with pytest.raises(InvalidTicket):
        new_ticket(uow.session, vault, **fields)


def test_agent_reply_opens_and_notifies_customer_reply_pending_reopens(
    uow: UnitOfWork, vault: Vault
) -> None:
    holder = make_user(uow.session, vault, NOW)
    agent = make_user(uow.session, vault, NOW, role="agent")
    ticket = new_ticket(uow.session, vault, holder=holder)
    later = NOW + timedelta(hours=1)
    add_message(uow.session, vault, ticket, author_kind="agent", body="We are looking",
                channel="app", now=later, author_id=agent.id)  # fmt: skip
    assert ticket.status == "open" and ticket.first_response_at == later
    kinds = [n.kind for n in uow.session.scalars(select(Notification))]
    assert kinds == ["care.received", "care.reply"]
    add_message(uow.session, vault, ticket, author_kind="agent", body="Which card?",
                channel="app", now=later, author_id=agent.id,
                status="pending_customer")  # fmt: skip
    assert ticket.status == "pending_customer" and ticket.first_response_at == later
    add_message(uow.session, vault, ticket, author_kind="customer", body="The debit card",
                channel="app", now=later + timedelta(hours=1))  # fmt: skip
    assert ticket.status == "open" and ticket.last_customer_at == later + timedelta(hours=1)


def test_internal_notes_do_not_move_or_tell(uow: UnitOfWork, vault: Vault) -> None:
    holder = make_user(uow.session, vault, NOW)
    ticket = new_ticket(uow.session, vault, holder=holder)
    note = add_message(uow.session, vault, ticket, author_kind="agent", body="looks like fraud",
                       channel="app", now=NOW, visibility="internal")  # fmt: skip
    assert note.visibility == "internal" and ticket.status == "new"
    assert ticket.first_response_at is None
    assert [n.kind for n in uow.session.scalars(select(Notification))] == ["care.received"]
    with pytest.raises(InvalidTicket):
        add_message(uow.session, vault, ticket, author_kind="customer", body="x", channel="app",
                    now=NOW, visibility="internal")  # fmt: skip


def test_reopen_within_the_window_and_closed_after_it(uow: UnitOfWork, vault: Vault) -> None:
    holder = make_user(uow.session, vault, NOW)
    ticket = new_ticket(uow.session, vault, holder=holder)
    add_message(uow.session, vault, ticket, author_kind="agent", body="Refunded", channel="app",
                now=NOW, status="resolved", reopen_window=timedelta(days=3))  # fmt: skip
    assert ticket.status == "resolved" and ticket.reopen_until == NOW + timedelta(days=3)
    add_message(uow.session, vault, ticket, author_kind="customer", body="Not yet!",
                channel="app", now=NOW + timedelta(days=2))  # fmt: skip
    assert ticket.status == "open" and ticket.reopen_count == 1
    assert "reopened" in _events(uow, ticket)
    add_message(uow.session, vault, ticket, author_kind="agent", body="Now it is", channel="app",
                now=NOW + timedelta(days=2), status="resolved",
                reopen_window=timedelta(days=3))  # fmt: skip
    with pytest.raises(TicketClosed):
        add_message(uow.session, vault, ticket, author_kind="customer", body="thanks",
                    channel="app", now=NOW + timedelta(days=6))  # fmt: skip
    assert ticket.status == "closed"
    with pytest.raises(TicketClosed):
        add_message(uow.session, vault, ticket, author_kind="agent", body="x", channel="app",
                    now=NOW + timedelta(days=6))  # fmt: skip


def test_a_contact_gets_the_reply_itself_with_the_reference(uow: UnitOfWork, vault: Vault) -> None:
    ticket = new_ticket(uow.session, vault, channel="email", contact="li@example.com")
    add_message(uow.session, vault, ticket, author_kind="agent", body="Your refund is on its way",
                channel="email", now=NOW)  # fmt: skip
    mails = uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)).all()
    assert len(mails) == 2
    opened = vault.decrypt(uow.session, mails[1].owner_id, table="delivery_outbox",
                           column="body_enc", row_id=mails[1].id,
                           ciphertext=mails[1].body_enc)  # fmt: skip
    subject = vault.decrypt(uow.session, mails[1].owner_id, table="delivery_outbox",
                            column="subject_enc", row_id=mails[1].id,
                            ciphertext=mails[1].subject_enc or b"")  # fmt: skip
    assert "Your refund is on its way" in opened
    assert subject.startswith(f"[{ticket.reference}]")


def test_find_by_reference(uow: UnitOfWork, vault: Vault) -> None:
    ticket = new_ticket(uow.session, vault)
    assert find_by_reference(uow.session, ticket.reference) is ticket
    assert find_by_reference(uow.session, f"[{ticket.reference.lower()}]") is ticket
    assert find_by_reference(uow.session, "AX-000000") is None
    assert find_by_reference(uow.session, "hello") is None
