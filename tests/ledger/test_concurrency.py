"""Many writers at once, in threads and in processes, on a few hot accounts with little money.

Whatever the interleaving: money is conserved, no account goes below zero, every request is
applied exactly once or refused for lack of funds (nothing else), and the ledger verifies.
"""

from __future__ import annotations

import multiprocessing
import queue
import random
import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import select, text

from anxin.kit.clock import SystemClock
from anxin.kit.db import Database
from anxin.ledger.batch import apply_batch
from anxin.ledger.commands import Command, TransferOp
from anxin.ledger.engine import LedgerEngine
from anxin.models import IdempotencyKey, Transfer
from tests.ledger.helpers import (
    counters,
    create_accounts,
    fund,
    process_writer,
    run_writer,
    verify,
    writer_plan,
)

FUNDS = 100  # per hot account; payments are up to 60, so many are refused


def hot_accounts(database: Database, count: int = 4) -> list[uuid.UUID]:
    [bank] = create_accounts(database, 1, allow_negative=True)
    hot = create_accounts(database, count)
    fund(database, bank, hot, FUNDS)
    return hot


def check(database: Database, hot: Sequence[uuid.UUID], outcomes: list[dict[str, Any]]) -> None:
    codes = Counter(o.get("error", "ok") for o in outcomes)
    assert set(codes) <= {"ok", "insufficient_funds"}, codes
    assert codes["ok"] > 0
    assert codes["insufficient_funds"] > 0  # the test really was short of money
    # Replaying the applied outcomes on the starting balances gives the stored balances.
    expected = dict.fromkeys(hot, FUNDS)
    applied = [o["transfer"] for o in outcomes if "transfer" in o]
    for transfer in applied:
        if transfer["action"] in ("transfer", "post"):
            expected[uuid.UUID(transfer["source"])] -= transfer["amount"]
            expected[uuid.UUID(transfer["destination"])] += transfer["amount"]
    stored = counters(database, hot)
    for account_id in hot:
        dp, cp, dpend, cpend = stored[account_id]
        assert (dpend, cpend) == (0, 0)  # every hold was resolved
        assert cp - dp == expected[account_id] >= 0
    assert sum(cp - dp for dp, cp, _, _ in stored.values()) == FUNDS * len(hot)
    # Each applied request is in the journal exactly once, each refused one not at all.
    with database.connect(write=False) as connection:
        ids = Counter(
            str(i)
            for i in connection.scalars(
                select(Transfer.id).where(
                    Transfer.source_id.in_(hot) & Transfer.destination_id.in_(hot)
                )
            )
        )
    assert ids == Counter(t["id"] for t in applied)
    report = verify(database)
    assert report.ok, report.problems


def stored_keys(database: Database) -> int:
    with database.connect(write=False) as connection:
        return len(list(connection.scalars(select(IdempotencyKey.key))))


def test_writer_threads_through_one_engine(database: Database) -> None:
    hot = hot_accounts(database)
    writers, count = 10, 60
    outcomes: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    with LedgerEngine(database) as engine:

        def work(seed: int) -> None:
            try:
                outcomes.extend(run_writer(engine, writer_plan(hot, seed, count), seed))
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=work, args=(seed,)) for seed in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert engine.batches < len(outcomes)  # requests shared commits
    assert errors == []
    check(database, hot, outcomes)
    assert stored_keys(database) == writers * count


def test_writer_processes_each_with_its_own_engine(database: Database, db_url: str) -> None:
    hot = hot_accounts(database, 3)
    processes, threads_each, count = 3, 3, 40
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    results = context.Queue()
    workers = [
        context.Process(
            target=process_writer,
            args=(db_url, hot, [p * 10 + t for t in range(threads_each)], count, go, results),
        )
        for p in range(processes)
    ]
    for worker in workers:
        worker.start()
    go.set()
    outcomes: list[dict[str, Any]] = []
    failures: list[str] = []
    for _ in workers:
        collected, failed = results.get(timeout=120)
        outcomes += collected
        failures += failed
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert failures == []
    check(database, hot, outcomes)
    assert stored_keys(database) == processes * threads_each * count


def test_direct_batches_from_many_connections(database: Database) -> None:
    """No engine: each thread runs its own transactions on its own connection, so only the
    chain-head lock keeps them from interleaving."""
    hot = hot_accounts(database, 5)
    outcomes: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        try:
            with database.connect(write=True) as connection:
                for _ in range(25):
                    commands = []
                    for _ in range(rng.randint(1, 6)):
                        source, destination = rng.sample(hot, 2)
                        op = TransferOp(source, destination, rng.randint(1, 70), "CNY")
                        commands.append(Command((op,)))
                    with connection.begin():
                        results = apply_batch(connection, commands, SystemClock().now())
                    for result in results:
                        outcomes.put(result.outcomes[0])
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    collected = []
    while not outcomes.empty():
        collected.append(outcomes.get())
    check(database, hot, collected)


def test_a_second_writer_waits_for_the_first_and_sees_its_result(database: Database) -> None:
    [wallet, shop] = hot_accounts(database, 2)
    spend_all = [Command((TransferOp(wallet, shop, FUNDS, "CNY"),))]
    second: list[Any] = []
    with database.connect(write=True) as first, first.begin():
        assert apply_batch(first, spend_all, SystemClock().now())[0].ok

        def other_writer() -> None:
            with database.connect(write=True) as connection, connection.begin():
                second.extend(apply_batch(connection, spend_all, SystemClock().now()))

        thread = threading.Thread(target=other_writer)
        thread.start()
        if not database.is_sqlite:
            wait_for_lock_waiter(database)
    thread.join(60)
    assert not thread.is_alive()
    assert second[0].outcomes[0]["error"] == "insufficient_funds"
    assert counters(database, [wallet])[wallet] == (FUNDS, FUNDS, 0, 0)
    assert verify(database).ok


def wait_for_lock_waiter(database: Database) -> None:
    """Until another session of ours is blocked on a row lock (the chain head)."""
    import time

    deadline = time.monotonic() + 30
    with database.connect(write=False) as connection:
        while True:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            connection.rollback()
            if waiting:
                return
            if time.monotonic() > deadline:
                pytest.fail("the second writer never waited for the lock")
            time.sleep(0.01)
