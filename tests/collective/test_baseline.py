from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from anxin.collective.baseline import GroupShares, WeeklyProfile, expected_events
from tests.collective.conftest import SHANGHAI

MONDAY_MIDNIGHT = datetime(2026, 11, 2, tzinfo=SHANGHAI)


def _profile(**overrides: float) -> WeeklyProfile:
    options = {"weight": 0.5, "prior_rate": 100.0, "learn_delay_hours": 0, **overrides}
    return WeeklyProfile(timezone="Asia/Shanghai", **options)  # type: ignore[arg-type]


def _hour(at: datetime) -> int:
    return int(at.timestamp() // 3600)


def _feed(profile: WeeklyProfile, hour_start: datetime, count: int) -> None:
    for n in range(count):
        profile.observe((hour_start + timedelta(seconds=n * 3600 / max(count, 1))).timestamp())


def test_hours_of_the_week_are_local_hours() -> None:
    profile = _profile()
    assert profile.slot(_hour(MONDAY_MIDNIGHT)) == 0
    assert profile.slot(_hour(MONDAY_MIDNIGHT + timedelta(days=2, hours=10))) == 2 * 24 + 10
    assert profile.slot(_hour(MONDAY_MIDNIGHT + timedelta(days=7))) == 0


def test_each_hour_of_the_week_learns_its_own_rate() -> None:
    profile = _profile()
    for week in range(3):
        for day in range(7):
            for hour in range(24):
                start = MONDAY_MIDNIGHT + timedelta(weeks=week, days=day, hours=hour)
                busy_monday_morning = day == 0 and 9 <= hour < 12
                _feed(profile, start, 60 if busy_monday_morning else 10)
    profile.advance((MONDAY_MIDNIGHT + timedelta(weeks=3)).timestamp())
    monday_ten = _hour(MONDAY_MIDNIGHT + timedelta(weeks=3, hours=10))
    tuesday_ten = _hour(MONDAY_MIDNIGHT + timedelta(weeks=3, days=1, hours=10))
    assert profile.rate(monday_ten) == pytest.approx(60.0)
    assert profile.rate(tuesday_ten) == pytest.approx(10.0)


def test_an_unseen_hour_of_the_week_falls_back_to_the_hour_of_the_day_then_the_prior() -> None:
    profile = _profile()
    assert profile.rate(_hour(MONDAY_MIDNIGHT)) == 100.0  # nothing learned: the prior
    for hour in range(24):
        _feed(profile, MONDAY_MIDNIGHT + timedelta(hours=hour), 30 if hour == 10 else 5)
    profile.advance((MONDAY_MIDNIGHT + timedelta(days=1)).timestamp())
    assert profile.rate(_hour(MONDAY_MIDNIGHT + timedelta(days=1, hours=10))) == 30.0
    assert profile.rate(_hour(MONDAY_MIDNIGHT + timedelta(days=1, hours=3))) == 5.0


def test_quiet_hours_are_learned_as_zero_and_forgotten_complaints_do_not_count() -> None:
    profile = _profile(weight=1.0)
    at = MONDAY_MIDNIGHT + timedelta(hours=5)
    _feed(profile, at, 10)
    for n in range(4):
        profile.forget((at + timedelta(seconds=n)).timestamp())
    profile.advance((at + timedelta(hours=3)).timestamp())
    assert profile.rate(_hour(at)) == 6.0
    assert profile.rate(_hour(at + timedelta(hours=1))) == 0.0


def test_expected_events_integrate_the_rate_hour_by_hour() -> None:
    profile = _profile(weight=1.0)
    _feed(profile, MONDAY_MIDNIGHT, 10)
    _feed(profile, MONDAY_MIDNIGHT + timedelta(hours=1), 40)
    profile.advance((MONDAY_MIDNIGHT + timedelta(hours=2)).timestamp())
    half_past = (MONDAY_MIDNIGHT + timedelta(minutes=30)).timestamp()
    end = (MONDAY_MIDNIGHT + timedelta(hours=2)).timestamp()
    # Half of hour 0 at 10/h and all of hour 1 at 40/h, times a 10% share, plus a prior.
    assert expected_events(profile, 0.1, 0.0, half_past, end) == pytest.approx(0.5 + 4.0)
    assert expected_events(profile, 0.1, 1.0, half_past, end) == pytest.approx(6.0)


def test_group_shares_follow_the_mix_and_decay() -> None:
    shares = GroupShares(half_life_hours=24)
    start = MONDAY_MIDNIGHT.timestamp()
    for n in range(100):
        keys: list[object] = ["merchant"] if n % 4 == 0 else []
        shares.observe(keys, start + n)
    assert shares.share("merchant", start + 100) == pytest.approx(0.25, abs=0.01)
    assert shares.share("never seen", start + 100) == 0.0
    for n in range(100):
        shares.observe([], start + 48 * 3600 + n)
    assert shares.share("merchant", start + 48 * 3600 + 100) < 0.1
