"""Virtual populations and virtual clinical trials (vectorised; Dask for many machines).

``run_trial(TrialDesign(area, product, dose_units, patients, seed))`` screens, randomises and
follows a virtual population through the model's mechanisms and returns a :class:`TrialResult`
whose ``to_dict()`` is the JSON of ``rhytid trial --json`` (CONTRACTS.md).
"""

from rhytid.trial._design import AREAS, TrialDesign
from rhytid.trial._params import PopulationParameters, TrialParameters
from rhytid.trial._population import Population, draw_population
from rhytid.trial._run import TrialResult, run_trial, wilson

__all__ = [
    "AREAS",
    "Population",
    "PopulationParameters",
    "TrialDesign",
    "TrialParameters",
    "TrialResult",
    "draw_population",
    "run_trial",
    "wilson",
]
