"""``anxin bench remediation``: pay an incident's affected holders back, end to end.

On a scratch database (like ``anxin bench ledger``): holders with funded wallets, each
debited once by a shop, all affected by one incident whose facts name those debits. Then,
timed: prepare the plan (refund every debit plus a goodwill credit), approve it as a second
staff member, and execute it through the ledger's batch path, one transaction per chunk.
Prints holders paid per second and the seconds of each step, checks that every holder was
paid exactly once and that ``ledger verify`` is ok.

Setup writes holders, their ledger accounts and the affected-holder rows with multi-row
inserts of exactly the rows the per-holder code paths write (signing up 100,000 holders
one by one would take longer than what is measured); the money (funding and the shop's
debits) goes through ``apply_batch`` like any other ledger write.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from anxin import migrations
from anxin.cli.bench import app, scratch_database
from anxin.cli.context import CliError, console
from anxin.incidents import remediation_approval, remediation_plan
from anxin.incidents.remediation_runner import CHUNK_ITEMS, run_plan
from anxin.incidents.remediation_spec import parse_spec
from anxin.incidents.service import open_incident
from anxin.kit.clock import SystemClock
from anxin.kit.db import Database
from anxin.kit.ids import new_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.batch import apply_batch
from anxin.ledger.commands import Command, TransferOp
from anxin.ledger.verify import verify_ledger
from anxin.models import Account, Transfer, User, WalletAccount
from anxin.models.incidents import AffectedHolder, Incident
from anxin.privacy.keyring import generate_keyring
from anxin.privacy.keys import KeyService
from anxin.wallet.accounts import holder_owner, system_account

DEBIT = 38_00  # what the shop took from each holder
GOODWILL = 10_00
_BATCH = 5000
T = TypeVar("T")


def _timed(seconds: dict[str, float], step: str, work: Callable[[], T]) -> T:
    """Run ``work``, keeping its wall seconds under ``step`` and this process's CPU
    seconds under ``step + " cpu"`` (on a busy machine the two tell different stories)."""
    started, cpu = time.perf_counter(), time.process_time()
    result = work()
    seconds[step] = time.perf_counter() - started
    seconds[f"{step} cpu"] = time.process_time() - cpu
    return result


def _user_row(user_id: uuid.UUID, now: datetime, role: str | None = None) -> dict[str, Any]:
    return {
        "id": user_id, "kind": "staff" if role else "holder", "role": role, "status": "active",
        "pseudonym": f"bench-{user_id.hex[-12:]}" if role else None, "display_name_enc": None,
        "locale": "zh-CN", "tier": "basic", "password_hash": "unused",
        "password_changed_at": now, "failed_passwords": 0, "failed_factors": 0,
        "locked_until": None, "daily_limit": None, "created_at": now, "updated_at": now,
    }  # fmt: skip


def _holders(session: Session, count: int, now: datetime) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """``count`` holders with an empty CNY wallet each: (holder id, ledger account id)."""
    made = [(new_id(), new_id()) for _ in range(count)]
    for start in range(0, count, _BATCH):
        part = made[start : start + _BATCH]
        session.execute(insert(User), [_user_row(h, now) for h, _ in part])
        session.execute(insert(Account), [{
            "id": a, "asset": "CNY", "allow_negative": False, "status": "active",
            "status_reason": None, "owner_ref": holder_owner(h), "label": "wallet CNY",
            "meta": {}, "debits_posted": 0, "credits_posted": 0, "debits_pending": 0,
            "credits_pending": 0, "created_at": now, "updated_at": now,
        } for h, a in part])  # fmt: skip
        session.execute(insert(WalletAccount), [{
            "owner": holder_owner(h), "asset": "CNY", "account_id": a, "user_id": h,
            "created_at": now,
        } for h, a in part])  # fmt: skip
    return made


def _debits(session: Session, wallets: list[tuple[uuid.UUID, uuid.UUID]],
            now: datetime) -> list[uuid.UUID]:  # fmt: skip
    """Fund every wallet and let the shop take ``DEBIT`` from each; the debits' ids."""
    bank = system_account(session, "bank_settlement", "CNY", now).id
    shop = system_account(session, "merchant_settlement:bench-shop", "CNY", now).id
    session.flush()
    debits: list[uuid.UUID] = []
    for start in range(0, len(wallets), _BATCH):
        part = wallets[start : start + _BATCH]
        ops = [TransferOp(bank, a, 100_00, "CNY", kind="topup") for _, a in part]
        [funded] = apply_batch(session.connection(), [Command(tuple(ops), linked=False)], now)
        assert funded.ok, funded.outcomes[:1]
        ops = [TransferOp(a, shop, DEBIT, "CNY", kind="payment", reference="bench-shop",
                          metadata={"counterparty": "Bench Shop"}) for _, a in part]  # fmt: skip
        [taken] = apply_batch(session.connection(), [Command(tuple(ops), linked=False)], now)
        assert taken.ok, taken.outcomes[:1]
        debits.extend(uuid.UUID(o["transfer"]["id"]) for o in taken.outcomes)
    return debits


def _setup(database: Database, count: int) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """The incident and its affected holders; the preparer's and the approver's ids."""
    now = SystemClock().now() - timedelta(hours=1)
    with UnitOfWork(database) as uow:
        s = uow.session
        preparer, approver = new_id(), new_id()
        s.execute(insert(User), [_user_row(preparer, now, "senior_agent"),
                                 _user_row(approver, now, "risk_officer")])  # fmt: skip
        wallets = _holders(s, count, now)
        debits = _debits(s, wallets, now)
        incident = open_incident(s, title="Bench shop charged twice", now=now)
        for start in range(0, count, _BATCH):
            rows = [{
                "incident_id": incident.id, "holder_id": h, "source": "query",
                "facts": {"transfers": [{"id": str(t), "amount": DEBIT}]}, "added_at": now,
                "notified_at": None, "resolution_notified_at": None,
            } for (h, _), t in zip(wallets[start : start + _BATCH],
                                   debits[start : start + _BATCH], strict=True)]  # fmt: skip
            s.execute(insert(AffectedHolder), rows)
        uow.commit()
        return incident.id, preparer, approver


def _paid_once(database: Database, reference: str, count: int) -> bool:
    """Every holder got exactly one refund and one goodwill credit."""
    with UnitOfWork(database, write=False) as uow:
        per_destination = (
            select(Transfer.destination_id, func.count().label("n"))
            .where(Transfer.reference.like(f"{reference}:%"))
            .group_by(Transfer.destination_id)
            .subquery()
        )
        rows = uow.session.execute(
            select(per_destination.c.n, func.count()).group_by(per_destination.c.n)
        ).all()
    return [tuple(r) for r in rows] == [(2, count)]


@app.command("remediation")
def bench_remediation(
    holders: Annotated[int, typer.Option(min=1, max=1_000_000,
                                         help="Affected holders to pay back")] = 100_000,
    db: Annotated[str, typer.Option(help="`sqlite` or a PostgreSQL URL (a temporary database "
                                         "is created on that server)")] = "sqlite",
    chunk: Annotated[int, typer.Option(min=10, max=10_000,
                                       help="Items per transaction")] = CHUNK_ITEMS,
) -> None:  # fmt: skip
    """Pay back many affected holders (prepare, approve, execute); print holders/s.

    Each step's wall and CPU seconds are printed too; the database is a scratch one."""
    clock = SystemClock()
    vault = KeyService(generate_keyring(development=True)).vault()
    seconds: dict[str, float] = {}
    spec = parse_spec({"note": "bench", "refund": {},
                       "goodwill": {"amount": GOODWILL, "asset": "CNY"}})  # fmt: skip
    with scratch_database(db) as url:
        database = Database(url, pool_size=2)
        try:
            migrations.upgrade(database.engine)
            incident_id, preparer, approver = _timed(
                seconds, "setup", lambda: _setup(database, holders)
            )

            def prepare() -> tuple[uuid.UUID, int, str]:
                with UnitOfWork(database) as uow:
                    s = uow.session
                    incident = s.get(Incident, incident_id)
                    staff = s.get(User, preparer)
                    assert incident is not None and staff is not None
                    plan, _ = remediation_plan.prepare(s, incident, spec, staff=staff,
                                                       now=clock.now())  # fmt: skip
                    uow.commit()
                    return plan.id, plan.item_count, incident.reference

            plan_id, items, reference = _timed(seconds, "prepare", prepare)

            def approve() -> None:
                with UnitOfWork(database) as uow:
                    staff = uow.session.get(User, approver)
                    assert staff is not None
                    remediation_approval.approve(uow.session, plan_id, staff, now=clock.now())
                    uow.commit()

            _timed(seconds, "approve", approve)
            run = _timed(seconds, "execute", lambda: run_plan(
                database, vault, plan_id, approver, clock=clock, chunk_items=chunk))  # fmt: skip
            once = _paid_once(database, reference, holders)
            with database.connect(write=False) as connection:
                report = verify_ledger(connection)
        finally:
            database.dispose()
    _print(db, holders, items, chunk, seconds, run.finished and run.failed == 0, once, report.ok)
    if not (report.ok and once and run.finished and run.failed == 0):
        raise CliError("the remediation benchmark did not pay every holder exactly once")


def _print(db: str, holders: int, items: int, chunk: int, seconds: dict[str, float],
           finished: bool, once: bool, verified: bool) -> None:  # fmt: skip
    total = seconds["prepare"] + seconds["approve"] + seconds["execute"]
    backend = "SQLite (WAL, synchronous=FULL)" if db.startswith("sqlite") else "PostgreSQL"
    table = Table(title="anxin bench remediation", show_header=False)
    table.add_row("database", backend)
    table.add_row("plan", f"{holders:,} holders: refund of one debit + goodwill each, "
                          f"{items:,} items, {chunk} items per transaction")  # fmt: skip
    table.add_row("setup (not timed)", f"{seconds['setup']:.1f} s")
    for step in ("prepare", "approve", "execute"):
        table.add_row(step, f"{seconds[step]:.1f} s (CPU {seconds[step + ' cpu']:.1f} s)")
    cpu = sum(seconds[f"{step} cpu"] for step in ("prepare", "approve", "execute"))
    table.add_row("[bold]total (prepare + approve + execute)[/]",
                  f"[bold]{total:.1f} s[/] (CPU of this process {cpu:.1f} s)")  # fmt: skip
    table.add_row("holders paid per second (execute)",
                  f"[bold]{holders / seconds['execute']:,.0f}[/]")  # fmt: skip
    table.add_row("holders paid per second (total)", f"{holders / total:,.0f}")
    table.add_row("every item done", "ok" if finished else "[red]NO[/]")
    table.add_row("every holder paid exactly once", "ok" if once else "[red]NO[/]")
    table.add_row("ledger verify", "ok" if verified else "[red]FAILED[/]")
    console.print(table)
    print(f"RESULT holders={holders} total_seconds={total:.1f} cpu_seconds={cpu:.1f} "
          f"execute_seconds={seconds['execute']:.1f} "
          f"holders_per_second={holders / seconds['execute']:.0f}")  # fmt: skip
