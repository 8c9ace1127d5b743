"""Exports: a patient's record as a FHIR (R5) Bundle, appointments as iCalendar."""

from rhytid.interop._fhir import patient_bundle
from rhytid.interop._ical import appointments_calendar

__all__ = ["appointments_calendar", "patient_bundle"]
