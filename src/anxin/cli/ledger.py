"""``anxin ledger verify|expire|purge-keys``."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from sqlalchemy import delete

from anxin.cli.context import console, errors, open_database, settings
from anxin.kit.clock import SystemClock
from anxin.ledger.batch import expire_due
from anxin.ledger.verify import verify_ledger
from anxin.models import IdempotencyKey

app = typer.Typer(help="Ledger maintenance and checks.", no_args_is_help=True)


@app.command("verify")
def verify(
    db: Annotated[
        str | None, typer.Option(help="Database URL (default: ANXIN_DATABASE_URL)")
    ] = None,
) -> None:
    """Check every ledger invariant; print `ok`, or each problem found and exit 1."""
    with open_database(db) as database, database.connect(write=False) as connection:
        report = verify_ledger(
            connection, progress=lambda n: errors.print(f"... {n} journal entries checked")
        )
    if report.ok:
        console.print(
            f"ok: {report.accounts_checked} accounts, {report.transfers_checked} transfers, "
            f"{report.entries_checked} journal entries, hash chain intact",
            highlight=False,
        )
        return
    for problem in report.problems:
        errors.print(f"[red]problem:[/] {problem}", highlight=False, soft_wrap=True)
    errors.print(f"[bold red]ledger verification failed:[/] {len(report.problems)} problem(s)")
    raise typer.Exit(1)


@app.command("expire")
def expire() -> None:
    """Expire pending transfers past their deadline now (the server also does this)."""
    total = 0
    with open_database() as database, database.connect(write=True) as connection:
        while True:
            with connection.begin():
                expired = expire_due(connection, SystemClock().now())
            total += expired
            if expired == 0:
                break
    console.print(f"expired {total} pending transfer(s)")


@app.command("purge-keys")
def purge_keys() -> None:
    """Forget idempotency keys older than ANXIN_IDEMPOTENCY_RETENTION_HOURS."""
    cutoff = SystemClock().now() - timedelta(hours=settings().idempotency_retention_hours)
    with (
        open_database() as database,
        database.connect(write=True) as connection,
        connection.begin(),
    ):
        result = connection.execute(
            delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)
        )
    console.print(
        f"purged {result.rowcount} idempotency key(s) older than {cutoff:%Y-%m-%d %H:%M} UTC"
    )
