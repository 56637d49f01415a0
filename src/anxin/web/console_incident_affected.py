"""Who an incident affected, from the console: ``form#affected-query`` previews a query
(holders, items, money per asset and a sample of masked holders; nothing is written),
``form#affected-add`` stores it and records the holders it finds, as
``POST /v1/staff/incidents/{id}/affected/queries`` does.

Times are typed in Beijing time (``datetime-local``) and stored with their offset."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.identity import contacts as contact_book
from anxin.incidents import affected
from anxin.incidents.errors import InvalidAffectedQuery
from anxin.kit.errors import AnxinError
from anxin.ledger.assets import get_asset
from anxin.models import User
from anxin.models.incidents import Incident
from anxin.privacy.masking import mask_name
from anxin.privacy.vault import Vault
from anxin.wallet.accounts import BUSINESS_TZ
from anxin.web.account_pages import CheckedForm
from anxin.web.console_incident_common import find, missing, require_manager
from anxin.web.console_incident_detail import incident_page, refused
from anxin.web.pages import see_other

router = APIRouter(include_in_schema=False)
SAMPLE = 10
QueryText = Annotated[str, Query(max_length=100)]
FormText = Annotated[str, Form(max_length=100)]


def _moment(text: str, name: str) -> str:
    """A ``datetime-local`` value (Beijing time) or an ISO time with offset, as ISO 8601."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise InvalidAffectedQuery(f"{name!r} is a date and time", field=name) from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BUSINESS_TZ)
    return moment.isoformat()


def definition(typed: dict[str, str]) -> dict[str, Any]:
    """The query's JSON definition from the form's fields (only those of its kind)."""
    kind = typed.get("kind", "")
    if kind == "merchant_debits":
        return {"kind": kind, "merchant_id": typed.get("merchant_id", "").strip(),
                "from": _moment(typed.get("from", ""), "from"),
                "to": _moment(typed.get("to", ""), "to")}  # fmt: skip
    if kind == "pending_topups":
        minutes = typed.get("older_than_minutes", "").strip()
        if not minutes.isdigit():
            raise InvalidAffectedQuery("older_than_minutes is a whole number of minutes",
                                       field="older_than_minutes")  # fmt: skip
        out: dict[str, Any] = {"kind": kind, "older_than_minutes": int(minutes)}
        if typed.get("asset", "").strip():
            out["asset"] = typed["asset"].strip()
        return out
    if kind == "frozen_by_rule":
        return {"kind": kind, "reason_code": typed.get("reason_code", "").strip(),
                "since": _moment(typed.get("since", ""), "since")}  # fmt: skip
    return {"kind": kind}


def local_input(text: str) -> str:
    """A time as a ``datetime-local`` field shows it: Beijing time, to the minute."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return text[:16]
    if moment.tzinfo is not None:
        moment = moment.astimezone(BUSINESS_TZ)
    return moment.strftime("%Y-%m-%dT%H:%M")


def masked_holder(session: Session, vault: Vault, holder_id: uuid.UUID) -> str:
    """A holder as the console shows them: ``李*`` and ``137****5525``, never in full."""
    user = session.get(User, holder_id)
    if user is None:
        return "—"
    parts: list[str] = []
    if user.status != "closed":
        name = contact_book.display_name(session, vault, user)
        if name:
            parts.append(mask_name(name))
    parts.extend(c.masked for c in contact_book.contacts_of(session, user.id))
    return " · ".join(parts) or "—"


def preview(session: Session, vault: Vault, incident: Incident, typed: dict[str, str],
            now: datetime) -> dict[str, Any]:  # fmt: skip
    found = affected.preview(session, incident, definition(typed), now)
    holders = affected.run(session, incident, found.definition, now).holders
    return {
        "holders": found.holders, "new_holders": found.new_holders, "items": found.items,
        "totals": [(a, v, get_asset(session, a).scale) for a, v in found.totals.items()],
        "sample": [masked_holder(session, vault, h) for h in list(holders)[:SAMPLE]],
        # What form#affected-add sends back: the checked query, times to the second.
        "definition": {k: str(v) for k, v in found.definition.items()},
    }  # fmt: skip


@router.get("/console/incidents/{incident_id}/affected", response_class=HTMLResponse)
def preview_page(
    incident_id: str, request: Request, container: ContainerDep, uow: WriteUoW,
    kind: QueryText = "", merchant_id: QueryText = "", older_than_minutes: QueryText = "",
    asset: QueryText = "", reason_code: QueryText = "", since: QueryText = "",
    start: Annotated[str, Query(alias="from", max_length=100)] = "",
    end: Annotated[str, Query(alias="to", max_length=100)] = "",
) -> HTMLResponse:  # fmt: skip
    """``form#affected-query`` (GET: it writes nothing): the incident page with a preview."""
    staff = require_manager(request, container, uow)
    incident = find(uow, incident_id)
    if incident is None:
        return missing(request, container, staff)
    typed = {"kind": kind, "merchant_id": merchant_id, "from": start, "to": end,
             "older_than_minutes": older_than_minutes, "asset": asset,
             "reason_code": reason_code, "since": since}  # fmt: skip
    try:
        shown = preview(uow.session, staff.vault, incident, typed, staff.now)
    except AnxinError as error:
        return refused(request, container, uow, staff, incident_id, error, "affected",
                       q_typed=typed)  # fmt: skip
    shown_typed = {k: local_input(v) if k in ("from", "to", "since") and v else v
                   for k, v in typed.items()}  # fmt: skip
    return incident_page(request, container, uow, staff, incident, preview=shown,
                         q_typed=shown_typed)  # fmt: skip


@router.post("/console/incidents/{incident_id}/affected", response_class=HTMLResponse,
             dependencies=[CheckedForm])  # fmt: skip
def add(
    incident_id: str, request: Request, container: ContainerDep, uow: WriteUoW,
    kind: FormText = "", merchant_id: FormText = "", older_than_minutes: FormText = "",
    asset: FormText = "", reason_code: FormText = "", since: FormText = "",
    start: Annotated[str, Form(alias="from", max_length=100)] = "",
    end: Annotated[str, Form(alias="to", max_length=100)] = "",
) -> Response:  # fmt: skip
    """``form#affected-add``: store the previewed query and record the holders it finds."""
    staff = require_manager(request, container, uow)
    incident = find(uow, incident_id, for_update=True)
    if incident is None:
        return missing(request, container, staff)
    typed = {"kind": kind, "merchant_id": merchant_id, "from": start, "to": end,
             "older_than_minutes": older_than_minutes, "asset": asset,
             "reason_code": reason_code, "since": since}  # fmt: skip
    try:
        affected.apply(uow.session, incident, definition(typed), actor_id=staff.user.id,
                       now=staff.now)  # fmt: skip
        uow.commit()
    except AnxinError as error:
        return refused(request, container, uow, staff, incident_id, error, "affected",
                       q_typed=typed)  # fmt: skip
    return see_other(f"/console/incidents/{incident.id}?done=affected#affected")
