"""A one-sided Poisson CUSUM on event arrivals in continuous time.

Under the baseline, events arrive at rate ``lambda0``; under the alternative, at
``k * lambda0``. The log-likelihood ratio of the alternative gains ``ln k`` at each event
and loses ``(k - 1) * lambda0 * dt`` over a quiet stretch ``dt``. The statistic is that
running log-likelihood ratio floored at zero (Page's CUSUM); it alarms above ``h``. The
expected integral of ``lambda0`` is supplied by the caller, because the baseline rate varies
hour by hour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(slots=True)
class PoissonCusum:
    elevation: float  # k > 1: the rate ratio the test is tuned to notice
    cap: float  # the statistic never exceeds this, so it recovers soon after a burst ends
    value: float = 0.0

    def __post_init__(self) -> None:
        if self.elevation <= 1.0:
            raise ValueError("the elevation ratio k must be above 1")
        if self.cap <= 0.0:
            raise ValueError("the cap must be positive")

    @property
    def jump(self) -> float:
        """What one arrival adds: ln k."""
        return math.log(self.elevation)

    def drain_per_expected_event(self) -> float:
        """What one expected (baseline) event's worth of quiet time removes: k - 1."""
        return self.elevation - 1.0

    def decay(self, expected_events: float) -> bool:
        """Let time pass in which ``expected_events`` baseline events were due.

        Returns True when the statistic has fallen back to zero (the episode is over).
        """
        if expected_events < 0:
            raise ValueError("expected events cannot be negative")
        self.value = max(0.0, self.value - self.drain_per_expected_event() * expected_events)
        return self.value == 0.0

    def arrive(self) -> float:
        """Count one arrival; returns the new statistic."""
        self.value = min(self.cap, self.value + self.jump)
        return self.value

    def reset(self) -> None:
        self.value = 0.0
