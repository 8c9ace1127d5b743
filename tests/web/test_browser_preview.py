# ruff: noqa: F811  (the browser fixture is imported from test_browser and named as a test argument)
"""The planner's preview in Chromium at laptop and tablet (touch) sizes: maps and the day slider
follow a drag, undo restores the plan, a reload keeps the draft, a product switch converts the
units explicitly, and a point below the orbital rim turns red with one message (issue 14 item 2)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from rhytid.anatomy import reference_face

from .test_browser import CHROMIUM, browser  # noqa: F401  (the module-scoped browser fixture)
from .test_browser_layout import SHOTS, VIEWPORTS, new_patient, open_planner, overflow, signed_in

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is missing: browser tests skipped"
)
SIZES = ("laptop", "tablet-landscape")
TIMEOUT = 20_000  # ms: a preview on a busy 2-core machine with a cold model can take seconds


def _screen(page: Any, x_mm: float, y_mm: float) -> tuple[float, float]:
    """Where a face-frame point (mm) is on the screen (CSS px)."""
    x, y = page.evaluate(
        """([x, y]) => { const svg = document.getElementById('chart'); const p = svg.createSVGPoint();
              p.x = x; p.y = -y; const s = p.matrixTransform(svg.getScreenCTM()); return [s.x, s.y]; }""",
        [x_mm, y_mm],
    )
    return float(x), float(y)


def _drag(page: Any, size: str, start: tuple[float, float], end: tuple[float, float]) -> None:
    if not VIEWPORTS[size]["has_touch"]:
        page.mouse.move(*start)
        page.mouse.down()
        page.mouse.move(*end, steps=8)
        page.mouse.up()
        return
    cdp = page.context.new_cdp_session(page)
    for i in range(9):
        x = start[0] + (end[0] - start[0]) * i / 8
        y = start[1] + (end[1] - start[1]) * i / 8
        kind = "touchStart" if i == 0 else "touchMove"
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y, "id": 1}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def _tap(page: Any, size: str, x: float, y: float) -> None:
    if VIEWPORTS[size]["has_touch"]:
        page.touchscreen.tap(x, y)
    else:
        page.mouse.click(x, y)


def _site(page: Any, name: str) -> None:
    page.locator(f"circle.site[data-site='{name}']").dispatch_event("click")


@pytest.mark.parametrize("size", SIZES)
def test_maps_and_slider_follow_a_drag(browser, live_server: str, size: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    pid = new_patient(live_server, f"Maps{size.replace('-', '')}")
    page = signed_in(browser, live_server, "clinician", VIEWPORTS[size])
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    open_planner(page, live_server, pid)
    page.click("#label-glabellar")
    after = page.locator("#maps canvas.map-after")
    expect(after).to_have_count(1, timeout=TIMEOUT)
    before_sum = page.locator("#maps canvas.map-before").get_attribute("data-sum")
    after_sum = after.get_attribute("data-sum")
    assert int(after_sum or 0) < int(before_sum or 0)  # the frown lines are shallower on day 30
    seq, blocks = page.locator("#maps").get_attribute("data-seq"), page.locator("#blocks").inner_text()
    assert overflow(page)["scroll"] <= overflow(page)["client"]

    # drag the procerus point up and sideways: maps, field and block follow the new plan
    box = page.locator("g.point[data-index='0'] circle.dot").bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    _drag(page, size, (cx, cy), (cx - 50, cy - 45))
    expect(page.locator("#points tr").nth(1)).to_contain_text(" mm")
    expect(page.locator("#maps")).not_to_have_attribute("data-seq", seq or "", timeout=TIMEOUT)
    expect(page.locator("#maps canvas.map-after")).not_to_have_attribute("data-sum", after_sum or "")
    expect(page.locator("#blocks")).not_to_have_text(blocks)
    page.screenshot(path=str(SHOTS / f"{size}-dragged.png"), full_page=True)

    # the day slider: day 0 is before treatment (grades unchanged, maps equal, brow unmoved)
    page.locator("#day").fill("0")
    expect(page.locator("#day-label")).to_have_text("0")
    expect(page.locator("#preview-title")).to_have_text("Preview (day 0)")
    now, then = page.locator("#grades tr[data-area='glabellar'] .grade-max").inner_text().split("→")
    assert now.strip() == then.strip()
    expect(page.locator("#maps")).to_have_attribute("data-day", "0", timeout=TIMEOUT)
    zero = page.locator("#maps canvas.map-after").get_attribute("data-sum")
    assert zero == page.locator("#maps canvas.map-before").get_attribute("data-sum")
    dy = page.locator("#brow-after-l").get_attribute("data-dy") or ""
    assert all(float(v) == 0 for v in dy.split()), dy
    # day 14: the block has set in; the brow line has moved and the grades changed from day 0
    days = page.evaluate("() => [...document.querySelectorAll('#day')].map((d) => Number(d.max))")[0]
    assert days == 9
    page.locator("#day").fill("3")
    expect(page.locator("#day-label")).to_have_text("14")
    expect(page.locator("#maps")).to_have_attribute("data-day", "14", timeout=TIMEOUT)
    expect(page.locator("#maps canvas.map-after")).not_to_have_attribute("data-sum", zero or "")
    dy = page.locator("#brow-after-l").get_attribute("data-dy") or ""
    assert any(float(v) != 0 for v in dy.split()), dy
    expect(page.locator("#brow-lid")).to_contain_text("day 14")
    drawn = page.locator("#brow-after-l").get_attribute("points")
    page.check("#exaggerate")  # the change drawn five times, said so in the caption
    expect(page.locator("#brow-lid")).to_contain_text("the change ×5")
    assert page.locator("#brow-after-l").get_attribute("points") != drawn
    assert overflow(page)["scroll"] <= overflow(page)["client"]
    page.screenshot(path=str(SHOTS / f"{size}-day14.png"), full_page=True)
    page.context.close()
    assert errors == []


@pytest.mark.parametrize("size", SIZES)
def test_undo_restores_the_plan_and_reload_keeps_the_draft(browser, live_server: str, size: str) -> None:
    from playwright.sync_api import expect

    pid = new_patient(live_server, f"Undo{size.replace('-', '')}")
    page = signed_in(browser, live_server, "clinician", VIEWPORTS[size])
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    open_planner(page, live_server, pid)
    total = page.locator("#total")
    expect(page.locator("#undo")).to_be_disabled()
    _site(page, "procerus")
    _site(page, "corrugator_medial_l")
    expect(total).to_have_text("2 points, 8 U")
    page.locator("#points input.units").nth(1).fill("6")
    page.locator("#points input.units").nth(1).press("Tab")  # the browser's own change on leaving
    expect(total).to_have_text("2 points, 10 U")
    page.locator("#points button.remove").nth(0).click()
    expect(total).to_have_text("1 points, 6 U")
    page.click("#undo")
    expect(total).to_have_text("2 points, 10 U")
    expect(page.locator("#points tr").nth(1)).to_contain_text("procerus")
    page.click("#undo")
    expect(total).to_have_text("2 points, 8 U")
    page.click("#redo")
    expect(total).to_have_text("2 points, 10 U")
    expect(page.locator("#redo")).to_be_enabled()  # the removal can still be redone
    page.keyboard.press("Control+Shift+Z")
    expect(total).to_have_text("1 points, 6 U")
    expect(page.locator("#redo")).to_be_disabled()
    page.keyboard.press("Control+Z")
    expect(total).to_have_text("2 points, 10 U")
    expect(page.locator("#draft-status")).to_have_text("Draft kept (2 points, 10 U).", timeout=TIMEOUT)

    # leaving the page and coming back (and a reload) keep the plan as it was
    page.goto(f"{live_server}/patients/{pid}")
    open_planner(page, live_server, pid)
    expect(total).to_have_text("2 points, 10 U")
    expect(page.locator("#draft-status")).to_have_attribute("data-restored", "1")
    # when it was kept, on the clinic's clock in words ("Wed 2 Dec 2026 09:08"), not an ISO time
    restored = page.locator("#draft-status").inner_text()
    assert re.search(r"kept \w{3} \d{1,2} \w{3} \d{4} \d\d:\d\d\)", restored), restored
    page.reload()
    expect(page.locator("#planner[data-ready='1']")).to_have_count(1)
    expect(total).to_have_text("2 points, 10 U")
    expect(page.locator("#points tr").nth(2)).to_contain_text("corrugator medial l")
    expect(page.locator("#risks")).to_be_visible(timeout=TIMEOUT)  # its preview is shown again
    page.context.close()
    assert errors == []


@pytest.mark.parametrize("size", SIZES)
def test_product_switch_shows_converted_units(browser, live_server: str, size: str) -> None:
    from playwright.sync_api import expect

    pid = new_patient(live_server, f"Switch{size.replace('-', '')}")
    page = signed_in(browser, live_server, "clinician", VIEWPORTS[size])
    open_planner(page, live_server, pid)
    page.click("#label-glabellar")
    expect(page.locator("#total")).to_have_text("5 points, 20 U")
    page.select_option("#product", "abobotulinumtoxinA")
    note = page.locator("#conversion")
    expect(note).to_be_visible()
    expect(note).to_have_class(re.compile(r"\bapproximate\b"))
    expect(note).to_contain_text("from onabotulinumtoxinA to abobotulinumtoxinA")
    expect(note).to_contain_text("point 1 4 → 10 U (range 10–12)")
    expect(note).to_contain_text("not interchangeable")
    expect(note).to_contain_text("PMC4836618")  # the ratio's source
    expect(page.locator("#total")).to_have_text("5 points, 50 U")
    expect(page.locator("#model-meta")).to_contain_text("50 U abobotulinumtoxinA", timeout=TIMEOUT)
    assert "Approximate" in note.evaluate("(e) => getComputedStyle(e, '::before').content")
    assert overflow(page)["scroll"] <= overflow(page)["client"]
    page.click("#undo")  # the switch is one step: back to 4 U of onabotulinumtoxinA
    expect(page.locator("#total")).to_have_text("5 points, 20 U")
    expect(page.locator("#product")).to_have_value("onabotulinumtoxinA")
    page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_point_below_the_rim_turns_red_with_one_message(
    browser, live_server: str, size: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    pid = new_patient(live_server, f"Rim{size.replace('-', '')}")
    page = signed_in(browser, live_server, "clinician", VIEWPORTS[size])
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    open_planner(page, live_server, pid)
    x, rim_y = reference_face("female").landmarks["orbital_rim_sup_l"]
    page.locator("#chart").scroll_into_view_if_needed()
    _tap(page, size, *_screen(page, x, rim_y - 2.0))
    expect(page.locator("#total")).to_have_text("1 points, 4 U")
    expect(page.locator("#points tr").nth(1)).to_contain_text(" mm")  # a free point, not a site
    point = page.locator("g.point[data-index='0']")
    expect(point).to_have_class(re.compile(r"\bsev-blocking\b"), timeout=TIMEOUT)
    assert point.locator("circle.dot").evaluate("(c) => getComputedStyle(c).fill") == "rgb(198, 40, 40)"
    messages = page.locator("#risks li.msg[data-injection='1']")
    expect(messages).to_have_count(1)
    expect(messages).to_contain_text("Point 1 — blocking")
    expect(messages).to_contain_text("below the orbital rim")
    text = messages.inner_text()
    assert not re.search(r"-\d", text), text  # no "-1.7 mm above": the distance is said as below
    assert not re.search(r"\b(low|moderate) risk\b", text), text
    expect(page.locator("#points tr.sev-blocking")).to_have_count(1)
    expect(page.locator("#save")).to_be_disabled()
    # the lids now differ (a risk of the whole plan): the point that causes it is ringed, and the
    # finding says which point it is
    expect(point).to_have_class(re.compile(r"\bplan-risk\b"))
    ring = point.locator("circle.ring").evaluate("(c) => getComputedStyle(c).stroke")
    assert ring != "none", ring
    asymmetry = page.locator("#risks li.plan-risk[data-code='model_asymmetry']")
    expect(asymmetry).to_contain_text("from point 1 (ringed on the chart)")
    expect(page.locator("g.point[data-index='0'] title")).to_contain_text("causes asymmetry")
    page.screenshot(path=str(SHOTS / f"{size}-below-rim.png"), full_page=True)
    page.context.close()
    assert errors == []


def test_load_the_last_treatment_as_a_starting_plan(browser, live_server: str) -> None:
    import datetime as dt

    import httpx
    from playwright.sync_api import expect

    from .conftest import auth, sign_consent
    from .test_api import ANSWERS

    doc = auth("clinician")
    pid = new_patient(live_server, "Lasttreated")
    with httpx.Client(base_url=live_server, auth=doc) as c:
        assert c.post(f"/api/patients/{pid}/histories", json={"answers": ANSWERS}).status_code == 201
        c.post(f"/api/patients/{pid}/screening/acknowledge", json={"codes": ["antithrombotic"]})
        sign_consent(c, pid, "toxin_treatment")
        injections = [{"site": "procerus", "units": 5}, {"x_mm": 10.0, "y_mm": 14.0, "units": 3}]
        plan = c.post(
            f"/api/patients/{pid}/plans", json={"product": "onabotulinumtoxinA", "injections": injections}
        )
        assert plan.status_code == 201, plan.text
        vial = c.post(
            "/api/vials",
            json={
                "product": "onabotulinumtoxinA",
                "lot": "LAST-1",
                "expiry": "2099-01-01",
                "vial_units": 100,
                "diluent_ml": 2.5,
                "reconstituted_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(),
            },
        )
        assert vial.status_code == 201, vial.text
        body = {"plan_id": plan.json()["id"], "vial_id": vial.json()["id"]}
        assert c.post(f"/api/patients/{pid}/treatments", json=body).status_code == 201
    page = signed_in(browser, live_server, "clinician", VIEWPORTS["laptop"])
    open_planner(page, live_server, pid)
    page.click("#load-last")
    expect(page.locator("#total")).to_have_text("2 points, 8 U")
    expect(page.locator("#points tr").nth(1)).to_contain_text("procerus")
    expect(page.locator("#points tr").nth(2)).to_contain_text("(10, 14) mm")
    expect(page.locator("#draft-status")).to_have_text(
        re.compile(r"Loaded the treatment of \w{3} \d{1,2} \w{3} \d{4} as a starting plan\.")
    )
    page.click("#undo")
    expect(page.locator("#total")).to_have_text("0 points, 0 U")
    # a refused input is said in words, the field named as the planner calls it (no data path)
    _site(page, "procerus")
    page.locator("#points input.units").fill("0.2")
    page.locator("#points input.units").dispatch_event("change")
    error = page.locator("#risks li.error")
    expect(error).to_have_text("Injection 1 — units: must be at least 0.5", timeout=TIMEOUT)
    page.context.close()
