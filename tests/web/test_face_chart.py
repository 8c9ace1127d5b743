"""The planner's face illustration: drawn from the face's landmarks; danger zones are the rules' own."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rhytid.anatomy import reference_face
from rhytid.anatomy._geometry import point_in_polygon
from rhytid.clinic import zone_risks
from rhytid.web._face_chart import face_chart


def _points(d: str) -> np.ndarray:
    """Vertices (face frame, y up) of a polygon path ``M x,y L x,y ... Z``."""
    pairs = re.findall(r"(-?[\d.]+),(-?[\d.]+)", d)
    return np.array([[float(x), -float(y)] for x, y in pairs])


def _inside(poly: np.ndarray, x: float, y: float) -> bool:
    return bool(point_in_polygon(np.array([x]), np.array([y]), poly)[0])


def _level(sex: str, x: float, y: float) -> str:
    face = reference_face(sex)  # type: ignore[arg-type]
    return next(r.level for r in zone_risks(face, x, y, None) if r.rule == "supraorbital")


@pytest.mark.parametrize("sex", ["female", "male"])
def test_supraorbital_zone_is_the_rule_band_above_the_rim(sex: str) -> None:
    chart = face_chart(sex)
    face = reference_face(sex)  # type: ignore[arg-type]
    for side in ("l", "r"):
        high = _points(
            next(
                z["d"]
                for z in chart["danger"]
                if z["kind"] == "supraorbital" and z["side"] == side and z["level"] == "high"
            )
        )
        caution = _points(
            next(
                z["d"]
                for z in chart["danger"]
                if z["kind"] == "supraorbital" and z["side"] == side and z["level"] == "moderate"
            )
        )
        # sample the rule over the orbit's columns: inside the drawn band <=> the rule says high
        x0, x1 = sorted(
            (face.landmarks[f"medial_canthus_{side}"][0], face.landmarks[f"orbital_rim_lat_{side}"][0])
        )
        rng = np.random.default_rng(7)
        checked = 0
        for x, y in zip(rng.uniform(x0 + 0.6, x1 - 0.6, 400), rng.uniform(-10.0, 25.0, 400), strict=True):
            level = _level(sex, float(x), float(y))
            rim_dist = next(
                r.distance_mm for r in zone_risks(face, float(x), float(y), None) if r.rule == "supraorbital"
            )
            if abs(rim_dist) < 0.3 or abs(rim_dist - 10.0) < 0.3 or abs(rim_dist - 11.5) < 0.3:
                continue  # on an edge: the polygon's vertices are 0.5 mm apart
            if rim_dist < 0:
                # below the rim (the eye, the cheek) is not drawn as a band: no column to the edge
                assert not _inside(high, float(x), float(y)), (x, y)
                continue
            assert _inside(high, float(x), float(y)) == (level == "high"), (side, x, y, level)
            assert _inside(caution, float(x), float(y)) == (level == "moderate"), (side, x, y, level)
            checked += 1
        assert checked > 150
        # the band stays over the orbit: nothing lateral to the lateral rim or medial to the canthus
        assert np.all(np.abs(high[:, 0]) <= abs(face.landmarks[f"orbital_rim_lat_{side}"][0]) + 0.01)
        assert np.all(np.abs(high[:, 0]) >= abs(face.landmarks[f"medial_canthus_{side}"][0]) - 0.01)
        assert high[:, 1].min() > -20  # it does not run down the cheek


@pytest.mark.parametrize("sex", ["female", "male"])
def test_illustration_follows_the_landmarks(sex: str) -> None:
    chart = face_chart(sex)
    face = reference_face(sex)  # type: ignore[arg-type]
    lm = face.landmarks
    for eye in chart["eyes"]:
        s = eye["side"]
        start = re.match(r"M(-?[\d.]+),(-?[\d.]+)", eye["almond"])
        assert start is not None
        assert (float(start[1]), -float(start[2])) == pytest.approx(lm[f"medial_canthus_{s}"], abs=0.01)
        assert eye["iris"][:2] == pytest.approx([lm[f"pupil_{s}"][0], -lm[f"pupil_{s}"][1]], abs=0.01)
    # the frame holds the whole face, wider for the wider (male) face, with both sides' labels
    x, y, w, h = chart["view"]
    (wx0, wy0), (wx1, wy1) = face.window
    assert x <= wx0 and x + w >= wx1 and -y >= wy1 and -(y + h) <= wy0
    assert set(chart["labels"]) == set(face.sites)
    assert len(chart["labels"]) == 16
    assert chart["sides"]["l"][0] > 0 > chart["sides"]["r"][0]  # patient's left on the viewer's right


def test_male_frame_is_wider_than_female() -> None:
    assert face_chart("male")["view"][2] > face_chart("female")["view"][2]
