"""The links of the status emails: confirming a subscription and leaving it.

Mail providers' link scanners open every link of an email, so opening a link (GET) only
shows a page with one button; the button's form (POST, CSRF-checked like every form) does
it. Both are idempotent: a second press, or a reload, says the same as the first.

Leaving also works by RFC 8058 one-click: the update emails carry ``List-Unsubscribe``
(this signed link) and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``, and a mail
app's own unsubscribe button POSTs ``List-Unsubscribe=One-Click`` to the link from the
mail provider's servers, with no cookie and so no CSRF token. That POST is accepted
without one: the link's signature (a keyed HMAC of the subscriber id, only ever sent to
that address) is the proof, and it proves more than a CSRF token would. CSRF matters when
a browser's ambient credentials (cookies) would act for a forging site; here nothing
depends on the browser, and a site that knew the signature could unsubscribe the address
itself anyway. The only thing it can do is stop emails to one address. Scanners do not
POST (RFC 8058 requires one-click POSTs to be made only at the reader's request).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from anxin.api.deps import ContainerDep, ReadUoW, WriteUoW
from anxin.incidents import subscriptions
from anxin.incidents.errors import SubscriptionNotFound
from anxin.web import guard
from anxin.web.account_pages import CheckedForm
from anxin.web.pages import see_other, show
from anxin.web.status_common import common, tagged

router = APIRouter(include_in_schema=False)
ONE_CLICK = ("List-Unsubscribe", "One-Click")
Token = Annotated[str, Query(max_length=100)]
Subscriber = Annotated[str, Query(max_length=40)]
Signature = Annotated[str, Query(max_length=64)]


def _invalid(request: Request, container: ContainerDep) -> Response:
    page = show(request, container, "status/link_invalid.html", common(request), status_code=404)
    return tagged(page, request)


def _page(request: Request, container: ContainerDep, template: str, **extra: str) -> Response:
    return tagged(show(request, container, template, {**common(request), **extra}), request)


@router.get("/status/subscriptions/confirm", response_class=HTMLResponse)
def confirm_page(
    request: Request, container: ContainerDep, uow: ReadUoW, token: Token = ""
) -> Response:
    """The link in the confirmation email: a page with the button, nothing done yet."""
    try:
        subscriptions.check_confirm(uow.session, token)
    except SubscriptionNotFound:
        return _invalid(request, container)
    return _page(request, container, "status/confirm.html", token=token)


@router.post("/status/subscriptions/confirm", response_class=HTMLResponse,
             dependencies=[CheckedForm])  # fmt: skip
def confirm(
    request: Request, container: ContainerDep, uow: WriteUoW,
    token: Annotated[str, Form(max_length=100)] = "",
) -> Response:  # fmt: skip
    try:
        subscriptions.confirm(uow.session, token, now=container.clock.now())
    except SubscriptionNotFound:
        return _invalid(request, container)
    uow.commit()
    return see_other("/status/subscriptions/confirmed")


def _subscriber(id: str) -> uuid.UUID:
    try:
        return uuid.UUID(id)
    except ValueError as error:
        raise SubscriptionNotFound() from error


@router.get("/status/subscriptions/unsubscribe", response_class=HTMLResponse)
def unsubscribe_page(
    request: Request, container: ContainerDep, uow: ReadUoW,
    id: Subscriber = "", sig: Signature = "",
) -> Response:  # fmt: skip
    """The link in every update email: a page with the button, nothing done yet."""
    try:
        subscriptions.check_unsubscribe(uow.session, container.keys.vault(), _subscriber(id), sig)
    except SubscriptionNotFound:
        return _invalid(request, container)
    return _page(request, container, "status/unsubscribe.html", id=id, sig=sig)


async def _one_click_or_checked(request: Request, container: ContainerDep) -> bool:
    """True for an RFC 8058 one-click POST (the signed link is the proof, see above);
    anything else is our page's form and is checked like every form."""
    form = await request.form()
    if form.get(ONE_CLICK[0]) == ONE_CLICK[1]:
        return True
    await guard.check_form(request, container)
    return False


@router.post("/status/subscriptions/unsubscribe", response_class=HTMLResponse)
def unsubscribe(
    request: Request, container: ContainerDep, uow: WriteUoW,
    one_click: Annotated[bool, Depends(_one_click_or_checked)],
    id: Subscriber = "", sig: Signature = "",
) -> Response:  # fmt: skip
    """Works any number of times with the same answer."""
    try:
        subscriptions.unsubscribe(uow.session, container.keys.vault(), _subscriber(id), sig,
                                  now=container.clock.now())  # fmt: skip
    except SubscriptionNotFound:
        return _invalid(request, container)
    uow.commit()
    if one_click:
        # A mail provider's server, not a browser: the answer itself, no redirect to follow.
        return _page(request, container, "status/left.html")
    return see_other("/status/subscriptions/left")


@router.get("/status/subscriptions/{outcome}", response_class=HTMLResponse)
def subscription_outcome(outcome: str, request: Request, container: ContainerDep) -> Response:
    if outcome not in ("confirmed", "left"):
        return _invalid(request, container)
    return _page(request, container, f"status/{outcome}.html")
