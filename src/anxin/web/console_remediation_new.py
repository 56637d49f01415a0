"""An incident's remediation plans, and a new one: the form (refunds of the debits the
affected holders' facts name, a goodwill credit, a fee waiver, unfreezing), its preview
(items, totals per asset, what is skipped and why, a sample with holders masked), then
preparing it as a draft that someone else approves. Calls the same services as
``/v1/staff/incidents/{incident}/remediation``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from anxin.api.deps import Container, ContainerDep, WriteUoW
from anxin.incidents import affected, remediation_plan
from anxin.incidents.remediation_progress import plans_of
from anxin.incidents.remediation_spec import InvalidRemediation, RemediationSpec, parse_spec
from anxin.kit.errors import AnxinError
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.assets import get_asset
from anxin.models.incidents import Incident
from anxin.wallet.freeze import REASONS
from anxin.wallet.idempotency import claim, remember
from anxin.web.account_pages import CheckedForm
from anxin.web.console_auth import Staff
from anxin.web.console_remediation_common import (
    PREPARE,
    READ,
    SAMPLE,
    base,
    incident_of,
    masked,
    missing,
    plan_view,
    require,
)
from anxin.web.pages import explain, locale_of, parse_amount, see_other, show

router = APIRouter(include_in_schema=False)
GOODWILL_ASSETS = ("CNY",)


class PlanForm(BaseModel):
    """The new plan form's fields as typed (shown again on the preview and after a
    refusal); an empty goodwill amount or waiver period means none."""

    note: str = Field(default="", max_length=500)
    refund: bool = False
    refund_only: str = Field(default="", max_length=40_000)
    goodwill_amount: str = Field(default="", max_length=40)
    goodwill_asset: str = Field(default="CNY", max_length=16)
    waiver_days: str = Field(default="", max_length=10)
    waiver_percent: str = Field(default="100", max_length=10)
    unfreeze: bool = False
    unfreeze_note: str = Field(default="", max_length=500)
    reason_codes: list[str] = Field(default_factory=list, max_length=20)
    idempotency_key: str = Field(default="", max_length=255)


PlanFields = Annotated[PlanForm, Form()]


def _whole(text: str, name: str, low: int, high: int) -> int:
    if not text.strip().isdigit() or not low <= int(text) <= high:
        raise InvalidRemediation(f"{name}: a whole number from {low} to {high}", field=name)
    return int(text)


def spec_of(uow: UnitOfWork, v: PlanForm) -> RemediationSpec:
    """The plan's spec from the form (amounts parsed exactly, in the asset's minor units)."""
    data: dict[str, Any] = {"note": v.note.strip()}
    if v.refund:
        data["refund"] = {}
        only = v.refund_only.replace(",", " ").split()
        if only:
            try:
                data["refund"]["transfer_ids"] = [str(uuid.UUID(t)) for t in only]
            except ValueError as error:
                raise InvalidRemediation("name debits by their transaction ids",
                                         field="refund_only") from error  # fmt: skip
    if v.goodwill_amount.strip():
        asset = v.goodwill_asset if v.goodwill_asset in GOODWILL_ASSETS else "CNY"
        minor = parse_amount(v.goodwill_amount, get_asset(uow.session, asset).scale)
        data["goodwill"] = {"amount": minor, "asset": asset}
    if v.waiver_days.strip():
        percent = _whole(v.waiver_percent.strip() or "100", "discount", 1, 100)
        data["fee_waiver"] = {"days": _whole(v.waiver_days.strip(), "days", 1, 366),
                              "discount_bps": percent * 100}  # fmt: skip
    if v.unfreeze:
        data["unfreeze"] = {"note": v.unfreeze_note.strip() or v.note.strip()}
        reasons = [r for r in v.reason_codes if r in REASONS]
        if reasons:
            data["unfreeze"]["reason_codes"] = reasons
    return parse_spec(data)


def index_page(
    request: Request, container: Container, uow: UnitOfWork, staff: Staff, incident: Incident,
    *, values: PlanForm | None = None, error: str | None = None, status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    plans = [plan_view(uow.session, p, staff) for p in plans_of(uow.session, incident.id)]
    context = {
        **base(uow.session, staff, incident), "plans": plans,
        "affected": affected.counts(uow.session, incident),
        "v": values or PlanForm(), "error": error, "reasons": list(REASONS),
        "goodwill_assets": GOODWILL_ASSETS,
    }  # fmt: skip
    return show(request, container, "console/remediation/index.html", context,
                status_code=status_code)  # fmt: skip


@router.get("/console/incidents/{incident_id}/remediation", response_class=HTMLResponse)
def index(incident_id: str, request: Request, container: ContainerDep,
          uow: WriteUoW) -> HTMLResponse:  # fmt: skip
    staff = require(request, container, uow, *READ)
    incident = incident_of(uow, incident_id)
    if incident is None:
        return missing(request, container, staff)
    return index_page(request, container, uow, staff, incident)


@router.post("/console/incidents/{incident_id}/remediation/preview",
             response_class=HTMLResponse, dependencies=[CheckedForm])  # fmt: skip
def preview(incident_id: str, request: Request, container: ContainerDep, uow: WriteUoW,
            values: PlanFields) -> HTMLResponse:  # fmt: skip
    return _preview(request, container, uow, incident_id, values)


def _preview(request: Request, container: Container, uow: UnitOfWork, incident_id: str,
             values: PlanForm) -> HTMLResponse:  # fmt: skip
    staff = require(request, container, uow, PREPARE)
    incident = incident_of(uow, incident_id)
    if incident is None:
        return missing(request, container, staff)
    try:
        draft = remediation_plan.build(uow.session, incident, spec_of(uow, values))
    except AnxinError as error:
        return index_page(
            request,
            container,
            uow,
            staff,
            incident,
            values=values,
            error=explain(error, locale_of(request)),
            status_code=error.status,
        )
    rows = draft.rows[:SAMPLE]
    holders = masked(uow.session, {row["holder_id"] for row in rows})
    context = {
        **base(uow.session, staff, incident), "v": values, "summary": draft.summary.to_json(),
        "sample": [{**row, "holder": holders[row["holder_id"]]} for row in rows],
        "idempotency_key": str(uuid.uuid4()), "reasons": list(REASONS),
        "goodwill_assets": GOODWILL_ASSETS,
    }  # fmt: skip
    return show(request, container, "console/remediation/preview.html", context)


@router.post("/console/incidents/{incident_id}/remediation", response_class=HTMLResponse,
             dependencies=[CheckedForm])  # fmt: skip
def prepare(incident_id: str, request: Request, container: ContainerDep, uow: WriteUoW,
            values: PlanFields) -> Response:  # fmt: skip
    return _prepare(request, container, uow, incident_id, values)


def _prepare(request: Request, container: Container, uow: UnitOfWork, incident_id: str,
             values: PlanForm) -> Response:  # fmt: skip
    staff = require(request, container, uow, PREPARE)
    incident = incident_of(uow, incident_id)
    if incident is None:
        return missing(request, container, staff)
    try:
        spec = spec_of(uow, values)
        # A double submit or a reload finds the plan the first one prepared.
        route = f"console:{incident.id}:remediation"
        found = claim(uow.session, staff.user.id, values.idempotency_key or None, route=route,
                      body=spec.model_dump(mode="json"), now=staff.now)  # fmt: skip
        if found.replay is not None:
            plan_id = str(found.replay.response["plan_id"])
        else:
            plan, _summary = remediation_plan.prepare(uow.session, incident, spec,
                                                      staff=staff.user, now=staff.now)  # fmt: skip
            plan_id = str(plan.id)
            remember(uow.session, found, 201, {"plan_id": plan_id})
            uow.commit()
    except AnxinError as error:
        uow.session.rollback()
        return index_page(
            request,
            container,
            uow,
            staff,
            incident,
            values=values,
            error=explain(error, locale_of(request)),
            status_code=error.status,
        )
    return see_other(f"/console/incidents/{incident.id}/remediation/{plan_id}?done=prepared")
