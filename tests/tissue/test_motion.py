"""The model's face moves as measured faces move (evidence/motion.md), with no toxin.

Each anchor is checked against the published mean and spread. Where a value was fitted, the test
says so: then it checks the fit holds, not an independent reproduction.
"""

from __future__ import annotations

import numpy as np
import pytest

from rhytid._motion import Motion, motion
from rhytid.tissue import brow_point, get_basis, tissue_parameters


@pytest.fixture(scope="module")
def raise_f() -> Motion:
    return motion("raise_brows", "female")


@pytest.fixture(scope="module")
def raise_m() -> Motion:
    return motion("raise_brows", "male")


def test_maximal_raising_lifts_the_mid_pupil_brow_as_measured(raise_f: Motion) -> None:
    """Cruz & Cruz 2004: group means 7.57-9.02 mm at the central brow (fitted: frontalis
    thickness, anatomy.yaml, so this holds the fit)."""
    face = raise_f.face
    for side in "lr":
        x, y = brow_point(get_basis(face), side, abs(face.landmarks[f"pupil_{side}"][0]))
        assert 7.57 <= raise_f.at(x, y)[1] <= 9.02


def test_landmarks_and_profiles_sample_the_same_field(raise_f: Motion) -> None:
    assert raise_f.landmarks["brow_peak_l"] == pytest.approx(
        raise_f.at(*raise_f.face.landmarks["brow_peak_l"])
    )
    p = raise_f.profiles[1]
    assert (p.dx_mm[3], p.dy_mm[3]) == pytest.approx(raise_f.at(p.x_mm, float(p.y_mm[3])))
    assert [q.x_mm for q in raise_f.profiles] == [-30.5, 30.5]


def test_the_brow_tail_moves_least(raise_f: Motion) -> None:
    """Park 2017: the tail moves least; still a clear lift (Jorge 2012 brow marker 10.6 +- 2.5 mm
    is a 3D resultant, 1-2 mm above vertical-only values)."""
    lm = raise_f.landmarks
    for s in "lr":
        tail, peak, medial = lm[f"brow_lateral_{s}"][1], lm[f"brow_peak_{s}"][1], lm[f"brow_medial_{s}"][1]
        assert 3.0 < tail < min(peak, medial)
        assert 7.57 <= peak <= 10.57 + 2.51


def test_men_move_about_15_percent_more(raise_f: Motion, raise_m: Motion) -> None:
    """Giovanoli 2003: men ~1.4 mm (15 %) more (fitted: male_strength_factor)."""
    ratio = raise_m.landmarks["brow_peak_l"][1] / raise_f.landmarks["brow_peak_l"][1]
    assert 1.10 <= ratio <= 1.20


@pytest.mark.parametrize("sex", ["female", "male"])
def test_c_line_lower_forehead_up_upper_forehead_down(sex: str) -> None:
    """Cotofana 2020: below the C-line the skin moves up, above it down; the C-line at
    60.6 +- 9.6 % (women) / 60.9 +- 10.2 % (men) of forehead height."""
    mean, sd = (60.6, 9.6) if sex == "female" else (60.9, 10.2)
    for p in motion("raise_brows", sex).profiles:
        c = p.c_line_fraction
        assert c is not None
        assert abs(100 * c - mean) <= sd
        below = p.height_fraction < c - 0.05
        above = p.height_fraction > c + 0.05
        assert np.all(p.dy_mm[below] > 0) and np.all(p.dy_mm[above] < 0)
        assert len(p.y_mm) >= 20


def test_forehead_shortens_more_in_men(raise_f: Motion, raise_m: Motion) -> None:
    """Secondary review of Cotofana 2020: ~8 mm (women), ~13 mm (men), no spread given. The men's
    figure is fitted (tissue.yaml tethers.fascia_n_per_mm3, with the frontalis thickness holding
    the brow excursion), so this checks the fit holds: the stiffness of the upper frontalis's
    adhesion to deep fascia sets how far the hairline side moves down. With the former assumed
    stiffness (0.004) the men's forehead shortened 14.7 mm and the women's 12.2 mm. The women's
    figure cannot be met: the brow alone rises >= 7.57 mm (Cruz 2004) and the upper forehead
    moves down (Cotofana), so the brow-to-hairline distance must shorten by more than the brow
    excursion; the model's lies between the two figures, nearer the women's than before."""
    f = raise_f.profiles[1].shortening_mm
    m = raise_m.profiles[1].shortening_mm
    assert abs(m - 13.0) <= 0.3
    assert 8.0 < f < 11.5
    assert m > f
    brow = raise_f.profiles[1].dy_mm[0]
    assert f > brow  # the hairline side moves down


def test_maximal_frown_moves_the_brow_54mm() -> None:
    """Proebstle 2014: 5.4 +- 1.4 mm at 30 mm from the midline, upper brow margin (fitted:
    skin_coupling, so this holds the fit)."""
    p = tissue_parameters()
    m = motion("frown", "female")
    out = []
    for side in "lr":
        x, y = brow_point(get_basis(m.face), side, p.brow_reference_x_mm, p.brow_upper_margin_offset_mm)
        out.append(float(np.hypot(*m.at(x, y))))
    assert abs(np.mean(out) - 5.4) <= 1.4
    # the medial brow moves down and toward the midline
    dx, dy = m.landmarks["brow_medial_l"]
    assert dy < -2.0 and dx < 0


def test_smile_lifts_the_midface() -> None:
    """Freytag 2021: the Duchenne smile lifts the midface 6.68 +- 2.4 mm (medial) and 5.20 +- 2.07
    mm (lateral) cranially (fitted on the lateral: zygomaticus thickness; medial reproduced)."""
    m = motion("smile", "female")
    lateral = m.at(46.0, -36.0)[1]
    medial = m.at(32.0, -40.0)[1]
    assert abs(lateral - 5.20) <= 2.07
    assert abs(medial - 6.68) <= 2.4
    # the cheek pushes the lateral canthus up
    assert m.landmarks["lateral_canthus_l"][1] > 0.5


def test_no_expression_without_its_muscles_moves_the_hairline() -> None:
    for e in ("frown", "smile", "squint"):
        assert abs(motion(e).landmarks["trichion"][1]) < 0.1


def test_closing_the_eye_moves_the_upper_lid_as_measured() -> None:
    """Relaxing the levator from primary gaze lowers the lid by its resting lift: 9.09 +- 2.20 mm
    at the upper-lid marker on closure (Jorge 2012); the lift is linear in the levator's block."""
    from rhytid.model import face_engine, lid_lift_mm

    e = face_engine("female", None)
    n = len(e.basis.segments)
    open_lid = lid_lift_mm(e, np.zeros((1, n)))[0]
    assert np.all(np.abs(open_lid - 9.09) <= 2.20)
    half = np.zeros((1, n))
    half[0, e.levator] = 0.5
    assert lid_lift_mm(e, half)[0] == pytest.approx(0.5 * open_lid)


def test_habitual_lifters_carry_the_brow_about_6mm_higher() -> None:
    """Mishima 2013: habitual brow lifters' brows 5.9 mm higher (31.9 +- 2.5 vs 25.9 +- 2.3 mm);
    the population's upper tail of frontalis tone (~6x the median) gives that; losing the median
    tone lowers the brow 0.75-1.54 mm (Arch Aesthetic Plast Surg 2023)."""
    from rhytid.model import brow_height_mm, face_engine

    e = face_engine("female", None)
    zero = np.zeros((1, len(e.basis.segments)))
    typical, lifter, none = (brow_height_mm(e, zero, 1.0, t)[0] for t in (1.0, 6.0, 0.0))
    keys = list(e.brow_uy)
    medial = keys.index("medial_l")
    assert abs((lifter - typical)[medial] - 5.9) <= 2.5
    loss = typical - none
    assert 0.75 <= loss[keys.index("medial_l")] <= 1.54
    assert loss[keys.index("lateral_l")] < loss[keys.index("medial_l")]  # most medially


def test_grinning_lifts_the_lower_lid_less_than_measured() -> None:
    """An anchor the model does not reach, kept visible: Feng 2015 (J Otol, PMC6002558, n=22)
    measured the lower-lid marker moving 3.9-4.2 mm on grinning (inner canthus 1.5 mm); the model
    moves the lower lid 5 mm below the pupil 1.19 mm up (|u| ~1.5 mm), the medial canthus ~0.45 mm.

    Why it cannot be matched with sourced values (issue 11, item 2): the shortfall is one of
    reach, not of force. The zygomaticus alone lifts the lateral midface 3.9 mm but the lid only
    0.75 mm: on the sheet's uniform foundation (subcutis shear over 4.4 mm, derived at the
    glabella) its lift decays to ~19 % over the ~20 mm from its belly to the lid, where faces keep
    60-80 % (lid 3.9-4.2 mm against the midface's 5.2-6.7 mm, Freytag 2021). Scaling the
    zygomaticus to reach 3.9 mm at the lid would lift the midface ~20 mm (Freytag 5.20 +- 2.07
    mm); the orbicularis at a full squeeze (1.0, the assumed smile share is 0.6) reaches only
    ~2.2 mm at the lid while the midface overshoots to 7.7 mm. What faces have and the sheet
    lacks is a gliding plane under the cheek (the malar fat pad over the prezygomatic space, the
    loose lower-lid tissue) that carries the cheek up as a body, and the forward bulge of the
    cheek, which a frontal, in-plane sheet cannot show (whether Feng's figures are 3-D resultants
    is not in the evidence file). The evidence holds no shear stiffness or thickness of that
    plane, so no regional foundation is introduced; if a change to the mechanics reaches the
    measured range, replace this test by the anchor test.
    """
    m = motion("smile", "female")
    pupil = m.face.landmarks["pupil_l"]
    lid = m.at(pupil[0], pupil[1] - 5.0)  # lower-lid margin ~5 mm below the pupil (MRD2)
    canthus = m.landmarks["medial_canthus_l"]
    assert 0.5 < lid[1] < 3.9  # up, as measured, but short of 3.9-4.2 mm
    assert float(np.hypot(*canthus)) < float(np.hypot(*lid))  # the inner canthus moves less
