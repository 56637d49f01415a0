"""``anxin privacy plant-honeytoken|alerts|sweep``: privacy against insiders."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from anxin.cli.context import console, open_database, settings
from anxin.identity.passwords import PasswordHasher
from anxin.kit.clock import SystemClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.privacy import alerts, honeytokens
from anxin.privacy.keys import KeyService, resolve_keyring
from anxin.privacy.reveal import sweep_overdue

app = typer.Typer(help="Privacy against insiders: honeytokens, alerts.", no_args_is_help=True)


@app.command("plant-honeytoken")
def plant_honeytoken(
    email_domain: Annotated[
        str,
        typer.Option(help="A mail domain you control: decoys' addresses are there, so nothing "
                     "about a decoy reaches a real person"),
    ],
    count: Annotated[int, typer.Option(min=1, max=100, help="How many decoys")] = 1,
) -> None:  # fmt: skip
    """Plant decoy holders no legitimate case touches: any reveal, export or case about one
    alerts compliance at once. Which holders are decoys is not printed or stored in clear."""
    config = settings()
    keys = KeyService(resolve_keyring(config))
    hasher = PasswordHasher.from_settings(config)
    with open_database() as database, UnitOfWork(database) as uow:
        vault = keys.vault()
        for _ in range(count):
            honeytokens.plant(
                uow.session, vault, email_domain=email_domain, password_hash=hasher.unusable(),
                now=SystemClock().now(),
            )  # fmt: skip
        uow.commit()
    console.print(f"planted {count} decoy holder(s)")


@app.command("alerts")
def list_alerts(
    every: Annotated[bool, typer.Option("--all", help="Also acknowledged ones")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """Compliance alerts, newest first (open ones unless --all)."""
    table = Table("created", "kind", "severity", "staff", "holder", "acknowledged")
    with open_database() as database, UnitOfWork(database, write=False) as uow:
        for row in alerts.list_alerts(uow.session, open_only=not every, limit=limit):
            table.add_row(
                row.created_at.isoformat(timespec="seconds"), row.kind, row.severity,
                str(row.staff_id or ""), str(row.holder_id or ""),
                row.acknowledged_at.isoformat(timespec="seconds") if row.acknowledged_at else "",
            )  # fmt: skip
    console.print(table)


@app.command("sweep")
def sweep() -> None:
    """Escalate break-glass reviews past due (the server does this every checkpoint round)."""
    with open_database() as database, UnitOfWork(database) as uow:
        escalated = sweep_overdue(uow.session, SystemClock().now())
        uow.commit()
    console.print(f"escalated {escalated} overdue break-glass review(s)")
