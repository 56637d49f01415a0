"""Business-time arithmetic: examples on the default PRC calendar and on daylight-saving
days, and the checks a calendar's stored form gets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from anxin.care.calendar import (
    Calendar,
    CalendarError,
    DayRule,
    always_open,
    format_hours,
    parse_clock,
    parse_hours,
)
from anxin.care.sla_policies import calendar_data

HOUR = timedelta(hours=1)


def prc() -> Calendar:
    data = calendar_data()
    days = {
        date.fromisoformat(d["day"]): DayRule(d["kind"], d.get("works_as")) for d in data["days"]
    }
    return Calendar(data["timezone"], parse_hours(data["hours"]), days)


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC) - timedelta(hours=8)  # type: ignore[misc]


def test_one_business_day_over_a_weekend() -> None:
    calendar = prc()
    friday = beijing(2026, 11, 20, 15, 0)
    assert calendar.add_business_seconds(friday, 9 * 3600) == beijing(2026, 11, 23, 15, 0)
    assert calendar.business_seconds_between(friday, beijing(2026, 11, 23, 15, 0)) == 9 * 3600


def test_national_day_week_is_closed_and_make_up_days_work() -> None:
    calendar = prc()
    # Tuesday 2026-09-29 17:00: one hour that day, Wednesday 30th nine, then the holiday week
    # (Thursday 1 Oct - Wednesday 7 Oct), Thursday 8th and Friday 9th, Saturday 10th works.
    start = beijing(2026, 9, 29, 17, 0)
    assert calendar.add_business_seconds(start, 10 * 3600) == beijing(2026, 9, 30, 18, 0)
    assert calendar.add_business_seconds(start, 10 * 3600 + 1) == beijing(2026, 10, 8, 9, 0, 1)
    assert calendar.add_business_seconds(start, 28 * 3600 + 1) == beijing(2026, 10, 10, 9, 0, 1)
    assert calendar.is_business_time(beijing(2026, 9, 20, 10, 0))  # Sunday, make-up day
    assert not calendar.is_business_time(beijing(2026, 10, 5, 10, 0))  # Monday, holiday


def test_spring_festival_2026() -> None:
    calendar = prc()
    # Saturday 14 Feb works; 15-23 Feb is off; Tuesday 24 Feb works again.
    assert calendar.is_business_time(beijing(2026, 2, 14, 9, 0))
    friday = beijing(2026, 2, 13, 17, 0)
    assert calendar.add_business_seconds(friday, 10 * 3600) == beijing(2026, 2, 14, 18, 0)
    assert calendar.add_business_seconds(friday, 11 * 3600) == beijing(2026, 2, 24, 10, 0)


def test_split_day_and_lunch_break() -> None:
    calendar = Calendar(
        "Asia/Shanghai", parse_hours({"0": [["09:00", "12:00"], ["13:30", "18:00"]]})
    )
    monday = beijing(2026, 11, 23, 11, 0)
    assert calendar.add_business_seconds(monday, 2 * 3600) == beijing(2026, 11, 23, 14, 30)
    assert calendar.business_seconds_between(monday, beijing(2026, 11, 23, 13, 45)) == 4500
    assert calendar.next_business_instant(beijing(2026, 11, 23, 12, 5)) == beijing(
        2026, 11, 23, 13, 30
    )


def test_daylight_saving_days_are_23_and_25_hours() -> None:
    sunday = Calendar("Europe/London", {6: ((0, 86400),)})
    assert sunday.business_seconds_between(
        datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC)
    ) == 23 * 3600  # fmt: skip
    assert sunday.business_seconds_between(
        datetime(2026, 10, 24, tzinfo=UTC), datetime(2026, 10, 27, tzinfo=UTC)
    ) == 25 * 3600  # fmt: skip
    # 01:00-02:00 repeats on 25 October: both hours are worked.
    early = Calendar("Europe/London", {6: ((3600, 7200),)})
    assert early.business_seconds_between(
        datetime(2026, 10, 25, tzinfo=UTC), datetime(2026, 10, 26, tzinfo=UTC)
    ) == 2 * 3600  # fmt: skip
    # 01:00-02:00 does not exist on 29 March.
    assert early.business_seconds_between(
        datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 3, 30, tzinfo=UTC)
    ) == 0  # fmt: skip


def test_always_open_counts_real_time() -> None:
    london = always_open("Europe/London")
    start = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert london.add_business_seconds(start, 86400) == start + timedelta(days=1)


def test_between_is_antisymmetric_and_add_zero_is_identity() -> None:
    calendar = prc()
    a, b = beijing(2026, 11, 20, 10, 0), beijing(2026, 11, 24, 10, 0)
    assert calendar.business_seconds_between(b, a) == -calendar.business_seconds_between(a, b)
    assert calendar.add_business_seconds(beijing(2026, 11, 21, 3, 0), 0) == beijing(
        2026, 11, 21, 3, 0
    )


def test_no_working_time_is_an_error_not_a_hang() -> None:
    with pytest.raises(CalendarError):
        Calendar("UTC", {}).add_business_seconds(datetime(2026, 1, 1, tzinfo=UTC), 1)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(CalendarError):
        prc().business_seconds_between(datetime(2026, 1, 1), datetime(2026, 1, 2))


@pytest.mark.parametrize(
    "hours",
    [
        {"7": [["09:00", "18:00"]]},
        {"0": [["18:00", "09:00"]]},
        {"0": [["09:00", "13:00"], ["12:00", "18:00"]]},
        {"0": [["9:00", "18:00"]]},
        {"0": [["09:00", "24:30"]]},
        {"0": [["09:00"]]},
    ],
)
def test_bad_hours_are_refused(hours: dict[str, list[list[str]]]) -> None:
    with pytest.raises(CalendarError):
        parse_hours(hours)


def test_hours_round_trip() -> None:
    stored = {"0": [["09:00", "12:00"], ["13:00", "24:00"]], "5": [["10:00", "10:00:30"]]}
    assert format_hours(parse_hours(stored)) == stored
    assert parse_clock("24:00") == 86400


def test_unknown_zone_and_bad_make_up_day() -> None:
    with pytest.raises(CalendarError):
        Calendar("Mars/Olympus", {})
    with pytest.raises(CalendarError):
        Calendar("UTC", {}, {date(2026, 1, 4): DayRule("workday", None)})


def test_shipped_calendar_covers_2026_and_2027() -> None:
    data = calendar_data()
    years = {d["day"][:4] for d in data["days"]}
    assert years == {"2026", "2027"}
    assert "PROVISIONAL" in data["sources"]["2027"]
    for entry in data["days"]:
        day = date.fromisoformat(entry["day"])
        if entry["kind"] == "workday":
            assert day.weekday() >= 5  # make-up days are weekend days
