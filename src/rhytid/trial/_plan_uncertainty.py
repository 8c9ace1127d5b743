r"""``rhytid simulate PLAN --uncertainty``: grade and risk probabilities of one plan.

**What is drawn.** ``draws`` parameter sets :math:`\theta_i` from the stored Laplace posterior
(:mod:`rhytid.trial._posterior`; the same draws as ``rhytid trial --uncertainty``: grade
thresholds, spread length, EC50, binding capacity, recovery rates, etch rate, septum
transmission). Two questions, two variations (``variation``):

* ``parameters`` (the default, what CONTRACTS.md asks for): *how sure is the model about this
  face* — the plan's patient (sex, age, strength, tone) exactly as given, the injections exactly
  as planned; only the fitted parameters vary. The spread is the model's own uncertainty.
* ``patients``: *what happens to a patient like this* — each draw is also a different patient of
  the plan's sex and age, with the population's individual multipliers (``population.yaml``:
  strength, skin thickness and stiffness, etch, toxin sensitivity with the draw's own
  ``toxin_sensitivity_cv``, recovery, frontalis tone unless the plan gives it) and one
  realisation of real injection technique (position, depth, volume scatter), as in the trials.
  Each multiplier has median 1, so the median patient is the plan's patient.

Neither includes the rater's noise: the grades are the model's grades of the depth (what
``rhytid simulate`` reports), not an investigator's rating.

**How.** The draws are one batch through the trial engine's kernels (:mod:`rhytid._kernels`)
on the trial's reduced-order face (:func:`rhytid.trial._engine.face_model`: the
``area_cells_max`` representative cells of every area, every ``quadrature_stride``-th
nerve-ending point): uptake per draw (its spread, binding capacity, septum), blocks point by point
(:func:`~rhytid._kernels.point_block`, so plans with several treatment days work), the fold's
relaxation (:func:`rhytid.model.static_ease`), depths at rest and at each area's expression,
brow and lid (:func:`rhytid.model.brow_height_mm`, :func:`rhytid.model.lid_lift_mm`), grades
with each draw's thresholds, and the risks with the rules and thresholds of
:func:`rhytid.model.simulate` (``tissue.yaml risk``). The EC50 and the recovery and etch rates of
a draw enter as multipliers of the patient's sensitivity, recovery and etch (the kernels take
them per patient), which is the same arithmetic.

**Output** (:func:`simulate_with_uncertainty`): ``rhytid simulate --json`` at the fitted
parameters (every cell and point) with, per visit and area, ``"grade_probabilities": [p0, p1,
p2, p3]`` at rest and at maximum contraction and ``"depth_um_pi90"``; per visit the 90 %
intervals (5th and 95th percentiles of the draws) of every muscle's block, brow height change
and eyelid droop; per risk of the central outcome a ``"probability"`` (any level) and
``"level_probabilities"``; ``"risk_probabilities"`` for every risk kind and side (and muscle)
that any draw produces; and ``"uncertainty"`` with the method, variation, draws and seed (same
seed, same result), and how often the reduced-order engine at the fitted parameters grades as
the exact run does.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from rhytid._kernels import area_depth as kernel_area_depth
from rhytid._kernels import (
    injection_uptake,
    kinetics,
    patient_buckling,
    point_block,
    static_depth,
)
from rhytid._outcome import LEVELS
from rhytid._parameters import Parameters, default_parameters
from rhytid._plan import Patient, Plan
from rhytid.anatomy import reference_face
from rhytid.errors import PlanError
from rhytid.model import (
    REST,
    SIDES,
    _rim_distance,
    _treated_areas,
    brow_height_mm,
    expression_activation,
    injection_depth,
    lid_lift_mm,
    relaxation_grid,
    static_ease,
    tone_factor,
)
from rhytid.trial._calibrate import get_free, set_free
from rhytid.trial._engine import draw_technique, face_model
from rhytid.trial._population import lognormal
from rhytid.trial._posterior import Laplace, load_posterior

__all__ = ["VARIATIONS", "PlanDraws", "plan_draws", "simulate_with_uncertainty"]

Array = NDArray[np.float64]
Variation = Literal["parameters", "patients"]
VARIATIONS: tuple[Variation, Variation] = ("parameters", "patients")
_MIN_DEPTH_MM = 0.3  # as the trial engine: a deposit is at least this deep
_BATCH = 32  # draws per batch of point-by-point blocks: (32, T, P) float64
_BROW_POINTS = ("medial", "peak", "lateral")
_DRAW_STREAM = 0x5EED  # the posterior draws of rhytid trial --uncertainty use the same stream
_PATIENT_STREAM = 0x9A71


@dataclass(frozen=True)
class PlanDraws:
    """The model's outputs for each draw (first axis ``M``; visits ``T``; ``days`` the plan's)."""

    days: Array  # (T,)
    areas: tuple[str, ...]
    grades: dict[str, NDArray[np.intp]]  # area -> (M, T, 2): rest, max
    depths: dict[str, Array]  # area -> (M, T, 2) µm
    muscles: tuple[str, ...]
    block: Array  # (M, T, n_muscles)
    brow: dict[str, Array]  # brow point -> (M, T) mm change at rest
    droop: dict[str, Array]  # side -> (M, T) mm, >= 0
    #: risk key (kind, side, muscle) -> (M,) level index: 0 none, 1 low, 2 moderate, 3 high
    risks: dict[tuple[str, str | None, str | None], NDArray[np.intp]]

    @property
    def n(self) -> int:
        return int(next(iter(self.grades.values())).shape[0])


def _levels(v: Array, thresholds: tuple[float, float, float]) -> NDArray[np.intp]:
    """Level index (0 none .. 3 high): the number of ``thresholds`` ``v`` reaches (as ``_risks``)."""
    t = np.asarray(thresholds, dtype=float)
    return np.asarray((np.asarray(v)[..., None] >= t).sum(axis=-1), dtype=np.intp)


def plan_draws(
    plan: Plan,
    thetas: list[dict[str, float]],
    *,
    variation: Variation = "parameters",
    seed: int = 1,
    params: Parameters | None = None,
    patient: Patient | None = None,
) -> PlanDraws:
    """The plan under each parameter set of ``thetas`` (module docstring); ``variation="patients"``
    also draws one patient and one technique realisation per set from ``seed``."""
    if variation not in VARIATIONS:
        raise PlanError(f"variation must be one of {' | '.join(VARIATIONS)}, got {variation!r}")
    tp0 = params or default_parameters()
    p = tp0.tissue
    patient = patient or plan.patient or Patient()
    face = reference_face(patient.sex)
    product0 = tp0.product(plan.product.name)
    injections = plan.resolve(face, product0)
    m = len(thetas)
    free = get_free(tp0)
    drawn = [set_free(tp0, free | t) for t in thetas]
    areas_all = tuple(face.areas)
    fm = face_model(patient.sex, areas_all, tp0.area_cells_max, tp0.quadrature_stride, p)
    engine = fm.engine
    n_inj = len(injections)

    # --- the patients: the plan's, or patients like it -----------------------------------------
    one = np.ones(m)
    strength = patient.muscle_strength * one
    tone = tone_factor(engine, patient) * one
    thickness, stiffness, etch, sens, recovery = one.copy(), one.copy(), one.copy(), one.copy(), one.copy()
    dx = np.zeros((m, n_inj))
    dy, dz, vol = dx.copy(), dx.copy(), np.ones((m, n_inj))
    if variation == "patients":
        pp = tp0.population
        rng = np.random.default_rng(np.random.SeedSequence([seed, _PATIENT_STREAM]))
        strength = strength * lognormal(rng, pp.muscle_strength_cv, m)
        thickness = lognormal(rng, pp.skin_thickness_cv, m)
        stiffness = lognormal(rng, pp.skin_stiffness_cv, m)
        etch = lognormal(rng, pp.static_etch_cv, m)
        z = rng.standard_normal(m)  # sensitivity: each draw's own cv, common normal deviates
        cv = np.array([d.population.toxin_sensitivity_cv for d in drawn])
        sens = np.exp(np.sqrt(np.log1p(cv**2)) * z)
        recovery = lognormal(rng, pp.recovery_rate_cv, m)
        own_tone = np.minimum(lognormal(rng, pp.frontalis_tone_cv, m), pp.frontalis_tone_max_factor)
        if patient.frontalis_tone is None:
            tone = own_tone
        tech = draw_technique(rng, m, n_inj, pp)
        dx, dy, dz, vol = tech.dx, tech.dy, tech.dz, tech.volume_factor

    # --- each draw's parameters as per-patient factors of the kernels ----------------------------
    ec50 = np.array([d.ec50_u_per_mm3 for d in drawn])
    sens_eff = sens * ec50 / tp0.ec50_u_per_mm3  # block = H(sum a q / (sigma EC50))
    kr = recovery * np.array([d.product(product0.name).recovery_rate_per_day for d in drawn])
    etch_rate = etch * np.array([d.static_etch_per_year for d in drawn])
    thresholds = np.array([d.grade_thresholds_um for d in drawn])  # (M, 3)
    male = patient.sex == "male"
    stiff = (1.0 + p.modulus_age_slope_per_year * (patient.age - p.reference_age)) * stiffness
    scale = strength * (p.male_strength_factor if male else 1.0) / stiff
    years = max((patient.age - p.static_onset_age) * (p.male_static_factor if male else 1.0), 0.0)

    # --- uptake of each draw at the trial's nerve-ending points: (M, I, P) --------------------------
    xy0 = np.array([[inj.x_mm, inj.y_mm] for inj in injections], dtype=float)
    units = np.array([inj.units * product0.ona_equivalent_per_unit for inj in injections])
    vol0 = np.array([inj.volume_ml for inj in injections])
    inj_day = np.array([inj.day for inj in injections], dtype=float)
    points = fm.points
    uptake = np.empty((m, n_inj, len(points.xy)))
    for i, d in enumerate(drawn):
        depth0 = np.array([injection_depth(face, inj, d.spread) for inj in injections])
        xy = (xy0 + np.stack([dx[i], dy[i]], axis=1))[None]
        depth = np.maximum(depth0 + dz[i], _MIN_DEPTH_MM)[None] if variation == "patients" else depth0[None]
        uptake[i] = injection_uptake(
            xy, depth, units, (vol0 * vol[i])[None], inj_day, points, d.spread, d.binding_capacity_u_per_mm3
        )[0]

    # --- blocks on the plan's days (row 0: before any treatment) and on the relaxation grid ------
    days = np.asarray(plan.simulation.days, dtype=float)
    grid = relaxation_grid(float(days.max()), p)
    times = np.concatenate([[-1.0], days, grid])
    n_t = len(days) + 1
    seg = np.empty((m, len(times), fm.weights.shape[1]))
    for lo in range(0, m, _BATCH):
        sl = slice(lo, lo + _BATCH)
        kin = kinetics(
            np.broadcast_to(times, (len(range(m)[sl]), len(times))), inj_day, product0.onset_days, kr[sl]
        )
        seg[sl] = point_block(uptake[sl], kin, sens_eff[sl], tp0.dose) @ fm.weights
    seg_days = seg[:, :n_t]
    muscle_grid = seg[:, n_t:] @ engine.aggregate  # (M, G, n_muscles)

    # --- areas: depth at rest and at the area's expression, graded with each draw's thresholds ---
    skin = engine.basis.skin_rows
    n_days = len(days)
    flat = seg_days[:, 1:].reshape(m * n_days, -1)
    tone_rep = np.repeat(tone, n_days)
    scale_rep = np.repeat(scale, n_days)
    grades: dict[str, NDArray[np.intp]] = {}
    depths: dict[str, Array] = {}
    for area in fm.areas:
        ease = static_ease(p, area.target_index, grid, muscle_grid, days)  # (M, T)
        h, ec, e0 = patient_buckling(area, thickness, stiff)
        static = static_depth(area, scale, tone, h, ec, e0, etch_rate * years)
        out = np.empty((m, n_days, 2))
        for k, expr in enumerate((REST, area.expression)):
            act = expression_activation(engine, flat, expr, 1.0, tone_rep)[:, skin].astype(np.float32)
            dep = kernel_area_depth(
                area,
                act,
                scale_rep,
                np.repeat(h, n_days),
                np.repeat(ec, n_days),
                np.repeat(e0, n_days),
                np.repeat(static, n_days, axis=0),
                ease.reshape(-1),
                p.depth_percentile,
            )
            out[:, :, k] = dep.reshape(m, n_days)
        depths[area.name] = out
        grades[area.name] = np.asarray((out[..., None] >= thresholds[:, None, None, :]).sum(axis=-1))

    # --- brow, lid and block on the plan's days ----------------------------------------------------
    n_all = seg_days.shape[1]
    heights = brow_height_mm(
        engine, seg_days.reshape(m * n_all, -1), np.repeat(scale, n_all), np.repeat(tone, n_all)
    ).reshape(m, n_all, -1)
    brow = {k: heights[:, 1:, j] - heights[:, :1, j] for j, k in enumerate(engine.brow_uy)}
    lift = lid_lift_mm(engine, seg_days.reshape(m * n_all, -1), p).reshape(m, n_all, 2)
    droop = {s: np.maximum(lift[:, :1, i] - lift[:, 1:, i], 0.0) for i, s in enumerate(SIDES)}
    block = seg_days[:, 1:] @ engine.aggregate  # (M, T, n_muscles)

    # --- risks: the rules of rhytid.model._risks, for every draw at once ----------------------------
    risks: dict[tuple[str, str | None, str | None], NDArray[np.intp]] = {}
    floor = LEVELS.index(p.risk_below_rim_level) + 1
    for s in SIDES:
        on_side = points.behind_septum & ((points.xy[:, 0] > 0) if s == "l" else (points.xy[:, 0] < 0))
        share = uptake[:, :, on_side].sum(axis=2)  # (M, I)
        reach = np.any(share > 0, axis=1)
        lv = _levels(droop[s].max(axis=1), p.risk_eyelid_droop_mm)
        below = np.array([_rim_distance(face, inj.x_mm, inj.y_mm, s) < 0 for inj in injections])
        lifted = np.any((share > 0) & below[None, :], axis=1)
        lv = np.where(lifted & (lv < floor), floor, lv)
        risks[("eyelid_ptosis", s, None)] = np.where(reach, lv, 0)
    for s in SIDES:
        drop = np.max([-brow[f"{k}_{s}"].min(axis=1) for k in _BROW_POINTS], axis=0)
        risks[("brow_ptosis", s, None)] = _levels(drop, p.risk_brow_drop_mm)
    diffs = [np.abs(brow[f"{k}_l"] - brow[f"{k}_r"]).max(axis=1) for k in _BROW_POINTS]
    diffs.append(np.abs(droop["l"] - droop["r"]).max(axis=1))
    thr = p.risk_asymmetry_mm
    risks[("asymmetry", None, None)] = _levels(np.max(diffs, axis=0), (thr, 2 * thr, 3 * thr))
    targeted = {t for a in _treated_areas(face, injections) for t in face.areas[a].targets}
    peak = block.max(axis=1)
    for j, name in enumerate(engine.muscles):
        mus = face.muscles[name]
        if name in targeted or mus.behind_septum:
            continue
        lv = _levels(peak[:, j], p.risk_unintended_block)
        if np.any(lv > 0):
            risks[("unintended_muscle", mus.side, name)] = lv
    return PlanDraws(
        days=days,
        areas=tuple(a.name for a in fm.areas),
        grades=grades,
        depths=depths,
        muscles=tuple(engine.muscles),
        block=block,
        brow=brow,
        droop=droop,
        risks=risks,
    )


def _pi90(values: Array, nd: int) -> list[float]:
    lo, hi = np.percentile(values, [5.0, 95.0])
    return [float(round(lo, nd)), float(round(hi, nd))]


def grade_probabilities(grades: NDArray[np.intp]) -> Array:
    """Share of draws at each grade 0..3 along the first axis: ``(..., 4)``."""
    return np.stack([(grades == g).mean(axis=0) for g in range(4)], axis=-1)


def _risk_entry(key: tuple[str, str | None, str | None], lv: NDArray[np.intp]) -> dict[str, Any]:
    kind, side, muscle = key
    out: dict[str, Any] = {"kind": kind, "side": side}
    if muscle is not None:
        out["muscle"] = muscle
    out["probability"] = round(float(np.mean(lv > 0)), 4)
    out["level_probabilities"] = {
        name: round(float(np.mean(lv == k + 1)), 4) for k, name in enumerate(LEVELS)
    }
    return out


def _muscle_of(detail: str) -> str | None:
    return detail.split(" ", 1)[0] if detail else None


def simulate_with_uncertainty(
    plan: Plan,
    *,
    draws: int = 400,
    seed: int = 1,
    variation: Variation = "parameters",
    posterior: Laplace | None = None,
    params: Parameters | None = None,
) -> dict[str, Any]:
    """``rhytid simulate --json`` of ``plan`` with grade and risk probabilities (module docstring)."""
    import rhytid

    if not 1 <= draws <= 100_000:
        raise PlanError(f"draws must be between 1 and 100000, got {draws}")
    if variation not in VARIATIONS:
        raise PlanError(f"variation must be one of {' | '.join(VARIATIONS)}, got {variation!r}")
    tp0 = params or default_parameters()
    post = posterior or load_posterior()
    rng = np.random.default_rng(np.random.SeedSequence([seed, _DRAW_STREAM]))
    thetas = post.sample(rng, draws)
    res = plan_draws(plan, thetas, variation=variation, seed=seed, params=tp0)
    # the reduced-order engine at the fitted parameters, for the plan's patient as given: how
    # often it grades as the exact run of rhytid.simulate does
    at_fit = plan_draws(plan, [{n: post.theta[n] for n in post.names}], params=tp0)
    central = rhytid.simulate(plan, params=tp0)
    out = copy.deepcopy(central.to_dict())

    agree, total = 0, 0
    for t, visit in enumerate(out["timeline"]):
        for name, state in visit["areas"].items():
            g = res.grades[name][:, t]  # (M, 2)
            probs = grade_probabilities(g)
            dep = res.depths[name][:, t]
            for k, which in enumerate(("rest", "max")):
                state[which]["grade_probabilities"] = [round(float(x), 4) for x in probs[k]]
                state[which]["depth_um_pi90"] = _pi90(dep[:, k], 1)
                agree += int(at_fit.grades[name][0, t, k] == state[which]["grade"])
                total += 1
        for j, mname in enumerate(res.muscles):
            if mname in visit["muscles"]:
                visit["muscles"][mname]["block_pi90"] = _pi90(res.block[:, t, j], 3)
        visit["brow_height_change_mm_pi90"] = {k: _pi90(v[:, t], 2) for k, v in res.brow.items()}
        visit["eyelid_droop_mm_pi90"] = {s: _pi90(v[:, t], 2) for s, v in res.droop.items()}
    entries = {key: _risk_entry(key, lv) for key, lv in res.risks.items()}
    for r in out["risks"]:
        muscle = _muscle_of(r["detail"]) if r["kind"] == "unintended_muscle" else None
        e = entries.get((r["kind"], r["side"], muscle))
        r["probability"] = e["probability"] if e else 0.0
        r["level_probabilities"] = e["level_probabilities"] if e else dict.fromkeys(LEVELS, 0.0)
    out["risk_probabilities"] = [
        e for key, e in entries.items() if key[0] != "unintended_muscle" or e["probability"] > 0
    ]
    out["uncertainty"] = {
        "method": "Laplace approximation at the calibration optimum (rhytid.trial._posterior); "
        "the draws run through the trial engine's reduced-order face (rhytid.trial._plan_uncertainty)",
        "variation": variation,
        "question": (
            "how sure the model is for this patient and this plan as given (parameter uncertainty)"
            if variation == "parameters"
            else "what happens to a patient like this (parameter uncertainty, patient-to-patient "
            "variation of the population and the scatter of injection technique)"
        ),
        "draws": draws,
        "seed": seed,
        "interval": 0.9,
        "parameters": list(post.names),
        "rater_noise": False,
        "reduced_grade_agreement": round(agree / max(total, 1), 4),
    }
    return out
