"""``anxin bench ledger``: durable transfers per second through the ledger engine.

Client threads submit random transfers among many accounts and keep a window of requests
outstanding, the way concurrent API requests reach the engine; the engine group-commits
them. Every commit is durable: SQLite runs with synchronous=FULL in WAL mode, PostgreSQL
with synchronous_commit=on. The benchmark runs on a database it creates and drops (a
temporary SQLite file, or a temporary database on the given PostgreSQL server).
"""

from __future__ import annotations

import gc
import itertools
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import create_engine, make_url, text

from anxin import migrations
from anxin.cli.context import CliError, console
from anxin.kit.clock import SystemClock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.commands import Command, CommandResult, IdempotencyClaim, TransferOp
from anxin.ledger.engine import LedgerEngine
from anxin.ledger.service import create_account
from anxin.ledger.verify import verify_ledger

# Transfers pre-generated per run (all clients together); requests cycle through them.
_POOL_TRANSFERS = 200_000
# The engine's writer phases, in order; "other" is waiting for requests, GC, the GIL.
_PHASES = ("load", "apply", "write", "commit", "settle", "checkpoint")
_FINGERPRINT = "0" * 64  # the engine only compares it with a replay's

app = typer.Typer(help="Benchmarks that print numbers.", no_args_is_help=True)


@contextmanager
def scratch_database(target: str) -> Iterator[str]:
    """A fresh, empty database for the benchmark, removed afterwards."""
    if target == "sqlite" or target.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="anxin-bench-") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    url = make_url(target)
    if url.get_backend_name() != "postgresql":
        raise CliError("--db takes `sqlite` or a postgresql+psycopg:// URL")
    name = f"anxin_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, int(fraction * len(sorted_values)))
    return sorted_values[index]


@app.command("ledger")
def bench_ledger(
    db: Annotated[str, typer.Option(help="`sqlite` or a PostgreSQL URL (a temporary database "
                                          "is created on that server)")] = "sqlite",
    seconds: Annotated[float, typer.Option(min=1, help="How long to measure")] = 10,
    accounts: Annotated[int, typer.Option(min=2, help="Accounts to spread load over")] = 10_000,
    clients: Annotated[int, typer.Option(min=1, help="Concurrent client threads")] = 8,
    window: Annotated[int, typer.Option(min=1, help="Requests each client keeps in flight")] = 64,
    per_request: Annotated[int, typer.Option(min=1, max=1000,
                                             help="Transfers per request")] = 1,
    keys: Annotated[bool, typer.Option(help="Give every request its own idempotency key, "
                                            "as API requests have")] = False,
) -> None:  # fmt: skip
    """Apply random transfers through the engine and print transfers/s and commit latency."""
    clock = SystemClock()
    with scratch_database(db) as url:
        database = Database(url, pool_size=2)
        try:
            migrations.upgrade(database.engine)
            engine = LedgerEngine(database, clock=clock).start()
            try:
                ids = _setup(database, engine, accounts)
                load = _Load(clients, window, per_request, keys, accounts)
                stats = _measure(engine, ids, seconds, load)
            finally:
                engine.stop()
            with database.connect(write=False) as connection:
                report = verify_ledger(connection)
        finally:
            database.dispose()
    _print(db, stats, report.ok, load)
    if not report.ok:
        raise CliError("ledger verify failed after the benchmark: " + report.problems[0])


def _setup(database: Database, engine: LedgerEngine, count: int) -> list[uuid.UUID]:
    now = SystemClock().now()
    with UnitOfWork(database) as uow:
        funding = create_account(uow.session, asset="CNY", allow_negative=True, now=now)
        ids = [create_account(uow.session, asset="CNY", now=now).id for _ in range(count)]
        uow.commit()
    for start in range(0, count, 1000):
        ops = tuple(TransferOp(funding.id, i, 10**12, "CNY") for i in ids[start : start + 1000])
        engine.execute(Command(ops, linked=False))
    return ids


@dataclass(frozen=True)
class _Load:
    clients: int
    window: int
    per_request: int
    keys: bool
    accounts: int


class _Stats:
    def __init__(self) -> None:
        self.transfers = 0
        self.rejected = 0
        self.elapsed = 0.0
        self.cpu = 0.0  # this process's CPU seconds (all threads, user and system)
        self.batches = 0
        self.latencies: list[float] = []
        self.phases: dict[str, float] = {}


def _workload(
    ids: list[uuid.UUID], clients: int, per_request: int, seed: int = 0
) -> list[list[Command]]:
    """Each client's requests, made before the clock starts and replayed in a loop, so the
    measurement is of the engine and not of the random module or dataclass construction."""
    rnd = random.Random(seed)
    per_client = max(1, _POOL_TRANSFERS // (clients * per_request))
    pools = []
    for _ in range(clients):
        pool = []
        for _ in range(per_client):
            ops = []
            for _ in range(per_request):
                source, destination = rnd.sample(ids, 2)
                ops.append(TransferOp(source, destination, rnd.randint(1, 1000), "CNY"))
            pool.append(Command(tuple(ops), linked=False))
        pools.append(pool)
    return pools


def _measure(engine: LedgerEngine, ids: list[uuid.UUID], seconds: float, load: _Load) -> _Stats:
    stats = _Stats()
    lock = threading.Lock()
    stop_at = 0.0
    start_gate = threading.Barrier(load.clients + 1)
    pools = _workload(ids, load.clients, load.per_request)
    # Hundreds of thousands of long-lived objects that the cycle collector would otherwise
    # rescan on every full collection during the run: bench overhead, not engine work.
    gc.freeze()

    def client(number: int, pool: list[Command]) -> None:
        outstanding: deque[Future[CommandResult]] = deque()
        done = rejected = 0
        sent = itertools.count()
        start_gate.wait()
        while time.perf_counter() < stop_at:
            for planned in pool:
                command = planned
                if load.keys:  # a fresh key per request: a replay would not be new work
                    key = IdempotencyClaim("bench", f"{number}-{next(sent)}", _FINGERPRINT)
                    command = Command(planned.operations, linked=False, idempotency=key)
                outstanding.append(engine.submit(command))
                if len(outstanding) >= load.window:
                    outcomes = outstanding.popleft().result().outcomes
                    ok = sum(1 for o in outcomes if "transfer" in o)
                    done, rejected = done + ok, rejected + len(outcomes) - ok
                    if time.perf_counter() >= stop_at:
                        break
        while outstanding:
            outcomes = outstanding.popleft().result().outcomes
            ok = sum(1 for o in outcomes if "transfer" in o)
            done, rejected = done + ok, rejected + len(outcomes) - ok
        with lock:
            stats.transfers += done
            stats.rejected += rejected

    threads = [threading.Thread(target=client, args=item) for item in enumerate(pools)]
    for thread in threads:
        thread.start()
    engine.commit_latencies.clear()
    batches_before = engine.batches
    phases_before = dict(engine.phase_seconds)
    started, cpu_started = time.perf_counter(), time.process_time()
    stop_at = started + seconds
    start_gate.wait()
    for thread in threads:
        thread.join()
    stats.elapsed = time.perf_counter() - started
    stats.cpu = time.process_time() - cpu_started
    stats.batches = engine.batches - batches_before
    stats.phases = {
        phase: total - phases_before.get(phase, 0.0)
        for phase, total in engine.phase_seconds.items()
    }
    stats.latencies = sorted(engine.commit_latencies)
    gc.unfreeze()
    return stats


def _print(db: str, stats: _Stats, verified: bool, load: _Load) -> None:
    rate = stats.transfers / stats.elapsed
    lat = [x * 1000 for x in stats.latencies]
    backend = "SQLite (WAL, synchronous=FULL)" if db.startswith("sqlite") else (
        "PostgreSQL (synchronous_commit=on)")  # fmt: skip
    table = Table(title="anxin bench ledger", show_header=False)
    table.add_row("database", backend)
    keyed = ", each with an idempotency key" if load.keys else ""
    table.add_row("load", f"{load.clients} clients x {load.window} in flight, "
                          f"{load.per_request} transfer(s) per request{keyed}, "
                          f"{load.accounts} accounts")  # fmt: skip
    table.add_row("duration", f"{stats.elapsed:.1f} s")
    table.add_row("transfers committed", f"{stats.transfers}")
    table.add_row("transfers rejected", f"{stats.rejected}")
    table.add_row("throughput", f"[bold]{rate:,.0f} transfers/s[/]")
    per_commit = stats.transfers / max(stats.batches, 1)
    table.add_row("batches", f"{stats.batches} (mean {per_commit:,.0f} transfers per commit)")
    table.add_row(
        "request latency (submit to commit)",
        f"p50 {_percentile(lat, 0.50):.1f} ms, p90 {_percentile(lat, 0.90):.1f} ms, "
        f"p99 {_percentile(lat, 0.99):.1f} ms, max {max(lat, default=0):.1f} ms, "
        f"mean {statistics.fmean(lat) if lat else 0:.1f} ms",
    )
    per_transfer = 1e6 / max(stats.transfers, 1)
    busy = sum(stats.phases.values())
    phases = [(p, stats.phases.get(p, 0.0)) for p in _PHASES] + [("other", stats.elapsed - busy)]
    table.add_row(
        "writer time per transfer",
        ", ".join(f"{phase} {seconds * per_transfer:.1f} us" for phase, seconds in phases),
    )
    # Less sensitive than transfers/s to other load on the machine. PostgreSQL's own work
    # happens in its server processes and is not included.
    table.add_row(
        "process CPU per transfer",
        f"{stats.cpu * per_transfer:.1f} us ({stats.cpu / max(stats.elapsed, 1e-9):.2f} cores)",
    )
    table.add_row("ledger verify", "ok" if verified else "[red]FAILED[/]")
    console.print(table)
    print(f"RESULT transfers_per_second={rate:.0f} p50_ms={_percentile(lat, 0.5):.1f} "
          f"p99_ms={_percentile(lat, 0.99):.1f} cpu_us={stats.cpu * per_transfer:.1f}")  # fmt: skip


# Other benchmarks register their commands on ``app`` from their own modules.
from anxin.cli import bench_remediation  # noqa: E402, F401
