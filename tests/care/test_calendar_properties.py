"""Properties of business-time arithmetic over random calendars: random weekly spans (several
a day), holidays and make-up days, in time zones with and without daylight saving (London,
New York, Lord Howe's half-hour shift, Kathmandu's +05:45), around their transitions.

The reference is deliberately naive: a minute is business time when its local wall-clock
reading falls in that local date's spans, checked minute by minute."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from anxin.care.calendar import Calendar, CalendarError, DayRule

ZONES = (
    "Asia/Shanghai", "UTC", "Europe/London", "America/New_York", "Australia/Lord_Howe",
    "Asia/Kathmandu", "America/Santiago",
)  # fmt: skip
# Days near daylight-saving transitions in 2026 (London, New York, Lord Howe, Santiago).
TRANSITIONS = (
    date(2026, 3, 8), date(2026, 3, 29), date(2026, 4, 5), date(2026, 9, 6),
    date(2026, 10, 4), date(2026, 10, 25), date(2026, 11, 1),
)  # fmt: skip
MINUTE = timedelta(minutes=1)


def reference_minute(calendar: Calendar, minute: datetime) -> bool:
    local = minute.astimezone(calendar.tz)
    second = local.hour * 3600 + local.minute * 60
    return any(start <= second < end for start, end in calendar.spans_on(local.date()))


def reference_seconds(calendar: Calendar, a: datetime, b: datetime) -> int:
    count, minute = 0, a
    while minute < b:
        count += reference_minute(calendar, minute)
        minute += MINUTE
    return count * 60


@st.composite
def day_spans(draw: st.DrawFn) -> tuple[tuple[int, int], ...]:
    cuts = sorted(draw(st.sets(st.integers(0, 1440).map(lambda m: m * 60), max_size=6)))
    if len(cuts) % 2:
        cuts = cuts[:-1]
    return tuple((cuts[i], cuts[i + 1]) for i in range(0, len(cuts), 2))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Calendar, datetime]:
    """A calendar and a minute-aligned instant near the days it was drawn for."""
    weekly = {day: draw(day_spans()) for day in range(7)}
    first = draw(
        st.one_of(
            st.sampled_from(TRANSITIONS).map(lambda d: d - timedelta(days=1)),
            st.dates(date(2026, 1, 1), date(2027, 12, 1)),
        )
    )
    exceptions: dict[date, DayRule] = {}
    for offset in draw(st.sets(st.integers(-1, 6), max_size=4)):
        kind = draw(st.sampled_from(("holiday", "workday")))
        works_as = draw(st.integers(0, 6)) if kind == "workday" else None
        exceptions[first + timedelta(days=offset)] = DayRule(kind, works_as)
    calendar = Calendar(draw(st.sampled_from(ZONES)), weekly, exceptions)
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    start += draw(st.integers(-12 * 60, 3 * 1440)) * MINUTE
    return calendar, start


minutes = st.integers(0, 3 * 1440).map(lambda m: m * MINUTE)


@settings(max_examples=60, deadline=None)
@given(scenarios(), minutes)
def test_between_equals_the_minute_by_minute_reference(
    scenario: tuple[Calendar, datetime], length: timedelta
) -> None:
    calendar, a = scenario
    b = a + length
    assert calendar.business_seconds_between(a, b) == reference_seconds(calendar, a, b)
    assert calendar.is_business_time(a) == reference_minute(calendar, a)


@settings(max_examples=80, deadline=None)
@given(scenarios(), minutes, minutes)
def test_between_is_additive_and_monotonic(
    scenario: tuple[Calendar, datetime], first: timedelta, second: timedelta
) -> None:
    calendar, a = scenario
    b, c = a + first, a + first + second
    ab, bc, ac = (calendar.business_seconds_between(x, y) for x, y in ((a, b), (b, c), (a, c)))
    assert ac == ab + bc
    assert 0 <= ab <= ac
    assert calendar.business_seconds_between(c, a) == -ac


def _has_hours(calendar: Calendar) -> bool:
    return any(calendar.weekly.values())


@settings(max_examples=80, deadline=None)
@given(scenarios(), st.integers(0, 40 * 3600), st.integers(0, 40 * 3600))
def test_add_and_between_are_inverse(
    scenario: tuple[Calendar, datetime], amount: int, more: int
) -> None:
    calendar, start = scenario
    if not _has_hours(calendar):
        try:
            calendar.add_business_seconds(start, max(amount, 1))
        except CalendarError:
            return
        raise AssertionError("a calendar without hours found working time")
    end = calendar.add_business_seconds(start, amount)
    assert end >= start
    assert calendar.business_seconds_between(start, end) == amount
    # Earliest: a second less would not be enough.
    if amount:
        assert calendar.business_seconds_between(start, end - timedelta(seconds=1)) == amount - 1
        assert calendar.is_business_time(end - timedelta(seconds=1))
    # Additive and strictly increasing in the amount.
    further = calendar.add_business_seconds(end, more)
    assert further == calendar.add_business_seconds(start, amount + more)
    if more:
        assert further > end


@settings(max_examples=60, deadline=None)
@given(scenarios(), minutes)
def test_adding_what_passed_lands_on_or_before(
    scenario: tuple[Calendar, datetime], length: timedelta
) -> None:
    calendar, a = scenario
    if not _has_hours(calendar):
        return
    b = a + length
    landed = calendar.add_business_seconds(a, calendar.business_seconds_between(a, b))
    assert landed <= b
    assert calendar.business_seconds_between(landed, b) == 0
    if b > a and calendar.is_business_time(b - timedelta(seconds=1)):
        assert landed == b


@settings(max_examples=40, deadline=None)
@given(scenarios())
def test_working_intervals_come_in_order_and_never_overlap(
    scenario: tuple[Calendar, datetime],
) -> None:
    calendar, start = scenario
    previous_end = None
    for count, (lo, hi) in enumerate(calendar.intervals_from(start)):
        assert lo < hi and hi > start
        if previous_end is not None:
            assert lo >= previous_end
        previous_end = hi
        if count > 40:
            break
