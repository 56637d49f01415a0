"""The security checkup and what it links to: sessions, the password, a new contact.

``/security`` shows the holder's second factors, signed-in sessions (sign out any other, or
all others), recent sign-ins with failures, the password's age, and tips with links to fix
what they point at. The services are those of ``/v1/me`` (sessions, password, contacts).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.identity import contacts as book
from anxin.identity import service, sessions
from anxin.identity.deps import IdentityDep, client_of, guarded
from anxin.identity.passwords import check_new_password
from anxin.identity.stepup import StepUpRequired
from anxin.identity.throttle import InvalidSecondFactor
from anxin.kit.errors import AnxinError, NotFound
from anxin.wallet.accounts import BUSINESS_TZ
from anxin.web import guard, security_checkup, security_stepup
from anxin.web.account_pages import CheckedForm
from anxin.web.pages import explain, locale_of, see_other, show
from anxin.web.recovery_pages import PasswordsDiffer
from anxin.web.security_stepup import Credential, Field
from anxin.web.words import N_

router = APIRouter(include_in_schema=False)
Secret = Annotated[str, Form(max_length=1024)]
WORDS = (N_("change_password"),)
ERRORS = (
    N_("The current password is not right"), N_("This session is not valid; sign in again"),
)  # fmt: skip


@router.get("/security", response_class=HTMLResponse)
def checkup(request: Request, container: ContainerDep, uow: WriteUoW) -> HTMLResponse:
    holder = guard.require_holder(request, container, uow)
    context = {
        "state": security_checkup.gather(uow.session, holder), "tz": BUSINESS_TZ,
        "done": request.query_params.get("done"),
        "old_days": security_checkup.PASSWORD_OLD_DAYS,
    }  # fmt: skip
    return show(request, container, "security/checkup.html", context, holder=holder)


# -- sessions -------------------------------------------------------------------------------


@router.post("/security/sessions/others/end", dependencies=[CheckedForm])
def end_other_sessions(request: Request, container: ContainerDep, uow: WriteUoW) -> Response:
    holder = guard.require_holder(request, container, uow)
    sessions.revoke_all(uow.session, holder.user.id, holder.now, keep=holder.session.id)
    uow.commit()
    return see_other("/security?done=others_ended")


@router.post("/security/sessions/{session_id}/end", dependencies=[CheckedForm])
def end_session(
    request: Request, container: ContainerDep, uow: WriteUoW, session_id: str
) -> Response:
    holder = guard.require_holder(request, container, uow)
    try:
        wanted = uuid.UUID(session_id)
        # Someone else's session is "not found", exactly like one that does not exist.
        sessions.revoke(uow.session, holder.user.id, wanted, holder.now)
        uow.commit()
    except (ValueError, NotFound):
        return show(request, container, "security/missing.html", holder=holder, status_code=404)
    if wanted == holder.session.id:
        return guard.signed_out(see_other("/sign-in"))
    return see_other("/security?done=ended")


# -- password -------------------------------------------------------------------------------


@router.get("/security/password", response_class=HTMLResponse)
def password_page(request: Request, container: ContainerDep, uow: WriteUoW) -> HTMLResponse:
    holder = guard.require_holder(request, container, uow)
    return show(request, container, "security/password.html", holder=holder)


@router.post("/security/password", response_class=HTMLResponse, dependencies=[CheckedForm])
def change_password(
    request: Request, container: ContainerDep, uow: WriteUoW, rt: IdentityDep,
    current_password: Secret, new_password: Secret, new_password_again: Secret,
    challenge_id: Field = "", code: Field = "", passkey_challenge: Field = "",
    credential: Credential = "",
) -> Response:  # fmt: skip
    """The current password, then step-up when a factor is enrolled; other sessions end."""
    holder = guard.require_holder(request, container, uow)
    client = client_of(request)
    key = f"user:{holder.user.id}"
    # Repeated after step-up: this page is never cached (Cache-Control: no-store).
    fields = {"current_password": current_password, "new_password": new_password,
              "new_password_again": new_password_again}  # fmt: skip
    try:
        if new_password != new_password_again:
            raise PasswordsDiffer("type the same new password twice")
        # A weak new password is refused before the step-up, not after the code is spent.
        context = service.password_context(uow.session, holder.vault, holder.user)
        check_new_password(new_password, staff=False, context=context)
        rt.throttle.check_password_attempt(key, client.address)
        token = security_stepup.answer(
            uow, container, holder, challenge_id=challenge_id, code=code,
            passkey_challenge=passkey_challenge, credential=credential,
        )  # fmt: skip
        with guarded(uow, rt, client, key):
            service.change_password(
                uow.session, holder.vault, rt, holder.user, holder.session.id,
                current=current_password, new=new_password, step_up_token=token,
                now=holder.now,
            )  # fmt: skip
        uow.commit()
        rt.throttle.password_succeeded(key)
    except StepUpRequired as required:
        return security_stepup.prompt(
            request, container, uow, holder, required, action="change_password", summary=[],
            fields=fields,
        )  # fmt: skip
    except InvalidSecondFactor as error:
        return security_stepup.prompt(
            request, container, uow, holder, challenge_id, action="change_password", summary=[],
            fields=fields, error=explain(error, locale_of(request)), status_code=error.status,
        )  # fmt: skip
    except AnxinError as error:
        return show(request, container, "security/password.html",
                    {"error": explain(error, locale_of(request))}, holder=holder,
                    status_code=error.status)  # fmt: skip
    return see_other("/security?done=password")


# -- a new phone number or email: its code ------------------------------------------------


@router.get("/security/contact", response_class=HTMLResponse)
def contact_page(request: Request, container: ContainerDep, uow: WriteUoW) -> HTMLResponse:
    holder = guard.require_holder(request, container, uow)
    pending = [c.masked for c in book.contacts_of(uow.session, holder.user.id)
               if c.verified_at is None]  # fmt: skip
    return show(request, container, "security/contact.html", {"pending": pending}, holder=holder)


@router.post("/security/contact", response_class=HTMLResponse, dependencies=[CheckedForm])
def contact_verify(
    request: Request, container: ContainerDep, uow: WriteUoW, rt: IdentityDep,
    code: Annotated[str, Form(max_length=16)],
) -> Response:  # fmt: skip
    holder = guard.require_holder(request, container, uow)
    client = client_of(request)
    try:
        rt.throttle.check("code-check:address", client.address)
        with guarded(uow, rt, client):
            book.finish_change(uow.session, holder.vault, holder.user, code=code.strip(),
                               now=holder.now)  # fmt: skip
        uow.commit()
    except AnxinError as error:
        pending = [c.masked for c in book.contacts_of(uow.session, holder.user.id)
                   if c.verified_at is None]  # fmt: skip
        context = {"pending": pending, "error": explain(error, locale_of(request))}
        return show(request, container, "security/contact.html", context, holder=holder,
                    status_code=error.status)  # fmt: skip
    return see_other("/security?done=contact")
