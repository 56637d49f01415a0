"""``anxin staff create|list``: staff accounts (agents, risk, compliance, admins)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from anxin.cli.context import console, open_database, settings
from anxin.identity.staff import create_staff, list_staff
from anxin.kit.clock import SystemClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.identity import STAFF_ROLES
from anxin.privacy.keys import KeyService, resolve_keyring

app = typer.Typer(help="Staff accounts.", no_args_is_help=True)


@app.command("create")
def create(
    role: Annotated[str, typer.Option(help="One of: " + ", ".join(STAFF_ROLES))],
    email: Annotated[str, typer.Option(help="The staff member's work email (their sign-in)")],
    name: Annotated[str | None, typer.Option(help="Full name (stored encrypted)")] = None,
) -> None:
    """Create a staff account and print its one-time set-password code.

    Hand the code to the person; they set a password of at least 15 characters with it
    (`POST /v1/auth/password-reset/confirm`), sign in, and must enrol a second factor
    before anything else.
    """
    config = settings()
    keys = KeyService(resolve_keyring(config))
    with open_database() as database, UnitOfWork(database) as uow:
        created = create_staff(
            uow.session, keys.vault(), config, role=role, email=email, name=name,
            now=SystemClock().now(),
        )  # fmt: skip
        uow.commit()
        user = created.user
        summary = f"created {user.role} {user.pseudonym} ({user.id})"
    console.print(
        f"{summary}. One-time set-password code, valid until "
        f"{created.expires_at.isoformat(timespec='minutes')}; it is shown only now:",
        highlight=False,
    )
    print(created.setup_code)


@app.command("list")
def list_() -> None:
    """List staff accounts (pseudonyms and roles, no personal data)."""
    table = Table("id", "pseudonym", "role", "status", "created")
    with open_database() as database, UnitOfWork(database, write=False) as uow:
        for user in list_staff(uow.session):
            table.add_row(str(user.id), user.pseudonym or "", user.role or "", user.status,
                          user.created_at.isoformat(timespec="seconds"))  # fmt: skip
    console.print(table)
