"""``anxin care sla-tick``: one pass of the SLA clocks (warnings, breaches, escalation to a
senior agent), as the server's worker does every ``ANXIN_CARE_SLA_TICK_SECONDS``; for cron
when the worker is off, or to catch up by hand. ``anxin care sla-defaults`` creates the PRC
calendar and the default policies (opening the first ticket does that too)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from anxin.care import sla_worker
from anxin.care.sla_policies import ensure_defaults
from anxin.cli.context import CliError, console, open_database
from anxin.kit.clock import SystemClock
from anxin.kit.unit_of_work import UnitOfWork


def _moment(text: str | None) -> datetime:
    if text is None:
        return SystemClock().now()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise CliError(f"--at is not an ISO 8601 time: {text!r}") from error
    if moment.tzinfo is None:
        raise CliError(f"--at needs a time zone offset, e.g. {text}+08:00")
    return moment


def sla_tick(
    at: Annotated[
        str | None, typer.Option(help="Check as of this time (ISO 8601 with offset); default now.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Warn about SLA clocks nearing their targets, record breaches, escalate breached
    tickets to the least-loaded senior agent."""
    now = _moment(at)
    with open_database() as database:
        report = sla_worker.run_once(database, now)
    counts = {
        "warned": report.warned, "breached": report.breached, "escalated": report.escalated,
        "tickets": report.tickets,
    }  # fmt: skip
    if as_json:
        console.print_json(json.dumps(counts))
        return
    console.print(
        f"{report.warned} warned, {report.breached} breached, {report.escalated} escalated"
        + (f": {', '.join(report.tickets)}" if report.tickets else "")
    )


def sla_defaults() -> None:
    """Create the PRC business calendar (with its holidays and make-up working days), the
    24x7 calendar and the default SLA policies, unless they exist."""
    now = SystemClock().now()
    with open_database() as database, UnitOfWork(database) as uow:
        ensure_defaults(uow.session, now)
        uow.commit()
    console.print("SLA calendars and default policies are in place")
