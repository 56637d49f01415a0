"""Compliance alerts: what compliance must look at now.

An alert is a row compliance lists and acknowledges (``/v1/staff/compliance/alerts``), an
audit entry, and an in-app notice to every active compliance officer. Repeats of the same
kind for the same staff member within a window fold into the open alert instead of
flooding the list.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.audit.chain import normalise_data
from anxin.kit.errors import Conflict, NotFound
from anxin.kit.ids import new_id
from anxin.models import Notification, User
from anxin.models.insider import ComplianceAlert

NOTICE_KIND = "compliance.alert"
_TITLES = {
    "bulk_access_alert": "Unusually many holders' data revealed",
    "bulk_access_blocked": "Bulk access blocked and staff sessions ended",
    "honeytoken_touched": "A decoy holder's data was accessed",
    "break_glass": "Break-glass access to a holder's data",
    "break_glass_review_overdue": "A break-glass review is overdue",
    "off_hours_spike": "Many reveals outside working hours",
}


def digest(text: str) -> str:
    """Free text (notes, reasons) may hold personal data, which the append-only audit log
    must never keep: it keeps this SHA-256 instead, and the text lives where it can be
    erased."""
    return hashlib.sha256(text.encode()).hexdigest()


class AlertNotFound(NotFound):
    code = "alert_not_found"
    title = "No such compliance alert"


def raise_alert(
    session: Session, *, kind: str, severity: str, staff_id: uuid.UUID | None,
    holder_id: uuid.UUID | None, details: dict[str, Any], now: datetime,
    fold_within: timedelta | None = None,
) -> ComplianceAlert | None:  # fmt: skip
    """Record an alert, unless an open one of this kind for this staff member was raised
    within ``fold_within`` (then None)."""
    if fold_within is not None:
        recent = session.scalar(
            select(ComplianceAlert.id).where(
                ComplianceAlert.kind == kind,
                ComplianceAlert.staff_id == staff_id,
                ComplianceAlert.acknowledged_at.is_(None),
                ComplianceAlert.created_at > now - fold_within,
            )
        )
        if recent is not None:
            return None
    details = normalise_data(details)
    row = ComplianceAlert(
        id=new_id(), kind=kind, severity=severity, staff_id=staff_id, holder_id=holder_id,
        details=details, created_at=now, acknowledged_by=None, acknowledged_at=None, note=None,
    )  # fmt: skip
    session.add(row)
    audit.append(
        session, event="compliance.alert", actor_id=None, actor_role=None, subject_id=staff_id,
        data={"alert_id": row.id, "kind": kind, "severity": severity, "holder_id": holder_id,
              "details": details},
        now=now,
    )  # fmt: skip
    _tell_compliance(session, row)
    session.flush()
    return row


def _tell_compliance(session: Session, alert: ComplianceAlert) -> None:
    officers = session.scalars(
        select(User).where(
            User.kind == "staff", User.role == "compliance_officer", User.status == "active"
        )
    )
    title = _TITLES.get(alert.kind, alert.kind)
    for officer in officers:
        session.add(
            Notification(
                id=new_id(), user_id=officer.id, kind=NOTICE_KIND, title=title,
                body=f"{alert.severity}: {title}. Open the compliance alerts to act on it.",
                data={"alert_id": str(alert.id), "kind": alert.kind}, created_at=alert.created_at,
                read_at=None,
            )
        )  # fmt: skip


def list_alerts(
    session: Session, *, open_only: bool, limit: int, before: uuid.UUID | None = None
) -> list[ComplianceAlert]:
    query = select(ComplianceAlert)
    if open_only:
        query = query.where(ComplianceAlert.acknowledged_at.is_(None))
    if before is not None:
        query = query.where(ComplianceAlert.id < before)
    return list(session.scalars(query.order_by(ComplianceAlert.id.desc()).limit(limit)))


def acknowledge(
    session: Session, *, alert_id: uuid.UUID, officer: User, note: str, now: datetime
) -> ComplianceAlert:
    row = session.get(ComplianceAlert, alert_id)
    if row is None:
        raise AlertNotFound()
    if row.acknowledged_at is not None:
        raise Conflict("this alert was already acknowledged", code="alert_acknowledged")
    row.acknowledged_by, row.acknowledged_at, row.note = officer.id, now, note
    audit.append(
        session, event="compliance.alert_acknowledged", actor_id=officer.id,
        actor_role=officer.role, subject_id=row.staff_id,
        data={"alert_id": row.id, "kind": row.kind, "note_sha256": digest(note)}, now=now,
    )  # fmt: skip
    session.flush()
    return row
