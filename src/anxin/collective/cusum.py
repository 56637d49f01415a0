"""A one-sided Poisson CUSUM on event arrivals in continuous time.

Under the baseline, events arrive at rate ``r`` (which varies hour by hour); under the
alternative, at ``r + e(r)`` where the excess ``e(r) = min((k - 1) * r, E)``: k times the
baseline, but never more than ``E`` extra complaints per hour, because a busy group needs no
eightfold rise to be a burst worth telling anyone about. The log-likelihood ratio of the
alternative gains ``ln(1 + e(r)/r)`` at each event and loses the integral of ``e(r)`` over
quiet time. The statistic is that running log-likelihood ratio floored at zero (Page's
CUSUM); it alarms above a threshold ``h``. The integral of the excess over an interval is
supplied by the caller (``baseline.excess_events``), which knows how ``r`` varies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(slots=True)
class PoissonCusum:
    elevation: float  # k > 1: the rate ratio the test is tuned to notice
    cap: float  # the statistic never exceeds this, so it recovers soon after a burst ends
    max_excess: float = math.inf  # E: extra complaints per hour the alternative assumes at most
    min_excess: float = 0.0  # ... and at least
    value: float = 0.0

    def __post_init__(self) -> None:
        if self.elevation <= 1.0:
            raise ValueError("the elevation ratio k must be above 1")
        if self.cap <= 0.0 or self.max_excess <= 0.0:
            raise ValueError("the cap and the maximum excess must be positive")
        if not 0.0 <= self.min_excess <= self.max_excess:
            raise ValueError("the minimum excess must be between 0 and the maximum")

    def excess(self, rate: float) -> float:
        """Extra events per hour under the alternative, at baseline ``rate``."""
        return min(max((self.elevation - 1.0) * rate, self.min_excess), self.max_excess)

    def jump(self, rate: float) -> float:
        """What one arrival adds at baseline ``rate`` (events per hour, > 0)."""
        return math.log1p(self.excess(rate) / rate)

    def drain(self, excess_events: float) -> bool:
        """Let quiet time pass over which the alternative expected ``excess_events`` more.

        Returns True when the statistic has fallen back to zero (the episode is over).
        """
        if excess_events < 0:
            raise ValueError("excess events cannot be negative")
        self.value = max(0.0, self.value - excess_events)
        return self.value == 0.0

    def arrive(self, rate: float) -> float:
        """Count one arrival at baseline ``rate``; returns the new statistic."""
        self.value = min(self.cap, self.value + self.jump(rate))
        return self.value
