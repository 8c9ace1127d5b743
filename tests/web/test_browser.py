"""The clinic in a real browser (Playwright + Debian's Chromium) against a live uvicorn server."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from rhytid._cli_web import DEMO_PASSWORD, create_demo_data

from .conftest import EMAIL
from .test_messages import Mailbox, _settings, _user_id, clinic_app, smtp_server, until

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is missing: browser tests skipped"
)


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


@pytest.fixture(scope="module")
def mail_live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Mailbox]]:
    """A live server on SQLite with demo data that delivers its messages to a real local SMTP server
    (aiosmtpd), with the clinic's telephone, the emergency number and the on-call clinician set."""
    folder = tmp_path_factory.mktemp("live-mail")
    url = f"sqlite:///{folder / 'live.sqlite3'}"
    create_demo_data(url)
    with (
        smtp_server() as (smtp, box),
        clinic_app(url, folder, smtp_url=smtp, mail_from="clinic@demo.rhytid.example") as client,
    ):
        r = _settings(
            client,
            name="Demo clinic",
            phone="+49 30 1234567",
            emergency_number="112",
            on_call_user_id=str(_user_id(client, "clinician")),
        )
        assert r.status_code == 303, r.text[:500]
        yield str(client.base_url).rstrip("/"), box


def test_full_visit(browser, mail_live_server: tuple[str, Mailbox]) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    live_server, mailbox = mail_live_server

    ARTIFACTS.mkdir(exist_ok=True)
    staff = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = staff.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # sign in
    page.goto(f"{live_server}/")
    expect(page).to_have_url(re.compile(r"/signin"))
    page.fill("input[name=email]", EMAIL["clinician"])
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button:has-text('Sign in')")
    expect(page.locator("h1")).to_have_text("Today")

    # register a patient
    page.click("nav >> text=Patients")
    page.fill("#new-patient input[name=given_name]", "Grace")
    page.fill("#new-patient input[name=family_name]", "Browser")
    page.fill("#new-patient input[name=birth_date]", "1982-04-20")
    page.click("#new-patient button")
    expect(page.locator("#patient-name")).to_have_text("Grace Browser")
    record_url = page.url

    # intake through the patient's own link, in a separate browser context (no staff session)
    page.click("#intake-link")
    link = page.locator("#patient-link").get_attribute("href")
    assert link and "/p/intake/" in link
    from .test_browser_intake import answer_steps

    patient = browser.new_context().new_page()
    patient.goto(link)
    # a previous treatment with units that are not a number: the form comes back with the error
    # at the top and next to that question, and every other answer kept
    answer_steps(
        patient,
        yes=("has_medications", "has_previous_toxin"),
        ticks={"medication": ["warfarin"]},
        texts={"prev_date": "2023-01-15", "prev_units": "twenty"},
    )
    patient.click("#intake button[type=submit]")
    expect(patient.locator("#q-previous_toxin #error-previous_toxin")).to_contain_text(
        "Previous treatment — units: please enter a number, e.g. 20"
    )
    expect(patient.locator("[role=alert]")).to_have_count(1)
    expect(patient.locator("input[name=medication][value=warfarin]")).to_be_checked()
    expect(patient.locator("input[name=breastfeeding][value=no]")).to_be_checked()
    expect(patient.locator("input[name=prev_date]")).to_have_value("2023-01-15")
    patient.screenshot(path=str(ARTIFACTS / "intake-error.png"), full_page=True)
    patient.locator("#error-summary a").click()
    patient.fill("input[name=prev_units]", "20")
    answer_steps(patient, yes=("has_medications", "has_previous_toxin"))
    patient.click("#intake button[type=submit]")
    expect(patient.locator("#thanks")).to_contain_text("Thank you, Grace")

    # screening: acknowledge the anticoagulant precaution
    page.goto(record_url)
    page.click("#screening")
    expect(page.locator("#decision")).to_have_text("treat with precautions")
    page.check("#code-antithrombotic")
    page.click("#acknowledge")
    expect(page.locator("#ack-antithrombotic")).to_have_text("acknowledged")

    # planner: glabellar label pattern by tapping the five sites, then the preview
    page.goto(record_url)
    page.click("#planner")
    expect(page.locator("#planner[data-ready='1']")).to_have_count(1)
    for site in (
        "procerus",
        "corrugator_medial_l",
        "corrugator_medial_r",
        "corrugator_lateral_l",
        "corrugator_lateral_r",
    ):
        page.locator(f"circle.site[data-site='{site}']").dispatch_event("click")
    expect(page.locator("#total")).to_have_text("5 points, 20 U")
    expect(page.locator("#grades tr[data-area='glabellar']")).to_have_count(1)
    glabellar = page.locator("#grades tr[data-area='glabellar'] .grade-max").inner_text()
    before, after = (int(g) for g in glabellar.split("→"))
    assert after < before
    page.screenshot(path=str(ARTIFACTS / "planner.png"), full_page=True)

    # the orbicularis oculi is drawn as a ring: its hole (the eye) is not part of the muscle
    ring = page.evaluate(
        """async () => {
            const face = await (await fetch('/api/anatomy?sex=female')).json();
            const m = face.muscles.find((m) => m.hole);
            const el = document.querySelector(`path.muscle[data-muscle='${m.name}']`);
            const mean = (pts) => pts.reduce((a, [x, y]) => [a[0] + x / pts.length, a[1] + y / pts.length], [0, 0]);
            const [hx, hy] = mean(m.hole);
            const [ox, oy] = m.polygon[0], [ix, iy] = m.hole.reduce((best, p) =>
                Math.hypot(p[0] - ox, p[1] - oy) < Math.hypot(best[0] - ox, best[1] - oy) ? p : best);
            const pt = (x, y) => { const p = document.getElementById('chart').createSVGPoint(); p.x = x; p.y = -y; return p; };
            return { name: m.name, rule: el && el.getAttribute('fill-rule'),
                     inHole: el.isPointInFill(pt(hx, hy)), onRing: el.isPointInFill(pt((ox + ix) / 2, (oy + iy) / 2)) };
        }"""
    )
    assert ring["name"].startswith("orbicularis_oculi"), ring
    assert (ring["rule"], ring["inHole"], ring["onRing"]) == ("evenodd", False, True), ring

    # drag the procerus point sideways: the table shows its new place and the preview is redone
    preview = page.locator("#preview")
    seq, block = preview.get_attribute("data-seq"), page.locator("#blocks").inner_text()
    box = page.locator("g.point[data-index='0'] circle.dot").bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx - 60, cy - 40, steps=8)
    page.mouse.up()
    expect(page.locator("#points tr").nth(1)).to_contain_text(" mm")
    expect(preview).not_to_have_attribute("data-seq", seq or "")
    expect(page.locator("#blocks")).not_to_have_text(block)
    expect(page.locator("#total")).to_have_text("5 points, 20 U")
    page.screenshot(path=str(ARTIFACTS / "planner-dragged.png"), full_page=True)
    page.click("#save")

    # without a signed consent the treatment is refused, with the reason
    expect(page.locator("#treatment-form")).to_be_visible()
    expect(page.locator("#vial option")).to_contain_text(["lot DEMO-C1"])
    treatment_url = page.url
    page.click("#record")
    expect(page.locator("#form-error")).to_contain_text(
        "Consent: Grace Browser has no current signed consent to botulinum toxin treatment"
    )

    # the patient signs the consent on their phone: typed name and a signature drawn on the canvas
    page.goto(record_url)
    page.click("#consents")
    page.click("#kind-toxin_treatment .show-link")
    consent_link = page.locator("#patient-link").get_attribute("href")
    assert consent_link and "/p/consent/toxin_treatment/" in consent_link
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    mobile = phone.new_page()
    mobile.on("pageerror", lambda e: errors.append(str(e)))
    mobile.goto(consent_link)
    expect(mobile.locator("#consent-title")).to_have_text("Consent to botulinum toxin treatment")
    mobile.check("input[name=agree]")
    mobile.fill("input[name=signed_name]", "Grace Browser")
    mobile.click("#consent-submit")  # nothing drawn yet: the form says so next to the box
    expect(mobile.locator("#q-signature + #error-signature")).to_contain_text("Signature: sign in the box")
    expect(mobile.locator("input[name=signed_name]")).to_have_value("Grace Browser")
    pad = mobile.locator("#signature-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None and box["width"] <= 390
    for stroke in range(2):
        y0 = box["y"] + box["height"] * (0.35 + 0.3 * stroke)
        mobile.mouse.move(box["x"] + 20, y0)
        mobile.mouse.down()
        for i in range(1, 13):
            mobile.mouse.move(box["x"] + 20 + i * (box["width"] - 40) / 12, y0 + (12 if i % 2 else -12))
        mobile.mouse.up()
    assert mobile.locator("#signature").input_value().startswith("M")
    mobile.screenshot(path=str(ARTIFACTS / "consent-phone.png"), full_page=True)
    mobile.click("#consent-submit")
    expect(mobile.locator("#consent-signed")).to_have_text("Thank you, Grace")
    expect(mobile.locator("#consent-hash")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    page.goto(record_url)
    page.click("#consents")
    expect(page.locator("#signed-consents .consent .verified")).to_have_text(["hash verified"])
    expect(page.locator("#kind-toxin_treatment .status")).to_contain_text("by Grace Browser")

    # now the treatment is recorded with a lot from the inventory
    page.goto(treatment_url)
    page.click("#record")
    expect(page.locator(".treatment .lot")).to_have_text("DEMO-C1")

    # book the 2-week review
    page.click("[id^=book-review-]")
    expect(page.locator("select[name=kind]")).to_have_value("review")
    page.click("#book-submit")
    review_day = (dt.date.today() + dt.timedelta(days=14)).isoformat()
    expect(page.locator("h1")).to_have_text(f"Appointments {review_day}")
    expect(page.locator("#book-table .kind")).to_contain_text(["review"])

    # aftercare with an emergency symptom, through the patient's aftercare link
    page.goto(record_url)
    page.click(".aftercare-link")
    aftercare = page.locator("#patient-link").get_attribute("href")
    assert aftercare and "/p/aftercare/" in aftercare
    patient.goto(aftercare)
    patient.check("#s-trouble_breathing")
    patient.click("#aftercare button[type=submit]")
    expect(patient.locator("#level")).to_have_text("Call the emergency number now")
    # the on-call clinician gets the alert e-mail within seconds, at the real local SMTP server
    mail = until(
        lambda: [
            m for m in mailbox.to(EMAIL["clinician"], "EMERGENCY") if "Grace Browser" in Mailbox.text(m)
        ],
        "the on-call clinician's alert e-mail",
    )
    assert "trouble breathing" in Mailbox.text(mail[0]).lower()
    # the patient is told who was e-mailed, with tap-to-call links for the clinic and the emergency number
    told = patient.locator("#who-was-told")
    expect(told).to_contain_text("We have e-mailed Dr Clara Injector")
    expect(told).not_to_contain_text("nobody has been notified")
    expect(told.locator("#call-clinic")).to_have_attribute("href", "tel:+49301234567")
    expect(patient.locator("#call-emergency")).to_have_attribute("href", "tel:112")
    patient.screenshot(path=str(ARTIFACTS / "aftercare-emergency.png"), full_page=True)

    # the clinic sees the alert, and its messages are being delivered
    page.goto(f"{live_server}/")
    expect(page.locator("#alerts .level-emergency")).to_contain_text("Grace Browser")
    expect(page.locator("#messages-not-configured")).to_have_count(0)
    page.goto(record_url)
    expect(page.locator("#patient-alerts")).to_contain_text("trouble breathing")
    page.screenshot(path=str(ARTIFACTS / "patient-record.png"), full_page=True)
    assert errors == []
