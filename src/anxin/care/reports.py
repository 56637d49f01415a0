"""Care-desk performance over a date range, overall and by category, channel, language and
agent: timely-response rate, first-response and resolution times, backlog, reopen rate and
CSAT.

Definitions (also in docs/care.md, "Reports"):

- The range selects tickets *created* in ``[since, until)``; merged duplicates are left
  out (their conversation lives on in the ticket they were merged into).
- Times are given twice, labelled: ``wall_seconds`` (plain elapsed time) and
  ``sla_seconds`` (what the ticket's SLA clock counted: for the first response, business
  hours of the policy's calendar with holidays left out; for resolution, the policy's
  resolution calendar, 24x7 by default; both paused while waiting for the customer).
  Medians and 90th percentiles use the nearest-rank method, so every figure is a time that
  really occurred.
- Timely response: the first-response clock was met without a breach. A clock still
  running past its due time counts as late; one still running within it is not counted
  yet (``first_response.pending``).
- Resolution time: to the (last) resolution, or to closing for a ticket closed unresolved.
- Reopen rate: tickets reopened at least once, among those resolved at least once.
- Backlog: tickets open (new, open, pending on the customer) when the report is made
  (``as_of``), whenever they were created, by age: under 1 day, 1-3, 3-7, 7-15 and over
  15 days (the regulator's final-answer deadline).
- Agent: the ticket's assignee, shown by staff pseudonym (never a name).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from anxin.kit.errors import Unprocessable
from anxin.models import User
from anxin.models.care import Csat, SlaClock, Ticket

OPEN = ("new", "open", "pending_customer")
DIMENSIONS = ("category", "channel", "language", "agent")
AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("under_1d", timedelta(days=1)),
    ("1d_3d", timedelta(days=3)),
    ("3d_7d", timedelta(days=7)),
    ("7d_15d", timedelta(days=15)),
    ("over_15d", None),
)
MAX_RANGE = timedelta(days=731)


class InvalidReport(Unprocessable):
    code = "invalid_report"
    title = "The report request is not valid"


@dataclass(frozen=True)
class Row:
    """One ticket, as much as the reports need (no personal data)."""

    id: uuid.UUID
    category: str
    channel: str
    language: str
    agent: str
    status: str
    created_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reopen_count: int
    fr_status: str | None  # first-response clock
    fr_used: int | None
    fr_due: datetime | None
    fr_breached: bool
    res_status: str | None  # resolution clock
    res_used: int | None
    rating: int | None
    csat_requested: bool

    def key(self, dimension: str) -> str:
        return str(getattr(self, dimension))


def nearest_rank(values: Sequence[int], percent: int) -> int | None:
    """The ``percent``-th percentile by nearest rank (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-percent * len(ordered) // 100))  # ceil without floats
    return ordered[rank - 1]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _spread(values: list[int]) -> dict[str, int | None]:
    return {"count": len(values), "median": nearest_rank(values, 50),
            "p90": nearest_rank(values, 90)}  # fmt: skip


def _agents(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    query = select(User.id, User.pseudonym).where(User.id.in_(wanted))
    return {i: p or f"staff-{i.hex[-8:]}" for i, p in session.execute(query)}


def load_rows(session: Session, *, since: datetime | None, until: datetime | None,
              open_only: bool = False) -> list[Row]:  # fmt: skip
    """Tickets created in the range (or, with ``open_only``, open now), each with its
    first-response and resolution clocks and its rating: one query."""
    fr = aliased(SlaClock)
    res = aliased(SlaClock)
    query = (
        select(
            Ticket.id, Ticket.category, Ticket.channel, Ticket.language, Ticket.assignee_id,
            Ticket.status, Ticket.created_at, Ticket.first_response_at, Ticket.resolved_at,
            Ticket.closed_at, Ticket.reopen_count, fr.status, fr.used_seconds, fr.due_at,
            fr.breached_at, res.status, res.used_seconds, Csat.rating, Csat.requested_at,
        )
        .outerjoin(fr, (fr.ticket_id == Ticket.id) & (fr.kind == "first_response"))
        .outerjoin(res, (res.ticket_id == Ticket.id) & (res.kind == "resolution"))
        .outerjoin(Csat, Csat.ticket_id == Ticket.id)
        .where(Ticket.merged_into_id.is_(None))
    )  # fmt: skip
    if since is not None:
        query = query.where(Ticket.created_at >= since)
    if until is not None:
        query = query.where(Ticket.created_at < until)
    if open_only:
        query = query.where(Ticket.status.in_(OPEN))
    found = list(session.execute(query.order_by(Ticket.created_at, Ticket.id)))
    names = _agents(session, (r[4] for r in found if r[4] is not None))
    return [
        Row(
            id=r[0], category=r[1], channel=r[2], language=r[3],
            agent=names.get(r[4], "unknown") if r[4] is not None else "unassigned",
            status=r[5], created_at=r[6], first_response_at=r[7], resolved_at=r[8],
            closed_at=r[9], reopen_count=r[10], fr_status=r[11], fr_used=r[12], fr_due=r[13],
            fr_breached=r[14] is not None, res_status=r[15], res_used=r[16], rating=r[17],
            csat_requested=r[18] is not None,
        )
        for r in found
    ]  # fmt: skip


def _finished_at(row: Row) -> datetime | None:
    if row.status == "resolved" or (row.status == "closed" and row.resolved_at is not None):
        return row.resolved_at
    if row.status == "closed":
        return row.closed_at
    return None


def metrics(rows: Sequence[Row], as_of: datetime) -> dict[str, Any]:
    """Every figure for one group of tickets."""
    timely = late = pending = 0
    fr_wall: list[int] = []
    fr_sla: list[int] = []
    res_wall: list[int] = []
    res_sla: list[int] = []
    ever_resolved = reopened = 0
    ratings: Counter[int] = Counter()
    requested = 0
    for row in rows:
        if row.fr_status is not None:
            if row.fr_breached or (
                row.fr_status != "met" and row.fr_due is not None and row.fr_due <= as_of
            ):
                late += 1
            elif row.fr_status == "met":
                timely += 1
            else:
                pending += 1
        if row.first_response_at is not None:
            fr_wall.append(int((row.first_response_at - row.created_at).total_seconds()))
            if row.fr_status == "met" and row.fr_used is not None:
                fr_sla.append(row.fr_used)
        finished = _finished_at(row)
        if finished is not None:
            res_wall.append(int((finished - row.created_at).total_seconds()))
            if row.res_status == "met" and row.res_used is not None:
                res_sla.append(row.res_used)
        if row.resolved_at is not None or row.reopen_count > 0 or row.status == "resolved":
            ever_resolved += 1
            reopened += row.reopen_count > 0
        requested += row.csat_requested
        if row.rating is not None:
            ratings[row.rating] += 1
    answered = sum(ratings.values())
    total_rating = sum(r * n for r, n in ratings.items())
    return {
        "tickets": len(rows),
        "first_response": {
            "timely": timely, "late": late, "pending": pending,
            "timely_rate": _rate(timely, timely + late),
            "wall_seconds": _spread(fr_wall), "sla_seconds": _spread(fr_sla),
        },
        "resolution": {
            "resolved": len(res_wall),
            "wall_seconds": _spread(res_wall), "sla_seconds": _spread(res_sla),
        },
        "reopen": {"resolved_once": ever_resolved, "reopened": reopened,
                   "rate": _rate(reopened, ever_resolved)},
        "csat": {
            "requested": requested, "answered": answered,
            "response_rate": _rate(answered, requested),
            "average": round(total_rating / answered, 2) if answered else None,
            "distribution": {str(r): ratings.get(r, 0) for r in range(1, 6)},
        },
    }  # fmt: skip


def backlog(rows: Sequence[Row], as_of: datetime) -> dict[str, int]:
    """Open tickets by age at ``as_of`` (every bucket present, zero or not)."""
    counts = {name: 0 for name, _ in AGE_BUCKETS}
    for row in rows:
        if row.status not in OPEN or row.created_at > as_of:
            continue
        age = as_of - row.created_at
        for name, limit in AGE_BUCKETS:
            if limit is None or age < limit:
                counts[name] += 1
                break
    counts["total"] = sum(counts[name] for name, _ in AGE_BUCKETS)
    return counts


def _grouped(rows: Sequence[Row], dimension: str) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.key(dimension), []).append(row)
    return dict(sorted(groups.items()))


def check_range(since: datetime, until: datetime) -> None:
    if since.tzinfo is None or until.tzinfo is None:
        raise InvalidReport("since and until need a time zone offset", field="since")
    if until <= since:
        raise InvalidReport("until must be after since", field="until")
    if until - since > MAX_RANGE:
        raise InvalidReport("a report covers at most two years", field="since")


def performance(session: Session, *, since: datetime, until: datetime,
                as_of: datetime) -> dict[str, Any]:  # fmt: skip
    """The performance report: overall, then by every dimension."""
    check_range(since, until)
    rows = load_rows(session, since=since, until=until)
    waiting = load_rows(session, since=None, until=None, open_only=True)
    report: dict[str, Any] = {
        "since": since.isoformat(), "until": until.isoformat(), "as_of": as_of.isoformat(),
        "overall": metrics(rows, as_of) | {"backlog": backlog(waiting, as_of)},
        "by": {},
    }  # fmt: skip
    for dimension in DIMENSIONS:
        made = {key: metrics(group, as_of) for key, group in _grouped(rows, dimension).items()}
        for key, group in _grouped(waiting, dimension).items():
            made.setdefault(key, metrics([], as_of))["backlog"] = backlog(group, as_of)
        for value in made.values():
            value.setdefault("backlog", backlog([], as_of))
        report["by"][dimension] = made
    return report


# -- flat rows, for CSV and tables --------------------------------------------------------

COLUMNS: tuple[tuple[str, Callable[[dict[str, Any]], Any]], ...] = (
    ("tickets", lambda m: m["tickets"]),
    ("timely", lambda m: m["first_response"]["timely"]),
    ("late", lambda m: m["first_response"]["late"]),
    ("timely_rate", lambda m: m["first_response"]["timely_rate"]),
    ("first_response_wall_median_s", lambda m: m["first_response"]["wall_seconds"]["median"]),
    ("first_response_wall_p90_s", lambda m: m["first_response"]["wall_seconds"]["p90"]),
    ("first_response_sla_median_s",
     lambda m: m["first_response"]["sla_seconds"]["median"]),
    ("first_response_sla_p90_s", lambda m: m["first_response"]["sla_seconds"]["p90"]),
    ("resolved", lambda m: m["resolution"]["resolved"]),
    ("resolution_wall_median_s", lambda m: m["resolution"]["wall_seconds"]["median"]),
    ("resolution_wall_p90_s", lambda m: m["resolution"]["wall_seconds"]["p90"]),
    ("resolution_sla_median_s", lambda m: m["resolution"]["sla_seconds"]["median"]),
    ("resolution_sla_p90_s", lambda m: m["resolution"]["sla_seconds"]["p90"]),
    ("reopen_rate", lambda m: m["reopen"]["rate"]),
    ("csat_answered", lambda m: m["csat"]["answered"]),
    ("csat_average", lambda m: m["csat"]["average"]),
    *((f"csat_{r}", (lambda m, r=r: m["csat"]["distribution"][str(r)])) for r in range(1, 6)),
    *((f"backlog_{name}", (lambda m, name=name: m["backlog"][name]))
      for name in (*(n for n, _ in AGE_BUCKETS), "total")),
)  # fmt: skip


def flat_rows(report: dict[str, Any]) -> list[list[Any]]:
    """Header, then one row per group: ``dimension, value, <every column>``."""
    lines: list[list[Any]] = [["dimension", "value", *(name for name, _ in COLUMNS)]]
    groups = [("all", "all", report["overall"])]
    for dimension, made in report["by"].items():
        groups.extend((dimension, key, value) for key, value in made.items())
    for dimension, key, value in groups:
        lines.append([dimension, key, *(read(value) for _, read in COLUMNS)])
    return lines


def csv_text(lines: Sequence[Sequence[Any]]) -> str:
    """RFC 4180 CSV; an unknown figure (None) is an empty cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for line in lines:
        writer.writerow(["" if cell is None else cell for cell in line])
    return out.getvalue()
