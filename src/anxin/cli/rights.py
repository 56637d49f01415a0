"""``anxin rights tick|payouts|purge-closed``: the periodic jobs of data rights and breach
response. Run ``tick`` every few minutes (cron or a systemd timer); ``purge-closed`` daily."""

from __future__ import annotations

import typer

from anxin.cli.context import CliError, console, open_database, settings
from anxin.kit.clock import SystemClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.privacy import approvals, breaches, closure, closure_payouts
from anxin.privacy import exports as _exports  # noqa: F401 - registers its approval kind
from anxin.privacy.keys import KeyService, resolve_keyring
from anxin.settings import Environment
from anxin.wallet.funding import SimulatedBankRail

app = typer.Typer(help="Data rights and breach response: periodic jobs.", no_args_is_help=True)


@app.command("tick")
def tick() -> None:
    """Expire approvals nobody decided, alert compliance about breach deadlines, and
    destroy the keys of goodbye messages that went out."""
    config = settings()
    keys = KeyService(resolve_keyring(config))
    now = SystemClock().now()
    with open_database() as database, UnitOfWork(database) as uow:
        expired = approvals.expire_due(uow.session, now)
        alerted = breaches.check_deadlines(uow.session, config, now)
        shredded = closure.shred_sent_notices(uow.session, keys.vault(), now)
        uow.commit()
    console.print(
        f"{expired} approval(s) expired, {alerted} breach deadline alert(s), "
        f"{shredded} goodbye message key(s) destroyed",
        soft_wrap=True,
    )


@app.command("payouts")
def payouts() -> None:
    """Pay out closed accounts' balances through the funding provider (the simulated bank
    outside production) and settle the ones it finished."""
    config = settings()
    if config.env is Environment.PRODUCTION:
        raise CliError("no funding provider is configured for production payouts")
    keys = KeyService(resolve_keyring(config))
    with open_database() as database:
        report = closure_payouts.run(
            database, keys, SimulatedBankRail(database), SystemClock().now()
        )
    console.print(f"{report.submitted} submitted, {report.paid} paid, {report.failed} failed")


@app.command("purge-closed")
def purge_closed() -> None:
    """Anonymise closed accounts whose retention period ended."""
    keys = KeyService(resolve_keyring(settings()))
    with open_database() as database, UnitOfWork(database) as uow:
        purged = closure.purge_expired(uow.session, keys.vault(), SystemClock().now())
        uow.commit()
    console.print(f"{purged} closed account(s) anonymised", soft_wrap=True)
