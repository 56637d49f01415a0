"""``anxin apikey create|list|revoke``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from anxin.apikeys import service
from anxin.cli.context import console, open_database
from anxin.kit.clock import SystemClock
from anxin.kit.unit_of_work import UnitOfWork

app = typer.Typer(help="Operator API keys.", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Who or what uses the key")],
    scopes: Annotated[str, typer.Option(help="Comma-separated: " + ", ".join(service.SCOPES))],
) -> None:
    """Create a key. The key itself is printed once, alone on the last line."""
    scope_list = service.parse_scopes(scopes)
    with open_database() as database, UnitOfWork(database) as uow:
        created = service.create_key(
            uow.session, name=name, scopes=scope_list, now=SystemClock().now()
        )
        uow.commit()
    console.print(
        f"created API key {created.key.prefix} ({created.key.name}) with scopes "
        f"{', '.join(scope_list)}; it is shown only now:",
        highlight=False,
    )
    print(created.plaintext)


@app.command("list")
def list_() -> None:
    """List keys (never their secrets)."""
    # Only the name may wrap: prefixes and times must stay whole in a narrow terminal or pipe.
    table = Table("name")
    for header in ("prefix", "scopes", "created (UTC)", "revoked (UTC)"):
        table.add_column(header, no_wrap=True)
    # Rows are read inside the unit of work: leaving it rolls back and expires them.
    with open_database() as database, UnitOfWork(database, write=False) as uow:
        for key in service.list_keys(uow.session):
            revoked = f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else ""
            created = f"{key.created_at:%Y-%m-%d %H:%M}"
            table.add_row(key.name, key.prefix, ",".join(key.scopes), created, revoked)
    console.print(table)


@app.command("revoke")
def revoke(key: Annotated[str, typer.Argument(help="The key's prefix or id")]) -> None:
    """Revoke a key: it stops working at once."""
    with open_database() as database, UnitOfWork(database) as uow:
        revoked = service.revoke_key(uow.session, key, now=SystemClock().now())
        uow.commit()
    console.print(f"revoked API key {revoked.prefix} ({revoked.name})")
