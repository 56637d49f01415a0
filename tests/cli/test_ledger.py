from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from anxin.kit.clock import SystemClock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger import service
from anxin.ledger.batch import apply_batch
from anxin.ledger.commands import Command, TransferOp
from anxin.models import Account, IdempotencyKey, Transfer
from tests.cli.conftest import Cli


def _accounts(database: Database) -> tuple[Account, Account]:
    now = SystemClock().now()
    with UnitOfWork(database) as uow:
        bank = service.create_account(uow.session, asset="CNY", allow_negative=True, now=now)
        wallet = service.create_account(uow.session, asset="CNY", now=now)
        uow.commit()
    return bank, wallet


def _apply(database: Database, *ops: TransferOp, hours_ago: float = 0) -> None:
    moment = SystemClock().now() - timedelta(hours=hours_ago)
    with database.connect() as connection, connection.begin():
        results = apply_batch(connection, [Command((op,)) for op in ops], moment)
    assert all(r.ok for r in results), results


def test_verify_ok(cli: Cli, database: Database) -> None:
    empty = cli("ledger", "verify")
    assert empty.code == 0, empty
    assert empty.out.startswith("ok: 0 accounts, 0 transfers, 0 journal entries")
    bank, wallet = _accounts(database)
    _apply(database, TransferOp(bank.id, wallet.id, 100, "CNY"),
           TransferOp(wallet.id, bank.id, 30, "CNY", pending=True))  # fmt: skip
    result = cli("ledger", "verify")
    assert result.code == 0, result
    assert result.out.startswith(
        "ok: 2 accounts, 2 transfers, 4 journal entries, hash chain intact"
    )


def test_verify_reports_problems_and_fails(cli: Cli, database: Database) -> None:
    bank, wallet = _accounts(database)
    _apply(database, TransferOp(bank.id, wallet.id, 100, "CNY"))
    with database.connect() as connection, connection.begin():
        # Money appears from nowhere: the counters no longer match the journal.
        connection.execute(
            text("UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE id = :id"),
            {"id": wallet.id.hex if database.is_sqlite else wallet.id},
        )
    result = cli("ledger", "verify")
    assert result.code == 1
    assert result.out == ""
    assert "problem:" in result.err
    assert "ledger verification failed" in result.err
    assert "Traceback" not in result.err


def test_verify_another_database(bare_cli: Cli, db_url: str) -> None:
    result = bare_cli("ledger", "verify", "--db", db_url, database_url="bogus://ignored")
    assert result.code == 0, result
    assert result.out.startswith("ok: ")


def test_expire(cli: Cli, database: Database) -> None:
    bank, wallet = _accounts(database)
    _apply(database, TransferOp(bank.id, wallet.id, 100, "CNY"), hours_ago=3)
    _apply(database, TransferOp(wallet.id, bank.id, 60, "CNY", pending=True, timeout_seconds=60),
           TransferOp(wallet.id, bank.id, 10, "CNY", pending=True, timeout_seconds=86400),
           hours_ago=2)  # fmt: skip
    result = cli("ledger", "expire")
    assert result.code == 0, result
    assert result.out.strip() == "expired 1 pending transfer(s)"
    assert cli("ledger", "expire").out.strip() == "expired 0 pending transfer(s)"
    with UnitOfWork(database, write=False) as uow:
        statuses = sorted(
            (t.amount, t.status) for t in uow.session.scalars(
                select(Transfer).where(Transfer.action == "hold"))
        )  # fmt: skip
        assert statuses == [(10, "pending"), (60, "expired")]
        refreshed = uow.session.get_one(Account, wallet.id)
        assert service.balance_of(refreshed).available == 90
    assert cli("ledger", "verify").code == 0


def test_purge_keys(cli: Cli, database: Database) -> None:
    now = SystemClock().now()
    with UnitOfWork(database) as uow:
        for key, age in (("old", 100), ("recent", 1), ("borderline", 71)):
            uow.session.add(IdempotencyKey(scope="s", key=key, fingerprint="f" * 64,
                                           result={"outcomes": []},
                                           created_at=now - timedelta(hours=age)))  # fmt: skip
        uow.commit()
    result = cli("ledger", "purge-keys")
    assert result.code == 0, result
    assert result.out.startswith("purged 1 idempotency key(s) older than ")
    assert cli("ledger", "purge-keys", idempotency_retention_hours="24").out.startswith("purged 1 ")
    with UnitOfWork(database, write=False) as uow:
        assert [k.key for k in uow.session.scalars(select(IdempotencyKey))] == ["recent"]
    assert (
        "ANXIN_IDEMPOTENCY_RETENTION_HOURS"
        in cli("ledger", "purge-keys", idempotency_retention_hours="1").err
    )
