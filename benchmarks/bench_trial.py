"""Virtual-trial benchmark: patients x visits per second, and scaling with the number of patients.

Target (issue 3): 10,000 virtual patients x 8 visits <= 10 s on this 2-core machine (glabellar,
onabotulinumtoxinA 20 U, default visits, screening and duration searches included). Figures are
printed, never asserted. The per-anatomy basis and face models are warmed first (built once per
installation and cached).
"""

from __future__ import annotations

import time

from rhytid.trial import TrialDesign, run_trial


def bench(patients: int) -> float:
    design = TrialDesign("glabellar", "onabotulinumtoxinA", 20, patients=patients, seed=1)
    t0 = time.perf_counter()
    result = run_trial(design)
    dt = time.perf_counter() - t0
    visits = len(design.visits)
    print(
        f"{patients:>7,} patients x {visits} visits: {dt:6.2f} s, "
        f"{patients * visits / dt:>9,.0f} patient-visits/s "
        f"(day 30 none-or-mild {result.rate('none_or_mild')[2]:.1%})"
        + ("  [target <= 10 s]" if patients == 10_000 else ""),
        flush=True,
    )
    return dt


if __name__ == "__main__":
    run_trial(TrialDesign("glabellar", "onabotulinumtoxinA", 20, patients=200, seed=0))  # warm caches
    for n in (1_000, 10_000, 100_000):
        bench(n)
