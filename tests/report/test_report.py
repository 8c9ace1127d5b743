"""The face chart, the wrinkle texture and the HTML report of a simulation."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np
import pytest

import rhytid
from rhytid.anatomy import reference_face
from rhytid.report import face_chart_png, write_simulation_report
from rhytid.report._html import FigureRef, render_page
from rhytid.report._texture import anchored_texture, smooth_orientation, wrinkle_texture

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the PNG header; fails on anything that is not a PNG."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert head[12:16] == b"IHDR"
    w, h = struct.unpack(">II", head[16:24])
    return int(w), int(h)


@pytest.mark.parametrize("sex", ["female", "male"])
def test_face_chart_is_a_png_of_readable_size(tmp_path: Path, sex: str) -> None:
    out = face_chart_png(reference_face(sex), tmp_path / "sub" / "face.png")  # type: ignore[arg-type]
    assert out == tmp_path / "sub" / "face.png"
    w, h = png_size(out)
    assert 1200 <= w <= 4000 and 1000 <= h <= 4000


# --- wrinkle texture -------------------------------------------------------------------------


def test_texture_of_compression_along_x_varies_along_x_only() -> None:
    x, y = np.meshgrid(np.arange(0.0, 40.0, 0.25), np.arange(0.0, 30.0, 0.25))
    tex = wrinkle_texture(100.0, 0.0, 10.0, x, y)
    assert np.allclose(tex, tex[:1, :])  # constant along y: the lines are vertical
    assert np.ptp(tex[0]) == pytest.approx(100.0, rel=1e-3)  # full contrast along x
    row = tex[0]
    crests = x[0][1:-1][(row[1:-1] > row[:-2]) & (row[1:-1] >= row[2:])]
    assert np.allclose(np.diff(crests), 10.0, atol=0.25)  # spaced by the wavelength


def test_texture_lines_follow_the_compression_direction() -> None:
    x, y = np.meshgrid(np.arange(0.0, 40.0, 0.25), np.arange(0.0, 30.0, 0.25))
    tex = wrinkle_texture(1.0, np.pi / 2, 8.0, x, y)  # compressed along y: horizontal lines
    assert np.allclose(tex, tex[:, :1])
    assert np.ptp(tex[:, 0]) > 0.99


def test_texture_scales_with_depth_and_vanishes_without_it() -> None:
    x, y = np.meshgrid(np.linspace(0, 20, 50), np.linspace(0, 20, 40))
    one = wrinkle_texture(1.0, 0.3, 12.0, x, y)
    assert np.allclose(wrinkle_texture(250.0, 0.3, 12.0, x, y), 250.0 * one)
    assert np.all(wrinkle_texture(0.0, 0.3, 12.0, x, y) == 0.0)
    assert np.all((one >= 0.0) & (one <= 1.0))


def test_sharper_furrows_keep_crests_and_spacing() -> None:
    x = np.arange(0.0, 30.0, 0.1)
    soft = wrinkle_texture(1.0, 0.0, 6.0, x, 0.0)
    sharp = wrinkle_texture(1.0, 0.0, 6.0, x, 0.0, sharpness=3.0)
    assert np.array_equal(np.argsort(soft)[-5:], np.argsort(sharp)[-5:])
    assert sharp.mean() < soft.mean()


def test_texture_is_independent_of_the_sense_of_the_angle() -> None:
    x, y = np.meshgrid(np.linspace(-5, 5, 21), np.linspace(-5, 5, 21))
    assert np.allclose(wrinkle_texture(1.0, 0.4, 7.0, x, y), wrinkle_texture(1.0, 0.4 + np.pi, 7.0, x, y))


def test_radial_lines_around_an_anchor() -> None:
    """Compression running around a point (crow's feet) gives lines that radiate from it."""
    x, y = np.meshgrid(np.arange(-30.0, 30.0, 0.5), np.arange(-30.0, 30.0, 0.5))
    theta = np.mod(np.arctan2(y, x) + np.pi / 2, np.pi)  # tangential compression
    tex = anchored_texture(np.ones_like(x), theta, 16.0, x, y, np.array([[-40.0, 0.0]]), 3.0)
    # along a ray from the centre (right half, at 20°) the texture barely changes
    r = np.arange(8.0, 28.0, 0.5)
    a = np.deg2rad(20.0)
    i = np.round((r * np.cos(a) + 30.0) / 0.5).astype(int)
    j = np.round((r * np.sin(a) + 30.0) / 0.5).astype(int)
    along_ray = tex[j, i]
    arc = np.linspace(-1.0, 1.0, 60)
    ring = tex[
        np.round((15.0 * np.sin(arc) + 30.0) / 0.5).astype(int),
        np.round((15.0 * np.cos(arc) + 30.0) / 0.5).astype(int),
    ]
    assert np.ptp(along_ray) < 0.5 * np.ptp(ring)


def test_smoothing_keeps_a_uniform_orientation() -> None:
    theta = np.full((20, 30), 3.0)
    assert np.allclose(smooth_orientation(theta, np.ones_like(theta), 3.0), 3.0)


# --- report ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    for name in ("glabellar-20U", "risky-lateral-corrugator"):
        plan = rhytid.load_plan(Path("examples") / f"{name}.toml")
        outcome = rhytid.simulate(plan)
        out[name] = write_simulation_report(plan, outcome, tmp_path_factory.mktemp(name) / "report")
    return out


def test_report_references_every_figure_it_wrote(reports: dict[str, Path]) -> None:
    for index in reports.values():
        assert index.name == "index.html" and index.is_file()
        page = index.read_text(encoding="utf-8")
        written = {p.name for p in index.parent.glob("*.png")}
        referenced = set(re.findall(r'<img src="([^"]+)"', page))
        assert written == referenced
        assert {"plan.png", "grades.png", "brow-eyelid.png"} <= written
        assert {f"wrinkles-{e}.png" for e in ("frown", "raise-brows", "smile")} <= written
        for name in written:
            w, h = png_size(index.parent / name)
            assert w >= 600 and h >= 300


def test_report_is_self_contained(reports: dict[str, Path]) -> None:
    page = reports["glabellar-20U"].read_text(encoding="utf-8")
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "<link" not in page
    for key in ("onabotulinumtoxinA", "corrugator_medial_l", rhytid.__version__, "sha256:", "U/mL"):
        assert key in page
    assert page.count("<tr>") >= 5 + 10  # one row per injection and per visit


def test_risks_appear_only_for_the_risky_plan(reports: dict[str, Path]) -> None:
    risky = reports["risky-lateral-corrugator"].read_text(encoding="utf-8")
    label = reports["glabellar-20U"].read_text(encoding="utf-8")
    assert 'class="risk risk-' in risky and "eyelid ptosis" in risky and "levator" in risky
    assert 'class="risk ' not in label
    assert "No risk predicted" in label


def test_page_escapes_text() -> None:
    plan = rhytid.load_plan(Path("examples") / "glabellar-20U.toml")
    outcome = rhytid.simulate(plan)
    evil = rhytid.Risk("asymmetry", None, "high", '<script>alert("x")</script> & co')
    page = render_page(
        type(outcome)(**{**outcome.__dict__, "risks": [evil], "warnings": ["a < b"]}),
        [FigureRef('x".png', "<b>caption</b>")],
        title="<i>title</i>",
        source=None,
    )
    assert "<script>" not in page and "<b>caption</b>" not in page and "<i>title</i>" not in page
    assert "&lt;script&gt;" in page and "a &lt; b" in page and 'src="x&quot;.png"' in page
