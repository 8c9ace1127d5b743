"""Where the forehead's depth statistic comes from: the label forehead + glabellar plan
(examples/forehead-glabellar-40U.toml) on a reference face (argument: female | male), before
treatment and at day 30, at maximum brow raising (forehead) and maximum frown (glabella).

Prints each frontalis and corrugator motor region's block, the film of each area, the depth
percentiles, and the depth per horizontal band of the forehead (medial |x| < 20 mm and lateral),
with the share of cells above the none|mild threshold. Run: ``python depth_by_band.py female``.
The kernels are those of ``rhytid.simulate`` (rhytid._kernels), for the reference patient aged 45.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import rhytid
from rhytid import model as M
from rhytid._kernels import depth_um, patient_buckling, static_depth
from rhytid.tissue import compression

PLAN = Path(__file__).resolve().parents[2] / "examples" / "forehead-glabellar-40U.toml"
BANDS = ((26, 30), (30, 35), (35, 40), (40, 45), (45, 50), (50, 55), (55, 60))


def main(sex: str) -> None:
    params = rhytid.default_parameters()
    p = params.tissue
    plan = rhytid.load_plan(PLAN)
    patient = rhytid.Patient(sex=sex, age=45)
    face = M.reference_face(sex)
    eng = M.face_engine(face.key, None, p)
    product = params.product(plan.product.name)
    state = M.block_state(eng, plan.resolve(face, product), product, np.array([-1.0, 30.0]), params)
    for j, s in enumerate(eng.basis.segments):
        if s.muscle in ("frontalis_l", "corrugator_l"):
            print(f"{s.muscle:13s} {s.name:15s} block day 30 = {state.segment[1, j]:.3f}")
    scale, stiffness = M._patient_scales(patient, p)
    tone = M.tone_factor(eng, patient)
    act = M.effective_activation(eng, state.segment, 1.0, tone)
    years = (patient.age - p.static_onset_age) * (p.male_static_factor if sex == "male" else 1.0)
    rate = p.static_etch_per_year * years
    thr = p.grade_thresholds_um[0]
    x, y = eng.basis.raster.grid()
    for area in eng.areas[:2]:
        h, ec, e0 = patient_buckling(area, M.ONE, M.ONE * stiffness)
        static = static_depth(area, M.ONE * scale, M.ONE * tone, h, ec, e0, M.ONE * rate)
        xs, ys = x.ravel()[area.cells], y.ravel()[area.cells]
        film = f"film {h[0]:.2f} mm, critical strain {ec[0]:.4f}, pre-strain {e0[0]:.4f}"
        print(f"{area.name}: {film}, {area.n} cells")
        for d, label in ((0, "before"), (1, "day 30")):
            rows = act[d : d + 1, area.expression, eng.basis.skin_rows].astype(np.float32)
            strain = (rows @ area.fields).reshape(1, 3, area.n)
            c = compression(strain[:, 0], strain[:, 1], strain[:, 2]) * scale
            dyn = depth_um(c, h[:, None], ec[:, None], e0[:, None])
            tot = (dyn + static)[0]
            pct = [np.percentile(tot, q) for q in (50, 75, 90)]
            print(
                f"  {label}: depth P50/P75/P90 {pct[0]:.0f}/{pct[1]:.0f}/{pct[2]:.0f} um "
                f"(static P90 {np.percentile(static, 90):.0f}); compression P50/P90 "
                f"{np.percentile(c, 50):.3f}/{np.percentile(c, 90):.3f}; "
                f"cells > {thr:.0f} um: {np.mean(tot > thr):.2f}"
            )
            if area.name != "forehead":
                continue
            for lo, hi in BANDS:
                band = (ys >= lo) & (ys < hi)
                med, lat = band & (np.abs(xs) < 20), band & (np.abs(xs) >= 20)
                print(
                    f"    y {lo}-{hi} mm: compression {c[0][band].mean():.3f}, "
                    f"depth {tot[band].mean():5.0f}, over {np.mean(tot[band] > thr):.2f} | "
                    f"medial {tot[med].mean():5.0f} over {np.mean(tot[med] > thr):.2f} | "
                    f"lateral {tot[lat].mean():5.0f} over {np.mean(tot[lat] > thr):.2f}"
                )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "female")
