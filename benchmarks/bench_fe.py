"""The FE-solve ratio: one finite-element solve of the skin-sheet problem (scikit-fem, bilinear
quads, the problem of the FE reference test ``tests/tissue/test_sheet.py``, whose code is reused,
on a domain the size of the face raster) against one warm ``simulate`` visit (the 10-point plan's
warm simulate divided by its 10 visits). ``RHYTID_BENCH_FE_HALF_MM`` sets the half-width of the
FE domain (default: the face raster's). Printed, never asserted.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import importlib.util
import statistics
import sys
import time
from pathlib import Path

import rhytid
from rhytid.model import face_engine

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[0]


def _reference_test() -> object:
    spec = importlib.util.spec_from_file_location("test_sheet", ROOT / "tests" / "tissue" / "test_sheet.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    try:
        ref = _reference_test()
    except ImportError as exc:  # scikit-fem is a dev dependency
        print(f"bench_fe: {exc}; skipped")
        return
    raster = face_engine("female", None).basis.raster
    half = float(os.environ.get("RHYTID_BENCH_FE_HALF_MM", 0.5 * max(raster.nx, raster.ny) * ref.SPACING))
    ref.HALF = half  # type: ignore[attr-defined]  # the reference test's domain, face-sized
    n = round(2 * half / ref.SPACING)  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    ref._fe_solution()  # type: ignore[attr-defined]
    fe = time.perf_counter() - t0

    sys.path.insert(0, str(HERE))
    from bench_model import ten_point_plan

    plan = ten_point_plan()
    rhytid.simulate(plan)
    wall = []
    for _ in range(30):
        t0 = time.perf_counter()
        rhytid.simulate(plan)
        wall.append(time.perf_counter() - t0)
    visit = statistics.median(wall) / len(plan.simulation.days)
    print(
        f"FE solve (scikit-fem, {n}x{n} nodes, {2 * n * n:,} unknowns): {fe:.1f} s; warm simulate "
        f"visit {1000 * visit:.2f} ms; ratio {fe / visit:,.0f}x"
    )


if __name__ == "__main__":
    main()
