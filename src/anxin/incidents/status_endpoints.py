"""The status page's machine side: ``GET /status/feed.atom`` (Atom, in Chinese or English:
``?lang=zh|en``, else Accept-Language) and ``POST /v1/status/subscriptions`` (email
subscriptions). The pages themselves (``/status``, one incident, the subscribe form and the
confirm and unsubscribe links) are web pages: ``anxin.web.status_pages``."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from anxin.api.deps import ContainerDep, ReadUoW, WriteUoW
from anxin.identity.deps import IdentityDep, client_of
from anxin.incidents import status_page, subscriptions
from anxin.incidents.schemas import Accepted, SubscribeIn

page_router = APIRouter(tags=["status"])
api_router = APIRouter(prefix="/v1/status", tags=["status"])
ACCEPTED = "If this address can subscribe, we sent it an email: open the link in it to confirm."
Lang = Annotated[str | None, Query(pattern="^(zh|en)$")]
FEED_MAX_AGE = 60


def site(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@page_router.get("/status/feed.atom")
def feed(request: Request, uow: ReadUoW, container: ContainerDep, lang: Lang = None) -> Response:
    chosen = status_page.choose_language(lang, request.headers.get("accept-language"))
    body = status_page.atom(uow.session, container.clock.now(), chosen, site(request))
    return Response(body, media_type="application/atom+xml; charset=utf-8",
                    headers={"Content-Language": chosen, "Vary": "Accept-Language",
                             "Cache-Control": f"public, max-age={FEED_MAX_AGE}"})  # fmt: skip


def subscribe_address(request: Request, uow: WriteUoW, container: ContainerDep,
                      rt: IdentityDep, email: str, locale: str) -> None:  # fmt: skip
    """Ask an address to confirm; the caller answers the same way whatever happened."""
    # Counted before the unit of work writes, like sign-up (one address, many emails).
    rt.throttle.consume("signup:address", client_of(request).address)
    subscriptions.subscribe(uow.session, container.keys.vault(), email, locale=locale,
                            now=container.clock.now(), site_url=site(request))  # fmt: skip
    uow.commit()


@api_router.post("/subscriptions", status_code=202, response_model=Accepted)
def subscribe(body: SubscribeIn, request: Request, uow: WriteUoW, container: ContainerDep,
              rt: IdentityDep) -> Accepted:  # fmt: skip
    """Subscribe an email address to status updates; it gets a confirm link. The answer is
    the same whether or not the address was already subscribed."""
    subscribe_address(request, uow, container, rt, body.email, body.locale)
    return Accepted(detail=ACCEPTED)


# Links in emails sent before the pages moved: the same landing pages (a button, nothing
# done on GET), at their new address.
@api_router.get("/subscriptions/confirm", include_in_schema=False)
def old_confirm_link(request: Request) -> RedirectResponse:
    query = urlencode(list(request.query_params.multi_items()))
    return RedirectResponse(f"/status/subscriptions/confirm?{query}", status_code=307)


@api_router.get("/subscriptions/unsubscribe", include_in_schema=False)
def old_unsubscribe_link(request: Request) -> RedirectResponse:
    query = urlencode(list(request.query_params.multi_items()))
    return RedirectResponse(f"/status/subscriptions/unsubscribe?{query}", status_code=307)
