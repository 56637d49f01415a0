"""Entry point: ``anxin --help``."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from anxin.cli import accounts, apikeys, bench, demo, dev, keys, ledger, server, staff
from anxin.cli import audit as audit_cli
from anxin.cli import care as care_cli
from anxin.cli import incidents as incidents_cli
from anxin.cli import merchant as merchant_cli
from anxin.cli import privacy as privacy_cli
from anxin.cli import rights as rights_cli
from anxin.cli import wallet as wallet_cli
from anxin.cli.context import errors
from anxin.kit.errors import AnxinError

app = typer.Typer(
    name="anxin",
    help="Anxin (安心): a digital wallet whose ledger cannot create or lose money.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("migrate")(server.migrate)
app.command("serve")(server.serve)
app.add_typer(apikeys.app, name="apikey")
app.add_typer(ledger.app, name="ledger")
app.add_typer(accounts.app, name="account")
app.add_typer(bench.app, name="bench")
app.add_typer(demo.app, name="demo")
app.add_typer(keys.app, name="keys")
app.add_typer(staff.app, name="staff")
app.add_typer(dev.app, name="dev")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(privacy_cli.app, name="privacy")
app.add_typer(rights_cli.app, name="rights")
app.add_typer(merchant_cli.app, name="merchant")
app.command("reconcile")(wallet_cli.reconcile)
app.add_typer(wallet_cli.app, name="wallet")
app.add_typer(care_cli.app, name="care")
app.add_typer(incidents_cli.app, name="incident")


def _fail(message: str) -> None:
    errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    sys.exit(1)


def run() -> None:
    try:
        app()
    except AnxinError as error:
        _fail(error.detail)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        _fail(f"invalid setting {where.upper() and 'ANXIN_' + where.upper()}: {first['msg']}")
    except OperationalError as error:
        _fail(f"cannot use the database: {str(error.orig).strip().splitlines()[0]}")
    except SQLAlchemyError as error:
        _fail(f"database error: {str(error).strip().splitlines()[0]}")
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    run()
