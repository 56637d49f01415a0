"""Passkeys as pages: signing in with one, and adding, listing and removing them.

The WebAuthn ceremonies run in the browser (static/passkey.js): it fetches options by
posting the page's form (CSRF token included, checked like any form), asks the
authenticator, then submits the form with the answer, so the server replies with a page or
a redirect exactly as for any other form. The services are those of the factor API
(``anxin.identity.factor_endpoints``): the same challenges, checks and step-up.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.identity import contacts as book
from anxin.identity import factors, passkeys, sessions
from anxin.identity.deps import IdentityDep, client_of
from anxin.identity.factor_endpoints import PasskeyNotAccepted
from anxin.identity.passkeys import PasskeyRejected, RelyingParty
from anxin.identity.stepup import StepUpRequired
from anxin.identity.throttle import InvalidSecondFactor
from anxin.kit.errors import AnxinError, NotFound
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Passkey, User
from anxin.wallet.accounts import BUSINESS_TZ
from anxin.wallet.idempotency import step_up_kept
from anxin.web import guard, security_stepup
from anxin.web.account_pages import CheckedForm, NextPage, passkey_json
from anxin.web.guard import Holder
from anxin.web.pages import explain, locale_of, see_other, show
from anxin.web.security_stepup import NO_STORE, Credential, Field
from anxin.web.words import N_

router = APIRouter(include_in_schema=False)
router.include_router(security_stepup.router)
Name = Annotated[str, Form(max_length=100)]
WORDS = (N_("add_passkey"), N_("remove_passkey"), N_("passkey"), N_("add_totp"))
ERRORS = (
    N_("The passkey could not be verified"), N_("This passkey is already registered"),
    N_("This passkey was not accepted"), N_("The action to authorise is malformed"),
    N_("This action needs a second factor"),
)  # fmt: skip


def _rp(container: ContainerDep) -> RelyingParty:
    return RelyingParty.from_settings(container.settings)


# -- signing in with a passkey --------------------------------------------------------------


@router.post("/sign-in/passkey/options", dependencies=[CheckedForm])
def sign_in_options(container: ContainerDep, uow: WriteUoW) -> JSONResponse:
    """A challenge for ``navigator.credentials.get()``: the browser offers the passkeys it
    holds for this site (no user is named yet). Also used on the second-factor page."""
    challenge_id, options = factors.start_passkey_assertion(
        uow.session, None, container.clock.now(), rp=_rp(container)
    )
    uow.commit()
    return JSONResponse({"challenge_id": str(challenge_id), "options": options}, headers=NO_STORE)


@router.post("/sign-in/passkey", response_class=HTMLResponse, dependencies=[CheckedForm])
def sign_in_with_passkey(
    request: Request, container: ContainerDep, uow: WriteUoW, rt: IdentityDep,
    passkey_challenge: Field = "", credential: Credential = "", after: NextPage = guard.HOME,
) -> Response:  # fmt: skip
    """Possession of the device plus its PIN or biometrics (user verification is
    required): two factors in one step, as ``POST /v1/auth/passkey/verify``."""
    client = client_of(request)
    after = guard.return_path(after)
    now = container.clock.now()
    try:
        rt.throttle.check("code-check:address", client.address)
        answer = passkey_json(credential)
        found = passkeys.verify_assertion(
            uow.session, challenge_id=passkey_challenge, credential=answer, user_id=None, now=now
        )
        user = uow.session.get(User, found.user_id) if found is not None else None
        if user is None or user.status != "active" or user.kind != "holder":
            uow.commit()  # the challenge stays consumed
            rt.throttle.hit("code-check:address", client.address)
            raise PasskeyNotAccepted("use another passkey or sign in with your password")
        outcome = sessions.open_session(
            uow.session, container.keys.vault(), container.settings, user,
            methods=["passkey", "user_verification"], client=client, now=now,
        )  # fmt: skip
        uow.commit()
    except AnxinError as error:
        context = {"error": explain(error, locale_of(request)), "next": after}
        return show(request, container, "sign_in.html", context, status_code=error.status)
    return guard.signed_in(see_other(after), outcome, container.settings.session_lifetime_seconds)


# -- the holder's passkeys ------------------------------------------------------------------


def _list_page(
    request: Request, container: ContainerDep, uow: UnitOfWork, holder: Holder, **extra: Any
) -> HTMLResponse:
    status = extra.pop("status_code", 200)
    context = {
        "passkeys": passkeys.active_passkeys(uow.session, holder.user.id),
        "done": request.query_params.get("done"), "tz": BUSINESS_TZ, **extra,
    }  # fmt: skip
    return show(request, container, "security/passkeys.html", context, holder=holder,
                status_code=status)  # fmt: skip


def _mine(uow: UnitOfWork, holder: Holder, passkey_id: str) -> Passkey | None:
    try:
        wanted = uuid.UUID(passkey_id)
    except ValueError:
        return None
    found = uow.session.get(Passkey, wanted)
    if found is None or found.user_id != holder.user.id or found.disabled_at is not None:
        return None
    return found


def _missing(request: Request, container: ContainerDep, holder: Holder) -> HTMLResponse:
    return show(request, container, "security/missing.html", holder=holder, status_code=404)


def _label(uow: UnitOfWork, holder: Holder) -> str:
    """How the authenticator names the account: a masked contact, never the value."""
    known = book.contacts_of(uow.session, holder.user.id, verified=True)
    return known[0].masked if known else "Anxin"


@router.get("/security/passkeys", response_class=HTMLResponse)
def passkeys_page(request: Request, container: ContainerDep, uow: WriteUoW) -> HTMLResponse:
    holder = guard.require_holder(request, container, uow)
    return _list_page(request, container, uow, holder)


@router.post("/security/passkeys/new", response_class=HTMLResponse, dependencies=[CheckedForm])
def new_passkey(
    request: Request, container: ContainerDep, uow: WriteUoW, name: Name = "",
    challenge_id: Field = "", code: Field = "", passkey_challenge: Field = "",
    credential: Credential = "",
) -> Response:  # fmt: skip
    """Step-up first when a factor exists (a stolen session must not add an attacker's
    passkey), then the registration options for the browser."""
    holder = guard.require_holder(request, container, uow)
    name = name.strip() or "Passkey"
    fields = {"name": name}
    summary = [("passkey", name)]
    try:
        token = security_stepup.answer(
            uow, container, holder, challenge_id=challenge_id, code=code,
            passkey_challenge=passkey_challenge, credential=credential,
        )  # fmt: skip
        with step_up_kept(uow):
            factors.require_step_up_to_add(
                uow.session, holder.user, holder.session.id, method=factors.PASSKEY,
                step_up_token=token, now=holder.now,
            )  # fmt: skip
            created_id, options = passkeys.registration_options(
                uow.session, holder.user.id, auth_session_id=holder.session.id,
                user_name=_label(uow, holder), rp=_rp(container), now=holder.now,
            )  # fmt: skip
        uow.commit()
    except StepUpRequired as required:
        return security_stepup.prompt(
            request, container, uow, holder, required, action="add_passkey", summary=summary,
            fields=fields,
        )  # fmt: skip
    except InvalidSecondFactor as error:
        return security_stepup.prompt(
            request, container, uow, holder, challenge_id, action="add_passkey",
            summary=summary, fields=fields, error=explain(error, locale_of(request)),
            status_code=error.status,
        )  # fmt: skip
    except AnxinError as error:
        uow.session.rollback()
        return _list_page(request, container, uow, holder, error=explain(error, locale_of(request)),
                          status_code=error.status)  # fmt: skip
    context = {"name": name, "options": json.dumps(options), "challenge": str(created_id)}
    return show(request, container, "security/passkey_new.html", context, holder=holder)


@router.post("/security/passkeys", response_class=HTMLResponse, dependencies=[CheckedForm])
def register_passkey(
    request: Request, container: ContainerDep, uow: WriteUoW, name: Name = "",
    passkey_challenge: Field = "", credential: Credential = "",
) -> Response:  # fmt: skip
    holder = guard.require_holder(request, container, uow)
    try:
        try:
            passkeys.register(
                uow.session, holder.user.id, challenge_id=passkey_challenge,
                credential=passkey_json(credential), name=name.strip() or "Passkey",
                now=holder.now,
            )  # fmt: skip
        except PasskeyRejected:
            uow.commit()  # the challenge stays consumed
            raise
        uow.commit()
    except AnxinError as error:
        uow.session.rollback()
        return _list_page(request, container, uow, holder, error=explain(error, locale_of(request)),
                          status_code=error.status)  # fmt: skip
    return see_other("/security/passkeys?done=added")


@router.post(
    "/security/passkeys/{passkey_id}/remove", response_class=HTMLResponse,
    dependencies=[CheckedForm],
)  # fmt: skip
def remove_passkey(
    request: Request, container: ContainerDep, uow: WriteUoW, passkey_id: str,
    challenge_id: Field = "", code: Field = "", passkey_challenge: Field = "",
    credential: Credential = "",
) -> Response:  # fmt: skip
    holder = guard.require_holder(request, container, uow)
    found = _mine(uow, holder, passkey_id)
    if found is None:
        return _missing(request, container, holder)  # someone else's is the same as none
    summary = [("passkey", found.name)]
    try:
        token = security_stepup.answer(
            uow, container, holder, challenge_id=challenge_id, code=code,
            passkey_challenge=passkey_challenge, credential=credential,
        )  # fmt: skip
        with step_up_kept(uow):
            factors.disable_passkey(uow.session, holder.user, holder.session.id, found.id,
                                    step_up_token=token, now=holder.now)  # fmt: skip
        uow.commit()
    except StepUpRequired as required:
        return security_stepup.prompt(
            request, container, uow, holder, required, action="remove_passkey", summary=summary,
            fields={},
        )  # fmt: skip
    except InvalidSecondFactor as error:
        return security_stepup.prompt(
            request, container, uow, holder, challenge_id, action="remove_passkey",
            summary=summary, fields={}, error=explain(error, locale_of(request)),
            status_code=error.status,
        )  # fmt: skip
    except NotFound:
        return _missing(request, container, holder)
    except AnxinError as error:
        uow.session.rollback()
        return _list_page(request, container, uow, holder, error=explain(error, locale_of(request)),
                          status_code=error.status)  # fmt: skip
    return see_other("/security/passkeys?done=removed")
