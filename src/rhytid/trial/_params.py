"""The parameters of a virtual trial: :class:`rhytid.Parameters`, the one source of every value.

``TrialParameters`` is :class:`rhytid.Parameters` itself (its flat names — ``spread_length_mm``,
``ec50_u_per_mm3``, ``onset_days``, ... — are views of the nested values), kept under this name
for the calibrator: :meth:`~rhytid.Parameters.from_data` and :meth:`~rhytid.Parameters.replace`.
"""

from __future__ import annotations

from rhytid._parameters import Parameters, PopulationParameters, TrialSettings

__all__ = ["PopulationParameters", "TrialParameters", "TrialSettings"]

TrialParameters = Parameters
