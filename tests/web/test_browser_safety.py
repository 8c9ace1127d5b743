"""The planner in a real browser: each blocking finding shows as it appears; a blocked plan is saved
only as a draft, and the treatment form says why before anything is typed (issue 10, item 1)."""

from __future__ import annotations

import httpx
import pytest

from rhytid._cli_web import DEMO_PASSWORD

from .conftest import EMAIL, auth
from .test_browser import CHROMIUM, browser  # noqa: F401  (the module's browser fixture)

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is missing: browser tests skipped"
)


def test_planner_shows_blocking_findings_and_saves_a_draft(browser, live_server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    r = httpx.post(
        f"{live_server}/api/patients",
        auth=auth("clinician"),
        json={"given_name": "Nora", "family_name": "Nointake", "birth_date": "1984-01-02", "sex": "female"},
    )
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server}/signin")
    page.fill("input[name=email]", EMAIL["clinician"])
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button:has-text('Sign in')")
    page.goto(f"{live_server}/patients/{pid}/planner")
    expect(page.locator("#planner[data-ready='1']")).to_have_count(1)
    page.locator("circle.site[data-site='procerus']").dispatch_event("click")
    # the first point already shows the missing history as a blocking finding, never "no findings"
    expect(page.locator("#risks li.sev-blocking[data-code='no_history']")).to_contain_text(
        "no medical history on file"
    )
    expect(page.locator("#review-status")).to_contain_text("can be saved only as a draft")
    expect(page.locator("#risks")).not_to_contain_text("No risks or rule findings")
    expect(page.locator("#save")).to_be_disabled()
    page.click("#save-draft")
    expect(page.locator("#plan-status")).to_have_text("draft")
    expect(page.locator("#review-blocking")).to_be_visible()
    expect(page.locator("#review-findings")).to_contain_text("no medical history on file")
    expect(page.locator("#record")).to_be_disabled()
    assert errors == []
