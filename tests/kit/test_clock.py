"""Time: exact integer microseconds and a manual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anxin.kit.clock import EPOCH, ManualClock, SystemClock, from_micros, to_micros

aware = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)


@given(aware)
def test_micros_round_trip_exactly(moment: datetime) -> None:
    assert from_micros(to_micros(moment)) == moment


@given(st.integers(min_value=to_micros(datetime(1, 1, 2, tzinfo=UTC)),
                   max_value=to_micros(datetime(9999, 12, 30, tzinfo=UTC))))  # fmt: skip
def test_datetimes_round_trip_exactly(micros: int) -> None:
    assert to_micros(from_micros(micros)) == micros


def test_known_values() -> None:
    assert to_micros(EPOCH) == 0
    assert to_micros(datetime(2030, 1, 1, tzinfo=UTC)) == 1_893_456_000_000_000
    assert to_micros(datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)) == -1
    # Beyond 2**53 microseconds a float would lose the last digit; integers do not.
    late = datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    assert to_micros(late) == 253_402_300_799_999_999
    assert from_micros(253_402_300_799_999_999) == late


def test_offsets_are_the_same_instant() -> None:
    shanghai = timezone(timedelta(hours=8))
    assert to_micros(datetime(2030, 1, 1, 8, tzinfo=shanghai)) == to_micros(
        datetime(2030, 1, 1, tzinfo=UTC)
    )
    assert from_micros(0).tzinfo is UTC


def test_manual_clock() -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    clock = ManualClock(start)
    assert clock.now() == start
    clock.advance(timedelta(seconds=90, microseconds=1))
    assert clock.now() == start + timedelta(seconds=90, microseconds=1)
    clock.set(start)
    assert clock.now() == start
    with pytest.raises(ValueError, match="aware"):
        ManualClock(datetime(2030, 1, 1))


def test_system_clock_is_aware_utc() -> None:
    assert SystemClock().now().tzinfo is UTC
