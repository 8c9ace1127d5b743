"""Reports and figures: the face chart, the HTML report of a simulation and of a virtual trial,
and the validation report of a calibration."""

from rhytid.report._chart import face_chart_png
from rhytid.report._motion import motion_png
from rhytid.report._simulation import write_simulation_report
from rhytid.report._trial import write_trial_report
from rhytid.report._validation import write_validation_report

__all__ = [
    "face_chart_png",
    "motion_png",
    "write_simulation_report",
    "write_trial_report",
    "write_validation_report",
]
