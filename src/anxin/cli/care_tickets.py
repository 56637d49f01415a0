"""``anxin care close-resolved``: close resolved tickets whose reopen window
(``ANXIN_CARE_REOPEN_DAYS``) has passed. Run it hourly (cron or a systemd timer); a
customer's message after the window closes its ticket anyway and opens a new one."""

from __future__ import annotations

from typing import Annotated

import typer

from anxin.care import states
from anxin.cli.context import console, open_database, settings
from anxin.kit.clock import SystemClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.privacy.keys import KeyService, resolve_keyring


def close_resolved(
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="Most tickets per run.")] = 5000,
) -> None:
    """Close resolved tickets past their reopen window."""
    keys = KeyService(resolve_keyring(settings()))
    with open_database() as database, UnitOfWork(database) as uow:
        closed = states.close_expired(uow.session, keys.vault(), SystemClock().now(), limit=limit)
        uow.commit()
    console.print(f"{closed} resolved ticket(s) closed")
