"""Botulinum toxin type A products: reconstitution, potency and kinetic parameters.

Units of different products are not interchangeable. Inside the model each product's units are
converted to onabotulinumtoxinA-equivalent units (``ona_equivalent_per_unit``); that factor is an
approximation from clinical practice and never leaves the model as a dose recommendation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rhytid._data import load_yaml, sourced, value
from rhytid.errors import ProductError

__all__ = ["PRODUCT_NAMES", "Product", "get_product", "label_pattern", "load_products"]


@dataclass(frozen=True)
class Product:
    """One product and its parameters (units: U of this product, mL, hours, days)."""

    name: str
    brand: str
    vial_units: float
    diluent_ml: float
    use_within_h: float
    ona_equivalent_per_unit: float
    onset_days: float
    recovery_rate_per_day: float

    @property
    def default_units_per_ml(self) -> float:
        return self.vial_units / self.diluent_ml


def _load(name: str, spec: dict[str, object], lookup: Callable[..., Any]) -> Product:
    def v(key: str) -> float:
        return float(lookup("toxins.yaml", "products", name, key))

    return Product(
        name=name,
        brand=str(spec["brand"]),
        vial_units=v("vial_units"),
        diluent_ml=v("diluent_ml"),
        use_within_h=v("use_within_h"),
        ona_equivalent_per_unit=v("ona_equivalent_per_unit"),
        onset_days=v("onset_days"),
        recovery_rate_per_day=v("recovery_rate_per_day"),
    )


def load_products(lookup: Callable[..., Any] = value) -> dict[str, Product]:
    """Every product, its values read as ``lookup("toxins.yaml", "products", name, key)``."""
    return {k: _load(k, v, lookup) for k, v in load_yaml("toxins.yaml")["products"].items()}


def _products() -> dict[str, Product]:
    from rhytid._parameters import default_parameters

    return default_parameters().products


PRODUCT_NAMES: tuple[str, ...] = tuple(load_yaml("toxins.yaml")["products"])


def get_product(name: str) -> Product:
    """The product called ``name`` (e.g. ``"onabotulinumtoxinA"``)."""
    try:
        return _products()[name]
    except KeyError:
        allowed = " | ".join(PRODUCT_NAMES)
        raise ProductError(f"product: unknown product {name!r}; allowed: {allowed}") from None


def label_pattern(area: str, product: str) -> dict[str, float]:
    """Units per named site of the product's label pattern for an area.

    Where a product has no label pattern for an area, the onabotulinumtoxinA pattern is used
    with its units converted through the ona-equivalent factors (approximate).
    """
    patterns = load_yaml("toxins.yaml")["label_patterns"]
    if area not in patterns:
        raise ProductError(f"area: no label pattern for {area!r}; allowed: {', '.join(patterns)}")
    by_product = patterns[area]
    get_product(product)
    if product in by_product:
        pattern = sourced(by_product[product], f"label_patterns.{area}.{product}")
        return {k: float(u) for k, u in pattern.items()}
    ona = sourced(by_product["onabotulinumtoxinA"], f"label_patterns.{area}.onabotulinumtoxinA")
    factor = 1.0 / get_product(product).ona_equivalent_per_unit
    return {k: float(u) * factor for k, u in ona.items()}
