"""Four-eyes approval of a remediation plan: someone other than its preparer, holding
``remediation:approve``, approves or rejects the draft. The service refuses the preparer,
and so does the database (``CHECK approved_by <> prepared_by``), so no code path can let
one person both prepare and approve a payout. Each decision goes to the audit trail and
the incident's timeline."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.incidents.remediation_plan import require
from anxin.incidents.remediation_spec import (
    MAX_NOTE,
    FourEyes,
    InvalidRemediation,
    PlanNotApprovable,
    PlanNotFound,
)
from anxin.incidents.service import get_incident, record_event
from anxin.models import User
from anxin.models.incidents import RemediationPlan


def get_plan(session: Session, plan_id: uuid.UUID, *, incident_id: uuid.UUID | None = None,
             for_update: bool = False) -> RemediationPlan:  # fmt: skip
    query = select(RemediationPlan).where(RemediationPlan.id == plan_id)
    if for_update:
        query = query.with_for_update()
    plan = session.scalars(query).one_or_none()
    if plan is None or (incident_id is not None and plan.incident_id != incident_id):
        raise PlanNotFound()
    return plan


def _decidable(session: Session, plan_id: uuid.UUID, staff: User) -> RemediationPlan:
    require(staff, "remediation:approve")
    plan = get_plan(session, plan_id, for_update=True)
    if plan.status != "draft":
        raise PlanNotApprovable(f"the plan is {plan.status}")
    if plan.prepared_by == staff.id:
        raise FourEyes()
    return plan


def _note(note: str | None, *, required: bool) -> str | None:
    text = " ".join((note or "").split())
    if required and not text:
        raise InvalidRemediation("say why the plan is rejected", field="note")
    if len(text) > MAX_NOTE:
        raise InvalidRemediation(f"a note is at most {MAX_NOTE} characters", field="note")
    return text or None


def _record(session: Session, plan: RemediationPlan, staff: User, decision: str,
            note: str | None, now: datetime) -> None:  # fmt: skip
    incident = get_incident(session, plan.incident_id)
    data = {"plan_id": str(plan.id), "prepared_by": str(plan.prepared_by), "totals": plan.totals,
            "item_count": plan.item_count}  # fmt: skip
    audit.append(session, event=f"remediation.{decision}", actor_id=staff.id,
                 actor_role=staff.role, subject_id=plan.id,
                 data={"incident_id": incident.id, **data}, now=now)  # fmt: skip
    record_event(session, incident, f"remediation_{decision}", {**data, "note": note}, staff.id,
                 now)  # fmt: skip


def approve(session: Session, plan_id: uuid.UUID, staff: User, *, now: datetime,
            note: str | None = None) -> RemediationPlan:  # fmt: skip
    """Approve a draft someone else prepared; it can then be executed."""
    plan = _decidable(session, plan_id, staff)
    text = _note(note, required=False)
    plan.status, plan.approved_by, plan.approved_at = "approved", staff.id, now
    session.flush()
    _record(session, plan, staff, "approved", text, now)
    return plan


def reject(session: Session, plan_id: uuid.UUID, staff: User, *, now: datetime,
           note: str) -> RemediationPlan:  # fmt: skip
    """Reject a draft someone else prepared (the preparer may then prepare another). The
    rejecter is recorded in the audit trail and the timeline, not as ``approved_by``."""
    plan = _decidable(session, plan_id, staff)
    text = _note(note, required=True)
    plan.status = "rejected"
    session.flush()
    _record(session, plan, staff, "rejected", text, now)
    return plan
