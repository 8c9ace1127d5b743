r"""Virtual populations: patients as arrays, drawn from an explicit :class:`numpy.random.Generator`.

A patient is the reference face of their sex (:mod:`rhytid.anatomy`) with individual
multipliers, all log-normal with median 1 and coefficient of variation ``cv``
(:math:`\sigma = \sqrt{\ln(1 + cv^2)}`) from ``population.yaml``:

* ``age`` — normal (mean, SD) truncated to the trial's age range; ``male`` — Bernoulli with
  1 − female fraction;
* ``strength`` — maximal muscle force (multiplies the model's ``muscle_strength``);
* ``thickness`` — skin (epidermis + dermis) thickness, times a linear age trend about the
  reference age; it scales the film thickness of the Chen–Hutchinson buckling;
* ``stiffness`` — dermal modulus, on top of the model's age trend
  (``tissue.yaml skin.modulus_age_slope_per_year``);
* ``etch`` — individual static (etched) depth rate;
* ``sensitivity`` — toxin sensitivity: the local EC50 is divided by it;
* ``recovery`` — the product's recovery rate is multiplied by it;
* ``tone`` — habitual resting tone of the frontalis, relative to the reference tone (capped so
  the tone stays at most the muscle's maximum).

Nothing here loops over patients.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

from rhytid.trial._params import PopulationParameters

__all__ = ["Population", "draw_population", "lognormal"]

Array = NDArray[np.float64]


def lognormal(rng: np.random.Generator, cv: float, n: int) -> Array:
    """``n`` log-normal multipliers with median 1 and coefficient of variation ``cv``."""
    sigma = np.sqrt(np.log1p(cv**2))
    return np.asarray(np.exp(sigma * rng.standard_normal(n)), dtype=np.float64)


@dataclass(frozen=True)
class Population:
    """Patients as parallel arrays (one entry per patient)."""

    age: Array
    male: NDArray[np.bool_]
    strength: Array
    thickness: Array
    stiffness: Array
    etch: Array
    sensitivity: Array
    recovery: Array
    tone: Array

    def __len__(self) -> int:
        return len(self.age)

    def take(self, index: NDArray[np.intp] | NDArray[np.bool_]) -> Population:
        """The sub-population at ``index`` (integer indices or a boolean mask)."""
        return Population(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def concat(parts: list[Population]) -> Population:
        return Population(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Population)}
        )

    @staticmethod
    def typical(age: Array, male: NDArray[np.bool_], strength: Array | None = None) -> Population:
        """Patients with every individual multiplier at its median (1): the model's patient."""
        one = np.ones(len(age))
        return Population(
            age=np.asarray(age, dtype=float),
            male=np.asarray(male, dtype=bool),
            strength=one if strength is None else np.asarray(strength, dtype=float),
            thickness=one.copy(),
            stiffness=one.copy(),
            etch=one.copy(),
            sensitivity=one.copy(),
            recovery=one.copy(),
            tone=one.copy(),
        )


def _truncated_normal(
    rng: np.random.Generator, mean: float, sd: float, lo: float, hi: float, n: int
) -> Array:
    """Inverse-CDF draw of a normal truncated to ``[lo, hi]`` (vectorised, exact)."""
    from scipy.special import ndtr, ndtri

    a, b = ndtr((lo - mean) / sd), ndtr((hi - mean) / sd)
    u = a + (b - a) * rng.random(n)
    return np.asarray(np.clip(mean + sd * ndtri(u), lo, hi), dtype=np.float64)


def draw_population(
    rng: np.random.Generator, n: int, p: PopulationParameters, reference_age: float
) -> Population:
    """Draw ``n`` patients (see the module docstring). The order of draws is fixed, so the same
    generator state gives the same patients."""
    age = _truncated_normal(rng, p.age_mean, p.age_sd, p.age_min, p.age_max, n)
    male = rng.random(n) >= p.female_fraction
    strength = lognormal(rng, p.muscle_strength_cv, n)
    thickness = lognormal(rng, p.skin_thickness_cv, n) * (
        1.0 + p.skin_thickness_age_slope * (age - reference_age)
    )
    stiffness = lognormal(rng, p.skin_stiffness_cv, n)
    etch = lognormal(rng, p.static_etch_cv, n)
    sensitivity = lognormal(rng, p.toxin_sensitivity_cv, n)
    recovery = lognormal(rng, p.recovery_rate_cv, n)
    tone = np.minimum(lognormal(rng, p.frontalis_tone_cv, n), p.frontalis_tone_max_factor)
    return Population(age, male, strength, thickness, stiffness, etch, sensitivity, recovery, tone)
