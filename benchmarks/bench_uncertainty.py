"""`rhytid simulate --uncertainty`: 400 posterior draws of one plan (issue 13, target: a few seconds).

Wall and CPU time of :func:`rhytid.trial._plan_uncertainty.simulate_with_uncertainty` (the exact
central run, the draws through the trial engine's reduced-order kernels, the check at the fitted
parameters), warm, for the 5-point glabellar and the 10-point forehead + glabellar plans, with
parameter uncertainty alone and with the patients' variation. Figures are printed, never asserted;
a busy shared machine inflates the wall time more than the CPU time.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import rhytid
from rhytid.trial._plan_uncertainty import simulate_with_uncertainty

ROOT = Path(__file__).resolve().parents[1]


def bench(draws: int = 400, repeat: int = 3) -> None:
    for name in ("glabellar-20U.toml", "forehead-glabellar-40U.toml"):
        plan = rhytid.load_plan(ROOT / "examples" / name)
        for variation in ("parameters", "patients"):
            simulate_with_uncertainty(plan, draws=16, variation=variation)  # warm caches
            wall, cpu = [], []
            for _ in range(repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                simulate_with_uncertainty(plan, draws=draws, variation=variation)
                cpu.append(time.process_time() - c0)
                wall.append(time.perf_counter() - t0)
            print(
                f"simulate --uncertainty {name}, {draws} draws, {variation}: wall median "
                f"{statistics.median(wall):.2f} s (min {min(wall):.2f}), CPU median "
                f"{statistics.median(cpu):.2f} s  [target: a few seconds]"
            )


if __name__ == "__main__":
    bench()
