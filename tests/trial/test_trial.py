"""Virtual trials: the contract, reproducibility, the published glabellar trials, other areas."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rhytid.errors import RhytidError, TrialError
from rhytid.trial import TrialDesign, TrialResult, run_trial, wilson

ONA20 = TrialDesign("glabellar", "onabotulinumtoxinA", 20, patients=3000, seed=11)


@pytest.fixture(scope="module")
def ona20() -> TrialResult:
    return run_trial(ONA20)


def _visit(d: dict[str, object], day: int) -> dict[str, dict[str, float]]:
    return next(v for v in d["visits"] if v["day"] == day)  # type: ignore[union-attr, index]


def test_contract_shape(ona20: TrialResult) -> None:
    d = ona20.to_dict()
    json.dumps(d)
    assert {
        "model_version",
        "design",
        "visits",
        "median_days_none_or_mild",
        "median_days_to_baseline",
        "adverse_events",
    } <= set(d)
    des = d["design"]
    assert {"area", "product", "dose_units", "seed", "n_treated", "n_placebo", "pattern"} <= set(des)
    assert des["n_treated"] + des["n_placebo"] == 3000 and des["n_treated"] == 2250
    assert sum(p["units"] for p in des["pattern"]) == 20
    assert [v["day"] for v in d["visits"]] == [7, 14, 30, 60, 90, 120, 150, 180]
    v = d["visits"][0]
    assert {"treated", "placebo", "treated_ci95", "placebo_ci95"} <= set(v["none_or_mild"])
    assert {"treated", "placebo"} <= set(v["improve2"]) and {"treated", "placebo"} <= set(v["improve1"])
    assert set(d["adverse_events"]) == {"eyelid_ptosis", "brow_ptosis"}
    assert isinstance(d["median_days_none_or_mild"], int) and isinstance(d["median_days_to_baseline"], int)


def test_glabellar_ona20_refit_stays_near_its_fitted_targets(ona20: TrialResult) -> None:
    """A re-run of fitted targets (day 30, day 120, placebo, ptosis) with another seed: a fit, not a
    reproduction. Only the separation from placebo at every visit was not fitted."""
    d = ona20.to_dict()
    assert abs(_visit(d, 30)["none_or_mild"]["treated"] - 0.77) <= 0.05
    assert abs(_visit(d, 120)["none_or_mild"]["treated"] - 0.25) <= 0.05
    # placebo responders (rating noise) at most 5 %: on average over the visits, and at every
    # visit within the sampling error of its ~750 placebo patients (the 95 % interval reaches 5 %)
    placebo = [v["none_or_mild"]["placebo"] for v in d["visits"]]
    assert sum(placebo) / len(placebo) <= 0.05
    for v in d["visits"]:
        assert v["none_or_mild"]["placebo_ci95"][0] <= 0.05
    for day in (7, 14, 30, 60, 90, 120):  # better than placebo: the intervals do not overlap
        nm = _visit(d, day)["none_or_mild"]
        assert nm["treated_ci95"][0] > nm["placebo_ci95"][1]
    assert 0.01 <= d["adverse_events"]["eyelid_ptosis"]["treated"] <= 0.04
    assert d["adverse_events"]["eyelid_ptosis"]["placebo"] == 0.0


def test_improvement_endpoints_are_nested(ona20: TrialResult) -> None:
    assert np.all(ona20.rate("improve2") <= ona20.rate("improve1"))
    assert np.all(ona20.rate("improve2", "placebo") <= ona20.rate("improve1", "placebo"))


def test_same_seed_identical_json_other_seed_within_ci(ona20: TrialResult) -> None:
    again = run_trial(ONA20)
    assert json.dumps(again.to_dict()) == json.dumps(ona20.to_dict())
    other = run_trial(TrialDesign("glabellar", "onabotulinumtoxinA", 20, patients=3000, seed=12)).to_dict()
    assert other != ona20.to_dict()
    for a, b in zip(ona20.to_dict()["visits"], other["visits"], strict=True):
        lo, hi = a["none_or_mild"]["treated_ci95"]
        width = hi - lo
        assert abs(a["none_or_mild"]["treated"] - b["none_or_mild"]["treated"]) <= width


def test_dose_prolongs_the_effect() -> None:
    r20 = run_trial(TrialDesign("glabellar", "onabotulinumtoxinA", 20, patients=800, seed=3))
    r40 = run_trial(TrialDesign("glabellar", "onabotulinumtoxinA", 40, patients=800, seed=3))
    assert (r40.median_days_to_baseline() or 0) > (r20.median_days_to_baseline() or 0)
    assert r40.rate("none_or_mild")[5] > r20.rate("none_or_mild")[5]


@pytest.mark.parametrize(
    ("area", "product", "dose"),
    [
        ("forehead", "onabotulinumtoxinA", 20),
        ("lateral-canthal", "onabotulinumtoxinA", 24),
        ("forehead+glabellar", "onabotulinumtoxinA", 40),
        ("glabellar", "abobotulinumtoxinA", 50),
        ("glabellar", "incobotulinumtoxinA", 20),
    ],
)
def test_other_areas_and_products_run_and_are_plausible(area: str, product: str, dose: float) -> None:
    r = run_trial(TrialDesign(area, product, dose, patients=400, seed=5))
    d = r.to_dict()
    assert d["design"]["n_treated"] == 300
    i30 = _visit(d, 30)["improve1"]
    assert i30["treated"] > i30["placebo"] + 0.05
    assert r.rate("improve1")[-1] < r.rate("improve1")[2]  # wearing off by day 180
    if area != "forehead" and not area.startswith("forehead+"):
        nm30 = _visit(d, 30)["none_or_mild"]
        assert nm30["treated"] > nm30["placebo"] + 0.2
    # forehead lines: nearly every candidate is severe at the glabellar-calibrated thresholds and
    # the label pattern blocks ~35 % of the frontalis, so few reach none-or-mild (validation/REPORT.md)


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"area": "neck"}, "--area"),
        ({"product": "botox"}, "--product"),
        ({"dose_units": -5}, "--dose"),
        ({"dose_units": 1}, "--dose"),
        ({"dose_units": 5000}, "--dose"),
        ({"patients": 3}, "--patients"),
        ({"seed": -1}, "--seed"),
    ],
)
def test_bad_designs_name_the_option(kwargs: dict[str, object], option: str) -> None:
    args: dict[str, object] = {"area": "glabellar", "product": "onabotulinumtoxinA", "dose_units": 20}
    args.update(kwargs)
    with pytest.raises(TrialError, match=option) as info:
        TrialDesign(**args)  # type: ignore[arg-type]
    assert isinstance(info.value, RhytidError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    [(0, 10, (0.0, 0.2775)), (5, 10, (0.2366, 0.7634)), (81, 263, (0.2553, 0.3662))],
)
def test_wilson_interval(k: int, n: int, expected: tuple[float, float]) -> None:
    assert wilson(k, n) == pytest.approx(expected, abs=5e-4)


def test_rating_noise_that_stays_with_the_patient_leaves_placebo_unchanged() -> None:
    """Placebo leaves the wrinkles as at baseline: if the investigator's error is all the patient's
    own (persistent share 1) every placebo rating equals the baseline rating; if it is all new at
    each visit, some placebo patients are rated better by chance."""
    from rhytid.trial import TrialParameters

    tp = TrialParameters.from_data()
    design = TrialDesign("glabellar", "onabotulinumtoxinA", 20, patients=800, seed=4)
    fixed = run_trial(design, tp.replace(population={"rater_persistent_share": 1.0}))
    fresh = run_trial(design, tp.replace(population={"rater_persistent_share": 0.0}))
    assert np.all(fixed.rate("improve1", "placebo") == 0.0)
    assert np.all(fixed.rate("none_or_mild", "placebo") == 0.0)
    assert fresh.rate("improve1", "placebo").max() > 0.0


def test_median_durations_carry_their_intervals(ona20: TrialResult) -> None:
    d = ona20.to_dict()
    for key in ("median_days_none_or_mild", "median_days_to_baseline"):
        lo, hi = d[f"{key}_ci95"]
        assert lo <= d[key] <= hi
    assert d["design"]["duration_follow_up_days"] == 28
