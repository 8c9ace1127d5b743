"""The Sobol code recovers the analytic indices of the Ishigami function."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rhytid.trial._sensitivity import sobol_indices

A, B = 7.0, 0.1


def ishigami(x: np.ndarray) -> np.ndarray:
    return np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])


def _analytic() -> tuple[np.ndarray, np.ndarray]:
    """Ishigami & Homma (1990); Sobol & Levitan (1999)."""
    v1 = 0.5 * (1 + B * math.pi**4 / 5) ** 2
    v2 = A**2 / 8
    v13 = B**2 * math.pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


def test_ishigami_indices() -> None:
    bounds = [(-math.pi, math.pi)] * 3
    res = sobol_indices(ishigami, ["x1", "x2", "x3"], bounds, 4096, seed=3)
    s1, st = _analytic()
    assert res.s1[0] == pytest.approx(s1, abs=0.03)
    assert res.st[0] == pytest.approx(st, abs=0.03)
    assert res.evaluations == 4096 * 5
    # x3 acts only through its interaction with x1: no first-order share, a real total one
    assert abs(res.s1[0, 2]) < 0.03 < res.st[0, 2]


def test_outputs_that_do_not_move_get_zero_indices() -> None:
    res = sobol_indices(
        lambda x: np.column_stack([x[:, 0], np.ones(len(x))]),
        ["a", "b"],
        [(0, 1), (0, 1)],
        64,
        outputs=("a", "flat"),
    )
    assert res.s1[0, 0] == pytest.approx(1.0, abs=0.1) and np.all(res.s1[1] == 0)
    assert {r["output"] for r in res.rows()} == {"a", "flat"}


def test_result_round_trips_through_its_file_form() -> None:
    from rhytid.trial._sensitivity import SobolResult

    res = sobol_indices(ishigami, ["x1", "x2", "x3"], [(-math.pi, math.pi)] * 3, 64, seed=1)
    back = SobolResult.from_dict(res.to_dict())
    assert (
        back.factors == res.factors
        and np.array_equal(back.st, res.st)
        and back.evaluations == res.evaluations
    )
