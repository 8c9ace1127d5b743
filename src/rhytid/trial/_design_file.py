r"""Trial design files (TOML): arms with their own plans, a placebo arm, visits, inclusion, endpoints.

The format (CONTRACTS.md "Trial design file"; ``examples/trials/forehead-dose-ranging.toml``)::

    name = "forehead dose-ranging"
    area = "forehead+glabellar"      # graded: glabellar | forehead | lateral-canthal | forehead+glabellar
    visits = [7, 14, 30, 60, 90, 120]  # days after treatment (default: 7, 14, 30, 60, 90, 120, 150, 180)
    patients = 2000                  # randomised in total, split by the arms' ratios
    seed = 1                         # optional; `--seed` overrides
    endpoints = ["none_or_mild", "improve2", "eyelid_ptosis"]   # optional; default: all of ENDPOINTS

    [inclusion]                      # optional; defaults: population.yaml
    age_min = 18                     # years, 18..90
    age_max = 75
    female_fraction = 0.9            # 0..1
    baseline = "moderate_or_severe"  # the only baseline rule: moderate or severe at maximum contraction

    [[arm]]
    name = "40 U"
    ratio = 1                        # integer share of the randomised patients (default 1)
    product = "onabotulinumtoxinA"   # any product (CONTRACTS.md plan file)
    vial_units = 100                 # reconstitution (default: the label's); sets each point's volume
    diluent_ml = 2.5
    injections = [{site = "forehead_c", units = 4}, {x_mm = 0.0, y_mm = 40.0, units = 4}]  # as in a plan file

    [[arm]]
    name = "placebo"
    placebo = true                   # saline in the same pattern: nothing is blocked

Each injection takes the keys of a plan file's ``[[injection]]`` (``site`` or ``x_mm``/``y_mm``,
``units``, ``depth``, ``volume_ml``); trials treat on day 0 only.

**Arms.** Patients are split by the arms' ratios (largest remainder). Each arm is a parallel
group drawn from the same screened population: arm ``i`` runs the trial engine
(:func:`rhytid.trial.run_trial`) with all its patients on the arm's plan (placebo: none treated),
its own seed ``SeedSequence([seed, i])`` and the inclusion's population. Chunks within an arm
keep the engine's determinism, so the same seed gives the same result in threads, serially or on
a Dask cluster.

**Errors.** Bad input raises :class:`~rhytid.errors.TrialError` with one line naming the field
(``arm 2 ('40 U'): injection 1: units: must be between 0.5 and 100, got 500``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rhytid._data import parameters_hash
from rhytid._plan import Plan, describe_validation, read_toml
from rhytid._version import __version__
from rhytid.anatomy import reference_face
from rhytid.errors import PlanError, TrialError
from rhytid.trial._design import _DEFAULT_VISITS, AREAS, TrialDesign, place_pattern
from rhytid.trial._engine import Pattern
from rhytid.trial._params import TrialParameters
from rhytid.trial._run import TrialResult, median_ci, run_trial, wilson

__all__ = [
    "ENDPOINTS",
    "ArmDesign",
    "DesignResult",
    "DesignSpec",
    "load_design",
    "run_design",
]

#: endpoints a design may report (CONTRACTS.md ``rhytid trial``)
ENDPOINTS = (
    "none_or_mild",
    "improve2",
    "improve1",
    "median_days_none_or_mild",
    "median_days_to_baseline",
    "eyelid_ptosis",
    "brow_ptosis",
)
_RATES = ("none_or_mild", "improve2", "improve1")
_EVENTS = ("eyelid_ptosis", "brow_ptosis")
_MEDIANS = ("median_days_none_or_mild", "median_days_to_baseline")
_MAX_PATIENTS = 10_000_000
_MIN_ARM_PATIENTS = 8


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Inclusion(_Model):
    """Who is enrolled: ages (years), the share of women, and the baseline rule."""

    age_min: float | None = Field(None, ge=18, le=90)
    age_max: float | None = Field(None, ge=18, le=90)
    female_fraction: float | None = Field(None, ge=0, le=1)
    baseline: Literal["moderate_or_severe"] = "moderate_or_severe"


class ArmSpec(_Model):
    """One arm: a plan of any product and pattern, or placebo (saline, nothing blocked)."""

    name: str = Field(min_length=1, max_length=40)
    ratio: int = Field(1, ge=1, le=100)
    placebo: bool = False
    product: str | None = None
    vial_units: float | None = None
    diluent_ml: float | None = None
    injections: tuple[dict[str, Any], ...] = ()

    @model_validator(mode="after")
    def _plan_or_placebo(self) -> ArmSpec:
        if not self.placebo and (self.product is None or not self.injections):
            raise ValueError("an arm that is not placebo needs product and injections")
        return self

    def plan(self) -> Plan | None:
        """The arm's plan (``None`` for a placebo arm without one), placed on both reference faces."""
        if self.product is None or not self.injections:
            return None
        product: dict[str, Any] = {"name": self.product}
        if self.vial_units is not None:
            product["vial_units"] = self.vial_units
        if self.diluent_ml is not None:
            product["diluent_ml"] = self.diluent_ml
        for n, inj in enumerate(self.injections, start=1):
            if float(inj.get("day", 0.0)) != 0.0:
                raise PlanError(f"injection {n}: day: a trial treats on day 0 only, got {inj['day']!r}")
        plan = Plan.from_dict({"product": product, "injection": list(self.injections)})
        plan.resolve(reference_face("male"))  # every point must lie on both faces
        return plan


class DesignSpec(_Model):
    """A trial design file, validated (module docstring)."""

    name: str = Field("virtual trial", max_length=120)
    area: str
    visits: tuple[float, ...] = _DEFAULT_VISITS
    patients: int = Field(2000, ge=_MIN_ARM_PATIENTS, le=_MAX_PATIENTS)
    seed: int = Field(1, ge=0, lt=2**63)
    endpoints: tuple[str, ...] = ENDPOINTS
    inclusion: Inclusion = Inclusion()
    arms: tuple[ArmSpec, ...] = Field(alias="arm", min_length=1, max_length=12)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("area")
    @classmethod
    def _area(cls, v: str) -> str:
        if v not in AREAS:
            raise ValueError(f"must be one of {' | '.join(AREAS)}")
        return v

    @field_validator("visits")
    @classmethod
    def _visits(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v or any(not (0 < d <= 730) for d in v):
            raise ValueError("must be days between 1 and 730")
        if list(v) != sorted(set(v)):
            raise ValueError("must be increasing and distinct")
        return tuple(float(d) for d in v)

    @field_validator("endpoints")
    @classmethod
    def _endpoints(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [e for e in v if e not in ENDPOINTS]
        if bad or not v:
            raise ValueError(f"each must be one of {' | '.join(ENDPOINTS)}")
        return v

    @model_validator(mode="after")
    def _arms(self) -> DesignSpec:
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError(f"arm names must be distinct, got {names}")
        if all(a.placebo for a in self.arms):
            raise ValueError("at least one arm must be treated (placebo = false)")
        inc = self.inclusion
        if inc.age_min is not None and inc.age_max is not None and inc.age_min >= inc.age_max:
            raise ValueError(f"inclusion: age_min must be below age_max, got {inc.age_min} and {inc.age_max}")
        return self

    def arm_sizes(self, patients: int | None = None) -> list[int]:
        """Patients per arm: ``patients`` split by the ratios (largest remainder)."""
        total = self.patients if patients is None else patients
        ratios = np.array([a.ratio for a in self.arms], dtype=float)
        exact = total * ratios / ratios.sum()
        sizes = np.floor(exact).astype(int)
        for j in np.argsort(-(exact - sizes), kind="stable")[: total - int(sizes.sum())]:
            sizes[j] += 1
        for a, n in zip(self.arms, sizes, strict=True):
            if n < _MIN_ARM_PATIENTS:
                raise TrialError(
                    f"patients: arm {a.name!r} gets {n} of {total}; each arm needs at least "
                    f"{_MIN_ARM_PATIENTS} (raise patients or its ratio)"
                )
        return [int(n) for n in sizes]

    def parameters(self, tp: TrialParameters) -> TrialParameters:
        """``tp`` with the inclusion's population (ages, share of women)."""
        inc = self.inclusion
        pop = {
            k: getattr(inc, k)
            for k in ("age_min", "age_max", "female_fraction")
            if getattr(inc, k) is not None
        }
        if not pop:
            return tp
        lo = pop.get("age_min", tp.population.age_min)
        hi = pop.get("age_max", tp.population.age_max)
        if lo >= hi:
            raise TrialError(f"inclusion: age_min must be below age_max, got {lo:g} and {hi:g}")
        return tp.replace(population=pop)


@dataclass(frozen=True)
class ArmDesign(TrialDesign):
    """A :class:`TrialDesign` whose pattern is an arm's plan instead of a scaled label pattern."""

    plan: Plan | None = None
    arm: str = ""

    def __post_init__(self) -> None:
        if self.plan is None:
            raise TrialError(f"arm {self.arm!r}: needs a plan")
        super().__post_init__()

    def pattern_units(self) -> dict[str, float]:
        assert self.plan is not None
        return {f"{i} {inj.site or 'point'}": inj.units for i, inj in enumerate(self.plan.injections, 1)}

    def pattern(self, sex: str) -> Pattern:
        assert self.plan is not None
        resolved = self.plan.resolve(reference_face("male" if sex == "male" else "female"))
        points = [
            (r.site or f"point {r.index}", (r.x_mm, r.y_mm), r.units, r.volume_ml, r.depth) for r in resolved
        ]
        return place_pattern(sex, self.product, points)

    def to_dict(self) -> dict[str, object]:
        assert self.plan is not None
        return {
            "product": self.product,
            "total_units": _num(self.plan.total_units),
            "units_per_ml": _num(round(self.plan.units_per_ml, 4)),
            "injections": [r.model_dump(exclude={"index", "day"}) for r in self.plan.resolve()],
        }


def parse_design(data: dict[str, Any]) -> DesignSpec:
    """Validate a parsed design (e.g. from TOML); raise :class:`TrialError` naming the field."""
    if isinstance(data.get("arm"), list):
        for i, arm in enumerate(data["arm"], start=1):
            if isinstance(arm, dict) and not isinstance(arm.get("injections", []), list):
                raise TrialError(f"arm {i}: injections: must be a list of points")
    try:
        spec = DesignSpec.model_validate(data)
    except ValidationError as exc:
        raise TrialError(describe_validation(exc, ("arm", "arms"))) from None
    for i, arm in enumerate(spec.arms, start=1):
        try:
            arm.plan()
        except PlanError as exc:
            raise TrialError(f"arm {i} ({arm.name!r}): {exc}") from None
    spec.arm_sizes()
    return spec


def load_design(path: str | Path) -> DesignSpec:
    """Read and validate a trial design TOML file (module docstring)."""
    return parse_design(read_toml(path, "--design: file", TrialError))


def arm_seed(seed: int, index: int) -> int:
    """The seed of arm ``index``: 63 bits of ``SeedSequence([seed, index])``."""
    state = np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint64)
    return int(state[0]) >> 1


@dataclass
class ArmResult:
    name: str
    placebo: bool
    result: TrialResult

    @property
    def arm(self) -> str:
        return "placebo" if self.placebo else "treated"

    @property
    def n(self) -> int:
        return self.result.n_placebo if self.placebo else self.result.n_treated


@dataclass
class DesignResult:
    """The outcome of a design-file trial (:meth:`to_dict`: CONTRACTS.md)."""

    spec: DesignSpec
    seed: int
    patients: int
    arms: list[ArmResult]
    parameters: TrialParameters = field(repr=False)

    def rate(self, arm: str, endpoint: str) -> list[float]:
        """Responder fraction of ``arm`` per visit (``none_or_mild`` | ``improve1`` | ``improve2``)."""
        a = next(x for x in self.arms if x.name == arm)
        return [float(v) for v in a.result.rate(endpoint, a.arm)]

    def to_dict(self) -> dict[str, Any]:
        spec = self.spec
        wanted = set(spec.endpoints)
        visits: list[dict[str, Any]] = []
        for j, day in enumerate(spec.visits):
            entry: dict[str, Any] = {"day": _num(day)}
            for ep in _RATES:
                if ep in wanted:
                    entry[ep] = self._per_arm(_visit_rate(ep, j))
            visits.append(entry)
        out: dict[str, Any] = {
            "model_version": __version__,
            "parameters_hash": parameters_hash(),
            "design": {
                "name": spec.name,
                "area": spec.area,
                "seed": self.seed,
                "patients": self.patients,
                "visits": [_num(d) for d in spec.visits],
                "endpoints": list(spec.endpoints),
                "inclusion": spec.inclusion.model_dump(),
                "arms": [
                    {"name": a.name, "ratio": a.ratio, "placebo": a.placebo}
                    | ({} if a.placebo else _arm_plan(r.result))
                    for a, r in zip(spec.arms, self.arms, strict=True)
                ],
                "duration_follow_up_days": _num(self.parameters.follow_up_days),
            },
            "arms": [
                {
                    "name": a.name,
                    "n": a.n,
                    "n_screened": int(sum(c.screened for c in a.result.chunks)),
                    "placebo": a.placebo,
                }
                for a in self.arms
            ],
            "visits": visits,
        }
        for key in _MEDIANS:
            if key in wanted:
                med: dict[str, Any] = {}
                for a in self.arms:
                    if a.placebo:
                        continue
                    days = a.result.days_none_or_mild if "none_or_mild" in key else a.result.days_to_baseline
                    med[a.name] = round(float(np.median(days))) if len(days) else None
                    med[f"{a.name}_ci95"] = median_ci(days)
                out[key] = med
        events = {ev: self._per_arm(_event_rate(ev)) for ev in _EVENTS}
        out["adverse_events"] = {k: v for k, v in events.items() if k in wanted}
        return out

    def _per_arm(self, rate: Callable[[ArmResult], float]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for a in self.arms:
            p = rate(a)
            out[a.name] = _r(p)
            out[f"{a.name}_ci95"] = [_r(x) for x in wilson(round(p * a.n), a.n)]
        return out


def _visit_rate(endpoint: str, visit: int) -> Callable[[ArmResult], float]:
    def rate(a: ArmResult) -> float:
        return float(a.result.rate(endpoint, a.arm)[visit])

    return rate


def _event_rate(event: str) -> Callable[[ArmResult], float]:
    def rate(a: ArmResult) -> float:
        return a.result.adverse_rate(event, a.arm)

    return rate


def _arm_plan(result: TrialResult) -> dict[str, Any]:
    return dict(result.design.to_dict())


def run_design(
    spec: DesignSpec,
    params: TrialParameters | None = None,
    *,
    patients: int | None = None,
    seed: int | None = None,
    scheduler: Any = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    exact: bool = False,
) -> DesignResult:
    """Run every arm of ``spec`` (module docstring); ``patients``/``seed`` override the file's;
    ``exact`` uses every raster cell and nerve-ending point (:func:`rhytid.trial.run_trial`)."""
    if patients is not None and not _MIN_ARM_PATIENTS <= patients <= _MAX_PATIENTS:
        raise TrialError(
            f"--patients must be between {_MIN_ARM_PATIENTS} and {_MAX_PATIENTS}, got {patients}"
        )
    if seed is not None and not 0 <= seed < 2**63:
        raise TrialError(f"--seed must be a non-negative integer, got {seed}")
    s = spec.seed if seed is None else seed
    sizes = spec.arm_sizes(patients)
    base = spec.parameters(params or TrialParameters.from_data())
    plans = [a.plan() for a in spec.arms]
    active = next(p for p in plans if p is not None)  # placebo: saline in this pattern
    results: list[ArmResult] = []
    for i, (arm, plan, n) in enumerate(zip(spec.arms, plans, sizes, strict=True)):
        plan = plan or active
        design = ArmDesign(
            area=spec.area,
            product=plan.product.name,
            dose_units=plan.total_units,
            patients=n,
            seed=arm_seed(s, i),
            visits=spec.visits,
            plan=plan,
            arm=arm.name,
        )
        tp = base.replace(randomisation_block=(0,) if arm.placebo else (1,))
        r = run_trial(design, tp, scheduler=scheduler, workers=workers, exact=exact)
        results.append(ArmResult(arm.name, arm.placebo, r))
        if progress:
            progress(i + 1, len(sizes))
    return DesignResult(spec, s, int(sum(sizes)), results, base)


def _r(x: float) -> float:
    return round(float(x), 4)


def _num(x: float) -> float | int:
    return int(x) if math.isclose(x, round(x)) else float(x)
