"""The group-commit engine: expiry sweep, in-flight keys, draining on stop, replays, isolation.

Where a test needs the writer busy, it holds the writer inside ``apply_batch`` on an event
(never on timing), so what is queued meanwhile is known exactly.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from anxin.kit.clock import ManualClock
from anxin.kit.db import Database
from anxin.kit.errors import ServiceUnavailable
from anxin.ledger import engine as engine_module
from anxin.ledger.batch import expire_due
from anxin.ledger.commands import Command, CommandResult, IdempotencyClaim, PostOp, TransferOp
from anxin.ledger.engine import LedgerEngine
from anxin.ledger.errors import IdempotencyKeyInFlight
from anxin.models import Transfer
from tests.ledger.helpers import START, counters, create_accounts, posted_balance, verify

WAIT = 30  # seconds: an upper bound for things that happen at once, never a measurement


class Gate:
    """Holds the engine's writer inside its next batch until opened."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()
        self.batches: list[int] = []
        real = engine_module.apply_batch

        def gated(
            connection: Any, commands: list[Command], *args: Any, **kwargs: Any
        ) -> list[CommandResult]:
            self.batches.append(len(commands))
            self.entered.set()
            assert self.opened.wait(WAIT)
            return real(connection, commands, *args, **kwargs)

        monkeypatch.setattr(engine_module, "apply_batch", gated)

    def wait_entered(self) -> None:
        assert self.entered.wait(WAIT)

    def open(self) -> None:
        self.opened.set()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def engine(database: Database, clock: ManualClock) -> Iterator[LedgerEngine]:
    ledger = LedgerEngine(database, clock=clock, expiry_interval=3600).start()
    yield ledger
    ledger.stop()


@pytest.fixture
def accounts(database: Database) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    [bank] = create_accounts(database, 1, allow_negative=True)
    wallet, shop = create_accounts(database, 2)
    return bank, wallet, shop


def keyed(op: TransferOp | PostOp, key: str, body: str = "body", scope: str = "s") -> Command:
    return Command((op,), idempotency=IdempotencyClaim(scope, key, body))


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def status(database: Database, transfer_id: str) -> str:
    with database.connect(write=False) as connection:
        query = select(Transfer.status).where(Transfer.id == uuid.UUID(transfer_id))
        return str(connection.execute(query).scalar_one())


# -- expiry ------------------------------------------------------------------------------------


def test_the_sweep_expires_holds_past_their_deadline(
    database: Database, clock: ManualClock, accounts: tuple[uuid.UUID, ...]
) -> None:
    bank, wallet, shop = accounts
    with LedgerEngine(database, clock=clock, expiry_interval=0.01) as ledger:
        assert ledger.execute(Command((TransferOp(bank, wallet, 100, "CNY"),))).ok
        short = ledger.execute(
            Command((TransferOp(wallet, shop, 60, "CNY", pending=True, timeout_seconds=60),))
        )
        long = ledger.execute(
            Command((TransferOp(wallet, shop, 30, "CNY", pending=True, timeout_seconds=120),))
        )
        first, second = short.outcomes[0]["transfer"], long.outcomes[0]["transfer"]
        assert first["expires_at"] == "2030-01-01T00:01:00Z"
        clock.advance(timedelta(seconds=59))
        assert status(database, first["id"]) == "pending"
        clock.advance(timedelta(seconds=1))  # exactly at the deadline
        wait_until(lambda: status(database, first["id"]) == "expired")
        assert status(database, second["id"]) == "pending"
        assert counters(database, [wallet])[wallet] == (0, 100, 30, 0)
        late = ledger.execute(Command((PostOp(uuid.UUID(first["id"])),)))
        assert late.outcomes[0]["error"] == "pending_transfer_already_resolved"
    assert verify(database).ok


def test_expire_due_and_posting_after_the_deadline(
    database: Database, engine: LedgerEngine, clock: ManualClock, accounts: tuple[uuid.UUID, ...]
) -> None:
    bank, wallet, shop = accounts
    assert engine.execute(Command((TransferOp(bank, wallet, 100, "CNY"),))).ok
    holds = [
        engine.execute(
            Command((TransferOp(wallet, shop, 10, "CNY", pending=True, timeout_seconds=s),))
        ).outcomes[0]["transfer"]["id"]
        for s in (10, 20, 30)
    ]
    clock.advance(timedelta(seconds=25))
    # Past its deadline but not swept yet: it can no longer be posted.
    late = engine.execute(Command((PostOp(uuid.UUID(holds[0])),)))
    assert late.outcomes[0]["error"] == "pending_transfer_expired"
    with database.connect() as connection, connection.begin():
        assert expire_due(connection, clock.now()) == 2
    with database.connect() as connection, connection.begin():
        assert expire_due(connection, clock.now()) == 0
    assert [status(database, h) for h in holds] == ["expired", "expired", "pending"]
    assert engine.execute(Command((PostOp(uuid.UUID(holds[2])),))).ok
    assert counters(database, [wallet, shop]) == {wallet: (10, 100, 0, 0), shop: (0, 10, 0, 0)}
    assert verify(database).ok


# -- idempotency keys in flight and after a restart ------------------------------------------


def test_a_key_in_flight_is_refused_until_its_result_is_stored(
    database: Database,
    engine: LedgerEngine,
    accounts: tuple[uuid.UUID, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bank, wallet, _ = accounts
    gate = Gate(monkeypatch)
    pay = TransferOp(bank, wallet, 5, "CNY")
    first = engine.submit(keyed(pay, "k1"))
    gate.wait_entered()
    with pytest.raises(IdempotencyKeyInFlight) as refused:
        engine.submit(keyed(pay, "k1"))
    assert (refused.value.status, refused.value.code) == (409, "idempotency_key_in_flight")
    # The same key in another scope, and another key, are independent.
    other_scope = engine.submit(keyed(pay, "k1", scope="other"))
    other_key = engine.submit(keyed(pay, "k2"))
    gate.open()
    results = [f.result(WAIT) for f in (first, other_scope, other_key)]
    assert all(r.ok and not r.replayed for r in results)
    again = engine.execute(keyed(pay, "k1"))
    assert again.replayed
    assert again.outcomes == results[0].outcomes
    reused = engine.execute(keyed(pay, "k1", body="another body"))
    assert reused.key_reused
    assert not reused.ok
    assert posted_balance(database, wallet) == 15


def test_replays_survive_a_restart(database: Database, accounts: tuple[uuid.UUID, ...]) -> None:
    bank, wallet, shop = accounts
    pay = keyed(TransferOp(bank, wallet, 70, "CNY"), "pay")
    broke = keyed(TransferOp(shop, wallet, 1, "CNY"), "broke")
    with LedgerEngine(database) as first:
        paid, refused = first.execute(pay), first.execute(broke)
    assert paid.ok
    assert refused.outcomes[0]["error"] == "insufficient_funds"
    other = Database(database.url)
    try:
        with LedgerEngine(other) as second:
            assert second.execute(pay) == type(paid)(outcomes=paid.outcomes, replayed=True)
            again = second.execute(broke)
            assert again.replayed
            assert again.outcomes == refused.outcomes
    finally:
        other.dispose()
    assert posted_balance(database, wallet) == 70


# -- lifecycle -----------------------------------------------------------------------------------


def test_a_stopped_or_unstarted_engine_refuses_work(
    database: Database, accounts: tuple[uuid.UUID, ...]
) -> None:
    bank, wallet, _ = accounts
    ledger = LedgerEngine(database)
    with pytest.raises(ServiceUnavailable):
        ledger.submit(Command((TransferOp(bank, wallet, 1, "CNY"),)))
    ledger.start()
    assert ledger.execute(Command((TransferOp(bank, wallet, 1, "CNY"),))).ok
    ledger.stop()
    with pytest.raises(ServiceUnavailable):
        ledger.submit(Command((TransferOp(bank, wallet, 1, "CNY"),)))
    ledger.stop()  # stopping twice is harmless


def test_stop_drains_everything_queued(
    database: Database, accounts: tuple[uuid.UUID, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    bank, wallet, _ = accounts
    gate = Gate(monkeypatch)
    ledger = LedgerEngine(database, expiry_interval=3600).start()
    futures = [ledger.submit(Command((TransferOp(bank, wallet, 1, "CNY"),)))]
    gate.wait_entered()
    futures += [
        ledger.submit(keyed(TransferOp(bank, wallet, 1, "CNY"), f"k{i}")) for i in range(40)
    ]
    stopper = threading.Thread(target=ledger.stop)
    stopper.start()
    wait_until(lambda: ledger._stopping)
    with pytest.raises(ServiceUnavailable):
        ledger.submit(Command((TransferOp(bank, wallet, 1, "CNY"),)))
    gate.open()
    stopper.join(WAIT)
    assert not stopper.is_alive()
    assert all(f.done() and f.result().ok for f in futures)
    # Everything queued while the writer was busy went into one group commit.
    assert gate.batches == [1, 40]
    assert posted_balance(database, wallet) == 41
    assert verify(database).ok


def test_a_command_that_breaks_the_database_fails_alone(
    database: Database, accounts: tuple[uuid.UUID, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a rejection but a bug (here: an amount the API would have refused) makes the
    whole batch fail; the engine then retries its commands one by one."""
    bank, wallet, _ = accounts
    gate = Gate(monkeypatch)
    with LedgerEngine(database, expiry_interval=3600) as ledger:
        first = ledger.submit(Command((TransferOp(bank, wallet, 1, "CNY"),)))
        gate.wait_entered()
        good: list[Future[CommandResult]] = []
        good.append(ledger.submit(keyed(TransferOp(bank, wallet, 2, "CNY"), "a")))
        bad = ledger.submit(keyed(TransferOp(bank, wallet, 0, "CNY"), "zero"))
        good.append(ledger.submit(keyed(TransferOp(bank, wallet, 3, "CNY"), "b")))
        gate.open()
        assert first.result(WAIT).ok
        assert all(f.result(WAIT).ok for f in good)
        with pytest.raises(ServiceUnavailable):
            bad.result(WAIT)
        # Its key was released, not stored: a corrected request may use it.
        assert ledger.execute(keyed(TransferOp(bank, wallet, 4, "CNY"), "zero", "fixed")).ok
    assert gate.batches == [1, 3, 1, 1, 1, 1]
    assert posted_balance(database, wallet) == 10
    assert verify(database).ok


def test_journal_time_follows_the_engine_clock(
    database: Database, engine: LedgerEngine, clock: ManualClock, accounts: tuple[uuid.UUID, ...]
) -> None:
    bank, wallet, _ = accounts
    clock.advance(timedelta(hours=5, microseconds=123))
    result = engine.execute(Command((TransferOp(bank, wallet, 1, "CNY"),)))
    assert result.outcomes[0]["transfer"]["created_at"] == "2030-01-01T05:00:00.000123Z"
    # A clock that runs backwards does not make the journal's time run backwards.
    clock.set(START)
    result = engine.execute(Command((TransferOp(bank, wallet, 1, "CNY"),)))
    assert result.outcomes[0]["transfer"]["created_at"] == "2030-01-01T05:00:00.000123Z"
    assert verify(database).ok
