"""Four-eyes approvals: a second staff member decides, in time, never the requester."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from anxin.kit.clock import SystemClock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import User
from anxin.models.insider import AuditEntry
from anxin.models.rights import Approval
from anxin.privacy import approvals
from tests.audit.helpers import add_user

NOW = SystemClock().now().replace(microsecond=0)
HOUR = timedelta(hours=1)
CALLS: list[tuple[str, str]] = []


def _record(outcome: str) -> approvals.OnDecided:
    def handle(_session: object, row: Approval, who: User, _now: datetime) -> None:
        CALLS.append((outcome, str(who.role)))

    return handle


approvals.register_kind(
    approvals.ApprovalKind(
        name="test_thing", permission="exports:approve", on_approved=_record("approved"),
        on_rejected=_record("rejected"), on_cancelled=_record("cancelled"),
        on_expired=lambda _s, _row, _now: CALLS.append(("expired", "")),
    )
)  # fmt: skip


@pytest.fixture(autouse=True)
def _clear() -> None:
    CALLS.clear()


def _people(uow: UnitOfWork) -> tuple[User, User, User, User]:
    s = uow.session
    return (
        add_user(s, NOW, kind="staff", role="compliance_officer"),
        add_user(s, NOW, kind="staff", role="compliance_officer"),
        add_user(s, NOW, kind="staff", role="agent"),
        add_user(s, NOW, kind="staff", role="compliance_officer"),
    )


def _ask(uow: UnitOfWork, who: User, ref: str = "thing:1", ttl: timedelta = HOUR) -> Approval:
    return approvals.request_approval(
        uow.session, "test_thing", ref, who, {"what": "a test", "n": 3}, NOW, ttl
    )


def test_a_second_staff_member_approves(database: Database) -> None:
    with UnitOfWork(database) as uow:
        alice, bob, _agent, carol = _people(uow)
        row = _ask(uow, alice)
        assert approvals.waiting_for(uow.session, bob, NOW, limit=10) == [row]
        assert approvals.waiting_for(uow.session, alice, NOW, limit=10) == []
        done = approvals.approve(uow.session, row.id, bob, NOW + timedelta(minutes=5), note="ok")
        assert (done.status, done.decided_by) == ("approved", bob.id)
        assert CALLS == [("approved", "compliance_officer")]
        with pytest.raises(approvals.ApprovalDecided):
            approvals.approve(uow.session, row.id, carol, NOW)
        uow.commit()
    with UnitOfWork(database, write=False) as uow:
        events = [e.event for e in uow.session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
        assert events == ["approval.requested", "approval.approved"]
        approved = uow.session.scalars(
            select(AuditEntry).where(AuditEntry.event == "approval.approved")
        ).one()
        assert approved.actor_id == bob.id and approved.data["note_sha256"] != "ok"


def test_nobody_approves_their_own_request(database: Database) -> None:
    with UnitOfWork(database) as uow:
        alice, _bob, _agent, _carol = _people(uow)
        row = _ask(uow, alice)
        with pytest.raises(approvals.SelfApproval):
            approvals.approve(uow.session, row.id, alice, NOW)
        with pytest.raises(approvals.SelfApproval):
            approvals.reject(uow.session, row.id, alice, NOW, "no")
        assert row.status == "pending" and CALLS == []
        uow.commit()
        row_id, alice_id = row.id, alice.id
    # The database refuses it too, should any code path forget to ask.
    with pytest.raises(IntegrityError), UnitOfWork(database) as uow:
        uow.session.execute(
            update(Approval).where(Approval.id == row_id)
            .values(status="approved", decided_by=alice_id, decided_at=NOW)
        )  # fmt: skip
        uow.commit()


def test_only_roles_with_the_permission_decide(database: Database) -> None:
    with UnitOfWork(database) as uow:
        alice, _bob, agent, _carol = _people(uow)
        row = _ask(uow, alice)
        with pytest.raises(approvals.NotAllowedToDecide):
            approvals.approve(uow.session, row.id, agent, NOW)
        assert approvals.waiting_for(uow.session, agent, NOW, limit=10) == []


def test_requests_expire_if_nobody_acts(database: Database) -> None:
    with UnitOfWork(database) as uow:
        alice, bob, _agent, _carol = _people(uow)
        row = _ask(uow, alice, ttl=HOUR)
        later = NOW + HOUR
        assert approvals.effective_status(row, later - timedelta(seconds=1)) == "pending"
        assert approvals.effective_status(row, later) == "expired"
        assert approvals.waiting_for(uow.session, bob, later, limit=10) == []
        with pytest.raises(approvals.ApprovalExpired):
            approvals.approve(uow.session, row.id, bob, later)
        assert approvals.expire_due(uow.session, later - timedelta(seconds=1)) == 0
        assert approvals.expire_due(uow.session, later) == 1
        assert row.status == "expired" and CALLS == [("expired", "")]
        assert approvals.expire_due(uow.session, later) == 0
        # A fresh request for the same thing may be made once the old one is dead.
        again = _ask(uow, alice)
        assert again.id != row.id
        uow.commit()
    with UnitOfWork(database, write=False) as uow:
        assert uow.session.scalar(
            select(AuditEntry.seq).where(AuditEntry.event == "approval.expired")
        )


def test_one_request_at_a_time_per_subject(database: Database) -> None:
    with UnitOfWork(database) as uow:
        alice, bob, _agent, _carol = _people(uow)
        _ask(uow, alice)
        with pytest.raises(approvals.ApprovalPending):
            _ask(uow, bob)
        _ask(uow, bob, ref="thing:2")


def test_reject_and_cancel(database: Database) -> None:
    with UnitOfWork(database) as uow:
        alice, bob, _agent, carol = _people(uow)
        first = _ask(uow, alice)
        approvals.reject(uow.session, first.id, bob, NOW, "not needed")
        assert first.status == "rejected"
        second = _ask(uow, alice, ref="thing:2")
        with pytest.raises(approvals.ApprovalNotFound):
            approvals.cancel(uow.session, second.id, carol, NOW)
        approvals.cancel(uow.session, second.id, alice, NOW)
        assert second.status == "cancelled" and second.decided_by is None
        with pytest.raises(approvals.ApprovalDecided):
            approvals.approve(uow.session, second.id, bob, NOW)
        assert CALLS == [("rejected", "compliance_officer"), ("cancelled", "compliance_officer")]
        assert [r.id for r in approvals.requested_by(uow.session, alice, limit=5)] == [
            second.id, first.id,
        ]  # fmt: skip
