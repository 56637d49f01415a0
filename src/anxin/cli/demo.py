"""``anxin demo seed``."""

from __future__ import annotations

import typer
from rich.table import Table

from anxin.cli.context import CliError, console, open_database, settings
from anxin.demo.seed import seed_demo
from anxin.kit.clock import SystemClock

app = typer.Typer(help="Demo data for exploring Anxin.", no_args_is_help=True)


@app.command("seed")
def seed() -> None:
    """Create demo accounts, transfers and an API key (development only; idempotent)."""
    config = settings()
    if not config.is_development:
        raise CliError("demo data is only for ANXIN_ENV=development")
    key_file = config.home / "demo-api-key.txt"
    with open_database() as database:
        result = seed_demo(database, SystemClock(), key_file)
    table = Table("owner_ref", "account id")
    for ref, account_id in sorted(result.accounts.items()):
        table.add_row(ref, account_id)
    console.print("demo data created" if result.created else "demo data already present")
    console.print(table)
    console.print(f"demo API key (scope ledger) is in {key_file}", highlight=False)
