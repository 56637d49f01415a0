"""Merging duplicates: the duplicate closes and points to the survivor, its messages stay
readable with the survivor's, links carry over; forbidden merges are refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from anxin.care.errors import CannotMerge
from anxin.care.merge import merge, thread
from anxin.care.tickets import add_message, message_body, survivor
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.care import TicketEvent, TicketLink
from anxin.privacy.vault import Vault
from tests.care.conftest import NOW, make_user, new_ticket


def test_merge_carries_links_and_keeps_messages(uow: UnitOfWork, vault: Vault) -> None:
    lead = make_user(uow.session, vault, NOW, role="senior_agent")
    holder = make_user(uow.session, vault, NOW)
    keep = new_ticket(uow.session, vault, holder=holder, body="first words")
    dup = new_ticket(uow.session, vault, holder=holder, body="second words",
                     links=(("transfer", "t-9"),))  # fmt: skip
    add_message(uow.session, vault, dup, author_kind="agent", body="internal", channel="app",
                now=NOW, visibility="internal")  # fmt: skip
    assert merge(uow.session, vault, dup, keep, actor=lead, now=NOW) is keep
    assert dup.status == "closed" and dup.merged_into_id == keep.id
    assert survivor(uow.session, dup) is keep
    rows = uow.session.scalars(select(TicketLink).where(TicketLink.ticket_id == keep.id))
    links = {(link.kind, link.ref) for link in rows}
    assert {("transfer", "t-9"), ("ticket", str(dup.id)), ("holder", str(holder.id))} <= links
    public = [message_body(uow.session, vault, m) for m in thread(uow.session, keep,
                                                                  public_only=True)]  # fmt: skip
    assert public == ["first words", "second words"]
    assert len(thread(uow.session, keep, public_only=False)) == 3
    kinds = set(uow.session.scalars(select(TicketEvent.kind)))
    assert {"merged", "merged_into"} <= kinds
    # A customer writing on the old ticket lands in the survivor.
    landed = add_message(uow.session, vault, dup, author_kind="customer", body="any news?",
                         channel="app", now=NOW)  # fmt: skip
    assert landed.ticket_id == keep.id


def test_refused_merges(uow: UnitOfWork, vault: Vault) -> None:
    lead = make_user(uow.session, vault, NOW, role="senior_agent")
    alice, bob = make_user(uow.session, vault, NOW), make_user(uow.session, vault, NOW)
    a1, a2 = (new_ticket(uow.session, vault, holder=alice) for _ in range(2))
    b1 = new_ticket(uow.session, vault, holder=bob)
    stranger = new_ticket(uow.session, vault)
    for duplicate, target in ((a1, a1), (b1, a1), (a1, stranger)):
        with pytest.raises(CannotMerge):
            merge(uow.session, vault, duplicate, target, actor=lead, now=NOW)
    merge(uow.session, vault, stranger, a1, actor=lead, now=NOW)  # contact into holder: fine
    merge(uow.session, vault, a2, a1, actor=lead, now=NOW)
    with pytest.raises(CannotMerge):
        merge(uow.session, vault, a2, a1, actor=lead, now=NOW)  # already merged
    with pytest.raises(CannotMerge):
        merge(uow.session, vault, a1, a2, actor=lead, now=NOW)  # into a merged ticket
