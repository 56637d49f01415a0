"""Shared pieces of the ledger tests: accounts, batches, snapshots and journal tampering."""

from __future__ import annotations

import copy
import random
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, text

from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger import service
from anxin.ledger.batch import apply_batch
from anxin.ledger.commands import (
    MAX_AMOUNT,
    Command,
    CommandResult,
    ExpireOp,
    IdempotencyClaim,
    Operation,
    PostOp,
    ReverseOp,
    TransferOp,
    VoidOp,
)
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


# -- a deliberately simple model of the ledger's rules, for the property tests ---------------


class ModelRejection(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class ModelAccount:
    asset: str
    allow_negative: bool
    status: str = "active"
    dp: int = 0
    cp: int = 0
    dpend: int = 0
    cpend: int = 0

    def counters(self) -> tuple[int, int, int, int]:
        return (self.dp, self.cp, self.dpend, self.cpend)


@dataclass
class ModelTransfer:
    action: str
    status: str
    source: uuid.UUID
    destination: uuid.UUID
    amount: int
    settled: int = 0
    expires_at: datetime | None = None


@dataclass
class Model:
    """Balances as a list of plain rules: what the ledger should do, written the obvious way.

    ``apply`` returns the new transfer (without an id: the ledger picks it) or raises
    ``ModelRejection``; it changes nothing when it raises.
    """

    accounts: dict[uuid.UUID, ModelAccount]
    transfers: dict[uuid.UUID, ModelTransfer]

    def _account(self, account_id: uuid.UUID, *, moving_money: bool = True) -> ModelAccount:
        account = self.accounts.get(account_id)
        if account is None:
            raise ModelRejection("account_not_found")
        if moving_money and account.status == "frozen":
            raise ModelRejection("account_frozen")
        if moving_money and account.status == "closed":
            raise ModelRejection("account_closed")
        return account

    @staticmethod
    def _can_debit(account: ModelAccount, posted: int, pending: int) -> None:
        if account.dp + posted > MAX_AMOUNT or account.dpend + pending > MAX_AMOUNT:
            raise ModelRejection("overflow")
        spent = account.dp + posted + account.dpend + pending
        if not account.allow_negative and spent > account.cp:
            raise ModelRejection("insufficient_funds")

    @staticmethod
    def _can_credit(account: ModelAccount, posted: int, pending: int) -> None:
        if account.cp + posted > MAX_AMOUNT or account.cpend + pending > MAX_AMOUNT:
            raise ModelRejection("overflow")

    @staticmethod
    def _move(source: ModelAccount, destination: ModelAccount, posted: int, pending: int) -> None:
        source.dp += posted
        source.dpend += pending
        destination.cp += posted
        destination.cpend += pending

    def _hold(self, pending_id: uuid.UUID) -> ModelTransfer:
        hold = self.transfers.get(pending_id)
        if hold is None:
            raise ModelRejection("transfer_not_found")
        if hold.action != "hold":
            raise ModelRejection("transfer_not_pending")
        if hold.status != "pending":
            raise ModelRejection("pending_transfer_already_resolved")
        return hold

    def apply(self, op: Operation, now: datetime) -> ModelTransfer:
        if isinstance(op, TransferOp):
            if op.source == op.destination:
                raise ModelRejection("same_account")
            source, destination = self._account(op.source), self._account(op.destination)
            if not source.asset == destination.asset == op.asset:
                raise ModelRejection("asset_mismatch")
            posted, pending = (0, op.amount) if op.pending else (op.amount, 0)
            self._can_debit(source, posted, pending)
            self._can_credit(destination, posted, pending)
            self._move(source, destination, posted, pending)
            deadline = None
            if op.pending and op.timeout_seconds:
                deadline = now + timedelta(seconds=op.timeout_seconds)
            action, status = ("hold", "pending") if op.pending else ("transfer", "posted")
            return ModelTransfer(action, status, op.source, op.destination, op.amount, 0, deadline)
        if isinstance(op, PostOp):
            hold = self._hold(op.pending_id)
            if hold.expires_at is not None and now >= hold.expires_at:
                raise ModelRejection("pending_transfer_expired")
            amount = hold.amount if op.amount is None else op.amount
            if amount > hold.amount:
                raise ModelRejection("amount_exceeds_pending")
            source, destination = self._account(hold.source), self._account(hold.destination)
            self._can_debit(source, amount, -hold.amount)
            self._can_credit(destination, amount, -hold.amount)
            self._move(source, destination, amount, -hold.amount)
            hold.status, hold.settled = "posted", amount
            return ModelTransfer("post", "posted", hold.source, hold.destination, amount)
        if isinstance(op, VoidOp | ExpireOp):
            hold = self._hold(op.pending_id)
            source = self._account(hold.source, moving_money=False)
            destination = self._account(hold.destination, moving_money=False)
            self._move(source, destination, 0, -hold.amount)
            hold.status = "voided" if isinstance(op, VoidOp) else "expired"
            action = "void" if isinstance(op, VoidOp) else "expire"
            return ModelTransfer(action, "posted", hold.source, hold.destination, hold.amount)
        assert isinstance(op, ReverseOp)
        original = self.transfers.get(op.transfer_id)
        if original is None:
            raise ModelRejection("transfer_not_found")
        if original.action not in ("transfer", "post", "reverse") or original.status != "posted":
            raise ModelRejection("transfer_not_reversible")
        left = original.amount - original.settled
        amount = left if op.amount is None else op.amount
        if left == 0 or amount > left:
            raise ModelRejection("amount_exceeds_reversible")
        source = self._account(original.destination)
        destination = self._account(original.source)
        self._can_debit(source, amount, 0)
        self._can_credit(destination, amount, 0)
        self._move(source, destination, amount, 0)
        original.settled += amount
        return ModelTransfer("reverse", "posted", original.destination, original.source, amount)

    def apply_command(self, command: Command, now: datetime) -> list[ModelTransfer | str]:
        """Each operation's new transfer, or its rejection code."""
        if len(command.operations) == 1 or not command.linked:
            results: list[ModelTransfer | str] = []
            for op in command.operations:
                try:
                    results.append(self.apply(op, now))
                except ModelRejection as rejection:
                    results.append(rejection.code)
            return results
        saved = copy.deepcopy((self.accounts, self.transfers))
        done: list[ModelTransfer | str] = []
        for index, op in enumerate(command.operations):
            try:
                done.append(self.apply(op, now))
            except ModelRejection as rejection:
                self.accounts, self.transfers = saved
                codes = ["linked_event_failed"] * len(command.operations)
                codes[index] = rejection.code
                return list(codes)
        return done


# -- concurrent writers (module-level so that spawned processes can import them) -----------------


def writer_plan(ids: Sequence[uuid.UUID], seed: int, count: int) -> list[Command]:
    """Random keyed payments among ``ids``; about one in five is a hold, posted or voided at
    once by the same writer. Amounts are large against the funds, so many are refused."""
    rng = random.Random(seed)
    plan = []
    for i in range(count):
        source, destination = rng.sample(list(ids), 2)
        pending = rng.random() < 0.2
        op = TransferOp(
            source, destination, rng.randint(1, 60), "CNY", pending=pending,
            reference=f"w{seed}-{i}",
        )  # fmt: skip
        plan.append(Command((op,), idempotency=IdempotencyClaim("load", f"w{seed}-{i}", "f")))
    return plan


def run_writer(engine: Any, plan: Sequence[Command], seed: int) -> list[dict[str, Any]]:
    """Submit ``plan`` one command at a time; resolve each hold at once. Returns every outcome
    (holds' resolutions included), each tagged with its reference."""
    rng = random.Random(seed)
    outcomes = []
    for command in plan:
        [outcome] = engine.execute(command).outcomes
        outcomes.append(outcome)
        transfer = outcome.get("transfer")
        if transfer is not None and transfer["status"] == "pending":
            hold = uuid.UUID(transfer["id"])
            resolve: Operation = (
                VoidOp(hold)
                if rng.random() < 0.3
                else PostOp(hold, rng.randint(1, transfer["amount"]))
            )
            [resolution] = engine.execute(Command((resolve,))).outcomes
            outcomes.append(resolution)
    return outcomes


def process_writer(
    url: str, ids: list[uuid.UUID], seeds: list[int], count: int, go: Any, results: Any
) -> None:
    """One OS process: its own Database and LedgerEngine, a thread per seed."""
    from anxin.ledger.engine import LedgerEngine

    database = Database(url, pool_size=2)
    engine = LedgerEngine(database).start()
    collected: list[dict[str, Any]] = []
    failures: list[str] = []

    def work(seed: int) -> None:
        try:
            collected.extend(run_writer(engine, writer_plan(ids, seed, count), seed))
        except Exception as error:  # reported to the parent, which fails the test
            failures.append(repr(error))

    try:
        go.wait(60)
        threads = [threading.Thread(target=work, args=(s,)) for s in seeds]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        engine.stop()
        database.dispose()
    results.put((collected, failures))
