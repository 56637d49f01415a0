"""The engine keeps account states between batches (SQLite): whatever another connection
commits in between (a freeze, a transfer of its own) must still be seen by the next batch.
Runs on both databases; on PostgreSQL nothing is cached and the same must hold."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from anxin.kit.clock import ManualClock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger import service
from anxin.ledger.batch import AccountCache
from anxin.ledger.commands import Command, TransferOp
from anxin.ledger.engine import LedgerEngine
from tests.ledger.helpers import START, counters, create_accounts, fund, run_batch, verify


@pytest.fixture
def engine(database: Database) -> Iterator[LedgerEngine]:
    ledger = LedgerEngine(database, clock=ManualClock(START), expiry_interval=3600).start()
    yield ledger
    ledger.stop()


@pytest.fixture
def accounts(database: Database) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    [bank] = create_accounts(database, 1, allow_negative=True)
    wallet, shop = create_accounts(database, 2)
    fund(database, bank, [wallet], 100)
    return bank, wallet, shop


def pay(source: uuid.UUID, destination: uuid.UUID, amount: int) -> Command:
    return Command((TransferOp(source, destination, amount, "CNY"),))


def error_of(engine: LedgerEngine, command: Command) -> str | None:
    outcome = engine.execute(command, timeout=30).outcomes[0]
    return outcome.get("error")


def test_a_freeze_committed_between_batches_is_seen(
    database: Database, engine: LedgerEngine, accounts: tuple[uuid.UUID, ...]
) -> None:
    _, wallet, shop = accounts
    assert error_of(engine, pay(wallet, shop, 10)) is None  # both accounts now cached
    with UnitOfWork(database) as uow:
        service.freeze_account(uow.session, wallet, reason="review", now=START)
        uow.commit()
    assert error_of(engine, pay(wallet, shop, 10)) == "account_frozen"
    with UnitOfWork(database) as uow:
        service.unfreeze_account(uow.session, wallet, reason="cleared", now=START)
        uow.commit()
    assert error_of(engine, pay(wallet, shop, 10)) is None
    assert verify(database).ok


def test_money_moved_by_another_writer_between_batches_is_seen(
    database: Database, engine: LedgerEngine, accounts: tuple[uuid.UUID, ...]
) -> None:
    _, wallet, shop = accounts
    assert error_of(engine, pay(wallet, shop, 10)) is None
    # Another writer (another process, say) spends what is left of the wallet.
    assert run_batch(database, [pay(wallet, shop, 90)])[0].ok
    assert error_of(engine, pay(wallet, shop, 1)) == "insufficient_funds"
    assert counters(database, [wallet, shop]) == {wallet: (100, 100, 0, 0), shop: (0, 100, 0, 0)}
    assert verify(database).ok


def test_an_unconfirmed_batch_empties_the_cache() -> None:
    cache = AccountCache()
    cache.open(7)[uuid.uuid4()] = object()  # type: ignore[assignment]
    cache.committed()
    assert len(cache.open(7)) == 1  # same version, committed: kept
    # That batch never confirms (its transaction failed): the next one starts empty.
    assert cache.open(7) == {}
    cache.open(7)[uuid.uuid4()] = object()  # type: ignore[assignment]
    cache.committed()
    assert cache.open(8) == {}  # another connection committed in between


def test_the_cache_is_bounded() -> None:
    cache = AccountCache(limit=2)
    accounts = cache.open(1)
    for _ in range(3):
        accounts[uuid.uuid4()] = object()  # type: ignore[assignment]
    cache.committed()
    assert cache.open(1) == {}
