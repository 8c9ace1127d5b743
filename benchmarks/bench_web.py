"""Planner preview latency through a real uvicorn server (SQLite): prints p50/p95 in ms."""

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
from rhytid.toxin import label_pattern
from rhytid.web import create_app, load_settings

GLABELLAR = {
    "product": "onabotulinumtoxinA",
    "injections": [
        {"site": site, "units": units}
        for site, units in label_pattern("glabellar", "onabotulinumtoxinA").items()
    ],
}


def main(n: int = 200) -> None:
    folder = Path(tempfile.mkdtemp())
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    create_demo_data(url)
    app = create_app(url, settings=load_settings(url, secret_key="bench", data_dir=folder))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    email = next(e for e, _, r in DEMO_USERS if r == "clinician")
    with httpx.Client(base_url=base) as c:
        token = c.post("/api/auth/token", auth=(email, DEMO_PASSWORD)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        times = []
        for i in range(n + 10):
            body = {
                **GLABELLAR,
                "injections": [
                    {**GLABELLAR["injections"][0], "units": 2 + (i % 5)},
                    *GLABELLAR["injections"][1:],
                ],
            }
            t0 = time.perf_counter()
            r = c.post("/api/patients/1/preview", json=body, headers=headers)
            dt_ms = (time.perf_counter() - t0) * 1000
            assert r.status_code == 200, r.text
            if i >= 10:
                times.append(dt_ms)
    q = statistics.quantiles(times, n=100)
    print(f"preview over HTTP: n={n} p50={q[49]:.1f} ms p95={q[94]:.1f} ms max={max(times):.1f} ms")
    server.should_exit = True


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
