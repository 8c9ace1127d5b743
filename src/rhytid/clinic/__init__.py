"""Clinical rules as pure functions: screening, dosing, placement, triage, advice, scheduling.

Every rule's numbers, codes, patient wording and published source live in
``rhytid/data/clinic.yaml``; every decision carries its reason and source.

- :func:`parse_history` / :func:`load_history` → :class:`History` (questionnaire, schema 1);
  :func:`screen` → :class:`Screening`; :func:`acknowledge`, :func:`clear`.
- :func:`parse_report` / :func:`load_report` → :class:`AftercareReport`; :func:`triage`.
- :func:`plan_view` reads a :class:`rhytid.Plan`; :func:`review_plan` → :class:`Review`: the one
  review of a plan (history, dosing, danger zones, the model's spread, the clinic's own record
  and its alerts) used by ``rhytid check``, the planner, the plan API and the treatment form;
  :func:`convert_units`, :func:`check_vial_age`, :func:`vial_use_by`, :func:`check_retreatment`,
  :func:`check_cumulative_dose`; :func:`injection_messages` reconciles a review's findings into
  one message per injection (worst level wins).
- :func:`advise_from_grades`, :func:`advise_from_depths`, :func:`advise_from_outcome`.
- :func:`follow_up` → :class:`FollowUp`.
"""

from rhytid.clinic._advice import (
    AreaAdvice,
    advise_from_depths,
    advise_from_grades,
    advise_from_outcome,
)
from rhytid.clinic._dosing import (
    PreviousDose,
    UnitConversion,
    check_cumulative_dose,
    check_doses,
    check_reconstitution,
    check_retreatment,
    check_vial_age,
    convert_plan_units,
    convert_units,
    vial_use_by,
    volume_per_point_ml,
)
from rhytid.clinic._findings import PlanFinding, ScreeningFinding
from rhytid.clinic._history import History, load_history, parse_history
from rhytid.clinic._injection_notes import InjectionMessage, injection_messages, plan_findings
from rhytid.clinic._placement import ZoneRisk, placement_findings, spread_findings, zone_risks
from rhytid.clinic._plan_view import PlannedInjection, PlanView, injection_area, plan_view
from rhytid.clinic._review import RecordedTreatment, RecordEvent, Review, ReviewAcknowledgement, review_plan
from rhytid.clinic._rules import PRODUCTS, TRIAGE_LEVELS
from rhytid.clinic._schedule import FollowUp, follow_up
from rhytid.clinic._screening import Acknowledgement, Screening, acknowledge, clear, screen
from rhytid.clinic._triage import AftercareReport, Triage, load_report, parse_report, triage

__all__ = [
    "PRODUCTS",
    "TRIAGE_LEVELS",
    "Acknowledgement",
    "AftercareReport",
    "AreaAdvice",
    "FollowUp",
    "History",
    "InjectionMessage",
    "PlanFinding",
    "PlanView",
    "PlannedInjection",
    "PreviousDose",
    "RecordEvent",
    "RecordedTreatment",
    "Review",
    "ReviewAcknowledgement",
    "Screening",
    "ScreeningFinding",
    "Triage",
    "UnitConversion",
    "ZoneRisk",
    "acknowledge",
    "advise_from_depths",
    "advise_from_grades",
    "advise_from_outcome",
    "check_cumulative_dose",
    "check_doses",
    "check_reconstitution",
    "check_retreatment",
    "check_vial_age",
    "clear",
    "convert_plan_units",
    "convert_units",
    "follow_up",
    "injection_area",
    "injection_messages",
    "load_history",
    "load_report",
    "parse_history",
    "parse_report",
    "placement_findings",
    "plan_findings",
    "plan_view",
    "review_plan",
    "screen",
    "spread_findings",
    "triage",
    "vial_use_by",
    "volume_per_point_ml",
    "zone_risks",
]
