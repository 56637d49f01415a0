"""CLI fixtures for the audit commands (shared with tests/cli)."""

from tests.cli.conftest import bare_cli, cli, home
from tests.migrations.databases import empty_db_url

__all__ = ["bare_cli", "cli", "empty_db_url", "home"]
