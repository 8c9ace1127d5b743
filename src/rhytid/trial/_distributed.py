"""Running the chunks of a trial on a Dask cluster (``dask.distributed``).

Each chunk is one task: ``run_chunk(design, parameters, size, seed)`` with the chunk's own
:class:`numpy.random.SeedSequence`; results come back in chunk order, so a cluster run equals the
single-machine run for the same seed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from rhytid.errors import TrialError
from rhytid.trial._design import TrialDesign
from rhytid.trial._params import TrialParameters

__all__ = ["run_on_cluster"]


def run_on_cluster(
    scheduler: Any,
    design: TrialDesign,
    tp: TrialParameters,
    sizes: list[int],
    seeds: list[np.random.SeedSequence],
    exact: bool = False,
) -> Iterator[tuple[int, Any]]:
    """Yield ``(chunk index, ChunkResult)`` as chunks finish on the cluster."""
    from distributed import Client, as_completed

    from rhytid.trial._run import run_chunk

    own = False
    if isinstance(scheduler, Client):
        client = scheduler
    else:
        try:
            client = Client(str(scheduler), timeout="3s")  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError, ValueError) as exc:
            raise TrialError(f"--scheduler: cannot reach a Dask scheduler at {scheduler!r} ({exc})") from None
        own = True
    try:
        futures = [
            client.submit(
                run_chunk, design, tp, n, sq, exact, key=f"rhytid-trial-{design.seed}-{j}", pure=False
            )
            for j, (n, sq) in enumerate(zip(sizes, seeds, strict=True))
        ]
        index = {f.key: j for j, f in enumerate(futures)}
        for fut in as_completed(futures):  # type: ignore[no-untyped-call]
            yield index[fut.key], fut.result()
    finally:
        if own:
            client.close()  # type: ignore[no-untyped-call]
