"""Leave-one-group-out refits, predictive intervals and the credibility sections of the report."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from rhytid.report._credibility import context_of_use, credibility_sections
from rhytid.trial._calibrate import CalibrationResult, Target, load_targets
from rhytid.trial._credibility import LOGO_GROUPS, CredibilityRun, Interval, logo_step
from rhytid.trial._params import TrialParameters
from rhytid.trial._posterior import Laplace
from rhytid.trial._sensitivity import SobolResult


def test_every_logo_group_and_the_forehead_are_among_the_targets() -> None:
    targets = load_targets()
    groups = {t.group for t in targets}
    assert set(LOGO_GROUPS) <= groups
    forehead = [t for t in targets if t.group == "forehead"]
    assert {t.name for t in forehead} >= {"fh_ona40_none_or_mild_day30", "fh_ona40_improve2_day30"}
    assert all(t.source and t.sd > 0 for t in targets)
    # the held-out 60/80 U week-24 rates are never fitted
    assert not {"ona60_improve1_week24", "ona80_improve1_week24"} & {t.name for t in targets}


def test_logo_step_is_the_exact_refit_of_a_linear_problem() -> None:
    rng = np.random.default_rng(2)
    a = rng.standard_normal((12, 3))
    y = a @ np.array([0.3, -0.2, 0.1]) + 0.05 * rng.standard_normal(12)
    x_full = np.linalg.lstsq(a, y, rcond=None)[0]
    r = a @ x_full - y
    out = [0, 1, 2]
    keep = [i for i in range(12) if i not in out]
    x_refit = np.linalg.lstsq(a[keep], y[keep], rcond=None)[0]
    step = logo_step(a, r, out, prior_sd=1e6)
    assert x_full + step == pytest.approx(x_refit, abs=1e-6)
    # leaving nothing out does not move the optimum
    assert logo_step(a, r, [], prior_sd=1e6) == pytest.approx(np.zeros(3), abs=1e-9)


def test_interval_inside_and_standardised_error() -> None:
    iv = Interval("x", "g", published=0.5, model=0.6, sd=0.05)
    assert not iv.inside and iv.z == pytest.approx(2.0)
    assert Interval("x", "g", published=0.55, model=0.6, sd=0.05).inside


def _fake_run(tmp_path: Path) -> CredibilityRun:
    targets = [
        Target("a", 0.5, 0.05, "q", "Study A 2020, x", "glabellar onabotulinumtoxinA"),
        Target("b", 120.0, 10.0, "q", "Study B (y)", "forehead"),
    ]
    names = ("p1", "p2")
    jac = np.array([[2.0, 0.1], [0.1, 3.0], [0.0, 0.0]])
    post = Laplace.from_jacobian(jac, np.array([0.5, -1.0, 0.0]), {"p1": 1.0, "p2": 2.0}, names)
    result = CalibrationResult(
        parameters=TrialParameters.from_data(),
        start={"p1": 1.0, "p2": 2.0},
        fitted={"p1": 1.0, "p2": 2.0},
        targets=targets,
        values={"a": 0.52, "b": 110.0},
        objective=1.25,
        objective_start=9.0,
        evaluations=3,
        seed=1,
        patients=200,
        optimiser="test",
    )
    sob = SobolResult(
        names,
        ("y",),
        np.array([[0.6, 0.1]]),
        np.full((1, 2), 0.05),
        np.array([[0.7, 0.2]]),
        np.full((1, 2), 0.05),
        8,
        32,
    )
    run = CredibilityRun(result=result, posterior=post, jac=jac, residuals=np.array([0.5, -1.0, 0.0]))
    run.fit_intervals = [
        Interval("a", targets[0].group, 0.5, 0.52, 0.06),
        Interval("b", "forehead", 120, 110, 12),
    ]
    run.logo = {"forehead": [Interval("b", "forehead", 120, 90, 12)]}
    run.logo_shift = {"forehead": {"p1": 0.1, "p2": -0.4}}
    run.heldout = [Interval("h", "held out", 0.3, 0.4, 0.05)]
    run.sobol = sob
    run.timings = {"fit": 1.0, "total": 2.0}
    return run


def test_report_sections_keep_fit_logo_and_held_out_apart(tmp_path: Path) -> None:
    run = _fake_run(tmp_path)
    text = "\n".join(credibility_sections(run, tmp_path))
    a, b, c = (
        text.index("## (a) Calibration fit"),
        text.index("## (b) Leave-one-group-out"),
        text.index("## (c) Held-out"),
    )
    assert a < b < c
    assert (
        "calibration 2 of 2 (100%)" in text
        and "leave-one-group-out 0 of 1 (0%)" in text
        and "held out 0 of 1" in text
    )
    assert (
        "outside the 90 % interval** (a failed validation, not a fit to redo): h model 0.4 vs published 0.3"
        in text
    )
    assert "Free parameters: 2" in text and "from 2 independent studies" in text
    assert "| b | forehead | 120 | 90 |" in text and "without forehead: p2 -0.40" in text
    assert (tmp_path / "coverage.png").stat().st_size > 1000 and (
        tmp_path / "sobol.png"
    ).stat().st_size > 1000
    assert "not a validation" in text


def test_context_of_use_says_what_it_may_not_inform() -> None:
    text = "\n".join(context_of_use())
    assert "teaching" in text and "comparing plans" in text and "designing trials" in text
    assert "an individual's dose" in text and "**no**" in text and math.isfinite(len(text))


def test_targets_the_parameters_were_not_fitted_to_are_marked(tmp_path: Path) -> None:
    run = _fake_run(tmp_path)
    run.unfitted_targets = ["b"]
    text = "\n".join(credibility_sections(run, tmp_path))
    assert "fitted without 1 of these targets** (b)" in text
    assert "| b (not in the fit) | forehead |" in text and "| a | glabellar" in text


def test_every_held_out_outcome_has_a_model_value_and_is_never_fitted() -> None:
    """Each outcome of ``calibration_targets.yaml validation`` (the glabellar 60/80 U rates, the
    30 U relapse and the prabo 20 U adverse events) is computed by the held-out part and is no
    calibration target; the adverse events are rates of the treated arm."""
    from rhytid import default_parameters
    from rhytid.trial._credibility import HELDOUT_ARM_N, _heldout_targets, _heldout_values

    held = _heldout_targets()
    values = _heldout_values(default_parameters(), 400, 1)
    assert [t.name for t in held] == list(values)
    assert {"prabo20_eyelid_ptosis", "prabo20_brow_ptosis"} <= set(values)
    assert set(values) <= set(HELDOUT_ARM_N)
    assert not set(values) & {t.name for t in load_targets()}
    assert all(0.0 <= v <= 1.0 for v in values.values())
