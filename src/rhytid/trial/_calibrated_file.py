"""``calibrated.yaml``: the fitted values by ``"<file>:<dotted.path>"``, each with its source, and
the provenance of the fit (command, seed, optimiser, objective, start values)."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from rhytid.trial._calibrate import A1_PRODUCTS, CalibrationResult, share_of_odds

__all__ = ["write_calibrated"]


def _calibrated_entries(result: CalibrationResult) -> dict[str, Any]:
    f = result.fitted
    names = ", ".join(t.name for t in result.targets)
    src = f"calibrated: {names} (calibration_targets.yaml; `rhytid calibrate`, seed {result.seed})"

    def e(v: Any) -> dict[str, Any]:
        return {"value": v, "source": src}

    t = [
        round(f["threshold_none_mild"], 1),
        round(f["threshold_mild_moderate"], 1),
        round(f["threshold_moderate_severe"], 1),
    ]
    out: dict[str, Any] = {
        "tissue.yaml:wrinkles.grade_thresholds_um": e(t),
        "tissue.yaml:wrinkles.static_etch_per_year": e(float(f"{f['static_etch_per_year']:.5g}")),
        "toxins.yaml:spread.length_mm": e(float(f"{f['spread_length_mm']:.5g}")),
        "toxins.yaml:dose_response.ec50_u_per_mm3": e(float(f"{f['ec50_u_per_mm3']:.5g}")),
        "toxins.yaml:dose_response.binding_capacity_u_per_mm3": e(
            float(f"{f['binding_capacity_u_per_mm3']:.5g}")
        ),
        "population.yaml:rater.noise_sd": e(float(f"{f['rater_noise_sd']:.5g}")),
        "population.yaml:rater.persistent_share": e(
            float(f"{share_of_odds(f['rater_persistent_odds']):.5g}")
        ),
        "population.yaml:patient.toxin_sensitivity_cv": e(float(f"{f['toxin_sensitivity_cv']:.5g}")),
        "toxins.yaml:spread.septum_transmission": {
            "value": float(f"{f['septum_transmission']:.5g}"),
            "source": f"calibrated: ona20_eyelid_ptosis (calibration_targets.yaml; `rhytid calibrate`, seed "
            f"{result.seed}; second stage, the only outcome it changes)",
        },
    }
    for p in A1_PRODUCTS:
        out[f"toxins.yaml:products.{p}.recovery_rate_per_day"] = e(float(f"{f['recovery_rate_a1']:.5g}"))
    out["toxins.yaml:products.daxibotulinumtoxinA.recovery_rate_per_day"] = e(
        float(f"{f['recovery_rate_daxi']:.5g}")
    )
    return out


def write_calibrated(result: CalibrationResult, path: Path, command: str) -> None:
    """``calibrated.yaml``: the fitted values by ``"<file>:<dotted.path>"`` and their provenance."""
    import yaml

    from rhytid._version import __version__

    data = {
        "parameters": _calibrated_entries(result),
        "provenance": {
            "command": command,
            "seed": result.seed,
            "patients_per_trial": result.patients,
            "date": _dt.date.today().isoformat(),
            "model_version": __version__,
            "optimiser": result.optimiser
            + "; then scipy.optimize.minimize_scalar(method='bounded') of ln(septum_transmission)"
            + " on the ptosis rate",
            "evaluations": result.evaluations,
            "objective": round(result.objective, 4),
            "objective_start": round(result.objective_start, 4),
            "objective_definition": "sum over targets of ((model - published) / sd)^2",
            "targets": [t.name for t in result.targets],
            "targets_file": "rhytid/data/calibration_targets.yaml",
            "start": {k: float(f"{v:.6g}") for k, v in result.start.items()},
        },
    }
    header = "# Written by `rhytid calibrate`; do not edit by hand. Overrides packaged values by key.\n"
    path.write_text(header + yaml.safe_dump(data, sort_keys=False, width=110), encoding="utf-8")
