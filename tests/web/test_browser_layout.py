# ruff: noqa: F811  (the browser fixture is imported from test_browser and named as a test argument)
"""The face chart and the staff pages at laptop, tablet (touch) and phone sizes, in Chromium
(every page's fit: test_browser_pages.py).

Screenshots of every viewport are written to ``test-artifacts/layout/`` (gitignored), kept after the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rhytid._cli_web import DEMO_PASSWORD

from .conftest import EMAIL, auth, sign_consent
from .test_browser import ARTIFACTS, CHROMIUM, browser  # noqa: F401  (the module-scoped browser fixture)

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is missing: browser tests skipped"
)

VIEWPORTS = {
    "laptop": {"viewport": {"width": 1280, "height": 800}, "has_touch": False},
    "tablet-landscape": {"viewport": {"width": 1024, "height": 768}, "has_touch": True},
    "tablet-portrait": {"viewport": {"width": 768, "height": 1024}, "has_touch": True},
    "phone": {"viewport": {"width": 375, "height": 667}, "has_touch": True, "is_mobile": True},
}
TABLETS = ("tablet-landscape", "tablet-portrait")
SHOTS = ARTIFACTS / "layout"


def new_patient(base: str, family: str, sex: str = "female") -> int:
    r = httpx.post(
        f"{base}/api/patients",
        auth=auth("clinician"),
        json={"given_name": "Lia", "family_name": family, "birth_date": "1980-05-06", "sex": sex},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def signed_in(browser: Any, base: str, role: str, options: dict[str, Any]) -> Any:
    context = browser.new_context(**options)
    page = context.new_page()
    page.goto(f"{base}/signin")
    page.fill("input[name=email]", EMAIL[role])
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{base}/")
    return page


def overflow(page: Any) -> dict[str, int]:
    return page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth})"
    )


def open_planner(page: Any, base: str, pid: int) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/patients/{pid}/planner")
    expect(page.locator("#planner[data-ready='1']")).to_have_count(1)


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> Iterator[str]:
    yield str(request.param)


def test_planner_fits_and_chart_is_labelled(browser, live_server: str, viewport: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    options = VIEWPORTS[viewport]
    width = options["viewport"]["width"]
    pid = new_patient(live_server, f"Layout{viewport.replace('-', '')}")
    page = signed_in(browser, live_server, "clinician", options)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    open_planner(page, live_server, pid)
    chart = page.locator("#chart").bounding_box()
    assert chart is not None and chart["x"] >= 0 and chart["x"] + chart["width"] <= width

    # all 16 named sites carry a label on the chart, readable and not covering each other
    labels = page.locator("text.site-label")
    expect(labels).to_have_count(16)
    boxes = [labels.nth(i).bounding_box() for i in range(16)]
    for i, b in enumerate(boxes):
        assert b is not None and b["height"] >= 9, (viewport, i, b)
        assert chart["x"] <= b["x"] and b["x"] + b["width"] <= chart["x"] + chart["width"] + 0.5, (
            viewport,
            b,
        )
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a is not None and b is not None
            apart = (
                a["x"] + a["width"] <= b["x"] + 0.5
                or b["x"] + b["width"] <= a["x"] + 0.5
                or a["y"] + a["height"] <= b["y"] + 0.5
                or b["y"] + b["height"] <= a["y"] + 0.5
            )
            assert apart, (viewport, a, b)
    expect(page.locator("text.site-label[data-label='procerus']")).to_have_text("Procerus")

    # the patient's L is on the viewer's right; a legend says what the marks mean
    left, right = page.locator("#side-l").bounding_box(), page.locator("#side-r").bounding_box()
    assert left and right and left["x"] > chart["x"] + chart["width"] / 2 > right["x"]
    expect(page.locator("#legend")).to_contain_text("keep out")

    # the muscles and danger zones are layers that can be hidden and shown again
    shown = "(e) => getComputedStyle(e).visibility"
    for layer in ("muscles", "danger"):
        group = page.locator(f"#chart g.layer-{layer}")
        assert group.evaluate(shown) == "visible", layer
        page.locator(f"#layer-{layer}").uncheck()
        assert group.evaluate(shown) == "hidden", layer
        page.locator(f"#layer-{layer}").check()
        assert group.evaluate(shown) == "visible", layer

    # touch screens: every site target is at least 44 CSS px across
    hit = page.locator("rect.hit[data-site='corrugator_medial_l']").bounding_box()
    assert hit is not None
    if options["has_touch"]:
        assert min(hit["width"], hit["height"]) >= 44 - 0.5, (viewport, hit)
    else:
        assert min(hit["width"], hit["height"]) >= 24 - 0.5, (viewport, hit)

    # the label pattern: every row fits, Remove buttons on screen, risks beside the chart on tablets
    page.click("#label-glabellar")
    expect(page.locator("#total")).to_have_text("5 points, 20 U")
    expect(page.locator("#risks")).to_be_visible()  # the preview has come (the list is shown with it)
    for i in range(5):
        rm = page.locator("#points button.remove").nth(i).bounding_box()
        assert rm is not None and rm["x"] + rm["width"] <= width, (viewport, rm)
    size = overflow(page)
    assert size["scroll"] <= size["client"], (viewport, "planner with points", size)
    if viewport in TABLETS:
        risks = page.locator("#risks").bounding_box()
        assert risks is not None
        assert risks["x"] >= chart["x"] + chart["width"], (viewport, risks, chart)
        assert risks["y"] < chart["y"] + chart["height"], (viewport, risks, chart)
    page.screenshot(path=str(SHOTS / f"{viewport}-planner-plan.png"), full_page=True)

    # tapping next to (not on) a site takes the site when it is within its target
    page.click("#clear")
    page.locator("circle.site[data-site='forehead_c']").scroll_into_view_if_needed()
    site = page.locator("circle.site[data-site='forehead_c']").bounding_box()
    assert site is not None
    cx, cy = site["x"] + site["width"] / 2, site["y"] + site["height"] / 2
    if options["has_touch"]:
        page.touchscreen.tap(cx + 12, cy + 4)
    else:
        page.mouse.click(cx + 8, cy + 3)
    expect(page.locator("#points tr").nth(1)).to_contain_text("forehead c")
    page.context.close()
    assert errors == []


@pytest.mark.parametrize("sex", ["female", "male"])
def test_face_fits_its_frame(browser, live_server: str, sex: str, tmp_path: Path) -> None:
    pid = new_patient(live_server, f"Frame{sex}", sex)
    page = signed_in(browser, live_server, "clinician", VIEWPORTS["laptop"])
    open_planner(page, live_server, pid)
    fit = page.evaluate(
        """() => {
            const svg = document.getElementById('chart');
            const [x, y, w, h] = svg.getAttribute('viewBox').split(' ').map(Number);
            const inside = (b) => b.x >= x - 0.01 && b.y >= y - 0.01 && b.x + b.width <= x + w + 0.01;
            const parts = [...svg.querySelectorAll('.art .brow, .art .eye-white, .art .nose, .site, .site-label')];
            const outline = svg.querySelector('.art .outline').getBBox();
            return {all: parts.every((p) => inside(p.getBBox())), n: parts.length,
                    outlineInside: outline.x >= x && outline.x + outline.width <= x + w,
                    eyes: svg.querySelectorAll('.art .eye-white').length,
                    brows: svg.querySelectorAll('.art .brow').length,
                    hair: !!svg.querySelector('.art .hair')};
        }"""
    )
    assert fit["all"] and fit["outlineInside"], fit
    assert (fit["eyes"], fit["brows"], fit["hair"]) == (2, 2, True), fit
    page.screenshot(path=str(SHOTS / f"face-{sex}.png"))
    page.context.close()


def test_pinch_zooms_the_chart(browser, live_server: str, tmp_path: Path) -> None:
    pid = new_patient(live_server, "Pinch")
    page = signed_in(browser, live_server, "clinician", VIEWPORTS["tablet-landscape"])
    open_planner(page, live_server, pid)
    before = [float(v) for v in page.locator("#chart").get_attribute("viewBox").split()]
    box = page.locator("#chart").bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    cdp = page.context.new_cdp_session(page)

    def touch(kind: str, spread: float) -> None:
        points = (
            []
            if kind == "touchEnd"
            else [
                {"x": cx - spread, "y": cy, "id": 1},
                {"x": cx + spread, "y": cy, "id": 2},
            ]
        )
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", 30)
    for spread in (40, 55, 70, 90):
        touch("touchMove", spread)
    touch("touchEnd", 0)
    after = [float(v) for v in page.locator("#chart").get_attribute("viewBox").split()]
    assert after[2] < before[2] * 0.5, (before, after)  # fingers 3x apart: about a third as wide
    # zoomed in, the labels stay about the same size on screen and the targets stay 44 px
    hit = page.locator("rect.hit[data-site='procerus']").bounding_box()
    assert hit is not None and hit["width"] >= 43.5
    page.screenshot(path=str(SHOTS / "pinched.png"))
    page.click("#zoom-reset")
    assert [float(v) for v in page.locator("#chart").get_attribute("viewBox").split()] == before
    page.context.close()


@pytest.mark.parametrize("size", ["laptop", "tablet-portrait", "phone"])
def test_book_with_the_patient_picker_then_reschedule(
    browser,
    live_server: str,
    size: str,
    tmp_path: Path,
) -> None:
    import datetime as dt

    from playwright.sync_api import expect

    family = f"Picker{size.replace('-', '')}"
    r = httpx.post(
        f"{live_server}/api/patients",
        auth=auth("front_desk"),
        json={
            "given_name": "Noor",
            "family_name": family,
            "birth_date": "1977-11-12",
            "sex": "female",
            "phone": "+44 20 7946 0" + str(len(size)),
        },
    )
    assert r.status_code == 201, r.text
    page = signed_in(browser, live_server, "front_desk", VIEWPORTS[size])
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.click("nav >> text=Appointments")
    page.fill("#patient-q", f"12.11.1977 {family[:8].lower()}")
    page.click("#find")
    expect(page.locator("#found label.pick")).to_contain_text([f"Noor {family}, born 12 Nov 1977"])
    page.check(f"#found label.pick:has-text('{family}') input")
    day = dt.date.today() + dt.timedelta(days=9 + len(size))
    page.fill("input[name=starts_at]", f"{day.isoformat()}T10:30")
    page.select_option("select[name=kind]", "consultation")
    page.click("#book-submit")
    expect(page.locator("h1")).to_have_text(f"Appointments {day.isoformat()}")
    expect(page.locator("#book-table")).to_contain_text(f"Noor {family}")
    assert overflow(page)["scroll"] <= overflow(page)["client"]

    page.goto(f"{live_server}/schedule?week={day.isoformat()}")
    card = page.locator("article.appt", has_text=family)
    expect(card).to_have_attribute("data-status", "booked")
    expect(card.locator(".when")).to_contain_text("10:30")
    page.screenshot(path=str(SHOTS / f"{size}-schedule.png"), full_page=True)
    size_now = overflow(page)
    assert size_now["scroll"] <= size_now["client"], (size, size_now)
    card.locator("a.reschedule").click()
    new_day = day + dt.timedelta(days=1)
    page.fill("input[name=starts_at]", f"{new_day.isoformat()}T14:15")
    page.click("#reschedule-submit")
    moved = page.locator(f"#day-{new_day.isoformat()} article.appt", has_text=family)
    expect(moved.locator(".when")).to_contain_text("14:15")
    expect(page.locator(f"#day-{day.isoformat()} article.appt", has_text=family)).to_have_count(0)
    moved.locator("button.to-arrived").click()
    expect(page.locator(f"#day-{new_day.isoformat()} article.appt", has_text=family)).to_have_attribute(
        "data-status", "arrived"
    )
    page.screenshot(path=str(SHOTS / f"{size}-schedule-moved.png"), full_page=True)
    page.context.close()
    assert errors == []


@pytest.mark.parametrize("size", ["laptop", "tablet-landscape", "phone"])
def test_before_after_comparison_renders(browser, live_server: str, size: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    from .test_record import real_png

    pid = new_patient(live_server, f"Compare{size.replace('-', '')}")
    with httpx.Client(base_url=live_server) as client:
        sign_consent(client, pid, "photography")  # no photo is stored without it
    for day, colour in (("2025-01-05", (210, 80, 80)), ("2025-03-05", (80, 80, 210))):
        a = httpx.post(
            f"{live_server}/api/patients/{pid}/assessments",
            auth=auth("clinician"),
            json={"assessed_on": day, "grades": {"glabellar": {"rest": 1, "max": 2}}},
        )
        assert a.status_code == 201, a.text
        up = httpx.post(
            f"{live_server}/api/assessments/{a.json()['id']}/photos",
            auth=auth("clinician"),
            files={"file": (f"{day}.png", real_png(colour, 64), "image/png")},
            data={"view": "frontal_frown"},
        )
        assert up.status_code == 201, up.text
    page = signed_in(browser, live_server, "clinician", VIEWPORTS[size])
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server}/patients/{pid}")
    box = page.locator("#compare-frontal_frown")
    expect(box.locator(".cap-before")).to_have_text("Before · 5 Jan 2025")
    expect(box.locator(".cap-after")).to_have_text("After · 5 Mar 2025")
    box.scroll_into_view_if_needed()
    # lazily loaded photos load once scrolled into view: wait for them rather than race them
    page.wait_for_function(
        """() => [...document.querySelectorAll('#compare-frontal_frown img, #photo-strip img')]
                  .every((i) => i.complete && i.naturalWidth > 0)""",
        timeout=10_000,
    )
    loaded = page.evaluate(
        """() => [...document.querySelectorAll('#compare-frontal_frown img, #photo-strip img')]
                  .map((i) => i.complete && i.naturalWidth)"""
    )
    assert loaded and all(w == 64 for w in loaded), loaded
    left = box.locator(".side-by-side .img-before").bounding_box()
    right = box.locator(".side-by-side .img-after").bounding_box()
    assert left and right and left["x"] + left["width"] <= right["x"] and left["width"] > 100
    # the overlay: the after photo wipes over the before one as the slider moves
    top = box.locator(".overlay .img-after")
    box.locator("input.wipe").fill("80")
    expect(top).to_have_attribute("data-shown", "80")
    clip = top.evaluate("(e) => getComputedStyle(e).clipPath")
    assert clip.replace(" ", "").startswith("inset(0px20%0px0px") or "20%" in clip, clip
    # swapping the pair updates both views
    box.locator(".pick-before").select_option(index=1)
    expect(box.locator(".cap-before")).to_have_text("Before · 5 Mar 2025")
    size_now = overflow(page)
    assert size_now["scroll"] <= size_now["client"], (size, size_now)
    page.screenshot(path=str(SHOTS / f"{size}-before-after.png"), full_page=True)
    page.context.close()
    assert errors == []


def test_intake_steps_fit(browser, live_server: str, viewport: str) -> None:
    """Every step of the patient's intake, and the form with its error summary, fits the screen."""
    from playwright.sync_api import expect

    pid = new_patient(live_server, f"Fit{viewport.replace('-', '')}")
    r = httpx.post(
        f"{live_server}/api/patients/{pid}/links", json={"form": "intake"}, auth=auth("front_desk")
    )
    assert r.status_code == 201, r.text
    page = browser.new_context(**VIEWPORTS[viewport]).new_page()
    page.goto(r.json()["url"])
    for i in range(1, 10):
        expect(page.locator("#progress-text")).to_contain_text(f"Step {i} of 9")
        size = overflow(page)
        assert size["scroll"] <= size["client"], (viewport, i, size)
        nav = page.locator("section.step:visible .step-nav").bounding_box()
        assert nav is not None and nav["x"] + nav["width"] <= VIEWPORTS[viewport]["viewport"]["width"]
        page.screenshot(path=str(SHOTS / f"{viewport}-intake-step-{i}.png"), full_page=True)
        if i < 9:
            page.locator("section.step:visible button.next").click()
    page.fill("#notes", "n")
    page.evaluate("() => { document.getElementById('prev_units').value = 'lots'; }")
    page.evaluate("() => { document.getElementById('has_previous_toxin-yes').checked = true; }")
    page.click("#send")
    expect(page.locator("#error-summary")).to_be_visible()
    size = overflow(page)
    assert size["scroll"] <= size["client"], (viewport, "error summary", size)
    page.screenshot(path=str(SHOTS / f"{viewport}-intake-errors.png"), full_page=True)
    page.context.close()
