"""Reports and figures: the face chart and the HTML report of a simulation."""

from rhytid.report._chart import face_chart_png
from rhytid.report._simulation import write_simulation_report

__all__ = ["face_chart_png", "write_simulation_report"]
