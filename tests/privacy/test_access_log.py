"""The holder's access log: what staff did with their account and data, and why."""

from __future__ import annotations

from sqlalchemy import select

from anxin.kit.clock import SystemClock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Notification
from anxin.privacy import access_log
from tests.audit.helpers import add_user

NOW = SystemClock().now()


def test_record_and_read_back_newest_first(database: Database) -> None:
    with UnitOfWork(database) as uow:
        staff = add_user(uow.session, NOW, kind="staff", role="agent")
        holder = add_user(uow.session, NOW)
        other = add_user(uow.session, NOW)
        access_log.record(
            uow.session, staff=staff, holder_id=holder.id, action="freeze", fields=[],
            purpose={"case_id": holder.id, "reference": "RISK-1"}, now=NOW,
        )  # fmt: skip
        access_log.record(
            uow.session, staff=staff, holder_id=holder.id, action="reveal",
            fields=["phone", "email", "phone"], purpose={"reference": "T-9"}, now=NOW,
        )  # fmt: skip
        uow.commit()
        holder_id, other_id, pseudonym = holder.id, other.id, staff.pseudonym
    with UnitOfWork(database, write=False) as uow:
        rows = access_log.for_holder(uow.session, holder_id, limit=10)
        assert [(r.action, r.fields) for r in rows] == [
            ("reveal", ["email", "phone"]), ("freeze", []),
        ]  # fmt: skip
        assert rows[1].purpose == {"case_id": str(holder_id), "reference": "RISK-1"}
        assert rows[0].staff_pseudonym == pseudonym and rows[0].staff_role == "agent"
        assert access_log.for_holder(uow.session, holder_id, limit=1, before=rows[0].id) == [
            rows[1]
        ]
        assert access_log.for_holder(uow.session, other_id, limit=10) == []
        # Only break-glass access notifies.
        assert uow.session.scalar(select(Notification.id)) is None


def test_break_glass_notifies_the_holder_in_their_language(database: Database) -> None:
    with UnitOfWork(database) as uow:
        staff = add_user(uow.session, NOW, kind="staff", role="risk_officer")
        holder = add_user(uow.session, NOW)
        holder.locale = "en"
        access_log.record(
            uow.session, staff=staff, holder_id=holder.id, action="reveal",
            fields=["id_number"], purpose={"reason": "suspected account takeover in progress"},
            now=NOW, break_glass=True,
        )  # fmt: skip
        uow.commit()
        holder_id, pseudonym = holder.id, staff.pseudonym
    with UnitOfWork(database, write=False) as uow:
        [note] = uow.session.scalars(select(Notification)).all()
        assert note.user_id == holder_id and note.kind == access_log.BREAK_GLASS_NOTICE
        assert f"{pseudonym} (risk_officer)" in note.body
        assert "ID number" in note.body and "account takeover" in note.body
