# ruff: noqa: F811  (the browser fixture is imported from test_browser and named as a test argument)
"""Every page checked with axe-core in Chromium, signed in as the role that uses it: no serious or
critical violations (WCAG 2.x A/AA rules and axe's best practices).

axe-core comes from the npm registry (``.ci/run`` installs it into ``build/npm``; locally
``npm install --prefix build/npm axe-core``). Each page's findings, of every impact, are written
to ``test-artifacts/axe/<page>.json`` with a screenshot beside them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import auth, sign_consent
from .test_browser import ARTIFACTS, CHROMIUM, browser  # noqa: F401  (the module-scoped browser fixture)
from .test_browser_intake import visible_step
from .test_browser_layout import VIEWPORTS, new_patient, signed_in

AXE = Path(__file__).resolve().parents[2] / "build" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
OUT = ARTIFACTS / "axe"
BLOCKING = ("serious", "critical")

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing: browser tests skipped"),
    pytest.mark.skipif(
        not AXE.exists(), reason="axe-core is not installed: run `npm install --prefix build/npm axe-core`"
    ),
]


def audit(page: Any, name: str) -> list[str]:
    """Run axe on the page as it is shown; the serious and critical violations, in words."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => ({target: n.target.join(' '), summary: n.failureSummary}))}));
        }"""
    )
    OUT.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    (OUT / f"{safe}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    page.screenshot(path=str(OUT / f"{safe}.png"), full_page=True)
    return [
        f"{name}: {v['impact']} {v['id']} ({v['help']}) at {', '.join(n['target'] for n in v['nodes'][:4])}"
        for v in result
        if v["impact"] in BLOCKING
    ]


@pytest.fixture(scope="module")
def record(live_server: str) -> Iterator[dict[str, Any]]:
    """A patient with an assessment, a consent and an intake link, for the pages that need them."""
    pid = new_patient(live_server, "Axe")
    with httpx.Client(base_url=live_server, timeout=30) as c:
        sign_consent(c, pid, "toxin_treatment")
        a = c.post(
            f"/api/patients/{pid}/assessments",
            auth=auth("clinician"),
            json={"assessed_on": "2025-01-01", "grades": {"glabellar": {"rest": 1, "max": 2}}},
        )
        assert a.status_code == 201, a.text
        links = {}
        for form in ("intake", "aftercare"):
            r = c.post(f"/api/patients/{pid}/links", json={"form": form}, auth=auth("front_desk"))
            assert r.status_code == 201, r.text
            links[form] = str(r.json()["url"])
        me = c.get("/api/me", auth=auth("clinician")).json()["id"]
        day = dt.date.today() + dt.timedelta(days=20)
        appt = c.post(
            "/api/appointments",
            auth=auth("clinician"),
            json={"patient_id": pid, "clinician_id": me, "kind": "review", "starts_at": f"{day}T10:00:00Z"},
        )
        assert appt.status_code == 201, appt.text
        plan = c.post(
            f"/api/patients/{pid}/plans",
            auth=auth("clinician"),
            json={
                "product": "onabotulinumtoxinA",
                "status": "draft",
                "injections": [{"site": "procerus", "units": 4}],
            },
        )
        assert plan.status_code == 201, plan.text
        report = {"report": {"days_since_treatment": 2, "symptoms": [{"code": "eyelid_droop"}]}}
        assert (
            c.post(f"/api/patients/{pid}/aftercare", json=report, auth=auth("clinician")).status_code == 201
        )
        alert = c.get(f"/api/patients/{pid}/aftercare", auth=auth("clinician")).json()[0]["id"]
    yield {
        "patient": pid,
        "links": links,
        "appointment": appt.json()["id"],
        "plan": plan.json()["id"],
        "alert": alert,
    }


STAFF_PAGES = {
    "clinician": [
        "/",
        "/patients",
        "/patients/{pid}",
        "/patients/{pid}/screening",
        "/patients/{pid}/consents",
        "/patients/{pid}/planner",
        "/patients/{pid}/treatments/new?plan_id={plan}",
        "/patients/{pid}/assessments/new",
        "/patients/{pid}/adverse-events/new",
        "/patients/{pid}/fillers/new",
        "/appointments",
        "/schedule",
        "/vials",
        "/syringes",
        "/recall",
        "/reports",
        "/messages",
        "/alerts/{alert}",
        "/account/second-factor",
    ],
    "front_desk": ["/", "/patients", "/patients/{pid}", "/appointments", "/schedule"],
    "admin": ["/admin/users", "/admin/clinic", "/admin/audit"],
}


@pytest.mark.parametrize("role", list(STAFF_PAGES))
def test_staff_pages_have_no_serious_violations(
    browser, live_server: str, record: dict[str, Any], role: str
) -> None:
    page = signed_in(browser, live_server, role, {**VIEWPORTS["laptop"], "bypass_csp": True})
    found: list[str] = []
    for path in STAFF_PAGES[role]:
        page.goto(
            f"{live_server}{path.format(pid=record['patient'], plan=record['plan'], alert=record['alert'])}"
        )
        if path.endswith("/planner"):
            page.wait_for_selector("#planner[data-ready='1']")
        found += audit(page, f"{role}{path.split('?')[0].replace('{pid}', 'record')}")
    page.context.close()
    assert found == [], "\n".join(found)


def test_sign_in_and_patient_link_pages_have_no_serious_violations(
    browser, live_server: str, record: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    found: list[str] = []
    for size in ("laptop", "phone"):
        context = browser.new_context(**VIEWPORTS[size], bypass_csp=True)
        page = context.new_page()
        page.goto(f"{live_server}/signin")
        found += audit(page, f"{size}-signin")
        page.goto(record["links"]["aftercare"])
        found += audit(page, f"{size}-aftercare")
        # every step of the intake, then the form with its error summary
        page.goto(record["links"]["intake"])
        for i in range(9):
            step = visible_step(page)
            found += audit(page, f"{size}-intake-step-{i + 1}-{step.get_attribute('data-step')}")
            if i < 8:
                step.locator("button.next").click()
        page.fill("#notes", "x" * 10)
        page.evaluate("() => { document.getElementById('notes').value = 'x'.repeat(5001); }")
        page.click("#send")
        expect(page.locator("#error-summary")).to_be_visible()
        found += audit(page, f"{size}-intake-error-summary")
        if size == "phone":  # the link is single-use: the second run sends it
            page.locator("#error-summary a").click()
            page.fill("#notes", "fine")
            page.click("#send")
            expect(page.locator("#thanks")).to_be_visible()
            found += audit(page, f"{size}-intake-thanks")
        context.close()
    # the consent form, opened on the clinic's tablet by a signed-in clinician
    page = signed_in(browser, live_server, "clinician", {**VIEWPORTS["tablet-portrait"], "bypass_csp": True})
    page.goto(f"{live_server}/patients/{record['patient']}/consents")
    page.locator("form[action$='/consents/sign-here'] button").first.click()
    page.wait_for_url(re.compile(r".*/p/consent/.*"))
    found += audit(page, "tablet-consent")
    # the page with a patient's link, and the reschedule form
    page.goto(f"{live_server}/patients/{record['patient']}")
    page.click("#intake-link")
    found += audit(page, "tablet-link")
    page.goto(f"{live_server}/appointments/{record['appointment']}/reschedule")
    found += audit(page, "tablet-reschedule")
    page.context.close()
    assert found == [], "\n".join(found)
