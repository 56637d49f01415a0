"""The bulk writer's statements: stored idempotency keys are found through the primary key."""

from __future__ import annotations

from anxin.kit.db import Database
from anxin.ledger import bulk
from anxin.ledger.bulk import bulk_writer
from anxin.ledger.commands import Command, IdempotencyClaim, TransferOp
from tests.ledger.helpers import create_accounts, run_batch


def test_stored_keys_are_found_in_chunks(database: Database) -> None:
    [bank] = create_accounts(database, 1, allow_negative=True)
    [wallet] = create_accounts(database, 1)
    count = 1000  # more than one SQLite statement's worth
    commands = [
        Command(
            (TransferOp(bank, wallet, 1, "CNY"),), idempotency=IdempotencyClaim("s", str(i), "f")
        )
        for i in range(count)
    ]
    assert all(result.ok for result in run_batch(database, commands))
    asked = [("s", str(i)) for i in range(0, count, 3)] + [("s", "never"), ("other", "1")]
    with database.connect(write=True) as connection, connection.begin():
        found = bulk_writer(connection).load_keys(asked)
    assert sorted((scope, key) for scope, key, _, _ in found) == sorted(asked[:-2])
    assert all(fp == "f" and result["outcomes"] for _, _, fp, result in found)


def test_sqlite_searches_the_primary_key_instead_of_scanning(database: Database) -> None:
    if not database.is_sqlite:
        return
    statement = bulk._SQLITE_KEYS.format(marks="(?, ?), (?, ?)")
    with database.connect(write=False) as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        plan = " / ".join(row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + statement, "abcd"))
    assert "SEARCH k USING INDEX" in plan, plan
    assert "SCAN ledger_idempotency_keys" not in plan and "SCAN k" not in plan, plan
