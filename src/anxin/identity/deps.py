"""Who is calling: sessions as FastAPI dependencies, and the guards of the identity edge.

A session token arrives as ``Authorization: Bearer <token>`` (apps, the API) or in the
``__Host-anxin_session`` cookie (browsers). Cookie-authenticated requests that change
something must come from our own origin: the ``Origin`` header (or, without it, the
``Referer``) must equal ``ANXIN_WEBAUTHN_ORIGIN``. Together with ``SameSite=Lax`` this is
the CSRF protection; bearer requests need none, as browsers never attach them on their own.

Holders and staff are kept apart: holder endpoints refuse staff sessions and the other
way round. Staff must have a second factor enrolled, and have signed in with it, before
anything but enrolment (``StaffEnrolmentAuth``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.identity import sessions
from anxin.identity.permissions import has_permission
from anxin.identity.service import IdentityRuntime
from anxin.identity.sessions import DEVICE_COOKIE, SESSION_COOKIE, Client
from anxin.identity.throttle import Rejected
from anxin.kit.errors import Forbidden, ServiceUnavailable
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Session as AuthSession
from anxin.models import User
from anxin.privacy.vault import Vault
from anxin.settings import Settings


@dataclass
class AuthContext:
    user: User
    session: AuthSession
    vault: Vault
    now: datetime
    via_cookie: bool = False


class CsrfCheckFailed(Forbidden):
    code = "csrf_check_failed"
    title = "This form was not sent from Anxin's own pages"


class WrongAudience(Forbidden):
    code = "wrong_account_kind"
    title = "This endpoint is not for this kind of account"


class EnrolmentRequired(Forbidden):
    code = "second_factor_enrolment_required"
    title = "Enrol a second factor first"


class MissingPermission(Forbidden):
    code = "missing_permission"
    title = "Your role does not allow this"


_bearer = HTTPBearer(
    auto_error=False, scheme_name="SessionToken",
    description="A session token from `POST /v1/auth/signin`: `Authorization: Bearer <token>`.",
)  # fmt: skip
_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, scheme_name="SessionCookie",
    description="The browser session cookie set at sign-in (HttpOnly, SameSite=Lax); form "
    "posts with it must carry our Origin.",
)  # fmt: skip


def get_identity(container: ContainerDep) -> IdentityRuntime:
    runtime = container.identity
    if runtime is None:
        raise ServiceUnavailable("identity services are not running")
    return runtime


IdentityDep = Annotated[IdentityRuntime, Depends(get_identity)]


def same_origin(request: Request, settings: Settings) -> bool:
    expected = settings.webauthn_origin.rstrip("/")
    origin = request.headers.get("origin")
    if origin is None:
        referer = urlsplit(request.headers.get("referer", ""))
        origin = f"{referer.scheme}://{referer.netloc}" if referer.netloc else None
    return origin is not None and origin.rstrip("/") == expected


def check_csrf(request: Request, settings: Settings) -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS") and not same_origin(request, settings):
        raise CsrfCheckFailed("send the Origin header of this site, or use a bearer token")


def check_login_origin(request: Request, settings: Settings) -> None:
    """Login CSRF: a browser posting from another site always sends that site's Origin."""
    if "origin" in request.headers and not same_origin(request, settings):
        raise CsrfCheckFailed("this form was posted from another site")


def get_auth(
    request: Request,
    container: ContainerDep,
    uow: WriteUoW,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> AuthContext:
    if bearer is not None and bearer.scheme.lower() == "bearer":
        token, via_cookie = bearer.credentials, False
    elif cookie:
        check_csrf(request, container.settings)
        token, via_cookie = cookie, True
    else:
        raise sessions.NotSignedIn("send `Authorization: Bearer <session token>`")
    now = container.clock.now()
    row, user = sessions.authenticate(uow.session, token, now)
    # The touch (idle timer) counts even if the request then fails.
    uow.commit()
    return AuthContext(user=user, session=row, vault=container.keys.vault(), now=now,
                       via_cookie=via_cookie)  # fmt: skip


AnyAuth = Annotated[AuthContext, Depends(get_auth)]


def _staff_ready(uow: UnitOfWork, auth: AuthContext) -> None:
    from anxin.identity.factors import has_second_factor

    if not has_second_factor(uow.session, auth.user.id):
        raise EnrolmentRequired("staff must enrol an authenticator app or a passkey first")
    if len(auth.session.auth_methods) < 2:
        raise EnrolmentRequired(
            "sign in again with your second factor", code="second_factor_signin_required"
        )


def require_user(uow: WriteUoW, auth: AnyAuth) -> AuthContext:
    """Any signed-in holder, or staff member who signed in with two factors."""
    if auth.user.kind == "staff":
        _staff_ready(uow, auth)
    return auth


def require_holder(auth: AnyAuth) -> AuthContext:
    if auth.user.kind != "holder":
        raise WrongAudience("this endpoint is for wallet holders")
    return auth


def require_staff(uow: WriteUoW, auth: AnyAuth) -> AuthContext:
    if auth.user.kind != "staff":
        raise WrongAudience("this endpoint is for staff")
    _staff_ready(uow, auth)
    return auth


def require_permission(permission: str) -> Callable[..., AuthContext]:
    def check(auth: Annotated[AuthContext, Depends(require_staff)]) -> AuthContext:
        if not has_permission(auth.user.role, permission):
            raise MissingPermission(
                f"the {auth.user.role} role lacks {permission!r}", permission=permission
            )
        return auth

    return check


SignedIn = Annotated[AuthContext, Depends(require_user)]
HolderAuth = Annotated[AuthContext, Depends(require_holder)]
StaffAuth = Annotated[AuthContext, Depends(require_staff)]
# Factor enrolment: any signed-in user, including staff without a factor yet.
StaffEnrolmentAuth = Annotated[AuthContext, Depends(get_auth)]
StepUpToken = Annotated[
    str | None,
    Header(
        alias="X-Step-Up-Token",
        description="A step-up token for exactly this action (see `step_up_required`).",
    ),
]


def client_of(request: Request, device_token: str | None = None) -> Client:
    return Client(
        address=request.client.host if request.client else "unknown",
        user_agent=request.headers.get("user-agent"),
        device_token=device_token or request.cookies.get(DEVICE_COOKIE),
    )


@contextmanager
def guarded(
    uow: UnitOfWork, runtime: IdentityRuntime, client: Client, account_key: str | None = None
) -> Iterator[None]:
    """Run a service call so that its refusals keep what they counted: a ``Rejected``
    commits (or rolls back) first, then feeds the shared throttles; a step-up challenge is
    stored in a transaction of its own. Throttle writes happen with no transaction open."""
    from anxin.identity.stepup import StepUpRequired, persist_challenge

    try:
        yield
    except Rejected as rejected:
        if rejected.commit:
            uow.commit()
        else:
            uow.session.rollback()
        if rejected.password_failed and account_key is not None:
            runtime.throttle.password_failed(account_key, client.address)
        if rejected.code_failed:
            runtime.throttle.hit("code-check:address", client.address)
        raise rejected.error from None
    except StepUpRequired as required:
        uow.session.rollback()
        persist_challenge(uow.session, required)
        uow.commit()
        raise
