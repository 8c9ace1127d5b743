"""Repositories: keyword-only functions that check, change and audit in one transaction.

Each function takes the session ``db`` (inside a transaction the caller commits) and the ``actor``
doing it; reads and changes of a patient record write an :class:`AuditEntry` in the same
transaction, so an act and its audit record are stored together or not at all. Errors are
:class:`~rhytid.errors.RhytidError` subclasses that name the field at fault (``.field``).

This module gathers the repositories of each record kind under one name (``rhytid.store.repo``);
they live in their own modules: ``_audit`` (who acts, audit rows), ``_users``, ``_patients``,
``_histories``, ``_assessments`` (with photos), ``_plans``, ``_vials``, ``_treatments``,
``_appointments``, ``_aftercare`` (with adverse events) and ``_record`` (the whole record, the
audit log).
"""

from __future__ import annotations

from rhytid.store._aftercare import (
    close_alert,
    create_adverse_event,
    list_adverse_events,
    list_aftercare,
    open_alerts,
    submit_aftercare,
)
from rhytid.store._appointments import book_appointment, cancel_appointment, due_follow_ups, list_appointments
from rhytid.store._assessments import add_photo, check_photo, create_assessment, get_photo, list_assessments
from rhytid.store._audit import Actor, audit, audit_shown
from rhytid.store._histories import (
    GUARDED_SEVERITIES,
    acknowledge_precautions,
    cleared_findings,
    latest_history,
    list_histories,
    submit_history,
)
from rhytid.store._patients import (
    clinic_patient,
    create_patient,
    get_patient,
    patient_rows,
    patients_shown,
    search_patients,
    update_patient,
)
from rhytid.store._photos import MAX_PHOTO_BYTES, PHOTO_TYPES
from rhytid.store._plans import (
    create_plan,
    list_plans,
    mark_plan_ready,
    plan_preview,
    review_on_record,
    review_stored_plan,
    stored_plan,
)
from rhytid.store._record import list_audit, patient_record
from rhytid.store._safety import in_force_history
from rhytid.store._treatments import create_treatment, get_treatment, list_treatments, treatment_follow_up
from rhytid.store._users import (
    DUMMY_HASH,
    authenticate,
    create_clinic,
    create_user,
    list_users,
    set_clinic_time_zone,
    update_user,
)
from rhytid.store._vials import create_vial, list_vials, usable_vials, vial_flags, vial_problem

#: The names the repositories had before they were split by record kind (kept for callers).
_patient = clinic_patient
_patient_rows = patient_rows
_review = review_on_record
_stored_plan = stored_plan
_vial_problem = vial_problem

__all__ = [
    "DUMMY_HASH",
    "GUARDED_SEVERITIES",
    "MAX_PHOTO_BYTES",
    "PHOTO_TYPES",
    "Actor",
    "acknowledge_precautions",
    "add_photo",
    "audit",
    "audit_shown",
    "authenticate",
    "book_appointment",
    "cancel_appointment",
    "check_photo",
    "cleared_findings",
    "clinic_patient",
    "close_alert",
    "create_adverse_event",
    "create_assessment",
    "create_clinic",
    "create_patient",
    "create_plan",
    "create_treatment",
    "create_user",
    "create_vial",
    "due_follow_ups",
    "get_patient",
    "get_photo",
    "get_treatment",
    "in_force_history",
    "latest_history",
    "list_adverse_events",
    "list_aftercare",
    "list_appointments",
    "list_assessments",
    "list_audit",
    "list_histories",
    "list_plans",
    "list_treatments",
    "list_users",
    "list_vials",
    "mark_plan_ready",
    "open_alerts",
    "patient_record",
    "patient_rows",
    "patients_shown",
    "plan_preview",
    "review_on_record",
    "review_stored_plan",
    "search_patients",
    "set_clinic_time_zone",
    "stored_plan",
    "submit_aftercare",
    "submit_history",
    "treatment_follow_up",
    "update_patient",
    "update_user",
    "usable_vials",
    "vial_flags",
    "vial_problem",
]
