"""``anxin reconcile`` and ``anxin wallet settle|sync|expire-points``: the wallet's jobs,
run on demand."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import typer

from anxin.cli.context import CliError, console, open_database, settings
from anxin.kit.clock import SystemClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.privacy.keys import KeyService, resolve_keyring
from anxin.wallet import points
from anxin.wallet.funding import SimulatedBankRail
from anxin.wallet.reconcile import reconcile as run_reconcile
from anxin.wallet.settlement import sync_pending

app = typer.Typer(help="Wallet jobs: the simulated bank, settlement, points expiry.",
                  no_args_is_help=True)  # fmt: skip


def _when(text: str | None, default: datetime, name: str) -> datetime:
    if text is None:
        return default
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise CliError(f"--{name} is not an ISO 8601 time: {text!r}") from error
    if moment.tzinfo is None:
        raise CliError(f"--{name} needs a time zone offset, e.g. {text}+08:00")
    return moment


def reconcile(
    since: Annotated[str | None, typer.Option(help="Start (ISO 8601); default 7 days ago")] = None,
    until: Annotated[str | None, typer.Option(help="End (ISO 8601); default now")] = None,
) -> None:
    """Match the bank's settlement records against the ledger, flag every mismatch for
    staff (and tell the holder), and print a summary. Exits 1 if it found new mismatches."""
    clock = SystemClock()
    end = _when(until, clock.now(), "until")
    start = _when(since, end - timedelta(days=7), "since")
    keys = KeyService(resolve_keyring(settings()))
    with open_database() as database:
        report = run_reconcile(
            database, SimulatedBankRail(database), keys.vault(), clock, since=start, until=end
        )
    console.print(
        f"reconciled {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC: "
        f"{report.sync.checked} pending order(s) brought up to date, "
        f"{report.records_checked} bank record(s) and {report.orders_checked} completed "
        f"order(s) checked, {report.matched} matched, {len(report.new_exceptions)} new "
        f"exception(s), {report.known_exceptions} already known",
        highlight=False,
        soft_wrap=True,
    )
    for row in report.new_exceptions:
        console.print(
            f"  {row.kind}: order {row.order_id or '-'} bank {row.provider_ref or '-'} "
            f"ledger {row.ledger_amount} bank {row.bank_amount} {row.asset}",
            highlight=False,
            soft_wrap=True,
        )
    if report.new_exceptions:
        raise typer.Exit(1)


@app.command("settle")
def settle(
    fail: Annotated[
        list[str] | None,
        typer.Option(help="Order id or bank reference the bank should refuse (repeatable)"),
    ] = None,
) -> None:
    """Simulated bank: settle every pending top-up and withdrawal, then apply the answers
    to the wallet (credit, pay out, or release)."""
    clock = SystemClock()
    keys = KeyService(resolve_keyring(settings()))
    with open_database() as database:
        bank = SimulatedBankRail(database)
        done = bank.settle_pending(clock.now(), fail=fail or ())
        report = sync_pending(database, bank, keys.vault(), clock)
    settled = sum(1 for s in done if s.status == "settled")
    console.print(
        f"bank: {settled} settled, {len(done) - settled} refused; wallet: {report.completed} "
        f"completed, {report.failed} failed, {report.still_pending} still pending",
        highlight=False,
        soft_wrap=True,
    )


@app.command("sync")
def sync() -> None:
    """Ask the bank about every pending top-up and withdrawal and apply its answers."""
    clock = SystemClock()
    keys = KeyService(resolve_keyring(settings()))
    with open_database() as database:
        report = sync_pending(database, SimulatedBankRail(database), keys.vault(), clock)
    console.print(
        f"{report.checked} pending order(s): {report.completed} completed, {report.failed} "
        f"failed, {report.still_pending} still pending ({report.submitted} sent again)",
        highlight=False,
        soft_wrap=True,
    )


@app.command("expire-points")
def expire_points() -> None:
    """Take back reward points past their expiry (and tell their holders)."""
    keys = KeyService(resolve_keyring(settings()))
    with open_database() as database, UnitOfWork(database) as uow:
        report = points.expire_points(uow.session, SystemClock().now(), vault=keys.vault())
        uow.commit()
    console.print(
        f"expired {report.points} point(s) of {report.holders} holder(s); "
        f"{report.skipped} frozen wallet(s) skipped",
        highlight=False,
        soft_wrap=True,
    )
