"""The aftercare interview of ``rhytid triage --interactive``, with the I/O injected.

:func:`interview` asks the questions of ``clinic.yaml`` (``triage.questions``, red flags first)
one by one in plain language through the callables it is given, builds the CONTRACTS.md report
and stops asking as soon as an answer makes the triage an emergency: then time matters more
than completeness.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rhytid.clinic._rules import rules
from rhytid.clinic._triage import AftercareReport, parse_report, triage

__all__ = ["interview"]


def _wording(key: str) -> str:
    return str(rules().triage.interview.value[key])


def interview(
    ask_yes_no: Callable[[str], bool],
    ask_number: Callable[[str], float],
    say: Callable[[str], None],
) -> AftercareReport:
    """Ask the aftercare questions and return the report (validated)."""
    table = rules().triage
    say(_wording("intro"))
    report: dict[str, Any] = {
        "days_since_treatment": ask_number(_wording("days_since_treatment")),
        "treated_areas": [
            code
            for code, words in table.area_questions.value.items()
            if ask_yes_no(_wording("area").format(area=words))
        ],
        "symptoms": [],
    }
    parse_report(report)  # fail early on an impossible number of days
    for code, question in table.questions.value.items():
        if not ask_yes_no(str(question)):
            continue
        rule = table.symptoms[code]
        symptom: dict[str, Any] = {"code": code}
        if code == "facial_droop" or rule.sudden is not None:
            symptom["onset"] = "sudden" if ask_yes_no(_wording("onset")) else "gradual"
        if code == "facial_droop":
            local = ask_yes_no(_wording("location"))
            symptom["location"] = "treated_area" if local else "outside_treated_area"
        if rule.lasting_days is not None:
            symptom["days"] = ask_number(_wording("days"))
        report["symptoms"].append(symptom)
        if triage(parse_report(report)).level == "emergency":
            say(_wording("stop"))
            break
    return parse_report(report)
