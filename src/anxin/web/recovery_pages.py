"""Getting back in: recovery codes (when the authenticator is lost) and the password reset.

The reset answers the same whether or not an account has the phone number or email (no
enumeration): the code goes out only if one does, and the next page says "if". Setting the
new password with the code ends every session of the account, as the API's reset does;
an account with a second factor must also give it (a code from the app, a recovery code,
or a passkey).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.identity import contacts as book
from anxin.identity import factors, recovery, service, stepup
from anxin.identity.deps import IdentityDep, client_of, guarded
from anxin.identity.passwords import WeakPassword
from anxin.identity.service import SecondFactorProofRequired
from anxin.identity.stepup import SecondFactorRequired, StepUpRequired
from anxin.identity.throttle import InvalidSecondFactor
from anxin.kit.errors import AnxinError
from anxin.wallet.idempotency import step_up_kept
from anxin.web import guard, reset_strength, security_stepup
from anxin.web.account_pages import CheckedForm, passkey_json
from anxin.web.pages import explain, locale_of, see_other, show
from anxin.web.security_stepup import Credential, Field
from anxin.web.words import N_

router = APIRouter(include_in_schema=False)
router.include_router(reset_strength.router)
Text = Annotated[str, Form(max_length=320)]
Secret = Annotated[str, Form(max_length=1024)]
WORDS = (N_("generate_recovery_codes"), N_("recovery_codes"))
ERRORS = (
    N_("Also give your second factor"), N_("The two new passwords are not the same"),
    N_("The code is not right or no longer valid"),
)  # fmt: skip


class PasswordsDiffer(AnxinError):
    status = 422
    code = "passwords_differ"
    title = "The two new passwords are not the same"


# -- recovery codes -------------------------------------------------------------------------


@router.get("/security/recovery-codes", response_class=HTMLResponse)
def codes_page(request: Request, container: ContainerDep, uow: WriteUoW) -> HTMLResponse:
    holder = guard.require_holder(request, container, uow)
    context = {
        "left": recovery.remaining(uow.session, holder.user.id),
        "has_factor": factors.has_second_factor(uow.session, holder.user.id),
    }  # fmt: skip
    return show(request, container, "security/recovery_codes.html", context, holder=holder)


@router.post("/security/recovery-codes", response_class=HTMLResponse, dependencies=[CheckedForm])
def new_codes(
    request: Request, container: ContainerDep, uow: WriteUoW, challenge_id: Field = "",
    code: Field = "", passkey_challenge: Field = "", credential: Credential = "",
) -> Response:  # fmt: skip
    """Ten new codes (the old ones stop working), after step-up; shown once, on this
    answer itself, never stored anywhere they could be shown again."""
    holder = guard.require_holder(request, container, uow)
    summary = [("recovery_codes", "10")]
    try:
        if not factors.has_second_factor(uow.session, holder.user.id):
            raise SecondFactorRequired("recovery codes back up a factor: enrol one first")
        token = security_stepup.answer(
            uow, container, holder, challenge_id=challenge_id, code=code,
            passkey_challenge=passkey_challenge, credential=credential,
        )  # fmt: skip
        with step_up_kept(uow):
            stepup.require_step_up(
                uow.session, holder.user, holder.session.id,
                action={"type": "generate_recovery_codes"}, step_up_token=token, now=holder.now,
            )  # fmt: skip
            codes = recovery.generate(uow.session, holder.vault, holder.user.id, holder.now)
        uow.commit()
    except StepUpRequired as required:
        return security_stepup.prompt(request, container, uow, holder, required,
                                      action="generate_recovery_codes", summary=summary,
                                      fields={})  # fmt: skip
    except InvalidSecondFactor as error:
        return security_stepup.prompt(
            request, container, uow, holder, challenge_id, action="generate_recovery_codes",
            summary=summary, fields={}, error=explain(error, locale_of(request)),
            status_code=error.status,
        )  # fmt: skip
    except AnxinError as error:
        uow.session.rollback()
        context = {"error": explain(error, locale_of(request)), "has_factor": False,
                   "left": recovery.remaining(uow.session, holder.user.id)}  # fmt: skip
        return show(request, container, "security/recovery_codes.html", context, holder=holder,
                    status_code=error.status)  # fmt: skip
    context = {"codes": codes, "left": len(codes), "has_factor": True}
    return show(request, container, "security/recovery_codes.html", context, holder=holder)


# -- password reset -------------------------------------------------------------------------


@router.get("/password-reset", response_class=HTMLResponse)
def reset_page(request: Request, container: ContainerDep) -> HTMLResponse:
    return show(request, container, "security/reset.html")


@router.post("/password-reset", response_class=HTMLResponse, dependencies=[CheckedForm])
def reset_request(
    request: Request, container: ContainerDep, uow: WriteUoW, rt: IdentityDep, identifier: Text
) -> Response:
    client = client_of(request)
    try:
        contact = book.parse_identifier(identifier)
        vault = container.keys.vault()
        rt.throttle.consume("code:address", client.address)
        rt.throttle.consume("code:contact", book.lookup_key(vault, contact))
        service.request_reset(uow.session, vault, rt, contact=contact, now=container.clock.now())
        uow.commit()
    except AnxinError as error:
        context = {"error": explain(error, locale_of(request)), "identifier": identifier}
        return show(request, container, "security/reset.html", context, status_code=error.status)
    context = {"identifier": identifier, "masked": contact.masked}
    return show(request, container, "security/reset_confirm.html", context)


def _second_factor(method: str, factor_code: str, passkey_challenge: str,
                   credential: str) -> dict[str, Any] | None:  # fmt: skip
    if credential:
        proof = {"challenge_id": passkey_challenge, "credential": passkey_json(credential)}
        return {"method": factors.PASSKEY, "proof": proof}
    if not factor_code.strip():
        return None
    # Authenticator codes are digits; recovery codes have letters and dashes.
    chosen = factors.TOTP if factor_code.strip().replace(" ", "").isdigit() else method
    return {"method": chosen, "proof": {"code": factor_code.strip()}}


@router.post("/password-reset/confirm", response_class=HTMLResponse, dependencies=[CheckedForm])
def reset_confirm(
    request: Request, container: ContainerDep, uow: WriteUoW, rt: IdentityDep,
    identifier: Text, code: Annotated[str, Form(max_length=16)], new_password: Secret,
    new_password_again: Secret, factor_code: Field = "", passkey_challenge: Field = "",
    credential: Credential = "",
) -> Response:  # fmt: skip
    client = client_of(request)
    context: dict[str, Any] = {"identifier": identifier, "code": code}
    try:
        contact = book.parse_identifier(identifier)
        context["masked"] = contact.masked
        if new_password != new_password_again:
            raise PasswordsDiffer("type the same new password twice")
        vault = container.keys.vault()
        key = book.lookup_key(vault, contact)
        rt.throttle.check("code-check:address", client.address)
        factor = _second_factor(factors.RECOVERY_CODE, factor_code, passkey_challenge, credential)
        with guarded(uow, rt, client, key):
            service.confirm_reset(
                uow.session, vault, rt, contact=contact, code=code.strip(),
                new_password=new_password, second_factor=factor, now=container.clock.now(),
            )  # fmt: skip
        uow.commit()
        rt.throttle.password_succeeded(key)
    except AnxinError as error:
        if isinstance(error, SecondFactorProofRequired | InvalidSecondFactor) or factor_code:
            context.update(_factor_context(error, new_password))
        if isinstance(error, WeakPassword):
            context["weak"] = True
        context["error"] = explain(error, locale_of(request))
        return show(request, container, "security/reset_confirm.html", context,
                    status_code=error.status)  # fmt: skip
    return guard.signed_out(see_other("/sign-in?done=reset"))


def _factor_context(error: AnxinError, new_password: str) -> dict[str, Any]:
    """The second-factor step of the reset form: which factors, and a passkey challenge
    when the account has a passkey. The new password is kept so that it need not be typed
    a third time; this page is never cached (``Cache-Control: no-store``)."""
    methods = error.extra.get("methods") or [factors.TOTP, factors.RECOVERY_CODE]
    passkey = error.extra.get("passkey")
    return {
        "need_factor": True, "methods": methods, "new_password": new_password,
        "passkey_options": json.dumps(passkey["options"]) if passkey else None,
        "passkey_challenge": passkey["challenge_id"] if passkey else None,
    }  # fmt: skip
