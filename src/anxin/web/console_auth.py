"""The agent console's door: staff sign in with password and second factor (TOTP), and a
new staff member enrols their authenticator app here first.

Staff use the same identity services and session cookie as the API. A password-only
session (no factor yet) opens nothing but enrolment; after enrolling, the member signs in
again with the code, as the staff API demands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from anxin.api.deps import Container, ContainerDep, WriteUoW
from anxin.identity import contacts as book
from anxin.identity import factors, service, sessions, totp
from anxin.identity.deps import IdentityDep, WrongAudience, client_of, guarded
from anxin.identity.permissions import has_permission
from anxin.kit.errors import AnxinError, Forbidden
from anxin.kit.unit_of_work import UnitOfWork
from anxin.web import guard
from anxin.web.account_pages import CheckedForm
from anxin.web.guard import Holder, SignInFirst, signed_in_as
from anxin.web.pages import explain, locale_of, see_other, show

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=320)]
Secret = Annotated[str, Form(max_length=1024)]
WORK = "care:work"


class ConsoleClosed(Forbidden):
    code = "console_closed"
    title = "Your role cannot work tickets"


class StaffSignInFirst(SignInFirst):
    """A console page for a signed-out visitor: the console's own sign-in page."""


@dataclass
class Staff(Holder):
    """A staff member on a console page (same shape as a holder on a wallet page)."""


def current_staff(
    request: Request, container: Container, uow: UnitOfWork, *, enrolling: bool = False
) -> Staff | None:
    found = signed_in_as("staff", request, container, uow)
    if found is None:
        return None
    row, user, now = found
    ready = factors.has_second_factor(uow.session, user.id) and len(row.auth_methods) >= 2
    if not ready and not enrolling:
        return None
    return Staff(user=user, session=row, vault=container.keys.vault(), now=now)


def require_staff(request: Request, container: Container, uow: UnitOfWork) -> Staff:
    """A staff member signed in with two factors whose role works tickets."""
    staff = current_staff(request, container, uow)
    if staff is None:
        raise StaffSignInFirst(request.url.path)
    if not has_permission(staff.user.role, WORK):
        raise ConsoleClosed(f"the {staff.user.role} role lacks {WORK!r}")
    return staff


def _staff_only(outcome: sessions.SignInOutcome) -> None:
    if outcome.user.kind != "staff":
        raise WrongAudience("the console is for Anxin staff; holders sign in to their wallet")


@router.get("/console/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, container: ContainerDep) -> HTMLResponse:
    return show(request, container, "console/sign_in.html")


@router.post("/console/sign-in", response_class=HTMLResponse, dependencies=[CheckedForm])
def sign_in(
    request: Request, container: ContainerDep, uow: WriteUoW, rt: IdentityDep, email: Text,
    password: Secret,
) -> Response:  # fmt: skip
    client = client_of(request)
    try:
        contact = book.parse_contact("email", email)
        vault = container.keys.vault()
        key = book.lookup_key(vault, contact)
        rt.throttle.check_password_attempt(key, client.address)
        with guarded(uow, rt, client, key):
            outcome = service.signin(uow.session, vault, rt, contact=contact, password=password,
                                     client=client, now=container.clock.now())  # fmt: skip
        _staff_only(outcome)
        uow.commit()
        rt.throttle.password_succeeded(key)
    except AnxinError as error:
        context = {"error": explain(error, locale_of(request)), "email": email}
        return show(request, container, "console/sign_in.html", context,
                    status_code=error.status)  # fmt: skip
    if outcome.status != "signed_in":
        return show(request, container, "console/second_factor.html",
                    {"pending_token": outcome.pending_token})  # fmt: skip
    # No factor yet: this session only enrols one.
    lifetime = container.settings.session_lifetime_seconds
    return guard.signed_in(see_other("/console/enrol"), outcome, lifetime)


@router.post("/console/sign-in/second-factor", response_class=HTMLResponse,
             dependencies=[CheckedForm])  # fmt: skip
def second_factor(
    request: Request, container: ContainerDep, uow: WriteUoW, rt: IdentityDep,
    pending_token: Annotated[str, Form(max_length=200)], code: Annotated[str, Form(max_length=32)],
) -> Response:  # fmt: skip
    client = client_of(request)
    try:
        rt.throttle.check("code-check:address", client.address)
        with guarded(uow, rt, client):
            outcome = service.signin_second_factor(
                uow.session, container.keys.vault(), rt, pending_token=pending_token,
                method="totp", proof={"code": code.strip()}, client=client,
                now=container.clock.now(),
            )  # fmt: skip
        _staff_only(outcome)
        uow.commit()
    except AnxinError as error:
        context = {"error": explain(error, locale_of(request)), "pending_token": pending_token}
        return show(request, container, "console/second_factor.html", context,
                    status_code=error.status)  # fmt: skip
    lifetime = container.settings.session_lifetime_seconds
    return guard.signed_in(see_other("/console"), outcome, lifetime)


@router.post("/console/sign-out", dependencies=[CheckedForm])
def sign_out(request: Request, container: ContainerDep, uow: WriteUoW) -> Response:
    staff = current_staff(request, container, uow, enrolling=True)
    if staff is not None:
        staff.session.revoked_at = staff.now
        uow.commit()
    response = see_other("/console/sign-in")
    return guard.signed_out(response)


@router.get("/console/enrol", response_class=HTMLResponse)
def enrol_page(request: Request, container: ContainerDep, uow: WriteUoW) -> HTMLResponse:
    staff = current_staff(request, container, uow, enrolling=True)
    if staff is None:
        raise StaffSignInFirst(request.url.path)
    enrolled = factors.has_second_factor(uow.session, staff.user.id)
    return show(request, container, "console/enrol.html", {"enrolled": enrolled, "staff": staff})


@router.post("/console/enrol", response_class=HTMLResponse, dependencies=[CheckedForm])
def enrol_start(request: Request, container: ContainerDep, uow: WriteUoW) -> Response:
    staff = current_staff(request, container, uow, enrolling=True)
    if staff is None:
        raise StaffSignInFirst(request.url.path)
    if factors.has_second_factor(uow.session, staff.user.id):
        return see_other("/console/enrol")  # another factor needs step-up: not here
    known = book.contacts_of(uow.session, staff.user.id, verified=True)
    label = known[0].masked if known else (staff.user.pseudonym or "staff")
    started = totp.start_enrolment(uow.session, staff.vault, staff.user.id, label=label,
                                   now=staff.now)  # fmt: skip
    uow.commit()
    context = {"secret": started.secret, "uri": started.uri, "enrolled": False, "staff": staff}
    return show(request, container, "console/enrol.html", context)


@router.post("/console/enrol/confirm", response_class=HTMLResponse, dependencies=[CheckedForm])
def enrol_confirm(
    request: Request, container: ContainerDep, uow: WriteUoW,
    code: Annotated[str, Form(max_length=16)], secret: Annotated[str, Form(max_length=64)] = "",
    uri: Annotated[str, Form(max_length=600)] = "",
) -> Response:  # fmt: skip
    staff = current_staff(request, container, uow, enrolling=True)
    if staff is None:
        raise StaffSignInFirst(request.url.path)
    try:
        totp.confirm_enrolment(uow.session, staff.vault, staff.user.id, code=code.strip(),
                               now=staff.now)  # fmt: skip
        # The console wants a session proven with both factors: sign in again.
        staff.session.revoked_at = staff.now
        uow.commit()
    except AnxinError as error:
        context = {"error": explain(error, locale_of(request)), "secret": secret, "uri": uri,
                   "enrolled": False, "staff": staff}  # fmt: skip
        return show(request, container, "console/enrol.html", context, status_code=error.status)
    response = see_other("/console/sign-in?done=enrolled")
    return guard.signed_out(response)
