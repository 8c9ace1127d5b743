"""Typed tissue parameters from ``rhytid/data/tissue.yaml``.

They are one part of :class:`rhytid.Parameters` (the one source of every model value);
:func:`load_tissue_parameters` reads them through a lookup (calibrated or packaged values) and
:func:`tissue_parameters` is the tissue part of the default :class:`~rhytid.Parameters`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from rhytid._data import load_yaml, sourced, value
from rhytid.errors import ParameterError
from rhytid.tissue._sheet import SheetMaterial

__all__ = ["TissueParameters", "load_tissue_parameters", "sheet_material", "tissue_parameters"]

_F = "tissue.yaml"
Lookup = Callable[..., Any]

#: the fields the unit fields, the activation matrix and the reference buckling depend on: two
#: parameter sets that agree on these share one basis, engine and face model
MECHANICS_FIELDS = (
    "dermis_modulus_mpa",
    "subcutis_modulus_kpa",
    "poisson_ratio",
    "foundation_thickness_mm",
    "skin_thickness_mm",
    "prestress_kpa",
    "max_active_stress_kpa",
    "skin_coupling",
    "tether_fascia_n_per_mm3",
    "tether_spacing_mm",
    "tether_width_mm",
    "spacing_mm",
    "padding_mm",
    "mask_edge_mm",
    "segment_softness_mm",
    "quadrature_mm",
    "expressions",
)


@dataclass(frozen=True)
class TissueParameters:
    dermis_modulus_mpa: float
    subcutis_modulus_kpa: float
    poisson_ratio: float
    foundation_thickness_mm: float
    skin_thickness_mm: dict[str, dict[str, float]]
    prestress_kpa: float
    modulus_age_slope_per_year: float
    reference_age: float
    max_active_stress_kpa: float
    skin_coupling: float
    male_strength_factor: float
    tether_fascia_n_per_mm3: float
    tether_spacing_mm: float
    tether_width_mm: float
    spacing_mm: float
    padding_mm: float
    mask_edge_mm: float
    segment_softness_mm: float
    quadrature_mm: float
    expressions: dict[str, dict[str, float]]
    depth_percentile: float
    static_onset_age: float
    static_etch_per_year: float
    male_static_factor: float
    static_ease_max: float
    static_ease_tau_days: float
    static_ease_step_days: float
    grade_thresholds_um: tuple[float, float, float]
    brow_upper_margin_offset_mm: float
    brow_reference_x_mm: float
    frown_displacement_mm: float
    levator_excursion_mm: float
    risk_eyelid_droop_mm: tuple[float, float, float]
    risk_below_rim_level: Literal["low", "moderate", "high"]
    risk_brow_drop_mm: tuple[float, float, float]
    risk_asymmetry_mm: float
    risk_unintended_block: tuple[float, float, float]

    def mechanics_key(self) -> str:
        """Digest of :data:`MECHANICS_FIELDS` (the cache key of bases, engines, face models)."""
        text = repr([(name, getattr(self, name)) for name in MECHANICS_FIELDS])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_tissue_parameters(lookup: Lookup = value) -> TissueParameters:
    """The tissue parameters, each read as ``lookup("tissue.yaml", *path)``."""

    def _f(*path: str) -> float:
        return float(lookup(_F, *path))

    def _level(*path: str) -> Literal["low", "moderate", "high"]:
        v = str(lookup(_F, *path))
        if v not in ("low", "moderate", "high"):
            raise ParameterError(f"{_F}:{'.'.join(path)} must be low | moderate | high, got {v!r}")
        return v  # type: ignore[return-value]

    def _t3(*path: str) -> tuple[float, float, float]:
        v = lookup(_F, *path)
        return (float(v[0]), float(v[1]), float(v[2]))

    data = load_yaml(_F)
    thickness = {
        region: {k: float(v) for k, v in sourced(entry, f"skin.thickness_mm.{region}").items()}
        for region, entry in data["skin"]["thickness_mm"].items()
    }
    expressions = {
        name: {k: float(v) for k, v in sourced(entry, f"expressions.{name}").items()}
        for name, entry in data["expressions"].items()
    }
    return TissueParameters(
        dermis_modulus_mpa=_f("skin", "dermis_modulus_mpa"),
        subcutis_modulus_kpa=_f("skin", "subcutis_modulus_kpa"),
        poisson_ratio=_f("skin", "poisson_ratio"),
        foundation_thickness_mm=_f("skin", "foundation_thickness_mm"),
        skin_thickness_mm=thickness,
        prestress_kpa=_f("skin", "prestress_kpa"),
        modulus_age_slope_per_year=_f("skin", "modulus_age_slope_per_year"),
        reference_age=_f("skin", "reference_age"),
        max_active_stress_kpa=_f("muscle", "max_active_stress_kpa"),
        skin_coupling=_f("muscle", "skin_coupling"),
        male_strength_factor=_f("muscle", "male_strength_factor"),
        tether_fascia_n_per_mm3=_f("tethers", "fascia_n_per_mm3"),
        tether_spacing_mm=_f("tethers", "spacing_mm"),
        tether_width_mm=_f("tethers", "width_mm"),
        spacing_mm=_f("raster", "spacing_mm"),
        padding_mm=_f("raster", "padding_mm"),
        mask_edge_mm=_f("raster", "mask_edge_mm"),
        segment_softness_mm=_f("raster", "segment_softness_mm"),
        quadrature_mm=_f("raster", "quadrature_mm"),
        expressions=expressions,
        depth_percentile=_f("wrinkles", "depth_percentile"),
        static_onset_age=_f("wrinkles", "static_onset_age"),
        static_etch_per_year=_f("wrinkles", "static_etch_per_year"),
        male_static_factor=_f("wrinkles", "male_static_factor"),
        static_ease_max=_f("wrinkles", "static_ease_max"),
        static_ease_tau_days=_f("wrinkles", "static_ease_tau_days"),
        static_ease_step_days=_f("wrinkles", "static_ease_step_days"),
        grade_thresholds_um=_t3("wrinkles", "grade_thresholds_um"),
        brow_upper_margin_offset_mm=_f("brow", "upper_margin_offset_mm"),
        brow_reference_x_mm=_f("brow", "reference_point_x_mm"),
        frown_displacement_mm=_f("brow", "frown_displacement_mm"),
        levator_excursion_mm=_f("eyelid", "levator_excursion_mm"),
        risk_eyelid_droop_mm=_t3("risk", "eyelid_droop_mm"),
        risk_below_rim_level=_level("risk", "below_rim_level"),
        risk_brow_drop_mm=_t3("risk", "brow_drop_mm"),
        risk_asymmetry_mm=_f("risk", "asymmetry_mm"),
        risk_unintended_block=_t3("risk", "unintended_block"),
    )


def tissue_parameters() -> TissueParameters:
    """The tissue part of the default :class:`rhytid.Parameters` (:func:`rhytid.default_parameters`)."""
    from rhytid._parameters import default_parameters

    return default_parameters().tissue


def sheet_material(sex: str, params: TissueParameters | None = None) -> SheetMaterial:
    """The skin sheet of the reference face of ``sex`` (forehead skin, reference age)."""
    p = params or tissue_parameters()
    shear_modulus_subcutis_mpa = p.subcutis_modulus_kpa * 1e-3 / (2.0 * (1.0 + p.poisson_ratio))
    return SheetMaterial(
        modulus_mpa=p.dermis_modulus_mpa,
        poisson_ratio=p.poisson_ratio,
        thickness_mm=p.skin_thickness_mm["forehead"][sex],
        foundation_n_per_mm3=shear_modulus_subcutis_mpa / p.foundation_thickness_mm,
    )
