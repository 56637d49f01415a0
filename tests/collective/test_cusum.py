from __future__ import annotations

import math

import pytest

from anxin.collective.cusum import PoissonCusum


def test_each_arrival_adds_the_log_likelihood_ratio_of_one_event() -> None:
    cusum = PoissonCusum(elevation=4.0, cap=100.0)
    assert cusum.arrive(2.0) == pytest.approx(math.log(4.0))
    assert cusum.arrive(0.1) == pytest.approx(2 * math.log(4.0))


def test_quiet_time_drains_the_alternatives_excess() -> None:
    cusum = PoissonCusum(elevation=4.0, cap=100.0)
    assert cusum.excess(2.0) == pytest.approx(6.0)  # (k - 1) * rate
    for _ in range(5):
        cusum.arrive(2.0)
    before = cusum.value
    assert not cusum.drain(1.5)
    assert cusum.value == pytest.approx(before - 1.5)


def test_a_busy_group_is_tested_against_a_bounded_excess() -> None:
    cusum = PoissonCusum(elevation=8.0, cap=100.0, max_excess=30.0)
    assert cusum.excess(1.0) == pytest.approx(7.0)
    assert cusum.jump(1.0) == pytest.approx(math.log(8.0))
    assert cusum.excess(25.0) == pytest.approx(30.0)  # not 175 more per hour
    assert cusum.jump(25.0) == pytest.approx(math.log(55.0 / 25.0))


def test_a_quiet_group_is_tested_against_a_minimum_excess() -> None:
    cusum = PoissonCusum(elevation=8.0, cap=100.0, max_excess=30.0, min_excess=10.0)
    assert cusum.excess(0.25) == pytest.approx(10.0)  # not 1.75 more per hour
    assert cusum.jump(0.25) == pytest.approx(math.log(41.0))
    assert cusum.excess(2.0) == pytest.approx(14.0)


def test_the_statistic_never_goes_below_zero_and_reports_the_end_of_an_episode() -> None:
    cusum = PoissonCusum(elevation=8.0, cap=100.0)
    cusum.arrive(1.0)
    assert cusum.drain(10.0)
    assert cusum.value == 0.0


def test_the_cap_bounds_the_statistic_so_it_recovers_after_a_burst() -> None:
    cusum = PoissonCusum(elevation=8.0, cap=20.0)
    for _ in range(100):
        cusum.arrive(1.0)
    assert cusum.value == 20.0
    assert cusum.drain(20.0)


def test_arrivals_at_the_baseline_rate_drift_down_and_a_burst_drifts_up() -> None:
    # Per hour at rate r: +r*ln(k) from arrivals against -(k-1)*r drained; ln k < k - 1.
    rate = 3.0
    baseline, burst = PoissonCusum(4.0, cap=1e9), PoissonCusum(4.0, cap=1e9)
    for _ in range(50):
        baseline.drain(baseline.excess(rate) / rate)  # one baseline gap between arrivals
        baseline.arrive(rate)
        burst.drain(burst.excess(rate) / rate / 10)  # ten times as often
        burst.arrive(rate)
    assert baseline.value < 2 * math.log(4.0)
    assert burst.value > 40


@pytest.mark.parametrize(
    ("elevation", "cap", "excess"),
    [(1.0, 10.0, 5.0), (0.5, 10.0, 5.0), (2.0, 0.0, 5.0), (2.0, 1.0, 0.0), (2.0, 1.0, -1.0)],
)
def test_nonsense_parameters_are_refused(elevation: float, cap: float, excess: float) -> None:
    with pytest.raises(ValueError):
        PoissonCusum(elevation, cap=cap, max_excess=excess)
