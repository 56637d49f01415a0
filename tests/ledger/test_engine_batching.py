"""The engine's group commit: many callers share one transaction, each gets its own answer,
and a command that breaks the database fails alone. Runs on SQLite and PostgreSQL.

The writer is held inside its first batch (a gate in ``apply_batch``) while the commands
under test are queued, so which commands share a batch is decided by the test, not by
timing.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from anxin.kit.db import Database
from anxin.kit.errors import ServiceUnavailable
from anxin.ledger import batch as batch_module
from anxin.ledger import engine as engine_module
from anxin.ledger.bulk import BulkWriter, bulk_writer
from anxin.ledger.commands import (
    Command,
    CommandResult,
    IdempotencyClaim,
    PostOp,
    ReverseOp,
    TransferOp,
    VoidOp,
)
from anxin.ledger.engine import LedgerEngine
from anxin.ledger.errors import IdempotencyKeyInFlight
from anxin.models import Transfer
from tests.ledger.helpers import (
    START,
    counters,
    create_accounts,
    fund,
    posted_balance,
    run_batch,
    verify,
)

THREADS = 8
PER_THREAD = 25


@pytest.fixture
def bank_and_wallets(database: Database) -> tuple[uuid.UUID, list[uuid.UUID]]:
    [bank] = create_accounts(database, 1, allow_negative=True)
    wallets = create_accounts(database, 20)
    fund(database, bank, wallets, 1_000_000)
    return bank, wallets


@contextmanager
def writer_held(monkeypatch: pytest.MonkeyPatch, engine: LedgerEngine) -> Iterator[None]:
    """Hold the writer inside a batch of its own until the block ends, so everything
    submitted inside the block queues up for the batch after it."""
    entered, release = threading.Event(), threading.Event()
    real = engine_module.apply_batch
    first = True

    def gated(connection: Connection, commands: Sequence[Command], now: Any) -> Any:
        nonlocal first
        if first:
            first = False
            entered.set()
            release.wait()
        return real(connection, commands, now)

    monkeypatch.setattr(engine_module, "apply_batch", gated)
    blocker = engine.submit(Command(()))  # no operations: commits nothing but holds the gate
    entered.wait()
    try:
        yield
    finally:
        release.set()
        assert blocker.result().outcomes == []


def submit_from_threads(
    engine: LedgerEngine, commands: list[list[Command]]
) -> list[list[Future[CommandResult]]]:
    futures: list[list[Future[CommandResult]]] = [[] for _ in commands]

    def client(index: int) -> None:
        for command in commands[index]:
            futures[index].append(engine.submit(command))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(commands))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return futures


def test_concurrent_submissions_share_commits_and_answers_reach_their_callers(
    database: Database,
    ledger_engine: LedgerEngine,
    monkeypatch: pytest.MonkeyPatch,
    bank_and_wallets: tuple[uuid.UUID, list[uuid.UUID]],
) -> None:
    _, wallets = bank_and_wallets
    [empty] = create_accounts(database, 1)
    # Each command says who sent it (reference) and every fifth one cannot be paid.
    commands = [
        [
            Command(
                (
                    TransferOp(
                        empty if n % 5 == 0 else wallets[t],
                        wallets[(t + 1) % len(wallets)],
                        1 + t * PER_THREAD + n,
                        "CNY",
                        reference=f"t{t}-n{n}",
                    ),
                )
            )
            for n in range(PER_THREAD)
        ]
        for t in range(THREADS)
    ]
    before = ledger_engine.batches
    with writer_held(monkeypatch, ledger_engine):
        futures = submit_from_threads(ledger_engine, commands)
    results = [[f.result() for f in per_thread] for per_thread in futures]

    # Everything queued behind the held batch went out in one more commit.
    assert ledger_engine.batches - before == 2
    assert ledger_engine.batches - before < THREADS * PER_THREAD
    for t, per_thread in enumerate(results):
        for n, result in enumerate(per_thread):
            [outcome] = result.outcomes
            if n % 5 == 0:
                assert outcome["error"] == "insufficient_funds"
            else:
                transfer = outcome["transfer"]
                assert transfer["reference"] == f"t{t}-n{n}"
                assert transfer["amount"] == 1 + t * PER_THREAD + n
                assert transfer["source"] == str(wallets[t])
    assert verify(database).ok


def test_a_command_that_breaks_the_database_fails_alone(
    database: Database,
    ledger_engine: LedgerEngine,
    monkeypatch: pytest.MonkeyPatch,
    bank_and_wallets: tuple[uuid.UUID, list[uuid.UUID]],
) -> None:
    _, wallets = bank_and_wallets

    [target] = create_accounts(database, 1)

    class Poisoned:
        """The real writer, except that writing the target account's counters breaks:
        only the command paying the target does that."""

        def __init__(self, real: BulkWriter) -> None:
            self._real = real

        def __getattr__(self, name: str) -> Any:
            return getattr(self._real, name)

        def update_accounts(self, rows: Sequence[tuple[Any, ...]], now: Any) -> None:
            if any(row[0] == target.hex for row in rows):
                raise IntegrityError("UPDATE ledger_accounts", None, Exception("boom"))
            self._real.update_accounts(rows, now)

    monkeypatch.setattr(batch_module, "bulk_writer", lambda c: Poisoned(bulk_writer(c)))
    references = [f"ok-{n}" for n in range(10)]
    references.insert(4, "poison")
    with writer_held(monkeypatch, ledger_engine):
        futures = [
            ledger_engine.submit(
                Command(
                    (
                        TransferOp(
                            wallets[0],
                            target if r == "poison" else wallets[1],
                            7,
                            "CNY",
                            reference=r,
                        ),
                    )
                )
            )
            for r in references
        ]
    for reference, future in zip(references, futures, strict=True):
        if reference == "poison":
            with pytest.raises(ServiceUnavailable):
                future.result()
        else:
            assert future.result().outcomes[0]["transfer"]["reference"] == reference
    assert posted_balance(database, wallets[1]) == 1_000_000 + 7 * 10
    with database.connect(write=False) as connection:
        poisoned = select(func.count()).where(Transfer.reference == "poison")
        assert connection.execute(poisoned).scalar_one() == 0
    assert verify(database).ok
    # The engine carries on after isolating the culprit.
    ok = ledger_engine.execute(Command((TransferOp(wallets[0], wallets[1], 1, "CNY"),)))
    assert ok.ok


def test_a_cancelled_wait_does_not_stop_the_writer(
    database: Database,
    ledger_engine: LedgerEngine,
    monkeypatch: pytest.MonkeyPatch,
    bank_and_wallets: tuple[uuid.UUID, list[uuid.UUID]],
) -> None:
    _, wallets = bank_and_wallets
    with writer_held(monkeypatch, ledger_engine):
        abandoned = ledger_engine.submit(Command((TransferOp(wallets[2], wallets[3], 5, "CNY"),)))
        assert abandoned.cancel()  # what asyncio.wrap_future does when a request goes away
    after = ledger_engine.execute(Command((TransferOp(wallets[2], wallets[3], 6, "CNY"),)))
    assert after.ok
    # The cancelled caller is not told, but its command was committed like any other.
    assert posted_balance(database, wallets[3]) == 1_000_000 + 5 + 6
    assert verify(database).ok


def test_a_key_in_flight_is_refused_until_its_batch_commits(
    database: Database,
    ledger_engine: LedgerEngine,
    monkeypatch: pytest.MonkeyPatch,
    bank_and_wallets: tuple[uuid.UUID, list[uuid.UUID]],
) -> None:
    _, wallets = bank_and_wallets
    claim = IdempotencyClaim(scope="client-1", key="k-1", fingerprint="f" * 64)
    command = Command((TransferOp(wallets[4], wallets[5], 9, "CNY"),), idempotency=claim)
    with writer_held(monkeypatch, ledger_engine):
        first = ledger_engine.submit(command)
        with pytest.raises(IdempotencyKeyInFlight):
            ledger_engine.submit(command)
    assert first.result().ok
    replay = ledger_engine.execute(command)
    assert replay.replayed
    assert replay.outcomes == first.result().outcomes
    assert posted_balance(database, wallets[5]) == 1_000_000 + 9


def test_a_large_batch_with_failing_linked_groups_commits_only_what_succeeded(
    database: Database,
    ledger_engine: LedgerEngine,
    monkeypatch: pytest.MonkeyPatch,
    bank_and_wallets: tuple[uuid.UUID, list[uuid.UUID]],
) -> None:
    """Entries are written while the batch is still being applied: rows of a linked group
    that fails later must never reach the database."""
    _, wallets = bank_and_wallets
    [empty] = create_accounts(database, 1)
    commands = []
    for n in range(600):
        ops = [TransferOp(wallets[n % 20], wallets[(n + 1) % 20], 3, "CNY")]
        if n % 7 == 0:  # a linked group whose last leg fails
            ops.append(TransferOp(empty, wallets[0], 1, "CNY"))
        commands.append(Command(tuple(ops)))
    with writer_held(monkeypatch, ledger_engine):
        futures = [ledger_engine.submit(command) for command in commands]
    results = [f.result() for f in futures]
    assert sum(r.ok for r in results) == len([n for n in range(600) if n % 7])
    with database.connect(write=False) as connection:
        count = connection.execute(select(func.count()).select_from(Transfer)).scalar_one()
    assert count == 20 + sum(r.ok for r in results)  # the funding transfers and the rest
    assert verify(database).ok


class FakeSQLite:
    """Answers ``PRAGMA wal_checkpoint`` like SQLite: (busy, WAL pages, pages copied)."""

    def __init__(self, pages: int, copied: int) -> None:
        self.result = (0, pages, copied)
        self.statements: list[str] = []

    def execute(self, sql: str) -> FakeSQLite:
        self.statements.append(sql)
        return self

    def fetchone(self) -> tuple[int, int, int]:
        return self.result


@pytest.mark.parametrize(
    ("pages", "copied", "rewind_due"),
    [(100, 100, False), (20_000, 19_000, False), (20_000, 20_000, True)],
)
def test_the_checkpointer_asks_for_a_rewind_once_it_has_copied_a_long_wal(
    pages: int, copied: int, rewind_due: bool
) -> None:
    raw = FakeSQLite(pages, copied)
    assert engine_module._checkpoint(raw) is rewind_due
    # Never RESTART from its own thread: under steady load that waits for a moment without
    # a writer that never comes, and the WAL grows meanwhile.
    assert raw.statements == ["PRAGMA wal_checkpoint(PASSIVE)"]


def test_after_a_rewind_the_next_write_starts_the_wal_over(
    database: Database, bank_and_wallets: tuple[uuid.UUID, list[uuid.UUID]]
) -> None:
    if not database.is_sqlite:
        pytest.skip("SQLite's WAL")
    bank, wallets = bank_and_wallets
    with database.connect(write=True) as connection:  # a writer, between its transactions
        raw: Any = connection.connection.driver_connection

        def pay(wallet: uuid.UUID) -> None:
            with connection.begin():
                command = Command((TransferOp(bank, wallet, 1, "CNY"),))
                assert batch_module.apply_batch(connection, [command], START)[0].ok

        def wal_pages() -> int:
            pages: int = raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
            return pages

        for wallet in wallets:  # a WAL of at least a frame per commit, none copied yet
            pay(wallet)
        assert engine_module._rewind(raw)
        pay(wallets[0])
        # Started over: only the last commit's frames, not those of the 21 before it.
        assert 0 < wal_pages() < len(wallets)
    assert verify(database).ok


def test_the_writer_connection_goes_back_to_the_pool_as_it_came(database: Database) -> None:
    engine = LedgerEngine(database, expiry_interval=3600).start()
    try:
        engine.execute(Command(()))
        connection = engine._connection
        assert connection is not None
        raw: Any = connection.connection.driver_connection
    finally:
        engine.stop()
    if database.is_sqlite:
        assert raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
        assert raw.execute("PRAGMA cache_size").fetchone()[0] == -2000


@dataclass
class Book:
    wallets: list[uuid.UUID]
    empty: uuid.UUID
    holds: list[uuid.UUID]
    paid: list[uuid.UUID]


def open_book(database: Database) -> Book:
    [bank] = create_accounts(database, 1, allow_negative=True)
    wallets = create_accounts(database, 20)
    fund(database, bank, wallets, 10_000)
    [empty] = create_accounts(database, 1)

    def made(commands: list[Command]) -> list[uuid.UUID]:
        return [uuid.UUID(r.outcomes[0]["transfer"]["id"]) for r in run_batch(database, commands)]

    holds = made([hold(wallets[n % 10], wallets[10 + n % 10], 50) for n in range(60)])
    paid = made([pay(wallets[n % 20], wallets[(n + 3) % 20], 40) for n in range(60)])
    return Book(wallets, empty, holds, paid)


def pay(source: uuid.UUID, destination: uuid.UUID, amount: int) -> Command:
    return Command((TransferOp(source, destination, amount, "CNY"),))


def hold(source: uuid.UUID, destination: uuid.UUID, amount: int) -> Command:
    return Command((TransferOp(source, destination, amount, "CNY", pending=True),))


def every_kind(book: Book) -> list[Command]:
    w, commands = book.wallets, []
    for n in range(60):
        commands.append(pay(w[n % 20], w[(n + 7) % 20], 11))
        commands.append(hold(w[n % 20], w[(n + 9) % 20], 5))
        if n % 3 == 0:
            commands.append(Command((PostOp(book.holds[n], amount=20 + n % 30),)))
        elif n % 3 == 1:
            commands.append(Command((VoidOp(book.holds[n]),)))
        commands.append(Command((ReverseOp(book.paid[n], amount=1 + n % 40),)))
        commands.append(pay(book.empty, w[0], 1))  # rejected: no funds
        legs = (
            TransferOp(w[n % 20], w[(n + 1) % 20], 2, "CNY"),
            TransferOp(w[(n + 1) % 20], w[(n + 2) % 20], 2, "CNY"),
            TransferOp(book.empty if n % 2 else w[3], w[4], 1, "CNY"),  # odd n: group fails
        )
        commands.append(Command(legs))
    return commands


def test_a_streamed_batch_of_every_kind_of_operation_matches_small_batches(
    database: Database,
) -> None:
    """One batch big enough to have its rows sent while it is applied (PostgreSQL switches
    from entries to transfers half way) leaves what the same commands leave when applied
    a few at a time, which are written after applying."""
    streamed, small = open_book(database), open_book(database)
    one_batch = run_batch(database, every_kind(streamed))
    commands = every_kind(small)
    assert len(commands) >= 300
    few_at_a_time = [
        result
        for start in range(0, len(commands), 7)
        for result in run_batch(database, commands[start : start + 7])
    ]

    def codes(results: list[CommandResult]) -> list[list[str | None]]:
        return [[o.get("error") for o in r.outcomes] for r in results]

    assert codes(one_batch) == codes(few_at_a_time)
    assert {c for r in codes(one_batch) for c in r} == {
        None,
        "insufficient_funds",
        "linked_event_failed",
    }
    a = counters(database, [*streamed.wallets, streamed.empty])
    b = counters(database, [*small.wallets, small.empty])
    assert [a[k] for k in [*streamed.wallets, streamed.empty]] == [
        b[k] for k in [*small.wallets, small.empty]
    ]
    assert verify(database).ok
