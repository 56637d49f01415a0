"""What the incident pages of the console share: the door (two factors and
``incidents:manage``, as the staff API demands), finding an incident (a malformed or
unknown id is the same 404 page), and the context every page gets."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from anxin.api.deps import Container
from anxin.identity.permissions import has_permission
from anxin.incidents.errors import IncidentNotFound
from anxin.incidents.service import get_incident
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.incidents import Incident
from anxin.wallet.accounts import BUSINESS_TZ
from anxin.web.care_pages import category_label
from anxin.web.console_auth import ConsoleClosed, Staff, StaffSignInFirst, current_staff
from anxin.web.pages import locale_of, show
from anxin.web.words import N_

MANAGE = "incidents:manage"
STATUSES = (
    N_("investigating"), N_("identified"), N_("monitoring"), N_("resolved"), N_("reviewed"),
)  # fmt: skip
SEVERITY_WORDS = (N_("minor"), N_("major"), N_("critical"))
# The incident services' refusals, shown by their translated title in Chinese.
ERRORS = (
    N_("No such incident"), N_("The incident request is not valid"),
    N_("The incident cannot move to that status from its current one"),
    N_("The affected-holders query is not valid"), N_("Your role cannot manage incidents"),
    N_("Everyone affected has already been told"),
)  # fmt: skip


class IncidentsClosed(ConsoleClosed):
    """A role without ``incidents:manage``: the console's 403 page."""

    code = "incidents_closed"
    title = "Your role cannot manage incidents"


def require_manager(request: Request, container: Container, uow: UnitOfWork) -> Staff:
    staff = current_staff(request, container, uow)
    if staff is None:
        raise StaffSignInFirst(request.url.path)
    if not has_permission(staff.user.role, MANAGE):
        raise IncidentsClosed(f"the {staff.user.role} role lacks {MANAGE!r}")
    return staff


def find(uow: UnitOfWork, incident_id: str, *, for_update: bool = False) -> Incident | None:
    try:
        return get_incident(uow.session, uuid.UUID(incident_id), for_update=for_update)
    except (ValueError, IncidentNotFound):
        return None


def base(request: Request, staff: Staff) -> dict[str, Any]:
    locale = locale_of(request)
    return {"tz": BUSINESS_TZ, "staff": staff, "label": lambda c: category_label(c, locale)}


def missing(request: Request, container: Container, staff: Staff) -> HTMLResponse:
    return show(request, container, "console/incidents/missing.html", base(request, staff),
                status_code=404)  # fmt: skip
