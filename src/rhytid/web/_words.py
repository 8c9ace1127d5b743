"""Error messages for people: the field a message names in words, not as a code.

The library's errors start with the field they concern, as a code (``plan_id: no plan 7``,
``injections.2.units: …``) so that the JSON API and the command line can point at it. A page shows
the same message with that code as a label a person reads: ``Plan: no plan 7``,
``Injection 3 — units: …``. The JSON API keeps the codes.
"""

from __future__ import annotations

import re

__all__ = ["field_label", "staff_words"]

#: Labels of the fields whose name alone does not say it (others: the code in words).
LABELS: dict[str, str] = {
    "plan_id": "Plan",
    "vial_id": "Vial",
    "syringe_id": "Syringe",
    "patient_id": "Patient",
    "clinician_id": "Clinician",
    "treatment_id": "Treatment",
    "appointment_id": "Appointment",
    "assessment_id": "Assessment",
    "user_id": "User",
    "on_call_user_id": "On-call clinician",
    "on_call_email": "On-call e-mail",
    "starts_at": "Start time",
    "ends_at": "End time",
    "reconstituted_at": "Time of reconstitution",
    "assessed_on": "Date of the assessment",
    "treated_at": "Time of treatment",
    "birth_date": "Date of birth",
    "given_name": "First name",
    "family_name": "Last name",
    "email": "E-mail",
    "phone": "Phone",
    "emergency_number": "Emergency number",
    "time_zone": "Time zone",
    "vial_units": "Units in the vial",
    "diluent_ml": "Diluent (mL)",
    "volume_ml": "Volume (mL)",
    "syringe_ml": "Syringe (mL)",
    "x_mm": "Position across (mm)",
    "y_mm": "Position up (mm)",
    "lot": "Lot number",
    "expiry": "Expiry date",
    "csrf_token": "Security check",
    "photo_view": "Photo view",
    "hyaluronidase_on_hand": "Hyaluronidase on hand",
    "opening_hours": "Opening hours",
    "logo": "Logo",
    "password": "Password",
    "signed_name": "Your full name",
    "agree": "Agreement",
    "template_version": "Consent text",
}
#: A list field's items are called by their singular: ``injections.2`` → ``Injection 3``.
SINGULAR = {"injections": "Injection", "sites": "Site", "points": "Point", "photos": "Photo"}

_HEAD = re.compile(
    r"^(?P<path>[a-z][a-z0-9_]*(?:(?:\[\d+\]|\.\d+|\.[a-z][a-z0-9_]*))*(?:/[a-z][a-z0-9_]*)*): "
)


def field_label(code: str) -> str:
    """A field code in words: ``plan_id`` → ``Plan``, ``birth_date`` → ``Date of birth``."""
    if code in LABELS:
        return LABELS[code]
    if numbered := re.fullmatch(r"([a-z]+)_(\d+)_([a-z][a-z0-9_]*)", code):  # site_2_volume_ml
        item, n, part = numbered.groups()
        words = field_label(part)
        return f"{field_label(item)} {n} — {words[:1].lower()}{words[1:]}"
    words = code.removesuffix("_id").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _path_words(path: str) -> str:
    if "/" in path:
        return " or ".join(
            field_label(p) if i == 0 else field_label(p).lower() for i, p in enumerate(path.split("/"))
        )
    parts = re.findall(r"[a-z][a-z0-9_]*|\d+", path)
    out: list[str] = []
    for part in parts:
        if part.isdigit() and out:
            out[-1] = f"{SINGULAR.get(parts[0], out[-1])} {int(part) + 1}"
        elif out:
            out.append(field_label(part).lower())
        else:
            out.append(field_label(part))
    return " — ".join(out)


def staff_words(message: str) -> str:
    """``message`` with its leading field code as words (unchanged when it has none)."""
    match = _HEAD.match(message)
    if match is None:
        return message
    return f"{_path_words(match.group('path'))}: {message[match.end() :]}"
