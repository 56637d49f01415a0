"""The holder's access log as a page (as ``GET /v1/me/access-log``): which staff member
(pseudonym and role, never a name) looked at or acted on their account, when (Beijing
time), which fields, for what stated purpose, and whether they saw the data in full or
masked; with how to complain about an access. Paged by the entries' time-ordered ids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.kit.ids import parse_id
from anxin.models.insider import AccessLogEntry
from anxin.privacy import access_log
from anxin.wallet.accounts import BUSINESS_TZ
from anxin.web import guard
from anxin.web.pages import locale_of, show
from anxin.web.render import gettext
from anxin.web.words import N_

router = APIRouter(include_in_schema=False)
PAGE = 20
# Actions that hand the staff member the data unmasked; the others show it masked.
IN_FULL = frozenset({"reveal", "export"})
ROLES = {
    "agent": N_("Customer service agent"), "senior_agent": N_("Senior customer service agent"),
    "risk_officer": N_("Risk officer"), "compliance_officer": N_("Compliance officer"),
    "admin": N_("Administrator"),
}  # fmt: skip
ACTIONS = {
    "reveal": N_("Viewed your personal data"),
    "export": N_("Exported your personal data"),
    "care_ticket_read": N_("Read your complaint"),
    "care_chat_read": N_("Read your chat with customer service"),
    "view": N_("Read the notes on your wallet's freeze"),
    "freeze": N_("Froze your wallet"), "unfreeze": N_("Unfroze your wallet"),
    "suspend": N_("Suspended your account"), "reinstate": N_("Reinstated your account"),
    "dispute_decision": N_("Decided your dispute"),
    "money_movement": N_("Moved money in your wallet"),
    "fee_rule": N_("Changed a fee that applies to you"),
    "fee_waiver": N_("Waived a fee for you"),
    "points_rule": N_("Changed your points"),
}  # fmt: skip
FIELDS = {
    "display_name": N_("display name"), "phone": N_("phone number"),
    "email": N_("email address"), "legal_name": N_("legal name"),
    "id_number": N_("ID number"), "date_of_birth": N_("date of birth"),
    "address": N_("address"), "nationality": N_("nationality"),
    "complaint": N_("your complaint"), "freeze_notes": N_("freeze notes"),
}  # fmt: skip
PURPOSES = (
    N_("Emergency access without a case; reason given: %(reason)s"),
    N_("Case %(reference)s"), N_("Complaint %(reference)s"), N_("Reason: %(reason)s"),
    N_("Your account's status"), N_("Reviewing a freeze of your wallet"),
    N_("Your dispute about a payment"), N_("Correcting a payment that did not match"),
    N_("No case was given"),
)  # fmt: skip


@dataclass(frozen=True)
class Line:
    id: str
    at: datetime
    staff: str
    role: str
    action: str
    fields: list[str]
    purpose: str
    in_full: bool
    break_glass: bool


def purpose_text(purpose: dict[str, Any], locale: str) -> str:
    """What the staff member stated, in the reader's words (the stored purpose is data)."""

    def say(message: str, **values: object) -> str:
        return gettext(locale, message) % values if values else gettext(locale, message)

    kind = purpose.get("kind")
    if kind == "break_glass":
        return say(PURPOSES[0], reason=str(purpose.get("reason", ""))[:500])
    if purpose.get("reference"):
        return say(PURPOSES[1], reference=purpose["reference"])
    if purpose.get("ticket"):
        return say(PURPOSES[2], reference=purpose["ticket"])
    if kind == "account_status":
        return say(PURPOSES[4])
    if "freezes" in purpose or "freeze_id" in purpose or "reason_code" in purpose:
        return say(PURPOSES[5])
    if "dispute_id" in purpose:
        return say(PURPOSES[6])
    if "reconciliation_exception" in purpose:
        return say(PURPOSES[7])
    if purpose.get("reason"):
        return say(PURPOSES[3], reason=str(purpose["reason"])[:500])
    return say(PURPOSES[8])


def _line(row: AccessLogEntry, locale: str) -> Line:
    def word(table: dict[str, str], code: str) -> str:
        return gettext(locale, table[code]) if code in table else code

    return Line(
        id=str(row.id), at=row.at, staff=row.staff_pseudonym, role=word(ROLES, row.staff_role),
        action=word(ACTIONS, row.action), fields=[word(FIELDS, f) for f in row.fields],
        purpose=purpose_text(dict(row.purpose), locale), in_full=row.action in IN_FULL,
        break_glass=row.break_glass,
    )  # fmt: skip


@router.get("/security/access-log", response_class=HTMLResponse)
def access_log_page(
    request: Request, container: ContainerDep, uow: WriteUoW,
    before: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:  # fmt: skip
    holder = guard.require_holder(request, container, uow)
    # A cursor we did not give out starts from the newest, rather than failing the page.
    cursor = parse_id(before) if before else None
    rows = access_log.for_holder(uow.session, holder.user.id, limit=PAGE + 1, before=cursor)
    more, rows = len(rows) > PAGE, rows[:PAGE]
    locale = locale_of(request)
    context = {
        "lines": [_line(r, locale) for r in rows], "tz": BUSINESS_TZ,
        "older": str(rows[-1].id) if more and rows else None, "paged": cursor is not None,
    }  # fmt: skip
    return show(request, container, "access_log.html", context, holder=holder)
