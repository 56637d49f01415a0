"""Care-desk reports under /v1/staff/care/reports (``care:reports``): performance over a
date range and the yearly complaint report, as JSON or CSV. Reports are aggregates with
staff pseudonyms only, so they hold no personal data; each CSV export is audited."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from anxin.api.deps import ContainerDep, ReadUoW, WriteUoW
from anxin.audit import service as audit
from anxin.care import report_yearly, reports
from anxin.identity.deps import AuthContext, require_permission
from anxin.wallet.accounts import BUSINESS_TZ
from anxin.wallet.api_deps import aware

router = APIRouter(prefix="/v1/staff/care/reports", tags=["care reports"])
ReadReports = Annotated[AuthContext, Depends(require_permission("care:reports"))]
Since = Annotated[
    datetime | None,
    Query(description="Start (ISO 8601 with offset); default 30 days before `until`"),
]
Until = Annotated[
    datetime | None, Query(description="End, exclusive (ISO 8601 with offset); default now")
]
Year = Annotated[
    int | None, Query(ge=2000, le=2200, description="Calendar year in UTC+8; default this year")
]
CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}}}


def _range(
    since: datetime | None, until: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    end = aware(until, "until") or now
    return aware(since, "since") or end - timedelta(days=30), end


def _csv(body: str, name: str) -> Response:
    return Response(
        content=body.encode(), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )  # fmt: skip


def _exported(uow: Any, auth: AuthContext, report: str, **data: Any) -> None:
    audit.append(
        uow.session, event="care.report_exported", actor_id=auth.user.id,
        actor_role=auth.user.role, subject_id=None, data={"report": report, **data}, now=auth.now,
    )  # fmt: skip
    uow.commit()


@router.get("/performance")
def performance(
    auth: ReadReports, uow: ReadUoW, c: ContainerDep, since: Since = None, until: Until = None
) -> dict[str, Any]:
    """Timely-response rate, first-response and resolution times (wall-clock and SLA-clock
    seconds, median and p90), backlog by age, reopen rate and CSAT, overall and by
    category, channel, language and agent, for tickets created in `[since, until)`."""
    now = c.clock.now()
    start, end = _range(since, until, now)
    return reports.performance(uow.session, since=start, until=end, as_of=now)


@router.get("/performance.csv", response_class=Response, responses=CSV)
def performance_csv(
    auth: ReadReports, uow: WriteUoW, c: ContainerDep, since: Since = None, until: Until = None
) -> Response:
    """The performance report, one row per group (`dimension`, `value`, then every figure)."""
    now = c.clock.now()
    start, end = _range(since, until, now)
    made = reports.performance(uow.session, since=start, until=end, as_of=now)
    body = reports.csv_text(reports.flat_rows(made))
    _exported(uow, auth, "performance", since=start.isoformat(), until=end.isoformat())
    return _csv(body, f"anxin-care-performance-{start:%Y%m%d}-{end:%Y%m%d}.csv")


def _year(year: int | None, now: datetime) -> int:
    return year if year is not None else now.astimezone(BUSINESS_TZ).year


@router.get("/yearly")
def yearly(auth: ReadReports, uow: ReadUoW, c: ContainerDep, year: Year = None) -> dict[str, Any]:
    """The yearly complaint report: counts by category and month, share resolved, handling
    speed and compensation paid (minor units per asset)."""
    now = c.clock.now()
    return report_yearly.yearly(uow.session, _year(year, now), as_of=now)


@router.get("/yearly.csv", response_class=Response, responses=CSV)
def yearly_csv(
    auth: ReadReports, uow: WriteUoW, c: ContainerDep, year: Year = None,
    part: Annotated[Literal["months", "compensation"], Query()] = "months",
) -> Response:  # fmt: skip
    """`part=months`: complaints by month and category; `part=compensation`: per asset."""
    now = c.clock.now()
    chosen = _year(year, now)
    made = report_yearly.yearly(uow.session, chosen, as_of=now)
    rows = report_yearly.month_rows if part == "months" else report_yearly.compensation_rows
    body = reports.csv_text(rows(made))
    _exported(uow, auth, "yearly", year=chosen, part=part)
    return _csv(body, f"anxin-care-{chosen}-{part}.csv")
