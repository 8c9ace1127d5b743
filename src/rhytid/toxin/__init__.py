"""Toxin: products (potency, reconstitution), spread (field of effect), kinetics (block over time)."""

from rhytid.toxin._kinetics import (
    DoseResponse,
    active_fraction,
    binding_factor,
    block_fraction,
    bound_uptake,
    dose_response,
    load_dose_response,
    peak_active_day,
)
from rhytid.toxin._products import PRODUCT_NAMES, Product, get_product, label_pattern, load_products
from rhytid.toxin._spread import (
    SpreadParameters,
    bolus_radius_mm,
    load_spread_parameters,
    spread_parameters,
    uptake_density,
)

__all__ = [
    "PRODUCT_NAMES",
    "DoseResponse",
    "Product",
    "SpreadParameters",
    "active_fraction",
    "binding_factor",
    "block_fraction",
    "bolus_radius_mm",
    "bound_uptake",
    "dose_response",
    "get_product",
    "label_pattern",
    "load_dose_response",
    "load_products",
    "load_spread_parameters",
    "peak_active_day",
    "spread_parameters",
    "uptake_density",
]
