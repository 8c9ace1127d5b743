"""Why the prabotulinumtoxinA 20 U glabellar trial gives 18 % brow ptosis (published 0.5 %).

Run from the repository root: ``.venv/bin/python validation/brow-ptosis-diagnosis/brow_drop.py``
(about 2 minutes on 2 cores). Every figure comes from the package's own kernels and the stored
calibration; the what-ifs change one value in a copy of the parameters and install nothing.
"""

from __future__ import annotations

import numpy as np

import rhytid
from rhytid import Patient, default_parameters
from rhytid.anatomy import reference_face
from rhytid.model import block_state, brow_height_mm, face_engine
from rhytid.trial import TrialDesign, run_trial

PLAN = rhytid.load_plan("examples/glabellar-20U.toml")
PATIENTS = 6000
SEED = 3


def segment_contributions() -> None:
    """Block of each segment at day 30 and its share of the medial brow's change (tone 1)."""
    params = default_parameters()
    face = reference_face("female")
    engine = face_engine(face.key, None, params.tissue)
    product = params.product(PLAN.product.name)
    state = block_state(engine, PLAN.resolve(face, product), product, np.array([-1.0, 30.0]), params)
    segs = engine.basis.segments
    n = len(segs)
    keys = list(engine.brow_uy)
    base = brow_height_mm(engine, np.zeros((1, n)), 1.0, 1.0)[0]
    print("| segment | block, day 30 | medial brow change (mm), this segment's block alone |")
    print("|---|---|---|")
    for i, s in enumerate(segs):
        if s.muscle.endswith("_r") or state.segment[1, i] < 0.01:
            continue
        b = np.zeros((1, n))
        b[0, i] = state.segment[1, i]
        d = brow_height_mm(engine, b, 1.0, 1.0)[0] - base
        print(f"| {s.muscle} {s.name} | {state.segment[1, i]:.3f} | {d[keys.index('medial_l')]:+.3f} |")


def tone_dependence() -> None:
    """Largest drop of each left brow point over the timeline, by habitual frontalis tone."""
    print("| frontalis tone (fraction of maximum) | medial | peak | lateral | frontalis block |")
    print("|---|---|---|---|---|")
    for tone in (0.0, 0.13, 0.26, 0.39, 0.52, 0.78):
        plan = PLAN.model_copy(update={"patient": Patient(frontalis_tone=tone)})
        tl = rhytid.simulate(plan).to_dict()["timeline"]
        points = ("medial", "peak", "lateral")
        drops = [-min(v["brow_height_change_mm"][f"{k}_l"] for v in tl) for k in points]
        block = max(v["muscles"]["frontalis_l"]["block"] for v in tl)
        print(f"| {tone:.2f} | " + " | ".join(f"{d:.2f}" for d in drops) + f" | {block:.3f} |")


def rate(params: rhytid.Parameters) -> tuple[float, float]:
    design = TrialDesign(
        "glabellar", "prabotulinumtoxinA", 20.0, patients=PATIENTS, seed=SEED, visits=(30.0,)
    )
    r = run_trial(design, params)
    return r.adverse_rate("brow_ptosis"), r.adverse_rate("eyelid_ptosis")


def what_ifs() -> None:
    p = default_parameters()
    rest = dict(p.tissue.expressions["rest"])
    depressors = dict.fromkeys(("corrugator", "procerus", "depressor_supercilii"), 0.06)
    cases = [
        ("stored parameters (event: drop >= 1 mm at any brow point)", p),
        ("event at the 'moderate' level, >= 2 mm", p.replace(trial={"brow_ptosis_level": 1})),
        ("event at the 'high' level, >= 3 mm", p.replace(trial={"brow_ptosis_level": 2})),
        ("frontalis_tone_cv 0.5 (stored 1.0)", p.replace(population={"frontalis_tone_cv": 0.5})),
        (
            "depressor resting tone 0.06 (stored 0.02), as the orbicularis",
            p.replace(tissue={"expressions": {**p.tissue.expressions, "rest": {**rest, **depressors}}}),
        ),
        ("spread length 4.0 mm (calibrated 5.56)", p.replace(spread_length_mm=4.0)),
    ]
    print(f"| what-if ({PATIENTS} patients, seed {SEED}) | brow ptosis | eyelid ptosis |")
    print("|---|---|---|")
    for label, params in cases:
        brow, lid = rate(params)
        print(f"| {label} | {brow:.4f} | {lid:.4f} |")


if __name__ == "__main__":
    segment_contributions()
    print()
    tone_dependence()
    print()
    what_ifs()
