from __future__ import annotations

from anxin.kit.clock import SystemClock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger import service
from anxin.ledger.commands import Command, TransferOp
from anxin.ledger.engine import LedgerEngine
from anxin.ledger.verify import verify_ledger


def test_transfer_moves_money_and_verifies(database: Database, ledger_engine: LedgerEngine) -> None:
    now = SystemClock().now()
    with UnitOfWork(database) as uow:
        bank = service.create_account(uow.session, asset="CNY", allow_negative=True, now=now)
        wallet = service.create_account(uow.session, asset="CNY", now=now)
        uow.commit()
    result = ledger_engine.execute(Command((TransferOp(bank.id, wallet.id, 1234, "CNY"),)))
    assert result.ok
    with UnitOfWork(database, write=False) as uow:
        assert service.balance_of(uow.session.get_one(type(wallet), wallet.id)).posted == 1234
    with database.connect(write=False) as connection:
        assert verify_ledger(connection).ok
