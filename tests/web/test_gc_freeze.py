"""While the app serves, what start-up made is frozen out of the garbage collector's full
collections (benchmarks/bench_planner.py: a full collection over it landed on a preview); when
the app stops, it is collectable again."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from rhytid.web import create_app, load_settings


def test_the_startup_heap_is_frozen_while_the_app_serves(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gc.sqlite3'}"
    app = create_app(url, settings=load_settings(url, secret_key="k" * 32, data_dir=tmp_path))
    frozen: list[int] = []
    made_before = object()  # a tracked object that exists before start-up ends
    holder = [made_before]

    async def serve() -> None:
        async with app.router.lifespan_context(app):  # as uvicorn starts and stops the app
            frozen.append(gc.get_freeze_count())
            frozen.append(int(any(o is holder for o in gc.get_objects(generation=2))))

    asyncio.run(serve())
    assert frozen[0] > 0  # start-up's heap is in the permanent generation
    assert frozen[1] == 0  # ... so a full collection no longer walks it
    assert gc.get_freeze_count() == 0
