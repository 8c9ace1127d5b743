"""Virtual populations: reproducible, vectorised, with the distributions of population.yaml."""

from __future__ import annotations

import numpy as np
import pytest

from rhytid._data import load_yaml
from rhytid.trial import TrialParameters, draw_population


@pytest.fixture(scope="module")
def tp() -> TrialParameters:
    return TrialParameters.from_data()


def test_every_population_value_has_a_source() -> None:
    data = load_yaml("population.yaml")

    def walk(node: object, where: str) -> None:
        assert isinstance(node, dict), where
        if "value" in node:
            assert str(node.get("source", "")).strip(), where
            return
        for k, v in node.items():
            walk(v, f"{where}.{k}")

    walk(data, "population.yaml")


def test_same_seed_same_patients(tp: TrialParameters) -> None:
    a = draw_population(np.random.default_rng(7), 500, tp.population, 45.0)
    b = draw_population(np.random.default_rng(7), 500, tp.population, 45.0)
    c = draw_population(np.random.default_rng(8), 500, tp.population, 45.0)
    assert np.array_equal(a.age, b.age) and np.array_equal(a.sensitivity, b.sensitivity)
    assert not np.array_equal(a.age, c.age)


def test_distributions(tp: TrialParameters) -> None:
    pp = tp.population
    pop = draw_population(np.random.default_rng(1), 40_000, pp, 45.0)
    assert pop.age.min() >= pp.age_min and pop.age.max() <= pp.age_max
    assert abs(pop.age.mean() - pp.age_mean) < 1.0
    assert abs((~pop.male).mean() - pp.female_fraction) < 0.01
    for name, cv in [
        ("strength", pp.muscle_strength_cv),
        ("sensitivity", pp.toxin_sensitivity_cv),
        ("recovery", pp.recovery_rate_cv),
    ]:
        x = getattr(pop, name)
        assert abs(np.median(x) - 1.0) < 0.03
        assert abs(x.std() / x.mean() - cv) < 0.05
    # skin thins with age
    old, young = pop.thickness[pop.age > 60], pop.thickness[pop.age < 30]
    assert old.mean() < young.mean()


def test_frontalis_tone_is_drawn_per_patient_and_capped() -> None:
    import numpy as np

    from rhytid.trial._params import PopulationParameters
    from rhytid.trial._population import draw_population

    p = PopulationParameters.from_data()
    pop = draw_population(np.random.default_rng(3), 20000, p, 45.0)
    assert 0.9 < float(np.median(pop.tone)) < 1.1
    assert pop.tone.max() <= p.frontalis_tone_max_factor
    lifters = float(np.mean(pop.tone >= 5.0))  # habitual lifters: brows ~6 mm up (Mishima 2013)
    assert 0.002 < lifters < 0.1
