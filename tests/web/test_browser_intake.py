# ruff: noqa: F811  (the browser fixture is imported from test_browser and named as a test argument)
"""The patient's intake in short steps, in Chromium: Back keeps every answer, the progress is
shown, the error summary at the top links to each field and its link puts the cursor there; and
without JavaScript the same form shows every step and still works."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import auth
from .test_browser import ARTIFACTS, CHROMIUM, browser  # noqa: F401  (the module-scoped browser fixture)
from .test_browser_layout import VIEWPORTS, new_patient, overflow

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is missing: browser tests skipped"
)


def intake_link(base: str, family: str) -> tuple[int, str]:
    pid = new_patient(base, family)
    r = httpx.post(f"{base}/api/patients/{pid}/links", json={"form": "intake"}, auth=auth("front_desk"))
    assert r.status_code == 201, r.text
    return pid, str(r.json()["url"])


def visible_step(page: Any) -> Any:
    from playwright.sync_api import expect

    step = page.locator("section.step:visible")
    expect(step).to_have_count(1)
    return step


def answer_steps(
    page: Any,
    yes: tuple[str, ...] = (),
    ticks: dict[str, list[str]] | None = None,
    texts: dict[str, str] | None = None,
    until: str = "",
) -> list[str]:
    """Walk the steps from the current one: "no" to every yes/no not in ``yes``, tick ``ticks``, fill
    ``texts``, Next; stop on the last step (or on step ``until``). The keys of the steps seen."""
    seen = []
    while True:
        step = visible_step(page)
        key = str(step.get_attribute("data-step"))
        seen.append(key)
        if key == until:
            return seen
        names = step.locator("input[type=radio]").evaluate_all("els => [...new Set(els.map((e) => e.name))]")
        for name in names:
            step.locator(f"input[name={name}][value={'yes' if name in yes else 'no'}]").check()
        for name, codes in (ticks or {}).items():
            for code in codes:
                box = step.locator(f"input[name={name}][value={code}]")
                if box.count():
                    box.check()
        for name, value in (texts or {}).items():
            field = step.locator(f"[name={name}]")
            if field.count():
                field.fill(value)
        nxt = step.locator("button.next")
        if not nxt.is_visible():
            return seen
        nxt.click()


def focused_id(page: Any) -> str:
    return str(page.evaluate("() => document.activeElement && document.activeElement.id"))


@pytest.mark.parametrize("size", ["laptop", "tablet-portrait", "phone"])
def test_intake_steps_keep_answers_and_the_summary_links_focus_the_field(
    browser, live_server: str, size: str
) -> None:
    from playwright.sync_api import expect

    pid, link = intake_link(live_server, f"Steps{size.replace('-', '')}")
    context = browser.new_context(**VIEWPORTS[size])  # the patient's own device: no staff session
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(link)
    expect(page.locator("#progress-text")).to_have_text("Step 1 of 9: Allergies")
    expect(page.locator("#send")).to_be_hidden()
    expect(page.locator("section.step .back").first).to_be_hidden()

    seen = answer_steps(
        page,
        yes=("has_medications", "has_previous_toxin"),
        ticks={"medication": ["warfarin"]},
        texts={"prev_date": "2023-01-15", "prev_units": "twenty", "other_medicines": "Vitamin D"},
    )
    assert seen[0] == "allergies" and seen[-1] == "other" and len(seen) == 9, seen
    expect(page.locator("#progress-bar")).to_have_attribute("value", "9")
    expect(page.locator("#send")).to_be_visible()

    # Back, step by step, to the medicines: every answer is still there
    for _ in range(6):
        visible_step(page).locator("button.back").click()
    expect(page.locator("#progress-text")).to_have_text("Step 3 of 9: Medicines")
    expect(page.locator("input[name=medication][value=warfarin]")).to_be_checked()
    expect(page.locator("textarea[name=other_medicines]")).to_have_value("Vitamin D")
    assert focused_id(page) == "title-medicines"  # the new step's heading takes the focus
    answer_steps(page, yes=("has_medications", "has_previous_toxin"))
    page.click("#send")

    # the form comes back with a summary at the top that links to the units
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary.locator("a")).to_have_text(["Previous treatment — units: please enter a number, e.g. 20"])
    assert focused_id(page) == "error-summary"
    expect(page.locator("#progress-text")).to_have_text("Step 6 of 9: Previous anti-wrinkle injections")
    expect(page.locator("#error-previous_toxin")).to_have_text(
        "Previous treatment — units: please enter a number, e.g. 20"
    )
    size_now = overflow(page)
    assert size_now["scroll"] <= size_now["client"], (size, size_now)
    page.screenshot(path=str(ARTIFACTS / f"intake-{size}-error-summary.png"), full_page=True)
    # from another step, the summary's link opens the step and puts the cursor in the field
    visible_step(page).locator("button.back").click()
    visible_step(page).locator("button.back").click()
    expect(page.locator("#progress-text")).to_contain_text("Step 4 of 9")
    summary.locator("a").click()
    expect(page.locator("#progress-text")).to_contain_text("Step 6 of 9")
    assert focused_id(page) == "prev_units"
    expect(page.locator("#prev_units")).to_have_value("twenty")
    page.keyboard.press("Control+A")
    page.keyboard.type("20")
    page.keyboard.press("Enter")  # moves on, does not send a half-checked form
    expect(page.locator("#progress-text")).to_contain_text("Step 7 of 9")
    answer_steps(page)
    page.click("#send")
    expect(page.locator("#thanks")).to_contain_text("Thank you, Lia")
    page.screenshot(path=str(ARTIFACTS / f"intake-{size}-thanks.png"), full_page=True)
    context.close()
    assert errors == []

    stored = httpx.get(f"{live_server}/api/patients/{pid}/histories", auth=auth("clinician")).json()
    answers = stored[0]["answers"]
    assert answers["medications"] == ["warfarin"] and answers["other_medicines"] == "Vitamin D"
    assert answers["previous_toxin"] == [{"date": "2023-01-15", "units": 20.0, "side_effects": []}]
    assert stored[0]["screening"]["missing"] == []


def test_intake_without_javascript_shows_every_step_and_works(browser, live_server: str) -> None:
    from playwright.sync_api import expect

    pid, link = intake_link(live_server, "Nojs")
    context = browser.new_context(java_script_enabled=False, **VIEWPORTS["phone"])
    page = context.new_page()
    page.goto(link)
    expect(page.locator("section.step:visible")).to_have_count(9)
    expect(page.locator(".step-nav:visible")).to_have_count(0)  # no Back/Next that would do nothing
    for radio in page.locator("input[type=radio][value=no]").all():
        radio.check()
    page.fill("#notes", "x" * 10)
    page.check("input[name=has_allergies][value=no]")
    page.check("input[name=allergy][value=lactose]")  # "no" with a tick: the summary says so
    page.click("#send")
    link_el = page.locator("#error-summary a")
    expect(link_el).to_have_text(
        ["Allergies: you answered no but ticked Lactose (milk sugar); untick them or answer yes"]
    )
    assert link_el.get_attribute("href") == "#has_allergies-no"
    page.uncheck("input[name=allergy][value=lactose]")
    page.click("#send")
    expect(page.locator("#thanks")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "intake-nojs-thanks.png"), full_page=True)
    context.close()
    stored = httpx.get(f"{live_server}/api/patients/{pid}/histories", auth=auth("clinician")).json()
    assert stored[0]["answers"]["allergies"] == [] and stored[0]["answers"]["notes"] == "x" * 10
