"""``anxin care smtp``: the complaint-email listener on its own (``anxin serve`` also runs it
when ANXIN_CARE_SMTP_PORT is set)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from anxin.care.email_intake import mail_listener
from anxin.care.smtp_listener import LOOPBACK, CareSmtpController
from anxin.cli.context import CliError, console, open_database, settings
from anxin.kit.db import Database
from anxin.privacy.keys import KeyService, resolve_keyring
from anxin.settings import Settings


@contextmanager
def listening(
    config: Settings, database: Database | None = None
) -> Iterator[CareSmtpController | None]:
    """The listener for the block, with a port that cannot be bound as a one-line error."""
    try:
        with mail_listener(config, database=database) as controller:
            if controller is not None:
                console.print(
                    f"complaint email: listening on {LOOPBACK}:{config.care_smtp_port} "
                    f"(at most {config.care_smtp_max_bytes} bytes a message)"
                )
            yield controller
    except OSError as error:
        raise CliError(
            f"cannot listen for complaint email on {LOOPBACK}:{config.care_smtp_port}: "
            f"{error.strerror or error}"
        ) from error


def smtp(
    port: Annotated[
        int | None, typer.Option(help="Loopback port. Default: ANXIN_CARE_SMTP_PORT")
    ] = None,
) -> None:
    """Receive complaint email on 127.0.0.1 until interrupted (Ctrl-C)."""
    config = settings()
    if port is not None:
        config = config.model_copy(update={"care_smtp_port": port})
    if not 0 < config.care_smtp_port <= 65535:
        raise CliError("give a port: --port or ANXIN_CARE_SMTP_PORT (1-65535)")
    KeyService(resolve_keyring(config))  # refuse unsafe keys before listening
    with open_database() as database, listening(config, database):
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            console.print("stopped")
