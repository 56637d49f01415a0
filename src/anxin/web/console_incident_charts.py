"""A collective-complaint group's arrival chart: its member complaints per time bucket
against the baseline expected per bucket.

The baseline is the detector's own expected rate when it raised the burst
(``evidence["baseline_per_hour"]``); for groups stored before that was recorded, or
grouped by hand, it is the same category's average count in the same hour of the week
over the previous four weeks. The page says which. Counts are integers; the baseline is a
rate (three decimals).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.models.care import Ticket
from anxin.models.incidents import CollectiveGroup, CollectiveMember
from anxin.wallet.accounts import BUSINESS_TZ

WEEK = timedelta(days=7)
HISTORY_WEEKS = 4
LEAD_BUCKETS = 2  # quiet buckets shown before the first complaint, for contrast
MAX_BUCKETS = 48


@dataclass(frozen=True)
class Arrivals:
    labels: list[str]  # bucket starts, Beijing time
    counts: list[int]
    baseline: list[float]
    minutes: int  # bucket width
    source: str  # "detector" | "history"

    def chart(self) -> dict[str, Any]:
        return {"labels": self.labels, "counts": self.counts, "baseline": self.baseline,
                "minutes": self.minutes, "source": self.source}  # fmt: skip

    @property
    def rows(self) -> list[tuple[str, int, float]]:
        return list(zip(self.labels, self.counts, self.baseline, strict=True))


def bucket_minutes(span: timedelta) -> int:
    """10-minute buckets over a short burst, wider ones over a longer one."""
    for minutes in (10, 15, 30, 60):
        if span <= timedelta(minutes=minutes * (MAX_BUCKETS - LEAD_BUCKETS - 1)):
            return minutes
    return 60


def _floor(moment: datetime, minutes: int) -> datetime:
    local = moment.astimezone(BUSINESS_TZ)
    return local.replace(minute=local.minute - local.minute % minutes, second=0, microsecond=0)


def _member_times(session: Session, group: CollectiveGroup) -> list[datetime]:
    return list(
        session.scalars(
            select(Ticket.created_at)
            .join(CollectiveMember, CollectiveMember.ticket_id == Ticket.id)
            .where(CollectiveMember.group_id == group.id)
            .order_by(Ticket.created_at)
        )
    )


def _history(
    session: Session, category: str, starts: list[datetime], width: timedelta
) -> list[float]:
    """Per bucket, the category's mean count in the same slot of each of the 4 weeks before."""
    first, last = starts[0] - HISTORY_WEEKS * WEEK, starts[-1] + width - WEEK
    times = list(
        session.scalars(
            select(Ticket.created_at).where(
                Ticket.category == category, Ticket.created_at >= first,
                Ticket.created_at < last,
            )
        )
    )  # fmt: skip
    out: list[float] = []
    for start in starts:
        slots = [(start - k * WEEK, start - k * WEEK + width) for k in range(1, 5)]
        hits = sum(1 for t in times for a, b in slots if a <= t < b)
        out.append(round(hits / HISTORY_WEEKS, 3))
    return out


def arrivals(session: Session, group: CollectiveGroup) -> Arrivals:
    times = _member_times(session, group)
    start_at = min([group.first_complaint_at, *times[:1]])
    end_at = max([group.detected_at, *times[-1:]])
    minutes = bucket_minutes(end_at - start_at)
    width = timedelta(minutes=minutes)
    first = _floor(start_at, minutes) - LEAD_BUCKETS * width
    count = min(MAX_BUCKETS, int((end_at - first) / width) + 1)
    starts = [first + i * width for i in range(count)]
    counts = [0] * count
    for moment in times:
        index = int((moment - first) / width)
        if 0 <= index < count:
            counts[index] += 1
    rate = group.evidence.get("baseline_per_hour")
    if isinstance(rate, int | float) and not isinstance(rate, bool):
        baseline = [round(float(rate) * minutes / 60, 3)] * count
        source = "detector"
    else:
        baseline = _history(session, group.category, starts, width)
        source = "history"
    labels = [s.astimezone(BUSINESS_TZ).strftime("%m-%d %H:%M") for s in starts]
    return Arrivals(labels, counts, baseline, minutes, source)
