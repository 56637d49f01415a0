"""Shared pieces of the ledger tests: accounts, batches, snapshots and journal tampering."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select, text

from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger import service
from anxin.ledger.batch import apply_batch
from anxin.ledger.commands import Command, CommandResult, TransferOp
from anxin.ledger.verify import Report, verify_ledger
from anxin.models import Account, ChainHead, Entry, IdempotencyKey, Transfer

START = datetime(2030, 1, 1, tzinfo=UTC)


def create_accounts(
    database: Database,
    count: int,
    *,
    asset: str = "CNY",
    allow_negative: bool = False,
    now: datetime = START,
) -> list[uuid.UUID]:
    with UnitOfWork(database) as uow:
        ids = [
            service.create_account(
                uow.session, asset=asset, allow_negative=allow_negative, now=now
            ).id
            for _ in range(count)
        ]
        uow.commit()
    return ids


def run_batch(
    database: Database, commands: Sequence[Command], now: datetime = START
) -> list[CommandResult]:
    """One group commit, straight through ``apply_batch`` (no engine thread)."""
    with database.connect(write=True) as connection, connection.begin():
        return apply_batch(connection, list(commands), now)


def run_one(database: Database, command: Command, now: datetime = START) -> CommandResult:
    return run_batch(database, [command], now)[0]


def fund(
    database: Database,
    bank: uuid.UUID,
    wallets: Sequence[uuid.UUID],
    amount: int,
    *,
    asset: str = "CNY",
    now: datetime = START,
) -> None:
    commands = [Command((TransferOp(bank, w, amount, asset),)) for w in wallets]
    assert all(r.ok for r in run_batch(database, commands, now))


def verify(database: Database) -> Report:
    with database.connect(write=False) as connection:
        return verify_ledger(connection)


def counters(database: Database, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[int, ...]]:
    a = Account.__table__.c
    query = select(
        a.id, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending, a.status
    ).where(a.id.in_(list(ids)))
    with database.connect(write=False) as connection:
        return {row[0]: tuple(row[1:5]) for row in connection.execute(query)}


def posted_balance(database: Database, account_id: uuid.UUID) -> int:
    dp, cp, _, _ = counters(database, [account_id])[account_id]
    return cp - dp


@dataclass(frozen=True)
class Snapshot:
    """Everything a rejected or replayed command must leave exactly as it was."""

    head: tuple[int, bytes]
    transfers: int
    entries: int
    keys: int
    accounts: tuple[tuple[Any, ...], ...]
    transfer_states: tuple[tuple[Any, ...], ...]


def snapshot(connection: Connection) -> Snapshot:
    head = connection.execute(select(ChainHead.last_seq, ChainHead.last_hash)).one()
    a = Account.__table__.c
    t = Transfer.__table__.c
    accounts = select(
        a.id, a.status, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending
    ).order_by(a.id)
    transfers = select(t.id, t.status, t.settled_amount).order_by(t.id)

    def count(table: Any) -> int:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())

    return Snapshot(
        head=(int(head[0]), bytes(head[1])),
        transfers=count(Transfer.__table__),
        entries=count(Entry.__table__),
        keys=count(IdempotencyKey.__table__),
        accounts=tuple(tuple(r) for r in connection.execute(accounts)),
        transfer_states=tuple(tuple(r) for r in connection.execute(transfers)),
    )


def db_snapshot(database: Database) -> Snapshot:
    with database.connect(write=False) as connection:
        return snapshot(connection)


# -- tampering: getting around the journal's append-only triggers, as an attacker would ------


@contextmanager
def tampering(database: Database) -> Iterator[Connection]:
    """A committed transaction in which the journal's triggers and checks are off."""
    with database.connect(write=True) as connection, connection.begin():
        if database.is_sqlite:
            connection.exec_driver_sql("DROP TRIGGER IF EXISTS ledger_entries_no_update")
            connection.exec_driver_sql("DROP TRIGGER IF EXISTS ledger_entries_no_delete")
            connection.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
        else:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        yield connection
        if database.is_sqlite:
            connection.exec_driver_sql("PRAGMA ignore_check_constraints = OFF")


def execute(connection: Connection, sql: str, **params: Any) -> None:
    connection.execute(text(sql), params)
