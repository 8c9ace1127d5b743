"""Typed view of ``rhytid/data/clinic.yaml``: every rule's numbers, codes, wording and source.

The file is parsed once and validated by pydantic models, so a typo in a rule fails when the
rules are first used (and in the test suite), never in the middle of a consultation.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rhytid._data import load_yaml, sourced
from rhytid.errors import ParameterError

__all__ = [
    "PRODUCTS",
    "TRIAGE_LEVELS",
    "DurationRule",
    "ProductRules",
    "Rules",
    "ScreeningRule",
    "SymptomRule",
    "number",
    "rules",
    "text",
]

FILE = "clinic.yaml"
Severity = Literal["contraindication", "precaution", "note"]
TriageLevel = Literal["expected", "self_care", "contact_clinic", "emergency"]
TRIAGE_LEVELS: tuple[TriageLevel, ...] = ("expected", "self_care", "contact_clinic", "emergency")
PRODUCTS = (
    "onabotulinumtoxinA",
    "abobotulinumtoxinA",
    "incobotulinumtoxinA",
    "prabotulinumtoxinA",
    "daxibotulinumtoxinA",
)

_Source = Field(min_length=1)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sourced(_Strict):
    """A value with its published source."""

    value: Any
    source: str = _Source


class ProductRules(_Strict):
    """Label facts of one product (``None`` where the evidence does not give them)."""

    label_units_per_site: Sourced
    label_volume_per_site_ml: Sourced
    label_area_units: Sourced
    label_session_units: Sourced
    label_units_per_ml: Sourced
    shelf_life_after_reconstitution_h: Sourced
    retreatment_interval_days: Sourced
    max_units_in_3_months: Sourced
    units_per_ona_unit: Sourced
    formulation_allergens: Sourced


class DurationRule(_Strict):
    """Typical duration of effect for a product from a dose upward."""

    product: str
    min_units: float
    value: int
    source: str = _Source


class ScreeningRule(_Strict):
    """Severity and source of one screening finding code."""

    severity: Severity
    source: str = _Source


class SymptomRule(_Strict):
    """How one aftercare symptom is triaged (see clinic.yaml for the meaning of each field)."""

    level: TriageLevel
    source: str = _Source
    expected_days: int | None = None
    later: TriageLevel | None = None
    lasting_days: int | None = None
    lasting: TriageLevel | None = None
    sudden: TriageLevel | None = None
    treated_gradual: TriageLevel | None = None
    filler: TriageLevel | None = None


class CombinationRule(_Strict):
    """A level reached when all listed symptoms are present together."""

    all: tuple[str, ...]
    level: TriageLevel
    reason: str
    source: str = _Source


class TriageRules(_Strict):
    levels: Sourced
    symptoms: dict[str, SymptomRule]
    combinations: tuple[CombinationRule, ...]
    groups: dict[str, Sourced]
    advice: dict[str, Sourced]
    questions: Sourced
    interview: Sourced
    area_questions: Sourced


class Rules(_Strict):
    """All of clinic.yaml."""

    schema_version: Sourced
    products: dict[str, ProductRules]
    typical_duration_days: tuple[DurationRule, ...]
    schedule: dict[str, Sourced]
    dosing: dict[str, Sourced]
    dosing_tolerances: dict[str, Sourced]
    placement: dict[str, Sourced]
    screening: dict[str, ScreeningRule]
    codes: dict[str, Sourced]
    medications: Sourced
    triage: TriageRules
    fillers: dict[str, Sourced]
    advice: dict[str, Sourced]


@cache
def rules() -> Rules:
    """The validated clinical rules (cached)."""
    try:
        parsed = Rules.model_validate(load_yaml(FILE))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ParameterError(f"{FILE}:{where}: {first['msg']}") from None
    if set(parsed.products) != set(PRODUCTS):
        raise ParameterError(f"{FILE}: products must be exactly {', '.join(PRODUCTS)}")
    return parsed


def number(section: str, key: str) -> float:
    """A sourced number of a flat section, e.g. ``number("placement", "caution_band_mm")``."""
    table: dict[str, Sourced] = getattr(rules(), section)
    if key not in table:
        raise ParameterError(f"{FILE}: missing parameter {section}.{key}")
    return float(sourced(table[key].model_dump(), f"{FILE}:{section}.{key}"))


def text(section: str, key: str) -> str:
    """A sourced piece of wording of a flat section."""
    table: dict[str, Sourced] = getattr(rules(), section)
    if key not in table:
        raise ParameterError(f"{FILE}: missing wording {section}.{key}")
    return str(table[key].value)
