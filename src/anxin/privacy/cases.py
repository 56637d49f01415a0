"""Cases: the purposes staff may reveal a holder's personal data for.

A case is a support ticket, a dispute, an incident or a risk case about one holder,
assigned to one staff member. Risk cases are opened here (``/v1/staff/cases``); tickets,
disputes and incidents from other capabilities register themselves with ``register`` and
keep their own details. A reveal needs an *open* case, about *that* holder, assigned to
*the staff member* revealing.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.identity.permissions import has_permission
from anxin.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from anxin.kit.ids import new_id
from anxin.models import User
from anxin.models.insider import CASE_KINDS, Case


class CaseNotFound(NotFound):
    code = "case_not_found"
    title = "No such case"


class HolderNotFound(NotFound):
    code = "holder_not_found"
    title = "No such wallet holder"


class InvalidAssignee(Unprocessable):
    code = "invalid_assignee"
    title = "Cases can only be assigned to active staff who may work on holders' data"


class CaseClosed(Conflict):
    code = "case_closed"
    title = "This case is closed"


class NotYourCase(Forbidden):
    code = "case_not_yours"
    title = "This case is not assigned to you"


def holder(session: Session, holder_id: uuid.UUID) -> User:
    user = session.get(User, holder_id)
    if user is None or user.kind != "holder":
        raise HolderNotFound()
    return user


def _assignee(session: Session, staff_id: uuid.UUID | None) -> User | None:
    if staff_id is None:
        return None
    user = session.get(User, staff_id)
    if (
        user is None or user.kind != "staff" or user.status != "active"
        or not has_permission(user.role, "holders:reveal")
    ):  # fmt: skip
        raise InvalidAssignee()
    return user


def _audit(session: Session, event: str, case: Case, actor: User | None, now: datetime) -> None:
    audit.append(
        session, event=event, actor_id=actor.id if actor else None,
        actor_role=actor.role if actor else None, subject_id=case.holder_id,
        data={"case_id": case.id, "kind": case.kind, "reference": case.reference,
              "assignee_id": case.assignee_id, "status": case.status},
        now=now,
    )  # fmt: skip


def register(
    session: Session, *, kind: str, reference: str, holder_id: uuid.UUID | None,
    assignee_id: uuid.UUID | None, opened_by: User | None, now: datetime,
    summary: str | None = None,
) -> Case:  # fmt: skip
    """Open a case of any kind (other capabilities call this for their tickets, disputes
    and incidents). ``reference`` is unique per kind, e.g. the ticket number."""
    if kind not in CASE_KINDS:
        raise Unprocessable(f"unknown case kind {kind!r}", code="invalid_case_kind")
    if not reference or len(reference) > 100:
        raise Unprocessable("a case reference is 1 to 100 characters", code="invalid_reference")
    if holder_id is not None:
        holder(session, holder_id)
    _assignee(session, assignee_id)
    taken = session.scalar(select(Case.id).where(Case.kind == kind, Case.reference == reference))
    if taken is not None:
        raise Conflict(f"a {kind} with reference {reference} exists", code="case_exists")
    case = Case(
        id=new_id(), kind=kind, reference=reference, holder_id=holder_id,
        assignee_id=assignee_id, status="open", summary=summary,
        opened_by=opened_by.id if opened_by else None, opened_at=now, updated_at=now,
        closed_at=None,
    )  # fmt: skip
    session.add(case)
    session.flush()
    _audit(session, "case.opened", case, opened_by, now)
    return case


def open_risk_case(
    session: Session, *, by: User, holder_id: uuid.UUID, assignee_id: uuid.UUID | None,
    summary: str | None, now: datetime,
) -> Case:  # fmt: skip
    reference = f"RISK-{now:%Y%m%d}-{secrets.token_hex(3).upper()}"
    return register(
        session, kind="risk_case", reference=reference, holder_id=holder_id,
        assignee_id=assignee_id, opened_by=by, now=now, summary=summary,
    )  # fmt: skip


def get(session: Session, case_id: uuid.UUID) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise CaseNotFound()
    return case


def visible_to(case: Case, staff: User) -> bool:
    return case.assignee_id == staff.id or has_permission(staff.role, "cases:manage")


def assign(
    session: Session, *, case_id: uuid.UUID, assignee_id: uuid.UUID, by: User, now: datetime
) -> Case:
    case = get(session, case_id)
    if case.status != "open":
        raise CaseClosed()
    _assignee(session, assignee_id)
    case.assignee_id, case.updated_at = assignee_id, now
    _audit(session, "case.assigned", case, by, now)
    session.flush()
    return case


def close(session: Session, *, case_id: uuid.UUID, by: User, now: datetime) -> Case:
    case = get(session, case_id)
    if not visible_to(case, by):
        raise CaseNotFound()
    if case.status != "open":
        raise CaseClosed()
    case.status, case.closed_at, case.updated_at = "closed", now, now
    _audit(session, "case.closed", case, by, now)
    session.flush()
    return case


def purpose_case(
    session: Session, *, case_id: uuid.UUID, staff: User, holder_id: uuid.UUID
) -> Case:
    """The case a reveal is for: open, about this holder, and assigned to this staff member."""
    case = session.get(Case, case_id)
    if case is None:
        raise CaseNotFound()
    if case.assignee_id != staff.id:
        raise NotYourCase("only the staff member a case is assigned to may reveal data for it")
    if case.status != "open":
        raise CaseClosed("a closed case is no reason to see a holder's data any more")
    if case.holder_id != holder_id:
        raise Forbidden("this case is about another holder", code="case_other_holder")
    return case


def list_cases(
    session: Session, *, assignee_id: uuid.UUID | None, holder_id: uuid.UUID | None,
    status: str | None, limit: int, before: uuid.UUID | None = None,
) -> list[Case]:  # fmt: skip
    query = select(Case)
    if assignee_id is not None:
        query = query.where(Case.assignee_id == assignee_id)
    if holder_id is not None:
        query = query.where(Case.holder_id == holder_id)
    if status is not None:
        query = query.where(Case.status == status)
    if before is not None:
        query = query.where(Case.id < before)
    return list(session.scalars(query.order_by(Case.id.desc()).limit(limit)))


def linked(session: Session, staff_id: uuid.UUID, holder_id: uuid.UUID) -> bool:
    """Whether the staff member has an open case about this holder."""
    return (
        session.scalar(
            select(Case.id).where(
                Case.assignee_id == staff_id, Case.holder_id == holder_id, Case.status == "open"
            )
        )
        is not None
    )
