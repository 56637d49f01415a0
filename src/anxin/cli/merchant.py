"""``anxin merchant create|list|key|webhook|suspend|reinstate``: merchant accounts."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from anxin.cli.context import console, open_database, settings
from anxin.kit.clock import SystemClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.privacy.keys import KeyService, resolve_keyring
from anxin.wallet import merchants

app = typer.Typer(help="Merchant accounts, their API keys and webhooks.", no_args_is_help=True)

MerchantRef = Annotated[str, typer.Argument(help="The merchant's id or exact name")]


def _keys() -> KeyService:
    return KeyService(resolve_keyring(settings()))


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="The business name payers see")],
    webhook_url: Annotated[
        str | None, typer.Option(help="Where signed events are POSTed (http or https)")
    ] = None,
) -> None:
    """Create a merchant. Prints its id, the webhook signing secret, and its API key alone
    on the last line (both secrets are shown only now)."""
    keys = _keys()
    with open_database() as database, UnitOfWork(database) as uow:
        created = merchants.create_merchant(
            uow.session, keys.vault(), name=name, webhook_url=webhook_url,
            now=SystemClock().now(),
        )  # fmt: skip
        uow.commit()
        merchant_id, merchant_name = created.merchant.id, created.merchant.name
    console.print(f"created merchant {merchant_name} ({merchant_id})", highlight=False)
    console.print(f"webhook signing secret: {created.webhook_secret}", highlight=False)
    console.print("merchant API key (shown only now):", highlight=False)
    print(created.api_key)


@app.command("list")
def list_() -> None:
    """List merchants (never their secrets)."""
    table = Table("id", "name", "status", "webhook URL", "created (UTC)")
    with open_database() as database, UnitOfWork(database, write=False) as uow:
        for m in merchants.list_merchants(uow.session):
            table.add_row(str(m.id), m.name, m.status, m.webhook_url or "",
                          f"{m.created_at:%Y-%m-%d %H:%M}")  # fmt: skip
    console.print(table)


@app.command("key")
def new_key(merchant: MerchantRef) -> None:
    """Issue another API key for a merchant (revoke old ones with `anxin apikey revoke`).
    The key is printed alone on the last line."""
    with open_database() as database, UnitOfWork(database) as uow:
        found = merchants.find_merchant(uow.session, merchant)
        plaintext = merchants.issue_key(uow.session, found, now=SystemClock().now())
        uow.commit()
        label = f"{found.name} ({found.id})"
    console.print(f"new API key for {label} (shown only now):", highlight=False)
    print(plaintext)


@app.command("webhook")
def webhook(
    merchant: MerchantRef,
    url: Annotated[str | None, typer.Option(help="New URL; empty to stop sending")] = None,
    rotate_secret: Annotated[
        bool, typer.Option("--rotate-secret", help="Issue a new signing secret")
    ] = False,
) -> None:
    """Change a merchant's webhook URL and/or signing secret."""
    keys = _keys()
    now = SystemClock().now()
    with open_database() as database, UnitOfWork(database) as uow:
        found = merchants.find_merchant(uow.session, merchant)
        if url is not None:
            merchants.set_webhook_url(uow.session, found, url, now)
        secret = None
        if rotate_secret:
            secret = merchants.rotate_webhook_secret(uow.session, keys.vault(), found, now)
        uow.commit()
        summary = f"{found.name}: webhook URL {found.webhook_url or '(none)'}"
    console.print(summary, highlight=False)
    if secret is not None:
        console.print(f"new webhook signing secret: {secret}", highlight=False)


def _set_status(merchant: str, status: str) -> None:
    with open_database() as database, UnitOfWork(database) as uow:
        found = merchants.find_merchant(uow.session, merchant)
        merchants.set_status(uow.session, found, status, SystemClock().now())
        uow.commit()
        summary = f"merchant {found.name} is {status}"
    console.print(summary, highlight=False)


@app.command("suspend")
def suspend(merchant: MerchantRef) -> None:
    """Stop a merchant's keys from creating, capturing or debiting anything."""
    _set_status(merchant, "suspended")


@app.command("reinstate")
def reinstate(merchant: MerchantRef) -> None:
    """Let a suspended merchant work again."""
    _set_status(merchant, "active")
