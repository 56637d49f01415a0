"""One incident in the console (``/console/incidents/{id}``): the header with its status,
severity and lead, the timeline with staff entries, the groups that raised it (with their
arrival charts), linked complaints, the affected holders, public updates and notices.

The forms call the incident services as ``anxin.incidents.endpoints`` does; a refusal is
shown on the page with the error's status. Affected holders, announcements and notices
are in ``console_incident_affected`` and ``console_incident_announce``; they redraw this
page through ``incident_page``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.api.deps import Container, ContainerDep, WriteUoW
from anxin.identity.permissions import has_permission
from anxin.incidents import affected, service, updates
from anxin.incidents.errors import InvalidIncident
from anxin.kit.errors import AnxinError
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.assets import get_asset
from anxin.models import User
from anxin.models.incidents import (
    INCIDENT_STATUSES,
    SEVERITIES,
    AffectedHolder,
    CollectiveGroup,
    Incident,
)
from anxin.wallet.accounts import BUSINESS_TZ
from anxin.web.account_pages import CheckedForm
from anxin.web.console_auth import Staff
from anxin.web.console_incident_common import MANAGE, base, find, missing, require_manager
from anxin.web.console_incident_list import group_rows, staff_name
from anxin.web.pages import explain, locale_of, see_other, show

router = APIRouter(include_in_schema=False)
Short = Annotated[str, Form(max_length=40)]
Note = Annotated[str, Form(max_length=4000)]
TEMPLATE_STATUSES = INCIDENT_STATUSES[:4]


def money_of(session: Session, incident: Incident) -> list[tuple[str, int, int]]:
    """Money the affected holders' recorded facts name, per asset: captured payments less
    refunds, and pending top-ups; as (asset, minor units, scale)."""
    totals: dict[str, int] = {}
    for row in affected_rows(session, incident):
        for payment in row.facts.get("payments", []):
            kept = int(payment.get("amount", 0)) - int(payment.get("refunded", 0))
            totals[payment["asset"]] = totals.get(payment["asset"], 0) + kept
        for topup in row.facts.get("topups", []):
            totals[topup["asset"]] = totals.get(topup["asset"], 0) + int(topup.get("amount", 0))
    return [(a, v, get_asset(session, a).scale) for a, v in sorted(totals.items())]


def affected_rows(session: Session, incident: Incident) -> list[AffectedHolder]:
    return list(
        session.scalars(select(AffectedHolder).where(AffectedHolder.incident_id == incident.id))
    )


def managers(session: Session, staff: Staff) -> list[tuple[uuid.UUID, str]]:
    """Who can lead an incident: active staff whose role manages incidents."""
    rows = session.scalars(
        select(User).where(User.kind == "staff", User.status == "active").order_by(User.created_at)
    )
    return [
        (u.id, staff_name(session, staff.vault, u.id) or str(u.id)[:8])
        for u in rows if has_permission(u.role, MANAGE)
    ]  # fmt: skip


def affected_defaults(incident: Incident, groups: list[CollectiveGroup],
                      staff: Staff) -> dict[str, str]:  # fmt: skip
    """The affected-holder query prefilled from what raised the incident: the merchant the
    burst named, a window from a day before its first complaint until now (Beijing time)."""
    merchant = next((g.key.split("=", 1)[1] for g in groups if g.key.startswith("merchant=")), "")
    first = min([g.first_complaint_at for g in groups] or [incident.started_at or
                                                             incident.detected_at])  # fmt: skip
    tz = BUSINESS_TZ
    start = (first - timedelta(days=1)).astimezone(tz).strftime("%Y-%m-%dT%H:%M")
    return {
        "kind": "merchant_debits" if merchant else "complainants", "merchant_id": merchant,
        "from": start, "to": (staff.now + timedelta(minutes=1)).astimezone(tz)
        .strftime("%Y-%m-%dT%H:%M"), "older_than_minutes": "30", "asset": "",
        "reason_code": "", "since": start,
    }  # fmt: skip


def announce_template(incident: Incident, chosen: str) -> str:
    """The update template the editor starts from: the one asked for, else the incident's
    own status (``resolved`` once reviewed)."""
    if chosen in TEMPLATE_STATUSES:
        return chosen
    index = INCIDENT_STATUSES.index(incident.status)
    return TEMPLATE_STATUSES[min(index, len(TEMPLATE_STATUSES) - 1)]


def incident_page(
    request: Request, container: Container, uow: UnitOfWork, staff: Staff, incident: Incident,
    **extra: Any,
) -> HTMLResponse:  # fmt: skip
    status = extra.pop("status_code", 200)
    session = uow.session
    groups = list(session.scalars(
        select(CollectiveGroup).where(CollectiveGroup.incident_id == incident.id)
        .order_by(CollectiveGroup.detected_at)
    ))  # fmt: skip
    detected = [g for g in groups if not g.evidence.get("manual")]
    events = list(reversed(service.timeline(session, incident)))
    actors = {e.actor_id for e in events if e.actor_id is not None}
    template = announce_template(incident, extra.pop("template", ""))
    counts = affected.counts(session, incident)
    context = {
        **base(request, staff), "incident": incident, "lead": staff_name(session, staff.vault,
                                                               incident.lead_id),
        "next_statuses": INCIDENT_STATUSES[INCIDENT_STATUSES.index(incident.status) + 1:],
        "severities": SEVERITIES, "managers": managers(session, staff),
        "events": events, "actors": {a: staff_name(session, staff.vault, a) for a in actors},
        "groups": group_rows(session, detected),
        "tickets": service.linked_tickets(session, incident),
        "counts": counts, "money": money_of(session, incident),
        "q": affected_defaults(incident, detected, staff),
        "template": template, "templates": TEMPLATE_STATUSES,
        "texts": updates.render(incident, template),
        "updates": updates.updates_of(session, [incident.id])[incident.id],
        "can_resolve_notice": incident.status in ("resolved", "reviewed"),
        "done": request.query_params.get("done"), "told": _told(request), **extra,
    }  # fmt: skip
    return show(request, container, "console/incidents/detail.html", context,
                status_code=status)  # fmt: skip


def _told(request: Request) -> dict[str, int]:
    """The counts a notify redirect carries, as numbers (nothing else from the URL)."""
    given = request.query_params
    return {k: int(v) if (v := given.get(k, "0")).isdigit() and len(v) < 9 else 0
            for k in ("holders", "tickets")}  # fmt: skip


def refused(
    request: Request, container: Container, uow: UnitOfWork, staff: Staff, incident_id: str,
    error: AnxinError, field: str, **extra: Any,
) -> HTMLResponse:  # fmt: skip
    """The page again, without the refused change, with the refusal beside its form."""
    uow.session.rollback()
    fresh = find(uow, incident_id)
    assert fresh is not None
    shown = {f"{field}_error": explain(error, locale_of(request)), **extra}
    return incident_page(request, container, uow, staff, fresh, status_code=error.status, **shown)


@router.get("/console/incidents/{incident_id}", response_class=HTMLResponse)
def incident_view(
    incident_id: str, request: Request, container: ContainerDep, uow: WriteUoW
) -> HTMLResponse:
    staff = require_manager(request, container, uow)
    incident = find(uow, incident_id)
    if incident is None:
        return missing(request, container, staff)
    chosen = request.query_params.get("template", "")
    return incident_page(request, container, uow, staff, incident, template=chosen)


@router.post("/console/incidents/{incident_id}/status", response_class=HTMLResponse,
             dependencies=[CheckedForm])  # fmt: skip
def change(
    incident_id: str, request: Request, container: ContainerDep, uow: WriteUoW,
    status: Short = "", severity: Short = "", lead_id: Short = "",
) -> Response:  # fmt: skip
    """``form#incident-status``: move the status forward, change severity and lead."""
    staff = require_manager(request, container, uow)
    incident = find(uow, incident_id, for_update=True)
    if incident is None:
        return missing(request, container, staff)
    try:
        lead = _lead(uow.session, lead_id)
        if status and status != incident.status:
            service.change_status(uow.session, incident, status, actor_id=staff.user.id,
                                  now=staff.now)  # fmt: skip
        service.update_incident(uow.session, incident, actor_id=staff.user.id, now=staff.now,
                                severity=severity or None, lead_id=lead)  # fmt: skip
        uow.commit()
    except AnxinError as error:
        return refused(request, container, uow, staff, incident_id, error, "status")
    return see_other(f"/console/incidents/{incident.id}?done=status")


def _lead(session: Session, text: str) -> uuid.UUID | None:
    if not text:
        return None
    try:
        lead = uuid.UUID(text)
    except ValueError as error:
        raise InvalidIncident("the lead is a staff member", field="lead_id") from error
    user = session.get(User, lead)
    if user is None or user.kind != "staff":
        raise InvalidIncident("the lead is a staff member", field="lead_id")
    return lead


@router.post("/console/incidents/{incident_id}/timeline", response_class=HTMLResponse,
             dependencies=[CheckedForm])  # fmt: skip
def timeline_entry(
    incident_id: str, request: Request, container: ContainerDep, uow: WriteUoW, text: Note = ""
) -> Response:
    """``form#timeline-entry``: a staff entry on the timeline."""
    staff = require_manager(request, container, uow)
    incident = find(uow, incident_id)
    if incident is None:
        return missing(request, container, staff)
    try:
        service.add_note(uow.session, incident, text, actor_id=staff.user.id, now=staff.now)
        uow.commit()
    except AnxinError as error:
        return refused(request, container, uow, staff, incident_id, error, "note", note=text)
    return see_other(f"/console/incidents/{incident.id}?done=note#timeline")
