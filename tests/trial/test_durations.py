"""Durations read at follow-up visits: the trial's definitions on hand-made rating sequences."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rhytid.trial import TrialParameters
from rhytid.trial._run import durations, follow_up_days, median_ci

HORIZON = 450.0
DAYS = np.array([28.0, 56.0, 84.0, 112.0, 140.0])


def _run(rows: list[list[int]], baseline: list[int]) -> tuple[np.ndarray, np.ndarray]:
    rated = np.array(rows, dtype=np.intp)
    days = np.broadcast_to(DAYS, rated.shape)
    return durations(days, rated, np.array(baseline, dtype=np.intp), HORIZON)


def test_durations_end_at_the_first_visit_the_response_is_lost() -> None:
    nm, base = _run([[1, 0, 1, 2, 3], [2, 1, 2, 2, 3]], [3, 3])
    assert nm.tolist() == [112.0, 84.0]  # none-or-mild lost at the first later visit rated >= 2
    assert base.tolist() == [140.0, 140.0]  # improvement lasts until rated 3 again


def test_non_responders_are_left_out_and_lasting_responders_count_at_the_horizon() -> None:
    nm, base = _run([[3, 3, 3, 3, 3], [0, 0, 0, 0, 1], [2, 2, 2, 2, 2]], [3, 2, 3])
    assert nm.tolist() == [HORIZON]  # only the second patient was ever none or mild
    assert base.tolist() == [HORIZON, HORIZON]  # second and third improved and never returned


def test_a_baseline_of_moderate_returns_when_rated_moderate_again() -> None:
    nm, base = _run([[1, 1, 2, 1, 2]], [2])
    assert nm.tolist() == [84.0] and base.tolist() == [84.0]  # a lost response is not regained


def test_per_patient_visit_days_are_used() -> None:
    rated = np.array([[1, 2], [1, 2]], dtype=np.intp)
    days = np.array([[25.0, 60.0], [31.0, 50.0]])
    nm, _ = durations(days, rated, np.array([3, 3], dtype=np.intp), HORIZON)
    assert nm.tolist() == [60.0, 50.0]


def test_follow_up_schedule_covers_the_horizon_every_four_weeks() -> None:
    tp = TrialParameters.from_data()
    days = follow_up_days(tp)
    assert days[0] == tp.follow_up_days and days[-1] <= tp.horizon_days
    assert np.allclose(np.diff(days), tp.follow_up_days) and tp.horizon_days - days[-1] < tp.follow_up_days


grades = arrays(np.intp, st.tuples(st.integers(1, 6), st.just(len(DAYS))), elements=st.integers(0, 3))


@given(grades, st.integers(0, len(DAYS) - 1), st.integers(0, 3))
def test_worse_ratings_never_lengthen_a_duration(rated: np.ndarray, visit: int, worse: int) -> None:
    baseline = np.full(rated.shape[0], 3, dtype=np.intp)
    days = np.broadcast_to(DAYS, rated.shape)
    nm, base = durations(days, rated, baseline, HORIZON)
    assert np.all((nm >= DAYS[0]) & (nm <= HORIZON)) and np.all((base >= DAYS[0]) & (base <= HORIZON))
    assert len(nm) == int((rated <= 1).any(axis=1).sum()) and len(base) == int((rated <= 2).any(axis=1).sum())
    # a worse rating at one visit after the first visit ends each duration no later
    later = rated.copy()
    later[:, visit] = np.maximum(later[:, visit], worse)
    keep = (rated[:, :visit] <= 1).any(axis=1) if visit else np.zeros(rated.shape[0], dtype=bool)
    nm2, _ = durations(days[keep], later[keep], baseline[keep], HORIZON)
    nm1, _ = durations(days[keep], rated[keep], baseline[keep], HORIZON)
    assert np.all(nm2 <= nm1)


def test_median_interval_covers_the_median_of_a_known_distribution() -> None:
    """Over repeated samples the 95 % interval of the median covers the true median ~95 % of the time."""
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(400):
        ci = median_ci(rng.exponential(100.0, 300) * 1.0)
        assert ci is not None and ci[0] <= ci[1]
        hits += ci[0] <= 100.0 * np.log(2.0) <= ci[1]
    assert 0.92 <= hits / 400 <= 0.985
    assert median_ci(np.zeros(0)) is None
