"""The reference face: contract landmarks, mirror symmetry, sex warp, sites inside muscles."""

from __future__ import annotations

import numpy as np
import pytest

from rhytid.anatomy import Face, reference_face
from rhytid.errors import AnatomyError

REQUIRED = [
    "nasion",
    "trichion",
    *[
        f"{n}_{s}"
        for s in "lr"
        for n in (
            "pupil",
            "orbital_rim_sup",
            "brow_medial",
            "brow_peak",
            "brow_lateral",
            "lateral_canthus",
            "orbital_rim_lat",
        )
    ],
]


@pytest.mark.parametrize("sex", ["female", "male"])
def test_contract_landmarks_present(sex: str) -> None:
    face = reference_face(sex)  # type: ignore[arg-type]
    for name in REQUIRED:
        assert name in face.landmarks, name


@pytest.mark.parametrize("sex", ["female", "male"])
def test_left_and_right_are_mirror_images(sex: str) -> None:
    face = reference_face(sex)  # type: ignore[arg-type]
    for name, (x, y) in face.landmarks.items():
        if name.endswith("_l"):
            xr, yr = face.landmarks[name[:-2] + "_r"]
            assert (xr, yr) == pytest.approx((-x, y))
    for name, m in face.muscles.items():
        if name.endswith("_l"):
            other = face.muscles[name[:-2] + "_r"]
            assert np.allclose(np.sort(other.outline[:, 0]), np.sort(-m.outline[:, 0]))


def test_label_sites_cover_the_three_indications(female: Face) -> None:
    areas = [s.area for s in female.sites.values()]
    assert areas.count("glabellar") == 5
    assert areas.count("forehead") == 5
    assert areas.count("lateral_canthal_l") == 3 and areas.count("lateral_canthal_r") == 3


@pytest.mark.parametrize(
    ("site", "muscle"),
    [
        ("procerus", "procerus"),
        ("corrugator_medial_l", "corrugator_l"),
        ("corrugator_lateral_r", "corrugator_r"),
        ("forehead_lateral_l", "frontalis_l"),
        ("lateral_canthal_middle_r", "orbicularis_oculi_r"),
    ],
)
def test_label_sites_lie_over_their_target_muscle(female: Face, site: str, muscle: str) -> None:
    x, y = female.site(site).xy
    assert muscle in [m.name for m in female.muscles_at(x, y)]


def test_glabellar_lateral_points_respect_the_1_cm_rule(female: Face) -> None:
    for side in "lr":
        x, y = female.site(f"corrugator_lateral_{side}").xy
        assert female.distance_to_orbital_rim(x, y, side) >= 10.0


def test_lateral_canthal_sites_lie_outside_the_orbital_rim(female: Face) -> None:
    for name, site in female.sites.items():
        if name.startswith("lateral_canthal"):
            side = name[-1]
            rim_x = female.landmarks[f"orbital_rim_lat_{side}"][0]
            assert abs(site.xy[0]) > abs(rim_x)


def test_male_face_is_larger_with_lower_brows() -> None:
    f, m = reference_face("female"), reference_face("male")
    assert m.landmarks["pupil_l"][0] > f.landmarks["pupil_l"][0]
    assert m.landmarks["trichion"][1] > f.landmarks["trichion"][1]
    brow_gap_f = f.landmarks["brow_peak_l"][1] - f.landmarks["orbital_rim_sup_l"][1]
    brow_gap_m = m.landmarks["brow_peak_l"][1] - m.landmarks["orbital_rim_sup_l"][1]
    assert brow_gap_m < brow_gap_f


def test_levator_lies_behind_the_septum_and_does_not_load_the_skin(female: Face) -> None:
    lev = female.muscles["levator_palpebrae_l"]
    assert lev.behind_septum and not lev.loads_skin


def test_unknown_names_raise_clear_errors(female: Face) -> None:
    with pytest.raises(AnatomyError, match="unknown site 'nose_tip'"):
        female.site("nose_tip")
    with pytest.raises(AnatomyError, match="sex must be"):
        reference_face("other")  # type: ignore[arg-type]


def test_to_dict_matches_the_contract_shape(female: Face) -> None:
    d = female.to_dict()
    assert {"landmarks", "sites", "muscles", "areas"} <= set(d)
    assert d["landmarks"]["nasion"] == [0.0, 0.0]
    muscle = next(m for m in d["muscles"] if m["name"] == "corrugator_l")
    assert muscle["role"] == "brow_depressor" and muscle["depth_mm"] > 0
    assert len(muscle["polygon"]) >= 3


@pytest.mark.parametrize("sex", ["female", "male"])
def test_each_reference_face_is_of_the_sex_asked_for(sex: str) -> None:
    # The male face is a warp of the female one; it must not keep her sex (the skin's material is read from it).
    assert reference_face(sex).sex == sex  # type: ignore[arg-type]
    assert reference_face(sex).to_dict()["sex"] == sex  # type: ignore[arg-type]
