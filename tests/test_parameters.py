"""One typed Parameters object, passed explicitly: simulate reads every value from it."""

from __future__ import annotations

import pytest

import rhytid
import rhytid._data as data_module
import rhytid._parameters as parameters_module
import rhytid.model as model_module
from rhytid import Parameters, default_parameters
from rhytid.errors import ParameterError
from rhytid.trial import TrialParameters


def test_the_trial_parameters_are_the_parameters_and_their_flat_names_are_views() -> None:
    p = default_parameters()
    assert TrialParameters is Parameters
    assert p.spread_length_mm == p.spread.length_mm
    assert p.grade_thresholds_um == p.tissue.grade_thresholds_um
    assert (
        p.recovery_rate_per_day["onabotulinumtoxinA"]
        == p.products["onabotulinumtoxinA"].recovery_rate_per_day
    )
    # the module loaders are views of the same object, not copies
    assert rhytid.tissue.tissue_parameters() is p.tissue
    assert rhytid.toxin.dose_response() is p.dose
    assert rhytid.toxin.get_product("onabotulinumtoxinA") is p.products["onabotulinumtoxinA"]


def test_replace_changes_the_nested_value_and_the_provenance() -> None:
    p = default_parameters()
    q = p.replace(
        spread_length_mm=4.0,
        recovery_rate_per_day={"onabotulinumtoxinA": 0.05},
        population={"rater_noise_sd": 0.3},
        tissue={"static_ease_max": 0.1},
    )
    assert q.spread.length_mm == 4.0 and q.spread_length_mm == 4.0
    assert q.products["onabotulinumtoxinA"].recovery_rate_per_day == 0.05
    assert q.products["daxibotulinumtoxinA"] == p.products["daxibotulinumtoxinA"]
    assert q.population.rater_noise_sd == 0.3
    assert q.tissue.static_ease_max == 0.1
    assert p.spread.length_mm != 4.0  # the original is untouched
    assert q.provenance != p.provenance and q.provenance == q.digest()
    assert p.replace().digest() == p.digest()
    with pytest.raises(ParameterError, match="no_such"):
        p.replace(no_such=1.0)


def test_base_parameters_ignore_the_calibrated_values() -> None:
    base = Parameters.from_data(base=True)
    cal = default_parameters()
    from rhytid._data import calibrated_overrides

    if "toxins.yaml:spread.length_mm" in calibrated_overrides():
        assert base.spread_length_mm != cal.spread_length_mm


def _day30(outcome: rhytid.Outcome, area: str) -> float:
    visit = next(v for v in outcome.timeline if v.day == 30)
    return visit.areas[area].max_depth_um


def test_a_value_changed_in_the_parameters_changes_the_outcome(glabellar_plan: rhytid.Plan) -> None:
    p = default_parameters()
    ref = rhytid.simulate(glabellar_plan)
    assert ref.parameters_hash == p.provenance
    same = rhytid.simulate(glabellar_plan, params=p)
    assert same.to_dict() == ref.to_dict()
    weak = rhytid.simulate(glabellar_plan, params=p.replace(ec50_u_per_mm3=20 * p.ec50_u_per_mm3))
    assert _day30(weak, "glabellar") > _day30(ref, "glabellar") + 50.0
    day30 = next(v for v in weak.timeline if v.day == 30)
    assert (
        day30.muscle_block["corrugator_l"]
        < next(v for v in ref.timeline if v.day == 30).muscle_block["corrugator_l"]
    )
    assert weak.parameters_hash != ref.parameters_hash
    lines = rhytid.simulate(glabellar_plan, params=p.replace(static_etch_per_year=3 * p.static_etch_per_year))
    assert _day30(lines, "glabellar") > _day30(ref, "glabellar")
    stiff = p.replace(tissue={"grade_thresholds_um": (1.0, 2.0, 3.0)})
    assert all(
        a.max_grade == 3
        for v in rhytid.simulate(glabellar_plan, params=stiff).timeline
        for a in v.areas.values()
    )


def test_simulate_reads_no_global_when_given_parameters(
    glabellar_plan: rhytid.Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``params`` given, the module loaders and the YAML lookup are never consulted."""
    p = default_parameters().replace(spread_length_mm=4.0)
    expected = rhytid.simulate(glabellar_plan, params=p).to_dict()  # warms the basis and engine

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("simulate read a global parameter")

    monkeypatch.setattr(model_module, "default_parameters", refuse)
    monkeypatch.setattr(parameters_module, "default_parameters", refuse)
    monkeypatch.setattr(data_module, "value", refuse)
    monkeypatch.setattr(data_module, "load_yaml", refuse)
    assert rhytid.simulate(glabellar_plan, params=p).to_dict() == expected
    with pytest.raises(AssertionError, match="global"):
        rhytid.simulate(glabellar_plan)


def test_simulate_on_reduced_cells_stays_within_their_stored_error() -> None:
    """``exact=False`` grades each area on its representative cells: every depth within the error
    stored with that set, and nearly every grade as on every cell."""
    from pathlib import Path

    from rhytid._reduced import reduced_area
    from rhytid.model import face_engine

    plan = rhytid.load_plan(Path(__file__).resolve().parents[1] / "examples" / "forehead-glabellar-40U.toml")
    p = default_parameters()
    engine = face_engine("female", None, p.tissue)
    bound = {a.name: reduced_area(engine, a, p.area_cells_max, p.tissue).error.max_um for a in engine.areas}
    exact, fast = rhytid.simulate(plan, params=p), rhytid.simulate(plan, params=p, exact=False)
    assert fast.to_dict() != exact.to_dict()
    differ = 0
    for v, w in zip(exact.timeline, fast.timeline, strict=True):
        assert v.muscle_block == w.muscle_block and v.brow_height_change_mm == w.brow_height_change_mm
        for name, a in v.areas.items():
            b = w.areas[name]
            assert abs(a.max_depth_um - b.max_depth_um) <= bound[name], (v.day, name)
            assert abs(a.rest_depth_um - b.rest_depth_um) <= bound[name], (v.day, name)
            differ += (a.max_grade != b.max_grade) + (a.rest_grade != b.rest_grade)
    assert differ <= 0.05 * 2 * len(exact.timeline) * len(bound)
