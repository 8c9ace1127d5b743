"""The trial's adverse events are simulate's brow drop and lid droop read at the event levels of
``population.yaml trial`` (one owner: the model's mechanics; issue 11 item 7)."""

from __future__ import annotations

import pytest

import rhytid
from rhytid.trial import TrialDesign, run_trial

#: every spread of the population and of the technique at zero: each patient is the reference
#: female aged 45 treated exactly as planned (the rater's noise changes no adverse event)
IDENTICAL = {
    "age_mean": 45.0,
    "age_sd": 1e-9,
    "female_fraction": 1.0,
    "muscle_strength_cv": 0.0,
    "skin_thickness_cv": 0.0,
    "skin_stiffness_cv": 0.0,
    "static_etch_cv": 0.0,
    "toxin_sensitivity_cv": 0.0,
    "recovery_rate_cv": 0.0,
    "frontalis_tone_cv": 0.0,
    "position_sd_mm": 0.0,
    "depth_sd_mm": 0.0,
    "volume_cv": 0.0,
}


def _at_level(level: int, value: float) -> tuple[float, float, float]:
    """Thresholds whose ``level``-th is ``value`` (the others far from it, increasing)."""
    out = [value * 0.25 * (k + 1) / (level + 1) for k in range(level)] + [value]
    out += [value * (2 + k) for k in range(3 - len(out))]
    return (out[0], out[1], out[2])


@pytest.mark.parametrize("dose", [20.0, 40.0])
def test_identical_patients_have_an_event_exactly_when_simulate_reaches_its_level(dose: float) -> None:
    params = rhytid.default_parameters().replace(population=IDENTICAL)
    design = TrialDesign("glabellar", "onabotulinumtoxinA", dose, patients=40, seed=1)
    plan = rhytid.Plan.model_validate(
        {
            "product": {"name": "onabotulinumtoxinA", "vial_units": 100, "diluent_ml": 2.5},
            "injection": [{"site": s, "units": u} for s, u in design.pattern_units().items()],
            "simulation": {"days": list(range(91))},
        }
    )
    out = rhytid.simulate(plan, params=params)
    drop = max(-v.brow_height_change_mm[k] for v in out.timeline for k in v.brow_height_change_mm)
    droop = max(v.eyelid_droop_mm[s] for v in out.timeline for s in "lr")
    assert drop > 0.1 and droop > 0.05  # something to read
    brow_level, lid_level = params.trial.brow_ptosis_level, params.trial.ptosis_level
    for factor, expected in ((0.97, 1.0), (1.03, 0.0)):
        tp = params.replace(
            tissue={
                "risk_brow_drop_mm": _at_level(brow_level, factor * drop),
                "risk_eyelid_droop_mm": _at_level(lid_level, factor * droop),
            }
        )
        result = run_trial(design, tp)
        assert result.adverse_rate("brow_ptosis") == expected
        assert result.adverse_rate("eyelid_ptosis") == expected
        assert result.adverse_rate("brow_ptosis", "placebo") == 0.0
