"""The parameters of a virtual trial, as explicit objects.

:class:`TrialParameters` gathers every number the vectorised engine uses that is not part of the
fixed anatomy: the model's own parameters (grade thresholds, spread length, dose response,
product kinetics, static etch rate — read through :func:`rhytid._data.value`, so fitted values in
``calibrated.yaml`` apply) and the population's (``population.yaml``). Calibration evaluates
candidates by building modified copies (:meth:`TrialParameters.replace`), never by rewriting
YAML files or clearing caches.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from rhytid._data import load_yaml, sourced
from rhytid._data import value as _value
from rhytid.toxin import PRODUCT_NAMES

__all__ = ["POPULATION", "PopulationParameters", "TrialParameters", "population_value"]

POPULATION = "population.yaml"


_BASE = [False]  # read packaged values, ignoring calibrated.yaml (see TrialParameters.from_data)


def value(file: str, *path: str) -> Any:
    """:func:`rhytid._data.value`, or the packaged value itself while building base parameters."""
    if not _BASE[0]:
        return _value(file, *path)
    node: Any = load_yaml(file)
    for key in path:
        node = node[key]
    return sourced(node, f"{file}:{'.'.join(path)}")


def population_value(*path: str) -> Any:
    """A sourced value of ``population.yaml`` (``calibrated.yaml`` overrides apply)."""
    return value(POPULATION, *path)


def _pf(*path: str) -> float:
    return float(population_value(*path))


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
    def from_data(cls) -> PopulationParameters:
        return cls(
            age_min=_pf("demographics", "age_min"),
            age_max=_pf("demographics", "age_max"),
            age_mean=_pf("demographics", "age_mean"),
            age_sd=_pf("demographics", "age_sd"),
            female_fraction=_pf("demographics", "female_fraction"),
            muscle_strength_cv=_pf("patient", "muscle_strength_cv"),
            skin_thickness_cv=_pf("patient", "skin_thickness_cv"),
            skin_thickness_age_slope=_pf("patient", "skin_thickness_age_slope_per_year"),
            skin_stiffness_cv=_pf("patient", "skin_stiffness_cv"),
            static_etch_cv=_pf("patient", "static_etch_cv"),
            toxin_sensitivity_cv=_pf("patient", "toxin_sensitivity_cv"),
            recovery_rate_cv=_pf("patient", "recovery_rate_cv"),
            frontalis_tone_cv=_pf("patient", "frontalis_tone_cv"),
            frontalis_tone_max_factor=1.0 / float(value("tissue.yaml", "expressions", "rest")["frontalis"]),
            position_sd_mm=_pf("technique", "position_sd_mm"),
            depth_sd_mm=_pf("technique", "depth_sd_mm"),
            volume_cv=_pf("technique", "volume_cv"),
            realisations=int(_pf("technique", "realisations_per_chunk")),
            rater_noise_sd=_pf("rater", "noise_sd"),
            rater_persistent_share=_pf("rater", "persistent_share"),
        )


@dataclass(frozen=True)
class TrialParameters:
    """Everything a virtual trial depends on besides the anatomy (see the module docstring)."""

    grade_thresholds_um: tuple[float, float, float]
    spread_length_mm: float
    septum_transmission: float
    interstitial_fraction: float
    ec50_u_per_mm3: float
    hill: float
    max_block: float
    binding_capacity_u_per_mm3: float
    static_etch_per_year: float
    onset_days: dict[str, float]
    recovery_rate_per_day: dict[str, float]
    population: PopulationParameters
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
    notes: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_data(cls, *, base: bool = False) -> TrialParameters:
        """The current parameters: packaged values with ``calibrated.yaml`` applied (``base``:
        the packaged values alone, the reproducible starting point of a calibration)."""
        _BASE[0] = base
        try:
            return cls._load()
        finally:
            _BASE[0] = False

    @classmethod
    def _load(cls) -> TrialParameters:
        t = value("tissue.yaml", "wrinkles", "grade_thresholds_um")
        products = load_yaml("toxins.yaml")["products"]
        return cls(
            grade_thresholds_um=(float(t[0]), float(t[1]), float(t[2])),
            spread_length_mm=float(value("toxins.yaml", "spread", "length_mm")),
            septum_transmission=float(value("toxins.yaml", "spread", "septum_transmission")),
            interstitial_fraction=float(value("toxins.yaml", "spread", "interstitial_fraction")),
            ec50_u_per_mm3=float(value("toxins.yaml", "dose_response", "ec50_u_per_mm3")),
            hill=float(value("toxins.yaml", "dose_response", "hill")),
            max_block=float(value("toxins.yaml", "dose_response", "max_block")),
            binding_capacity_u_per_mm3=float(
                value("toxins.yaml", "dose_response", "binding_capacity_u_per_mm3")
            ),
            static_etch_per_year=float(value("tissue.yaml", "wrinkles", "static_etch_per_year")),
            onset_days={p: float(value("toxins.yaml", "products", p, "onset_days")) for p in products},
            recovery_rate_per_day={
                p: float(value("toxins.yaml", "products", p, "recovery_rate_per_day")) for p in products
            },
            population=PopulationParameters.from_data(),
            chunk_patients=int(_pf("trial", "chunk_patients")),
            screening_batch_factor=_pf("trial", "screening_batch_factor"),
            randomisation_block=tuple(int(x) for x in population_value("trial", "randomisation_block")),
            ptosis_level=int(_pf("trial", "ptosis_level")),
            brow_ptosis_level=int(_pf("trial", "brow_ptosis_level")),
            horizon_days=_pf("trial", "duration_horizon_days"),
            follow_up_days=_pf("trial", "duration_follow_up_days"),
            visit_window_days=_pf("trial", "visit_window_days"),
            area_cells_max=int(_pf("trial", "area_cells_max")),
            log_bin_width=_pf("trial", "log_bin_width"),
            quadrature_stride=int(_pf("trial", "quadrature_stride")),
        )

    def replace(self, **changes: Any) -> TrialParameters:
        """A copy with some fields changed; ``population`` fields may be given as
        ``population={"rater_noise_sd": 0.1}`` (a partial mapping)."""
        pop = changes.pop("population", None)
        if isinstance(pop, dict):
            changes["population"] = dataclasses.replace(self.population, **pop)
        elif pop is not None:
            changes["population"] = pop
        return dataclasses.replace(self, **changes)

    def check(self) -> None:
        """Every product has kinetics (guards hand-built parameter sets)."""
        missing = [p for p in PRODUCT_NAMES if p not in self.recovery_rate_per_day]
        if missing:
            raise ValueError(f"recovery_rate_per_day lacks {missing}")
