"""While the app serves, BLAS runs one thread per request (benchmarks/bench_planner.py: on a busy
2-core machine OpenBLAS's own threads made a new-plan preview ~10x slower); after, it is as it was."""

from __future__ import annotations

import asyncio
from pathlib import Path

from threadpoolctl import threadpool_info

from rhytid.web import create_app, load_settings


def _blas_threads() -> set[int]:
    return {int(i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"}


def test_blas_runs_one_thread_while_the_app_serves(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'blas.sqlite3'}"
    app = create_app(url, settings=load_settings(url, secret_key="k" * 32, data_dir=tmp_path))
    before = _blas_threads()
    assert before, "numpy's BLAS is not visible to threadpoolctl"
    during: set[int] = set()

    async def serve() -> None:
        async with app.router.lifespan_context(app):  # as uvicorn starts and stops the app
            during.update(_blas_threads())

    asyncio.run(serve())
    assert during == {1}
    assert _blas_threads() == before
