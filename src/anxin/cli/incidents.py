"""``anxin incident ...``: incidents from the command line (operators, cron).

``detect`` runs one pass of the collective-complaint detection job (for installations that
run it from cron rather than in the server); ``report`` prints the post-incident report.
Actions taken here are recorded on the timeline as the system's (no staff member).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from anxin.cli.context import CliError, console, open_database, settings
from anxin.collective import DetectorSettings
from anxin.incidents import affected, notify, report, service
from anxin.incidents.detection import DEFAULT_REBUILD_HOURS, DetectionRuntime
from anxin.kit.clock import SystemClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.privacy.keys import KeyService, resolve_keyring

app = typer.Typer(help="Incidents: detection, lifecycle, affected holders, notices, reports.")


class Format(StrEnum):
    md = "md"
    html = "html"


@app.command("list")
def list_incidents(
    status: Annotated[str | None, typer.Option(help="open, or one status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """Incidents, most recently detected first."""
    with open_database() as database, UnitOfWork(database, write=False) as uow:
        rows = service.list_incidents(uow.session, status=status, limit=limit)
        table = Table(title="Incidents")
        for column in ("reference", "status", "severity", "detected", "affected", "title"):
            table.add_column(column, overflow="fold", no_wrap=column != "title")
        for row in rows:
            table.add_row(row.reference, row.status, row.severity,
                          row.detected_at.strftime("%Y-%m-%d %H:%M"),
                          str(affected.counts(uow.session, row)["total"]), row.title)  # fmt: skip
    console.print(table)


@app.command("open")
def open_incident(
    title: Annotated[str, typer.Argument(help="What is happening, in a line.")],
    severity: Annotated[str, typer.Option(help="minor, major or critical.")] = "major",
) -> None:
    """Open an incident by hand."""
    with open_database() as database, UnitOfWork(database) as uow:
        incident = service.open_incident(uow.session, title=title, severity=severity,
                                         now=SystemClock().now())  # fmt: skip
        reference = incident.reference
        uow.commit()
    print(reference)


@app.command("status")
def change_status(
    incident: Annotated[str, typer.Argument(help="Reference (INC-2026-0001) or id.")],
    status: Annotated[str, typer.Argument(help="identified, monitoring, resolved, reviewed.")],
    note: Annotated[str | None, typer.Option(help="Why, for the timeline.")] = None,
) -> None:
    """Move an incident forward in its lifecycle."""
    with open_database() as database, UnitOfWork(database) as uow:
        row = service.find_incident(uow.session, incident)
        service.change_status(uow.session, row, status, actor_id=None, now=SystemClock().now(),
                              note=note)  # fmt: skip
        uow.commit()
    print(f"{incident}: {status}")


@app.command("detect")
def detect(
    rebuild_hours: Annotated[
        float, typer.Option(help="Hours of recent tickets the detector learns from.")
    ] = DEFAULT_REBUILD_HOURS,
    warmup_hours: Annotated[
        float, typer.Option(help="Hours at the start of those that only learn.")
    ] = DetectorSettings.warmup_hours,
) -> None:
    """One detection pass over recent tickets: bursts open or join incidents."""
    keys = KeyService(resolve_keyring(settings()))
    try:
        configured = settings().detector_settings
        runtime = DetectionRuntime(dataclasses.replace(configured, warmup_hours=warmup_hours),
                                   rebuild_hours=rebuild_hours)  # fmt: skip
    except ValueError as error:
        raise CliError(f"invalid detector settings: {error}") from error
    with open_database() as database:
        found = runtime.tick(database, keys.vault(), SystemClock().now())
    print(f"read {found.tickets} tickets; {found.groups_opened} new bursts, "
          f"{found.members_added} complaints grouped; incidents: "
          f"{', '.join(found.incidents) or 'none'}")  # fmt: skip


@app.command("affected")
def affected_query(
    incident: Annotated[str, typer.Argument(help="Reference or id.")],
    query: Annotated[str, typer.Argument(help='JSON, e.g. {"kind": "complainants"}.')],
    apply: Annotated[bool, typer.Option(help="Add the holders (default: preview only).")] = False,
) -> None:
    """Preview an affected-holders query (counts, money per asset), or apply it."""
    try:
        definition = json.loads(query)
    except json.JSONDecodeError as error:
        raise CliError(f"the query is not JSON: {error.msg}") from error
    if not isinstance(definition, dict):
        raise CliError("the query is a JSON object")
    now = SystemClock().now()
    with open_database() as database, UnitOfWork(database, write=apply) as uow:
        row = service.find_incident(uow.session, incident)
        if apply:
            _, found = affected.apply(uow.session, row, definition, actor_id=None, now=now)
            uow.commit()
        else:
            found = affected.preview(uow.session, row, definition, now)
    totals = ", ".join(f"{amount} {asset}" for asset, amount in found.totals.items()) or "-"
    verb = "added" if apply else "would add"
    print(f"{verb}: {found.holders} holders ({found.new_holders} new), {found.items} items, "
          f"totals (minor units): {totals}")  # fmt: skip


@app.command("notify")
def notify_affected(
    incident: Annotated[str, typer.Argument(help="Reference or id.")],
    stage: Annotated[str, typer.Option(help="affected, or resolved once resolved.")] = "affected",
) -> None:
    """Tell the affected holders and reply on the linked tickets (only those not yet told)."""
    if stage not in notify.STAGES:
        raise CliError("--stage is affected or resolved")
    keys = KeyService(resolve_keyring(settings()))
    with open_database() as database, UnitOfWork(database) as uow:
        row = service.find_incident(uow.session, incident)
        done = notify.notify(uow.session, keys.vault(), row, stage=stage, actor_id=None,
                             now=SystemClock().now())  # fmt: skip
        uow.commit()
    print(f"told {done.holders} holders, replied on {done.tickets} tickets "
          f"({done.skipped_tickets} closed tickets skipped)")  # fmt: skip


@app.command("report")
def print_report(
    incident: Annotated[str, typer.Argument(help="Reference or id.")],
    format: Annotated[Format, typer.Option("--format", help="md or html.")] = Format.md,
) -> None:
    """The post-incident report (timeline, root cause, impact, response times)."""
    with open_database() as database, UnitOfWork(database, write=False) as uow:
        row = service.find_incident(uow.session, incident)
        text = (report.html if format is Format.html else report.markdown)(uow.session, row)
    sys.stdout.write(text)


# Remediation plans (plan, approve, remediate) live in their own module.
from anxin.cli import incident_remediation  # noqa: E402

app.command("plan")(incident_remediation.plan)
app.command("approve")(incident_remediation.approve)
app.command("remediate")(incident_remediation.remediate)
