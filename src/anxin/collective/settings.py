"""Every threshold of the collective-complaint detector, with defaults."""

from __future__ import annotations

from dataclasses import dataclass, fields
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class DetectorSettings:
    # The Poisson CUSUM: alarm when the log-likelihood ratio of "the rate is `elevation`
    # times its baseline" against "the rate is its baseline" exceeds `threshold`.
    threshold: float = 12.0
    elevation: float = 8.0
    # The alternative is `elevation` times the baseline, but at most `max_excess_per_hour`
    # extra complaints per hour (a busy group needs no eightfold rise to have a burst) and
    # at least `min_excess_per_hour` (a quiet group's burst is still 20 in 2 hours, not 2).
    max_excess_per_hour: float = 30.0
    min_excess_per_hour: float = 10.0
    # ...and only once at least this many distinct holders are in the episode.
    min_holders: int = 5
    # A holder counts once per group within this window: one person repeating is not a crowd.
    holder_window_minutes: float = 120.0
    # Cosine similarity for a complaint to join a meaning cluster.
    similarity: float = 0.45
    # Every group is assumed to get at least this many complaints per hour (the prior that
    # keeps a brand-new group quiet at its first complaints).
    prior_rate_per_hour: float = 0.25
    # Group shares of all complaints decay with this half-life.
    share_half_life_hours: float = 48.0
    # Weekly profile: weight of each new week's count, and the overall rate assumed before
    # any hour has been learned.
    profile_weight: float = 0.5
    profile_prior_rate_per_hour: float = 200.0
    learn_delay_hours: int = 2
    # No alarms in the first hours of a stream: the baseline is still empty.
    warmup_hours: float = 24.0
    # An open collective complaint closes when each of its groups is back to baseline (the
    # statistic drained to zero) or got nothing for this long.
    close_after_minutes: float = 60.0
    # The statistic is capped at `cap_factor * threshold` so it drains soon after a burst.
    cap_factor: float = 2.0
    # A group that alarms while its episode shares this fraction of the smaller side with an
    # open collective complaint joins that complaint instead of raising another.
    merge_overlap: float = 0.5
    # A complaint joins a collective complaint only if its meaning is at least this similar
    # to the collective complaint's (same merchant, different problem: not a member).
    join_similarity: float = 0.25
    # A group that alarms while an open collective complaint means much the same thing
    # (cosine of their centroids) joins it instead of raising another.
    merge_similarity: float = 0.35
    # Before a meaning group may alarm, its usual share is looked up in this much history,
    # if at least `min_history_hours` of it exist.
    lookback_hours: float = 168.0
    min_history_hours: float = 12.0
    # Meaning clusters nobody joined for this long are forgotten (one-member ones sooner).
    cluster_idle_hours: float = 72.0
    single_cluster_idle_hours: float = 6.0
    # Hashed feature space of the meaning vectors.
    dimensions: int = 8192
    # Hours of the week are local hours in this zone.
    timezone: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.threshold <= 0:
            problems.append("threshold must be positive")
        if self.elevation <= 1:
            problems.append("elevation must be above 1")
        if self.min_holders < 1:
            problems.append("min_holders must be at least 1")
        if not 0 < self.similarity <= 1:
            problems.append("similarity must be in (0, 1]")
        if not 0 <= self.join_similarity <= 1 or not 0 < self.merge_similarity <= 1:
            problems.append("join_similarity and merge_similarity must be in [0, 1]")
        if not 0 < self.merge_overlap <= 1:
            problems.append("merge_overlap must be in (0, 1]")
        if not 0 < self.profile_weight <= 1:
            problems.append("profile_weight must be in (0, 1]")
        if self.min_excess_per_hour > self.max_excess_per_hour or self.max_excess_per_hour <= 0:
            problems.append("need 0 <= min_excess_per_hour <= max_excess_per_hour, max > 0")
        if self.cap_factor < 1:
            problems.append("cap_factor must be at least 1")
        if self.dimensions < 256:
            problems.append("dimensions must be at least 256")
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, int | float) and value < 0:
                problems.append(f"{field.name} cannot be negative")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"unknown timezone {self.timezone!r}")
        if problems:
            raise ValueError("; ".join(problems))
