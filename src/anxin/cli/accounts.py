"""``anxin account create|show``: for operators working without the API."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

import typer
from pydantic import ValidationError

from anxin.cli.context import CliError, console, open_database
from anxin.kit.clock import SystemClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger import repository, service
from anxin.ledger.schemas import AccountCreate

app = typer.Typer(help="Ledger accounts.", no_args_is_help=True)


def _parse_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as error:
        raise CliError(f"{value!r} is not an account id") from error


@app.command("create")
def create(
    asset: Annotated[str, typer.Option(help="ISO 4217 code or a defined asset")],
    allow_negative: Annotated[bool, typer.Option(help="For funding/settlement accounts")] = False,
    label: Annotated[str | None, typer.Option()] = None,
    owner_ref: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create an account and print its id."""
    try:
        # The API's own rules, so an account made here could have been made there.
        AccountCreate(asset=asset, allow_negative=allow_negative, label=label,
                      owner_ref=owner_ref)  # fmt: skip
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())).replace("_", "-")
        raise CliError(f"--{where}: {first['msg']}") from error
    with open_database() as database, UnitOfWork(database) as uow:
        account = service.create_account(
            uow.session, asset=asset, allow_negative=allow_negative, label=label,
            owner_ref=owner_ref, now=SystemClock().now(),
        )  # fmt: skip
        uow.commit()
    print(account.id)


@app.command("show")
def show(account_id: str) -> None:
    """Print an account and its balance as JSON."""
    with open_database() as database, UnitOfWork(database, write=False) as uow:
        account = repository.get_account(uow.session, _parse_id(account_id))
        balance = service.balance_of(account)
        doc = {
            "id": str(account.id), "asset": account.asset, "status": account.status,
            "status_reason": account.status_reason, "allow_negative": account.allow_negative,
            "label": account.label, "owner_ref": account.owner_ref,
            "balance": {"posted": balance.posted, "pending": balance.pending,
                        "available": balance.available},
        }  # fmt: skip
    console.print_json(json.dumps(doc))
