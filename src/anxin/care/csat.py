"""Customer satisfaction: asked once, when a ticket is first resolved; answered once.

The rating (1-5) is a plain integer for reports; the optional comment is what the person
wrote, so it is sealed under the ticket's owner like the rest of their words.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from anxin.care import notify
from anxin.care.errors import CsatAlreadyAnswered, CsatNotRequested, InvalidTicket
from anxin.care.sealing import seal
from anxin.kit.ids import new_id
from anxin.models.care import Csat, Ticket, TicketEvent
from anxin.privacy.vault import Vault

MAX_COMMENT = 2000


def request(session: Session, vault: Vault, ticket: Ticket, now: datetime) -> Csat | None:
    """Ask for a rating, unless this ticket has asked before (a reopened and re-resolved
    ticket is not asked twice)."""
    if session.get(Csat, ticket.id) is not None:
        return None
    row = Csat(ticket_id=ticket.id, requested_at=now, rating=None, comment_enc=None,
               answered_at=None)  # fmt: skip
    session.add(row)
    session.add(TicketEvent(id=new_id(), ticket_id=ticket.id, kind="csat_requested",
                            actor_id=None, data={}, created_at=now))  # fmt: skip
    session.flush()
    notify.tell_customer(session, vault, ticket, "care.csat", now=now)
    return row


def answer(
    session: Session, vault: Vault, ticket: Ticket, *, rating: int, comment: str | None,
    now: datetime,
) -> Csat:  # fmt: skip
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise InvalidTicket("a rating is a whole number from 1 to 5", field="rating")
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT:
        raise InvalidTicket(f"a comment has at most {MAX_COMMENT} characters", field="comment")
    row = session.get(Csat, ticket.id, with_for_update=True)
    if row is None:
        raise CsatNotRequested("this ticket has not been resolved yet")
    if row.answered_at is not None:
        raise CsatAlreadyAnswered("you already rated this ticket")
    row.rating = rating
    row.comment_enc = (
        seal(session, vault, ticket.owner_id, table="care_csat", column="comment_enc",
             row_id=ticket.id, text=comment)
        if comment is not None
        else None
    )  # fmt: skip
    row.answered_at = now
    session.add(TicketEvent(id=new_id(), ticket_id=ticket.id, kind="csat_answered",
                            actor_id=ticket.holder_id, data={"rating": rating},
                            created_at=now))  # fmt: skip
    session.flush()
    return row
