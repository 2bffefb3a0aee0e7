"""The main job ``landscape explore``: pictures, data, report, progress, bad input."""

import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import landscape as ls
from tests.render.test_render import BLUE, GREEN, ORANGE, PURPLE, RED, colour_mask, read_rgb


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "landscape.cli", "explore", "--out", str(out), "--size", "small"],
                         capture_output=True, text=True, timeout=900)
    return out, res, time.perf_counter() - t0


def test_explore_finishes_quickly_with_a_summary(report):
    out, res, elapsed = report
    assert res.returncode == 0, res.stderr[-3000:]
    assert elapsed < 180
    assert "non_strict_saddle" in res.stdout  # kinds spelled as the dataset (and `landscape classify`) spell them
    assert re.search(r"widths-3333\s+\{1,2,3\}\s+0\s+global_minimum", res.stdout)
    assert "global minimum" not in res.stdout
    assert "landscape explore" in res.stderr  # the progress bar


def test_every_picture_is_non_blank_and_index_references_existing_files(report):
    from landscape.render import is_blank

    out, _, _ = report
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) >= 10
    for png in pngs:
        assert not is_blank((read_rgb(png) * 255).astype(np.uint8)), png.name
    page = (out / "index.html").read_text()
    refs = re.findall(r"(?:src|href)='([^']+)'", page)
    assert len(refs) >= len(pngs)
    for ref in refs:
        assert (out / ref).is_file(), ref
    for png in pngs:
        assert png.name in refs


SPEC_FACT_3 = {"{}": 7.0, "{3}": 6.5, "{2}": 5.0, "{2,3}": 4.5, "{1}": 2.5, "{1,3}": 2.0, "{1,2}": 0.5, "{1,2,3}": 0.0}
SCALAR = {"{}": 4.5, "{1}": 0.0}
SIGMA = {"widths-3333": [3.0, 2.0, 1.0], "scalar-depth3": [3.0]}


def test_explore_pictures_show_the_spec_data(report):
    """The data behind each picture: critical values (spec fact 3), flows that go downhill to a global
    minimum, stable/unstable sets on the right sides, and the colours the captions promise."""
    out, _, _ = report
    for name, values in (("widths-3333", SPEC_FACT_3), ("scalar-depth3", SCALAR)):
        cp = ls.load(out / f"{name}-critical.nc")  # behind {name}-spectra.png
        assert dict(zip(cp.subset.values.tolist(), cp.loss.values.tolist())) == values
        img = read_rgb(out / f"{name}-spectra.png")  # coloured by kind
        kinds = (GREEN, PURPLE, ORANGE) if name == "widths-3333" else (GREEN, PURPLE)
        for color in kinds:
            assert colour_mask(img, color).sum() >= 40, (name, color)
        assert colour_mask(img, BLUE).sum() == 0 and colour_mask(img, RED).sum() == 0
        for size in ("small", "large"):  # behind {name}-loss.png and {name}-singular-values.png
            flow = ls.load(out / f"{name}-flow-{size}.nc")
            L = flow.loss.values
            assert np.all(np.diff(L) <= 1e-12 * (1 + L[:-1])), (name, size)
            assert float(flow.loss_final) < 1e-10
            np.testing.assert_allclose(flow.singular_values.values[-1], SIGMA[name], atol=1e-5)
        small = ls.load(out / f"{name}-itinerary-small.nc")
        assert small.plateau_loss.values[0] == max(values.values()) and small.plateau_loss.values[-1] == 0.0
        assert set(small.plateau_loss.values.tolist()) <= set(values.values())
        sm = ls.load(out / f"{name}-manifolds.nc")  # behind {name}-manifolds.png
        assert set(sm.branch_kind.values.tolist()) == {"stable", "unstable"}
        img = read_rgb(out / f"{name}-manifolds.png")
        assert colour_mask(img, BLUE).sum() >= 100 and colour_mask(img, RED).sum() >= 100
    sm = ls.load(out / "scalar-depth3-manifolds.nc")
    for b, kind in enumerate(sm.branch_kind.values):
        p = np.prod(sm.theta.values[b], axis=1)
        p = p[np.isfinite(p)]
        assert np.all(p <= 1e-12) if kind == "stable" else np.all(p >= -1e-12)  # spec 5.5
    import pyvista as pv

    tube = pv.read(str(out / "widths-3333-trajectory-3d.vtp"))  # the 3D picture's mesh: coloured by the loss
    small = ls.load(out / "widths-3333-flow-small.nc").loss.values
    np.testing.assert_allclose([tube["value"].min(), tube["value"].max()], [small.min(), small.max()], rtol=1e-9)


def test_explore_routes_visit_strictly_decreasing_critical_values(report):
    """Issue 10, item 6: a route lists visited saddles only, and their critical values strictly decrease."""
    out, _, _ = report
    for name, values in (("widths-3333", SPEC_FACT_3), ("scalar-depth3", SCALAR)):
        for size in ("small", "large"):
            it = ls.load(out / f"{name}-itinerary-{size}.nc")
            L = it.plateau_loss.values
            assert set(L.tolist()) <= set(values.values()), (name, size)
            assert np.all(np.diff(L) < 0), (name, size, it.attrs.get("route"))


def test_explore_data_files_reload(report):
    out, _, _ = report
    for nc in out.glob("*.nc"):
        ds = ls.load(nc)
        assert ds.attrs["landscape_kind"]
    cp = ls.load(out / "widths-3333-critical.nc")
    assert cp.sizes["point"] == 8


def test_unwritable_out_fails_before_any_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "landscape.cli", "explore", "--out", str(blocker / "sub")],
                         capture_output=True, text=True)
    assert res.returncode == 2
    assert "is not a writable folder" in res.stderr and "Traceback" not in res.stderr
    assert time.perf_counter() - t0 < 30


@pytest.mark.parametrize("args, message", [
    (["--widths", "3,x", "--sigma", "1"], "--widths takes comma-separated integers, for example 3,3,3,3"),
    (["--widths", "3,3", "--sigma", "a"], "--sigma takes comma-separated numbers, for example 3,2,1"),
    (["--widths", "3,3"], "give both --widths and --sigma, e.g. --widths 3,3,3 --sigma 3,2,1"),
])
def test_bad_option_strings_get_one_line(args, message):
    res = subprocess.run([sys.executable, "-m", "landscape.cli", "explore", *args], capture_output=True, text=True)
    assert res.returncode == 2
    assert message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert "Traceback" not in res.stderr


def test_subcommands(tmp_path):
    cli = [sys.executable, "-m", "landscape.cli"]
    res = subprocess.run(cli + ["critical", "--widths", "2,2,2", "--sigma", "2,1", "--out", str(tmp_path / "c.nc")],
                         capture_output=True, text=True)
    assert res.returncode == 0 and "4 critical values" in res.stdout
    res = subprocess.run(cli + ["classify", "--widths", "1,1,1,1", "--sigma", "3"], capture_output=True, text=True)
    assert res.returncode == 0 and "non_strict_saddle" in res.stdout
    res = subprocess.run(cli + ["flow", "--widths", "2,2,2", "--sigma", "2,1", "--t-end", "30", "--out",
                                str(tmp_path / "f.nc")], capture_output=True, text=True)
    assert res.returncode == 0 and "route {} -> {1} -> {1,2}" in res.stdout
    res = subprocess.run(cli + ["render", str(tmp_path / "f.nc"), "--size", "small"], capture_output=True, text=True)
    assert res.returncode == 0 and Path(res.stdout.strip()).is_file()
    res = subprocess.run(cli + ["render", str(tmp_path / "nothing.nc")], capture_output=True, text=True)
    assert res.returncode == 2 and "does not exist" in res.stderr


def test_report_files_are_exactly_what_explore_writes_and_each_is_landscapes(report):
    """The names checked before a rerun (report_files) are the files written, and a rerun may replace each."""
    from landscape._atomic import is_landscape_output
    from landscape.explore import DEFAULT_EXAMPLES, check_report_files, report_files

    out, res, _ = report
    assert res.returncode == 0, res.stderr[-3000:]
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(report_files(DEFAULT_EXAMPLES))
    assert [n for n in written if not is_landscape_output(out / n)] == []  # .nc, .png, .html, .vtp and .js alike
    check_report_files(out, DEFAULT_EXAMPLES)


@pytest.mark.parametrize("widths, sigma", [((2, 3), (2.0, 1.0)), ((1, 1), (2.0,))])
def test_explore_a_depth_one_network(tmp_path, widths, sigma):
    """Depth 1: the origin is not critical (no stable/unstable sets to grow); the flow is
    dW/dt = Sigma - W, so the loss decays as L(t) = L(t_0) exp(-2 (t - t_0)) to the global minimum."""
    from landscape.explore import explore, report_files
    from landscape.render import is_blank

    examples = (("d1", widths, sigma),)
    lines = []
    index = explore(tmp_path, examples, size="small", progress=False, echo=lines.append)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(report_files(examples)) and "d1-manifolds.nc" not in names
    cp = ls.load(tmp_path / "d1-critical.nc")
    assert cp.kind.values.tolist() == ["global_minimum"] and float(cp.loss.values[0]) == 0.0
    assert re.search(r"d1\s+\{[0-9,]+\}\s+0\s+global_minimum", "\n".join(lines))
    for label in ("small", "large"):
        ds = ls.load(tmp_path / f"d1-flow-{label}.nc")
        t, L = ds.time.values, ds.loss.values
        expected = L[0] * np.exp(-2.0 * (t - t[0]))
        big = expected > 1e-8 * L[0]
        np.testing.assert_allclose(L[big], expected[big], rtol=1e-4)
        assert float(ds.loss_final) < 1e-8 * L[0]
    page = index.read_text()
    assert "depth 1: the origin is not a critical point" in page
    for png in tmp_path.glob("*.png"):
        assert not is_blank((read_rgb(png) * 255).astype(np.uint8)), png.name
