"""The reduced-order error table: each graded area's representative cells against every cell.

For each face and area: the cells kept and the full count, and the error measured when the set was
built (256 random and trial-like activation states; rhytid._reduced): max and 99th-percentile
absolute depth error (µm) and the share of states graded differently. Printed, never asserted.
"""

from __future__ import annotations

from rhytid import default_parameters
from rhytid.trial import AREAS
from rhytid.trial._engine import face_model


def table() -> None:
    tp = default_parameters()
    areas = tuple(dict.fromkeys(a for _, graded in AREAS.values() for a in graded))
    print(f"{'face':<7} {'area':<18} {'cells':>11} {'max um':>8} {'p99 um':>8} {'grades differ':>14}")
    for sex in ("female", "male"):
        fm = face_model(sex, areas, tp.area_cells_max, tp.quadrature_stride, tp.tissue)
        full = {a.name: a.n for a in fm.engine.areas}
        for area in fm.areas:
            e = fm.errors[area.name]
            print(
                f"{sex:<7} {area.name:<18} {area.n:>4} / {full[area.name]:<5} {e.max_um:>8.1f} "
                f"{e.p99_um:>8.1f} {e.grade_disagreement:>13.1%}"
            )


if __name__ == "__main__":
    table()
