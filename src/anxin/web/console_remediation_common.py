"""What the remediation pages share: who may open them, the incident and plan they are
about, the plan's view (progress, items by state, holders masked) and the words for its
kinds, states and skip reasons."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anxin.api.deps import Container
from anxin.identity.permissions import has_permission
from anxin.incidents.errors import IncidentNotFound
from anxin.incidents.remediation_approval import get_plan
from anxin.incidents.remediation_progress import progress
from anxin.incidents.remediation_spec import PlanNotFound
from anxin.incidents.service import find_incident
from anxin.kit.errors import AnxinError
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.assets import get_asset
from anxin.models import Contact, User
from anxin.models.incidents import Incident, RemediationItem, RemediationPlan
from anxin.wallet.accounts import BUSINESS_TZ
from anxin.web.console_auth import ConsoleClosed, Staff, StaffSignInFirst, current_staff
from anxin.web.pages import show
from anxin.web.words import N_

PREPARE = "remediation:prepare"
APPROVE = "remediation:approve"
# Reading plans: whoever works incidents or their remediation (the API's progress needs
# incidents:manage; preparers and approvers must see what they act on).
READ = ("incidents:manage", PREPARE, APPROVE)
ITEMS_SHOWN = 50  # items listed per state on the plan's page
SAMPLE = 10  # items shown in a preview

# English source texts for data words, so neither language shows an identifier.
KIND_LABELS = {
    "refund": N_("Refund of the debit"), "goodwill": N_("Goodwill credit"),
    "fee_waiver": N_("Fee waiver"), "unfreeze": N_("Unfreeze"),
}  # fmt: skip
PLAN_STATES = {
    "draft": N_("draft, waiting for approval"), "approved": N_("approved, not yet paid"),
    "rejected": N_("rejected"), "executing": N_("being paid"), "done": N_("paid"),
}  # fmt: skip
ITEM_STATES = {"pending": N_("to do"), "done": N_("done"), "failed": N_("failed")}
SKIPPED = {
    "holder_closed": N_("the holder's account is closed"),
    "pending_topup": N_("a top-up is still pending (to complete or reverse, not to pay)"),
    "unknown_transfer": N_("no such debit in the ledger"),
    "not_holders_debit": N_("the debit is not from this holder's wallet"),
    "not_a_debit": N_("not a debit"),
    "debit_pending": N_("the debit is still pending"),
    "not_debited": N_("nothing was debited"),
    "disputed": N_("under an open or upheld dispute"),
    "already_reversed": N_("already paid back"),
    "already_planned": N_("already in another plan"),
    "nothing_claimed": N_("nothing was taken"),
    "freeze_not_active": N_("the freeze was already lifted"),
}  # fmt: skip

ROLE_LABELS = {
    "agent": N_("agent"), "senior_agent": N_("senior agent"), "risk_officer": N_("risk officer"),
    "compliance_officer": N_("compliance officer"), "admin": N_("administrator"),
}  # fmt: skip

# The services' refusals, shown translated (``pages.explain``).
ERRORS = (
    N_("The remediation plan is not valid"), N_("No such remediation plan"),
    N_("The incident already has a remediation plan that is not finished or rejected"),
    N_("Only a draft plan can be approved or rejected"),
    N_("Only an approved plan can be executed"),
    N_("The person who prepared a plan cannot approve or reject it"),
    N_("Your role does not allow this"), N_("The plan would pay or change nothing"),
)  # fmt: skip


class RemediationClosed(ConsoleClosed):
    """A console page or action the staff member's role does not allow (a 403 page)."""

    code = "remediation_closed"
    title = "Your role does not allow this"


def require(request: Request, container: Container, uow: UnitOfWork, *permissions: str) -> Staff:
    """A staff member signed in with both factors whose role has one of ``permissions``."""
    staff = current_staff(request, container, uow)
    if staff is None:
        raise StaffSignInFirst(request.url.path)
    if not any(has_permission(staff.user.role, p) for p in permissions):
        raise RemediationClosed(f"the {staff.user.role} role lacks {' or '.join(permissions)}")
    return staff


def incident_of(uow: UnitOfWork, incident_id: str) -> Incident | None:
    try:
        return find_incident(uow.session, incident_id)
    except IncidentNotFound:
        return None


def plan_of(uow: UnitOfWork, incident: Incident, plan_id: str) -> RemediationPlan | None:
    try:
        return get_plan(uow.session, uuid.UUID(plan_id), incident_id=incident.id)
    except (ValueError, PlanNotFound):
        return None


def missing(request: Request, container: Container, staff: Staff) -> HTMLResponse:
    return show(request, container, "console/remediation/missing.html", {"staff": staff},
                status_code=404)  # fmt: skip


def masked(session: Session, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Each person's first contact, masked (``137****5525``, ``s***@anxin.example``)."""
    found: dict[uuid.UUID, str] = {}
    if user_ids:
        query = select(Contact.user_id, Contact.masked).where(Contact.user_id.in_(user_ids))
        for user_id, text in session.execute(query.order_by(Contact.created_at)):
            found.setdefault(user_id, text)
    return {user_id: found.get(user_id, "—") for user_id in user_ids}


def staff_label(session: Session, user_id: uuid.UUID | None, viewer: Staff) -> dict[str, Any]:
    if user_id is None:
        return {}
    user = session.get(User, user_id)
    return {"contact": masked(session, {user_id})[user_id], "role": user.role if user else None,
            "you": user_id == viewer.user.id}  # fmt: skip


def items_of(session: Session, plan: RemediationPlan, state: str,
             limit: int = ITEMS_SHOWN) -> list[dict[str, Any]]:  # fmt: skip
    i = RemediationItem
    rows = session.execute(
        select(i.holder_id, i.kind, i.asset, i.amount, i.ref, i.status, i.error)
        .where(i.plan_id == plan.id, i.status == state).order_by(i.id).limit(limit)
    ).all()  # fmt: skip
    holders = masked(session, {row.holder_id for row in rows})
    return [{**row._asdict(), "holder": holders[row.holder_id]} for row in rows]


def state_counts(session: Session, plan: RemediationPlan) -> dict[str, int]:
    i = RemediationItem
    query = select(i.status, func.count()).where(i.plan_id == plan.id).group_by(i.status)
    counts = dict.fromkeys(ITEM_STATES, 0)
    counts.update({status: int(n) for status, n in session.execute(query)})
    return counts


def plan_view(session: Session, plan: RemediationPlan, viewer: Staff) -> dict[str, Any]:
    """The plan with its progress: ``processed`` (paid or failed) of ``total`` items."""
    view = progress(session, plan)
    processed = view["paid"] + view["failed"]
    view["processed"] = processed
    view["percent"] = 100 * processed // view["total"] if view["total"] else 100
    view["preparer"] = staff_label(session, plan.prepared_by, viewer)
    view["approver"] = staff_label(session, plan.approved_by, viewer)
    view["id"] = plan.id
    return view


def base(session: Session, staff: Staff, incident: Incident) -> dict[str, Any]:
    def scale(asset: str) -> int:  # minor-unit digits, for the ``money`` filter
        try:
            return get_asset(session, asset).scale
        except AnxinError:
            return 0

    return {
        "staff": staff, "incident": incident, "tz": BUSINESS_TZ, "kinds": KIND_LABELS,
        "plan_states": PLAN_STATES, "roles": ROLE_LABELS, "item_states": ITEM_STATES,
        "skipped_words": SKIPPED, "scale": scale,
        "can_prepare": has_permission(staff.user.role, PREPARE),
        "can_approve": has_permission(staff.user.role, APPROVE),
    }  # fmt: skip
