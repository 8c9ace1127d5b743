"""A trial with more chunks than its realisations need shares one set of technique realisations
(drawn once from the trial's seed, their uptake and block tables computed once per process): the
same result serial, threaded and from a fresh cache; smaller trials keep each chunk's own; each
sex's tables are built once, the two sexes' at the same time."""

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

    def counted(*args: object, **kwargs: object) -> trial_run.Readouts:
        built.append(args)
        return build(*args, **kwargs)  # type: ignore[arg-type]

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


def test_each_sex_s_tables_are_built_once_and_the_two_sexes_at_the_same_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Six threads ask for the shared tables of the two sexes at once: each sex's are built once
    (the others wait for them), and the male build runs while the female one is still under way
    (a lock per sex, not one for all: the female build waits for the male one to start)."""
    import threading

    from rhytid._parameters import default_parameters
    from rhytid.trial._engine import face_model

    tp = default_parameters()
    design = TrialDesign("glabellar", "onabotulinumtoxinA", 20, patients=100_000, seed=7)
    male_started = threading.Event()
    overlapped: list[bool] = []
    built: list[str] = []

    def build(
        design_: TrialDesign, tp_: object, fm: object, pattern: object, sex: str, exact: bool
    ) -> object:
        built.append(sex)
        if sex == "male":
            male_started.set()
        else:
            overlapped.append(male_started.wait(timeout=20))
        return object()

    monkeypatch.setattr(trial_run, "_build_toxin", build)
    trial_run._TOXIN.clear()
    got: dict[str, list[object]] = {"female": [], "male": []}

    def ask(sex: str) -> None:
        fm = face_model(sex, design.graded_areas, tp.area_cells_max, tp.quadrature_stride, tp.tissue)
        got[sex].append(trial_run._shared_toxin(design, tp, fm, design.pattern(sex), sex, False))

    threads = [threading.Thread(target=ask, args=(s,)) for s in ["female"] * 3 + ["male"] * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(built) == ["female", "male"]
    assert overlapped == [True]
    assert all(len(set(map(id, v))) == 1 and len(v) == 3 for v in got.values())  # the same tables
    trial_run._TOXIN.clear()
