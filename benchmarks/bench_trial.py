"""Virtual-trial benchmark: patient-visits per second as the number of patients grows, and memory.

Target (issue 12): >= 10^6 patient-visits/s on 2 cores at 100,000 patients and above, memory flat
as patients grow (the peak resident set size is printed after each size). Glabellar,
onabotulinumtoxinA 20 U, default visits, screening and duration follow-up included. The reduced
cell sets, basis, face models and the numba kernels are warmed first (built once per installation
and cached). Sizes 1,000 / 10,000 / 100,000 / 1,000,000 patients, each with every visit and the
duration follow-up; ``RHYTID_BENCH_QUICK=1`` leaves out the 1,000,000-patient run. Chunks run in
threads (the fused kernels release the GIL), one BLAS thread per worker. The peak resident set
size is that of the whole process so far (so it can only grow: flat means the larger runs did not
need more). The target counts the scheduled visits of the enrolled patients; the figure in brackets
counts every visit the trial simulates (each candidate's screening visit and the treated patients'
duration follow-up visits too). Trials of more chunks than their realisations need (above 16,000
patients) share one set of block tables per sex: the time by which both are built is printed too
(the chunks wait for them). Figures are printed, never asserted.
"""

from __future__ import annotations

import os
import resource
import time

import rhytid.trial._run as trial_run
from rhytid.trial import TrialDesign, run_trial

_READY: dict[str, float] = {}  # sex -> when its shared tables were first returned (perf_counter)
_shared_toxin = trial_run._shared_toxin


def _timed_toxin(*args: object) -> object:
    out = _shared_toxin(*args)  # type: ignore[arg-type]
    _READY.setdefault(str(args[4]), time.perf_counter())
    return out


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench(patients: int) -> float:
    design = TrialDesign("glabellar", "onabotulinumtoxinA", 20, patients=patients, seed=1)
    _READY.clear()
    t0, c0 = time.perf_counter(), time.process_time()
    result = run_trial(design)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    tables = f", shared tables built by {max(_READY.values()) - t0:.2f} s" if _READY else ""
    visits = len(design.visits)
    print(
        f"{patients:>9,} patients x {visits} visits: {dt:7.2f} s ({cpu:7.2f} CPU-s), "
        f"{patients * visits / dt:>10,.0f} patient-visits/s "
        f"({result.simulated_visits / dt:>10,.0f}/s of all {result.simulated_visits:,} simulated: "
        f"with screening and duration follow-up), peak RSS {_peak_rss_mb():,.0f} MB "
        f"(day 30 none-or-mild {result.rate('none_or_mild')[2]:.1%}){tables}"
        + ("  [target >= 1,000,000/s]" if patients >= 100_000 else ""),
        flush=True,
    )
    return dt


if __name__ == "__main__":
    trial_run._shared_toxin = _timed_toxin  # type: ignore[assignment]
    run_trial(TrialDesign("glabellar", "onabotulinumtoxinA", 20, patients=200, seed=0))  # warm caches
    sizes = [1_000, 10_000, 100_000] + ([] if os.environ.get("RHYTID_BENCH_QUICK") else [1_000_000])
    for n in sizes:
        bench(n)
