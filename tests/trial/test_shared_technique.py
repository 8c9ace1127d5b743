"""A trial with more chunks than its realisations need shares one set of technique realisations
(drawn once from the trial's seed, their uptake and block tables computed once per process): the
same result serial, threaded and from a fresh cache; smaller trials keep each chunk's own."""

from __future__ import annotations

import json

import pytest

import rhytid.trial._run as trial_run
from rhytid.trial import TrialDesign, run_trial

DESIGN = TrialDesign("glabellar", "onabotulinumtoxinA", 20, patients=4000, seed=7)


def _json(**kwargs: object) -> str:
    return json.dumps(run_trial(DESIGN, **kwargs).to_dict(), sort_keys=True)  # type: ignore[arg-type]


def test_shared_realisations_are_deterministic_and_within_noise(monkeypatch: pytest.MonkeyPatch) -> None:
    own = run_trial(DESIGN)  # 2 chunks x 256 realisations: the chunks' own (under the cap)
    monkeypatch.setattr(trial_run, "_REALISATIONS_MAX", 256)  # 2 chunks x 256 > 256: shared
    trial_run._TOXIN.clear()
    built: list[object] = []
    build = trial_run.Readouts.build

    def counted(*args: object) -> trial_run.Readouts:
        built.append(args)
        return build(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(trial_run.Readouts, "build", counted)
    threaded = _json(workers=2)
    assert len(built) == 2  # one set of tables per sex, computed once for both chunks
    assert not trial_run._TOXIN  # and released when the trial is done: memory stays flat
    trial_run._TOXIN.clear()
    assert _json(workers=1) == threaded  # serial, from a fresh cache: the same numbers
    shared = json.loads(threaded)
    assert json.dumps(own.to_dict(), sort_keys=True) != threaded  # other realisations...
    for j, visit in enumerate(shared["visits"]):  # ...within the noise of 3000 treated patients
        assert visit["none_or_mild"]["treated"] == pytest.approx(own.rate("none_or_mild")[j], abs=0.04)
        # placebo has no toxin: the chunks' patients and ratings are unchanged
        assert visit["none_or_mild"]["placebo"] == pytest.approx(
            own.rate("none_or_mild", "placebo")[j], abs=0
        )
    trial_run._TOXIN.clear()


def test_trial_realisations_grow_with_the_chunks_up_to_the_cap() -> None:
    from rhytid._parameters import default_parameters

    tp = default_parameters()
    one = trial_run.trial_realisations(
        TrialDesign("glabellar", "onabotulinumtoxinA", 20, patients=2000), tp, "female"
    )
    many = trial_run.trial_realisations(
        TrialDesign("glabellar", "onabotulinumtoxinA", 20, patients=1_000_000), tp, "female"
    )
    assert one == round(tp.population.realisations * tp.population.female_fraction)
    assert many == round(trial_run._REALISATIONS_MAX * tp.population.female_fraction)
