"""What every console ticket page shares: the SLA colours, finding a ticket, and the ticket
page itself with what the agent can do on it (reveal for a purpose, linked transfers,
merge, assignment). The routes live in console_pages, console_ticket_actions and
console_reveal; they all answer with ``ticket_page``."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.api.deps import Container
from anxin.care import macros, views
from anxin.care.errors import TicketNotFound
from anxin.care.tickets import get_ticket
from anxin.identity.permissions import ROLE_PERMISSIONS, has_permission
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import User
from anxin.models.care import Ticket
from anxin.models.insider import Case
from anxin.privacy import cases
from anxin.privacy import reveal as reveals
from anxin.wallet.accounts import BUSINESS_TZ
from anxin.web.care_pages import category_label
from anxin.web.console_auth import Staff
from anxin.web.console_transfers import linked_rows
from anxin.web.pages import locale_of, show
from anxin.web.words import N_

LANGUAGES = ("zh", "en")
# A due time this close is shown as near breach (amber) rather than on track.
NEAR_BREACH = timedelta(hours=1)
SLA_LABELS = {
    "sla-breached": "breached", "sla-near": "near breach", "sla-ok": "on track",
    "sla-paused": "paused",
}  # fmt: skip
LEAD = "care:lead"
# The case kind a reveal "for this ticket" is recorded under (docs/privacy.md: cases).
TICKET_CASE = "ticket"
FIELD_WORDS = (
    N_("display_name"), N_("phone"), N_("email"), N_("legal_name"), N_("id_number_last4"),
    N_("date_of_birth"), N_("address"), N_("nationality"), N_("id_type"), N_("id_number"),
)  # fmt: skip
CASE_WORDS = (N_("ticket"), N_("dispute"), N_("incident"), N_("risk_case"))
ROLES = (N_("agent"), N_("senior_agent"), N_("risk_officer"), N_("compliance_officer"))


def sla_state(due_at: datetime | None, now: datetime) -> str:
    """The CSS class of a due time: ``sla-breached``, ``sla-near``, ``sla-ok`` or
    ``sla-paused`` (no running clock: waiting for the customer)."""
    if due_at is None:
        return "sla-paused"
    if due_at <= now:
        return "sla-breached"
    return "sla-near" if due_at - now <= NEAR_BREACH else "sla-ok"


def base(request: Request, staff: Staff) -> dict[str, Any]:
    locale = locale_of(request)
    return {
        "tz": BUSINESS_TZ, "staff": staff, "label": lambda c: category_label(c, locale),
        "sla": lambda due: sla_state(due, staff.now), "sla_labels": SLA_LABELS,
    }  # fmt: skip


def find_ticket(uow: UnitOfWork, ticket_id: str, *, for_update: bool = False) -> Ticket | None:
    try:
        return get_ticket(uow.session, uuid.UUID(ticket_id), for_update=for_update)
    except (ValueError, TicketNotFound):
        return None


def missing(request: Request, container: Container, staff: Staff) -> HTMLResponse:
    return show(request, container, "console/missing.html", {"staff": staff}, status_code=404)


def workers(session: Session) -> list[User]:
    """Active staff who work tickets: whom a ticket can be given to."""
    roles = [r for r, perms in ROLE_PERMISSIONS.items() if "care:work" in perms]
    query = select(User).where(User.kind == "staff", User.status == "active",
                               User.role.in_(roles))  # fmt: skip
    return list(session.scalars(query.order_by(User.pseudonym, User.id)))


def ticket_case(session: Session, ticket: Ticket) -> Case | None:
    query = select(Case).where(Case.kind == TICKET_CASE, Case.reference == ticket.reference)
    return session.scalars(query).one_or_none()


def purposes(session: Session, staff: Staff, ticket: Ticket) -> list[Case]:
    """The staff member's open cases about this ticket's holder (reveal purposes), besides
    the ticket itself, which the page offers on its own."""
    if ticket.holder_id is None:
        return []
    found = cases.list_cases(session, assignee_id=staff.user.id, holder_id=ticket.holder_id,
                             status="open", limit=20)  # fmt: skip
    return [c for c in found if not (c.kind == TICKET_CASE and c.reference == ticket.reference)]


def _names(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.pseudonym).where(User.id.in_(ids)))
    return {i: p or "staff" for i, p in rows}


def ticket_page(
    request: Request, container: Container, uow: UnitOfWork, staff: Staff, ticket: Ticket,
    **extra: Any,
) -> HTMLResponse:  # fmt: skip
    status = extra.pop("status_code", 200)
    session = uow.session
    view = views.staff_ticket(session, staff.vault, ticket, staff=staff.user, now=staff.now)
    uow.commit()  # the access-log line for the holder
    transfer_refs = [link.ref for link in view.links if link.kind == "transfer"]
    survivor = session.get(Ticket, ticket.merged_into_id) if ticket.merged_into_id else None
    team = workers(session)
    context = {
        **base(request, staff), "t": view,
        "macros": macros.listing(session, language=ticket.language, category=ticket.category),
        "done": request.query_params.get("done"),
        "transfers": linked_rows(session, ticket.holder_id, transfer_refs),
        "survivor": survivor, "lead": has_permission(staff.user.role, LEAD),
        "team": team, "names": _names(session, {u for u in (ticket.assignee_id,) if u}),
        "purposes": purposes(session, staff, ticket),
        "fields": reveals.FIELDS, "allowed": reveals.allowed_fields(staff.user.role),
        "min_reason": reveals.MIN_REASON, **extra,
    }  # fmt: skip
    return show(request, container, "console/ticket.html", context, status_code=status)
