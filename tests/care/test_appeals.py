"""A freeze appeal is carried by a care ticket: funds_frozen, linked to the freeze, on the
SLA clock; a second appeal joins the open ticket; after it closed, a new one opens."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from anxin.care import states
from anxin.care.tickets import message_body
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import FreezeAppeal
from anxin.models.care import SlaClock, Ticket, TicketLink, TicketMessage
from anxin.privacy.vault import Vault
from anxin.wallet import freeze
from tests.care.conftest import NOW, make_user


def test_an_appeal_opens_a_funds_frozen_ticket_linked_to_the_freeze(
    uow: UnitOfWork, vault: Vault
) -> None:
    holder = make_user(uow.session, vault, NOW)
    risk = make_user(uow.session, vault, NOW, role="risk_officer")
    row = freeze.freeze(uow.session, vault, risk, holder, scope="outgoing",
                        reason_code="suspected_fraud", note="odd cards", now=NOW)  # fmt: skip
    first = freeze.appeal(uow.session, vault, holder, row.id, message="那些交易是我本人操作的",
                          now=NOW + timedelta(hours=1))  # fmt: skip
    assert first.care_ticket_id is not None
    ticket = uow.session.get(Ticket, first.care_ticket_id)
    assert ticket is not None
    assert (ticket.category, ticket.priority, ticket.holder_id) == ("funds_frozen", "high",
                                                                    holder.id)  # fmt: skip
    assert ticket.language == "zh"
    links = {(x.kind, x.ref) for x in uow.session.scalars(
        select(TicketLink).where(TicketLink.ticket_id == ticket.id))}  # fmt: skip
    assert ("freeze", str(row.id)) in links
    clocks = uow.session.scalars(select(SlaClock).where(SlaClock.ticket_id == ticket.id)).all()
    assert {c.kind for c in clocks} >= {"first_response", "resolution"}

    second = freeze.appeal(uow.session, vault, holder, row.id, message="请尽快处理",
                           now=NOW + timedelta(hours=2))  # fmt: skip
    assert second.care_ticket_id == ticket.id
    bodies = [
        message_body(uow.session, vault, m)
        for m in uow.session.scalars(
            select(TicketMessage).where(TicketMessage.ticket_id == ticket.id)
            .order_by(TicketMessage.created_at)
        )
    ]  # fmt: skip
    assert bodies == ["那些交易是我本人操作的", "请尽快处理"]

    states.change_status(uow.session, vault, ticket, "closed", now=NOW + timedelta(hours=3))
    third = freeze.appeal(uow.session, vault, holder, row.id, message="still frozen",
                          now=NOW + timedelta(hours=4))  # fmt: skip
    assert third.care_ticket_id not in (None, ticket.id)
    appeals = uow.session.scalars(select(FreezeAppeal).order_by(FreezeAppeal.created_at)).all()
    assert [a.care_ticket_id for a in appeals] == [ticket.id, ticket.id, third.care_ticket_id]
