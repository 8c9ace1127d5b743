"""The reduced-order error tables: each graded area's representative cells against every cell,
and the strain modes of large trials against the full strain GEMM.

For each face and area: the cells kept and the full count, and the error measured when the set was
built (256 random and trial-like activation states; rhytid._reduced): max and 99th-percentile
absolute depth error (µm) and the share of states graded differently.

For each label design of 100,000 patients (shared block tables) and face: the strain modes kept
of the GEMM's rows, and the strain error measured on their check sample (largest and 99th
percentile of each state's largest error; rhytid._fused.StrainModes); then three chunks of 2,000
patients run through the modes and through the full GEMM: the largest difference of a responder
rate at any visit (percentage points; the same patients, ratings and realisations) and the time.
Printed, never asserted.
"""

from __future__ import annotations

import time

import numpy as np

import rhytid.trial._run as trial_run
from rhytid import default_parameters
from rhytid.trial import AREAS, TrialDesign
from rhytid.trial._engine import face_model

_LABEL = [
    ("glabellar", 20.0),
    ("forehead", 20.0),
    ("lateral-canthal", 24.0),
    ("forehead+glabellar", 40.0),
]


def table() -> None:
    tp = default_parameters()
    areas = tuple(dict.fromkeys(a for _, graded in AREAS.values() for a in graded))
    print(f"{'face':<7} {'area':<18} {'cells':>11} {'max um':>8} {'p99 um':>8} {'grades differ':>14}")
    for sex in ("female", "male"):
        fm = face_model(sex, areas, tp.area_cells_max, tp.quadrature_stride, tp.tissue)
        full = {a.name: a.n for a in fm.engine.areas}
        for area in fm.areas:
            e = fm.errors[area.name]
            print(
                f"{sex:<7} {area.name:<18} {area.n:>4} / {full[area.name]:<5} {e.max_um:>8.1f} "
                f"{e.p99_um:>8.1f} {e.grade_disagreement:>13.1%}"
            )


def modes() -> None:
    tp = default_parameters()
    off = tp.replace(trial={"strain_mode_tolerance": 0.0})
    print(
        f"\nstrain modes (tolerance {tp.strain_mode_tolerance:g}; chunks through the modes and "
        "through the full GEMM):"
    )
    print(
        f"{'design':<22} {'face':<7} {'modes':>8} {'max err':>9} {'p99 err':>9} "
        f"{'rate diff pp':>13} {'chunk ms':>14}"
    )
    for area, units in _LABEL:
        design = TrialDesign(area, "onabotulinumtoxinA", units, patients=100_000, seed=1)
        seeds = np.random.SeedSequence(1).spawn(4)
        runs = {}
        for name, params in (("modes", tp), ("full", off)):
            trial_run.run_chunk(design, params, 200, seeds[0])  # builds the shared tables
            t0 = time.perf_counter()
            chunks = [trial_run.run_chunk(design, params, 2000, sq) for sq in seeds[1:]]
            runs[name] = (trial_run.TrialResult(design, chunks, params), (time.perf_counter() - t0) / 3)
        diff = max(
            float(np.abs(runs["modes"][0].rate(e) - runs["full"][0].rate(e)).max())
            for e in ("none_or_mild", "improve1", "improve2")
        )
        for sex in ("female", "male"):
            m = trial_run._TOXIN[trial_run._toxin_key(design, tp, sex, False)].modes
            assert m is not None
            print(
                f"{area:<22} {sex:<7} {m.rank:>3} / {m.projection.shape[1]:<3} {m.max_error:>9.5f} "
                f"{m.p99_error:>9.5f} {100 * diff:>13.2f} "
                f"{1000 * runs['modes'][1]:>6.0f} / {1000 * runs['full'][1]:<6.0f}"
            )
        trial_run._TOXIN.clear()


if __name__ == "__main__":
    table()
    modes()
