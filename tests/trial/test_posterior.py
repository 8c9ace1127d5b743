"""The Laplace posterior recovers known parameters of a synthetic problem; predictive intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import least_squares

from rhytid.trial._posterior import Laplace, add_intervals, interval90

T = np.linspace(0.0, 10.0, 25)
TRUE = {"amplitude": 2.0, "rate": 0.35, "offset": 0.5}
NOISE = 0.05


def _model(theta: dict[str, float]) -> np.ndarray:
    return theta["amplitude"] * np.exp(-theta["rate"] * T) + theta["offset"]


def _fit(y: np.ndarray) -> Laplace:
    names = list(TRUE)

    def resid(x: np.ndarray) -> np.ndarray:
        theta = {n: math.exp(v) for n, v in zip(names, x, strict=True)}
        return (_model(theta) - y) / NOISE

    res = least_squares(resid, np.log([1.0, 1.0, 1.0]), method="trf")
    theta = {n: math.exp(v) for n, v in zip(names, res.x, strict=True)}
    return Laplace.from_jacobian(res.jac, res.fun, theta, names, prior_sd=10.0, inflate=False)


def test_posterior_covers_the_known_parameters_at_its_nominal_rate() -> None:
    rng = np.random.default_rng(3)
    hits = dict.fromkeys(TRUE, 0)
    runs = 150
    for _ in range(runs):
        post = _fit(_model(TRUE) + NOISE * rng.standard_normal(len(T)))
        for n, v in TRUE.items():
            lo, hi = post.interval90(n)
            hits[n] += lo <= v <= hi
    for n, k in hits.items():
        assert 0.82 <= k / runs <= 0.97, (n, k / runs)


def test_one_synthetic_fit_recovers_the_parameters_within_its_intervals() -> None:
    rng = np.random.default_rng(11)
    post = _fit(_model(TRUE) + NOISE * rng.standard_normal(len(T)))
    for n, v in TRUE.items():
        lo, hi = post.interval90(n)
        assert lo <= v <= hi and hi / lo < 2.0  # covered, and informative


def test_unseen_parameter_is_weakly_identified_and_held_by_the_prior() -> None:
    # the second column is all zeros: the data say nothing about that parameter
    jac = np.array([[1.0, 0.0], [2.0, 0.0], [1.0, 0.0]]) * 10
    post = Laplace.from_jacobian(jac, np.zeros(3), {"a": 1.0, "b": 1.0}, ["a", "b"], inflate=False)
    assert post.sd[1] == pytest.approx(1.0)  # the prior sd
    assert "b" in post.weakly_identified() and "a" not in post.weakly_identified()
    # two columns that move the residuals the same way are correlated
    jac2 = np.array([[1.0, 1.0], [2.0, 2.0], [1.0, 1.01]]) * 10
    post2 = Laplace.from_jacobian(jac2, np.zeros(3), {"a": 1.0, "b": 1.0}, ["a", "b"], inflate=False)
    assert post2.correlation()[0, 1] < -0.9
    assert "correlated with b" in post2.weakly_identified()["a"]


def test_misfit_inflates_the_covariance() -> None:
    jac = np.eye(3) * 5
    tight = Laplace.from_jacobian(np.vstack([jac, jac]), np.zeros(6), {"a": 1, "b": 1, "c": 1}, "abc")
    loose = Laplace.from_jacobian(np.vstack([jac, jac]), np.full(6, 3.0), {"a": 1, "b": 1, "c": 1}, "abc")
    assert loose.scale == pytest.approx(9 / 0.454936423119572) and np.all(loose.sd > tight.sd)
    # one target far off does not inflate the rest: the scale reads the typical residual
    one_off = Laplace.from_jacobian(
        np.vstack([jac, jac]), np.array([20.0, 0, 0, 0, 0, 0]), {"a": 1, "b": 1, "c": 1}, "abc"
    )
    assert one_off.scale == 1.0


def test_samples_follow_the_covariance_and_keep_thresholds_ordered() -> None:
    names = ["threshold_none_mild", "threshold_mild_moderate", "threshold_moderate_severe"]
    post = Laplace(
        tuple(names), dict(zip(names, [1000.0, 1100.0, 1200.0], strict=True)), np.eye(3) * 0.04, 1.0
    )
    draws = post.sample(np.random.default_rng(1), 400)
    assert all(d[names[0]] <= d[names[1]] <= d[names[2]] for d in draws)
    back = Laplace.from_dict(post.to_dict())
    assert back.names == post.names and np.allclose(back.cov, post.cov)


def test_interval_of_draws_on_a_stabilised_scale() -> None:
    rng = np.random.default_rng(5)
    p = rng.binomial(400, 0.3, size=2000) / 400
    lo, hi = interval90(p, "rate")
    assert lo == pytest.approx(np.quantile(p, 0.05), abs=0.01) and hi == pytest.approx(
        np.quantile(p, 0.95), abs=0.01
    )
    assert interval90(np.zeros(10), "rate") == [0.0, 0.0]
    days = np.exp(rng.normal(np.log(120), 0.1, 2000))
    lo_d, hi_d = interval90(days, "days")
    assert lo_d < 120 < hi_d


def test_add_intervals_puts_one_beside_every_endpoint() -> None:
    central = {
        "design": {"seed": 1},
        "visits": [
            {"day": 30, "none_or_mild": {"treated": 0.7, "treated_ci95": [0.6, 0.8], "placebo": 0.02}}
        ],
        "median_days_to_baseline": 130,
        "adverse_events": {"eyelid_ptosis": {"treated": 0.02}},
    }
    draws = [
        {
            "visits": [{"day": 30, "none_or_mild": {"treated": 0.7 + 0.01 * k, "placebo": 0.02}}],
            "median_days_to_baseline": 120 + 5 * k,
            "adverse_events": {"eyelid_ptosis": {"treated": 0.01 * k}},
        }
        for k in range(6)
    ]
    out = add_intervals(central, draws)
    nm = out["visits"][0]["none_or_mild"]
    assert nm["treated_pi90"][0] < 0.72 < nm["treated_pi90"][1]
    assert nm["placebo_pi90"] == [0.02, 0.02]
    assert out["median_days_to_baseline_pi90"][0] < 132 < out["median_days_to_baseline_pi90"][1]
    assert (
        "eyelid_ptosis" in out["adverse_events"] and "treated_pi90" in out["adverse_events"]["eyelid_ptosis"]
    )
    assert "seed_pi90" not in out["design"] and "day_pi90" not in out["visits"][0]


def _label_run(design_patients: int = 80):
    import dataclasses

    from rhytid.trial import TrialDesign, run_trial

    design = TrialDesign(
        "glabellar", "onabotulinumtoxinA", 20, patients=design_patients, seed=4, visits=(30.0,)
    )

    def run(tp, seed):  # type: ignore[no-untyped-def]
        return run_trial(dataclasses.replace(design, seed=seed), tp.replace(chunk_patients=60)).to_dict()

    return run


def test_trial_intervals_hold_the_central_value_and_widen_with_parameter_uncertainty() -> None:
    from rhytid.trial import TrialParameters
    from rhytid.trial._calibrate import ALL_FREE, get_free
    from rhytid.trial._posterior import trial_with_uncertainty

    tp = TrialParameters.from_data()
    theta = {n: get_free(tp)[n] for n in ALL_FREE}
    narrow = Laplace(ALL_FREE, theta, np.eye(len(ALL_FREE)) * 1e-6, 1.0)
    # sd 0.5 in ln theta: parameter uncertainty well above the 4-draw sampling noise of a small trial
    wide = Laplace(ALL_FREE, theta, np.eye(len(ALL_FREE)) * 0.25, 1.0)
    run = _label_run()
    a = trial_with_uncertainty(run, 4, 4, posterior=narrow, base=tp)
    b = trial_with_uncertainty(run, 4, 4, posterior=wide, base=tp)
    nm_a, nm_b = a["visits"][0]["none_or_mild"], b["visits"][0]["none_or_mild"]
    assert nm_a["treated_pi90"][0] <= nm_a["treated"] <= nm_a["treated_pi90"][1]
    width = lambda x: x["treated_pi90"][1] - x["treated_pi90"][0]  # noqa: E731
    assert width(nm_b) > width(nm_a) > 0  # sampling alone already gives a width
    assert a["uncertainty"]["draws"] == 4
    again = trial_with_uncertainty(run, 4, 4, posterior=narrow, base=tp)
    assert again == a  # same seed, same intervals
