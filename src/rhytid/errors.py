"""Rhytid's one error tree.

Every error a user can cause derives from :class:`RhytidError` and, where one fits, from the
builtin exception a Python programmer would expect, so callers may catch either::

    RhytidError                                   .field: the input at fault (None if none)
    ├── PermissionDenied(RhytidError, PermissionError)  the actor's role may not do this
    ├── ParameterError(RhytidError, ValueError)   a data file is missing a value or malformed
    ├── AnatomyError(RhytidError, ValueError)     unknown landmark, site, muscle or area
    ├── PlanError(RhytidError, ValueError)        a treatment plan is invalid
    │   └── PlanFileError(PlanError)              a plan file cannot be read or parsed
    ├── PatientError(RhytidError, ValueError)     patient attributes out of range
    ├── ProductError(RhytidError, ValueError)     unknown product or impossible reconstitution
    ├── TrialError(RhytidError, ValueError)       an invalid virtual-trial design
    └── ClinicError(RhytidError, ValueError)      clinical input (history, symptoms, schedule) invalid
        ├── ScreeningError(ClinicError)
        └── TriageError(ClinicError)

Messages name the field, the value and what is allowed, e.g.
``injection 3: units must be between 0.5 and 100, got 5000``. The command line prints a
``RhytidError`` as one line on stderr and exits with status 2; any other exception is a bug.
"""

from __future__ import annotations

__all__ = [
    "AnatomyError",
    "ClinicError",
    "ParameterError",
    "PatientError",
    "PermissionDenied",
    "PlanError",
    "PlanFileError",
    "ProductError",
    "RhytidError",
    "ScreeningError",
    "TriageError",
    "TrialError",
]


def _field_of(message: str) -> str | None:
    head, sep, _ = message.partition(":")
    head = head.strip()
    return head if sep and 0 < len(head) <= 40 else None


class RhytidError(Exception):
    """Root of every error Rhytid raises on purpose.

    ``field`` names the input at fault: given, or else the message's lead (``"units: …"``), the
    house style; callers (the web layer) read the attribute, never the message text.
    """

    def __init__(self, message: str = "", *, field: str | None = None) -> None:
        super().__init__(message)
        self.field: str | None = field if field is not None else _field_of(message)


class PermissionDenied(RhytidError, PermissionError):
    """The acting user's role may not do this (HTTP 403)."""


class ParameterError(RhytidError, ValueError):
    """A packaged parameter or anatomy file is missing a value or is malformed."""


class AnatomyError(RhytidError, ValueError):
    """An unknown landmark, site, muscle or area was asked for."""


class PlanError(RhytidError, ValueError):
    """A treatment plan is invalid (site, units, volume, position, product)."""


class PlanFileError(PlanError):
    """A plan file cannot be read or is not valid TOML."""


class PatientError(RhytidError, ValueError):
    """Patient attributes are out of the supported range."""


class ProductError(RhytidError, ValueError):
    """An unknown product or an impossible reconstitution."""


class TrialError(RhytidError, ValueError):
    """An invalid virtual-trial design."""


class ClinicError(RhytidError, ValueError):
    """Invalid clinical input: medical history, symptoms, dates, schedules."""


class ScreeningError(ClinicError):
    """A medical history that cannot be screened as given."""


class TriageError(ClinicError):
    """An aftercare report that cannot be triaged as given."""
