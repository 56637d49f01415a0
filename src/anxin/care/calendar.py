"""Business-time arithmetic on a working-hours calendar: pure, no database.

An instant is *business time* when its wall-clock reading in the calendar's time zone falls
inside that local date's working spans. A local date's spans are its weekday's (Monday = 0)
unless the date is an exception: a holiday (no spans) or a make-up working day (调休) that
follows the spans of another weekday. Defining business time by instants rather than by
wall-clock differences keeps daylight-saving days honest: an hour that is skipped is not
worked, an hour that repeats is worked twice.

``add_business_seconds(start, n)`` is the earliest instant at which ``n`` business seconds
have passed since ``start``; ``business_seconds_between(a, b)`` counts them. For whole-second
instants they are exact inverses: ``business_seconds_between(s, add_business_seconds(s, n))
== n``, and ``add_business_seconds(a, business_seconds_between(a, b)) <= b`` with equality
when ``b`` is business time.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from anxin.kit.errors import Unprocessable

DAY_SECONDS = 86_400
# How far a wall clock can be from UTC (Kiribati is +14:00; old local mean times a bit more).
_MAX_OFFSET = timedelta(hours=16)
# Offsets are sampled this often to find daylight-saving transitions (never closer together).
_PROBE = timedelta(hours=3)
# A calendar that has no working time this far ahead is a configuration error, not a wait.
_HORIZON_DAYS = 5 * 366

Span = tuple[int, int]  # local seconds of the day, [start, end), end at most 86400
Interval = tuple[datetime, datetime]  # UTC, [start, end)


class CalendarError(Unprocessable):
    code = "care_calendar_invalid"
    title = "The business calendar is not valid"


@dataclass(frozen=True)
class DayRule:
    """An exception to the weekly hours: ``holiday`` (closed), or ``workday`` with the hours
    of weekday ``works_as``."""

    kind: str
    works_as: int | None = None


def parse_clock(text: str) -> int:
    """ "09:00", "17:30:15" or "24:00" as seconds since local midnight."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() and len(p) == 2 for p in parts):
        raise CalendarError(f"{text!r} is not a time of day (HH:MM)")
    hours, minutes, seconds = (int(p) for p in (*parts, "00")[:3])
    if minutes > 59 or seconds > 59 or hours > 24 or (hours == 24 and (minutes or seconds)):
        raise CalendarError(f"{text!r} is not a time of day (HH:MM)")
    return hours * 3600 + minutes * 60 + seconds


def format_clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def parse_hours(hours: Mapping[str, Sequence[Sequence[str]]]) -> dict[int, tuple[Span, ...]]:
    """The stored form ``{"0": [["09:00", "12:00"], ["13:00", "18:00"]], ...}`` checked:
    weekdays 0-6, spans non-empty, ordered and not overlapping."""
    weekly: dict[int, tuple[Span, ...]] = {}
    for key, spans in hours.items():
        if key not in {str(d) for d in range(7)}:
            raise CalendarError(f"weekday {key!r} is not 0 (Monday) to 6 (Sunday)")
        parsed: list[Span] = []
        for span in spans:
            if len(span) != 2:
                raise CalendarError("a span is [start, end]")
            start, end = parse_clock(span[0]), parse_clock(span[1])
            if start >= end:
                raise CalendarError(f"span {span[0]}-{span[1]} ends before it starts")
            if parsed and start < parsed[-1][1]:
                raise CalendarError(f"spans of weekday {key} overlap or are out of order")
            parsed.append((start, end))
        weekly[int(key)] = tuple(parsed)
    return weekly


def format_hours(weekly: Mapping[int, Sequence[Span]]) -> dict[str, list[list[str]]]:
    return {
        str(day): [[format_clock(s), format_clock(e)] for s, e in spans]
        for day, spans in sorted(weekly.items())
        if spans
    }


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise CalendarError(f"unknown time zone {name!r}") from error


class Calendar:
    """Weekly working spans in a time zone, with dated exceptions."""

    def __init__(
        self,
        timezone: str | ZoneInfo,
        weekly: Mapping[int, Sequence[Span]],
        days: Mapping[date, DayRule] | None = None,
    ) -> None:
        self.tz = zone(timezone) if isinstance(timezone, str) else timezone
        self.weekly = {day: tuple(weekly.get(day, ())) for day in range(7)}
        self.days = dict(days or {})
        for rule in self.days.values():
            if rule.kind == "workday" and rule.works_as not in range(7):
                raise CalendarError("a make-up working day needs works_as 0-6")
            if rule.kind not in ("holiday", "workday"):
                raise CalendarError(f"unknown calendar day kind {rule.kind!r}")
        self._intervals: dict[date, tuple[Interval, ...]] = {}

    # -- which hours are worked -------------------------------------------------------------

    def spans_on(self, day: date) -> tuple[Span, ...]:
        rule = self.days.get(day)
        if rule is None:
            return self.weekly[day.weekday()]
        if rule.kind == "holiday":
            return ()
        assert rule.works_as is not None
        return self.weekly[rule.works_as]

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        """The UTC intervals of instants whose local reading is on ``day`` within its spans."""
        cached = self._intervals.get(day)
        if cached is None:
            cached = self._compute_intervals(day)
            if len(self._intervals) > 20_000:  # long-lived calendars: keep memory bounded
                self._intervals.clear()
            self._intervals[day] = cached
        return cached

    def _compute_intervals(self, day: date) -> tuple[Interval, ...]:
        spans = self.spans_on(day)
        if not spans:
            return ()
        # Local midnight of ``day`` written as if it were UTC: local = utc + offset.
        midnight = datetime.combine(day, time(), tzinfo=UTC)
        segments = self._offset_segments(
            midnight - _MAX_OFFSET, midnight + timedelta(days=1) + _MAX_OFFSET
        )
        found: list[Interval] = []
        for start, end in spans:
            local_start = midnight + timedelta(seconds=start)
            local_end = midnight + timedelta(seconds=end)
            for seg_start, seg_end, offset in segments:
                lo = max(local_start - offset, seg_start)
                hi = min(local_end - offset, seg_end)
                if lo < hi:
                    found.append((lo, hi))
        found.sort()
        merged: list[Interval] = []
        for lo, hi in found:
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        return tuple(merged)

    def _offset(self, instant: datetime) -> timedelta:
        offset = instant.astimezone(self.tz).utcoffset()
        assert offset is not None
        return offset

    def _offset_segments(
        self, lo: datetime, hi: datetime
    ) -> list[tuple[datetime, datetime, timedelta]]:
        """[lo, hi) cut where the zone's UTC offset changes, each piece with its offset."""
        segments: list[tuple[datetime, datetime, timedelta]] = []
        start, offset = lo, self._offset(lo)
        probe = lo
        while probe < hi:
            following = min(probe + _PROBE, hi)
            if self._offset(following) != offset:
                # Bisect to the first whole second with the new offset.
                before, after = probe, following
                while after - before > timedelta(seconds=1):
                    middle = before + (after - before) // 2
                    middle = middle.replace(microsecond=0)
                    if middle <= before:
                        middle = before + timedelta(seconds=1)
                    if self._offset(middle) == offset:
                        before = middle
                    else:
                        after = middle
                segments.append((start, after, offset))
                start, offset = after, self._offset(after)
            probe = following
        segments.append((start, hi, offset))
        return segments

    def local_date(self, instant: datetime) -> date:
        return _aware(instant).astimezone(self.tz).date()

    def is_business_time(self, instant: datetime) -> bool:
        instant = _aware(instant)
        return any(lo <= instant < hi for lo, hi in self.intervals_on(self.local_date(instant)))

    # -- arithmetic -------------------------------------------------------------------------

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Business time in [a, b); negative when b is before a."""
        a, b = _aware(a), _aware(b)
        if b < a:
            return -self.business_time_between(b, a)
        total = timedelta()
        day = self.local_date(a) - timedelta(days=1)
        last = self.local_date(b) + timedelta(days=1)
        while day <= last:
            for begin, end in self.intervals_on(day):
                lo, hi = max(begin, a), min(end, b)
                if lo < hi:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def business_seconds_between(self, a: datetime, b: datetime) -> int:
        """Whole business seconds in [a, b) (truncated toward zero)."""
        between = self.business_time_between(a, b)
        whole = abs(between) // timedelta(seconds=1)
        return whole if between >= timedelta() else -whole

    def add_business_time(self, start: datetime, amount: timedelta) -> datetime:
        """The earliest instant at which ``amount`` of business time has passed since
        ``start`` (``start`` itself for zero)."""
        start = _aware(start)
        if amount < timedelta():
            raise CalendarError("business time to add must not be negative")
        if amount == timedelta():
            return start
        left = amount
        for begin, hi in self.intervals_from(start):
            lo = max(begin, start)
            if hi - lo >= left:
                return lo + left
            left -= hi - lo
        raise CalendarError("the calendar has no working time in the next five years")

    def add_business_seconds(self, start: datetime, seconds: int) -> datetime:
        return self.add_business_time(start, timedelta(seconds=seconds))

    def next_business_instant(self, instant: datetime) -> datetime:
        """``instant`` if it is business time, else the start of the next working interval."""
        for lo, _hi in self.intervals_from(instant):
            return max(lo, _aware(instant))
        raise CalendarError("the calendar has no working time in the next five years")

    def intervals_from(self, start: datetime) -> Iterator[Interval]:
        """Working intervals that end after ``start``, in time order, for five years."""
        start = _aware(start)
        first = self.local_date(start) - timedelta(days=1)
        pending: list[Interval] = []
        for step in range(_HORIZON_DAYS):
            day = first + timedelta(days=step)
            for interval in self.intervals_on(day):
                if interval[1] > start:
                    heapq.heappush(pending, interval)
            # Days not loaded yet only hold instants after this bound, so what starts
            # before it is in order (local dates are not monotonic across some transitions).
            bound = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC) - _MAX_OFFSET
            while pending and pending[0][0] < bound:
                yield heapq.heappop(pending)
        while pending:
            yield heapq.heappop(pending)


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise CalendarError("business time needs aware datetimes")
    return instant.astimezone(UTC)


def always_open(timezone: str = "UTC") -> Calendar:
    """Every second of every day: for targets counted in calendar time."""
    return Calendar(timezone, dict.fromkeys(range(7), ((0, DAY_SECONDS),)))


__all__ = [
    "Calendar",
    "CalendarError",
    "DayRule",
    "always_open",
    "format_hours",
    "parse_clock",
    "parse_hours",
]
