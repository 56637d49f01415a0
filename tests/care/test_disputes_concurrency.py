"""Racing disputes with real threads: two filings of one debit make one dispute and one
credit; two staff deciding one dispute at once move money once. The ledger verifies."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select

from anxin.care import dispute_outcomes, disputes
from anxin.kit.db import Database
from anxin.kit.errors import AnxinError
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.verify import verify_ledger
from anxin.models import Transfer, User
from anxin.models.care import Dispute
from anxin.privacy.vault import Vault
from tests.care.conftest import NOW, fund, make_user
from tests.care.test_disputes import POLICY, pay


def race(work: Callable[[], str], runners: int = 2) -> list[str]:
    """Run ``work`` in ``runners`` threads released together; what each one returned."""
    start = threading.Barrier(runners)
    results: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        start.wait()
        try:
            outcome = work()
        except AnxinError as error:
            outcome = error.code
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(runners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(results)


def _setup(database: Database, vault: Vault) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    with UnitOfWork(database) as uow:
        holder = make_user(uow.session, vault, NOW)
        staff = make_user(uow.session, vault, NOW, role="senior_agent")
        fund(uow.session, holder.id, 100_00, NOW)
        debit = pay(uow, holder, 30_00)
        uow.commit()
    return holder.id, staff.id, debit


def _verify(database: Database) -> None:
    with database.connect(write=False) as connection:
        report = verify_ledger(connection)
    assert report.ok, report.problems


def test_two_filings_of_one_debit_make_one_dispute(database: Database, vault: Vault) -> None:
    holder_id, _, debit = _setup(database, vault)

    def file() -> str:
        with UnitOfWork(database) as uow:
            holder = uow.session.get(User, holder_id)
            assert holder is not None
            disputes.open_dispute(uow.session, vault, holder, transfer_id=debit,
                                  reason="not_me", note=None, now=NOW, policy=POLICY)  # fmt: skip
            uow.commit()
        return "filed"

    assert race(file) == ["dispute_exists", "filed"]
    with UnitOfWork(database, write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Dispute)) == 1
        credits = select(func.count()).where(Transfer.kind == "dispute_credit")
        assert uow.session.scalar(credits) == 1
    _verify(database)


def test_two_decisions_at_once_move_money_once(database: Database, vault: Vault) -> None:
    holder_id, staff_id, debit = _setup(database, vault)
    with UnitOfWork(database) as uow:
        holder = uow.session.get(User, holder_id)
        assert holder is not None
        dispute_id = disputes.open_dispute(uow.session, vault, holder, transfer_id=debit,
                                           reason="not_me", note=None, now=NOW,
                                           policy=POLICY).id  # fmt: skip
        uow.commit()

    def decide() -> str:
        with UnitOfWork(database) as uow:
            staff = uow.session.get(User, staff_id)
            assert staff is not None
            dispute_outcomes.decide(uow.session, vault, staff, dispute_id, outcome="rejected",
                                    note="no", now=NOW + timedelta(days=1))  # fmt: skip
            uow.commit()
        return "decided"

    assert race(decide) == ["decided", "dispute_decided"]
    with UnitOfWork(database, write=False) as uow:
        reversals = select(func.count()).where(Transfer.kind == "dispute_reversal")
        assert uow.session.scalar(reversals) == 1
    _verify(database)
