"""Rendering off screen: gallery scripts, image comparison, the main job, bad input."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import landscape as ls

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = Path(__file__).parent / "reference"
SCRIPTS = sorted((ROOT / "gallery").glob("*/plot_*.py"))
TOLERANCE = 60.0  # pyvista.compare_images error (mean pixel difference, 0-255 scale, summed over channels)


def read_png(path):
    import pyvista as pv

    return np.asarray(pv.read(str(path)).point_data.active_scalars).reshape(-1)


def run_script(script, out):
    env = dict(os.environ, LANDSCAPE_GALLERY_SIZE="small", LANDSCAPE_GALLERY_OUT=str(out))
    env.pop("DISPLAY", None)
    res = subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return res


@pytest.fixture(scope="module")
def gallery_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("gallery")
    for script in SCRIPTS:
        run_script(script, out)
    return out


def test_there_is_a_script_for_every_spec_gallery_entry():
    names = " ".join(s.name for s in SCRIPTS)
    for g in range(1, 9):
        assert f"plot_g{g}_" in names
    for folder in {s.parent for s in SCRIPTS} | {ROOT / "gallery"}:
        assert (folder / "README.txt").is_file()


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.stem)
def test_gallery_script_writes_non_blank_pictures(gallery_out, script):
    from landscape.render import is_blank

    stem = script.stem[len("plot_"):]
    m = re.match(r"(g\d)_", stem)
    pictures = sorted(gallery_out.glob(f"{m.group(1)}_*.png" if m else f"{stem}*.png"))
    assert pictures, f"{script.name} wrote no picture"
    for png in pictures:
        import pyvista as pv

        img = pv.read(str(png))
        arr = np.asarray(img.point_data.active_scalars).reshape(img.dimensions[1], img.dimensions[0], -1)
        assert not is_blank(arr), png.name


def compare(image_path, reference_name):
    import pyvista as pv

    ref = REFERENCE / reference_name
    if not ref.exists():  # the cache is committed; a missing one is a test failure, not a skip
        pytest.fail(f"reference image {ref} is missing (regenerate with tests/render/make_references.py)")
    return pv.compare_images(str(image_path), str(ref), use_vtk=True)


@pytest.mark.parametrize("picture, reference", [("g1_phase_portrait.png", "g1_phase_portrait.png"),
                                                ("g2_scalar_depth3.png", "g2_scalar_depth3.png")])
def test_gallery_pictures_match_references(gallery_out, picture, reference):
    assert compare(gallery_out / picture, reference) <= TOLERANCE


def manifold_picture(path):
    net = ls.LinearNetwork([1, 1, 1, 1], 3.0)
    sm = ls.submanifolds(net, [np.zeros((1, 1))] * 3, n_points=30)
    from landscape.render import render

    return render(sm, path, size="small")


def test_manifold_picture_matches_reference(tmp_path):
    manifold_picture(tmp_path / "manifolds.png")
    assert compare(tmp_path / "manifolds.png", "manifolds_scalar_depth3.png") <= TOLERANCE


def test_image_comparison_detects_a_different_picture(tmp_path, gallery_out):
    """The tolerance is meaningful: G1 against the G2 reference fails by far."""
    assert compare(gallery_out / "g1_phase_portrait.png", "g2_scalar_depth3.png") > 5 * TOLERANCE


def test_render_every_kind_and_vtk_export(tmp_path):
    from landscape.render import render

    net = ls.LinearNetwork([2, 2, 2, 2], [2.0, 1.0])
    traj = ls.gradient_flow(net, ls.init.gaussian(net, 0.05, rng=0), 50.0, times="log", n_points=100)
    for ds, name in [(traj, "traj"), (ls.itinerary(traj), "it"), (ls.critical_points(net), "cp"),
                     (ls.fiber(net, (1,), 12, rng=0), "fib"), (ls.hessian_inertia(net, ls.representative(net, (2,))), "in")]:
        written = render(ds, tmp_path / f"{name}.png", size="small", vtk=True)
        assert written[0].is_file() and written[0].stat().st_size > 1000
    assert (tmp_path / "traj.vtp").is_file()
    import pyvista as pv

    assert pv.read(str(tmp_path / "traj.vtp")).n_points > 10


def test_render_refuses_other_datasets(tmp_path):
    import xarray as xr

    from landscape.io import LandscapeFileError
    from landscape.render import render

    with pytest.raises(LandscapeFileError, match="lacks the attributes 'landscape_kind'"):
        render(xr.Dataset({"x": ("i", [1.0])}), tmp_path / "x.png")
    cv = ls.critical_values(ls.LinearNetwork([2, 2, 2], [2.0, 1.0]))
    with pytest.raises(ValueError, match=r"render expected a landscape dataset of kind \['trajectory'"):
        render(cv, tmp_path / "x.png")
