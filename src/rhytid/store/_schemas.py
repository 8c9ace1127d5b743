"""Pydantic models split by direction: ``XCreate`` (input), ``XUpdate`` (partial), ``XPublic`` (output)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    ValidationInfo,
    field_serializer,
    field_validator,
)

from rhytid.clinic import PRODUCTS
from rhytid.store._security import MAX_LENGTH, password_problem

__all__ = [
    "AcknowledgeRequest",
    "AcknowledgementIn",
    "AdverseEventCreate",
    "AdverseEventPublic",
    "AftercarePublic",
    "AppointmentCreate",
    "AppointmentPublic",
    "AssessmentCreate",
    "AssessmentPublic",
    "AuditPublic",
    "GradePair",
    "HistoryPublic",
    "InjectionIn",
    "PasswordChange",
    "PasswordReset",
    "PatientClinical",
    "PatientCreate",
    "PatientPublic",
    "PatientUpdate",
    "PhotoPublic",
    "PlanCreate",
    "PlanPublic",
    "TreatmentCreate",
    "TreatmentPublic",
    "UserCreate",
    "UserPublic",
    "VialCreate",
    "VialPublic",
]

Role = Literal["admin", "clinician", "front_desk"]
Sex = Literal["female", "male"]
Depth = Literal["intramuscular", "subcutaneous", "intradermal"]
Kind = Literal["consultation", "treatment", "review", "recall"]
Area = Literal["glabellar", "forehead", "lateral_canthal_l", "lateral_canthal_r"]
PlanStatus = Literal["draft", "ready"]


#: The largest id any table can hold (PostgreSQL ``INTEGER``); a larger one names no record.
MAX_ID = 2**31 - 1
#: The dates the clinic accepts: birth dates, visits, vials and appointments all fall between.
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2199, 12, 31)


def _no_number(v: Any) -> Any:
    if isinstance(v, int | float):  # bool included: JSON 0 or true is not a date
        raise ValueError("give a date as text (YYYY-MM-DD or YYYY-MM-DDTHH:MM), not a number")
    return v


def _day_in_range(v: dt.date) -> dt.date:
    if not EARLIEST <= v <= LATEST:
        raise ValueError(f"must lie between {EARLIEST} and {LATEST}, got {v.isoformat()}")
    return v


def _moment_in_range(v: dt.datetime) -> dt.datetime:
    _day_in_range(v.date())  # the wall-clock date, before any conversion between zones
    return v


#: A record id (422 outside 1..MAX_ID).
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
#: A calendar date between EARLIEST and LATEST, given as text.
Day = Annotated[dt.date, BeforeValidator(_no_number), AfterValidator(_day_in_range)]
#: A date and time between EARLIEST and LATEST, given as text; naive = UTC, an offset is converted.
Moment = Annotated[dt.datetime, BeforeValidator(_no_number), AfterValidator(_moment_in_range)]


def _product(v: str) -> str:
    if v not in PRODUCTS:
        raise ValueError(f"unknown product {v!r}; allowed: {', '.join(PRODUCTS)}")
    return v


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    @field_serializer("*", mode="wrap")
    def _aware(self, value: Any, handler: SerializerFunctionWrapHandler) -> Any:
        """Stored times are naive UTC; every time that leaves carries its offset (``Z``)."""
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return handler(value)


# --- users -------------------------------------------------------------------------------------
def _password(v: str, info: ValidationInfo) -> str:
    problem = password_problem(v, info.data.get("email"))
    if problem:
        raise ValueError(problem)
    return v


class UserCreate(_In):
    # passwords are kept exactly as typed: no whitespace is stripped (the e-mail and name are)
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)
    email: Annotated[str, StringConstraints(strip_whitespace=True)] = Field(
        min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$"
    )
    name: Annotated[str, StringConstraints(strip_whitespace=True)] = Field(min_length=1, max_length=200)
    role: Role
    password: str = Field(max_length=MAX_LENGTH)

    _check_password = field_validator("password")(_password)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(max_length=MAX_LENGTH)
    new_password: str = Field(max_length=MAX_LENGTH)


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    new_password: str = Field(max_length=MAX_LENGTH)


class UserUpdate(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    active: bool | None = None


class UserPublic(_Out):
    id: int
    email: str
    name: str
    role: str
    active: bool


# --- patients ----------------------------------------------------------------------------------
class PatientCreate(_In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"given_name": "Maria", "family_name": "Example", "birth_date": "1979-03-14", "sex": "female"}
            ]
        }
    )
    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    birth_date: Day
    sex: Sex
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    clinical_notes: str | None = Field(default=None, max_length=20000)

    @field_validator("birth_date")
    @classmethod
    def _adult(cls, v: dt.date) -> dt.date:
        today = dt.date.today()
        age = today.year - v.year - ((today.month, today.day) < (v.month, v.day))
        if not 18 <= age <= 120:
            raise ValueError(f"patient must be 18 to 120 years old; this date gives {age}")
        return v


class PatientUpdate(_In):
    given_name: str | None = Field(default=None, min_length=1, max_length=100)
    family_name: str | None = Field(default=None, min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    clinical_notes: str | None = Field(default=None, max_length=20000)


class PatientPublic(_Out):
    """Demographics only: what the front desk may see."""

    id: int
    given_name: str
    family_name: str
    birth_date: dt.date
    sex: str
    phone: str | None
    email: str | None


class PatientClinical(PatientPublic):
    clinical_notes: str | None


# --- histories ---------------------------------------------------------------------------------
class HistoryPublic(_Out):
    id: int
    patient_id: int
    version: int
    answers: dict[str, Any]
    screening: dict[str, Any]
    decision: str
    acknowledgements: list[Any]
    unacknowledged: list[str] = []
    submitted_by: str
    created_at: dt.datetime
    status: str = "accepted"
    reviewed_by: str | None = None
    reviewed_at: dt.datetime | None = None


class AcknowledgeRequest(_In):
    codes: list[str] = Field(min_length=1, max_length=50)


# --- assessments -------------------------------------------------------------------------------
class GradePair(_In):
    rest: int = Field(ge=0, le=3)
    max: int = Field(ge=0, le=3)


class AssessmentCreate(_In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"assessed_on": "2025-01-02", "grades": {"glabellar": {"rest": 1, "max": 2}}}]
        }
    )
    assessed_on: Day
    grades: dict[Area, GradePair] = Field(min_length=1)
    notes: str | None = Field(default=None, max_length=20000)


class PhotoPublic(_Out):
    id: int
    filename: str
    content_type: str
    sha256: str
    size_bytes: int
    view: str | None = None


class AssessmentPublic(_Out):
    id: int
    patient_id: int
    assessed_on: dt.date
    grades: dict[str, Any]
    notes: str | None
    photos: list[PhotoPublic] = []


# --- plans -------------------------------------------------------------------------------------
class InjectionIn(_In):
    site: str | None = Field(default=None, max_length=60)
    x_mm: float | None = Field(default=None, ge=-200, le=200)
    y_mm: float | None = Field(default=None, ge=-200, le=200)
    units: float = Field(ge=0.5, le=100)
    depth: Depth = "intramuscular"


class PlanCreate(_In):
    product: str
    vial_units: float = Field(default=100, gt=0, le=1000)
    diluent_ml: float = Field(default=2.5, gt=0, le=10)
    injections: list[InjectionIn] = Field(min_length=1, max_length=60)
    #: ``ready`` (may be recorded; refused while a finding blocks) or ``draft`` (kept, not recorded)
    status: PlanStatus = "ready"

    _check_product = field_validator("product")(_product)


class DraftPoint(_In):
    """A point of the planner's draft: where (face frame, mm), units, depth, named site."""

    site: str | None = Field(default=None, max_length=60)
    x_mm: float = Field(ge=-200, le=200)
    y_mm: float = Field(ge=-200, le=200)
    units: float = Field(ge=0, le=1000)
    depth: Depth = "intramuscular"


class DraftState(_In):
    """The planner as it is being edited (kept as a draft; not a plan until it is saved)."""

    product: str
    vial_units: float = Field(default=100, gt=0, le=1000)
    diluent_ml: float = Field(default=2.5, gt=0, le=10)
    default_units: float = Field(default=4, ge=0.5, le=100)
    day: float = Field(default=30, ge=0, le=365)
    points: list[DraftPoint] = Field(default_factory=list, max_length=60)

    _check_product = field_validator("product")(_product)


class MapsRequest(_In):
    """A plan and the day of its depth maps."""

    plan: PlanCreate
    day: float = Field(default=30, ge=0, le=365)


class UnitConversionRequest(_In):
    """Units of one product to convert to another when the planner's product is switched."""

    from_product: str
    to_product: str
    units: list[float] = Field(min_length=1, max_length=60)

    _check_from = field_validator("from_product")(_product)
    _check_to = field_validator("to_product")(_product)

    @field_validator("units")
    @classmethod
    def _positive(cls, v: list[float]) -> list[float]:
        for n, u in enumerate(v, start=1):
            if not 0 < u <= 1000:
                raise ValueError(f"point {n}: units must be more than 0 and at most 1000, got {u:g}")
        return v


class PlanPublic(_Out):
    id: int
    patient_id: int
    product: str
    vial_units: float
    diluent_ml: float
    injections: list[Any]
    total_units: float
    status: str
    preview: dict[str, Any]
    check: dict[str, Any]
    created_at: dt.datetime


# --- vials and treatments ----------------------------------------------------------------------
class VialCreate(_In):
    product: str
    lot: str = Field(min_length=1, max_length=60)
    expiry: Day
    vial_units: float = Field(gt=0, le=1000)
    diluent_ml: float = Field(gt=0, le=10)
    reconstituted_at: Moment

    _check_product = field_validator("product")(_product)

    @field_validator("reconstituted_at")
    @classmethod
    def _naive(cls, v: dt.datetime) -> dt.datetime:
        return v.astimezone(dt.UTC).replace(tzinfo=None) if v.tzinfo else v


class VialPublic(_Out):
    id: int
    product: str
    lot: str
    expiry: dt.date
    vial_units: float
    diluent_ml: float
    reconstituted_at: dt.datetime
    units_left: float
    discarded: bool
    #: when the reconstituted vial must be used by (label shelf life), and why it may not be used
    use_by: dt.datetime | None = None
    flags: list[str] = []


class AcknowledgementIn(_In):
    """A clinician's acknowledgement, with a reason, of a review finding about a record (``ref``)."""

    ref: str = Field(min_length=1, max_length=60)
    reason: str = Field(min_length=1, max_length=2000)


class TreatmentCreate(_In):
    plan_id: Id
    vial_id: Id
    performed_at: Moment | None = None
    notes: str | None = Field(default=None, max_length=20000)
    #: the vial's units per mL, confirming the volumes recomputed from its reconstitution when it
    #: differs from the plan's
    confirm_units_per_ml: float | None = Field(default=None, gt=0)
    acknowledgements: list[AcknowledgementIn] = Field(default_factory=list, max_length=50)


class InjectionPublic(_Out):
    site: str | None
    x_mm: float
    y_mm: float
    units: float
    volume_ml: float | None = None
    depth: str


class TreatmentPublic(_Out):
    id: int
    patient_id: int
    plan_id: int | None
    vial_id: int
    clinician_id: int
    performed_at: dt.datetime
    product: str
    lot: str
    expiry: dt.date
    total_units: float
    vial_units: float | None = None
    diluent_ml: float | None = None
    areas: list[Any]
    notes: str | None
    acknowledgements: list[Any] = []
    injections: list[InjectionPublic] = []
    follow_up: dict[str, Any] | None = None


# --- appointments ------------------------------------------------------------------------------
class AppointmentCreate(_In):
    patient_id: Id
    clinician_id: Id
    kind: Kind
    starts_at: Moment
    minutes: int = Field(default=15, ge=5, le=240)
    treatment_id: Id | None = None
    notes: str | None = Field(default=None, max_length=2000)

    @field_validator("starts_at")
    @classmethod
    def _naive(cls, v: dt.datetime) -> dt.datetime:
        return v.astimezone(dt.UTC).replace(tzinfo=None) if v.tzinfo else v


class AppointmentPublic(_Out):
    id: int
    patient_id: int
    clinician_id: int
    kind: str
    starts_at: dt.datetime
    minutes: int
    status: str
    treatment_id: int | None
    notes: str | None


# --- aftercare and adverse events --------------------------------------------------------------
class AftercarePublic(_Out):
    id: int
    patient_id: int
    treatment_id: int | None
    report: dict[str, Any]
    level: str
    advice: str
    reasons: list[Any]
    alert_open: bool
    created_at: dt.datetime


class AdverseEventCreate(_In):
    treatment_id: Id | None = None
    onset_date: Day
    kind: str = Field(min_length=1, max_length=60)
    severity: Literal["mild", "moderate", "severe"]
    description: str = Field(min_length=1, max_length=20000)
    outcome: str | None = Field(default=None, max_length=60)


class AdverseEventPublic(_Out):
    id: int
    patient_id: int
    treatment_id: int | None
    onset_date: dt.date
    kind: str
    severity: str
    description: str
    outcome: str | None
    created_at: dt.datetime


class AuditPublic(_Out):
    id: int
    at: dt.datetime
    actor: str
    user_id: int | None
    action: str
    entity: str
    entity_id: int | None
    patient_id: int | None
    detail: str | None
