"""Who is looking at a page, and whether a form really came from one of our pages.

Pages reuse the identity layer's browser session (the ``__Host-anxin_session`` cookie set
at sign-in) and call the same services as the API. A page for signed-in holders sends
anyone else to the sign-in page.

CSRF: every form carries a synchroniser token, an HMAC (keyed by the server's blind-index
keys) of a random per-browser cookie and the session cookie, so a token is good only for
this browser and this session; a sign-in starts a new session, which invalidates tokens
shown before. A post must also come from our own origin when the browser says where it
came from (``Origin``): the configured origin or the host the form was served by.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from fastapi import Request, Response

from anxin.api.deps import Container
from anxin.identity import sessions
from anxin.identity.deps import same_origin
from anxin.identity.sessions import DEVICE_COOKIE, DEVICE_COOKIE_MAX_AGE, SESSION_COOKIE
from anxin.kit.errors import Forbidden
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Session as AuthSession
from anxin.models import User
from anxin.privacy.vault import Vault

CSRF_COOKIE = "__Host-anxin_csrf"
CSRF_FIELD = "csrf_token"
_CSRF_COLUMN = "web.csrf"


class FormRefused(Forbidden):
    code = "csrf_check_failed"
    title = "This form was not sent from Anxin's own pages"


class SignInFirst(Exception):
    """Raised by a page for signed-in holders; the app answers with a redirect."""

    def __init__(self, after: str) -> None:
        super().__init__(after)
        self.after = after


@dataclass
class Holder:
    user: User
    session: AuthSession
    vault: Vault
    now: datetime


def browser_secret(request: Request) -> str | None:
    value = request.cookies.get(CSRF_COOKIE)
    return value if value and 20 <= len(value) <= 100 else None


def csrf_token(container: Container, request: Request, secret: str) -> str:
    binding = f"{secret}|{request.cookies.get(SESSION_COOKIE, '')}"
    return container.keys.vault().blind_index(_CSRF_COLUMN, binding)


def new_browser_secret() -> str:
    return secrets.token_urlsafe(32)


def set_browser_secret(response: Response, secret: str) -> None:
    # __Host-: Secure, path /, no Domain; browsers accept Secure cookies from localhost too.
    response.set_cookie(
        CSRF_COOKIE, secret, path="/", secure=True, httponly=True, samesite="strict"
    )


def _same_host(origin: str, request: Request) -> bool:
    """The form's page was served by the host it posts to (``make run`` is browsed at
    127.0.0.1 while ANXIN_WEBAUTHN_ORIGIN says localhost). A browser always sends the real
    Host, so another site's form never passes; schemes are not compared, as a TLS proxy
    in front may forward plain HTTP."""
    return urlsplit(origin).netloc == request.headers.get("host", "") != ""


async def check_form(request: Request, container: Container) -> None:
    """Refuse a state-changing form without a valid token or from another origin."""
    origin = request.headers.get("origin")
    if origin is not None and not (
        same_origin(request, container.settings) or _same_host(origin, request)
    ):
        raise FormRefused("this form was posted from another site")
    secret = browser_secret(request)
    sent = (await request.form()).get(CSRF_FIELD)
    if secret is None or not isinstance(sent, str) or not sent:
        raise FormRefused("reload the page and send the form again")
    expected = csrf_token(container, request, secret)
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise FormRefused("reload the page and send the form again")


def signed_in_as(
    kind: str, request: Request, container: Container, uow: UnitOfWork
) -> tuple[AuthSession, User, datetime] | None:
    """The browser session of a ``kind`` ("holder" or "staff") user, if the cookie has a
    live one: its row, the user and the time it was checked at."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    now = container.clock.now()
    try:
        row, user = sessions.authenticate(uow.session, token, now)
    except (sessions.SessionInvalid, sessions.SessionExpired):
        return None
    if user.kind != kind:
        return None
    uow.commit()  # the idle timer restarts even if the page then fails
    return row, user, now


def current_holder(request: Request, container: Container, uow: UnitOfWork) -> Holder | None:
    found = signed_in_as("holder", request, container, uow)
    if found is None:
        return None
    row, user, now = found
    return Holder(user=user, session=row, vault=container.keys.vault(), now=now)


def require_holder(request: Request, container: Container, uow: UnitOfWork) -> Holder:
    holder = current_holder(request, container, uow)
    if holder is None:
        raise SignInFirst(request.url.path)
    return holder


HOME = "/wallet"


def return_path(value: str | None) -> str:
    """Where to go after signing in: a page of this site the holder was sent away from
    (``?next=``), else the wallet. Anything that could leave the site (``//host``,
    ``/\\host``, a scheme) or loop back to the sign-in is ignored."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return HOME
    if any(c in value for c in "\\\r\n\t") or urlsplit(value).netloc:
        return HOME
    if value.startswith(("/sign-in", "/sign-up", "/sign-out")):
        return HOME
    return value


def signed_in(response: Response, outcome: sessions.SignInOutcome, lifetime: int) -> Response:
    """The identity API's cookies. Always ``Secure``, as the ``__Host-`` prefix demands:
    browsers accept that from http://localhost and 127.0.0.1 too, so development works."""
    assert outcome.started is not None
    secure = True
    response.set_cookie(
        SESSION_COOKIE, outcome.started.token, path="/", secure=secure, httponly=True,
        samesite="lax", max_age=lifetime,
    )  # fmt: skip
    if outcome.device is not None and outcome.device.token:
        response.set_cookie(
            DEVICE_COOKIE, outcome.device.token, max_age=DEVICE_COOKIE_MAX_AGE, path="/",
            secure=secure, httponly=True, samesite="lax",
        )  # fmt: skip
    return response


def signed_out(response: Response) -> Response:
    """Clear the session cookie (the session itself is revoked by the caller)."""
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
    return response
