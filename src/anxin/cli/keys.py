"""``anxin keys init|rotate|status``: the keys that protect personal data."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import func, select

from anxin.audit import service as audit
from anxin.cli.context import CliError, console, open_database, settings
from anxin.kit.clock import SystemClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import DataKey
from anxin.privacy.keyring import generate_keyring, load_keyring, write_keyring
from anxin.privacy.keys import KeyService, resolve_keyring

app = typer.Typer(help="Encryption keys for personal data.", no_args_is_help=True)

_REWRAP_BATCH = 500


@app.command("init")
def init(
    production: Annotated[
        bool, typer.Option(help="Mark the keyring as fit for production")
    ] = False,
) -> None:
    """Create a new key file (refuses to overwrite one)."""
    config = settings()
    path = config.resolved_key_file
    if path.exists():
        raise CliError(f"{path} already exists; use `anxin keys rotate` to add a new version")
    write_keyring(path, generate_keyring(development=not production))
    console.print(
        f"created {path} (owner-only permissions); back it up somewhere safe", highlight=False
    )


@app.command("rotate")
def rotate() -> None:
    """Add a new key-encryption key version and re-wrap every data key under it.

    Runs online: old versions stay in the key file, so anything not yet re-wrapped still
    opens. Re-run it after an interruption; it continues where it stopped.
    """
    config = settings()
    path = config.resolved_key_file
    current = load_keyring(path if path.exists() else None, None, None)
    if current is None:
        raise CliError(f"no key file at {path}; keys from the environment rotate outside Anxin")
    rotated = current.with_new_version()
    write_keyring(path, rotated)
    console.print(f"key file {path}: version {rotated.active} is now active", highlight=False)
    service = KeyService(rotated)
    total = 0
    with open_database() as database:
        while True:
            with UnitOfWork(database) as uow:
                rows = uow.session.scalars(
                    select(DataKey)
                    .where(DataKey.kek_version != rotated.active, DataKey.wrapped_key.is_not(None))
                    .limit(_REWRAP_BATCH)
                ).all()
                vault = service.vault()
                changed = sum(vault.rewrap(row, SystemClock().now()) for row in rows)
                uow.commit()
            total += changed
            if not rows:
                break
        with UnitOfWork(database) as uow:
            audit.append(uow.session, event="keys.rotated", actor_id=None, actor_role=None,
                         subject_id=None, data={"kek_version": rotated.active, "rewrapped": total},
                         now=SystemClock().now())  # fmt: skip
            uow.commit()
    console.print(f"re-wrapped {total} data key(s) under version {rotated.active}")


@app.command("status")
def status() -> None:
    """Show the active key version and how many data keys each version wraps."""
    keyring = resolve_keyring(settings())
    with open_database() as database, UnitOfWork(database, write=False) as uow:
        counts = uow.session.execute(
            select(DataKey.kek_version, func.count()).group_by(DataKey.kek_version)
        ).all()
        shredded = uow.session.scalar(
            select(func.count()).select_from(DataKey).where(DataKey.wrapped_key.is_(None))
        )
    kind = "development" if keyring.development else "production"
    console.print(f"{kind} keyring from {keyring.source}; active version {keyring.active}")
    for version, count in counts:
        console.print(f"  version {version}: {count} data key(s)")
    console.print(f"  erased (crypto-shredded): {shredded}")
