"""Purpose-bound reveals of a holder's personal data.

Staff see holders masked everywhere. To see a field unmasked, a staff member names the
fields and a purpose: an open case about that holder assigned to them, or, without one, a
written break-glass reason. Their role decides which fields they may reveal at all (agents
never see full ID numbers). The bulk-access guard checks first; then the reveal is recorded
in the holder's access log and the audit log, and stays readable for
``ANXIN_REVEAL_TTL_SECONDS``. A break-glass reveal also alerts compliance at once, notifies
the holder, and waits for a compliance review, which escalates when overdue.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.identity import contacts as book
from anxin.identity import kyc
from anxin.kit.errors import Conflict, Forbidden, Gone, NotFound, Unprocessable
from anxin.kit.ids import new_id
from anxin.models import User
from anxin.models.insider import Case, Reveal
from anxin.privacy import access_log, alerts, cases, guard, honeytokens
from anxin.privacy.vault import Vault
from anxin.settings import Settings

_CONTACT = ("display_name", "phone", "email")
_IDENTITY = ("legal_name", "id_number_last4", "date_of_birth", "address", "nationality")
FIELDS = (*_CONTACT, *_IDENTITY, "id_type", "id_number")
ROLE_FIELDS: dict[str, frozenset[str]] = {
    "agent": frozenset({*_CONTACT, "legal_name", "id_number_last4"}),
    "senior_agent": frozenset({*_CONTACT, *_IDENTITY}),
    "risk_officer": frozenset(FIELDS),
    "compliance_officer": frozenset(FIELDS),
    "admin": frozenset(),  # administers staff, not holders
}
MIN_REASON = 20


class FieldNotAllowed(Forbidden):
    code = "field_not_allowed"
    title = "Your role may not reveal this field"


class PurposeRequired(Forbidden):
    code = "purpose_required"
    title = "Name an open case assigned to you, or give a break-glass reason"


class RevealNotFound(NotFound):
    code = "reveal_not_found"
    title = "No such reveal"


class RevealExpired(Gone):
    code = "reveal_expired"
    title = "This reveal is over; reveal again for a current purpose"


@dataclass(frozen=True)
class Revealed:
    row: Reveal
    values: dict[str, str | None]
    case: Case | None


def allowed_fields(role: str | None) -> frozenset[str]:
    return ROLE_FIELDS.get(role or "", frozenset())


def _wanted(staff: User, fields: list[str]) -> list[str]:
    wanted = sorted(set(fields))
    if not wanted:
        raise Unprocessable("name at least one field", code="no_fields")
    unknown = [f for f in wanted if f not in FIELDS]
    if unknown:
        raise Unprocessable(f"unknown field(s): {', '.join(unknown)}; one of {', '.join(FIELDS)}",
                            code="unknown_field")  # fmt: skip
    refused = [f for f in wanted if f not in allowed_fields(staff.role)]
    if refused:
        raise FieldNotAllowed(f"the {staff.role} role may not reveal {', '.join(refused)}")
    return wanted


def read_fields(
    session: Session, vault: Vault, holder: User, fields: list[str]
) -> dict[str, str | None]:
    """The plaintext of the named fields (None where the holder has no such data)."""
    values: dict[str, str | None] = dict.fromkeys(fields)
    if "display_name" in values:
        values["display_name"] = book.display_name(session, vault, holder)
    for kind in ("phone", "email"):
        if kind in values:
            rows = [c for c in book.contacts_of(session, holder.id) if c.kind == kind]
            rows.sort(key=lambda c: (c.verified_at is not None, c.created_at), reverse=True)
            values[kind] = book.reveal(session, vault, rows[0]) if rows else None
    if set(values) & {*_IDENTITY, "id_type", "id_number"}:
        check = kyc.latest(session, holder.id)
        if check is not None:
            sub = kyc.read_submission(session, vault, check)
            known = {
                "legal_name": sub.full_name, "id_type": sub.id_type, "id_number": sub.id_number,
                "id_number_last4": sub.id_number[-4:], "nationality": sub.nationality,
                "date_of_birth": sub.date_of_birth.isoformat(), "address": sub.address,
            }  # fmt: skip
            values.update({k: v for k, v in known.items() if k in values})
    return values


def reveal(
    session: Session, vault: Vault, settings: Settings, *, staff: User, holder_id: uuid.UUID,
    fields: list[str], case_id: uuid.UUID | None, reason: str | None, now: datetime,
) -> Revealed:  # fmt: skip
    holder = cases.holder(session, holder_id)
    wanted = _wanted(staff, fields)
    reason = (reason or "").strip() or None
    if case_id is not None and reason is not None:
        raise Unprocessable("give a case or a break-glass reason, not both", code="two_purposes")
    case = None
    if case_id is not None:
        case = cases.purpose_case(session, case_id=case_id, staff=staff, holder_id=holder.id)
    elif reason is None:
        raise PurposeRequired("revealing needs an open case about this holder assigned to you")
    elif len(reason) < MIN_REASON:
        raise Unprocessable(f"a break-glass reason is at least {MIN_REASON} characters",
                            code="reason_too_short")  # fmt: skip
    break_glass = case is None
    # A decoy is alerted on even when the guard then refuses: the attempt is the signal.
    honeytokens.check(session, vault, [holder.id], staff=staff, action="reveal", now=now)
    policy = guard.GuardPolicy.from_settings(settings)
    guard.check(session, policy, staff=staff, holder_id=holder.id, break_glass=break_glass,
                now=now)  # fmt: skip
    values = read_fields(session, vault, holder, wanted)
    due = now + timedelta(hours=settings.break_glass_review_hours) if break_glass else None
    row = Reveal(
        id=new_id(), staff_id=staff.id, holder_id=holder.id, case_id=case.id if case else None,
        fields=wanted, break_glass_reason=reason, created_at=now,
        expires_at=now + timedelta(seconds=settings.reveal_ttl_seconds),
        review_status="pending" if break_glass else None, review_due_at=due, reviewed_by=None,
        reviewed_at=None, review_note=None,
    )  # fmt: skip
    session.add(row)
    purpose: dict[str, object] = (
        {"kind": "break_glass", "reason": reason}
        if case is None
        else {"kind": case.kind, "case_id": case.id, "reference": case.reference}
    )
    access_log.record(
        session, staff=staff, holder_id=holder.id, action="reveal", fields=wanted,
        purpose=purpose, now=now, break_glass=break_glass, vault=vault,
    )  # fmt: skip
    audit.append(
        session, event="privacy.break_glass" if break_glass else "privacy.reveal",
        actor_id=staff.id, actor_role=staff.role, subject_id=holder.id,
        data={"reveal_id": row.id, "fields": wanted, "case_id": row.case_id,
              "reference": case.reference if case else None,
              "reason_sha256": alerts.digest(reason) if reason else None},
        now=now,
    )  # fmt: skip
    if break_glass:
        alerts.raise_alert(
            session, kind="break_glass", severity="critical", staff_id=staff.id,
            holder_id=holder.id, details={"reveal_id": str(row.id), "fields": wanted}, now=now,
        )  # fmt: skip
    guard.after(session, policy, staff=staff, holder_id=holder.id, now=now)
    session.flush()
    return Revealed(row, values, case)


def reread(session: Session, vault: Vault, *, staff: User, reveal_id: uuid.UUID,
           now: datetime) -> Revealed:  # fmt: skip
    """The same fields again, while the reveal lasts and its case is open."""
    row = session.get(Reveal, reveal_id)
    if row is None or row.staff_id != staff.id:
        raise RevealNotFound()
    case = session.get(Case, row.case_id) if row.case_id else None
    if row.expires_at <= now:
        raise RevealExpired(f"it lasted until {row.expires_at.isoformat(timespec='seconds')}")
    if case is not None and (case.status != "open" or case.assignee_id != staff.id):
        raise RevealExpired("its case was closed or reassigned")
    holder = cases.holder(session, row.holder_id)
    return Revealed(row, read_fields(session, vault, holder, list(row.fields)), case)


# -- compliance review of break-glass reveals ----------------------------------------------


def sweep_overdue(session: Session, now: datetime) -> int:
    """Escalate break-glass reveals whose review is past due (once each)."""
    rows = list(
        session.scalars(
            select(Reveal).where(Reveal.review_status == "pending", Reveal.review_due_at <= now)
        )
    )
    for row in rows:
        row.review_status = "overdue"
        alerts.raise_alert(
            session, kind="break_glass_review_overdue", severity="critical",
            staff_id=row.staff_id, holder_id=row.holder_id,
            details={"reveal_id": str(row.id), "due_at": row.review_due_at}, now=now,
        )  # fmt: skip
    session.flush()
    return len(rows)


def reviews(session: Session, *, status: str | None, limit: int) -> list[Reveal]:
    query = select(Reveal).where(Reveal.review_status.is_not(None))
    if status is not None:
        query = query.where(Reveal.review_status == status)
    return list(session.scalars(query.order_by(Reveal.created_at.desc()).limit(limit)))


def review(
    session: Session, *, reviewer: User, reveal_id: uuid.UUID, outcome: str, note: str,
    now: datetime,
) -> Reveal:  # fmt: skip
    row = session.get(Reveal, reveal_id)
    if row is None or row.review_status is None:
        raise RevealNotFound("no break-glass reveal with this id")
    if row.staff_id == reviewer.id:
        raise Forbidden("nobody reviews their own break-glass access", code="own_break_glass")
    if row.review_status not in ("pending", "overdue"):
        raise Conflict(f"already reviewed: {row.review_status}", code="already_reviewed")
    row.review_status, row.reviewed_by, row.reviewed_at, row.review_note = (
        outcome, reviewer.id, now, note,
    )  # fmt: skip
    audit.append(
        session, event="privacy.break_glass_reviewed", actor_id=reviewer.id,
        actor_role=reviewer.role, subject_id=row.holder_id,
        data={"reveal_id": row.id, "staff_id": row.staff_id, "outcome": outcome,
              "note_sha256": alerts.digest(note)},
        now=now,
    )  # fmt: skip
    session.flush()
    return row
