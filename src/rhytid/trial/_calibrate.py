r"""Calibration: fit the model's free parameters to published trial outcomes.

Targets live in ``rhytid/data/calibration_targets.yaml`` (copied, with sources, from the project's
evidence file). Each is compared with the same quantity of a virtual trial run with
:func:`~rhytid.trial.run_trial` (or, for the block time course, the model's frown skin
displacement for the median patient with the planned technique). The objective is the sum of
squared standardised residuals :math:`\sum_k ((m_k(\theta) - y_k)/s_k)^2`, minimised over the
logarithms of the free parameters with :func:`scipy.optimize.least_squares` (trust region
reflective, bounded, finite differences). Trials use a fixed seed (common random numbers), so the
objective is deterministic and the fit reproducible. One prior joins the targets: the mild and the
moderate grade span similar steps of log depth (:math:`\ln(t_2/t_1) - \ln(t_3/t_2)` with sd
:data:`GRADE_STEP_PRIOR_SD`), an assumption about the photonumeric scale that keeps the weakly
identified none|mild threshold from collapsing onto the mild|moderate one. Durations are read at
4-weekly visits, so their medians jump from one visit to the next; the median targets enter the
fit through :func:`median_near`, which is smooth in the parameters and meets the target exactly
when half of the responders have lost the response by the target day.

Free parameters: grade thresholds (none|mild, mild|moderate, moderate|severe), the spread length,
EC50, the binding capacity of the nerve endings, the recovery rate of the type A1 products (ona,
abo, inco, prabo share one: same serotype), the recovery rate of daxibotulinumtoxinA, the static
etch rate, the rater noise (its size, and the share that stays with the patient, fitted as odds)
and the spread of toxin sensitivity between patients. Then, in a second stage, the transmission
of the orbital septum (an assumed value; it changes nothing but the toxin reaching the levator) is
fitted to the eyelid ptosis rate alone with :func:`scipy.optimize.minimize_scalar` (bounded, on its
logarithm).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rhytid.tissue import EXPRESSIONS, brow_point
from rhytid.trial._design import TrialDesign
from rhytid.trial._engine import BlockTables, face_model, nominal_technique
from rhytid.trial._params import TrialParameters
from rhytid.trial._run import TrialResult, _log_active, run_trial

__all__ = [
    "A1_PRODUCTS",
    "FREE_PARAMETERS",
    "CalibrationResult",
    "Target",
    "block_course",
    "displacement_course",
    "fit",
    "load_targets",
    "median_near",
    "model_values",
    "stored_result",
]

Array = NDArray[np.float64]
A1_PRODUCTS = ("onabotulinumtoxinA", "abobotulinumtoxinA", "incobotulinumtoxinA", "prabotulinumtoxinA")
FREE_PARAMETERS = (
    "threshold_none_mild",
    "threshold_mild_moderate",
    "threshold_moderate_severe",
    "spread_length_mm",
    "ec50_u_per_mm3",
    "binding_capacity_u_per_mm3",
    "recovery_rate_a1",
    "recovery_rate_daxi",
    "static_etch_per_year",
    "rater_noise_sd",
    "rater_persistent_odds",
    "toxin_sensitivity_cv",
)
DISPLACEMENT_DAYS = (2.0, 7.0, 14.0, 42.0, 84.0, 168.0)
#: prior: the mild and moderate grades span similar steps of log depth (difference / this sd)
GRADE_STEP = "grade_step_balance"
GRADE_STEP_PRIOR_SD = 0.15


#: the group of a target without one in the file
DEFAULT_GROUP = "glabellar onabotulinumtoxinA"
#: every fitted parameter: the least-squares ones and the second-stage septum transmission
ALL_FREE = (*FREE_PARAMETERS, "septum_transmission")


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    sd: float
    quantity: str
    source: str
    group: str = DEFAULT_GROUP


def load_targets() -> list[Target]:
    """The calibration targets of ``calibration_targets.yaml``."""
    from rhytid._data import load_yaml

    data = load_yaml("calibration_targets.yaml")["targets"]
    return [
        Target(
            k,
            float(v["value"]),
            float(v["sd"]),
            str(v["quantity"]),
            str(v["source"]),
            str(v.get("group", DEFAULT_GROUP)),
        )
        for k, v in data.items()
    ]


def get_free(tp: TrialParameters) -> dict[str, float]:
    t1, t2, t3 = tp.grade_thresholds_um
    return {
        "threshold_none_mild": t1,
        "threshold_mild_moderate": t2,
        "threshold_moderate_severe": t3,
        "spread_length_mm": tp.spread_length_mm,
        "ec50_u_per_mm3": tp.ec50_u_per_mm3,
        "binding_capacity_u_per_mm3": tp.binding_capacity_u_per_mm3,
        "recovery_rate_a1": tp.recovery_rate_per_day["onabotulinumtoxinA"],
        "recovery_rate_daxi": tp.recovery_rate_per_day["daxibotulinumtoxinA"],
        "static_etch_per_year": tp.static_etch_per_year,
        "rater_noise_sd": tp.population.rater_noise_sd,
        # fitted as odds rho / (1 - rho) so that every positive value is a valid share
        "rater_persistent_odds": _odds(tp.population.rater_persistent_share),
        "toxin_sensitivity_cv": tp.population.toxin_sensitivity_cv,
        "septum_transmission": tp.septum_transmission,
    }


def _odds(share: float) -> float:
    return share / (1.0 - share)


def share_of_odds(odds: float) -> float:
    r"""The persistent share of the rating noise, :math:`\rho = o / (1 + o)`, from its odds."""
    return odds / (1.0 + odds)


def set_free(tp: TrialParameters, v: dict[str, float]) -> TrialParameters:
    rec = dict(tp.recovery_rate_per_day)
    for p in A1_PRODUCTS:
        rec[p] = v["recovery_rate_a1"]
    rec["daxibotulinumtoxinA"] = v["recovery_rate_daxi"]
    return tp.replace(
        grade_thresholds_um=(
            v["threshold_none_mild"],
            v["threshold_mild_moderate"],
            v["threshold_moderate_severe"],
        ),
        spread_length_mm=v["spread_length_mm"],
        ec50_u_per_mm3=v["ec50_u_per_mm3"],
        binding_capacity_u_per_mm3=v["binding_capacity_u_per_mm3"],
        recovery_rate_per_day=rec,
        static_etch_per_year=v["static_etch_per_year"],
        septum_transmission=v.get("septum_transmission", tp.septum_transmission),
        population={
            "rater_noise_sd": v["rater_noise_sd"],
            "rater_persistent_share": share_of_odds(v["rater_persistent_odds"]),
            "toxin_sensitivity_cv": v["toxin_sensitivity_cv"],
        },
    )


def block_course(
    tp: TrialParameters, days: Array, product: str = "incobotulinumtoxinA", dose: float = 30.0
) -> Array:
    """Fraction of the corrugators' nerve endings still working (1 − mean corrugator block) on
    ``days``, for the median female patient treated with the glabellar pattern exactly as planned.

    This is compared with the published frown skin displacement relative to baseline (the
    corrugator drives the brow at the measured point); :func:`displacement_course` gives the
    model's own displacement, in which the unblocked orbicularis oculi keeps part of the motion.
    """
    fm, seg = _nominal_blocks(tp, days, product, dose)
    muscles = fm.muscle_block(seg)
    cols = [fm.engine.muscles.index(m) for m in ("corrugator_l", "corrugator_r")]
    return np.asarray(1.0 - muscles[1:, cols].mean(axis=1))


def _nominal_blocks(tp: TrialParameters, days: Array, product: str, dose: float) -> tuple[Any, Array]:
    design = TrialDesign("glabellar", product, dose, patients=8)
    fm = face_model("female", ("glabellar",), tp.area_cells_max, tp.quadrature_stride, tp.tissue)
    pattern = design.pattern("female")
    q = fm.uptake(pattern, nominal_technique(len(pattern.sites)), tp)
    tables = BlockTables.build(fm, q, tp, -math.log(tp.ec50_u_per_mm3) + 1.0)
    d = np.concatenate([[0.0], np.asarray(days, dtype=float)])
    kr = np.array([tp.recovery_rate_per_day[product]])
    w = _log_active(d[None, :], tp.onset_days[product], kr[:, None], np.ones(1), tp.ec50_u_per_mm3)
    return fm, tables.lookup(np.zeros(1, dtype=np.intp), w)[0]


def displacement_course(
    tp: TrialParameters, days: Array, product: str = "incobotulinumtoxinA", dose: float = 30.0
) -> Array:
    """The model's frown skin displacement at the Proebstle point (upper brow margin, 30 mm from
    the midline) relative to before treatment, for the patient of :func:`block_course`."""
    fm, seg = _nominal_blocks(tp, days, product, dose)
    act = fm.activation(seg)
    basis = fm.engine.basis
    frown, rest = EXPRESSIONS.index("frown"), EXPRESSIONS.index("rest")
    delta = (act[:, frown, :] - act[:, rest, :])[:, basis.skin_rows]
    p = tp.tissue
    mags = []
    for side in ("l", "r"):
        x, y = brow_point(basis, side, p.brow_reference_x_mm, p.brow_upper_margin_offset_mm)
        u = delta @ basis.sample(x, y)[:, :2].astype(np.float64)
        mags.append(np.hypot(u[:, 0], u[:, 1]))
    m = np.mean(mags, axis=0)
    return np.asarray(m[1:] / m[0])


def median_near(days: Array, target: float, width: float) -> float:
    r"""The day at which half of the responders have lost the response, solved near ``target``
    from the empirical distribution :math:`F` of their ``days`` linearised over ``target ± width``:

    .. math::  t = t_0 + \frac{1/2 - F(t_0)}{F'}, \qquad F' = \frac{F(t_0 + w) - F(t_0 - w)}{2w}.

    At :math:`t = t_0` this is the median's defining equation :math:`F(t) = 1/2`; unlike the median
    of days read at visits (which jumps from one visit to the next) it changes smoothly with the
    parameters, so the fit uses it for the median targets.
    """
    if not len(days):
        return 0.0

    def cdf(t: float) -> float:
        return float(np.mean(days <= t))

    slope = max((cdf(target + width) - cdf(target - width)) / (2.0 * width), 1e-4)
    return float(target + (0.5 - cdf(target)) / slope)


def _relapse(r: TrialResult, day: float) -> float:
    d = r.days_to_baseline
    return float(np.mean(d <= day)) if len(d) else 1.0


#: the trials the targets refer to: key -> (area, product, total units, visits)
CALIBRATION_TRIALS: dict[str, tuple[str, str, float, tuple[float, ...]]] = {
    "ona20": ("glabellar", "onabotulinumtoxinA", 20.0, (30.0, 120.0, 168.0)),
    "ona40": ("glabellar", "onabotulinumtoxinA", 40.0, (30.0, 120.0, 168.0)),
    "ona10": ("glabellar", "onabotulinumtoxinA", 10.0, (30.0, 120.0)),
    "daxi40": ("glabellar", "daxibotulinumtoxinA", 40.0, (28.0, 120.0)),
    "prabo20": ("glabellar", "prabotulinumtoxinA", 20.0, (30.0, 120.0)),
    # forehead lines: the label forehead pattern (20 U) with the glabellar pattern (20 U), graded
    # on the forehead at maximum brow elevation (Solish 2016; the phase III FHL trials)
    "fh_ona40": ("forehead+glabellar", "onabotulinumtoxinA", 40.0, (30.0,)),
}


def run_calibration_trials(
    tp: TrialParameters, patients: int, seed: int, workers: int = 2
) -> dict[str, TrialResult]:
    """The trials the targets refer to (same seed for all: common random numbers)."""

    def one(key: str) -> TrialResult:
        area, product, dose, visits = CALIBRATION_TRIALS[key]
        design = TrialDesign(area, product, dose, patients=patients, seed=seed, visits=visits)
        return run_trial(design, tp, workers=1)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip(CALIBRATION_TRIALS, pool.map(one, CALIBRATION_TRIALS), strict=True))


def model_values(tp: TrialParameters, patients: int, seed: int) -> dict[str, float]:
    """The model's value of every target (names as in ``calibration_targets.yaml``)."""
    t = run_calibration_trials(tp, patients, seed)
    ona20, ona40 = t["ona20"], t["ona40"]
    at = {g.name: g.value for g in load_targets()}
    w = tp.follow_up_days

    def median(name: str, days: Array) -> float:
        return median_near(days, at[name], w)

    course = block_course(tp, np.asarray(DISPLACEMENT_DAYS))
    out = {
        "ona20_none_or_mild_day30": float(ona20.rate("none_or_mild")[0]),
        "ona20_none_or_mild_day120": float(ona20.rate("none_or_mild")[1]),
        "ona20_placebo_none_or_mild_day120": float(ona20.rate("none_or_mild", "placebo")[1]),
        "ona20_eyelid_ptosis": ona20.adverse_rate("eyelid_ptosis"),
        "ona20_median_days_to_baseline": median("ona20_median_days_to_baseline", ona20.days_to_baseline),
        "ona40_median_days_to_baseline": median("ona40_median_days_to_baseline", ona40.days_to_baseline),
        "ona20_improve1_week24": float(ona20.rate("improve1")[2]),
        "ona40_improve1_week24": float(ona40.rate("improve1")[2]),
        "ona10_relapse_by_4_months": _relapse(t["ona10"], 120.0),
        "ona20_relapse_by_4_months": _relapse(ona20, 120.0),
        "ona40_relapse_by_4_months": _relapse(ona40, 120.0),
        "daxi40_median_days_none_or_mild": median(
            "daxi40_median_days_none_or_mild", t["daxi40"].days_none_or_mild
        ),
        "daxi40_median_days_to_baseline": median(
            "daxi40_median_days_to_baseline", t["daxi40"].days_to_baseline
        ),
        "daxi40_improve2_day30": float(t["daxi40"].rate("improve2")[0]),
        "prabo20_improve2_day30": float(t["prabo20"].rate("improve2")[0]),
        "fh_ona40_none_or_mild_day30": float(t["fh_ona40"].rate("none_or_mild")[0]),
        "fh_ona40_placebo_none_or_mild_day30": float(t["fh_ona40"].rate("none_or_mild", "placebo")[0]),
        "fh_ona40_improve2_day30": float(t["fh_ona40"].rate("improve2")[0]),
    }
    for day, v in zip(DISPLACEMENT_DAYS, course, strict=True):
        out[f"inco30_displacement_day{day:g}"] = float(v)
    t1, t2, t3 = tp.grade_thresholds_um
    out[GRADE_STEP] = math.log(t2 / t1) - math.log(t3 / t2)
    return out


@dataclass(frozen=True)
class CalibrationResult:
    parameters: TrialParameters
    start: dict[str, float]
    fitted: dict[str, float]
    targets: list[Target]
    values: dict[str, float]
    objective: float
    objective_start: float
    evaluations: int
    seed: int
    patients: int
    optimiser: str


class _Budget(Exception):
    """The evaluation budget is spent (the best point so far is kept)."""


def _objective(values: dict[str, float], targets: list[Target]) -> Array:
    fit = [(values[t.name] - t.value) / t.sd for t in targets]
    return np.array([*fit, values.get(GRADE_STEP, 0.0) / GRADE_STEP_PRIOR_SD])


def fit(
    tp: TrialParameters | None = None,
    *,
    patients: int = 1600,
    seed: int = 20260101,
    max_evaluations: int = 110,
    progress: Callable[[int, float], None] | None = None,
    targets: list[Target] | None = None,
    septum_iterations: int = 14,
) -> CalibrationResult:
    """Fit :data:`FREE_PARAMETERS` to the targets (module docstring), starting from the free
    values of ``tp``; ``targets``: a subset (leave-one-group-out), default every target."""
    from scipy.optimize import least_squares

    base = tp or TrialParameters.from_data()
    targets = load_targets() if targets is None else targets
    start = get_free(base)
    names = list(FREE_PARAMETERS)
    x_scale = np.array([start[n] for n in names])
    count = [0]
    cache: dict[bytes, tuple[Array, dict[str, float]]] = {}

    def params_of(x: Array) -> dict[str, float]:
        # x = 1 + ln(θ/θ0): the finite-difference steps are relative to 1, i.e. diff_step in ln θ
        v = {n: float(s * math.exp(xi - 1.0)) for n, s, xi in zip(names, x_scale, x, strict=True)}
        # keep the thresholds ordered
        v["threshold_none_mild"] = min(v["threshold_none_mild"], 0.95 * v["threshold_mild_moderate"])
        v["threshold_moderate_severe"] = max(
            v["threshold_moderate_severe"], 1.05 * v["threshold_mild_moderate"]
        )
        return v

    best: list[Any] = [None, np.inf]

    def residuals(x: Array) -> Array:
        key = np.asarray(x).tobytes()
        if key not in cache:
            if count[0] >= max_evaluations:
                raise _Budget
            values = model_values(set_free(base, params_of(x)), patients, seed)
            cache[key] = (_objective(values, targets), values)
            count[0] += 1
            obj = float(np.sum(cache[key][0] ** 2))
            if obj < best[1]:
                best[0], best[1] = np.array(x, dtype=float), obj
            if progress:
                progress(count[0], obj)
        return cache[key][0]

    x0 = np.ones(len(names))
    r0 = residuals(x0)
    with contextlib.suppress(_Budget):
        least_squares(residuals, x0, bounds=(-1.5, 3.5), diff_step=0.06, method="trf")
    best_x = best[0]
    fitted = params_of(best_x)
    values = dict(cache[np.asarray(best_x).tobytes()][1])
    ptosis = next((t for t in targets if t.name == "ona20_eyelid_ptosis"), None)

    def result(optimiser: str) -> CalibrationResult:
        return CalibrationResult(
            parameters=set_free(base, fitted),
            start=start,
            fitted=fitted,
            targets=targets,
            values=values,
            objective=float(best[1]),
            objective_start=float(np.sum(r0**2)),
            evaluations=count[0],
            seed=seed,
            patients=patients,
            optimiser=optimiser,
        )

    if ptosis is None:  # no ptosis target: the septum transmission stays as it is
        fitted["septum_transmission"] = base.septum_transmission
        return result(f"scipy.optimize.least_squares(method='trf'), best of {count[0]} evaluations")
    # stage 2: the septum transmission, from the eyelid ptosis rate of the ona 20 U trial
    from scipy.optimize import minimize_scalar

    tp1 = set_free(base, fitted)
    design = TrialDesign(
        "glabellar", "onabotulinumtoxinA", 20.0, patients=patients, seed=seed, visits=(30.0,)
    )
    rates: dict[float, float] = {}

    def miss(log_t: float) -> float:
        rate = run_trial(design, tp1.replace(septum_transmission=math.exp(log_t))).adverse_rate(
            "eyelid_ptosis"
        )
        rates[log_t] = rate
        count[0] += 1
        if progress:
            progress(count[0], float(((rate - ptosis.value) / ptosis.sd) ** 2))
        return ((rate - ptosis.value) / ptosis.sd) ** 2

    opt: Any = minimize_scalar(
        miss,
        bounds=(math.log(0.03), math.log(1.0)),
        method="bounded",
        options={"xatol": 0.02, "maxiter": septum_iterations},
    )
    fitted["septum_transmission"] = float(math.exp(opt.x))
    values["ona20_eyelid_ptosis"] = rates.get(opt.x, miss(opt.x))
    best[1] = float(np.sum(_objective(values, targets) ** 2))
    return result(
        "scipy.optimize.least_squares(method='trf', x = 1 + ln(theta/theta0) in [-1.5, 3.5], "
        f"diff_step=0.06), best of {count[0]} evaluations"
    )


def stored_result(patients: int | None = None) -> tuple[CalibrationResult, str]:
    """The stored calibration (``calibrated.yaml``) re-evaluated: for regenerating the report."""
    from rhytid._data import load_yaml

    prov = load_yaml("calibrated.yaml").get("provenance", {})
    tp = TrialParameters.from_data()
    n = int(patients or prov.get("patients_per_trial", 1600))
    seed = int(prov.get("seed", 20260101))
    targets = load_targets()
    values = model_values(tp, n, seed)
    start = {k: float(v) for k, v in (prov.get("start") or get_free(tp)).items()}
    return (
        CalibrationResult(
            parameters=tp,
            start=start,
            fitted=get_free(tp),
            targets=targets,
            values=values,
            objective=float(np.sum(_objective(values, targets) ** 2)),
            objective_start=float(prov.get("objective_start", float("nan"))),
            evaluations=int(prov.get("evaluations", 0)),
            seed=seed,
            patients=n,
            optimiser=str(prov.get("optimiser", "")),
        ),
        str(prov.get("command", "rhytid calibrate")),
    )
