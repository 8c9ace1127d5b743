"""The public face of the package: exactly the documented names, nothing leaks."""

import rhytid

DOCUMENTED = {
    "AnatomyError",
    "AreaState",
    "ClinicError",
    "Injection",
    "Outcome",
    "ParameterError",
    "Parameters",
    "Patient",
    "PatientError",
    "Plan",
    "PlanError",
    "PlanFileError",
    "ProductChoice",
    "ProductError",
    "RhytidError",
    "Risk",
    "ScreeningError",
    "TriageError",
    "TrialError",
    "Visit",
    "__version__",
    "default_parameters",
    "load_plan",
    "simulate",
}


def test_all_is_the_documented_api() -> None:
    assert set(rhytid.__all__) == DOCUMENTED
    assert len(rhytid.__all__) == len(DOCUMENTED)


def test_every_exported_name_exists() -> None:
    for name in rhytid.__all__:
        assert hasattr(rhytid, name), name


def test_errors_form_one_tree_and_inherit_the_fitting_builtin() -> None:
    for name in rhytid.__all__:
        obj = getattr(rhytid, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and obj is not rhytid.RhytidError:
            assert issubclass(obj, rhytid.RhytidError)
            assert issubclass(obj, ValueError)
