"""Core-model benchmarks: building the per-anatomy basis, and a warm simulate().

Targets: basis at 0.5 mm <= 5 s on this 2-core machine (issue 2); warm simulate of the 10-point
forehead + glabellar plan over 10 visits <= 8 ms on one core (issue 12; median and p95 of the wall
time, and the median CPU time, which a busy shared machine inflates less). Run with `make bench`;
figures are printed, never asserted.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # "on one core" for simulate; the basis FFTs use 2 workers

import statistics
import time
from pathlib import Path

import rhytid
from rhytid.anatomy import reference_face
from rhytid.tissue import build_basis

ROOT = Path(__file__).resolve().parents[1]


def _time(fn: object, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - t0)
    return out


def bench_basis(spacing: float = 0.5, repeat: int = 3) -> None:
    face = reference_face("female")
    times = _time(lambda: build_basis(face, spacing, use_disk=False), repeat)
    b = build_basis(face, spacing, use_disk=False)
    print(
        f"basis build, {spacing} mm raster ({b.raster.nx}x{b.raster.ny} cells, {len(b.skin_rows)} unit "
        f"fields): median {statistics.median(times):.2f} s, min {min(times):.2f} s  [target <= 5 s]"
    )


def ten_point_plan() -> rhytid.Plan:
    forehead = rhytid.load_plan(ROOT / "examples" / "forehead-glabellar-40U.toml")
    assert len(forehead.injections) == 10 and len(forehead.simulation.days) == 10
    return forehead


def bench_simulate(repeat: int = 100) -> None:
    plan = ten_point_plan()
    for exact in (True, False):
        rhytid.simulate(plan, exact=exact)  # warm: basis, engine and reduced cell sets cached
        wall, cpu = [], []
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            rhytid.simulate(plan, exact=exact)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - t0)
        p95 = sorted(wall)[int(0.95 * len(wall)) - 1]
        print(
            f"warm simulate{'' if exact else ' (reduced cells)'}, 10 injections x 10 visits: median "
            f"{1000 * statistics.median(wall):.1f} ms, p95 {1000 * p95:.1f} ms, CPU median "
            f"{1000 * statistics.median(cpu):.1f} ms  [target <= 8 ms]"
        )


if __name__ == "__main__":
    bench_basis()
    bench_simulate()
