"""One remediation plan: its items by state and its progress; four-eyes approval or
rejection (the service refuses the preparer, and the page says a second member of staff
must approve); execution as ``POST .../remediation/{plan}/execute`` does it (in the
request, chunk by chunk, up to ``PAGE_ITEMS`` items, carried on by posting again); the
progress fragment that htmx polls while the plan is being paid; retrying failed items."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from anxin.api.deps import Container, ContainerDep, WriteUoW
from anxin.incidents import remediation_approval as approval
from anxin.incidents import remediation_execute
from anxin.incidents.remediation_runner import run_plan
from anxin.incidents.remediation_spec import FourEyes, parse_spec
from anxin.kit.errors import AnxinError
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.incidents import Incident, RemediationPlan
from anxin.web.account_pages import CheckedForm
from anxin.web.console_auth import Staff
from anxin.web.console_remediation_common import (
    APPROVE,
    ITEM_STATES,
    READ,
    base,
    incident_of,
    items_of,
    missing,
    plan_of,
    plan_view,
    require,
    state_counts,
)
from anxin.web.pages import explain, locale_of, see_other, show
from anxin.web.render import gettext
from anxin.web.words import N_

router = APIRouter(include_in_schema=False)
PAGE_ITEMS = 10_000  # items one execute request pays at most (as the API's default)
CHUNK_ITEMS = 1000
FOUR_EYES = N_(
    "A second member of staff must approve: the person who prepared a plan cannot approve "
    "or reject it."
)
PATH = "/console/incidents/{incident_id}/remediation/{plan_id}"


def _url(plan: RemediationPlan) -> str:
    return f"/console/incidents/{plan.incident_id}/remediation/{plan.id}"


def _page(
    request: Request, container: Container, uow: UnitOfWork, staff: Staff, incident: Incident,
    plan: RemediationPlan, **extra: Any,
) -> HTMLResponse:  # fmt: skip
    status = extra.pop("status_code", 200)
    state = request.query_params.get("state", "")
    counts = state_counts(uow.session, plan)
    shown = state if state in ITEM_STATES else ("pending" if counts["pending"] else "done")
    context = {
        **base(uow.session, staff, incident), "p": plan_view(uow.session, plan, staff),
        "spec": parse_spec(plan.spec), "counts": counts, "shown": shown,
        "items": items_of(uow.session, plan, shown),
        "failures": items_of(uow.session, plan, "failed") if counts["failed"] else [],
        "done": request.query_params.get("done"), **extra,
    }  # fmt: skip
    return show(request, container, "console/remediation/plan.html", context, status_code=status)


def _found(
    request: Request, container: Container, uow: UnitOfWork, incident_id: str, plan_id: str,
    *permissions: str,
) -> tuple[Staff, Incident | None, RemediationPlan | None]:  # fmt: skip
    staff = require(request, container, uow, *permissions)
    incident = incident_of(uow, incident_id)
    plan = plan_of(uow, incident, plan_id) if incident is not None else None
    return staff, incident, plan


@router.get(PATH, response_class=HTMLResponse)
def plan_page(incident_id: str, plan_id: str, request: Request, container: ContainerDep,
              uow: WriteUoW) -> HTMLResponse:  # fmt: skip
    staff, incident, plan = _found(request, container, uow, incident_id, plan_id, *READ)
    if incident is None or plan is None:
        return missing(request, container, staff)
    return _page(request, container, uow, staff, incident, plan)


@router.get(PATH + "/progress", response_class=HTMLResponse)
def progress_fragment(
    incident_id: str, plan_id: str, request: Request, container: ContainerDep, uow: WriteUoW,
) -> HTMLResponse:  # fmt: skip
    """The progress bar alone (htmx polls it every 2 s while the plan is being paid). When
    the plan stops being paid, htmx is told to reload the whole page (states, failures)."""
    staff, incident, plan = _found(request, container, uow, incident_id, plan_id, *READ)
    if incident is None or plan is None:
        return missing(request, container, staff)
    context = {**base(uow.session, staff, incident), "p": plan_view(uow.session, plan, staff)}
    response = show(request, container, "console/remediation/_progress.html", context)
    if request.headers.get("HX-Request") and plan.status != "executing":
        response.headers["HX-Refresh"] = "true"
    return response


def _refused(request: Request, error: AnxinError) -> str:
    locale = locale_of(request)
    if isinstance(error, FourEyes):
        return gettext(locale, FOUR_EYES)
    return explain(error, locale)


def _decide(request: Request, container: Container, uow: UnitOfWork, incident_id: str,
            plan_id: str, decision: str, note: str) -> Response:  # fmt: skip
    staff, incident, plan = _found(request, container, uow, incident_id, plan_id, APPROVE)
    if incident is None or plan is None:
        return missing(request, container, staff)
    act = approval.approve if decision == "approved" else approval.reject
    try:
        act(uow.session, plan.id, staff.user, now=staff.now, note=note)
        uow.commit()
    except AnxinError as error:
        uow.session.rollback()
        field = "approve_error" if decision == "approved" else "reject_error"
        fresh = plan_of(uow, incident, plan_id)
        assert fresh is not None
        return _page(request, container, uow, staff, incident, fresh, note=note,
                     status_code=error.status, **{field: _refused(request, error)})  # fmt: skip
    return see_other(f"{_url(plan)}?done={decision}")


@router.post(PATH + "/approve", response_class=HTMLResponse, dependencies=[CheckedForm])
def approve(
    incident_id: str, plan_id: str, request: Request, container: ContainerDep, uow: WriteUoW,
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:  # fmt: skip
    return _decide(request, container, uow, incident_id, plan_id, "approved", note)


@router.post(PATH + "/reject", response_class=HTMLResponse, dependencies=[CheckedForm])
def reject(
    incident_id: str, plan_id: str, request: Request, container: ContainerDep, uow: WriteUoW,
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:  # fmt: skip
    return _decide(request, container, uow, incident_id, plan_id, "rejected", note)


@router.post(PATH + "/execute", response_class=HTMLResponse, dependencies=[CheckedForm])
def execute(incident_id: str, plan_id: str, request: Request, container: ContainerDep,
            uow: WriteUoW) -> Response:  # fmt: skip
    """Pay the approved plan (or carry on with it). Every item has its own ledger key, so
    a double submit or a second executor never pays an item twice."""
    staff, incident, plan = _found(request, container, uow, incident_id, plan_id, APPROVE)
    if incident is None or plan is None:
        return missing(request, container, staff)
    # Read before the rollback expires them (reading them again would open a transaction).
    url, staff_id, the_plan = _url(plan), staff.user.id, plan.id
    # The run commits chunk by chunk on its own connections: end this request's
    # transaction first so it holds no lock (SQLite's write lock above all).
    uow.session.rollback()
    try:
        run = run_plan(container.database, container.keys.vault(), the_plan, staff_id,
                       clock=container.clock, chunk_items=CHUNK_ITEMS,
                       max_items=PAGE_ITEMS)  # fmt: skip
    except AnxinError as error:
        fresh = plan_of(uow, incident, plan_id)
        assert fresh is not None
        return _page(request, container, uow, staff, incident, fresh,
                     execute_error=explain(error, locale_of(request)),
                     status_code=error.status)  # fmt: skip
    return see_other(f"{url}?done={'executed' if run.finished else 'carry_on'}")


@router.post(PATH + "/retry-failed", response_class=HTMLResponse, dependencies=[CheckedForm])
def retry_failed(incident_id: str, plan_id: str, request: Request, container: ContainerDep,
                 uow: WriteUoW) -> Response:  # fmt: skip
    """Failed items back to pending (each with a new ledger key), to execute again."""
    staff, incident, plan = _found(request, container, uow, incident_id, plan_id, APPROVE)
    if incident is None or plan is None:
        return missing(request, container, staff)
    try:
        remediation_execute.retry_failed(uow.session, plan.id, staff.user, now=staff.now)
        uow.commit()
    except AnxinError as error:
        uow.session.rollback()
        fresh = plan_of(uow, incident, plan_id)
        assert fresh is not None
        return _page(request, container, uow, staff, incident, fresh,
                     execute_error=explain(error, locale_of(request)),
                     status_code=error.status)  # fmt: skip
    return see_other(f"{_url(plan)}?done=retried")
