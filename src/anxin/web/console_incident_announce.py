"""Telling people, from the console: ``form#announce`` publishes a public update on
``/status`` (status and texts in Chinese and English, prefilled from the update templates;
"Preview" shows how it will read without publishing), ``form#notify`` tells the affected
holders and replies on linked complaints (each once per stage, as the service allows),
and the post-incident report as the service renders it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.incidents import notify, report, updates
from anxin.kit.errors import AnxinError, Conflict
from anxin.web.account_pages import CheckedForm
from anxin.web.console_incident_common import find, missing, require_manager
from anxin.web.console_incident_detail import TEMPLATE_STATUSES, incident_page, refused
from anxin.web.pages import see_other
from anxin.web.render import SECURITY_HEADERS

router = APIRouter(include_in_schema=False)
Title = Annotated[str, Form(max_length=200)]
Body = Annotated[str, Form(max_length=4000)]
Short = Annotated[str, Form(max_length=20)]


class NothingToNotify(Conflict):
    code = "nothing_to_notify"
    title = "Everyone affected has already been told"


@router.post("/console/incidents/{incident_id}/announce", response_class=HTMLResponse,
             dependencies=[CheckedForm])  # fmt: skip
def announce(
    incident_id: str, request: Request, container: ContainerDep, uow: WriteUoW,
    status: Short = "", zh_title: Title = "", zh_body: Body = "", en_title: Title = "",
    en_body: Body = "", intent: Short = "publish",
) -> Response:  # fmt: skip
    staff = require_manager(request, container, uow)
    incident = find(uow, incident_id, for_update=True)
    if incident is None:
        return missing(request, container, staff)
    texts = {"zh": {"title": zh_title, "body": zh_body}, "en": {"title": en_title, "body": en_body}}
    template = status if status in TEMPLATE_STATUSES else ""
    if intent == "preview":
        return incident_page(request, container, uow, staff, incident, template=template,
                             texts=texts, announce_preview=True)  # fmt: skip
    try:
        updates.publish(
            uow.session, staff.vault, incident, now=staff.now, actor_id=staff.user.id,
            template=template or None, texts=texts, status=template or None,
            site_url=str(request.base_url).rstrip("/"),
        )  # fmt: skip
        uow.commit()
    except AnxinError as error:
        return refused(request, container, uow, staff, incident_id, error, "announce",
                       template=template, texts=texts)  # fmt: skip
    return see_other(f"/console/incidents/{incident.id}?done=announced#announcements")


@router.post("/console/incidents/{incident_id}/notify", response_class=HTMLResponse,
             dependencies=[CheckedForm])  # fmt: skip
def tell(
    incident_id: str, request: Request, container: ContainerDep, uow: WriteUoW,
    stage: Short = "affected",
) -> Response:  # fmt: skip
    """``form#notify``: only those not yet told at this stage; nobody left is a refusal."""
    staff = require_manager(request, container, uow)
    incident = find(uow, incident_id, for_update=True)
    if incident is None:
        return missing(request, container, staff)
    try:
        told = notify.notify(uow.session, staff.vault, incident,
                             stage=stage if stage in notify.STAGES else "affected",
                             actor_id=staff.user.id, now=staff.now)  # fmt: skip
        if not told.holders and not told.tickets:
            raise NothingToNotify("no affected holder or linked complaint is left to tell")
        uow.commit()
    except AnxinError as error:
        return refused(request, container, uow, staff, incident_id, error, "notify")
    return see_other(
        f"/console/incidents/{incident.id}?done=notified&holders={told.holders}"
        f"&tickets={told.tickets}#notify-title"
    )


@router.get("/console/incidents/{incident_id}/report", response_class=HTMLResponse)
def post_incident_report(
    incident_id: str, request: Request, container: ContainerDep, uow: WriteUoW
) -> HTMLResponse:
    """The report as the service renders it (Markdown to HTML, raw HTML switched off)."""
    staff = require_manager(request, container, uow)
    incident = find(uow, incident_id)
    if incident is None:
        return missing(request, container, staff)
    return HTMLResponse(report.html(uow.session, incident), headers=SECURITY_HEADERS)
