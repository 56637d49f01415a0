"""The ledger engine: a group-commit writer.

Request threads (or coroutines) ``submit`` commands and wait on a future. One writer thread
per process drains everything queued, applies it as one batch in one transaction, commits
once and resolves the futures. While one batch commits the next one fills, so concurrent
requests share commits and fsyncs: throughput grows with load instead of collapsing.

The writer thread is the edge of this job: it owns the unit of work of each batch.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, OperationalError

from anxin.kit.clock import Clock, SystemClock
from anxin.kit.db import Database
from anxin.kit.errors import ServiceUnavailable
from anxin.ledger.batch import apply_batch, expire_due
from anxin.ledger.commands import Command, CommandResult
from anxin.ledger.errors import IdempotencyKeyInFlight

log = logging.getLogger(__name__)

# PostgreSQL SQLSTATEs worth retrying as a whole batch: serialization failure, deadlock,
# and lost connections. (Ledger writers cannot deadlock each other; other writers might.)
_RETRYABLE_SQLSTATES = {"40001", "40P01", "08000", "08003", "08006", "57P01"}
_MAX_ATTEMPTS = 5


@dataclass(slots=True)
class _Submission:
    command: Command
    future: Future[CommandResult] = field(default_factory=Future)
    submitted_at: float = field(default_factory=time.perf_counter)


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
        self.batches = 0
        self.commit_latencies: deque[float] = deque(maxlen=100_000)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> LedgerEngine:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Finish everything already submitted, then stop."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None

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
        return submission.future

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
        return self._connection

    def _drop_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(DBAPIError):  # it may already be gone
                self._connection.close()
            self._connection = None

    def _commit_batch(self, commands: list[Command]) -> list[CommandResult]:
        """Apply and commit one batch, retrying transient database errors."""
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            connection = self._conn()
            try:
                with connection.begin():
                    results = apply_batch(connection, commands, self._clock.now())
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
            results = self._commit_batch(commands)
        except Exception as error:
            if len(batch) > 1:
                # Something in the batch breaks the database (a bug, not a rejection):
                # apply the commands one by one so only the culprit fails.
                log.exception("ledger batch of %d failed; isolating", len(batch))
                for submission in batch:
                    self._process([submission])
                return
            self._settle(batch[0], error=error)
            return
        self.batches += 1
        done = time.perf_counter()
        for submission, result in zip(batch, results, strict=True):
            self.commit_latencies.append(done - submission.submitted_at)
            self._settle(submission, result=result)

    def _settle(
        self,
        submission: _Submission,
        *,
        result: CommandResult | None = None,
        error: BaseException | None = None,
    ) -> None:
        claim = submission.command.idempotency
        if claim is not None:
            with self._condition:
                self._in_flight.discard((claim.scope, claim.key))
        if error is not None:
            log.error("ledger command failed: %s", error)
            submission.future.set_exception(
                ServiceUnavailable("the ledger could not record this request; retry it")
            )
        else:
            assert result is not None
            submission.future.set_result(result)

    def _expire(self) -> None:
        self._last_expiry = time.monotonic()
        try:
            connection = self._conn()
            with connection.begin():
                expire_due(connection, self._clock.now())
        except DBAPIError:
            log.exception("expiring pending transfers failed; will retry")
            self._drop_connection()
