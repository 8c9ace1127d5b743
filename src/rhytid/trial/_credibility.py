r"""The credibility runs of ``rhytid calibrate``: fit, posterior, leave-one-group-out, held-out, Sobol.

Parts (``--parts``), in order:

* ``fit`` — :func:`rhytid.trial._calibrate.fit` of the shared parameters to every target
  (glabellar and forehead; no per-area factors). Without it the stored calibration is re-evaluated.
* ``posterior`` — the Jacobian of the standardised residuals at the optimum and the Laplace
  posterior (:mod:`rhytid.trial._posterior`), written to ``data/posterior.yaml`` with the
  Jacobian, so later parts and ``--uncertainty`` reuse it.
* ``logo`` — leave one group of targets out (:data:`LOGO_GROUPS`): refit without the group by one
  damped Gauss–Newton step from the full optimum,
  :math:`\Delta x = -(J_{-G}^\top J_{-G} + \sigma_0^{-2} I)^{-1} J_{-G}^\top r_{-G}` (each component
  capped at ±1 in :math:`\ln\theta`), re-run the model at the refitted parameters and compare its
  prediction of the left-out group with the published values, with the 90 % predictive interval of
  the refit's posterior. The refit is linearised (one step, not a full optimisation per group: a
  full one costs ~100 evaluations each); the prediction itself is a full model run.
* ``heldout`` — the outcomes never fitted (``calibration_targets.yaml validation``): model value
  at the optimum and their 90 % predictive interval (delta method with their own Jacobian, plus
  the published arms' binomial sampling).
* ``sobol`` — :func:`rhytid.trial._sensitivity.trial_sobol`.
* ``report`` — ``validation/REPORT.md`` (:mod:`rhytid.report`).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rhytid.trial._calibrate import (
    ALL_FREE,
    CalibrationResult,
    Target,
    fit,
    model_values,
    set_free,
    stored_result,
)
from rhytid.trial._design import TrialDesign
from rhytid.trial._params import TrialParameters
from rhytid.trial._posterior import PRIOR_SD, Z90, Laplace, jacobian, load_posterior, write_posterior
from rhytid.trial._run import run_trial
from rhytid.trial._sensitivity import DEFAULT_N, SOBOL_PATIENTS, SobolResult, trial_sobol

__all__ = [
    "LOGO_GROUPS",
    "PARTS",
    "CredibilityRun",
    "Interval",
    "expected_seconds",
    "logo_step",
    "run_credibility",
]

Array = NDArray[np.float64]
PARTS = ("fit", "posterior", "logo", "heldout", "sobol", "report")
LOGO_GROUPS = ("forehead", "daxibotulinumtoxinA", "prabotulinumtoxinA", "time course", "dose-duration")
_STEP_CAP = 1.0
#: published arm sizes of the held-out outcomes (calibration.yaml: n=226 over 4 arms; n=80 over 4)
HELDOUT_ARM_N = {
    "ona60_improve1_week24": 226 / 4,
    "ona80_improve1_week24": 226 / 4,
    "ona30_relapse_by_4_months": 80 / 4,
    "prabo20_eyelid_ptosis": 570,  # EV-006: one arm
    "prabo20_brow_ptosis": 570,
}


@dataclass(frozen=True)
class Interval:
    """A prediction of a published value with its 90 % predictive interval."""

    name: str
    group: str
    published: float
    model: float
    sd: float  # predictive sd (natural units)
    source: str = ""

    @property
    def lo(self) -> float:
        return self.model - Z90 * self.sd

    @property
    def hi(self) -> float:
        return self.model + Z90 * self.sd

    @property
    def z(self) -> float:
        return (self.model - self.published) / self.sd if self.sd > 0 else math.inf

    @property
    def inside(self) -> bool:
        return self.lo <= self.published <= self.hi


@dataclass
class CredibilityRun:
    result: CalibrationResult
    posterior: Laplace | None = None
    jac: Array | None = None
    residuals: Array | None = None
    fit_intervals: list[Interval] = field(default_factory=list)
    logo: dict[str, list[Interval]] = field(default_factory=dict)
    logo_shift: dict[str, dict[str, float]] = field(default_factory=dict)
    heldout: list[Interval] = field(default_factory=list)
    sobol: SobolResult | None = None
    timings: dict[str, float] = field(default_factory=dict)
    command: str = "rhytid calibrate"
    parts: tuple[str, ...] = PARTS
    sobol_source: str = ""  # set when the Sobol indices were read from an earlier run's file
    posterior_command: str = ""  # the run that computed the posterior (this one or an earlier one)
    unfitted_targets: list[str] = field(default_factory=list)  # targets the parameters were not fitted to


#: cost model of :func:`expected_seconds`: one virtual trial of P patients takes about
#: TRIAL_FIXED_S + TRIAL_PER_PATIENT_S * P seconds (measured 2026-12-03 on the idle 2-core
#: development machine: the default run's 39 fit evaluations of 6 trials of 1200 patients took
#: 14 s; on 2026-12-02, shared with other jobs and before the engine's last changes, 800 patients
#: took 0.6-0.9 s, about 8 times longer)
TRIAL_FIXED_S = 0.03
TRIAL_PER_PATIENT_S = 0.000025
#: trials per evaluation of every target (model_values: five glabellar and one forehead trial;
#: the displacement course is cheap)
TRIALS_PER_EVALUATION = 6
#: a Sobol trial (one seed for all, common random numbers) costs about this per patient: 1288
#: trials of 800 patients took 72 s on 2026-12-03 (2-core machine, no other job)
SOBOL_TRIAL_PER_PATIENT_S = 0.00007
HELDOUT_TRIALS = 4
REPORT_S = 5.0
SEPTUM_ITERATIONS = 14


def expected_seconds(
    parts: tuple[str, ...],
    *,
    patients: int,
    max_evaluations: int,
    sobol_n: int,
    sobol_patients: int,
    heldout_patients: int,
    factors: int = 18,
    noise_repeats: int = 8,
) -> dict[str, float]:
    """Expected run time of each part (s) from the cost model above: a guide printed before a
    run (a busy machine takes longer), not a measurement."""

    def trial(n: int) -> float:
        return TRIAL_FIXED_S + TRIAL_PER_PATIENT_S * n

    evaluation = TRIALS_PER_EVALUATION * trial(patients)
    out: dict[str, float] = {}
    if "fit" in parts:
        out["fit"] = (max_evaluations + 1) * evaluation + SEPTUM_ITERATIONS * trial(patients)
    else:
        out["evaluate stored"] = evaluation
    if "posterior" in parts:
        held = (len(ALL_FREE) + 1) * HELDOUT_TRIALS * trial(heldout_patients) if "heldout" in parts else 0.0
        out["posterior"] = (len(ALL_FREE) + 1) * evaluation + held
    if "logo" in parts:
        out["logo"] = len(LOGO_GROUPS) * evaluation
    if "sobol" in parts:
        out["sobol"] = (sobol_n * (factors + 2) + noise_repeats) * SOBOL_TRIAL_PER_PATIENT_S * sobol_patients
    if "report" in parts:
        out["report"] = REPORT_S
    out["total"] = sum(out.values())
    return out


def logo_step(jac: Array, residuals: Array, left_out: list[int], prior_sd: float = PRIOR_SD) -> Array:
    r"""The refit without the rows ``left_out``: one damped Gauss–Newton step in ln(theta) from the
    full optimum, :math:`-(J_k^\top J_k + \sigma_0^{-2} I)^{-1} J_k^\top r_k`, capped at ±1 per
    component (module docstring). Exact for a linear model when the damping is negligible."""
    keep = [i for i in range(len(residuals)) if i not in set(left_out)]
    jk, rk = jac[keep], residuals[keep]
    info = jk.T @ jk + np.eye(jac.shape[1]) / prior_sd**2
    return np.asarray(np.clip(-np.linalg.solve(info, jk.T @ rk), -_STEP_CAP, _STEP_CAP))


def _heldout_values(tp: TrialParameters, patients: int, seed: int) -> dict[str, float]:
    """The model's value of each held-out outcome (glabellar ona trials at 30, 60, 80 U; the
    adverse events of a glabellar prabo 20 U trial)."""
    out: dict[str, float] = {}
    for dose, key in ((60.0, "ona60_improve1_week24"), (80.0, "ona80_improve1_week24")):
        d = TrialDesign(
            "glabellar", "onabotulinumtoxinA", dose, patients=patients, seed=seed, visits=(168.0,)
        )
        out[key] = float(run_trial(d, tp, workers=2).rate("improve1")[0])
    d = TrialDesign("glabellar", "onabotulinumtoxinA", 30.0, patients=patients, seed=seed, visits=(120.0,))
    days = run_trial(d, tp, workers=2).days_to_baseline
    out["ona30_relapse_by_4_months"] = float(np.mean(days <= 120.0)) if len(days) else 1.0
    prabo = run_trial(
        TrialDesign("glabellar", "prabotulinumtoxinA", 20.0, patients=patients, seed=seed, visits=(30.0,)),
        tp,
        workers=2,
    )
    out["prabo20_eyelid_ptosis"] = prabo.adverse_rate("eyelid_ptosis")
    out["prabo20_brow_ptosis"] = prabo.adverse_rate("brow_ptosis")
    return out


def _heldout_targets() -> list[Target]:
    from rhytid._data import load_yaml

    held = load_yaml("calibration_targets.yaml").get("validation", {})
    out = []
    for k, v in held.items():
        p = float(v["value"])
        sd = math.sqrt(p * (1 - p) / HELDOUT_ARM_N.get(k, 50.0))
        out.append(Target(k, p, sd, str(v["quantity"]), str(v["source"]), "held out"))
    return out


def _intervals(post: Laplace, jac: Array, targets: list[Target], values: dict[str, float]) -> list[Interval]:
    sds = np.array([t.sd for t in targets])
    pred = post.predictive_sd(jac[: len(targets)], sds)
    return [
        Interval(t.name, t.group, t.value, values[t.name], float(s), t.source)
        for t, s in zip(targets, pred, strict=True)
    ]


def run_credibility(
    *,
    parts: tuple[str, ...] = PARTS,
    patients: int = 1200,
    seed: int = 20260101,
    max_evaluations: int = 30,
    start: str = "stored",
    sobol_n: int = DEFAULT_N,
    sobol_patients: int = SOBOL_PATIENTS,
    heldout_patients: int = 1600,
    data_dir: Path | None = None,
    validation: Path = Path("validation"),
    command: str = "rhytid calibrate",
    say: Callable[[str], None] = lambda _: None,
) -> CredibilityRun:
    """Run the chosen parts (module docstring) and write what they produce."""
    from importlib import resources

    from rhytid.trial._calibrated_file import write_calibrated

    data = data_dir or Path(str(resources.files("rhytid.data")))
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if "fit" in parts:
        base = TrialParameters.from_data(base=start == "base")
        result = fit(
            base,
            patients=patients,
            seed=seed,
            max_evaluations=max_evaluations,
            progress=lambda k, obj: say(f"fit: evaluation {k}: objective {obj:.3f}"),
        )
        write_calibrated(result, data / "calibrated.yaml", command)
        obj = f"{result.objective_start:.2f} -> {result.objective:.2f}"
        say(f"fit: objective {obj} ({result.evaluations} evaluations)")
    else:
        result, _ = stored_result(patients)
    timings["fit" if "fit" in parts else "evaluate stored"] = time.perf_counter() - t0
    run = CredibilityRun(result=result, command=command, parts=parts)
    if "fit" not in parts:
        from rhytid._data import load_yaml

        fitted_to = set(load_yaml("calibrated.yaml").get("provenance", {}).get("targets") or [])
        run.unfitted_targets = [t.name for t in result.targets if fitted_to and t.name not in fitted_to]
    targets = result.targets
    tp = result.parameters
    theta = {n: result.fitted[n] for n in ALL_FREE}

    t1 = time.perf_counter()
    if "posterior" in parts:
        r0, jac, values = jacobian(
            tp,
            theta,
            targets,
            result.patients,
            result.seed,
            progress=lambda j, m: say(f"posterior: Jacobian column {j}/{m}"),
        )
        post = Laplace.from_jacobian(jac, r0, theta, ALL_FREE)
        held_j: dict[str, Any] = {}
        if "heldout" in parts:
            h0 = _heldout_values(tp, heldout_patients, 1)
            cols = []
            for n in ALL_FREE:
                moved = dict(theta)
                moved[n] = theta[n] * math.exp(0.05)
                h1 = _heldout_values(set_free(tp, moved), heldout_patients, 1)
                cols.append([(h1[k] - h0[k]) / 0.05 for k in h0])
                say(f"held out: Jacobian column {len(cols)}/{len(ALL_FREE)}")
            held_j = {"values": h0, "jacobian": np.array(cols).T.tolist(), "patients": heldout_patients}
        write_posterior(
            post,
            data / "posterior.yaml",
            {
                "command": command,
                "patients_per_trial": result.patients,
                "seed": result.seed,
                "targets": [t.name for t in targets],
                "residuals": [float(f"{v:.6g}") for v in r0],
                "jacobian": [[float(f"{v:.6g}") for v in row] for row in jac],
                "values": {k: float(f"{v:.6g}") for k, v in values.items()},
                "held_out": held_j,
                "method": "Laplace approximation at the optimum: "
                "cov = s^2 (J^T J + I/prior_sd^2)^-1 in ln(theta)",
            },
        )
    else:
        import yaml

        stored = yaml.safe_load((data / "posterior.yaml").read_text(encoding="utf-8"))
        post = load_posterior(data / "posterior.yaml")
        prov = stored["provenance"]
        jac = np.asarray(prov["jacobian"], dtype=float)
        r0 = np.asarray(prov["residuals"], dtype=float)
        values = {k: float(v) for k, v in prov["values"].items()}
        held_j = prov.get("held_out") or {}
        timings.pop("posterior", None)
        run_from = str(prov.get("command", "rhytid calibrate"))
        if prov.get("targets") != [t.name for t in targets]:
            raise ValueError("posterior.yaml was made for other targets; run with --parts posterior")
    if "posterior" in parts:
        timings["posterior"] = time.perf_counter() - t1
        run_from = command
    run.posterior, run.jac, run.residuals = post, jac, r0
    run.posterior_command = run_from
    run.fit_intervals = _intervals(post, jac, targets, values)

    if "logo" in parts:
        t2 = time.perf_counter()
        for group in LOGO_GROUPS:
            out_rows = [i for i, t in enumerate(targets) if t.group == group]
            if not out_rows:
                continue
            keep = [i for i in range(len(r0)) if i not in out_rows]  # the prior row stays
            jk, rk = jac[keep], r0[keep]
            step = logo_step(jac, r0, out_rows)
            refit = {n: theta[n] * math.exp(float(s)) for n, s in zip(ALL_FREE, step, strict=True)}
            post_g = Laplace.from_jacobian(jk, rk + jk @ step, refit, ALL_FREE)
            vals = model_values(set_free(tp, refit), result.patients, result.seed)
            left = [targets[i] for i in out_rows]
            sds = np.array([t.sd for t in left])
            pred = post_g.predictive_sd(jac[out_rows], sds)
            run.logo[group] = [
                Interval(t.name, group, t.value, vals[t.name], float(s), t.source)
                for t, s in zip(left, pred, strict=True)
            ]
            run.logo_shift[group] = {n: float(s) for n, s in zip(ALL_FREE, step, strict=True)}
            say(f"leave out {group}: refitted and predicted ({len(left)} targets)")
        timings["logo"] = time.perf_counter() - t2

    if "heldout" in parts and held_j:
        held = _heldout_targets()
        hj = np.asarray(held_j["jacobian"], dtype=float)
        hv = held_j["values"]
        var_theta = np.einsum("ij,jk,ik->i", hj, post.cov, hj)
        run.heldout = [
            Interval(t.name, "held out", t.value, float(hv[t.name]), float(math.sqrt(v + t.sd**2)), t.source)
            for t, v in zip(held, var_theta, strict=True)
        ]

    sobol_file = validation / "sobol.json"
    if "sobol" in parts:
        t3 = time.perf_counter()

        def tick(done: int, total: int) -> None:
            if done % 100 == 0 or done == total:
                say(f"sobol: trial {done}/{total} ({time.perf_counter() - t3:.0f} s)")

        run.sobol = trial_sobol(post, n_base=sobol_n, patients=sobol_patients, tp=tp, progress=tick)
        timings["sobol"] = time.perf_counter() - t3
        say(f"sobol: {run.sobol.evaluations} trials")
        validation.mkdir(parents=True, exist_ok=True)
        note = {"note": f"`{command}`"}
        sobol_file.write_text(json.dumps(run.sobol.to_dict() | note, indent=1) + "\n", encoding="utf-8")
    elif sobol_file.exists():  # the last Sobol run, kept for a report regenerated without it
        stored_sobol = json.loads(sobol_file.read_text(encoding="utf-8"))
        run.sobol = SobolResult.from_dict(stored_sobol)
        run.sobol_source = str(stored_sobol.get("note", "an earlier run"))

    if "report" in parts:
        t4 = time.perf_counter()
        from rhytid.report import write_validation_report

        run.timings = timings
        write_validation_report(result, validation, command, credibility=run)
        timings["report"] = time.perf_counter() - t4
    timings["total"] = time.perf_counter() - t0
    run.timings = timings
    return run
