"""The plans of tests/golden/simulate_outcomes.json: the examples and a seeded set of random plans.

Regenerate the file on purpose only (an intended change of the model's outputs):
``python tests/golden/_simulate_plans.py tests/golden/simulate_outcomes.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

import rhytid
from rhytid.anatomy import reference_face

ROOT = Path(__file__).resolve().parents[2]
SEED = 12
N_RANDOM = 12


def plans() -> dict[str, rhytid.Plan]:
    out = {p.stem: rhytid.load_plan(p) for p in sorted((ROOT / "examples").glob("*.toml"))}
    rng = np.random.default_rng(SEED)
    products = ["onabotulinumtoxinA", "abobotulinumtoxinA", "incobotulinumtoxinA"]
    for k in range(N_RANDOM):
        sex = "female" if k % 2 == 0 else "male"
        sites = sorted(reference_face(sex).sites)
        n = int(rng.integers(1, 12))
        inj: list[dict[str, Any]] = []
        for _ in range(n):
            if rng.random() < 0.7:
                inj.append({"site": str(rng.choice(sites)), "units": float(rng.integers(1, 9))})
            else:
                inj.append(
                    {
                        "x_mm": round(float(rng.uniform(-40, 40)), 1),
                        "y_mm": round(float(rng.uniform(-10, 60)), 1),
                        "units": round(float(rng.uniform(0.5, 8)), 1),
                        "depth": str(rng.choice(["intramuscular", "subcutaneous"])),
                        "day": float(rng.choice([0, 0, 0, 7, 14])),
                    }
                )
        days = sorted({float(d) for d in rng.choice([0, 3, 7, 14, 30, 60, 90, 120, 180], 6)})
        patient = {
            "sex": sex,
            "age": float(rng.integers(25, 80)),
            "muscle_strength": round(float(rng.uniform(0.6, 1.6)), 2),
        }
        if rng.random() < 0.4:
            patient["frontalis_tone"] = round(float(rng.uniform(0.05, 0.6)), 2)
        out[f"random-{k}"] = rhytid.Plan.model_validate(
            {
                "patient": patient,
                "product": {"name": products[k % len(products)]},
                "injection": inj,
                "simulation": {"days": days},
            }
        )
    return out


def outcomes() -> dict[str, Any]:
    return {
        name: {
            exact: rhytid.simulate(plan, exact=exact == "exact").to_dict() for exact in ("exact", "reduced")
        }
        for name, plan in plans().items()
    }


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(outcomes(), indent=1, sort_keys=True) + "\n")
