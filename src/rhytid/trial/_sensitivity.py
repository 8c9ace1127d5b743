r"""Global sensitivity: Sobol indices (SALib) of a virtual trial's outcomes.

:func:`sobol_indices` is a thin wrapper over SALib's Saltelli design (``SALib.sample.sobol``) and
Sobol/Jansen estimators (``SALib.analyze.sobol``): first-order indices :math:`S_i =
V[E(Y|X_i)]/V(Y)` (the share of the output variance that factor :math:`i` explains alone) and
total indices :math:`S_{Ti} = E[V(Y|X_{\sim i})]/V(Y)` (alone and in every interaction), with
bootstrap 95 % half-widths. The tests check it against the analytic indices of the Ishigami
function.

:func:`trial_sobol` applies it to the glabellar onabotulinumtoxinA 20 U label trial. Factors:
every free (fitted) parameter that acts on that trial (not the daxibotulinumtoxinA recovery
rate), uniform in :math:`\ln\theta` over the posterior's :math:`\pm 2` sd (at most a factor
:math:`e` either way), and the main population distributions (``population.yaml``), uniform over
±50 % of their values. Outputs: the day-30 none-or-mild rate, the median days to return to
baseline, and the eyelid and brow ptosis rates.

**Common random numbers.** Every sample runs the same seed: the same candidates, the same
normal deviates behind every individual multiplier and technique offset (a population
distribution's cv scales them), so the indices measure the factors' effect rather than the
virtual patients drawn. **Trial noise.** What a trial of this size would vary by with other
patients is measured at the centre of the factor space (:data:`NOISE_REPEATS` seeds) and kept
with the indices (``noise_sd``; ``noise_share`` = its variance over the output's variance across
the design): under common random numbers it does not enter the indices as independent noise,
but it bounds how rough the response surface is, and a share near 1 would mean the indices
describe the patients drawn. Cost: :math:`N(D + 2)` trials for :math:`D` factors, plus the
repeats; a trial is mostly fixed cost (technique realisations, uptake), so fewer patients than
:data:`SOBOL_PATIENTS` barely save time and add roughness.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rhytid.trial._calibrate import get_free, set_free
from rhytid.trial._design import TrialDesign
from rhytid.trial._params import TrialParameters
from rhytid.trial._posterior import Laplace
from rhytid.trial._run import run_trial

__all__ = [
    "DEFAULT_N",
    "OUTPUTS",
    "POPULATION_FACTORS",
    "SOBOL_PATIENTS",
    "SobolResult",
    "sobol_indices",
    "trial_sobol",
]

Array = NDArray[np.float64]
#: population distributions varied, each over +-50 % of its value
POPULATION_FACTORS = (
    "muscle_strength_cv",
    "skin_thickness_cv",
    "static_etch_cv",
    "recovery_rate_cv",
    "frontalis_tone_cv",
    "position_sd_mm",
)
OUTPUTS = ("none_or_mild_day30", "median_days_to_baseline", "eyelid_ptosis", "brow_ptosis")
#: fitted parameters the ona glabellar trial does not depend on (no factor of its Sobol design)
NOT_IN_TRIAL = ("recovery_rate_daxi",)
#: base sample of ``rhytid calibrate``'s Sobol part: N (D + 2) = 1280 trials for 18 factors
DEFAULT_N = 64
#: patients per Sobol trial: a trial is mostly fixed cost (800 take ~1.5 times as long as 400,
#: measured), and twice the patients halve the trial noise's variance
SOBOL_PATIENTS = 800
#: seeds run at the centre of the factor space to measure a trial's own noise
NOISE_REPEATS = 8
_THRESHOLDS = ("threshold_none_mild", "threshold_mild_moderate", "threshold_moderate_severe")
_POP_SPAN = 0.5
_LOG_SPAN_MAX = 1.0


@dataclass(frozen=True)
class SobolResult:
    """First-order and total indices with bootstrap 95 % half-widths, per output and factor."""

    factors: tuple[str, ...]
    outputs: tuple[str, ...]
    s1: Array  # (outputs, factors)
    s1_conf: Array
    st: Array
    st_conf: Array
    n_base: int
    evaluations: int
    #: sd of each output between trials of this size with other seeds (centre of the factors)
    noise_sd: Array | None = None
    #: sd of each output over the Sobol design
    output_sd: Array | None = None
    patients: int | None = None
    seconds: float | None = None

    @property
    def noise_share(self) -> Array | None:
        """The trial noise's variance over the output's variance across the design."""
        if self.noise_sd is None or self.output_sd is None:
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(np.where(self.output_sd > 0, (self.noise_sd / self.output_sd) ** 2, 0.0))

    def leading(self, output: int, k: int = 3) -> list[int]:
        """The ``k`` factors with the largest total index of ``output``."""
        return [int(j) for j in np.argsort(-self.st[output])[:k]]

    def to_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.noise_sd is not None and self.output_sd is not None:
            extra = {"noise_sd": self.noise_sd.tolist(), "output_sd": self.output_sd.tolist()}
        if self.patients is not None:
            extra["patients"] = self.patients
        if self.seconds is not None:
            extra["seconds"] = round(self.seconds, 1)
        return extra | {
            "factors": list(self.factors),
            "outputs": list(self.outputs),
            "S1": self.s1.tolist(),
            "S1_conf": self.s1_conf.tolist(),
            "ST": self.st.tolist(),
            "ST_conf": self.st_conf.tolist(),
            "n_base": self.n_base,
            "evaluations": self.evaluations,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SobolResult:
        return cls(
            tuple(d["factors"]),
            tuple(d["outputs"]),
            np.asarray(d["S1"], dtype=float),
            np.asarray(d["S1_conf"], dtype=float),
            np.asarray(d["ST"], dtype=float),
            np.asarray(d["ST_conf"], dtype=float),
            int(d["n_base"]),
            int(d["evaluations"]),
            np.asarray(d["noise_sd"], dtype=float) if "noise_sd" in d else None,
            np.asarray(d["output_sd"], dtype=float) if "output_sd" in d else None,
            int(d["patients"]) if "patients" in d else None,
            float(d["seconds"]) if "seconds" in d else None,
        )

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "output": o,
                "factor": f,
                "S1": float(self.s1[i, j]),
                "S1_conf": float(self.s1_conf[i, j]),
                "ST": float(self.st[i, j]),
                "ST_conf": float(self.st_conf[i, j]),
            }
            for i, o in enumerate(self.outputs)
            for j, f in enumerate(self.factors)
        ]


def sobol_indices(
    func: Callable[[Array], Array],
    names: list[str],
    bounds: list[tuple[float, float]],
    n_base: int,
    *,
    seed: int = 1,
    outputs: tuple[str, ...] = ("y",),
) -> SobolResult:
    """Sobol indices of ``func`` (rows of factor values ``(M, D)`` -> outputs ``(M, K)`` or
    ``(M,)``) over independent uniform factors in ``bounds``; ``n_base`` a power of two."""
    from SALib.analyze import sobol as analyze
    from SALib.sample import sobol as sample

    problem = {"num_vars": len(names), "names": names, "bounds": [list(b) for b in bounds]}
    x = sample.sample(problem, n_base, calc_second_order=False, scramble=True, seed=seed)
    y = np.asarray(func(x), dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    parts: list[tuple[Array, Array, Array, Array]] = []
    for k in range(y.shape[1]):
        yk = y[:, k]
        if np.ptp(yk) == 0:  # an output that does not move: no variance to share
            zero = np.zeros(len(names))
            parts.append((zero, zero, zero, zero))
            continue
        res = analyze.analyze(problem, yk, calc_second_order=False, seed=seed, print_to_console=False)
        parts.append((res["S1"], res["S1_conf"], res["ST"], res["ST_conf"]))
    s1, s1c, st, stc = (np.array([p[i] for p in parts]) for i in range(4))
    return SobolResult(
        tuple(names),
        outputs,
        s1,
        s1c,
        st,
        stc,
        n_base,
        len(x),
        output_sd=np.asarray(y.std(axis=0, ddof=1)),
    )


def factor_space(tp: TrialParameters, post: Laplace) -> tuple[list[str], list[tuple[float, float]]]:
    """The factors of :func:`trial_sobol` and their bounds (ln theta for the fitted parameters)."""
    names, bounds = [], []
    for j, n in enumerate(post.names):
        if n in NOT_IN_TRIAL:
            continue
        half = min(2.0 * float(post.sd[j]), _LOG_SPAN_MAX)
        x = math.log(post.theta[n])
        names.append(n)
        bounds.append((x - half, x + half))
    for n in POPULATION_FACTORS:
        v = float(getattr(tp.population, n))
        names.append(n)
        bounds.append((v * (1 - _POP_SPAN), v * (1 + _POP_SPAN)))
    return names, bounds


def trial_sobol(
    post: Laplace,
    *,
    n_base: int = DEFAULT_N,
    patients: int = SOBOL_PATIENTS,
    seed: int = 7,
    workers: int = 2,
    tp: TrialParameters | None = None,
    noise_repeats: int = NOISE_REPEATS,
    progress: Callable[[int, int], None] | None = None,
) -> SobolResult:
    """Sobol indices of the ona 20 U glabellar trial's outcomes, with the trial noise measured at
    the centre of the factor space (module docstring)."""
    import time

    t0 = time.perf_counter()
    base = tp or TrialParameters.from_data()
    names, bounds = factor_space(base, post)
    free = get_free(base)
    total = n_base * (len(names) + 2) + noise_repeats
    done = [0]

    def trial(row: Array, trial_seed: int) -> list[float]:
        theta = dict(free)
        pop: dict[str, float] = {}
        for n, v in zip(names, row, strict=True):
            if n in POPULATION_FACTORS:
                pop[n] = float(v)
            else:
                theta[n] = math.exp(float(v))
        t = sorted(
            theta[k] for k in ("threshold_none_mild", "threshold_mild_moderate", "threshold_moderate_severe")
        )
        theta["threshold_none_mild"], theta["threshold_mild_moderate"], theta["threshold_moderate_severe"] = t
        theta["septum_transmission"] = min(theta["septum_transmission"], 1.0)
        params = set_free(base, theta).replace(population=pop)
        design = TrialDesign(
            "glabellar", "onabotulinumtoxinA", 20.0, patients=patients, seed=trial_seed, visits=(30.0,)
        )
        r = run_trial(design, params, workers=1)
        median = r.median_days_to_baseline()
        done[0] += 1
        if progress:
            progress(done[0], total)
        return [
            float(r.rate("none_or_mild")[0]),
            float(median if median is not None else 0.0),
            r.adverse_rate("eyelid_ptosis"),
            r.adverse_rate("brow_ptosis"),
        ]

    def func(x: Array) -> Array:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return np.array(list(pool.map(lambda row: trial(row, seed), list(x))))

    res = sobol_indices(func, names, bounds, n_base, seed=seed, outputs=OUTPUTS)
    centre = np.array([(lo + hi) / 2.0 for lo, hi in bounds])
    noise_sd = None
    if noise_repeats >= 2:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            reps = np.array(list(pool.map(lambda k: trial(centre, seed + 1 + k), range(noise_repeats))))
        noise_sd = np.asarray(reps.std(axis=0, ddof=1))
    return replace(res, noise_sd=noise_sd, patients=patients, seconds=time.perf_counter() - t0)
