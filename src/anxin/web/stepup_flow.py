"""Step-up in pages: the action's form comes back with the challenge to answer.

When a service asks for a second factor (``StepUpRequired``), the challenge is already
stored (``step_up_kept``) and bound to the exact action. The page then shows what is being
authorised and asks for the authenticator code; the form posts the same fields again with
the challenge id and the code. The handler turns them into a single-use token
(``answer``) and repeats the action with it, so the code cannot authorise anything else.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from anxin.api.deps import Container
from anxin.identity import stepup
from anxin.identity.stepup import StepUpRequired
from anxin.identity.throttle import InvalidSecondFactor, SecondFactorBlocked
from anxin.kit.errors import Unprocessable
from anxin.kit.unit_of_work import UnitOfWork
from anxin.web.guard import Holder
from anxin.web.pages import show


class InvalidChallengeId(Unprocessable):
    code = "challenge_not_found"
    title = "No such step-up challenge"


def answer(
    uow: UnitOfWork, container: Container, holder: Holder, challenge_id: str, code: str
) -> str | None:
    """The step-up token for a code typed into the step-up form, or None without one."""
    if not challenge_id:
        return None
    try:
        parsed = uuid.UUID(challenge_id)
    except ValueError as error:
        raise InvalidChallengeId("repeat the action for a new challenge") from error
    try:
        grant = stepup.satisfy(
            uow.session, holder.vault, holder.user, holder.session.id, parsed, method="totp",
            proof={"code": code.strip()}, now=holder.now,
            policy=stepup.StepUpPolicy.from_settings(container.settings),
        )  # fmt: skip
    except (InvalidSecondFactor, SecondFactorBlocked):
        uow.commit()  # keep the failure count
        raise
    uow.commit()
    return grant.token


def prompt(
    request: Request, container: Container, holder: Holder, challenge: StepUpRequired | str, *,
    action: str, summary: list[tuple[str, str]], fields: dict[str, Any],
    error: str | None = None,
) -> HTMLResponse:  # fmt: skip
    """The step-up page: what is authorised, the code field, the original fields."""
    context = {
        "action": action, "summary": summary, "fields": fields,
        "challenge_id": challenge if isinstance(challenge, str) else str(challenge.pending.id),
        "error": error,
    }  # fmt: skip
    return show(request, container, "step_up.html", context, holder=holder)
