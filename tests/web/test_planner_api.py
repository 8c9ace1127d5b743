# ruff: noqa: F811  (the ids fixture is imported from test_api and named as a test argument)
"""The planner's API: the timeline from the patient's own assessment, one message per point, depth
maps from the model's field maps, the server-side draft, the last treatment, unit conversion."""

from __future__ import annotations

import re
from typing import Any

import httpx

from rhytid.anatomy import reference_face

from .conftest import auth
from .test_api import GLABELLAR, _ok, ids  # noqa: F401  (the module's treated patient)

DOC = auth("clinician")


def _patient(c: httpx.Client, family: str) -> int:
    body = {"given_name": "Pre", "family_name": family, "birth_date": "1979-04-05", "sex": "female"}
    return int(_ok(c.post("/api/patients", json=body, auth=DOC), 201)["id"])


def _preview(c: httpx.Client, pid: int, plan: dict[str, Any] = GLABELLAR) -> dict[str, Any]:
    r = c.post(f"/api/patients/{pid}/preview", json=plan, auth=DOC)
    assert r.status_code == 200, r.text
    assert r.headers["server-timing"].startswith("preview;dur=")
    return dict(r.json())


def test_grades_start_from_the_latest_assessment(app_client: httpx.Client) -> None:
    c = app_client
    pid = _patient(c, "Assessed")
    model = _preview(c, pid)
    assert model["baseline"]["source"] == "model"
    days = model["days"]
    assert days[0] == 0 and 30 in days and len(model["timeline"]) == len(days)
    first = model["timeline"][0]["areas"]["glabellar"]
    assert (first["source"], first["max"]) == ("model", first["model_max"])
    for on, grade in (("2025-01-01", 1), ("2025-06-01", 3)):  # the later assessment counts
        body = {"assessed_on": on, "grades": {"glabellar": {"rest": 1, "max": grade}}}
        _ok(c.post(f"/api/patients/{pid}/assessments", json=body, auth=DOC), 201)
    own = _preview(c, pid)
    assert own["baseline"] == {"source": "assessment", "assessed_on": "2025-06-01"}
    g = [v["areas"]["glabellar"] for v in own["timeline"]]
    assert (g[0]["source"], g[0]["max"], g[0]["rest"]) == ("assessment", 3, 1)
    # the model's change is added to the patient's grade, within 0..3
    for v in g:
        assert v["max"] == min(max(3 + v["model_max"] - g[0]["model_max"], 0), 3)
    day30 = g[days.index(30)]
    assert day30["max"] < 3  # the label pattern improves the frown lines
    assert own["timeline"][0]["areas"]["forehead"]["source"] == "model"  # not assessed


def test_a_point_below_the_rim_gets_one_blocking_message(app_client: httpx.Client) -> None:
    c = app_client
    pid = _patient(c, "Rim")
    x, rim_y = reference_face("female").landmarks["orbital_rim_sup_l"]
    plan = {
        "product": "onabotulinumtoxinA",
        "injections": [{"site": "procerus", "units": 4}, {"x_mm": x, "y_mm": rim_y - 1.7, "units": 10}],
    }
    data = _preview(c, pid, plan)
    (below,) = [m for m in data["messages"] if m["injection"] == 2]
    assert below["severity"] == "blocking"
    assert "1.7 mm below the orbital rim" in below["text"] and "-1.7" not in below["text"]
    assert "model_eyelid_ptosis" in below["codes"]
    assert all(f.get("injection") is None for f in data["plan_findings"])
    assert [m["injection"] for m in data["messages"]].count(2) == 1


def test_maps_are_the_models_depth_before_and_after(app_client: httpx.Client) -> None:
    c = app_client
    pid = _patient(c, "Maps")
    r = c.post(f"/api/patients/{pid}/preview/maps", json={"plan": GLABELLAR, "day": 30}, auth=DOC)
    data = _ok(r)
    (frown,) = data["maps"]
    assert (frown["expression"], frown["areas"]) == ("frown", ["glabellar"])
    n = frown["nx"] * frown["ny"]
    assert len(frown["before_um"]) == len(frown["after_um"]) == n > 100
    # the toxin relaxes the frown: less depth after than before, nothing deeper anywhere much
    assert sum(frown["after_um"]) < 0.8 * sum(frown["before_um"])
    assert data["field"]["cells"] and data["field"]["day"] == 30
    # day 0: nothing bound yet, the after map is the before map; the field is empty
    zero = _ok(c.post(f"/api/patients/{pid}/preview/maps", json={"plan": GLABELLAR, "day": 0}, auth=DOC))
    assert zero["maps"][0]["after_um"] == zero["maps"][0]["before_um"] and zero["field"]["cells"] == []
    bad = c.post(f"/api/patients/{pid}/preview/maps", json={"plan": GLABELLAR, "day": -3}, auth=DOC)
    assert bad.status_code == 422 and bad.json()["field"] == "day", bad.text


def test_the_draft_is_kept_per_patient_and_user(app_client: httpx.Client) -> None:
    c = app_client
    pid = _patient(c, "Draft")
    url = f"/api/patients/{pid}/plan-draft"
    assert _ok(c.get(url, auth=DOC)) == {"state": None, "updated_at": None, "kept": None}
    state = {
        "product": "onabotulinumtoxinA",
        "day": 60,
        "points": [{"site": "procerus", "x_mm": 0, "y_mm": 9, "units": 4}],
    }
    _ok(c.put(url, json=state, auth=DOC))
    state["points"].append({"site": None, "x_mm": 12.5, "y_mm": 20, "units": 3, "depth": "subcutaneous"})
    _ok(c.put(url, json=state, auth=DOC))
    read = _ok(c.get(url, auth=DOC))
    kept = read["state"]
    # when, on the clinic's clock, in words (not an ISO time)
    assert re.fullmatch(r"\w{3} \d{1,2} \w{3} \d{4} \d\d:\d\d", read["kept"]), read["kept"]
    assert kept["day"] == 60 and [p["units"] for p in kept["points"]] == [4, 3]
    assert kept["points"][1]["depth"] == "subcutaneous"
    assert _ok(c.get(url, auth=auth("admin")))["state"] is None  # another user's draft is theirs
    assert c.get(url, auth=auth("front_desk")).status_code == 403
    bad = c.put(url, json={**state, "product": "snake oil"}, auth=DOC)
    assert bad.status_code == 422 and bad.json()["field"] == "product", bad.text
    assert _ok(c.get(url, auth=DOC))["state"] == kept  # a refused draft changes nothing
    assert c.delete(url, auth=DOC).status_code == 204
    assert _ok(c.get(url, auth=DOC))["state"] is None


def test_last_treatment_is_a_starting_plan(app_client: httpx.Client, ids: dict[str, int]) -> None:
    c = app_client
    assert _ok(c.get(f"/api/patients/{_patient(c, 'Untreated')}/last-treatment", auth=DOC)) == {
        "treatment": None
    }
    t = _ok(c.get(f"/api/patients/{ids['patient']}/last-treatment", auth=DOC))["treatment"]
    assert re.fullmatch(r"\w{3} \d{1,2} \w{3} \d{4}", t["performed"]), t["performed"]
    assert t["product"] == "onabotulinumtoxinA" and t["vial_units"] == 100
    assert sorted(p["site"] for p in t["points"]) == sorted(i["site"] for i in GLABELLAR["injections"])
    assert sum(p["units"] for p in t["points"]) == 20


def test_unit_conversion_is_explicit_and_flagged(app_client: httpx.Client) -> None:
    c = app_client
    body = {"from_product": "onabotulinumtoxinA", "to_product": "abobotulinumtoxinA", "units": [4, 2.5]}
    data = _ok(c.post("/api/unit-conversion", json=body, auth=DOC))
    assert data["approximate"] is True and "APPROXIMATE" in data["warning"]
    assert any("PMC4836618" in s for s in data["sources"])
    assert [(p["low"], p["high"], p["chosen"]) for p in data["points"]] == [(10, 12, 10), (6.25, 7.5, 6)]
    same = _ok(c.post("/api/unit-conversion", json={**body, "to_product": body["from_product"]}, auth=DOC))
    assert same["approximate"] is False and [p["chosen"] for p in same["points"]] == [4, 2.5]
    bad = c.post("/api/unit-conversion", json={**body, "units": [4, 0]}, auth=DOC)
    assert bad.status_code == 422 and bad.json()["field"] == "units" and "point 2" in bad.json()["detail"]


def test_the_preview_is_the_fast_engine_and_reviews_as_the_saved_plan(app_client: httpx.Client) -> None:
    """Every tap runs the model's fast engine (areas graded on their reduced cell sets) and says
    so; the review of the plan is the one the saved plan gets, which is graded on every cell."""
    c = app_client
    pid = _patient(c, "Engine")
    x, rim_y = reference_face("female").landmarks["orbital_rim_sup_l"]
    plan = {
        "product": "onabotulinumtoxinA",
        "injections": [*GLABELLAR["injections"], {"x_mm": x, "y_mm": rim_y - 1.0, "units": 6}],
        "status": "draft",
    }
    fast = _preview(c, pid, plan)
    assert fast["engine"]["engine"] == "fast", fast["engine"]
    assert "saved plan is graded on every cell" in fast["engine"]["text"]
    glabellar = fast["engine"]["areas"]["glabellar"]
    assert glabellar["cells"] < glabellar["of_cells"] and 0 <= glabellar["grade_disagreement"] < 0.05
    saved = _ok(c.post(f"/api/patients/{pid}/plans", json=plan, auth=DOC), 201)
    assert saved["preview"]["engine"]["engine"] == "exact"
    # the model's risks do not depend on the engine: the review and messages are the saved plan's
    assert fast["check"] == saved["check"] and fast["risks"] == saved["preview"]["risks"]
    assert fast["messages"] == saved["preview"]["messages"]
    assert fast["check"]["blocking"]


def test_whole_plan_risks_name_the_points_that_cause_them(app_client: httpx.Client) -> None:
    """Risks that belong to no single injection (asymmetry, spread to a muscle no treated area
    targets) come with the points that cause them and the muscle to outline on the chart."""
    c = app_client
    pid = _patient(c, "PlanRisk")
    x, rim_y = reference_face("female").landmarks["orbital_rim_sup_l"]
    below = {"x_mm": x, "y_mm": rim_y - 1.7, "units": 10}
    data = _preview(
        c, pid, {"product": "onabotulinumtoxinA", "injections": [{"site": "procerus", "units": 4}, below]}
    )
    risks = {r["kind"]: r for r in data["plan_risks"]}
    # one point on the left lid, none mirroring it on the right: that point makes the asymmetry
    assert risks["asymmetry"]["points"] == [2] and risks["asymmetry"]["muscle"] is None
    assert risks["asymmetry"]["severity"] == "blocking"
    spread = risks["unintended_muscle"]
    assert spread["muscle"] == "orbicularis_oculi_l" and spread["points"] == [2]
    # each is the review's own whole-plan finding, said once
    texts = {(f["code"], f["reason"]) for f in data["plan_findings"]}
    assert {(r["code"], r["text"]) for r in data["plan_risks"]} <= texts
    # mirrored on the right, the lids match again: no asymmetry, and no point is blamed for one
    mirrored = {**below, "x_mm": -x}
    both = _preview(
        c,
        pid,
        {"product": "onabotulinumtoxinA", "injections": [{"site": "procerus", "units": 4}, below, mirrored]},
    )
    assert "asymmetry" not in {r["kind"] for r in both["plan_risks"]}
    # a one-sided corrugator dose reaches the frontalis above it: that point is the cause
    corr = _preview(
        c,
        pid,
        {
            "product": "onabotulinumtoxinA",
            "injections": [{"site": "procerus", "units": 4}, {"site": "corrugator_lateral_l", "units": 20}],
        },
    )
    frontalis = [r for r in corr["plan_risks"] if r["muscle"] == "frontalis_l"]
    assert frontalis and frontalis[0]["points"] == [2], corr["plan_risks"]
