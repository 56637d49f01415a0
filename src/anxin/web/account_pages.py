"""Signing up, in and out, and enrolling an authenticator app, as pages.

The handlers call the identity services exactly as ``anxin.identity.endpoints`` does
(throttles read before the unit of work, refusals counted after it), and set the same
session and device cookies.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.identity import contacts as book
from anxin.identity import factors, service, sessions, totp
from anxin.identity.deps import IdentityDep, WrongAudience, client_of, guarded
from anxin.identity.passkeys import PasskeyRejected
from anxin.identity.passwords import check_new_password, context_words
from anxin.identity.stepup import StepUpRequired
from anxin.identity.throttle import InvalidSecondFactor
from anxin.kit.errors import AnxinError
from anxin.wallet.idempotency import step_up_kept
from anxin.web import guard, i18n
from anxin.web.pages import explain, locale_of, see_other, show

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=320)]
Secret = Annotated[str, Form(max_length=1024)]
Short = Annotated[str, Form(max_length=100)]
NextPage = Annotated[str, Form(alias="next", max_length=2000)]  # guard.return_path checks it


async def _checked(request: Request, container: ContainerDep) -> None:
    await guard.check_form(request, container)


CheckedForm = Depends(_checked)


def _holders_only(outcome: sessions.SignInOutcome) -> None:
    """These pages are the holders' wallet: a staff sign-in here is refused before its
    session is committed (staff tools have their own console)."""
    if outcome.user.kind != "holder":
        raise WrongAudience("these pages are for wallet holders")


def _kind(identifier: str) -> Literal["phone", "email"]:
    return "email" if "@" in identifier else "phone"


# -- sign-in ------------------------------------------------------------------------------


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, container: ContainerDep) -> HTMLResponse:
    context = {"done": request.query_params.get("done"),
               "next": guard.return_path(request.query_params.get("next"))}  # fmt: skip
    return show(request, container, "sign_in.html", context)


@router.post("/sign-in", response_class=HTMLResponse, dependencies=[CheckedForm])
def sign_in(
    request: Request, container: ContainerDep, uow: WriteUoW, rt: IdentityDep,
    identifier: Text, password: Secret, after: NextPage = guard.HOME,
) -> Response:  # fmt: skip
    client = client_of(request)
    after = guard.return_path(after)
    try:
        contact = book.parse_identifier(identifier)
        vault = container.keys.vault()
        key = book.lookup_key(vault, contact)
        rt.throttle.check_password_attempt(key, client.address)
        with guarded(uow, rt, client, key):
            outcome = service.signin(
                uow.session, vault, rt, contact=contact, password=password, client=client,
                now=container.clock.now(),
            )  # fmt: skip
        _holders_only(outcome)
        uow.commit()
        rt.throttle.password_succeeded(key)
    except AnxinError as error:
        context = {"error": explain(error, locale_of(request)), "identifier": identifier,
                   "next": after}  # fmt: skip
        return show(request, container, "sign_in.html", context, status_code=error.status)
    if outcome.status != "signed_in":
        second = {"pending_token": outcome.pending_token, "methods": outcome.methods,
                  "next": after}  # fmt: skip
        return show(request, container, "second_factor.html", second)  # no holder yet
    return guard.signed_in(see_other(after), outcome, container.settings.session_lifetime_seconds)


@router.post("/sign-in/second-factor", response_class=HTMLResponse, dependencies=[CheckedForm])
def sign_in_second_factor(
    request: Request, container: ContainerDep, uow: WriteUoW, rt: IdentityDep,
    pending_token: Annotated[str, Form(max_length=200)],
    code: Annotated[str, Form(max_length=32)] = "",
    method: Annotated[str, Form(pattern="^(totp|recovery_code|passkey)$")] = "totp",
    methods: Annotated[str, Form(max_length=100)] = "totp",
    passkey_challenge: Annotated[str, Form(max_length=64)] = "",
    credential: Annotated[str, Form(max_length=20_000)] = "", after: NextPage = guard.HOME,
) -> Response:  # fmt: skip
    """The authenticator's code, a recovery code (the phone is lost) or a passkey."""
    client = client_of(request)
    after = guard.return_path(after)
    try:
        proof: dict[str, Any] = {"code": code.strip()}
        if method == factors.PASSKEY:
            proof = {"challenge_id": passkey_challenge, "credential": passkey_json(credential)}
        rt.throttle.check("code-check:address", client.address)
        with guarded(uow, rt, client):
            outcome = service.signin_second_factor(
                uow.session, container.keys.vault(), rt, pending_token=pending_token,
                method=method, proof=proof, client=client, now=container.clock.now(),
            )  # fmt: skip
        _holders_only(outcome)
        uow.commit()
    except AnxinError as error:
        context = {"error": explain(error, locale_of(request)), "pending_token": pending_token,
                   "methods": [m for m in methods.split(",") if m in factors.METHODS],
                   "tried": method, "next": after}  # fmt: skip
        return show(request, container, "second_factor.html", context, status_code=error.status)
    return guard.signed_in(see_other(after), outcome, container.settings.session_lifetime_seconds)


def passkey_json(text: str) -> dict[str, Any]:
    """The browser's answer to ``navigator.credentials`` as posted by static/passkey.js."""
    try:
        found = json.loads(text)
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise PasskeyRejected("the browser sent no passkey answer; try again")
    return found


@router.post("/sign-out", dependencies=[CheckedForm])
def sign_out(request: Request, container: ContainerDep, uow: WriteUoW) -> Response:
    holder = guard.current_holder(request, container, uow)
    if holder is not None:
        holder.session.revoked_at = holder.now
        uow.commit()
    response = see_other("/sign-in")
    return guard.signed_out(response)


# -- sign-up ------------------------------------------------------------------------------


@router.get("/sign-up", response_class=HTMLResponse)
def sign_up_page(request: Request, container: ContainerDep) -> HTMLResponse:
    return show(request, container, "sign_up.html")


@router.post("/sign-up", response_class=HTMLResponse, dependencies=[CheckedForm])
def sign_up(
    request: Request, container: ContainerDep, uow: WriteUoW, rt: IdentityDep,
    identifier: Text, password: Secret,
    display_name: Annotated[str, Form(max_length=100)] = "",
) -> Response:  # fmt: skip
    client = client_of(request)
    locale = locale_of(request)
    name = display_name.strip() or None
    try:
        contact = book.parse_contact(_kind(identifier), identifier)
        check_new_password(password, staff=False, context=context_words(contact.value, name))
        vault = container.keys.vault()
        rt.throttle.consume("signup:address", client.address)
        rt.throttle.consume("code:contact", book.lookup_key(vault, contact))
        service.signup(
            uow.session, vault, rt, contact=contact, password=password, name=name,
            locale=i18n.TAGS[locale], now=container.clock.now(),
        )  # fmt: skip
        uow.commit()
    except AnxinError as error:
        context = {"error": explain(error, locale), "identifier": identifier,
                   "display_name": display_name}  # fmt: skip
        return show(request, container, "sign_up.html", context, status_code=error.status)
    context = {"identifier": identifier, "masked": contact.masked}
    return show(request, container, "verify.html", context)


@router.post("/sign-up/verify", response_class=HTMLResponse, dependencies=[CheckedForm])
def verify(
    request: Request, container: ContainerDep, uow: WriteUoW, rt: IdentityDep,
    identifier: Text, password: Secret, code: Annotated[str, Form(max_length=16)],
) -> Response:  # fmt: skip
    client = client_of(request)
    try:
        contact = book.parse_identifier(identifier)
        vault = container.keys.vault()
        key = book.lookup_key(vault, contact)
        rt.throttle.check_password_attempt(key, client.address)
        rt.throttle.check("code-check:address", client.address)
        with guarded(uow, rt, client, key):
            outcome = service.verify_contact(
                uow.session, vault, rt, contact=contact, password=password,
                code=code.strip(), client=client, now=container.clock.now(),
            )  # fmt: skip
        uow.commit()
        rt.throttle.password_succeeded(key)
    except AnxinError as error:
        context = {"error": explain(error, locale_of(request)), "identifier": identifier}
        return show(request, container, "verify.html", context, status_code=error.status)
    # A new holder has no second factor yet: offer the authenticator app first.
    return guard.signed_in(
        see_other("/security/totp"), outcome, container.settings.session_lifetime_seconds
    )


# -- authenticator app --------------------------------------------------------------------


@router.get("/security/totp", response_class=HTMLResponse)
def totp_page(request: Request, container: ContainerDep, uow: WriteUoW) -> HTMLResponse:
    holder = guard.require_holder(request, container, uow)
    enrolled = totp.active_factor(uow.session, holder.user.id) is not None
    return show(request, container, "totp.html", {"enrolled": enrolled}, holder=holder)


@router.post("/security/totp", response_class=HTMLResponse, dependencies=[CheckedForm])
def totp_start(
    request: Request, container: ContainerDep, uow: WriteUoW, challenge_id: Short = "",
    code: Short = "", passkey_challenge: Short = "",
    credential: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:  # fmt: skip
    """Start enrolling; a holder who already has a factor (a passkey) steps up first, as
    ``POST /v1/me/factors/totp`` demands."""
    from anxin.web import security_stepup  # it imports this module's form check

    holder = guard.require_holder(request, container, uow)
    if totp.active_factor(uow.session, holder.user.id) is not None:
        return see_other("/security/totp")
    known = book.contacts_of(uow.session, holder.user.id, verified=True)
    label = known[0].masked if known else (holder.user.pseudonym or "wallet")
    try:
        token = security_stepup.answer(
            uow, container, holder, challenge_id=challenge_id, code=code,
            passkey_challenge=passkey_challenge, credential=credential,
        )  # fmt: skip
        with step_up_kept(uow):
            factors.require_step_up_to_add(
                uow.session, holder.user, holder.session.id, method=factors.TOTP,
                step_up_token=token, now=holder.now,
            )  # fmt: skip
            started = totp.start_enrolment(uow.session, holder.vault, holder.user.id,
                                           label=label, now=holder.now)  # fmt: skip
        uow.commit()
    except StepUpRequired as required:
        return security_stepup.prompt(request, container, uow, holder, required,
                                      action="add_totp", summary=[], fields={})  # fmt: skip
    except InvalidSecondFactor as error:
        return security_stepup.prompt(
            request, container, uow, holder, challenge_id, action="add_totp", summary=[],
            fields={}, error=explain(error, locale_of(request)), status_code=error.status,
        )  # fmt: skip
    except AnxinError as error:
        context = {"error": explain(error, locale_of(request)), "enrolled": False}
        return show(request, container, "totp.html", context, holder=holder,
                    status_code=error.status)  # fmt: skip
    context = {"secret": started.secret, "uri": started.uri, "enrolled": False}
    return show(request, container, "totp.html", context, holder=holder)


@router.post("/security/totp/confirm", response_class=HTMLResponse, dependencies=[CheckedForm])
def totp_confirm(
    request: Request, container: ContainerDep, uow: WriteUoW,
    code: Annotated[str, Form(max_length=16)], secret: Annotated[str, Form(max_length=64)] = "",
    uri: Annotated[str, Form(max_length=600)] = "",
) -> Response:  # fmt: skip
    holder = guard.require_holder(request, container, uow)
    try:
        totp.confirm_enrolment(uow.session, holder.vault, holder.user.id, code=code.strip(),
                               now=holder.now)  # fmt: skip
        uow.commit()
    except AnxinError as error:
        context = {"error": explain(error, locale_of(request)), "secret": secret, "uri": uri,
                   "enrolled": False}  # fmt: skip
        return show(request, container, "totp.html", context, holder=holder,
                    status_code=error.status)  # fmt: skip
    return see_other("/wallet?done=totp")


@router.get("/")
def home(request: Request, container: ContainerDep, uow: WriteUoW) -> RedirectResponse:
    signed_in = guard.current_holder(request, container, uow) is not None
    lang = request.query_params.get("lang")
    suffix = f"?lang={i18n.normalise(lang)}" if i18n.normalise(lang) else ""
    return RedirectResponse(("/wallet" if signed_in else "/sign-in") + suffix, status_code=303)
