"""The planner's maps: wrinkle depth at maximum contraction before and after, and the block.

Glue between a plan and the model's own raster fields (:func:`rhytid.model.field_maps`,
:func:`rhytid.model.field_of_effect`); nothing here restates the mechanism. For each expression
that grades a treated area (glabellar: frown, forehead: raising the brows, lateral canthal: the
smile), the total wrinkle depth (µm, dynamic + static) is taken on day 0 (before: no toxin bound
yet) and on the chosen day, on the model's raster of :data:`MAP_STEP_MM` (a picture needs no
finer cells; the grades come from the Outcome at the model's own raster), cropped to the treated
areas (plus :data:`MARGIN_MM`); the block of the nerve endings on that day is given on a coarser
grid.
Results are cached per plan and day: the slider and undo/redo ask again for what they saw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

import rhytid
from rhytid.anatomy import reference_face
from rhytid.clinic import injection_area, plan_view
from rhytid.model import field_maps, field_of_effect

__all__ = ["MAP_STEP_MM", "MARGIN_MM", "preview_maps"]

#: Raster spacing (mm) of the model's fields for the planner's depth maps.
MAP_STEP_MM = 1.0
#: Margin (mm) around the treated areas' outlines in the depth maps.
MARGIN_MM = 4.0
_FIELD_STEP_MM = 2.0
_FIELD_SHOWN = 0.05


def _crop(fm: _Depth, polygons: list[Any]) -> tuple[slice, slice, int]:
    x, y = fm.raster.grid()
    xs, ys = x[0, :], y[:, 0]
    pts = np.concatenate([np.asarray(p, dtype=float) for p in polygons])
    (x0, y0), (x1, y1) = pts.min(axis=0) - MARGIN_MM, pts.max(axis=0) + MARGIN_MM
    step = max(1, round(MAP_STEP_MM / fm.raster.spacing))
    cols = np.nonzero((xs >= x0) & (xs <= x1))[0]
    rows = np.nonzero((ys >= y0) & (ys <= y1))[0]
    return slice(rows.min(), rows.max() + 1, step), slice(cols.min(), cols.max() + 1, step), step


@dataclass(frozen=True)
class _Depth:
    depth_um: Any
    raster: Any


@lru_cache(maxsize=64)
def _depth_map(key: str, day: float, expression: str) -> _Depth:
    """The model's depth field (µm) of ``expression`` on ``day`` for a plan key, and its raster
    (cached; the other fields of :class:`rhytid.model.FieldMaps` are not kept)."""
    fm = field_maps(rhytid.Plan.from_dict(json.loads(key)), day, expression, raster_mm=MAP_STEP_MM)
    return _Depth(fm.depth_um, fm.raster)


_BEFORE: dict[tuple[str, str], _Depth] = {}


def _before_map(key: str, expression: str) -> _Depth:
    """The fields of ``expression`` on day 0, before any toxin is bound (the onset has not begun:
    the model's active fraction is 0 at the injection time), the same for every plan of one
    patient: cached per patient (sex and age) and expression."""
    patient = json.dumps(json.loads(key)["patient"], sort_keys=True)
    if (patient, expression) not in _BEFORE:
        _BEFORE[(patient, expression)] = _depth_map(key, 0.0, expression)
    return _BEFORE[(patient, expression)]


def _field(plan: rhytid.Plan, day: float) -> dict[str, Any]:
    """Block (0..1) of the nerve endings on ``day`` on a 2-mm grid, cells above 5 %
    (:func:`rhytid.model.field_of_effect`: the block the Outcome reports)."""
    face = reference_face((plan.patient or rhytid.Patient()).sex)
    (x0, y0), (x1, y1) = face.window
    xs = np.arange(x0, x1 + 1e-9, _FIELD_STEP_MM)
    ys = np.arange(y0, y1 + 1e-9, _FIELD_STEP_MM)
    gx, gy = np.meshgrid(xs, ys)
    block = field_of_effect(plan, np.column_stack([gx.ravel(), gy.ravel()]), day).reshape(gx.shape)
    cells = [
        [round(float(xs[i]), 1), round(float(ys[j]), 1), round(float(block[j, i]), 2)]
        for j, i in zip(*np.nonzero(block >= _FIELD_SHOWN), strict=True)
    ]
    return {"step_mm": _FIELD_STEP_MM, "quantity": "block", "day": day, "cells": cells}


@lru_cache(maxsize=256)
def preview_maps(key: str, day: float) -> dict[str, Any]:
    """Depth maps before (day 0) and on ``day`` for each expression of the treated areas, and the
    block field on ``day``, for the plan ``key`` (:func:`rhytid.store._clinical.plan_key`).

    Each map: ``expression``, ``areas``, ``x0_mm``/``y0_mm`` (centre of the first cell, bottom
    left), ``step_mm``, ``nx``, ``ny``, ``before_um`` and ``after_um`` (row-major from the bottom
    row, whole µm) and ``scale_um`` (the larger maximum of the two, for one colour scale).
    """
    plan = rhytid.Plan.from_dict(json.loads(key))
    sex = (plan.patient or rhytid.Patient()).sex
    face = reference_face(sex)
    areas = sorted({a for i in plan_view(plan).injections if (a := injection_area(face, i)) is not None})
    by_expression: dict[str, list[str]] = {}
    for a in areas:
        by_expression.setdefault(face.areas[a].expression, []).append(a)
    maps = []
    for expression, names in sorted(by_expression.items()):
        before = _before_map(key, expression)
        after = _depth_map(key, float(day), expression)
        rows, cols, step = _crop(before, [face.areas[n].polygon for n in names])
        x, y = before.raster.grid()
        b = np.rint(before.depth_um[rows, cols]).astype(int)
        f = np.rint(after.depth_um[rows, cols]).astype(int)
        maps.append(
            {
                "expression": expression,
                "areas": names,
                "x0_mm": round(float(x[0, cols.start]), 2),
                "y0_mm": round(float(y[rows.start, 0]), 2),
                "step_mm": float(before.raster.spacing * step),
                "nx": int(b.shape[1]),
                "ny": int(b.shape[0]),
                "before_um": b.ravel().tolist(),
                "after_um": f.ravel().tolist(),
                "scale_um": int(max(b.max(), f.max(), 1)),
            }
        )
    return {"day": float(day), "maps": maps, "field": _field(plan, float(day))}
