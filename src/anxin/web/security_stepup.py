"""Step-up on the security pages: the authenticator's code or a passkey.

``stepup_flow`` asks for the authenticator's code; a holder whose only factor is a passkey
could not answer it, and these pages (adding or removing a factor, new recovery codes, a
new password) are where that holder ends up. So the prompt here offers whatever the holder
has enrolled, and a passkey's answer is checked by the same ``stepup.satisfy``: the token
still authorises exactly the one action the challenge was made for.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse

from anxin.api.deps import Container, ContainerDep, WriteUoW
from anxin.identity import factors, stepup
from anxin.identity.passkeys import RelyingParty
from anxin.identity.stepup import StepUpRequired
from anxin.identity.throttle import InvalidSecondFactor, SecondFactorBlocked
from anxin.kit.unit_of_work import UnitOfWork
from anxin.web import guard, stepup_flow
from anxin.web.account_pages import CheckedForm, passkey_json
from anxin.web.guard import Holder
from anxin.web.pages import show

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form(max_length=100)]
Credential = Annotated[str, Form(max_length=20_000)]
NO_STORE = {"Cache-Control": "no-store"}


def answer(
    uow: UnitOfWork, container: Container, holder: Holder, *, challenge_id: str, code: str,
    passkey_challenge: str = "", credential: str = "",
) -> str | None:  # fmt: skip
    """The step-up token for the prompt's answer (code or passkey), or None without one."""
    if not challenge_id or not credential:
        return stepup_flow.answer(uow, container, holder, challenge_id, code)
    try:
        parsed = uuid.UUID(challenge_id)
    except ValueError as error:
        raise stepup_flow.InvalidChallengeId("repeat the action for a new challenge") from error
    proof = {"challenge_id": passkey_challenge, "credential": passkey_json(credential)}
    try:
        grant = stepup.satisfy(
            uow.session, holder.vault, holder.user, holder.session.id, parsed, method="passkey",
            proof=proof, now=holder.now,
            policy=stepup.StepUpPolicy.from_settings(container.settings),
        )  # fmt: skip
    except (InvalidSecondFactor, SecondFactorBlocked):
        uow.commit()  # keep the failure count and the consumed passkey challenge
        raise
    uow.commit()
    return grant.token


def prompt(
    request: Request, container: Container, uow: UnitOfWork, holder: Holder,
    challenge: StepUpRequired | str, *, action: str, summary: list[tuple[str, str]],
    fields: dict[str, Any], error: str | None = None, status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    """What is being authorised, and the ways the holder can confirm it."""
    context = {
        "action": action, "summary": summary, "fields": fields, "error": error,
        "challenge_id": challenge if isinstance(challenge, str) else str(challenge.pending.id),
        "methods": factors.enrolled_methods(uow.session, holder.user.id),
    }  # fmt: skip
    return show(request, container, "security/step_up.html", context, holder=holder,
                status_code=status_code)  # fmt: skip


@router.post("/security/step-up/passkey-options", dependencies=[CheckedForm])
def passkey_options(request: Request, container: ContainerDep, uow: WriteUoW) -> JSONResponse:
    """A passkey challenge for the step-up prompt (the holder's own passkeys only)."""
    holder = guard.require_holder(request, container, uow)
    challenge_id, options = factors.start_passkey_assertion(
        uow.session, holder.user.id, holder.now, rp=RelyingParty.from_settings(container.settings),
        auth_session_id=holder.session.id,
    )  # fmt: skip
    uow.commit()
    return JSONResponse({"challenge_id": str(challenge_id), "options": options}, headers=NO_STORE)
