"""``simulate(plan, patient) -> Outcome``: the whole causal chain, pure and deterministic.

1. **Anatomy**: the patient's face (reference face of their sex) and its basis of unit skin
   fields (:mod:`rhytid.tissue`), built once and cached.
2. **Toxin**: each injection's uptake at the nerve-ending quadrature points of every muscle
   (:mod:`rhytid.toxin`: bolus + screened diffusion, septum barrier), its internalisation and
   recovery over time, summed over injections and treatments, then the saturating block.
3. **Muscles**: endplate-weighted block per motor region and per muscle; the effective
   activation of each expression is activation × strength × (1 − block) per motor region, the
   frontalis's share at rest being the patient's habitual tone (:func:`tone_factor`). Toxin
   removes tone only where it blocks; no untreated region stands in for a blocked one.
4. **Skin**: strain fields by superposition, compressive strain → buckling depth, plus the
   static (etched) depth, which eases over months while the area's folding muscles are blocked
   (:func:`static_ease`); a robust depth statistic per area → Facial Wrinkle Scale grade, each
   area at its own expression (crow's feet at the smile, with the cheek's zygomaticus push).
5. **Brow and eyelid**: the brow at rest is the balance of elevator and depressor tone on the
   skin sheet (:func:`brow_height_mm`), reported relative to before treatment; the lid lift is
   the levator's share of its excursion (:func:`lid_lift_mm`), its loss the droop. Risks come
   from these: eyelid ptosis from droop (visibility thresholds; a point below the rim is at
   least moderate), brow ptosis from brow drop, asymmetry from left-right differences,
   unintended muscles from block of muscles no treated area targets.

Every step is a batch-first kernel of :mod:`rhytid._kernels` called for a batch of one patient;
the trial engine (:mod:`rhytid.trial`) calls the same kernels for many, and with every cell and
point (``exact``) agrees with ``simulate`` to float rounding. ``rhytid motion``
(:mod:`rhytid._motion`), the report's maps and the planner's field of effect
(:func:`field_of_effect`) use the same uptake and block functions. Every value comes from one
:class:`rhytid.Parameters` (``params=``; ``None``: :func:`rhytid.default_parameters`).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

from rhytid._kernels import (
    NEGLIGIBLE_BLOCK,
    AreaCells,
    Points,
    area_depth,
    cell_depth_rows,
    injection_uptake,
    kinetics,
    patient_buckling,
    point_block,
    static_depth,
)
from rhytid._outcome import LEVELS, AreaState, Level, Outcome, Risk, Visit
from rhytid._parameters import Parameters, default_parameters
from rhytid._plan import Patient, Plan, ResolvedInjection
from rhytid._version import __version__
from rhytid.anatomy import Area, Face, Muscle, reference_face
from rhytid.anatomy._geometry import point_in_polygon
from rhytid.errors import PlanError
from rhytid.tissue import (
    EXPRESSIONS,
    Basis,
    Buckling,
    Raster,
    TissueParameters,
    activation_matrix,
    buckling,
    compression,
    compression_direction,
    fold_relaxation,
    get_basis,
    grade_from_depth,
)
from rhytid.toxin import (
    Product,
    SpreadParameters,
    active_fraction,
    block_fraction,
)

__all__ = [
    "HABITUAL",
    "REST",
    "BlockState",
    "Engine",
    "FieldMaps",
    "area_buckling",
    "block_state",
    "brow_height_mm",
    "eased_share",
    "effective_activation",
    "expression_activation",
    "face_engine",
    "field_maps",
    "field_of_effect",
    "grid_muscle_block",
    "injection_depth",
    "lid_lift_mm",
    "map_layers",
    "relaxation_grid",
    "simulate",
    "static_ease",
    "tone_factor",
    "uptake_at_points",
]

Array = NDArray[np.float64]
BROW_POINTS = ("medial", "peak", "lateral")
SIDES = ("l", "r")
#: index of the resting expression in :data:`rhytid.tissue.EXPRESSIONS`
REST = EXPRESSIONS.index("rest")
#: the expressions repeated every day, whose folds etch static lines over the years
HABITUAL = [EXPRESSIONS.index(e) for e in ("frown", "raise_brows", "squint", "smile")]
ONE = np.ones(1)  # a batch of one patient


class Engine:
    """Everything about a face that does not depend on the plan, precomputed once."""

    def __init__(self, face: Face, spacing: float | None, p: TissueParameters) -> None:
        self.face = face
        self.basis: Basis = get_basis(face, spacing, p)
        b = self.basis
        #: the mechanics this engine was built with (:meth:`TissueParameters.mechanics_key`)
        self.mechanics = p.mechanics_key()
        self.activation = activation_matrix(b.segments, p)
        self.muscles = list(face.muscles)
        n_seg = len(b.segments)
        agg = np.zeros((n_seg, len(self.muscles)))
        for j, seg in enumerate(b.segments):
            agg[j, self.muscles.index(seg.muscle)] = b.segment_mass[j]
        self.aggregate = agg / agg.sum(axis=0, keepdims=True)
        self.brow_uy = {
            f"{k}_{s}": b.sample(*face.landmarks[f"brow_{k}_{s}"])[:, 1] for s in SIDES for k in BROW_POINTS
        }
        self.frontalis = {s: np.array(b.segment_index(f"frontalis_{s}"), dtype=np.intp) for s in SIDES}
        self.skin_mask = np.zeros(n_seg, dtype=bool)
        self.skin_mask[b.skin_rows] = True
        # the frontalis activity that is the patient's habitual tone: at rest, and in every
        # expression that does not drive the frontalis itself
        front = np.concatenate(list(self.frontalis.values()))
        self.reference_tone = float(p.expressions["rest"]["frontalis"])
        self.tone_rows = np.zeros_like(self.activation)
        for e, name in enumerate(EXPRESSIONS):
            if name == "rest" or "frontalis" not in p.expressions[name]:
                self.tone_rows[e, front] = self.activation[e, front]
        self.levator = np.array([b.segment_index(f"levator_palpebrae_{s}")[0] for s in SIDES], dtype=np.intp)
        # the fold-relaxation history needs only muscle blocks of a slow quantity: every 2nd
        # nerve-ending point in x and y (as the trial engine), weights renormalised per segment
        q = p.quadrature_mm
        ix = np.rint((b.quad_xy[:, 0] - b.quad_xy[:, 0].min()) / q).astype(np.intp)
        iy = np.rint((b.quad_xy[:, 1] - b.quad_xy[:, 1].min()) / q).astype(np.intp)
        keep = np.flatnonzero((ix % 2 == 0) & (iy % 2 == 0))
        total = b.quad_weights[keep].sum(axis=0)
        if np.any(total <= 0):
            keep, total = np.arange(len(b.quad_xy)), b.quad_weights.sum(axis=0)
        self.ease_points = keep
        self.ease_weights = (b.quad_weights[keep] / total[None, :]) @ self.aggregate
        self.points = Points(b.quad_xy, b.quad_depth_mm, b.quad_behind_septum)
        #: the endplate weights ``(n_seg, P)`` as a sparse matrix (a point serves few segments)
        self.quad_weights_t = csr_matrix(b.quad_weights.T)
        self.areas: list[AreaCells] = [self._area(a, p) for a in face.areas.values()]
        self._raster_regions: list[tuple[AreaCells, int | None]] | None = None

    def _area(self, area: Area, p: TissueParameters) -> AreaCells:
        """Every raster cell of a graded area, its unit fields and habitual strains (plan-independent)."""
        x, y = self.basis.raster.grid()
        cells = np.flatnonzero(point_in_polygon(x, y, area.polygon).ravel())
        return self._cell_set(area.name, area.expression, area.skin_region, area.targets, cells, p)

    def raster_regions(self, p: TissueParameters) -> list[tuple[AreaCells, int | None]]:
        """The whole raster as cell sets, each with the index of its graded area (``None``: the
        cells of no area, forehead skin): a cell in several areas belongs to the last
        (:func:`field_maps`). Built once per engine."""
        if self._raster_regions is None:
            x, y = self.basis.raster.grid()
            owner = np.full(x.size, -1, dtype=np.intp)
            for k, area in enumerate(self.face.areas.values()):
                owner[point_in_polygon(x, y, area.polygon).ravel()] = k
            regions: list[tuple[AreaCells, int | None]] = []
            for k, area in enumerate(self.face.areas.values()):
                cells = np.flatnonzero(owner == k)
                if len(cells):
                    regions.append(
                        (self._cell_set(area.name, area.expression, area.skin_region, (), cells, p), k)
                    )
            rest = np.flatnonzero(owner < 0)
            if len(rest):
                regions.append((self._cell_set("rest", "rest", "forehead", (), rest, p), None))
            self._raster_regions = regions
        return self._raster_regions

    def _cell_set(
        self,
        name: str,
        expression: str,
        skin_region: str,
        targets: tuple[str, ...],
        cells: NDArray[np.intp],
        p: TissueParameters,
    ) -> AreaCells:
        """The raster ``cells`` with their unit fields and habitual strains (plan-independent)."""
        b = self.basis
        skin = b.skin_rows
        flat = b.fields.reshape(len(skin), 5, -1)
        f = np.ascontiguousarray(flat[:, 2:5, cells]).reshape(len(skin), -1)
        hab = self.activation[HABITUAL][:, skin].astype(np.float32) @ f
        hab_tone = self.tone_rows[HABITUAL][:, skin].astype(np.float32) @ f
        bk = _buckling(p, skin_region, self.face.sex, 1.0)
        return AreaCells(
            name=name,
            expression=EXPRESSIONS.index(expression),
            skin_region=skin_region,
            targets=targets,
            target_index=np.array([self.muscles.index(m) for m in targets], dtype=np.intp),
            cells=cells,
            fields=f,
            habitual=np.ascontiguousarray(hab),
            habitual_tone=np.ascontiguousarray(hab_tone),
            habitual_c=np.ascontiguousarray(_compression3(hab)),
            h_ref=bk.thickness_mm,
            critical_ref=bk.critical_strain,
            prestrain_ref=bk.prestrain,
        )


_ENGINES: dict[tuple[str, float | None, str], Engine] = {}


def face_engine(face_key: str, spacing: float | None, p: TissueParameters | None = None) -> Engine:
    """The (cached) :class:`Engine` of a reference face at a raster ``spacing`` (mm; ``None``: default)
    with the mechanics of ``p`` (default: :func:`rhytid.default_parameters`)."""
    p = p or default_parameters().tissue
    key = (face_key, spacing, p.mechanics_key())
    engine = _ENGINES.get(key)
    if engine is None:
        face = reference_face("male" if face_key == "male" else "female")
        engine = _ENGINES[key] = Engine(face, spacing, p)
    return engine


@functools.lru_cache(maxsize=4096)
def _reference_muscles_at(sex: str, x: float, y: float) -> tuple[str, ...]:
    face = reference_face("male" if sex == "male" else "female")
    return tuple(m.name for m in face.muscles_at(x, y))


def _muscles_at(face: Face, x: float, y: float) -> list[Muscle]:
    """:meth:`Face.muscles_at`, remembered for the reference faces (plans reuse their points)."""
    if face is reference_face(face.sex):
        return [face.muscles[n] for n in _reference_muscles_at(face.sex, float(x), float(y))]
    return face.muscles_at(x, y)


@functools.lru_cache(maxsize=4096)
def _reference_rim_distance(sex: str, x: float, y: float, side: str) -> float:
    return reference_face("male" if sex == "male" else "female").distance_to_orbital_rim(x, y, side)


def _rim_distance(face: Face, x: float, y: float, side: str) -> float:
    """:meth:`Face.distance_to_orbital_rim`, remembered for the reference faces."""
    if face is reference_face(face.sex):
        return _reference_rim_distance(face.sex, float(x), float(y), side)
    return face.distance_to_orbital_rim(x, y, side)


def injection_depth(face: Face, inj: ResolvedInjection, spread: SpreadParameters | None = None) -> float:
    """Depth (mm) the injection deposits at: the deepest muscle below an intramuscular point, else
    the depth its layer stands for (``toxins.yaml spread.injection_depth_mm``; ``spread``:
    default :func:`rhytid.default_parameters`)."""
    layers = (spread or default_parameters().spread).injection_depth_mm
    if inj.depth != "intramuscular":
        return layers[inj.depth]
    below = [m for m in _muscles_at(face, inj.x_mm, inj.y_mm) if not m.behind_septum]
    if not below:
        return layers["no_muscle_below"]
    return max(m.depth_mm for m in below)


def uptake_at_points(
    face: Face,
    injections: list[ResolvedInjection],
    product: Product,
    xy: Array,
    depth_mm: Array,
    behind_septum: NDArray[np.bool_],
    params: Parameters | None = None,
) -> Array:
    """Bound uptake density (ona-equivalent U/mm³) of each injection at each point: ``(n_inj, P)``.

    The injections given on one day share the binding capacity of the nerve endings: at each
    point their summed uptake :math:`Q` binds as :func:`~rhytid.toxin.bound_uptake`, and each
    injection keeps its share :math:`q_i / Q` of what is bound.
    """
    params = params or default_parameters()
    q = injection_uptake(
        *_injection_arrays(face, injections, product, params.spread),
        Points(
            np.asarray(xy, dtype=float),
            np.asarray(depth_mm, dtype=float),
            np.asarray(behind_septum, dtype=bool),
        ),
        params.spread,
        params.dose.binding_capacity_u_per_mm3,
    )
    return np.asarray(q[0])


def _injection_arrays(
    face: Face, injections: list[ResolvedInjection], product: Product, spread: SpreadParameters
) -> tuple[Array, Array, Array, Array, Array]:
    """The injections as :func:`rhytid._kernels.injection_uptake` takes them (one realisation):
    positions ``(1, I, 2)``, deposit depths ``(1, I)``, ona-equivalent units ``(I,)``, volumes
    ``(1, I)``, days ``(I,)``."""
    xy = np.array([[[inj.x_mm, inj.y_mm] for inj in injections]], dtype=float)
    depth = np.array([[injection_depth(face, inj, spread) for inj in injections]])
    units = np.array([inj.units * product.ona_equivalent_per_unit for inj in injections])
    volume = np.array([[inj.volume_ml for inj in injections]])
    day = np.array([inj.day for inj in injections], dtype=float)
    return xy, depth, units, volume, day


@dataclass(frozen=True)
class BlockState:
    """Block over time: per segment ``(n_days, n_seg)`` and per muscle ``(n_days, n_muscles)``."""

    days: Array
    segment: Array
    muscle: Array
    muscles: list[str]
    uptake: Array  # (n_inj, P) at the quadrature points

    def of(self, muscle: str) -> Array:
        return self.muscle[:, self.muscles.index(muscle)]


def block_state(
    engine: Engine,
    injections: list[ResolvedInjection],
    product: Product,
    days: Array,
    params: Parameters | None = None,
) -> BlockState:
    """Endplate-weighted block of every segment and muscle on each day (module docstring)."""
    params = params or default_parameters()
    b = engine.basis
    q = uptake_at_points(
        engine.face, injections, product, b.quad_xy, b.quad_depth_mm, b.quad_behind_septum, params
    )
    blocked = _block_on(q, injections, product, days, params)
    seg = np.asarray((engine.quad_weights_t @ blocked.T).T)
    return BlockState(days, seg, seg @ engine.aggregate, engine.muscles, q)


def effective_activation(
    engine: Engine, seg_block: Array, strength: float | Array, tone: float | Array = 1.0
) -> Array:
    """``(M, n_expr, n_seg)`` activation × strength × (1 − block) for segment blocks ``(M, n_seg)``.

    ``tone`` multiplies the reference habitual frontalis tone (at rest and in the expressions that
    do not drive the frontalis): a scalar or one value per row ``(M,)``; ``strength`` likewise.
    Toxin removes activity only where it blocks: each motor region keeps its own share, and no
    untreated region stands in for a blocked one (no compensation gain).
    """
    t = np.asarray(tone, dtype=float).reshape(-1, 1, 1)
    act = (engine.activation[None, :, :] + (t - 1.0) * engine.tone_rows[None, :, :]) * (
        1.0 - seg_block[:, None, :]
    )
    return np.asarray(act * np.asarray(strength, dtype=float).reshape(-1, 1, 1))


def expression_activation(
    engine: Engine,
    seg_block: Array,
    expression: int,
    strength: float | Array = 1.0,
    tone: float | Array = 1.0,
) -> Array:
    """``(M, n_seg)``: :func:`effective_activation` of one expression only (the same arithmetic)."""
    t = np.asarray(tone, dtype=float).reshape(-1, 1)
    act = (engine.activation[expression][None, :] + (t - 1.0) * engine.tone_rows[expression][None, :]) * (
        1.0 - seg_block
    )
    return np.asarray(act * np.asarray(strength, dtype=float).reshape(-1, 1))


def tone_factor(engine: Engine, patient: Patient) -> float:
    """The patient's habitual frontalis tone relative to the reference tone (1: the median)."""
    if patient.frontalis_tone is None:
        return 1.0
    return patient.frontalis_tone / engine.reference_tone


def brow_rest_weights(engine: Engine) -> tuple[Array, Array]:
    r"""The linear form of :func:`brow_height_mm`: brow displacement at rest (mm per unit
    strength, up positive) of each segment's resting activation, :math:`W^A_{ks} = A_s u_{ks}`, and
    of its tone row, :math:`W^T_{ks} = T_s u_{ks}`, so that a block :math:`b` lowers brow point
    :math:`k` by :math:`s \sum_s b_s (W^A_{ks} + (\tau - 1) W^T_{ks})`. ``(6, n_seg)`` each, brow
    points in the order of ``engine.brow_uy``, zero off the skin rows. :math:`A` and :math:`T` are
    read from :func:`expression_activation` (no block; tone 1 and 2)."""
    n_seg = len(engine.basis.segments)
    skin = engine.basis.skin_rows
    zero = np.zeros((1, n_seg))
    rest_a = expression_activation(engine, zero, REST, 1.0, 1.0)[0]
    rest_t = expression_activation(engine, zero, REST, 1.0, 2.0)[0] - rest_a
    uy = np.zeros((len(engine.brow_uy), n_seg))
    uy[:, skin] = np.array(list(engine.brow_uy.values()), dtype=np.float64)
    return rest_a[None, :] * uy, rest_t[None, :] * uy


def brow_height_mm(engine: Engine, seg_block: Array, strength: float | Array, tone: float | Array) -> Array:
    """Brow displacement at rest (mm, up positive) of each brow point: ``(M, 6)`` in the order of
    ``engine.brow_uy``, for segment blocks ``(M, n_seg)``.

    The brow's rest position is the balance of the resting tone of the elevator (frontalis) and
    the depressors against the skin's support (the sheet on its foundation); the sheet is linear,
    so gravity, a constant load, sets the absolute height and cancels in every change.
    """
    rest = expression_activation(engine, seg_block, REST, strength, tone)[:, engine.basis.skin_rows]
    uy = np.array(list(engine.brow_uy.values()), dtype=np.float64)  # (6, n_skin)
    return np.asarray(rest @ uy.T)


def lid_lift_mm(engine: Engine, seg_block: Array, p: TissueParameters | None = None) -> Array:
    r"""Lift of each upper lid by the levator at rest (mm): ``(M, 2)`` (sides l, r).

    The lid margin rests where the levator's force balances the lid's support; over its range the
    lift is linear in the levator's activity: :math:`h = E\,a_{rest}\,(1 - b)` with the levator
    excursion :math:`E` (``eyelid.levator_excursion_mm``), its resting activity in primary gaze
    :math:`a_{rest}` and its block :math:`b`. Müller's muscle (sympathetic, not blocked by
    BoNT-A) adds a constant share that cancels in the droop.
    """
    p = p or default_parameters().tissue
    return np.asarray(levator_lift_mm(engine, p)[None, :] * (1.0 - seg_block[:, engine.levator]))


def levator_lift_mm(engine: Engine, p: TissueParameters) -> Array:
    r"""Lift of each upper lid by its unblocked levator at rest, :math:`E\,a_{rest}` (mm, sides
    l, r): the droop per unit of the levator's block (:func:`lid_lift_mm`)."""
    return np.asarray(p.levator_excursion_mm * engine.activation[REST, engine.levator])


def _compression3(strain: NDArray[np.float32]) -> NDArray[np.float32]:
    """Compressive strain ``(H, n)`` of strains ``(H, 3 n)`` laid out as exx, eyy, exy blocks."""
    s3 = strain.reshape(strain.shape[0], 3, -1)
    return np.asarray(compression(s3[:, 0], s3[:, 1], s3[:, 2]), dtype=np.float32)


def _patient_scales(patient: Patient, p: TissueParameters) -> tuple[float, float]:
    """(activation scale, dermis modulus factor) of a patient relative to the reference face."""
    stiffness = 1.0 + p.modulus_age_slope_per_year * (patient.age - p.reference_age)
    strength = patient.muscle_strength * (p.male_strength_factor if patient.sex == "male" else 1.0)
    return strength / stiffness, stiffness


def area_buckling(region: str, patient: Patient, stiffness: float, p: TissueParameters) -> Buckling:
    """Buckling parameters of the skin of ``region`` for this patient (dermis modulus × ``stiffness``)."""
    return _buckling(p, region, patient.sex, stiffness)


def _buckling(p: TissueParameters, region: str, sex: str, stiffness: float) -> Buckling:
    return buckling(
        p.skin_thickness_mm[region][sex],
        p.dermis_modulus_mpa * stiffness,
        p.subcutis_modulus_kpa * 1e-3,
        p.poisson_ratio,
        p.prestress_kpa * 1e-3,
    )


def grid_muscle_block(
    engine: Engine,
    injections: list[ResolvedInjection],
    product: Product,
    uptake: Array,
    grid: Array,
    params: Parameters,
) -> Array:
    """Endplate-weighted block of every muscle on the days ``grid``: ``(G, n_muscles)``, from the
    uptake at the nerve-ending points (``BlockState.uptake``) on the relaxation quadrature."""
    blocked = _block_on(uptake[:, engine.ease_points], injections, product, grid, params)
    return np.asarray(blocked @ engine.ease_weights)


def _block_on(
    uptake: Array, injections: list[ResolvedInjection], product: Product, days: Array, params: Parameters
) -> Array:
    """Block ``(T, P)`` at the points of ``uptake`` ``(I, P)`` on ``days``: the batch-of-one
    :func:`rhytid._kernels.point_block` of :func:`rhytid._kernels.kinetics`."""
    t_inj = np.array([inj.day for inj in injections], dtype=float)
    kin = kinetics(
        np.asarray(days, dtype=float)[None, :], t_inj, product.onset_days, ONE * product.recovery_rate_per_day
    )
    if len(t_inj) and np.all(t_inj == t_inj[0]):
        return _one_day_block(uptake, kin[0, :, 0], params)
    return np.asarray(point_block(uptake[None], kin, ONE, params.dose)[0])


def _one_day_block(uptake: Array, kin: Array, params: Parameters) -> Array:
    r""":func:`rhytid._kernels.point_block` of one patient when every injection is given on one
    day (the same active fraction :math:`a_t` for all): :math:`x_{tp} = a_t Q_p` with
    :math:`Q_p = \sum_i q_{ip}`, so :math:`x^n = a_t^n\,Q_p^n` takes one power per point and one
    per day instead of one per point and day (equal to rounding); points whose uptake cannot
    block (:data:`~rhytid._kernels.NEGLIGIBLE_BLOCK`) stay at 0 as there."""
    dose = params.dose
    q = uptake.sum(axis=0)
    x0 = (NEGLIGIBLE_BLOCK / dose.max_block) ** (1.0 / dose.hill)
    cols = np.flatnonzero(q > x0 * dose.ec50_u_per_mm3)
    every = len(cols) == len(q)
    out = np.empty((len(kin), len(q))) if every else np.zeros((len(kin), len(q)))
    if len(cols):
        qn = (np.maximum(q if every else q[cols], 0.0) / dose.ec50_u_per_mm3) ** dose.hill
        an = np.maximum(kin, 0.0) ** dose.hill
        xn = np.multiply(an[:, None], qn[None, :])
        num = np.multiply(dose.max_block, xn, out=out if every else None)
        xn += 1.0
        np.divide(num, xn, out=num)  # max_block x^n / (1 + x^n), in place
        if not every:
            out[:, cols] = num
    return out


def relaxation_grid(last_day: float, p: TissueParameters) -> Array:
    """The uniform day grid (from day 0, ``wrinkles.static_ease_step_days``) on which the fold's
    relaxation history is integrated, covering ``last_day``."""
    step = p.static_ease_step_days
    return np.arange(0.0, max(float(last_day), 0.0) + 1.5 * step, step)


def static_ease(
    p: TissueParameters, targets: NDArray[np.intp], grid: Array, muscle_block: Array, days: Array
) -> Array:
    r"""Eased share of the etched depth on ``days`` (``(..., T)`` or ``(T,)``): ``(..., T)``.

    The fold's relaxation is the mean block of the muscles that fold the area (``targets``, columns
    of ``muscle_block`` ``(..., G, n_muscles)`` on the uniform ``grid``); its eased share
    :math:`R` is :func:`~rhytid.tissue.fold_relaxation` with :math:`\tau` = ``static_ease_tau_days``,
    and the etched depth is multiplied by :math:`1 - e_{max} R` (``static_ease_max``). Before day 0
    nothing is eased.
    """
    return eased_share(p, grid, muscle_block[..., targets].mean(axis=-1), days)


def eased_share(p: TissueParameters, grid: Array, relaxed: Array, days: Array) -> Array:
    """:func:`static_ease` of the fold's relaxation ``relaxed`` ``(..., G)`` (0..1) on ``grid``."""
    eased = fold_relaxation(grid, relaxed, p.static_ease_tau_days)
    step = grid[1] - grid[0]
    q = np.clip(np.asarray(days, dtype=float) / step, 0.0, len(grid) - 1.000001)
    k = q.astype(np.intp)
    frac = q - k
    lead = eased.shape[:-1]
    kk = np.broadcast_to(k, (*lead, k.shape[-1]))
    ff = np.broadcast_to(frac, kk.shape)
    lo = np.take_along_axis(eased, kk, axis=-1)
    hi = np.take_along_axis(eased, kk + 1, axis=-1)
    out = p.static_ease_max * (lo * (1.0 - ff) + hi * ff)
    return np.asarray(np.where(np.asarray(days) < 0, 0.0, out))


def _area_depths(
    engine: Engine,
    area: AreaCells,
    act: Array,
    scale: float,
    tone: float,
    stiffness: float,
    rate: float,
    ease: Array,
    p: TissueParameters,
) -> Array:
    """Depth statistic (µm) at rest and at the area's expression: ``(n_days, 2)``, for unit-strength
    activations ``act`` ``(n_days, n_expr, n_seg)``, the patient's activation ``scale``, frontalis
    ``tone`` factor, dermis ``stiffness`` factor and etch ``rate`` (per year × years); ``ease``
    ``(n_days,)`` is the eased share of the etched depth (:func:`static_ease`). The kernels are
    those of the trial engine (:mod:`rhytid._kernels`), for a batch of one patient."""
    h, ec, e0, static = _patient_film(area, scale, tone, stiffness, rate)
    rows = act[:, [REST, area.expression], :][:, :, engine.basis.skin_rows]
    n_days = rows.shape[0]
    depth = area_depth(
        area,
        rows.reshape(2 * n_days, -1).astype(np.float32),
        ONE * scale,
        h,
        ec,
        e0,
        static,
        np.repeat(ease, 2),
        p.depth_percentile,
    )
    return depth.reshape(n_days, 2)


#: film thickness, critical strain, pre-strain (each ``(1,)``) and static depth ``(1, n)``
_Film = tuple[Array, Array, Array, NDArray[np.float32]]


def _patient_film(area: AreaCells, scale: float, tone: float, stiffness: float, rate: float) -> _Film:
    """:func:`patient_buckling` and :func:`static_depth` of one patient on ``area``: plan-independent,
    kept per (area, patient factors) for the next simulate of the same patient (read-only)."""
    key = (id(area), float(scale), float(tone), float(stiffness), float(rate))
    hit = _FILM.get(key)
    if hit is not None and hit[0] is area:
        return hit[1]
    h, ec, e0 = patient_buckling(area, ONE, ONE * stiffness)
    film = (h, ec, e0, static_depth(area, ONE * scale, ONE * tone, h, ec, e0, ONE * rate))
    if len(_FILM) >= 256:
        _FILM.pop(next(iter(_FILM)))
    _FILM[key] = (area, film)
    return film


#: :func:`_patient_film` by (id of the area's cells, scale, tone, stiffness, rate); the cells are
#: kept with it, so an id is never reused while its entry lives
_FILM: dict[tuple[int, float, float, float, float], tuple[AreaCells, _Film]] = {}


def _risks(
    engine: Engine,
    p: TissueParameters,
    injections: list[ResolvedInjection],
    state: BlockState,
    brow: dict[str, Array],
    droop: dict[str, Array],
) -> list[Risk]:
    face = engine.face
    risks: list[Risk] = []
    days = state.days

    def level(v: float, thresholds: tuple[float, float, float]) -> Level | None:
        hit: list[Level] = [n for n, t in zip(LEVELS, thresholds, strict=True) if v >= t]
        return hit[-1] if hit else None

    levator_rows = engine.basis.quad_behind_septum
    floor = LEVELS.index(p.risk_below_rim_level)
    for s in SIDES:
        peak = float(droop[s].max())
        on_side = levator_rows & (
            (engine.basis.quad_xy[:, 0] > 0) if s == "l" else (engine.basis.quad_xy[:, 0] < 0)
        )
        share = state.uptake[:, on_side].sum(axis=1)
        if not np.any(share > 0):
            continue
        worst = int(np.argmax(share))
        inj = injections[worst]
        rim = _rim_distance(face, inj.x_mm, inj.y_mm, s)
        lv = level(peak, p.risk_eyelid_droop_mm)
        if lv is None or LEVELS.index(lv) < floor:
            below = [
                i
                for i, q in zip(injections, share, strict=True)
                if q > 0 and _rim_distance(face, i.x_mm, i.y_mm, s) < 0
            ]
            if below:
                lv, inj = LEVELS[floor], below[0]
                rim = _rim_distance(face, inj.x_mm, inj.y_mm, s)
        if lv is None:
            continue
        frac = share[injections.index(inj)] / max(share.sum(), 1e-30)
        day = days[int(np.argmax(droop[s]))]
        risks.append(
            Risk(
                "eyelid_ptosis",
                s,
                lv,
                f"injection {inj.index} lies {abs(rim):.1f} mm {'above' if rim >= 0 else 'below'} the "
                f"orbital rim and gives {frac:.0%} of the toxin reaching the levator, which is up "
                f"to {state.of(f'levator_palpebrae_{s}').max():.0%} blocked; predicted droop "
                f"{peak:.1f} mm around day {day:g}"
                + ("; below the rim the toxin lies against the septum, over the levator" if rim < 0 else ""),
                inj.index,
            )
        )
    for s in SIDES:
        drops = {k: float(-brow[f"{k}_{s}"].min()) for k in BROW_POINTS}
        point, drop = max(drops.items(), key=lambda kv: kv[1])
        lv = level(drop, p.risk_brow_drop_mm)
        if lv is not None:
            risks.append(
                Risk(
                    "brow_ptosis",
                    s,
                    lv,
                    f"{point} brow drops {drop:.1f} mm at rest (frontalis block "
                    f"{state.of(f'frontalis_{s}').max():.0%})",
                )
            )
    diffs = [(np.abs(brow[f"{k}_l"] - brow[f"{k}_r"]).max(), f"{k} brow") for k in BROW_POINTS] + [
        (np.abs(droop["l"] - droop["r"]).max(), "upper eyelid")
    ]
    diff, what = max(diffs, key=lambda d: d[0])
    thr = p.risk_asymmetry_mm
    lv = level(float(diff), (thr, 2 * thr, 3 * thr))
    if lv is not None:
        risks.append(
            Risk(
                "asymmetry",
                None,
                lv,
                f"left and right {what} differ by {diff:.1f} mm at rest",
            )
        )
    treated = _treated_areas(face, injections)
    targeted = {t for a in treated for t in face.areas[a].targets}
    for name in state.muscles:
        m = face.muscles[name]
        if name in targeted or m.behind_septum:
            continue
        peak = float(state.of(name).max())
        lv = level(peak, p.risk_unintended_block)
        if lv is not None:
            risks.append(
                Risk(
                    "unintended_muscle",
                    m.side,
                    lv,
                    f"{name} ({m.role.replace('_', ' ')}) is blocked up to {peak:.0%}; "
                    f"no treated area ({', '.join(sorted(treated)) or 'none'}) targets it",
                )
            )
    return risks


def _treated_areas(face: Face, injections: list[ResolvedInjection]) -> set[str]:
    out = set()
    for inj in injections:
        if inj.site is not None:
            out.add(face.sites[inj.site].area)
            continue
        inside = [a.name for a in face.areas.values() if a.contains(inj.x_mm, inj.y_mm)]
        if inside:
            out.update(inside)
        else:
            nearest = min(
                face.sites.values(),
                key=lambda s: np.hypot(s.xy[0] - inj.x_mm, s.xy[1] - inj.y_mm),
            )
            out.add(nearest.area)
    return out


def _warnings(face: Face, injections: list[ResolvedInjection], days: Array) -> list[str]:
    out = []
    for inj in injections:
        if inj.depth == "intramuscular" and not any(
            not m.behind_septum for m in _muscles_at(face, inj.x_mm, inj.y_mm)
        ):
            out.append(
                f"injection {inj.index} at ({inj.x_mm:g}, {inj.y_mm:g}) mm lies over no modelled "
                "muscle; its toxin acts only through spread"
            )
    if 0 not in days:
        out.append("the timeline has no day 0; changes are relative to before treatment")
    return out


def simulate(
    plan: Plan,
    patient: Patient | None = None,
    *,
    params: Parameters | None = None,
    raster_mm: float | None = None,
    exact: bool = True,
) -> Outcome:
    """Simulate a treatment plan on a patient (default: the plan's patient, else the reference
    female face aged 45) with ``params`` (default: :func:`rhytid.default_parameters`; every value
    the chain uses is read from it). Pure and deterministic; see the module docstring.
    ``exact=False`` grades each area on its reduced cell set (:mod:`rhytid._reduced`, the trial's
    ``area_cells_max`` representative cells) instead of every raster cell."""
    params = params or default_parameters()
    p = params.tissue
    patient = patient or plan.patient or Patient()
    face = reference_face(patient.sex)
    engine = face_engine(face.key, raster_mm, p)
    product = params.product(plan.product.name)
    injections = plan.resolve(face, product)
    days = np.asarray(plan.simulation.days, dtype=float)
    all_days = np.concatenate([[-1.0], days])  # row 0: before any treatment
    state = block_state(engine, injections, product, all_days, params)
    grid = relaxation_grid(float(days.max()), p)
    grid_block = grid_muscle_block(engine, injections, product, state.uptake, grid, params)
    scale, stiffness = _patient_scales(patient, p)
    tone = tone_factor(engine, patient)
    act = effective_activation(engine, state.segment, 1.0, tone)
    years = (patient.age - p.static_onset_age) * (p.male_static_factor if patient.sex == "male" else 1.0)
    rate = p.static_etch_per_year * max(years, 0.0)

    # each area's fold relaxation (the mean block of its targets), eased together
    relaxed = np.stack([grid_block[:, a.target_index].mean(axis=1) for a in engine.areas])
    eases = static_ease(p, np.zeros(1, dtype=np.intp), grid, relaxed[..., None], days)
    depths, grades = {}, {}
    cell_sets = engine.areas
    if not exact:
        from rhytid._reduced import reduced_area

        cell_sets = [reduced_area(engine, a, params.trial.area_cells_max, p).area for a in cell_sets]
    for area, ease in zip(cell_sets, eases, strict=True):
        # row 0 of act (before treatment) is needed for the brow and lid only
        dep = _area_depths(engine, area, act[1:], scale, tone, stiffness, rate, ease, p)
        depths[area.name], grades[area.name] = dep, grade_from_depth(dep, p.grade_thresholds_um)

    heights = brow_height_mm(engine, state.segment, scale, tone)
    brow = {key: (heights[:, k] - heights[0, k])[1:] for k, key in enumerate(engine.brow_uy)}
    lift = lid_lift_mm(engine, state.segment, p)
    droop = {s: (lift[0, i] - lift[:, i])[1:] for i, s in enumerate(SIDES)}
    timeline = []
    for d, day in enumerate(days, start=1):
        areas = {}
        for name, dep in depths.items():
            g = grades[name][d - 1]
            areas[name] = AreaState(int(g[0]), float(dep[d - 1, 0]), int(g[1]), float(dep[d - 1, 1]))
        timeline.append(
            Visit(
                day=float(day),
                muscle_block={m: float(state.muscle[d, i]) for i, m in enumerate(state.muscles)},
                areas=areas,
                brow_height_change_mm={k: float(v[d - 1]) for k, v in brow.items()},
                eyelid_droop_mm={s: float(max(droop[s][d - 1], 0.0)) for s in SIDES},
            )
        )
    trimmed = BlockState(days, state.segment[1:], state.muscle[1:], state.muscles, state.uptake)
    risks = _risks(engine, p, injections, trimmed, brow, {s: np.maximum(v, 0) for s, v in droop.items()})
    plan_dict = {
        "product": product.name,
        "units_per_ml": round(plan.product.units_per_ml_of(product), 3),
        "total_units": _num(plan.total_units),
        "injections": [
            {
                "x_mm": round(i.x_mm, 2),
                "y_mm": round(i.y_mm, 2),
                "units": _num(i.units),
                "volume_ml": round(i.volume_ml, 4),
                "depth": i.depth,
                "site": i.site,
                "day": _num(i.day),
            }
            for i in injections
        ],
    }
    return Outcome(
        model_version=__version__,
        parameters_hash=params.provenance,
        plan=plan_dict,
        patient=patient.model_dump(),
        timeline=timeline,
        risks=risks,
        warnings=_warnings(face, injections, days),
    )


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else float(x)


def map_layers(
    face: Face, xy: Array, spread: SpreadParameters | None = None
) -> tuple[Array, NDArray[np.bool_]]:
    """The muscle layer a map shows at each point ``(n, 2)``: the depth (mm) of the deepest muscle
    in front of the septum there, else of a muscle behind it (the levator, seen through the
    septum), else the depth toxin rests at over no muscle; and whether that layer lies behind
    the septum."""
    none = (spread or default_parameters().spread).injection_depth_mm["no_muscle_below"]
    pts = np.ascontiguousarray(xy, dtype=float)
    key = (face.key, hashlib.blake2b(pts.tobytes(), digest_size=16).digest(), pts.shape, none)
    if key not in _LAYERS:
        if len(_LAYERS) >= 16:
            _LAYERS.pop(next(iter(_LAYERS)))
        _LAYERS[key] = _map_layers(face, pts, none)
    depth, behind = _LAYERS[key]
    return depth.copy(), behind.copy()


#: map layers by (face, points, depth over no muscle): a planner's maps reuse one raster per face
_LAYERS: dict[tuple[str, bytes, tuple[int, ...], float], tuple[Array, NDArray[np.bool_]]] = {}


def _map_layers(face: Face, xy: Array, none: float) -> tuple[Array, NDArray[np.bool_]]:
    x, y = xy[:, 0], xy[:, 1]

    def inside(m: Muscle) -> NDArray[np.bool_]:  # as Muscle.contains, for many points
        mask = point_in_polygon(x, y, m.outline)
        return mask & ~point_in_polygon(x, y, m.hole) if m.hole is not None else mask

    depth = np.full(len(xy), none)
    best = np.full(len(xy), -np.inf)
    behind = np.zeros(len(xy), dtype=bool)
    for m in face.muscles.values():
        if m.behind_septum:
            continue
        take = inside(m) & (m.depth_mm > best)
        depth[take], best[take] = m.depth_mm, m.depth_mm
    for m in face.muscles.values():
        if m.behind_septum:
            take = inside(m) & ~np.isfinite(best)
            depth[take], behind[take] = m.depth_mm, True
    return depth, behind


def field_of_effect(
    plan: Plan,
    xy: Array,
    day: float,
    patient: Patient | None = None,
    *,
    params: Parameters | None = None,
) -> Array:
    """Block (0..1) of the nerve endings at the points ``xy`` ``(n, 2)`` (mm) on ``day``, in the layer
    :func:`map_layers` picks: the same uptake (bolus, spread, septum, shared binding) and kinetics as
    the block the Outcome reports (:func:`uptake_at_points`, :func:`block_state`)."""
    params = params or default_parameters()
    patient = patient or plan.patient or Patient()
    face = reference_face(patient.sex)
    product = params.product(plan.product.name)
    injections = plan.resolve(face, product)
    pts = np.asarray(xy, dtype=float).reshape(-1, 2)
    depth, behind = map_layers(face, pts, params.spread)
    q = uptake_at_points(face, injections, product, pts, depth, behind, params)
    t_inj = np.array([inj.day for inj in injections])
    kin = active_fraction(float(day) - t_inj, product.onset_days, product.recovery_rate_per_day)
    return np.asarray(block_fraction(kin @ q, params.dose))


@dataclass(frozen=True)
class FieldMaps:
    """Raster fields of one day and expression, for figures.

    depth_um: total wrinkle depth (dynamic + static); compression_angle: direction of the most
    compressive strain (radians from +x; lines run across it); wavelength_mm: buckling wavelength;
    uptake: bound toxin uptake density of all injections in the muscle layer of each point
    (:func:`map_layers`; ona-equivalent U/mm³); block: fraction of nerve endings blocked there on
    ``day`` (:func:`field_of_effect`, the block the Outcome reports);
    displacement: ``(2, ny, nx)`` skin displacement (mm) from rest.
    """

    face: Face
    raster: Raster
    day: float
    expression: str
    depth_um: Array
    compression_angle: Array
    wavelength_mm: Array
    uptake: Array
    block: Array
    displacement: Array


def field_maps(
    plan: Plan,
    day: float,
    expression: str,
    patient: Patient | None = None,
    *,
    params: Parameters | None = None,
    raster_mm: float | None = None,
) -> FieldMaps:
    """Full-raster fields of ``expression`` on ``day`` under ``plan`` (see :class:`FieldMaps`)."""
    if expression not in EXPRESSIONS:
        raise PlanError(f"expression must be one of {', '.join(EXPRESSIONS)}, got {expression!r}")
    params = params or default_parameters()
    p = params.tissue
    patient = patient or plan.patient or Patient()
    face = reference_face(patient.sex)
    engine = face_engine(face.key, raster_mm, p)
    b = engine.basis
    product = params.product(plan.product.name)
    injections = plan.resolve(face, product)
    state = block_state(engine, injections, product, np.array([-1.0, float(day)]), params)
    scale, stiffness = _patient_scales(patient, p)
    tone = tone_factor(engine, patient)
    act = effective_activation(engine, state.segment, scale, tone)
    skin = b.skin_rows
    e = EXPRESSIONS.index(expression)
    field = np.tensordot(act[1, e, skin].astype(np.float32), b.fields, axes=1)
    rest = np.tensordot(act[0, REST, skin].astype(np.float32), b.fields, axes=1)
    x, y = b.raster.grid()
    # depth: the kernels of simulate (rhytid._kernels) on every raster cell, each cell with the
    # skin and the static (etched) depth of its area, eased as the Outcome eases that area
    depth_cells = np.zeros(x.size)
    wave_cells = np.zeros(x.size)
    years = (patient.age - p.static_onset_age) * (p.male_static_factor if patient.sex == "male" else 1.0)
    rate = p.static_etch_per_year * max(years, 0.0)
    unit = effective_activation(engine, state.segment[1:], 1.0, tone)[:, e, skin].astype(np.float32)
    grid = relaxation_grid(max(float(day), 0.0), p)
    grid_block = grid_muscle_block(engine, injections, product, state.uptake, grid, params)
    for cells, k in engine.raster_regions(p):
        h, ec, e0 = patient_buckling(cells, ONE, ONE * stiffness)
        static = static_depth(cells, ONE * scale, ONE * tone, h, ec, e0, ONE * rate)
        eased = np.zeros(1)
        if k is not None:
            relaxed = grid_block[:, engine.areas[k].target_index].mean(axis=1)[None, :, None]
            eased = static_ease(p, np.zeros(1, dtype=np.intp), grid, relaxed, np.array([day]))[0]
        depth_cells[cells.cells] = cell_depth_rows(cells, unit, ONE * scale, h, ec, e0, static, eased)[0]
        wave_cells[cells.cells] = area_buckling(cells.skin_region, patient, stiffness, p).wavelength_mm
    depth = depth_cells.reshape(x.shape)
    wavelength = wave_cells.reshape(x.shape)
    angle = compression_direction(field[2], field[3], field[4])
    plane_xy = np.column_stack([x.ravel(), y.ravel()])
    layer_depth, layer_behind = map_layers(face, plane_xy, params.spread)
    q = uptake_at_points(face, injections, product, plane_xy, layer_depth, layer_behind, params)
    uptake = q.sum(axis=0)
    block = field_of_effect(plan, plane_xy, float(day), patient, params=params)
    return FieldMaps(
        face=face,
        raster=b.raster,
        day=float(day),
        expression=expression,
        depth_um=depth,
        compression_angle=np.asarray(angle, dtype=np.float64),
        wavelength_mm=wavelength,
        uptake=uptake.reshape(x.shape),
        block=block.reshape(x.shape),
        displacement=np.asarray(field[:2] - rest[:2], dtype=float),
    )
