"""The uniform raster over the face on which fields live."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Raster"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Raster:
    """Cell-centred uniform grid: ``nx`` × ``ny`` cells of ``spacing`` mm from (x0, y0).

    Arrays on the raster have shape ``(ny, nx)``; row 0 is the bottom (lowest y).
    """

    x0: float
    y0: float
    spacing: float
    nx: int
    ny: int

    @classmethod
    def over(cls, window: tuple[tuple[float, float], tuple[float, float]], spacing: float) -> Raster:
        (x0, y0), (x1, y1) = window
        if spacing <= 0:
            raise ValueError(f"raster spacing must be > 0 mm, got {spacing}")
        nx = round((x1 - x0) / spacing)
        ny = round((y1 - y0) / spacing)
        return cls(float(x0), float(y0), float(spacing), nx, ny)

    @property
    def xs(self) -> Array:
        return np.asarray(self.x0 + (np.arange(self.nx) + 0.5) * self.spacing, dtype=np.float64)

    @property
    def ys(self) -> Array:
        return np.asarray(self.y0 + (np.arange(self.ny) + 0.5) * self.spacing, dtype=np.float64)

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(left, right, bottom, top) in mm, for plotting."""
        return (
            self.x0,
            self.x0 + self.nx * self.spacing,
            self.y0,
            self.y0 + self.ny * self.spacing,
        )

    def grid(self) -> tuple[Array, Array]:
        """Cell-centre coordinates ``(x, y)``, each of shape ``(ny, nx)``."""
        x, y = np.meshgrid(self.xs, self.ys)
        return x, y

    def bilinear_weights(self, x: float, y: float) -> tuple[NDArray[np.intp], Array]:
        """Flat indices of the four cells around (x, y) and their bilinear weights."""
        fx = (x - self.x0) / self.spacing - 0.5
        fy = (y - self.y0) / self.spacing - 0.5
        i0 = int(np.clip(np.floor(fx), 0, self.nx - 2))
        j0 = int(np.clip(np.floor(fy), 0, self.ny - 2))
        tx, ty = float(np.clip(fx - i0, 0, 1)), float(np.clip(fy - j0, 0, 1))
        idx = np.array(
            [
                j0 * self.nx + i0,
                j0 * self.nx + i0 + 1,
                (j0 + 1) * self.nx + i0,
                (j0 + 1) * self.nx + i0 + 1,
            ]
        )
        w = np.array([(1 - tx) * (1 - ty), tx * (1 - ty), (1 - tx) * ty, tx * ty])
        return idx, w
