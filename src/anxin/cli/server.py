"""``anxin migrate`` and ``anxin serve``."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from anxin import migrations
from anxin.cli.care_intake import listening
from anxin.cli.context import CliError, console, make_database, settings
from anxin.privacy.keys import resolve_keyring


def migrate() -> None:
    """Create or upgrade the database schema to this version of Anxin."""
    config = settings()
    database = make_database(config.resolved_database_url, pool_size=1)
    try:
        before = migrations.schema_status(database.engine)
        # Same refusals as `serve`: never install into a database that belongs to something
        # else, never touch one from a newer Anxin.
        if before.ahead or (before.current is None and not before.empty):
            raise CliError(before.problem() or "database schema is ahead of the code")
        migrations.upgrade(database.engine)
        after = migrations.schema_status(database.engine)
    finally:
        database.dispose()
    if before.current == after.current:
        console.print(f"schema already at {after.current}")
    else:
        console.print(f"schema migrated {before.current or 'empty'} -> {after.current}")


def serve(
    host: Annotated[str | None, typer.Option(help="Default: ANXIN_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Default: ANXIN_PORT")] = None,
    workers: Annotated[int | None, typer.Option(help="Default: ANXIN_WORKERS")] = None,
) -> None:
    """Run the HTTP server. A brand-new database is created and migrated; an existing one
    must already be at this version's schema."""
    config = settings()
    resolve_keyring(config)  # refuses to start without safe keys, before anything else
    database = make_database(config.resolved_database_url, pool_size=1)
    try:
        status = migrations.schema_status(database.engine)
        problem = status.problem()
        if problem:
            raise CliError(f"refusing to start: {problem}")
        if status.current is None:
            migrations.upgrade(database.engine)
            console.print(f"new database: schema created at {migrations.head_revision()}")
    finally:
        database.dispose()
    # Complaint email (ANXIN_CARE_SMTP_PORT): one listener in this process, whatever the
    # number of workers, so the port is bound once.
    with listening(config):
        uvicorn.run(
            "anxin.api.app:create_app",
            factory=True,
            host=host or config.host,
            port=port or config.port,
            workers=workers or config.workers,
            log_level=config.log_level,
            # Let in-flight ledger batches finish on shutdown (the engine drains its queue).
            timeout_graceful_shutdown=10,
        )
