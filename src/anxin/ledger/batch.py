"""One group commit: load what a batch refers to, apply it in memory, write it set-based.

Every ledger write, from any process, first locks the single chain-head row. That one lock
is what makes the journal a single hash chain with gapless sequence numbers, and it means
no two batches can interleave, so there is no lost update, no overdraft and no deadlock
between ledger writers. Throughput comes from batching many commands under one lock and
one commit instead of from fine-grained locks.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import MutableMapping, Sequence
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from anxin.ledger.apply import AccountState, BatchApplier, TransferState, referenced_ids
from anxin.ledger.bulk import BulkWriter, bulk_writer
from anxin.ledger.commands import Command, CommandResult, ExpireOp
from anxin.models import Transfer

transfers_table = Transfer.__table__


def _load_accounts(writer: BulkWriter, ids: set[uuid.UUID]) -> dict[uuid.UUID, AccountState]:
    # Rows come back keyed by hex; map them to the UUIDs the commands already carry
    # rather than parsing a new UUID object per row.
    wanted = {account_id.hex: account_id for account_id in ids}
    found: dict[uuid.UUID, AccountState] = {}
    # No sorting here: PostgreSQL locks in id order by its ORDER BY; SQLite needs none.
    for hex_id, asset, negative, status, dp, cp, dpend, cpend in writer.load_accounts(list(wanted)):
        account_id = wanted[hex_id]
        found[account_id] = AccountState(
            account_id, asset, bool(negative), status, dp, cp, dpend, cpend, False, hex_id
        )
    return found


def _load_transfers(writer: BulkWriter, ids: set[uuid.UUID]) -> dict[uuid.UUID, TransferState]:
    wanted = {transfer_id.hex: transfer_id for transfer_id in ids}
    found: dict[uuid.UUID, TransferState] = {}
    for row in writer.load_transfers(list(wanted)):
        transfer_id = wanted[row[0]]
        found[transfer_id] = TransferState(
            transfer_id, row[1], row[2], uuid.UUID(row[3]), uuid.UUID(row[4]), *row[5:]
        )
    return found


class AccountCache:
    """The accounts one SQLite writer connection has read or written, kept between batches.

    Loading a batch's accounts was a tenth of the writer's time. The cached states are exact
    as long as nothing else has committed to the database since this connection's last
    commit, which SQLite tells by ``PRAGMA data_version``; then even a status change made
    elsewhere (freeze, close) cannot have been missed. Any other writer, a failed batch or a
    batch whose commit is not confirmed empties the cache, and everything is read afresh.
    """

    def __init__(self, limit: int = 100_000) -> None:
        self.accounts: dict[uuid.UUID, AccountState] = {}
        self._limit = limit
        self._valid_for: int | None = None  # data_version the states match, once committed
        self._pending: int | None = None

    def open(self, version: int) -> dict[uuid.UUID, AccountState]:
        """The cached states for a batch in a transaction that saw ``version``."""
        if version != self._valid_for or len(self.accounts) > self._limit:
            self.accounts.clear()
        # Until committed() the states hold uncommitted changes: a batch that never
        # confirms leaves a cache that the next one throws away.
        self._valid_for, self._pending = None, version
        return self.accounts

    def committed(self) -> None:
        """The transaction that last opened the cache has committed."""
        if self._pending is not None:  # a transaction that never opened it changes nothing
            self._valid_for, self._pending = self._pending, None

    def clear(self) -> None:
        self.accounts.clear()
        self._valid_for = self._pending = None


# The engine's writer thread sets its connection's cache here; apply_batch uses it if set.
account_cache: ContextVar[AccountCache | None] = ContextVar("ledger_account_cache", default=None)


def _accounts_for(writer: BulkWriter, ids: set[uuid.UUID]) -> dict[uuid.UUID, AccountState]:
    cache = account_cache.get()
    version = None if cache is None else writer.data_version()
    if cache is None or version is None:
        return _load_accounts(writer, ids) if ids else {}
    accounts = cache.open(version)
    missing = ids.difference(accounts)
    if missing:
        accounts.update(_load_accounts(writer, missing))
    return accounts


def _load_keys(
    writer: BulkWriter, claims: set[tuple[str, str]]
) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    return {
        (scope, key): (fingerprint, result)
        for scope, key, fingerprint, result in writer.load_keys(sorted(claims))
    }


# Where apply_batch adds up its seconds by phase (load, apply, write), if anywhere. The
# engine's writer thread sets it; benchmarks print it.
phase_seconds: ContextVar[MutableMapping[str, float] | None] = ContextVar(
    "ledger_phase_seconds", default=None
)


def apply_batch(
    connection: Connection, commands: Sequence[Command], now: datetime
) -> list[CommandResult]:
    """Apply ``commands`` inside the caller's open transaction; the caller commits.

    The result list matches ``commands`` one to one. Rejected operations leave nothing
    behind but, for a keyed command, the stored rejection that a replay will return.
    """
    started = time.perf_counter()
    writer = bulk_writer(connection)
    last_seq, last_hash, last_at = writer.lock_head()
    # The journal's time never runs backwards, even if clocks differ between processes.
    if last_at is not None and now < last_at:
        now = last_at
    claims = {
        (c.idempotency.scope, c.idempotency.key) for c in commands if c.idempotency is not None
    }
    stored = _load_keys(writer, claims) if claims else {}
    account_ids, transfer_ids = referenced_ids(list(commands))
    transfers = _load_transfers(writer, transfer_ids) if transfer_ids else {}
    for transfer in transfers.values():
        account_ids.add(transfer.source_id)
        account_ids.add(transfer.destination_id)
    accounts = _accounts_for(writer, account_ids)

    loaded = time.perf_counter()
    applier = BatchApplier(
        accounts=accounts, transfers=transfers, now=now, last_seq=last_seq,
        last_hash=last_hash, render_time=writer.render_time,
    )  # fmt: skip
    results: list[CommandResult] = []
    new_keys: list[tuple[Any, ...]] = []
    new_rows = (applier.new_transfers, applier.new_entries)
    with writer.stream_rows(*new_rows, len(commands)) as stream:
        for done, command in enumerate(commands, 1):
            claim = command.idempotency
            if claim is not None and (claim.scope, claim.key) in stored:
                fingerprint, result = stored[(claim.scope, claim.key)]
                if fingerprint != claim.fingerprint:
                    results.append(CommandResult(outcomes=[], key_reused=True))
                else:
                    results.append(CommandResult.from_json(result, replayed=True))
                continue
            outcome = CommandResult(outcomes=applier.apply(command))
            results.append(outcome)
            if claim is not None:
                stored_result = outcome.to_json()
                stored[(claim.scope, claim.key)] = (claim.fingerprint, stored_result)
                new_keys.append((claim.scope, claim.key, claim.fingerprint, stored_result, now))
            # Between commands no linked group is open: every row so far is final.
            stream.pump(done)
        applied = time.perf_counter()
    _write(writer, applier, new_keys)
    timings = phase_seconds.get()
    if timings is not None:
        for phase, seconds in (
            ("load", loaded - started),
            ("apply", applied - loaded),
            ("write", time.perf_counter() - applied),
        ):
            timings[phase] = timings.get(phase, 0.0) + seconds
    return results


def _write(
    writer: BulkWriter,
    applier: BatchApplier,
    new_keys: list[tuple[Any, ...]],
) -> None:
    if new_keys:
        writer.insert_keys(new_keys)
    changed = [a for a in applier.changed_accounts if a.dirty]
    changed_accounts = [
        (a.hex, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending)
        for a in changed
    ]
    for account in changed:  # cached states begin the next batch clean
        account.dirty = False
    if changed_accounts:
        writer.update_accounts(changed_accounts, applier.now)
    changed_transfers = [
        (t.id.hex, t.status, t.settled_amount) for t in applier.transfers.values() if t.dirty
    ]
    if changed_transfers:
        writer.update_transfers(changed_transfers)
    if applier.new_entries:
        writer.update_head(applier.seq, applier.hash, applier.now)


def due_holds(connection: Connection, now: datetime, limit: int) -> list[uuid.UUID]:
    t = transfers_table.c
    query = (
        select(t.id)
        .where(t.status == "pending", t.expires_at.is_not(None), t.expires_at <= now)
        .order_by(t.expires_at)
        .limit(limit)
    )
    return list(connection.scalars(query))


def expire_due(connection: Connection, now: datetime, limit: int = 1000) -> int:
    """Expire holds past their deadline, in the caller's transaction. Returns how many."""
    due = due_holds(connection, now, limit)
    if not due:
        return 0
    commands = [Command(operations=(ExpireOp(pending_id),)) for pending_id in due]
    results = apply_batch(connection, commands, now)
    return sum(1 for r in results if r.ok)
