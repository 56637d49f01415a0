"""The public status page in the web layout (no holder navigation, the page's language by
the usual rules): overall state, open incidents with every update newest first, the last
90 days' history, one incident's page, and the email subscription form on a page of its
own. The updates' own Chinese or English texts follow the page's language. The Atom feed
stays ``anxin.incidents.status_endpoints``; the links of the emails are
``anxin.web.status_subscription_pages``.

``/status`` and an incident's page carry nothing about the visitor (no form, so no CSRF
token or cookie), so shared caches may keep them for half a minute: when an incident
brings everyone to the page at once, most reloads never reach the database.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from anxin.api.deps import ContainerDep, ReadUoW, WriteUoW
from anxin.identity.deps import IdentityDep
from anxin.incidents import status_page
from anxin.incidents.status_endpoints import subscribe_address
from anxin.kit.errors import AnxinError
from anxin.web import status_subscription_pages
from anxin.web.account_pages import CheckedForm
from anxin.web.pages import explain, locale_of, see_other, show
from anxin.web.render import render
from anxin.web.status_common import common, language, shareable, tagged

router = APIRouter(include_in_schema=False)
router.include_router(status_subscription_pages.router)


@router.get("/status", response_class=HTMLResponse)
def status(request: Request, container: ContainerDep, uow: ReadUoW) -> Response:
    current, history = status_page.public_incidents(
        uow.session, container.clock.now(), language(request)
    )
    context = {
        **common(request), "state": status_page.overall(current), "current": current,
        "history": history, "days": status_page.HISTORY_DAYS,
    }  # fmt: skip
    # render, not show: no CSRF token or cookie, the same page for everyone.
    return shareable(tagged(render(request, "status/index.html", context), request))


@router.get("/status/incidents/{reference}", response_class=HTMLResponse)
def incident(reference: str, request: Request, container: ContainerDep, uow: ReadUoW) -> Response:
    found = status_page.find(uow.session, container.clock.now(), language(request), reference)
    if found is None:
        # Not cached: an incident announced a moment later must show at once.
        page = render(request, "status/missing.html", common(request), status_code=404)
        return tagged(page, request)
    page = render(request, "status/incident.html", {**common(request), "incident": found})
    return shareable(tagged(page, request))


def _subscribe_page(request: Request, container: ContainerDep, **extra: Any) -> Response:
    status_code = extra.pop("status_code", 200)
    context = {**common(request), "done": request.query_params.get("done"), **extra}
    page = show(request, container, "status/subscribe.html", context, status_code=status_code)
    return tagged(page, request)


@router.get("/status/subscribe", response_class=HTMLResponse)
def subscribe_form(request: Request, container: ContainerDep) -> Response:
    return _subscribe_page(request, container)


@router.post("/status/subscribe", response_class=HTMLResponse, dependencies=[CheckedForm])
def subscribe(
    request: Request, container: ContainerDep, uow: WriteUoW, rt: IdentityDep,
    email: Annotated[str, Form(max_length=254)],
) -> Response:  # fmt: skip
    """The same answer whether or not the address was known (nothing to learn from it)."""
    try:
        subscribe_address(request, uow, container, rt, email, language(request))
    except AnxinError as error:
        uow.session.rollback()
        return _subscribe_page(request, container, error=explain(error, locale_of(request)),
                               email=email, status_code=error.status)  # fmt: skip
    return see_other("/status/subscribe?done=subscribed")
