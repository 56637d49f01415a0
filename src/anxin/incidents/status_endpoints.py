"""The public status page: ``GET /status`` (HTML), ``GET /status/feed.atom`` (Atom), both
in Chinese or English (``?lang=``, else Accept-Language); email subscriptions
(``POST /v1/status/subscriptions`` or the page's form, confirm and unsubscribe links)."""

# Chinese texts use full-width punctuation on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import escape

from anxin.api.deps import ContainerDep, ReadUoW, WriteUoW
from anxin.identity.deps import IdentityDep, client_of
from anxin.incidents import status_page, subscriptions
from anxin.incidents.schemas import Accepted, SubscribeIn
from anxin.models.incidents import StatusSubscriber

page_router = APIRouter(tags=["status"])
api_router = APIRouter(prefix="/v1/status", tags=["status"])

# The page loads nothing but its own stylesheet: no scripts at all.
_CSP = (
    "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
_HEADERS = {"Content-Security-Policy": _CSP, "X-Content-Type-Options": "nosniff",
            "Cache-Control": "public, max-age=30", "Vary": "Accept-Language"}  # fmt: skip
_ACCEPTED = {
    "zh": "如果该邮箱可以订阅，我们已发送确认邮件，请打开其中的链接。",
    "en": "If this address can subscribe, we sent it an email: open the link in it to confirm.",
}
_CONFIRMED = {"zh": "订阅已确认。", "en": "Your subscription is confirmed."}
_LEFT = {"zh": "已退订。", "en": "You are unsubscribed."}
Lang = Annotated[str | None, Query(pattern="^(zh|en)$")]


def _site(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _lang(request: Request, lang: str | None) -> str:
    return status_page.choose_language(lang, request.headers.get("accept-language"))


def _message(lang: str, text: str, status_code: int = 200) -> HTMLResponse:
    body = (f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
            '<meta charset="utf-8"><link rel="stylesheet" href="/status/status.css"></head>'
            f'<body><p>{escape(text)}</p><p><a href="/status?lang={lang}">/status</a></p>'
            "</body></html>")  # fmt: skip
    return HTMLResponse(body, status_code=status_code, headers=_HEADERS)


@page_router.get("/status", response_class=HTMLResponse)
def status(
    request: Request, uow: ReadUoW, container: ContainerDep, lang: Lang = None
) -> HTMLResponse:
    """Current status, the open incidents with their updates, and recent history."""
    chosen = _lang(request, lang)
    body = status_page.html(uow.session, container.clock.now(), chosen)
    return HTMLResponse(body, headers={**_HEADERS, "Content-Language": chosen})


@page_router.get("/status/feed.atom")
def feed(request: Request, uow: ReadUoW, container: ContainerDep, lang: Lang = None) -> Response:
    chosen = _lang(request, lang)
    body = status_page.atom(uow.session, container.clock.now(), chosen, _site(request))
    return Response(body, media_type="application/atom+xml; charset=utf-8",
                    headers={"Content-Language": chosen, "Vary": "Accept-Language"})  # fmt: skip


@page_router.get("/status/status.css")
def stylesheet() -> Response:
    return Response(status_page.STYLESHEET, media_type="text/css; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=3600"})  # fmt: skip


def _subscribe(request: Request, uow: WriteUoW, container: ContainerDep, rt: IdentityDep,
               email: str, locale: str) -> None:  # fmt: skip
    # Counted before the unit of work writes, like sign-up (one address, many emails).
    rt.throttle.consume("signup:address", client_of(request).address)
    subscriptions.subscribe(uow.session, container.keys.vault(), email, locale=locale,
                            now=container.clock.now(), site_url=_site(request))  # fmt: skip
    uow.commit()


@api_router.post("/subscriptions", status_code=202, response_model=Accepted)
def subscribe(body: SubscribeIn, request: Request, uow: WriteUoW, container: ContainerDep,
              rt: IdentityDep) -> Accepted:  # fmt: skip
    """Subscribe an email address to status updates; it gets a confirm link. The answer is
    the same whether or not the address was already subscribed."""
    _subscribe(request, uow, container, rt, body.email, body.locale)
    return Accepted(detail=_ACCEPTED["en"])


@page_router.post("/status/subscribe", response_class=HTMLResponse)
def subscribe_form(
    request: Request, uow: WriteUoW, container: ContainerDep, rt: IdentityDep,
    email: Annotated[str, Form(max_length=254)],
    locale: Annotated[str, Form(pattern="^(zh|en)$")] = "zh",
) -> HTMLResponse:  # fmt: skip
    """The status page's subscribe form (no script needed)."""
    _subscribe(request, uow, container, rt, email, locale)
    return _message(locale, _ACCEPTED[locale], 202)


@api_router.get("/subscriptions/confirm", response_class=HTMLResponse)
def confirm(
    uow: WriteUoW, container: ContainerDep,
    token: Annotated[str, Query(min_length=10, max_length=100)],
) -> HTMLResponse:  # fmt: skip
    row = subscriptions.confirm(uow.session, token, now=container.clock.now())
    uow.commit()
    return _message(row.locale, _CONFIRMED[row.locale])


@api_router.get("/subscriptions/unsubscribe", response_class=HTMLResponse)
def unsubscribe(
    uow: WriteUoW, container: ContainerDep, id: uuid.UUID,
    sig: Annotated[str, Query(min_length=64, max_length=64)],
) -> HTMLResponse:  # fmt: skip
    """The link in every update email; works any number of times."""
    subscriptions.unsubscribe(uow.session, container.keys.vault(), id, sig,
                              now=container.clock.now())  # fmt: skip
    row = uow.session.get(StatusSubscriber, id)
    lang = row.locale if row is not None else "en"
    uow.commit()
    return _message(lang, _LEFT[lang])
