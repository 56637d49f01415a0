"""How many complaints a group usually gets in a given hour of the week.

Two parts, because a week or two of history holds at most one or two observations of any
one group in any one hour of the week:

- ``WeeklyProfile``: the rate of all complaints together, per hour of the week, learned
  online as an exponentially weighted mean of each completed hour's count. An hour of the
  week not seen yet falls back to the same hour of the day, then to the mean rate so far,
  then to a configured prior.
- ``GroupShares``: each group's share of all complaints, as exponentially decayed counts
  (half-life about a week), so a group's expected rate is its share times the weekly
  profile, plus a small prior rate that keeps a brand-new group from looking alarming at
  its first complaints.

Complaints later found to belong to a collective complaint are taken back out of both, so a
burst does not teach the baseline that bursts are normal.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

HOURS_PER_WEEK = 168
_SECONDS_PER_HOUR = 3600.0
_THURSDAY = 3  # 1970-01-01, where hour indexes start, was a Thursday (Monday is 0)


class WeeklyProfile:
    """All complaints' rate per hour of the week (complaints per hour), learned online."""

    def __init__(
        self, *, timezone: str, weight: float, prior_rate: float, learn_delay_hours: int
    ) -> None:
        if not 0.0 < weight <= 1.0:
            raise ValueError("the learning weight must be in (0, 1]")
        self._zone = ZoneInfo(timezone)
        self._weight = weight
        self._prior_rate = prior_rate
        # Hours are learned only this long after they end, so that a burst found in the
        # meantime can be taken out of their counts first.
        self._learn_delay = learn_delay_hours
        self._slot_rate: list[float | None] = [None] * HOURS_PER_WEEK
        self._hour_of_day_rate: list[float | None] = [None] * 24
        self._pending: dict[int, int] = {}
        self._first_hour: int | None = None
        self._learned_through: int | None = None
        self._learned_total = 0.0
        self._learned_hours = 0
        self._slots: dict[int, int] = {}

    def slot(self, hour: int) -> int:
        """The local hour of the week (Monday 00:00 is 0) of a UTC hour index."""
        cached = self._slots.get(hour)
        if cached is None:
            moment = datetime.fromtimestamp(hour * _SECONDS_PER_HOUR, UTC)
            offset = moment.astimezone(self._zone).utcoffset()
            local_hour = hour + int(offset.total_seconds() // _SECONDS_PER_HOUR if offset else 0)
            weekday = (local_hour // 24 + _THURSDAY) % 7
            cached = weekday * 24 + local_hour % 24
            self._slots[hour] = cached
        return cached

    def observe(self, seconds: float) -> None:
        hour = int(seconds // _SECONDS_PER_HOUR)
        if self._first_hour is None:
            self._first_hour = hour
            self._learned_through = hour - 1
        self._pending[hour] = self._pending.get(hour, 0) + 1

    def forget(self, seconds: float) -> None:
        """Take back one complaint, if its hour has not been learned yet."""
        hour = int(seconds // _SECONDS_PER_HOUR)
        if self._pending.get(hour, 0) > 0:
            self._pending[hour] -= 1

    def advance(self, seconds: float) -> None:
        """Learn every hour that ended at least ``learn_delay`` hours before ``seconds``."""
        if self._learned_through is None:
            return
        last = int(seconds // _SECONDS_PER_HOUR) - 1 - self._learn_delay
        for hour in range(self._learned_through + 1, last + 1):
            self._learn(hour, self._pending.pop(hour, 0))
            self._learned_through = hour

    def _learn(self, hour: int, count: int) -> None:
        slot = self.slot(hour)
        self._slot_rate[slot] = self._blend(self._slot_rate[slot], count)
        of_day = slot % 24
        self._hour_of_day_rate[of_day] = self._blend(self._hour_of_day_rate[of_day], count)
        self._learned_total += count
        self._learned_hours += 1

    def _blend(self, old: float | None, count: int) -> float:
        return float(count) if old is None else old + self._weight * (count - old)

    def rate(self, hour: int) -> float:
        """Expected complaints per hour, all groups together, in that UTC hour."""
        slot = self.slot(hour)
        known = self._slot_rate[slot]
        if known is None:
            known = self._hour_of_day_rate[slot % 24]
        if known is None and self._learned_hours:
            known = self._learned_total / self._learned_hours
        return self._prior_rate if known is None else known


class GroupShares:
    """Each group's exponentially decayed share of all complaints."""

    def __init__(self, *, half_life_hours: float) -> None:
        self._tau = half_life_hours * _SECONDS_PER_HOUR / math.log(2.0)
        self._counts: dict[object, tuple[float, float]] = {}
        self._total = (0.0, 0.0)

    def _decayed(self, entry: tuple[float, float], seconds: float) -> float:
        value, since = entry
        return value * math.exp(-(seconds - since) / self._tau) if value else 0.0

    def _add(
        self, entry: tuple[float, float], seconds: float, weight: float
    ) -> tuple[float, float]:
        return (max(0.0, self._decayed(entry, seconds) + weight), seconds)

    def observe(self, keys: list[object], seconds: float) -> None:
        self._total = self._add(self._total, seconds, 1.0)
        for key in keys:
            self._counts[key] = self._add(self._counts.get(key, (0.0, seconds)), seconds, 1.0)

    def observe_total(self, seconds: float) -> None:
        self._total = self._add(self._total, seconds, 1.0)

    def observe_late(self, key: object, at_seconds: float, now_seconds: float) -> None:
        """Count, now, one complaint of a group that arrived at ``at_seconds``."""
        weight = math.exp(-(now_seconds - at_seconds) / self._tau)
        entry = self._counts.get(key, (0.0, now_seconds))
        self._counts[key] = self._add(entry, now_seconds, weight)

    def share(self, key: object, seconds: float) -> float:
        entry = self._counts.get(key)
        total = self._decayed(self._total, seconds)
        if entry is None or total <= 0.0:
            return 0.0
        return min(1.0, self._decayed(entry, seconds) / total)

    def seed(self, key: object, share: float, seconds: float) -> None:
        """Set a group's share from elsewhere (its look-back in history)."""
        self._counts[key] = (share * self._decayed(self._total, seconds), seconds)

    def drop(self, key: object) -> None:
        self._counts.pop(key, None)


def expected_events(
    profile: WeeklyProfile,
    share: float,
    prior_rate: float,
    start: float,
    end: float,
    *,
    excess: Callable[[float], float] | None = None,
    enough: float = math.inf,
) -> float:
    """Expected arrivals of a group between two instants (seconds), hour by hour; with
    ``excess``, the integral of ``excess(rate)`` instead (what a CUSUM drains).

    Stops early once ``enough`` is reached: the caller only needs to know that its
    statistic has drained to zero, and a rarely seen group may have been quiet for days.
    """
    total = 0.0
    moment = start
    while moment < end and total < enough:
        hour = int(moment // _SECONDS_PER_HOUR)
        until = min(end, (hour + 1) * _SECONDS_PER_HOUR)
        rate = share * profile.rate(hour) + prior_rate
        per_hour = rate if excess is None else excess(rate)
        total += per_hour * (until - moment) / _SECONDS_PER_HOUR
        moment = until
    return total


def group_rate(profile: WeeklyProfile, share: float, prior_rate: float, seconds: float) -> float:
    """A group's expected complaints per hour at an instant."""
    return share * profile.rate(int(seconds // _SECONDS_PER_HOUR)) + prior_rate
