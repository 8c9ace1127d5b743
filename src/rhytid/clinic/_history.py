"""The medical-history questionnaire, schema version 1 (CONTRACTS.md ``screen`` input, extended).

Every answer may be ``null`` (or absent), meaning *not answered*: screening reports it in
``missing`` and never reads it as "no". Coded answers (medicines, conditions, allergens, areas,
side effects) must come from the lists in ``clinic.yaml``; anything else is a
:class:`~rhytid.errors.ScreeningError` naming the field, the value and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
)

from rhytid.clinic._rules import PRODUCTS, rules
from rhytid.errors import ScreeningError

__all__ = [
    "ANSWERED_FIELDS",
    "Allergy",
    "History",
    "PreviousToxin",
    "load_history",
    "medication_class",
    "parse_history",
]


def _codes(name: str) -> tuple[str, ...]:
    return tuple(str(c) for c in rules().codes[name].value)


def _medicines() -> dict[str, str]:
    return {str(k): str(v) for k, v in rules().medications.value.items()}


def medication_class(code: str) -> str:
    """The interaction class of a medicine code (``aminoglycoside``, ``antithrombotic``, …)."""
    return _medicines()[code]


def _check_code(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; allowed: {', '.join(allowed)}")
    return value


def _condition(v: str) -> str:
    allowed = _codes("neuromuscular_conditions") + _codes("other_conditions")
    return _check_code(v, allowed, "condition")


def _medicine(v: str) -> str:
    return _check_code(v, tuple(_medicines()), "medicine code")


def _side_effect(v: str) -> str:
    return _check_code(v, _codes("toxin_side_effects"), "side effect")


ConditionCode = Annotated[str, AfterValidator(_condition)]
MedicineCode = Annotated[str, AfterValidator(_medicine)]
SideEffectCode = Annotated[str, AfterValidator(_side_effect)]


class _Answers(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Allergy(_Answers):
    """An allergy: a coded substance, the reaction seen and optional detail."""

    substance: str
    reaction: str | None = None
    detail: str | None = None

    @field_validator("substance")
    @classmethod
    def _known_substance(cls, v: str) -> str:
        allowed = _codes("toxin_allergens") + _codes("component_allergens")
        return _check_code(v, allowed, "allergen")


class PreviousToxin(_Answers):
    """One previous botulinum toxin treatment."""

    date: dt.date
    product: str | None = None
    units: float | None = Field(default=None, gt=0)
    area: str | None = None
    response: Literal["good", "partial", "none"] | None = None
    side_effects: tuple[SideEffectCode, ...] = ()

    @field_validator("product")
    @classmethod
    def _known_product(cls, v: str | None) -> str | None:
        return None if v is None else _check_code(v, (*PRODUCTS, "unknown"), "product")

    @field_validator("area")
    @classmethod
    def _known_area(cls, v: str | None) -> str | None:
        return None if v is None else _check_code(v, _codes("treatment_areas"), "area")


class History(_Answers):
    """A patient's answers to the medical-history questionnaire (``None`` = not answered)."""

    schema_version: Literal[1]
    allergies: tuple[Allergy, ...] | None = None
    conditions: tuple[ConditionCode, ...] | None = None
    medications: tuple[MedicineCode, ...] | None = None
    #: Medicines the list does not name, in the patient's own words (optional, not screened by code).
    other_medicines: str | None = None
    pregnant: StrictBool | None = None
    breastfeeding: StrictBool | None = None
    infection_at_injection_site: StrictBool | None = None
    inflammation_at_injection_site: StrictBool | None = None
    previous_toxin: tuple[PreviousToxin, ...] | None = None
    previous_eyelid_droop: StrictBool | None = None
    previous_brow_droop: StrictBool | None = None
    facial_surgery: StrictBool | None = None
    facial_surgery_details: str | None = None
    dry_eye: StrictBool | None = None
    bleeding_disorder: StrictBool | None = None
    notes: str | None = None


#: The answers a complete questionnaire must hold (free text is optional).
ANSWERED_FIELDS: tuple[str, ...] = tuple(
    name
    for name in History.model_fields
    if name not in ("schema_version", "facial_surgery_details", "other_medicines", "notes")
)


def _describe(error: Mapping[str, Any]) -> str:
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]).lstrip(".")
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(History.model_fields)
        return f"{where}: unknown field; the questionnaire's fields are: {allowed}"
    if error["type"] == "literal_error" and where == "schema_version":
        return f"schema_version: must be 1, got {error['input']!r}"
    if error["type"] == "value_error":
        return f"{where}: {message}"
    return f"{where or 'history'}: {message} (got {error['input']!r})"


def parse_history(data: Any) -> History:
    """Validate questionnaire answers (a mapping as read from JSON) into a :class:`History`."""
    if not isinstance(data, Mapping):
        raise ScreeningError(f"history: expected a JSON object, got {type(data).__name__}")
    try:
        return History.model_validate(data)
    except ValidationError as exc:
        raise ScreeningError(_describe(exc.errors()[0])) from None


def load_history(path: str | Path) -> History:
    """Read and validate a ``HISTORY.json`` file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScreeningError(f"history file {str(path)!r}: cannot be read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ScreeningError(
            f"history file {str(path)!r}: not valid JSON (line {exc.lineno}: {exc.msg})"
        ) from None
    return parse_history(data)
