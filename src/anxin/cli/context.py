"""Shared pieces of CLI commands: settings, database, console, one-line errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from sqlalchemy.exc import ArgumentError

from anxin import migrations
from anxin.kit.db import Database
from anxin.kit.errors import AnxinError
from anxin.settings import Settings, get_settings

console = Console()
errors = Console(stderr=True)


class CliError(AnxinError):
    """A refusal the CLI reports as one line and a non-zero exit."""

    code = "cli_error"


def make_database(url: str, *, pool_size: int) -> Database:
    """A Database, with a bad URL or an unusable SQLite path reported as one line."""
    try:
        return Database(url, pool_size=pool_size)
    except (ArgumentError, ValueError, OSError) as error:
        # The URL itself is not echoed: it may carry a password.
        raise CliError(f"cannot use ANXIN_DATABASE_URL: {error}") from error


@contextmanager
def open_database(url: str | None = None, *, require_current: bool = True) -> Iterator[Database]:
    settings = get_settings()
    database = make_database(url or settings.resolved_database_url, pool_size=2)
    try:
        if require_current:
            status = migrations.schema_status(database.engine)
            problem = status.problem()
            if problem is None and status.current is None:
                problem = "the database is empty; run `anxin migrate`"
            if problem:
                raise CliError(problem)
        yield database
    finally:
        database.dispose()


def settings() -> Settings:
    return get_settings()
