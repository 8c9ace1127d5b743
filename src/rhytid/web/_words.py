"""Error messages for people: the field a message names in words, not as a code.

The library's errors start with the field they concern, as a code (``plan_id: no plan 7``,
``injections.2.units: …``) so that the JSON API and the command line can point at it. A page shows
the same message with that code as a label a person reads: ``Plan: no plan 7``,
``Injection 3 — units: …``. The JSON API keeps the codes.

:func:`plain_message` says what pydantic found wrong with an input in those words too ("required",
"must be at least 0", "not a number: '20u'") instead of its own ("Field required", "Input should be
greater than or equal to 0", "Input should be a valid number, unable to parse string as a number").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["field_label", "plain_message", "staff_words"]

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


def _num(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _quoted(v: Any) -> str:
    text = str(v)
    return f"'{text[:40]}…'" if len(text) > 40 else f"'{text}'"


def _choices(expected: Any) -> str:
    """pydantic's ``'a', 'b' or 'c'`` as ``a, b or c``, the codes in words."""
    return re.sub(r"'([^']*)'", lambda m: m.group(1).replace("_", " "), str(expected))


#: pydantic's error types in words; ``{name}``: the error's context (``gt``, ``min_length`` …).
_PLAIN: dict[str, str] = {
    "missing": "required",
    "greater_than": "must be more than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "multiple_of": "must be a multiple of {multiple_of}",
    "finite_number": "must be a number",
    "string_too_long": "at most {max_length} characters",
    "too_long": "at most {max_length}",
    "extra_forbidden": "not asked for here; leave it out",
    "bool_parsing": "answer yes or no",
    "bool_type": "answer yes or no",
    "string_type": "must be text",
    "string_pattern_mismatch": "not in the expected form",
    "int_from_float": "must be a whole number",
    "date_future": "must be a date in the future",
    "date_past": "must be a date in the past",
    "dict_type": "not in the expected form",
    "model_type": "not in the expected form",
    "model_attributes_type": "not in the expected form",
    "list_type": "must be a list",
    "json_invalid": "not readable (broken JSON)",
    "json_type": "not readable (broken JSON)",
    "none_required": "leave it empty",
}
_NOT_A = {
    "float": "not a number",
    "int": "not a whole number",
    "decimal": "not a number",
    "date": "not a date (e.g. 2025-01-31)",
    "datetime": "not a date and time (e.g. 2025-01-31 14:30)",
    "time": "not a time (e.g. 14:30)",
    "timedelta": "not a length of time",
    "url": "not a web address",
    "uuid": "not an identifier",
}


def plain_message(error: Mapping[str, Any]) -> str:
    """What is wrong with one input (a pydantic error's ``type``, ``ctx``, ``input``, ``msg``), in
    words a person reads, without the field (the caller names it): ``required``,
    ``must be at least 0``, ``not a number: '20u'``, ``choose female or male``. A validator's own
    message (a ``value_error``) is kept as it was written."""
    kind = str(error.get("type", ""))
    ctx = {k: _num(v) for k, v in (error.get("ctx") or {}).items()}
    value = error.get("input")
    msg = str(error.get("msg", ""))
    if kind in ("value_error", "assertion_error"):
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind in ("literal_error", "enum"):
        return f"choose {_choices(ctx.get('expected', ''))}"
    if kind in ("string_too_short", "too_short"):
        if ctx.get("min_length") in ("1", 1) or not value:
            return "required" if kind == "string_too_short" else "add at least one"
        return f"at least {ctx['min_length']}" + (" characters" if kind == "string_too_short" else "")
    if kind in _PLAIN:
        return _PLAIN[kind].format_map(ctx) if "{" in _PLAIN[kind] else _PLAIN[kind]
    head = kind.split("_")[0]
    if kind.startswith("date_from_datetime"):
        head = "date"
    elif kind.startswith("datetime_from_date"):
        head = "datetime"
    if head in _NOT_A and (kind.endswith(("_parsing", "_type")) or "_from_" in kind):
        said = _NOT_A[head]
        shown = isinstance(value, str | int | float) and not isinstance(value, bool) and str(value) != ""
        return f"{said}: {_quoted(value)}" if shown else said
    # an error type not listed: pydantic's words without its "Input should be" preamble
    return re.sub(r"^Input should be ", "must be ", msg)
