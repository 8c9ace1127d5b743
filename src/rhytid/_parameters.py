"""``Parameters``: every number the model and its trials use besides the fixed anatomy, in one object.

One typed, immutable object holds the tissue (``tissue.yaml``), the toxin's spread and dose
response and each product's kinetics (``toxins.yaml``), the virtual population and the trial
settings (``population.yaml``), with the fitted values of ``calibrated.yaml`` applied
(:meth:`Parameters.from_data`). It is passed explicitly: ``simulate(plan, patient, params=...)``
and ``run_trial(design, params=...)``; ``None`` there means :func:`default_parameters`, loaded
once. The module-level loaders (:func:`rhytid.tissue.tissue_parameters`,
:func:`rhytid.toxin.dose_response`, ...) are views of that default, not copies.

Calibration and sensitivity runs build modified copies (:meth:`Parameters.replace`), never rewrite
YAML files or clear caches. ``Parameters`` is also :class:`rhytid.trial.TrialParameters`: the
flat names the calibrator uses (``spread_length_mm``, ``ec50_u_per_mm3``, ``onset_days``, ...)
are read-only views of the nested values and are accepted by :meth:`~Parameters.replace`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr

from rhytid._data import packaged_value, parameters_hash, value
from rhytid.errors import ParameterError, ProductError
from rhytid.tissue._parameters import TissueParameters, load_tissue_parameters
from rhytid.toxin._kinetics import DoseResponse, load_dose_response
from rhytid.toxin._products import PRODUCT_NAMES, Product, load_products
from rhytid.toxin._spread import SpreadParameters, load_spread_parameters

__all__ = ["Parameters", "PopulationParameters", "TrialSettings", "default_parameters"]

POPULATION = "population.yaml"
Lookup = Callable[..., Any]


@dataclass(frozen=True)
class PopulationParameters:
    """Distributions of the virtual population, the technique scatter and the rater."""

    age_min: float
    age_max: float
    age_mean: float
    age_sd: float
    female_fraction: float
    muscle_strength_cv: float
    skin_thickness_cv: float
    skin_thickness_age_slope: float
    skin_stiffness_cv: float
    static_etch_cv: float
    toxin_sensitivity_cv: float
    recovery_rate_cv: float
    frontalis_tone_cv: float
    frontalis_tone_max_factor: float
    position_sd_mm: float
    depth_sd_mm: float
    volume_cv: float
    realisations: int
    rater_noise_sd: float
    rater_persistent_share: float

    @classmethod
    def from_data(cls, lookup: Lookup = value) -> PopulationParameters:
        def f(*path: str) -> float:
            return float(lookup(POPULATION, *path))

        return cls(
            age_min=f("demographics", "age_min"),
            age_max=f("demographics", "age_max"),
            age_mean=f("demographics", "age_mean"),
            age_sd=f("demographics", "age_sd"),
            female_fraction=f("demographics", "female_fraction"),
            muscle_strength_cv=f("patient", "muscle_strength_cv"),
            skin_thickness_cv=f("patient", "skin_thickness_cv"),
            skin_thickness_age_slope=f("patient", "skin_thickness_age_slope_per_year"),
            skin_stiffness_cv=f("patient", "skin_stiffness_cv"),
            static_etch_cv=f("patient", "static_etch_cv"),
            toxin_sensitivity_cv=f("patient", "toxin_sensitivity_cv"),
            recovery_rate_cv=f("patient", "recovery_rate_cv"),
            frontalis_tone_cv=f("patient", "frontalis_tone_cv"),
            frontalis_tone_max_factor=1.0 / float(lookup("tissue.yaml", "expressions", "rest")["frontalis"]),
            position_sd_mm=f("technique", "position_sd_mm"),
            depth_sd_mm=f("technique", "depth_sd_mm"),
            volume_cv=f("technique", "volume_cv"),
            realisations=int(f("technique", "realisations_per_chunk")),
            rater_noise_sd=f("rater", "noise_sd"),
            rater_persistent_share=f("rater", "persistent_share"),
        )


@dataclass(frozen=True)
class TrialSettings:
    """How a virtual trial is run and read (``population.yaml trial``)."""

    chunk_patients: int
    screening_batch_factor: float
    randomisation_block: tuple[int, ...]
    ptosis_level: int
    brow_ptosis_level: int
    horizon_days: float
    follow_up_days: float
    visit_window_days: float
    area_cells_max: int
    log_bin_width: float
    quadrature_stride: int
    strain_mode_tolerance: float

    @classmethod
    def from_data(cls, lookup: Lookup = value) -> TrialSettings:
        def f(key: str) -> float:
            return float(lookup(POPULATION, "trial", key))

        return cls(
            chunk_patients=int(f("chunk_patients")),
            screening_batch_factor=f("screening_batch_factor"),
            randomisation_block=tuple(int(x) for x in lookup(POPULATION, "trial", "randomisation_block")),
            ptosis_level=int(f("ptosis_level")),
            brow_ptosis_level=int(f("brow_ptosis_level")),
            horizon_days=f("duration_horizon_days"),
            follow_up_days=f("duration_follow_up_days"),
            visit_window_days=f("visit_window_days"),
            area_cells_max=int(f("area_cells_max")),
            log_bin_width=f("log_bin_width"),
            quadrature_stride=int(f("quadrature_stride")),
            strain_mode_tolerance=f("strain_mode_tolerance"),
        )


#: flat (calibrator) names -> (part, field) of the nested value they view
_FLAT: dict[str, tuple[str, str]] = {
    "grade_thresholds_um": ("tissue", "grade_thresholds_um"),
    "static_etch_per_year": ("tissue", "static_etch_per_year"),
    "spread_length_mm": ("spread", "length_mm"),
    "septum_transmission": ("spread", "septum_transmission"),
    "interstitial_fraction": ("spread", "interstitial_fraction"),
    "ec50_u_per_mm3": ("dose", "ec50_u_per_mm3"),
    "hill": ("dose", "hill"),
    "max_block": ("dose", "max_block"),
    "binding_capacity_u_per_mm3": ("dose", "binding_capacity_u_per_mm3"),
    **{f.name: ("trial", f.name) for f in dataclasses.fields(TrialSettings)},
}
_PARTS = ("tissue", "spread", "dose", "population", "trial")


class Parameters(BaseModel):
    """Every model and trial parameter (module docstring). Immutable; copies via :meth:`replace`."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    tissue: TissueParameters
    spread: SpreadParameters
    dose: DoseResponse
    products: dict[str, Product]
    population: PopulationParameters
    trial: TrialSettings
    #: provenance stamp of an Outcome: the packaged files' hash, or a digest of a modified copy
    provenance: str
    notes: dict[str, str] = {}
    _digest: str | None = PrivateAttr(default=None)

    @classmethod
    def from_data(cls, *, base: bool = False) -> Parameters:
        """The packaged values with ``calibrated.yaml`` applied (``base``: the packaged values
        alone, the reproducible starting point of a calibration)."""
        lookup: Lookup = packaged_value if base else value
        out = cls(
            tissue=load_tissue_parameters(lookup),
            spread=load_spread_parameters(lookup),
            dose=load_dose_response(lookup),
            products=load_products(lookup),
            population=PopulationParameters.from_data(lookup),
            trial=TrialSettings.from_data(lookup),
            provenance="",
        )
        return out.model_copy(update={"provenance": parameters_hash() if not base else out.digest()})

    def digest(self) -> str:
        """SHA-256 of every value (not the notes): equal digests, equal predictions."""
        if self._digest is None:
            parts = (self.tissue, self.spread, self.dose, sorted(self.products.items()), self.population)
            text = repr([*parts, self.trial])
            self._digest = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
        return self._digest

    def product(self, name: str) -> Product:
        """The product called ``name`` with these parameters' kinetics."""
        try:
            return self.products[name]
        except KeyError:
            allowed = " | ".join(PRODUCT_NAMES)
            raise ProductError(f"product: unknown product {name!r}; allowed: {allowed}") from None

    def replace(self, **changes: Any) -> Parameters:
        """A copy with some values changed: flat names (``spread_length_mm=5.0``,
        ``onset_days={...}``, ``recovery_rate_per_day={...}``), or a part (``tissue``, ``spread``,
        ``dose``, ``population``, ``trial``) as an object or a partial mapping
        (``population={"rater_noise_sd": 0.1}``); ``notes`` replaces the notes."""
        parts: dict[str, dict[str, Any]] = {k: {} for k in _PARTS}
        update: dict[str, Any] = {}
        products = dict(self.products)
        for name, v in changes.items():
            if name in _FLAT:
                part, fld = _FLAT[name]
                parts[part][fld] = v
            elif name in ("onset_days", "recovery_rate_per_day"):
                for prod, x in dict(v).items():
                    kinetics: dict[str, Any] = {name: float(x)}
                    products[prod] = dataclasses.replace(products[prod], **kinetics)
                update["products"] = products
            elif name in _PARTS:
                if isinstance(v, dict):
                    parts[name].update(v)
                else:
                    update[name] = v
            elif name in ("products", "notes"):
                update[name] = v
            else:
                raise ParameterError(f"Parameters.replace: unknown parameter {name!r}")
        for part, fields in parts.items():
            if fields:
                update[part] = dataclasses.replace(update.get(part, getattr(self, part)), **fields)
        out = self.model_copy(update=update)
        out._digest = None
        out = out.model_copy(update={"provenance": out.digest()})
        return out

    def check(self) -> None:
        """Every product has kinetics (guards hand-built parameter sets)."""
        missing = [p for p in PRODUCT_NAMES if p not in self.products]
        if missing:
            raise ValueError(f"recovery_rate_per_day lacks {missing}")

    # --- flat views (the names of the trial engine and the calibrator) ---------------------------

    @property
    def grade_thresholds_um(self) -> tuple[float, float, float]:
        return self.tissue.grade_thresholds_um

    @property
    def static_etch_per_year(self) -> float:
        return self.tissue.static_etch_per_year

    @property
    def spread_length_mm(self) -> float:
        return self.spread.length_mm

    @property
    def septum_transmission(self) -> float:
        return self.spread.septum_transmission

    @property
    def interstitial_fraction(self) -> float:
        return self.spread.interstitial_fraction

    @property
    def ec50_u_per_mm3(self) -> float:
        return self.dose.ec50_u_per_mm3

    @property
    def hill(self) -> float:
        return self.dose.hill

    @property
    def max_block(self) -> float:
        return self.dose.max_block

    @property
    def binding_capacity_u_per_mm3(self) -> float:
        return self.dose.binding_capacity_u_per_mm3

    @property
    def onset_days(self) -> dict[str, float]:
        return {k: p.onset_days for k, p in self.products.items()}

    @property
    def recovery_rate_per_day(self) -> dict[str, float]:
        return {k: p.recovery_rate_per_day for k, p in self.products.items()}

    @property
    def chunk_patients(self) -> int:
        return self.trial.chunk_patients

    @property
    def screening_batch_factor(self) -> float:
        return self.trial.screening_batch_factor

    @property
    def randomisation_block(self) -> tuple[int, ...]:
        return self.trial.randomisation_block

    @property
    def ptosis_level(self) -> int:
        return self.trial.ptosis_level

    @property
    def brow_ptosis_level(self) -> int:
        return self.trial.brow_ptosis_level

    @property
    def horizon_days(self) -> float:
        return self.trial.horizon_days

    @property
    def follow_up_days(self) -> float:
        return self.trial.follow_up_days

    @property
    def visit_window_days(self) -> float:
        return self.trial.visit_window_days

    @property
    def area_cells_max(self) -> int:
        return self.trial.area_cells_max

    @property
    def log_bin_width(self) -> float:
        return self.trial.log_bin_width

    @property
    def quadrature_stride(self) -> int:
        return self.trial.quadrature_stride

    @property
    def strain_mode_tolerance(self) -> float:
        return self.trial.strain_mode_tolerance


@cache
def default_parameters() -> Parameters:
    """The packaged parameters with ``calibrated.yaml`` applied, loaded once."""
    return Parameters.from_data()
