"""Changing what SLA clocks run on: defaults created once even by two first tickets at once,
a policy chosen again when the ticket's category or priority changes, due times moved when
a calendar's days change."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anxin.care import sla, sla_admin
from anxin.care.sla_policies import BUSINESS_CALENDAR, ensure_defaults, select_policy
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.care import BusinessCalendar, SlaPolicy
from tests.care.test_sla import MONDAY_10, clock, make_staff, make_ticket, session

__all__ = ["session"]


def test_two_first_tickets_at_once_make_one_set_of_defaults(database: Database) -> None:
    flushed, seen = threading.Event(), []

    def first() -> None:
        with UnitOfWork(database) as uow:
            ensure_defaults(uow.session, MONDAY_10)
            flushed.set()
            time.sleep(0.3)  # let the second caller run into our uncommitted rows
            uow.commit()

    def second() -> None:
        flushed.wait(10)
        with UnitOfWork(database) as uow:
            ensure_defaults(uow.session, MONDAY_10)
            seen.append(select_policy(uow.session, "other", "normal") is not None)
            uow.commit()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert seen == [True]
    with UnitOfWork(database, write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(SlaPolicy)) == 5
        assert uow.session.scalar(select(func.count()).select_from(BusinessCalendar)) == 2


def test_priority_change_rechooses_the_policy_keeping_time_used(session: Session) -> None:
    ticket = make_ticket(session)
    ticket.priority = "urgent"
    sla.reapply_policy(session, ticket, MONDAY_10 + timedelta(hours=1))
    first = clock(session, ticket, "first_response")
    assert first.target_seconds == 2 * 3600
    assert first.used_seconds == 3600
    assert first.due_at == MONDAY_10 + timedelta(hours=2)
    assert clock(session, ticket, "resolution").target_seconds == 5 * 86400


def test_a_new_holiday_moves_running_due_times(session: Session) -> None:
    lead = make_staff(session, "senior_agent")
    ticket = make_ticket(session)
    before = clock(session, ticket, "first_response").due_at
    assert before == MONDAY_10 + timedelta(days=1)
    calendar = session.scalars(
        select(BusinessCalendar).where(BusinessCalendar.name == BUSINESS_CALENDAR)
    ).one()
    tuesday = date(2030, 1, 8)
    sla_admin.set_day(session, calendar, tuesday, actor=lead, now=MONDAY_10, kind="holiday",
                      works_as=None, name="a new holiday")  # fmt: skip
    assert clock(session, ticket, "first_response").due_at == MONDAY_10 + timedelta(days=2)
    sla_admin.delete_day(session, calendar, tuesday, actor=lead, now=MONDAY_10)
    assert clock(session, ticket, "first_response").due_at == before
