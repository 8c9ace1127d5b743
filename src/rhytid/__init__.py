"""Rhytid: botulinum toxin treatment of facial wrinkles — a mechanistic model and its clinic.

>>> import rhytid
>>> plan = rhytid.load_plan("examples/glabellar-20U.toml")  # doctest: +SKIP
>>> rhytid.simulate(plan).to_dict()["model_version"]        # doctest: +SKIP
'0.1.0'
"""

from rhytid._outcome import AreaState, Outcome, Risk, Visit
from rhytid._parameters import Parameters, default_parameters
from rhytid._plan import Injection, Patient, Plan, ProductChoice, load_plan
from rhytid._version import __version__
from rhytid.errors import (
    AnatomyError,
    ClinicError,
    ParameterError,
    PatientError,
    PlanError,
    PlanFileError,
    ProductError,
    RhytidError,
    ScreeningError,
    TriageError,
    TrialError,
)
from rhytid.model import simulate

__all__ = [
    "AnatomyError",
    "AreaState",
    "ClinicError",
    "Injection",
    "Outcome",
    "ParameterError",
    "Parameters",
    "Patient",
    "PatientError",
    "Plan",
    "PlanError",
    "PlanFileError",
    "ProductChoice",
    "ProductError",
    "RhytidError",
    "Risk",
    "ScreeningError",
    "TriageError",
    "TrialError",
    "Visit",
    "__version__",
    "default_parameters",
    "load_plan",
    "simulate",
]
