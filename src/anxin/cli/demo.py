"""``anxin demo seed`` and ``anxin demo totp``."""

from __future__ import annotations

from typing import Annotated

import typer

from anxin.cli.context import CliError, console, open_database, settings
from anxin.demo import holders, staff
from anxin.demo.seed import seed_demo
from anxin.kit.clock import SystemClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.privacy.keys import KeyService, resolve_keyring
from anxin.wallet.notify import format_amount

app = typer.Typer(help="Demo data for exploring Anxin.", no_args_is_help=True)


def _development() -> None:
    if not settings().is_development:
        raise CliError("demo data is only for ANXIN_ENV=development")


@app.command("seed")
def seed() -> None:
    """Create demo holders, a merchant, payments and API keys (development only;
    idempotent)."""
    _development()
    config = settings()
    keys = KeyService(resolve_keyring(config))
    with open_database() as database:
        result = seed_demo(database, SystemClock(), config, keys, config.home)
    console.print("demo data created" if result.created else "demo data already present")
    # Plain lines, not a table: a narrow terminal must not cut a password short.
    for row in result.balances:
        console.print(
            f"  {row.person.name}: {row.person.email} / password {row.person.password}  "
            f"({format_amount(row.money, 2, 'CNY')}, {row.points} points)",
            highlight=False, soft_wrap=True,
        )  # fmt: skip
    for member in result.staff:
        console.print(
            f"  {member.name} ({member.role}, console): {member.email} / password "
            f"{member.password}", highlight=False, soft_wrap=True,
        )  # fmt: skip
    console.print(
        "Demo holders and staff sign in with a second factor: `anxin demo totp <email>` "
        "prints the code their authenticator app shows now.",
        highlight=False,
    )
    site = f"http://{config.host}:{config.port}"
    console.print(f"wallet {site}/  agent console {site}/console  status {site}/status",
                  highlight=False)  # fmt: skip
    if result.payment_request is not None:
        console.print(
            f"a payment request from {result.merchant} waits for 张明 at "
            f"{site}/pay/{result.payment_request}", highlight=False, soft_wrap=True,
        )  # fmt: skip
    console.print(
        f"merchant {result.merchant}: API key in {result.merchant_key_file}", highlight=False
    )
    console.print(f"demo API key (scope ledger) is in {result.operator_key_file}", highlight=False)


@app.command("totp")
def totp_code(
    email: Annotated[
        str, typer.Argument(help="A demo holder's or staff member's email, e.g. zhang@example.com")
    ],
) -> None:
    """Print the code a demo holder's or staff member's authenticator app shows now
    (development only)."""
    _development()
    keys = KeyService(resolve_keyring(settings()))
    with open_database() as database, UnitOfWork(database, write=False) as uow:
        code = holders.current_code(uow.session, keys.vault(), email.strip().lower(),
                                    SystemClock().now())  # fmt: skip
    if code is None:
        known = ", ".join(sorted(holders.EMAILS | staff.EMAILS))
        raise CliError(f"{email} is not a demo account (run `anxin demo seed`; demo: {known})")
    console.print(code, highlight=False)
