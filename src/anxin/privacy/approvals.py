"""Four-eyes approvals: something one staff member asks for and another must approve in
time.

An approval has a ``kind`` (``export``, ``breach_notice``, later ``remediation``, ...), a
``subject_ref`` naming the thing it is about (``export:<id>``) and a ``payload`` (what the
approver sees: no personal data). The requester can never decide their own request (the
database refuses it too); an approval not decided before ``expires_at`` is dead: deciding it
fails, reads show it as expired, and ``expire_due`` (a periodic job) records the expiry.

A capability that uses approvals registers its kind once, at import, with the permission an
approver needs and what happens on each outcome (``register_kind``); the approvals API
(``approval_endpoints``) imports those modules, so every registered kind can be decided
there. Every step is in the audit log.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.audit.chain import normalise_data
from anxin.identity.permissions import has_permission
from anxin.kit.errors import Conflict, Forbidden, Gone, NotFound
from anxin.kit.ids import new_id
from anxin.models import User
from anxin.models.rights import Approval

OnDecided = Callable[[Session, Approval, User, datetime], None]
OnExpired = Callable[[Session, Approval, datetime], None]


@dataclass(frozen=True)
class ApprovalKind:
    name: str
    permission: str  # what the approver (never the requester) must hold
    on_approved: OnDecided | None = None
    on_rejected: OnDecided | None = None
    on_cancelled: OnDecided | None = None
    on_expired: OnExpired | None = None


_KINDS: dict[str, ApprovalKind] = {}


def register_kind(kind: ApprovalKind) -> None:
    if not kind.name or len(kind.name) > 32:
        raise ValueError("an approval kind is 1 to 32 characters")
    _KINDS[kind.name] = kind


def kind_of(name: str) -> ApprovalKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise ValueError(f"approval kind {name!r} is not registered") from None


class ApprovalNotFound(NotFound):
    code = "approval_not_found"
    title = "No such approval request"


class SelfApproval(Forbidden):
    code = "self_approval"
    title = "A second staff member must decide this; you asked for it"


class ApprovalDecided(Conflict):
    code = "approval_decided"
    title = "This request was already decided"


class ApprovalExpired(Gone):
    code = "approval_expired"
    title = "This request expired before anyone decided it; ask again"


class ApprovalPending(Conflict):
    code = "approval_pending"
    title = "An approval for this is already waiting"


class NotAllowedToDecide(Forbidden):
    code = "missing_permission"
    title = "Your role does not allow deciding this"


def effective_status(row: Approval, now: datetime) -> str:
    """``expired`` as soon as the deadline passed, even before the job recorded it."""
    if row.status == "pending" and row.expires_at <= now:
        return "expired"
    return row.status


def _audit(session: Session, row: Approval, event: str, actor: User | None, now: datetime,
           **extra: Any) -> None:  # fmt: skip
    audit.append(
        session, event=event, actor_id=actor.id if actor else None,
        actor_role=actor.role if actor else None, subject_id=None,
        data={"approval_id": row.id, "kind": row.kind, "subject_ref": row.subject_ref,
              "requested_by": row.requested_by, **extra},
        now=now,
    )  # fmt: skip


def request_approval(
    session: Session, kind: str, subject_ref: str, requested_by: User,
    payload: dict[str, Any], now: datetime, ttl: timedelta,
) -> Approval:  # fmt: skip
    """Ask for a second staff member's approval, valid for ``ttl``."""
    kind_of(kind)
    if requested_by.kind != "staff":
        raise ValueError("only staff ask for approvals")
    if not subject_ref or len(subject_ref) > 200:
        raise ValueError("a subject reference is 1 to 200 characters")
    if ttl <= timedelta(0):
        raise ValueError("an approval must have time to be decided")
    waiting = session.scalars(
        select(Approval).where(
            Approval.kind == kind, Approval.subject_ref == subject_ref,
            Approval.status == "pending", Approval.expires_at > now,
        )
    ).first()  # fmt: skip
    if waiting is not None:
        raise ApprovalPending(f"approval {waiting.id} is waiting for a decision",
                              approval_id=str(waiting.id))  # fmt: skip
    row = Approval(
        id=new_id(), kind=kind, subject_ref=subject_ref, requested_by=requested_by.id,
        payload=normalise_data(payload), status="pending", created_at=now,
        expires_at=now + ttl, decided_by=None, decided_at=None, note=None,
    )  # fmt: skip
    session.add(row)
    session.flush()
    _audit(session, row, "approval.requested", requested_by, now,
           expires_at=row.expires_at)  # fmt: skip
    return row


def get(session: Session, approval_id: uuid.UUID, *, for_update: bool = False) -> Approval:
    query = select(Approval).where(Approval.id == approval_id)
    if for_update:
        query = query.with_for_update()
    row = session.scalars(query).first()
    if row is None:
        raise ApprovalNotFound()
    return row


def may_decide(user: User, row: Approval) -> bool:
    kind = _KINDS.get(row.kind)
    return (
        kind is not None and user.kind == "staff" and user.status == "active"
        and user.id != row.requested_by and has_permission(user.role, kind.permission)
    )  # fmt: skip


def _open_for_decision(session: Session, approval_id: uuid.UUID, decider: User,
                       now: datetime) -> Approval:  # fmt: skip
    row = get(session, approval_id, for_update=True)
    if decider.id == row.requested_by:
        raise SelfApproval("ask another staff member to decide your own request")
    if not may_decide(decider, row):
        raise NotAllowedToDecide(f"the {decider.role} role cannot decide {row.kind} requests")
    if row.status != "pending":
        raise ApprovalDecided(f"the request is {row.status}")
    if row.expires_at <= now:
        raise ApprovalExpired(f"it expired at {row.expires_at.isoformat()}")
    return row


def _decide(session: Session, approval_id: uuid.UUID, decider: User, now: datetime, *,
            status: str, note: str | None) -> Approval:  # fmt: skip
    row = _open_for_decision(session, approval_id, decider, now)
    row.status, row.decided_by, row.decided_at = status, decider.id, now
    row.note = note[:1000] if note else None
    session.flush()
    kind = kind_of(row.kind)
    handler = kind.on_approved if status == "approved" else kind.on_rejected
    if handler is not None:
        handler(session, row, decider, now)
    # The note may hold personal data, which the append-only audit log must never keep.
    _audit(session, row, f"approval.{status}", decider, now,
           note_sha256=hashlib.sha256(note.encode()).hexdigest() if note else None)  # fmt: skip
    return row


def approve(
    session: Session, approval_id: uuid.UUID, approver: User, now: datetime,
    note: str | None = None,
) -> Approval:  # fmt: skip
    """Approve someone else's request (never one's own), before it expires."""
    return _decide(session, approval_id, approver, now, status="approved", note=note)


def reject(
    session: Session, approval_id: uuid.UUID, approver: User, now: datetime, note: str
) -> Approval:
    """Refuse someone else's request, saying why."""
    return _decide(session, approval_id, approver, now, status="rejected", note=note)


def cancel(session: Session, approval_id: uuid.UUID, requester: User, now: datetime) -> Approval:
    """The requester withdraws a request nobody decided yet."""
    row = get(session, approval_id, for_update=True)
    if row.requested_by != requester.id:
        raise ApprovalNotFound()
    if effective_status(row, now) != "pending":
        raise ApprovalDecided(f"the request is {effective_status(row, now)}")
    row.status, row.decided_at = "cancelled", now
    session.flush()
    handler = kind_of(row.kind).on_cancelled
    if handler is not None:
        handler(session, row, requester, now)
    _audit(session, row, "approval.cancelled", requester, now)
    return row


def expire_due(session: Session, now: datetime, *, limit: int = 500) -> int:
    """Record the expiry of requests nobody decided in time (a periodic job)."""
    rows = session.scalars(
        select(Approval)
        .where(Approval.status == "pending", Approval.expires_at <= now)
        .order_by(Approval.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        row.status = "expired"
        session.flush()
        handler = _KINDS[row.kind].on_expired if row.kind in _KINDS else None
        if handler is not None:
            handler(session, row, now)
        _audit(session, row, "approval.expired", None, now, expired_at=row.expires_at)
    return len(rows)


def waiting_for(session: Session, decider: User, now: datetime, *, limit: int) -> list[Approval]:
    """Requests this staff member may decide now, oldest first."""
    kinds = [k.name for k in _KINDS.values() if has_permission(decider.role, k.permission)]
    if decider.kind != "staff" or not kinds:
        return []
    return list(
        session.scalars(
            select(Approval)
            .where(
                Approval.status == "pending",
                Approval.expires_at > now,
                Approval.kind.in_(kinds),
                Approval.requested_by != decider.id,
            )
            .order_by(Approval.created_at)
            .limit(limit)
        )
    )


def requested_by(session: Session, requester: User, *, limit: int) -> list[Approval]:
    return list(
        session.scalars(
            select(Approval)
            .where(Approval.requested_by == requester.id)
            .order_by(Approval.created_at.desc(), Approval.id.desc())
            .limit(limit)
        )
    )
