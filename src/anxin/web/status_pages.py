"""The public status page in the web layout (no holder navigation, the page's language by
the usual rules): overall state, open incidents with every update newest first, the last
90 days' history, one incident's page, and email subscriptions (the form, CSRF-checked;
the confirm and unsubscribe links from the emails). The updates' own Chinese or English
texts follow the page's language. The Atom feed stays ``anxin.incidents.status_endpoints``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from anxin.api.deps import ContainerDep, ReadUoW, WriteUoW
from anxin.identity.deps import IdentityDep
from anxin.incidents import status_page, subscriptions
from anxin.incidents.errors import SubscriptionNotFound
from anxin.incidents.status_endpoints import subscribe_address
from anxin.kit.errors import AnxinError
from anxin.kit.unit_of_work import UnitOfWork
from anxin.wallet.accounts import BUSINESS_TZ
from anxin.web.account_pages import CheckedForm
from anxin.web.pages import explain, locale_of, see_other, show
from anxin.web.words import N_

router = APIRouter(include_in_schema=False)
STATES = {
    "operational": N_("All systems operational"), "minor": N_("Minor disruption"),
    "major": N_("Partial outage"), "critical": N_("Major outage"),
}  # fmt: skip
STEPS = {
    "investigating": N_("Investigating"), "identified": N_("Identified"),
    "monitoring": N_("Monitoring"), "resolved": N_("Resolved"), "reviewed": N_("Resolved"),
}  # fmt: skip
ERRORS = (
    N_("The incident request is not valid"),
    N_("No such subscription (the link may be old or already used)"),
)


def _language(request: Request) -> str:
    """The incidents' texts are keyed ``zh``/``en``; the page's locale is ``zh_CN``/``en``."""
    return "en" if locale_of(request) == "en" else "zh"


def _common(request: Request) -> dict[str, Any]:
    lang = _language(request)
    return {"lang": lang, "states": STATES, "steps": STEPS, "tz": BUSINESS_TZ,
            "feed": f"/status/feed.atom?lang={lang}"}  # fmt: skip


def _tagged(response: Response, request: Request) -> Response:
    response.headers["Content-Language"] = "en" if locale_of(request) == "en" else "zh-CN"
    return response


def _status_page(
    request: Request, container: ContainerDep, uow: UnitOfWork, **extra: Any
) -> Response:
    status_code = extra.pop("status_code", 200)
    current, history = status_page.public_incidents(
        uow.session, container.clock.now(), _language(request)
    )
    context = {
        **_common(request), "state": status_page.overall(current), "current": current,
        "history": history, "days": status_page.HISTORY_DAYS,
        "done": request.query_params.get("done"), **extra,
    }  # fmt: skip
    page = show(request, container, "status/index.html", context, status_code=status_code)
    return _tagged(page, request)


@router.get("/status", response_class=HTMLResponse)
def status(request: Request, container: ContainerDep, uow: ReadUoW) -> Response:
    return _status_page(request, container, uow)


@router.get("/status/incidents/{reference}", response_class=HTMLResponse)
def incident(reference: str, request: Request, container: ContainerDep, uow: ReadUoW) -> Response:
    found = status_page.find(uow.session, container.clock.now(), _language(request), reference)
    if found is None:
        page = show(request, container, "status/missing.html", _common(request), status_code=404)
    else:
        page = show(request, container, "status/incident.html",
                    {**_common(request), "incident": found})  # fmt: skip
    return _tagged(page, request)


@router.post("/status/subscribe", response_class=HTMLResponse, dependencies=[CheckedForm])
def subscribe(
    request: Request, container: ContainerDep, uow: WriteUoW, rt: IdentityDep,
    email: Annotated[str, Form(max_length=254)],
) -> Response:  # fmt: skip
    """The same answer whether or not the address was known (nothing to learn from it)."""
    try:
        subscribe_address(request, uow, container, rt, email, _language(request))
    except AnxinError as error:
        uow.session.rollback()
        return _status_page(request, container, uow, error=explain(error, locale_of(request)),
                            email=email, status_code=error.status)  # fmt: skip
    return see_other("/status?done=subscribed#subscribe")


def _invalid(request: Request, container: ContainerDep) -> Response:
    page = show(request, container, "status/link_invalid.html", _common(request), status_code=404)
    return _tagged(page, request)


@router.get("/status/subscriptions/confirm", response_class=HTMLResponse)
def confirm(
    request: Request, container: ContainerDep, uow: WriteUoW,
    token: Annotated[str, Query(max_length=100)] = "",
) -> Response:  # fmt: skip
    """The link in the confirmation email; it works once. The answer is a page of its own,
    so a reload or the language switch does not use the link again."""
    try:
        subscriptions.confirm(uow.session, token, now=container.clock.now())
    except SubscriptionNotFound:
        return _invalid(request, container)
    uow.commit()
    return see_other("/status/subscriptions/confirmed")


@router.get("/status/subscriptions/unsubscribe", response_class=HTMLResponse)
def unsubscribe(
    request: Request, container: ContainerDep, uow: WriteUoW,
    id: Annotated[str, Query(max_length=40)] = "",
    sig: Annotated[str, Query(max_length=64)] = "",
) -> Response:  # fmt: skip
    """The link in every update email; it works any number of times."""
    try:
        subscriber = uuid.UUID(id)
        subscriptions.unsubscribe(uow.session, container.keys.vault(), subscriber, sig,
                                  now=container.clock.now())  # fmt: skip
    except (ValueError, SubscriptionNotFound):
        return _invalid(request, container)
    uow.commit()
    return see_other("/status/subscriptions/left")


@router.get("/status/subscriptions/{outcome}", response_class=HTMLResponse)
def subscription_outcome(outcome: str, request: Request, container: ContainerDep) -> Response:
    if outcome not in ("confirmed", "left"):
        return _invalid(request, container)
    page = show(request, container, f"status/{outcome}.html", _common(request))
    return _tagged(page, request)
