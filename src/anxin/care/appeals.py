"""A holder's appeal against a wallet freeze becomes a care ticket (category
``funds_frozen``, linked to the freeze), so it is answered on the SLA clock like any other
complaint. A second appeal against the same freeze while its ticket is still open is added
to that ticket as the customer's next message rather than opening another one.
"""

# Chinese texts use full-width punctuation on purpose.

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.care.tickets import NewTicket, add_message, open_ticket
from anxin.models import Freeze, User
from anxin.models.care import Ticket, TicketLink
from anxin.privacy.vault import Vault

_SUBJECT = {"zh": "钱包冻结申诉", "en": "Appeal against a wallet freeze"}


def _open_ticket_for(session: Session, freeze: Freeze) -> Ticket | None:
    query = (
        select(Ticket)
        .join(TicketLink, TicketLink.ticket_id == Ticket.id)
        .where(
            TicketLink.kind == "freeze",
            TicketLink.ref == str(freeze.id),
            Ticket.status != "closed",
            Ticket.merged_into_id.is_(None),
        )
        .order_by(Ticket.created_at.desc())
    )
    return session.scalars(query).first()


def ticket_for_appeal(
    session: Session, vault: Vault, holder: User, freeze: Freeze, message: str, now: datetime
) -> Ticket:
    """The ticket that carries this appeal: the freeze's open ticket, or a new one."""
    found = _open_ticket_for(session, freeze)
    if found is not None:
        add_message(session, vault, found, author_kind="customer", author_id=holder.id,
                    body=message, channel="app", now=now)  # fmt: skip
        return found
    lang = "zh" if holder.locale.startswith("zh") else "en"
    new = NewTicket(
        channel="app", subject=_SUBJECT[lang], body=message, holder_id=holder.id,
        category="funds_frozen", priority="high", language=lang,
        links=(("freeze", str(freeze.id)),), author_id=holder.id,
    )  # fmt: skip
    return open_ticket(session, vault, new, now=now)
