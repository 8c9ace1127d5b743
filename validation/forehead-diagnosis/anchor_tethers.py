"""Solve the fascia tether stiffness (tissue.yaml tethers.fascia_n_per_mm3) and the frontalis
thickness (anatomy.yaml) so that, with no toxin, maximal brow raising lifts the female mid-pupil
brow 8.3 mm (the middle of Cruz & Cruz 2004's group means 7.57-9.02 mm) and shortens the male
forehead 13.0 mm (Cotofana 2020 via the secondary review, motion.md section 2). Newton steps in
ln of both, finite differences; each evaluation rebuilds both reference faces' bases. It edits the
two package data files in place (run it from a clean checkout and review the diff).
Run: ``python validation/forehead-diagnosis/anchor_tethers.py``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "src" / "rhytid" / "data"
PROBE = r"""
from rhytid._motion import motion
from rhytid.tissue import brow_point, get_basis
f = motion("raise_brows", "female"); m = motion("raise_brows", "male")
x, y = brow_point(get_basis(f.face), "l", abs(f.face.landmarks["pupil_l"][0]))
print(f.at(x, y)[1], m.profiles[1].shortening_mm, f.profiles[1].shortening_mm)
"""


def _set(tether: float, thickness: float) -> None:
    t = DATA / "tissue.yaml"
    new = f"fascia_n_per_mm3: {{value: {tether:.4g}"
    t.write_text(re.sub(r"fascia_n_per_mm3: \{value: [0-9.e-]+", new, t.read_text()))
    a = DATA / "anatomy.yaml"
    text = re.sub(
        r"(frontalis_l:.*?thickness_mm: \{value: )[0-9.]+",
        lambda m: m.group(1) + f"{thickness:.4g}",
        a.read_text(),
        count=1,
        flags=re.S,
    )
    a.write_text(text)


def _residual(x: np.ndarray) -> np.ndarray:
    _set(float(np.exp(x[0])), float(np.exp(x[1])))
    env = {**os.environ, "RHYTID_CACHE_DIR": "off"}
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True)
    brow_f, short_m, short_f = (float(v) for v in out.stdout.split())
    print(
        f"tether {np.exp(x[0]):.4g} thickness {np.exp(x[1]):.4g}: brow (F) {brow_f:.3f} mm, "
        f"shortening M {short_m:.3f} / F {short_f:.3f} mm",
        flush=True,
    )
    return np.array([brow_f - 8.3, short_m - 13.0])


def main() -> None:
    x = np.log([0.009, 1.0])
    for _ in range(4):
        r = _residual(x)
        if abs(r[0]) < 0.02 and abs(r[1]) < 0.05:
            break
        jac = np.column_stack([(_residual(x + 0.05 * np.eye(2)[k]) - r) / 0.05 for k in range(2)])
        x = x - np.linalg.solve(jac, r)
    print(f"tether {np.exp(x[0]):.4g} N/mm^3, frontalis thickness {np.exp(x[1]):.4g} mm")


if __name__ == "__main__":
    main()
