"""``anxin dev sms|email|deliver``: the demo's view of messages that would go out."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from anxin.cli.context import console, open_database, settings
from anxin.identity.delivery import Sent, build_senders, email_log_path, read_log, sms_log_path
from anxin.identity.outbox import deliver_due
from anxin.kit.clock import SystemClock
from anxin.privacy.keys import KeyService, resolve_keyring

app = typer.Typer(help="Development helpers (fake SMS and email).", no_args_is_help=True)

Limit = Annotated[int, typer.Option(help="How many of the latest messages", min=1)]


def _show(kind: str, messages: list[Sent]) -> None:
    table = Table("sent", "to", "message", title=kind)
    for item in messages:
        table.add_row(item.at, item.recipient, item.body)
    console.print(table)


@app.command("sms")
def sms(limit: Limit = 10) -> None:
    """Text messages the fake SMS provider 'sent' (from dev-sms.jsonl in ANXIN_HOME)."""
    path = sms_log_path(settings())
    messages = read_log(path, limit)
    if not messages:
        console.print(f"no SMS yet in {path} (run `anxin dev deliver` if the server is not up)")
        return
    _show("SMS", messages)


@app.command("email")
def email(limit: Limit = 10) -> None:
    """Emails written to dev-email.jsonl when no SMTP server is configured."""
    path = email_log_path(settings())
    messages = read_log(path, limit)
    if not messages:
        console.print(f"no email yet in {path}")
        return
    _show("email", messages)


@app.command("deliver")
def deliver() -> None:
    """Send what is due in the outbox now (the server does this every few seconds)."""
    config = settings()
    keys = KeyService(resolve_keyring(config))
    with open_database() as database:
        report = deliver_due(database, keys, build_senders(config), now=SystemClock().now())
    console.print(
        f"sent {report.sent}, failed {report.failed} (will retry), gave up {report.gave_up}"
    )
