"""The server loads the model in the background as it starts, so the first tap does not wait."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from pathlib import Path

import pytest

from rhytid.store import _clinical
from rhytid.web import create_app, load_settings
from rhytid.web._warm import ModelWarmUp


def _app(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'warm.sqlite3'}"
    return create_app(url, settings=load_settings(url, secret_key="k" * 32, data_dir=tmp_path))


def test_the_app_prepares_both_faces_for_the_planner_while_it_serves(tmp_path: Path) -> None:
    app = _app(tmp_path)
    seen: list[object] = []

    async def serve() -> None:
        async with app.router.lifespan_context(app):
            warm_up = app.state.model_warm_up
            seen.append(warm_up.state)  # the server is up before the model is
            await asyncio.to_thread(warm_up.done.wait, 120)
            seen.append(warm_up.state)
            seen.append(gc.get_freeze_count())

    asyncio.run(serve())
    assert seen[0] in ("warming", "ready")
    assert seen[1] == "ready"
    assert isinstance(seen[2], int) and seen[2] > 0  # what it loaded is frozen too
    assert _clinical.preview_engine.cache_info().currsize == 2  # female and male
    assert gc.get_freeze_count() == 0


def test_a_failed_warm_up_is_logged_and_freezes_nothing_after_the_app_stops(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = threading.Event()

    def broken() -> None:
        release.wait(30)
        raise RuntimeError("no basis")

    warm_up = ModelWarmUp(broken)
    warm_up.start()
    warm_up.stop()  # the app stops before the warm-up ends
    with caplog.at_level(logging.ERROR, logger="rhytid.web"):
        release.set()
        assert warm_up.done.wait(30)
    assert warm_up.state == "failed"
    assert "first preview will prepare it" in caplog.text
    assert gc.get_freeze_count() == 0


def test_a_warm_up_that_ends_while_the_app_runs_freezes_the_heap() -> None:
    calls: list[int] = []
    warm_up = ModelWarmUp(lambda: calls.append(1))
    try:
        warm_up.start()
        assert warm_up.done.wait(30)
        assert (calls, warm_up.state) == ([1], "ready")
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
