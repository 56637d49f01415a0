"""Fixtures for the audit tests: the CLI (shared with tests/cli) and the identity test app
(shared with tests/identity), whose actions append to the audit log."""

from tests.cli.conftest import bare_cli, cli, home
from tests.identity.conftest import (
    client,
    clock,
    container,
    deliver,
    enrol_totp,
    holder,
    last_code,
    mailbox,
    make_staff,
    ready_staff,
    runtime,
    settings,
    sms,
    totp_code,
)
from tests.migrations.databases import empty_db_url

__all__ = [
    "bare_cli", "cli", "client", "clock", "container", "deliver", "empty_db_url", "enrol_totp",
    "holder", "home", "last_code", "mailbox", "make_staff", "ready_staff", "runtime",
    "settings", "sms", "totp_code",
]  # fmt: skip
