"""``anxin care report``: the care desk's performance over a date range, or with ``--year``
the yearly complaint report, as a table, JSON or CSV (the same figures as
/v1/staff/care/reports)."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from anxin.care import report_yearly, reports
from anxin.cli.context import CliError, console, open_database
from anxin.kit.clock import SystemClock
from anxin.kit.unit_of_work import UnitOfWork


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _when(text: str | None, default: datetime, name: str) -> datetime:
    if text is None:
        return default
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise CliError(f"--{name} is not an ISO 8601 time: {text!r}") from error
    if moment.tzinfo is None:
        raise CliError(f"--{name} needs a time zone offset, e.g. {text}+08:00")
    return moment


def _table(title: str, lines: list[list[Any]]) -> None:
    table = Table(title=title, show_lines=False)
    for name in lines[0]:
        table.add_column(str(name), overflow="fold")
    for line in lines[1:]:
        table.add_row(*("-" if cell is None else str(cell) for cell in line))
    console.print(table)


def _seconds(value: int | None) -> str:
    if value is None:
        return "-"
    hours, rest = divmod(value, 3600)
    return f"{hours}h{rest // 60:02d}m"


def _summary(made: dict[str, Any]) -> list[list[Any]]:
    fr, res = made["first_response"], made["resolution"]
    return [
        ["figure", "value"],
        ["tickets", made["tickets"]],
        ["share resolved", made["share_resolved"]],
        ["timely first response", fr["timely_rate"]],
        ["first response median / p90 (wall)",
         f"{_seconds(fr['wall_seconds']['median'])} / {_seconds(fr['wall_seconds']['p90'])}"],
        ["first response median / p90 (SLA clock)",
         f"{_seconds(fr['sla_seconds']['median'])} / "
         f"{_seconds(fr['sla_seconds']['p90'])}"],
        ["resolution median / p90 (wall)",
         f"{_seconds(res['wall_seconds']['median'])} / {_seconds(res['wall_seconds']['p90'])}"],
        ["resolution median / p90 (SLA clock)",
         f"{_seconds(res['sla_seconds']['median'])} / "
         f"{_seconds(res['sla_seconds']['p90'])}"],
        ["reopen rate", made["reopen"]["rate"]],
        ["CSAT average", made["csat"]["average"]],
    ]  # fmt: skip


def report(
    year: Annotated[int | None, typer.Option(help="The yearly complaint report for this year "
                                                 "(UTC+8)")] = None,
    since: Annotated[str | None, typer.Option(help="Start (ISO 8601); default 30 days "
                                                   "before --until")] = None,
    until: Annotated[str | None, typer.Option(help="End, exclusive (ISO 8601); default "
                                                   "now")] = None,
    format: Annotated[Format, typer.Option("--format", help="table, json or csv")] = Format.table,
) -> None:  # fmt: skip
    """Print the care desk's performance report (timely-response rate, response and
    resolution times, backlog, reopen rate, CSAT; by category, channel, language and agent),
    or with --year the yearly complaint report (counts, share resolved, handling speed,
    compensation paid)."""
    now = SystemClock().now()
    if year is not None and (since or until):
        raise CliError("--year cannot be combined with --since or --until")
    with open_database() as database, UnitOfWork(database, write=False) as uow:
        if year is not None:
            made = report_yearly.yearly(uow.session, year, as_of=now)
        else:
            end = _when(until, now, "until")
            start = _when(since, end - timedelta(days=30), "since")
            made = reports.performance(uow.session, since=start, until=end, as_of=now)
    if format is Format.json:
        sys.stdout.write(json.dumps(made, ensure_ascii=False, indent=2) + "\n")
        return
    if year is not None:
        months = report_yearly.month_rows(made)
        if format is Format.csv:
            sys.stdout.write(reports.csv_text(months))
            return
        _table(f"Complaints {year} (UTC+8)", _summary(made))
        _table("By month and category", months)
        _table("Compensation paid (minor units)", report_yearly.compensation_rows(made))
        return
    lines = reports.flat_rows(made)
    if format is Format.csv:
        sys.stdout.write(reports.csv_text(lines))
        return
    title = f"Care desk {made['since'][:10]} .. {made['until'][:10]} (as of {made['as_of'][:16]})"
    wanted = ("dimension", "value", "tickets", "timely_rate", "first_response_wall_median_s",
              "first_response_sla_median_s", "resolution_wall_median_s", "reopen_rate",
              "csat_average", "backlog_total")  # fmt: skip
    picks = [lines[0].index(name) for name in wanted]
    _table(title, [[line[i] for i in picks] for line in lines])
