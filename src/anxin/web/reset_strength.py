"""The password strength meter of the new-password forms (reset and change), by htmx.

It asks the same password service that decides at submission (``check_new_password``), so
the meter and the refusal never disagree; the reason is given in the reader's language
from the refusal's ``reason`` (zxcvbn's own advice exists in English only).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.identity import service
from anxin.identity.deps import IdentityDep, client_of
from anxin.identity.passwords import WeakPassword, check_new_password, context_words, estimate
from anxin.kit.errors import AnxinError
from anxin.web import guard
from anxin.web.account_pages import CheckedForm
from anxin.web.render import render
from anxin.web.words import N_

router = APIRouter(include_in_schema=False)
SCORES = (N_("very weak"), N_("weak"), N_("fair"), N_("strong"), N_("very strong"))
REASONS = {
    "too_short": N_("Use at least %(min_length)s characters; a few unrelated words are easy to remember."),  # noqa: E501
    "too_long": N_("Use at most %(max_length)s characters."),
    "common": N_("This is one of the most common passwords, tried first by attackers."),
    "contains_personal_data": N_("Do not use your phone number, email, name or the service's name."),  # noqa: E501
    "too_guessable": N_("This password would be guessed too easily: add more unrelated words."),
    "unchanged": N_("Choose a password other than the current one."),
}  # fmt: skip


def reason_of(error: WeakPassword) -> tuple[str, dict[str, object]]:
    """The translatable sentence for a refusal and its values (for the template)."""
    reason = str(error.extra.get("reason", "too_guessable"))
    values: dict[str, object] = {
        k: error.extra[k] for k in ("min_length", "max_length") if k in error.extra
    }
    return REASONS.get(reason, REASONS["too_guessable"]), values


@router.post("/password-strength", response_class=HTMLResponse, dependencies=[CheckedForm])
def strength(
    request: Request, container: ContainerDep, uow: WriteUoW, rt: IdentityDep,
    new_password: Annotated[str, Form(max_length=1024)] = "",
    identifier: Annotated[str, Form(max_length=320)] = "",
) -> HTMLResponse:  # fmt: skip
    holder = guard.current_holder(request, container, uow)
    words = (
        service.password_context(uow.session, holder.vault, holder.user)
        if holder is not None
        else context_words(identifier.strip() or None)
    )
    context: dict[str, object] = {"empty": not new_password}
    try:
        rt.throttle.consume("strength:address", client_of(request).address)
        if new_password:
            context["score"] = SCORES[estimate(new_password, words).score]
            check_new_password(new_password, staff=False, context=words)
            context["acceptable"] = True
    except WeakPassword as weak:
        context["reason"], context["values"] = reason_of(weak)
    except AnxinError:
        context = {"empty": True}  # too many checks: the meter just stays quiet
    return render(request, "security/_strength.html", context)
