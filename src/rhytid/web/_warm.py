"""The model's warm-up while the server starts: the first preview of the day should not wait for it.

The planner's first tap after a start would otherwise load the bases and reduced cell sets and
the compiled kernels inside its request (about 3 s from the disk caches; on a fresh install,
about a minute of compiling). :class:`ModelWarmUp` does that in a background thread, so that the
server answers at once, and then freezes what it loaded out of the garbage collector's full
collections, as start-up's own heap is (:func:`freeze_startup_heap`).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from typing import Literal

from rhytid.store import _planner as planner

__all__ = ["ModelWarmUp", "freeze_startup_heap"]

log = logging.getLogger("rhytid.web")

State = Literal["warming", "ready", "failed"]


def freeze_startup_heap() -> None:
    """Move what start-up made (modules, the model's data, SQLAlchemy's tables: ~220 000 tracked
    objects) out of the garbage collector's reach (:func:`gc.freeze`), so that a full collection
    no longer walks it. Each full collection over that heap took 60-115 ms on a loaded 2-core
    machine and landed on whichever request was running (a new-plan preview's server part is
    ~15 ms); frozen, it takes well under 1 ms. Start-up's garbage is collected first."""
    gc.collect()
    gc.freeze()


class ModelWarmUp:
    """Runs ``warm`` (default :func:`rhytid.store._planner.warm_preview`) once in a daemon thread;
    ``state`` says how far it got and ``done`` is set when it has ended either way. A failure is
    logged, never raised: the first preview then prepares the model itself."""

    def __init__(self, warm: Callable[[], None] = planner.warm_preview) -> None:
        self.state: State = "warming"
        self.done = threading.Event()
        self._warm = warm
        self._stopped = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="rhytid-model-warm-up", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """The app stops: what the thread loads from now on is not frozen (the app unfreezes)."""
        with self._lock:
            self._stopped = True

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            self._warm()
        except Exception:
            self.state = "failed"
            log.exception("the model could not be prepared at start; the first preview will prepare it")
        else:
            self.state = "ready"
            log.info("model ready for previews in %.1f s", time.perf_counter() - started)
        with self._lock:
            if not self._stopped:
                freeze_startup_heap()
        self.done.set()
