"""The ledger engine: a group-commit writer.

Request threads (or coroutines) ``submit`` commands and wait on a future. One writer thread
per process drains everything queued, applies it as one batch in one transaction, commits
once and resolves the futures. While one batch commits the next one fills, so concurrent
requests share commits and fsyncs: throughput grows with load instead of collapsing.

The writer thread is the edge of this job: it owns the unit of work of each batch.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from concurrent.futures import Future, InvalidStateError
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, OperationalError

from anxin.kit.clock import Clock, SystemClock
from anxin.kit.db import Database
from anxin.kit.errors import ServiceUnavailable
from anxin.ledger.batch import AccountCache, account_cache, apply_batch, expire_due, phase_seconds
from anxin.ledger.commands import Command, CommandResult
from anxin.ledger.errors import IdempotencyKeyInFlight

log = logging.getLogger(__name__)

# PostgreSQL SQLSTATEs worth retrying as a whole batch: serialization failure, deadlock,
# and lost connections. (Ledger writers cannot deadlock each other; other writers might.)
_RETRYABLE_SQLSTATES = {"40001", "40P01", "08000", "08003", "08006", "57P01"}
_MAX_ATTEMPTS = 5
# The SQLite writer's page cache, in KiB (SQLite's default is 2 MiB). A batch dirties
# thousands of pages (every account it touches, a leaf of the journal's per-account index
# per entry); with the default cache they spill to the WAL mid-transaction and are read
# back, and the next batch reads them again. Durability is unaffected.
_SQLITE_CACHE_KIB = 128 * 1024


class _Submission(Future[CommandResult]):
    """The caller's future, carrying its command: one object per request, not two."""

    def __init__(self, command: Command) -> None:
        super().__init__()
        self.command = command
        self.submitted_at = time.perf_counter()


class _Checkpointer:
    """SQLite only: copies committed WAL pages back into the database file on a thread and
    connection of its own.

    With SQLite's automatic checkpoint, the commit that takes the WAL past 1000 pages does
    that copy (and the database file's fsync) before it returns, and a ledger batch dirties
    more pages than that, so every commit paid for it. A passive checkpoint runs beside the
    writer instead. Durability does not change: a commit is durable when its WAL frames are
    synced, which the writer still does on every commit (synchronous=FULL).
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self._wake = threading.Event()
        self._stopping = False
        # Set when a round copied all of a long WAL: the writer then finishes the copy
        # between two batches, so its next transaction starts the WAL over (see _rewind).
        self.rewind_due = False
        self._thread = threading.Thread(target=self._run, name="ledger-checkpoint", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        connection: Connection | None = None
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopping:
                break
            if self.rewind_due:
                continue  # the writer finishes this copy; a round now would only collide
            try:
                if connection is None:  # first used after a commit: the database is there
                    connection = self._database.engine.connect()
                if _checkpoint(connection.connection.driver_connection):
                    self.rewind_due = True
            except Exception:  # never fatal: the WAL just grows until the next try
                log.exception("SQLite checkpoint failed")
                if connection is not None:
                    with contextlib.suppress(Exception):
                        connection.close()
                    connection = None
        if connection is not None:
            connection.close()


# Past this many WAL pages (64 MiB) the WAL is started over once it has all been copied,
# so it does not grow for as long as the load lasts: a long WAL makes every commit and page
# lookup slower (commits took 3-5 times longer at 1 GB).
_WAL_RESTART_PAGES = 16_384


def _checkpoint(raw: Any) -> bool:
    """One round on a SQLite driver connection: True if it copied all of a long WAL."""
    _, pages, copied = raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return bool(pages >= _WAL_RESTART_PAGES and copied == pages)


def _rewind(raw: Any) -> bool:
    """On the writer's connection, between transactions: copy the WAL's last frames (those
    committed since the checkpointer's round), so that the next write transaction, finding
    every frame copied, starts the WAL over. False if it could not (a checkpoint or a
    reader on an old snapshot was in the way).

    A RESTART checkpoint on the checkpointer's thread would do the same but has to wait for
    a moment with no write transaction; under steady load the writer begins the next one at
    once, so that moment never came and the WAL grew without bound.
    """
    busy, pages, copied = raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return bool(not busy and copied == pages)


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Keep the cycle collector out of a batch.

    A batch allocates several container objects per transfer (rows, states, outcomes) that
    mostly die by reference counting when it ends. Collected mid-batch, they are scanned
    again and again as they are promoted through the generations: about a fifth of the
    writer's CPU time in ``anxin bench ledger``. Pausing collection for the length of one
    batch costs nothing but a later, smaller collection. It is process-wide, so it is
    restored even on errors, and left alone if someone else had turned it off.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _is_retryable(error: DBAPIError) -> bool:
    if isinstance(error, OperationalError):
        return True  # SQLite "database is locked", dropped connections
    sqlstate = getattr(error.orig, "sqlstate", None)
    return sqlstate in _RETRYABLE_SQLSTATES


class LedgerEngine:
    def __init__(
        self,
        database: Database,
        *,
        clock: Clock | None = None,
        max_batch: int = 4096,
        expiry_interval: float = 1.0,
    ) -> None:
        self._database = database
        self._clock = clock or SystemClock()
        self._max_batch = max_batch
        self._expiry_interval = expiry_interval
        self._queue: deque[_Submission] = deque()
        self._condition = threading.Condition()
        self._in_flight: set[tuple[str, str]] = set()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._connection: Connection | None = None
        self._last_expiry = 0.0
        self._checkpointer: _Checkpointer | None = None
        # SQLite: account states kept between batches on the writer's connection.
        self._accounts = AccountCache() if database.is_sqlite else None
        self.batches = 0
        self.commit_latencies: deque[float] = deque(maxlen=100_000)
        # Writer seconds by phase (load, apply, write, commit, settle), for benchmarks.
        self.phase_seconds: defaultdict[str, float] = defaultdict(float)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> LedgerEngine:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
            self._thread.start()
            if self._database.is_sqlite:
                self._checkpointer = _Checkpointer(self._database)
        return self

    def stop(self) -> None:
        """Finish everything already submitted, then stop."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._drop_connection()
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None

    def __enter__(self) -> LedgerEngine:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- submitting -------------------------------------------------------------------------

    def submit(self, command: Command) -> Future[CommandResult]:
        submission = _Submission(command)
        claim = command.idempotency
        with self._condition:
            if self._stopping or self._thread is None:
                raise ServiceUnavailable("the ledger engine is not running")
            if claim is not None:
                key = (claim.scope, claim.key)
                if key in self._in_flight:
                    raise IdempotencyKeyInFlight()
                self._in_flight.add(key)
            self._queue.append(submission)
            self._condition.notify()
        return submission

    def execute(self, command: Command, timeout: float | None = None) -> CommandResult:
        return self.submit(command).result(timeout)

    # -- the writer -------------------------------------------------------------------------

    def _take_batch(self) -> list[_Submission]:
        with self._condition:
            while not self._queue and not self._stopping:
                if not self._condition.wait(timeout=self._expiry_interval):
                    return []  # idle: give the expiry sweep a turn
            batch: list[_Submission] = []
            operations = 0
            while self._queue and operations < self._max_batch:
                submission = self._queue.popleft()
                batch.append(submission)
                operations += len(submission.command.operations)
            return batch

    def _run(self) -> None:
        phase_seconds.set(self.phase_seconds)  # this thread's context only
        account_cache.set(self._accounts)
        while True:
            batch = self._take_batch()
            if batch:
                self._process(batch)
            elif self._stopping:
                return
            if time.monotonic() - self._last_expiry >= self._expiry_interval:
                self._expire()

    def _conn(self) -> Connection:
        if self._connection is None or self._connection.closed or self._connection.invalidated:
            self._connection = self._database.connect(write=True)
            if self._database.is_sqlite:
                self._pragma(f"cache_size = -{_SQLITE_CACHE_KIB}")
                self._pragma("wal_autocheckpoint = 0")  # see _Checkpointer
        return self._connection

    def _pragma(self, setting: str) -> None:
        # On the driver connection: through SQLAlchemy it would begin a transaction.
        assert self._connection is not None
        raw: Any = self._connection.connection.driver_connection
        raw.execute(f"PRAGMA {setting}")

    def _drop_connection(self) -> None:
        if self._accounts is not None:
            self._accounts.clear()  # they belonged to that connection's view
        if self._connection is not None:
            with contextlib.suppress(DBAPIError):  # it may already be gone
                if self._database.is_sqlite and not self._connection.invalidated:
                    self._pragma("cache_size = -2000")  # back to the pool as it came
                    self._pragma("wal_autocheckpoint = 1000")
                self._connection.close()
            self._connection = None

    def _commit_batch(self, commands: list[Command]) -> list[CommandResult]:
        """Apply and commit one batch, retrying transient database errors."""
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            connection = self._conn()
            try:
                with connection.begin():
                    results = apply_batch(connection, commands, self._clock.now())
                    committing = time.perf_counter()
                self.phase_seconds["commit"] += time.perf_counter() - committing
                if self._accounts is not None:
                    self._accounts.committed()
                return results
            except DBAPIError as error:
                self._drop_connection()
                if attempt == _MAX_ATTEMPTS or not _is_retryable(error):
                    raise
                log.warning("ledger batch failed (attempt %d), retrying: %s", attempt, error)
                time.sleep(0.01 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _process(self, batch: list[_Submission]) -> None:
        commands = [s.command for s in batch]
        try:
            with _no_cyclic_gc():
                results = self._commit_batch(commands)
        except Exception as error:
            if len(batch) > 1:
                # Something in the batch breaks the database (a bug, not a rejection):
                # apply the commands one by one so only the culprit fails.
                log.exception("ledger batch of %d failed; isolating", len(batch))
                for submission in batch:
                    self._process([submission])
                return
            log.error("ledger command failed: %s", error)
            self._release_claims(batch)
            with contextlib.suppress(InvalidStateError):  # the caller cancelled its wait
                batch[0].set_exception(
                    ServiceUnavailable("the ledger could not record this request; retry it")
                )
            return
        self.batches += 1
        done = time.perf_counter()
        self._settle(batch, results)
        self.phase_seconds["settle"] += time.perf_counter() - done
        if self._checkpointer is not None:
            if self._checkpointer.rewind_due:
                self._rewind_wal()
            self._checkpointer.poke()

    def _rewind_wal(self) -> None:
        assert self._checkpointer is not None
        started = time.perf_counter()
        try:
            raw: Any = self._conn().connection.driver_connection
            if _rewind(raw):
                self._checkpointer.rewind_due = False
        except Exception:  # never fatal: the next batch tries again
            log.exception("SQLite WAL rewind failed")
        self.phase_seconds["checkpoint"] += time.perf_counter() - started

    def _settle(self, batch: list[_Submission], results: list[CommandResult]) -> None:
        done = time.perf_counter()
        self.commit_latencies.extend([done - s.submitted_at for s in batch])
        # Claims go before results, so a caller that retries its key at once never sees 409.
        self._release_claims(batch)
        for submission, result in zip(batch, results, strict=True):
            # A bare try costs nothing when nothing is raised; suppress() would cost an object
            # per request.
            try:  # noqa: SIM105
                submission.set_result(result)
            except InvalidStateError:
                # The caller cancelled its wait (e.g. asyncio.wrap_future of a request that
                # went away). The command is committed all the same; nobody is told.
                pass

    def _release_claims(self, batch: list[_Submission]) -> None:
        claims = [
            (claim.scope, claim.key)
            for submission in batch
            if (claim := submission.command.idempotency) is not None
        ]
        if claims:
            with self._condition:  # one lock round per batch, not per command
                self._in_flight.difference_update(claims)

    def _expire(self) -> None:
        self._last_expiry = time.monotonic()
        try:
            connection = self._conn()
            with connection.begin():
                expire_due(connection, self._clock.now())
            if self._accounts is not None:
                self._accounts.committed()
        except DBAPIError:
            log.exception("expiring pending transfers failed; will retry")
            self._drop_connection()
