from __future__ import annotations

import math

import pytest

from anxin.collective.cusum import PoissonCusum


def test_each_arrival_adds_log_of_the_elevation() -> None:
    cusum = PoissonCusum(elevation=4.0, cap=100.0)
    assert cusum.arrive() == pytest.approx(math.log(4.0))
    assert cusum.arrive() == pytest.approx(2 * math.log(4.0))


def test_quiet_time_drains_k_minus_one_per_expected_event() -> None:
    cusum = PoissonCusum(elevation=4.0, cap=100.0)
    for _ in range(5):
        cusum.arrive()
    before = cusum.value
    assert not cusum.decay(0.5)
    assert cusum.value == pytest.approx(before - 3.0 * 0.5)


def test_the_statistic_never_goes_below_zero_and_reports_the_end_of_an_episode() -> None:
    cusum = PoissonCusum(elevation=8.0, cap=100.0)
    cusum.arrive()
    assert cusum.decay(10.0)
    assert cusum.value == 0.0


def test_the_cap_bounds_the_statistic_so_it_recovers_after_a_burst() -> None:
    cusum = PoissonCusum(elevation=8.0, cap=20.0)
    for _ in range(100):
        cusum.arrive()
    assert cusum.value == 20.0
    assert cusum.decay(20.0 / 7.0 + 1e-9)


def test_arrivals_at_the_baseline_rate_drift_down_and_a_burst_drifts_up() -> None:
    # Per expected event: +ln k per arrival vs -(k-1); at the baseline rate the sum is negative.
    baseline, burst = PoissonCusum(4.0, cap=1e9), PoissonCusum(4.0, cap=1e9)
    for _ in range(50):
        baseline.decay(1.0)
        baseline.arrive()
        burst.decay(0.1)
        burst.arrive()
    assert baseline.value < 2 * math.log(4.0)
    assert burst.value > 40


@pytest.mark.parametrize(("elevation", "cap"), [(1.0, 10.0), (0.5, 10.0), (2.0, 0.0)])
def test_nonsense_parameters_are_refused(elevation: float, cap: float) -> None:
    with pytest.raises(ValueError):
        PoissonCusum(elevation, cap=cap)
