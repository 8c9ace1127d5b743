"""The golden file: a small pinned set of predictions that a refactor must not move unnoticed.

``tests/golden/predictions.json`` holds, for three label trials (glabellar onabotulinumtoxinA
20 U, daxibotulinumtoxinA 40 U, forehead + glabellar onabotulinumtoxinA 40 U; seed 1,
:data:`PATIENTS` patients), a few endpoints with their value, their 90 % predictive interval
(:func:`rhytid.trial._posterior.trial_with_uncertainty`: parameter uncertainty and the trial's
sampling) and a tolerance of :data:`TOLERANCE_SHARE` of the interval's half-width.
``tests/test_golden.py`` re-runs the trials and fails when any value leaves its tolerance.

Regenerate on purpose (after a change that is meant to move predictions, e.g. a recalibration),
and give the reason in the commit message::

    python -m rhytid.trial._golden tests/golden/predictions.json [--draws 16]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rhytid._version import __version__
from rhytid.trial._design import TrialDesign
from rhytid.trial._params import TrialParameters
from rhytid.trial._run import run_trial

__all__ = ["PATIENTS", "TOLERANCE_SHARE", "predictions", "regenerate"]

PATIENTS = 2000
SEED = 1
TOLERANCE_SHARE = 0.5
#: trial key -> (area, product, units, visits)
TRIALS: dict[str, tuple[str, str, float, tuple[float, ...]]] = {
    "glabellar_ona20": ("glabellar", "onabotulinumtoxinA", 20.0, (30.0, 120.0)),
    "glabellar_daxi40": ("glabellar", "daxibotulinumtoxinA", 40.0, (30.0,)),
    "forehead_glabellar_ona40": ("forehead+glabellar", "onabotulinumtoxinA", 40.0, (30.0,)),
}


def predictions(
    tp: TrialParameters | None = None, seed: int = SEED, patients: int = PATIENTS
) -> dict[str, Any]:
    """The pinned endpoints, nested by trial (rates are fractions, durations days)."""
    params = tp or TrialParameters.from_data()
    out: dict[str, Any] = {}
    for key, (area, product, units, visits) in TRIALS.items():
        r = run_trial(TrialDesign(area, product, units, patients=patients, seed=seed, visits=visits), params)
        entry: dict[str, Any] = {}
        for j, day in enumerate(visits):
            entry[f"none_or_mild_day{day:g}"] = round(float(r.rate("none_or_mild")[j]), 4)
        entry["improve2_day30"] = round(float(r.rate("improve2")[0]), 4)
        entry["placebo_none_or_mild_day30"] = round(float(r.rate("none_or_mild", "placebo")[0]), 4)
        if key == "glabellar_ona20":
            entry["eyelid_ptosis"] = round(r.adverse_rate("eyelid_ptosis"), 4)
            entry["median_days_to_baseline"] = r.median_days_to_baseline()
        if key == "glabellar_daxi40":
            entry["median_days_none_or_mild"] = r.median_days_none_or_mild()
        out[key] = entry
    return out


def regenerate(path: Path, draws: int = 16) -> dict[str, Any]:
    """Write the golden file: values, 90 % predictive intervals and tolerances."""
    from rhytid.trial._posterior import trial_with_uncertainty

    with_pi = trial_with_uncertainty(lambda tp, s: predictions(tp, s), SEED, draws)
    golden: dict[str, Any] = {}
    for trial, entry in with_pi.items():
        if trial == "uncertainty":
            continue
        golden[trial] = {}
        for k, v in entry.items():
            if k.endswith("_pi90") or v is None:
                continue
            lo, hi = entry.get(f"{k}_pi90", [v, v])
            half = max(v - lo, hi - v)
            golden[trial][k] = {"value": v, "pi90": [lo, hi], "tolerance": round(TOLERANCE_SHARE * half, 4)}
    doc = {
        "about": "Pinned predictions (rhytid.trial._golden); regenerate on purpose with "
        "`python -m rhytid.trial._golden tests/golden/predictions.json` and say why in the commit.",
        "model_version": __version__,
        "patients": PATIENTS,
        "seed": SEED,
        "draws": draws,
        "tolerance": f"{TOLERANCE_SHARE} x the half-width of the 90 % predictive interval",
        "predictions": golden,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return doc


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print("usage: python -m rhytid.trial._golden PATH [--draws N]", file=sys.stderr)
        return 2
    draws = int(argv[argv.index("--draws") + 1]) if "--draws" in argv else 16
    regenerate(Path(argv[0]), draws)
    print(f"golden predictions written to {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
