"""Treatment plans: the TOML plan file of CONTRACTS.md, validated into typed objects.

A :class:`Plan` names a product with its reconstitution and a list of injections, each at a
named site of the reference face or at a point of the face frame (mm), with units of that
product, a depth and (optionally) a volume and a day (for repeated treatments in one plan).
Invalid input raises :class:`~rhytid.errors.PlanError` naming the field, the value and what is
allowed.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rhytid.anatomy import Face, reference_face
from rhytid.errors import PlanError, PlanFileError, ProductError
from rhytid.toxin import PRODUCT_NAMES, Product, get_product

__all__ = [
    "DEFAULT_DAYS",
    "Injection",
    "Patient",
    "Plan",
    "ProductChoice",
    "ResolvedInjection",
    "load_plan",
]

Depth = Literal["intramuscular", "subcutaneous", "intradermal"]
DEFAULT_DAYS: tuple[float, ...] = (0, 2, 7, 14, 30, 60, 90, 120, 150, 180)
_UNITS_RANGE = (0.5, 100.0)
_VOLUME_RANGE_ML = (0.005, 1.0)
_DAY_MAX = 3650.0


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Patient(_Model):
    """The patient simulated: sex, age (years), a muscle-strength multiplier and, optionally,
    the habitual resting tone of the frontalis (fraction of its maximum, 0..1; default: the
    population median, ``tissue.yaml expressions.rest.frontalis``). A habitual brow lifter
    carries a high tone and a brow held several millimetres up (motion.md section 4)."""

    sex: Literal["female", "male"] = "female"
    age: float = Field(45.0, ge=18, le=90)
    muscle_strength: float = Field(1.0, gt=0, le=3)
    frontalis_tone: float | None = Field(None, ge=0, le=1)


class ProductChoice(_Model):
    """The product and its reconstitution (units per vial, mL of saline added)."""

    name: str
    vial_units: float | None = Field(None, gt=0, le=1000)
    diluent_ml: float | None = Field(None, gt=0, le=10)

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in PRODUCT_NAMES:
            raise ValueError(f"unknown product {v!r}; allowed: {' | '.join(PRODUCT_NAMES)}")
        return v

    @property
    def units_per_ml(self) -> float:
        return self.units_per_ml_of(get_product(self.name))

    def units_per_ml_of(self, product: Product) -> float:
        """Concentration (U/mL) with ``product``'s default vial and diluent where none is given."""
        return (self.vial_units or product.vial_units) / (self.diluent_ml or product.diluent_ml)


class Injection(_Model):
    """One injection: a named site or a face-frame point (mm), units of the plan's product."""

    site: str | None = None
    x_mm: float | None = None
    y_mm: float | None = None
    units: float
    depth: Depth = "intramuscular"
    volume_ml: float | None = None
    day: float = Field(0.0, ge=0, le=_DAY_MAX)

    @field_validator("units")
    @classmethod
    def _units(cls, v: float) -> float:
        lo, hi = _UNITS_RANGE
        if not lo <= v <= hi:
            raise ValueError(f"must be between {lo:g} and {hi:g}")
        return v

    @field_validator("volume_ml")
    @classmethod
    def _volume(cls, v: float | None) -> float | None:
        lo, hi = _VOLUME_RANGE_ML
        if v is not None and not lo <= v <= hi:
            raise ValueError(f"must be between {lo:g} and {hi:g} mL")
        return v

    @model_validator(mode="after")
    def _where(self) -> Injection:
        has_point = self.x_mm is not None or self.y_mm is not None
        if self.site is None and not has_point:
            raise ValueError("give either site or both x_mm and y_mm")
        if self.site is not None and has_point:
            raise ValueError("give either site or x_mm/y_mm, not both")
        if has_point and (self.x_mm is None or self.y_mm is None):
            raise ValueError("a point needs both x_mm and y_mm")
        return self


class Simulation(_Model):
    days: tuple[float, ...] = DEFAULT_DAYS

    @field_validator("days")
    @classmethod
    def _days(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v:
            raise ValueError("needs at least one day")
        if len(v) > 100:
            raise ValueError(f"at most 100 days, got {len(v)}")
        if any(d < 0 or d > _DAY_MAX for d in v):
            raise ValueError(f"each day must be between 0 and {_DAY_MAX:g}")
        return tuple(sorted({float(d) for d in v}))


class ResolvedInjection(_Model):
    """An injection placed on a face: position (mm), units, volume (mL), depth, day."""

    index: int
    x_mm: float
    y_mm: float
    units: float
    volume_ml: float
    depth: Depth
    day: float
    site: str | None


class Plan(_Model):
    """A treatment plan (CONTRACTS.md plan file)."""

    patient: Patient | None = None
    product: ProductChoice
    injections: tuple[Injection, ...] = Field(alias="injection", min_length=1, max_length=60)
    simulation: Simulation = Simulation()

    @property
    def units_per_ml(self) -> float:
        return self.product.units_per_ml

    @property
    def total_units(self) -> float:
        return float(sum(i.units for i in self.injections))

    def resolve(self, face: Face | None = None, product: Product | None = None) -> list[ResolvedInjection]:
        """Place every injection on ``face`` (default: the plan patient's reference face); volumes
        from the reconstitution with ``product``'s vial (default: the packaged product)."""
        face = face or reference_face((self.patient or Patient()).sex)
        per_ml = self.product.units_per_ml_of(product) if product is not None else self.units_per_ml
        out = []
        for n, inj in enumerate(self.injections, start=1):
            if inj.site is not None:
                if inj.site not in face.sites:
                    known = ", ".join(sorted(face.sites))
                    raise PlanError(f"injection {n}: unknown site {inj.site!r}; known sites: {known}")
                x, y = face.sites[inj.site].xy
            else:
                assert inj.x_mm is not None and inj.y_mm is not None
                x, y = inj.x_mm, inj.y_mm
                if not face.on_face(x, y):
                    (x0, y0), (x1, y1) = face.window
                    raise PlanError(
                        f"injection {n}: point ({x:g}, {y:g}) mm is off the modelled face; "
                        f"x_mm must be within {x0:g}..{x1:g} and y_mm within {y0:g}..{y1:g}"
                    )
            volume = inj.volume_ml if inj.volume_ml is not None else inj.units / per_ml
            lo, hi = _VOLUME_RANGE_ML
            if not lo <= volume <= hi:
                raise PlanError(
                    f"injection {n}: volume {volume:.3g} mL from the reconstitution is outside "
                    f"{lo:g}..{hi:g} mL; change units, vial_units/diluent_ml or give volume_ml"
                )
            out.append(
                ResolvedInjection(
                    index=n,
                    x_mm=x,
                    y_mm=y,
                    units=inj.units,
                    volume_ml=volume,
                    depth=inj.depth,
                    day=inj.day,
                    site=inj.site,
                )
            )
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        """Validate a parsed plan (e.g. from TOML or JSON); raise PlanError naming the field."""
        try:
            plan = cls.model_validate(data)
        except ValidationError as exc:
            raise PlanError(describe_validation(exc)) from None
        except ProductError as exc:
            raise PlanError(str(exc)) from None
        plan.resolve()
        return plan


def describe_validation(exc: ValidationError, items: tuple[str, ...] = ("injection", "injections")) -> str:
    """The first problem of ``exc`` as one line naming its field; an entry of a list named in
    ``items`` is counted from 1 (``injection 2: units: …``)."""
    err = exc.errors()[0]
    loc = list(err.get("loc", ()))
    where: list[str] = []
    if loc[:1] and loc[0] in items and len(loc) > 1 and isinstance(loc[1], int):
        where.append(f"{items[0]} {loc[1] + 1}")
        loc = loc[2:]
    field = ".".join(str(p) for p in loc if not str(p).startswith(("function-", "literal")))
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    kind = err.get("type", "")
    if kind == "missing":
        text = f"{field or 'field'} is missing"
    elif kind == "extra_forbidden":
        text = f"unknown field {field!r}"
    else:
        given = err.get("input")
        shown = "" if isinstance(given, dict | list | tuple) else f", got {given!r}"
        text = f"{field}: {msg}{shown}" if field else f"{msg}{shown}"
    return ": ".join([*where, text])


def read_toml(path: str | Path, what: str, error: type[Exception]) -> dict[str, Any]:
    """The table of the TOML file at ``path``; a missing, unreadable or malformed file raises
    ``error`` with one line that starts with ``what`` (e.g. ``plan file 'x.toml' does not exist``)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{what} {str(p)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{what} {str(p)!r} cannot be read: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what} {str(p)!r} is not valid TOML: {exc}") from None


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan TOML file (CONTRACTS.md)."""
    return Plan.from_dict(read_toml(path, "plan file", PlanFileError))
