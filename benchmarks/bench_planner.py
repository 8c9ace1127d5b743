"""Planner in Chromium: tap → preview painted, p50/p95 over 30 taps, and the server's part.

A real uvicorn server (SQLite, demo data) and Debian's Chromium through Playwright. Each tap adds
one point at a named site (its units differ from tap to tap, so every plan is new to the model),
the time runs until the planner has drawn the preview (the frame after the DOM is updated); the
planner is then left to finish its maps and keep its draft (an injector looks before the next
tap), and the point is cleared again. The same 30 plans are then tapped again: the model's outcome is cached
per plan (undo, redo, a repeated plan). The server's part is its ``Server-Timing`` header.
Prints the figures; asserts nothing about them.
"""

from __future__ import annotations

import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from rhytid._cli_web import DEMO_PASSWORD, DEMO_USERS, create_demo_data
from rhytid.web import create_app, load_settings

CHROMIUM = Path("/usr/bin/chromium")
SITES = (
    "procerus",
    "corrugator_medial_l",
    "corrugator_medial_r",
    "corrugator_lateral_l",
    "corrugator_lateral_r",
)
TAP = """async ([site]) => {
  const box = document.getElementById('preview');
  const before = Number(box.dataset.painted || 0);
  const t0 = performance.now();
  const target = document.querySelector(`circle.site[data-site='${site}']`);
  target.dispatchEvent(new MouseEvent('click', {bubbles: true}));
  await new Promise((done) => {
    const watch = new MutationObserver(() => {
      if (Number(box.dataset.painted || 0) > before) { watch.disconnect(); done(); }
    });
    watch.observe(box, {attributes: true});
  });
  const ms = performance.now() - t0;
  const entries = performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/preview'));
  const last = entries[entries.length - 1];
  const server = last && last.serverTiming.length ? last.serverTiming[0].duration : NaN;
  return [ms, server];
}"""

#: The maps of the latest tap are drawn (their sequence number moved on from ``seq``).
MAPS_DONE = "(seq) => (document.getElementById('maps').dataset.seq || '') !== seq"


def _serve(url: str, folder: Path) -> tuple[uvicorn.Server, str]:
    settings = load_settings(url, secret_key="bench", data_dir=folder, cookie_secure=False)
    app = create_app(url, settings=settings)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    return server, base


def _figures(name: str, values: list[float]) -> str:
    q = statistics.quantiles(values, n=100, method="inclusive")
    return f"{name}: n={len(values)} p50={q[49]:.0f} ms p95={q[94]:.0f} ms max={max(values):.0f} ms"


def main(taps: int = 30) -> None:
    if not CHROMIUM.exists():
        print("bench_planner: /usr/bin/chromium is missing; skipped")
        return
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp())
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    create_demo_data(url)
    server, base = _serve(url, folder)
    email = next(e for e, _, r in DEMO_USERS if r == "clinician")
    body = {"given_name": "Bench", "family_name": "Planner", "birth_date": "1980-01-01", "sex": "female"}
    pid = httpx.post(f"{base}/api/patients", json=body, auth=(email, DEMO_PASSWORD)).json()["id"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"])
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.goto(f"{base}/signin")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("button:has-text('Sign in')")
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/patients/{pid}/planner")
        page.wait_for_selector("#planner[data-ready='1']")
        results: dict[str, tuple[list[float], list[float]]] = {}
        page.fill("#default_units", "4")
        maps = page.get_attribute("#maps", "data-seq") or ""
        page.evaluate(TAP, [SITES[0]])  # warm-up: the model's first run on this face
        # ... and its maps' first run (~1 s), which else ran beside the first tap's preview
        page.wait_for_function(MAPS_DONE, arg=maps)
        page.wait_for_timeout(300)
        page.click("#clear")
        page.wait_for_timeout(300)
        for series in ("new plans", "repeated plans (cached)"):
            ends, servers = [], []
            for i in range(taps):
                page.fill("#default_units", f"{1 + 0.5 * i:g}")
                page.dispatch_event("#default_units", "change")
                maps = page.get_attribute("#maps", "data-seq") or ""
                ms, server_ms = page.evaluate(TAP, [SITES[i % len(SITES)]])
                ends.append(float(ms))
                servers.append(float(server_ms))
                page.wait_for_function(MAPS_DONE, arg=maps)
                page.wait_for_timeout(300)  # the draft is kept 250 ms after the last edit
                page.click("#clear")
                page.wait_for_timeout(300)
            results[series] = (ends, servers)
        browser.close()
    for series, (ends, servers) in results.items():
        print(_figures(f"tap -> preview painted, {series}", ends))
        print(_figures(f"  server part (Server-Timing), {series}", servers))
    server.should_exit = True


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
