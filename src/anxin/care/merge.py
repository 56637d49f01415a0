"""Merging a duplicate ticket into the one that carries on (the survivor).

The duplicate is closed and points to the survivor (``merged_into_id``); its messages stay
where they are, sealed under its own owner, and are read together with the survivor's (see
``thread``). Its links are carried over, and the two tickets link to each other. Tickets of
two different holders are never merged (one would read the other's words), nor a holder's
ticket into one they cannot see (merge the other way round).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.care import notify, states
from anxin.care.errors import CannotMerge
from anxin.care.tickets import add_link
from anxin.models import User
from anxin.models.care import Ticket, TicketLink, TicketMessage
from anxin.privacy.vault import Vault


def merge(
    session: Session, vault: Vault, duplicate: Ticket, survivor: Ticket, *, actor: User,
    now: datetime,
) -> Ticket:  # fmt: skip
    if duplicate.id == survivor.id:
        raise CannotMerge("a ticket cannot be merged into itself")
    if duplicate.merged_into_id is not None:
        raise CannotMerge(f"{duplicate.reference} was already merged")
    if survivor.merged_into_id is not None:
        raise CannotMerge(f"{survivor.reference} was itself merged; merge into its survivor")
    if survivor.status == "closed":
        raise CannotMerge(f"{survivor.reference} is closed")
    if (
        duplicate.holder_id is not None and survivor.holder_id is not None
        and duplicate.holder_id != survivor.holder_id
    ):  # fmt: skip
        raise CannotMerge("tickets of two different holders cannot be merged")
    if duplicate.holder_id is not None and survivor.holder_id is None:
        # The holder could not see the survivor; merge the other way round instead.
        raise CannotMerge(f"merge {survivor.reference} into the holder's {duplicate.reference}")
    for link in session.scalars(select(TicketLink).where(TicketLink.ticket_id == duplicate.id)):
        add_link(session, survivor, link.kind, link.ref, now=now, actor_id=actor.id)
    add_link(session, survivor, "ticket", str(duplicate.id), now=now, actor_id=actor.id)
    add_link(session, duplicate, "ticket", str(survivor.id), now=now, actor_id=actor.id)
    if duplicate.status != "closed":
        states.change_status(session, vault, duplicate, "closed", now=now, actor_id=actor.id,
                             tell=False, reason=f"merged into {survivor.reference}")  # fmt: skip
    duplicate.merged_into_id = survivor.id
    duplicate.updated_at = survivor.updated_at = now
    states.record(session, duplicate, "merged_into", now=now, actor_id=actor.id,
                  survivor=survivor.reference, survivor_id=str(survivor.id))  # fmt: skip
    states.record(session, survivor, "merged", now=now, actor_id=actor.id,
                  duplicate=duplicate.reference, duplicate_id=str(duplicate.id))  # fmt: skip
    audit.append(
        session, event="care.ticket_merged", actor_id=actor.id, actor_role=actor.role,
        subject_id=survivor.holder_id or duplicate.holder_id,
        data={"duplicate": duplicate.reference, "survivor": survivor.reference}, now=now,
    )  # fmt: skip
    session.flush()
    notify.tell_customer(session, vault, duplicate, "care.merged", now=now,
                         params={"survivor": survivor.reference})  # fmt: skip
    return survivor


def merged_ids(session: Session, ticket: Ticket) -> list[uuid.UUID]:
    """The ticket and every ticket merged into it, directly or through another merge."""
    found = [ticket.id]
    frontier = [ticket.id]
    while frontier:
        children = list(
            session.scalars(select(Ticket.id).where(Ticket.merged_into_id.in_(frontier)))
        )
        children = [c for c in children if c not in found]
        found.extend(children)
        frontier = children
    return found


def thread(session: Session, ticket: Ticket, *, public_only: bool) -> list[TicketMessage]:
    """The conversation of a ticket with its merged duplicates, oldest first."""
    query = select(TicketMessage).where(TicketMessage.ticket_id.in_(merged_ids(session, ticket)))
    if public_only:
        query = query.where(TicketMessage.visibility == "public")
    return list(session.scalars(query.order_by(TicketMessage.created_at, TicketMessage.id)))
