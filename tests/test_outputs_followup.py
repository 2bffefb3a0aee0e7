"""Files, paths and the command line after the verifier's review of issue 13.

One rule for suffixes (any case; the writer gets the lower-case suffix, so ``X.PNG`` is
a PNG), no overwrite of a file landscape did not write (also ``plotly.min.js`` beside a
page and a user's file with a report name in an ``explore`` folder), the Python API's
own checks (``render``, ``save``), ``--html`` refused for charts, what counts as
landscape's netCDF, a closed pipe, bools in ``sigma``.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import landscape as ls
from landscape._atomic import JS_STAMP, atomic_write, is_landscape_output
from landscape.errors import LandscapeValueError, SigmaError
from landscape.io import LandscapeFileError
from tests.test_cli_paths import listing, one_error_line, run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def trajectory_file(tmp_path_factory):
    net = ls.LinearNetwork([2, 3, 2], [2.0, 1.0])
    ds = ls.gradient_flow(net, ls.init.gaussian(net, 0.1, rng=3), 6.0, n_points=40)
    return ls.save(ds, tmp_path_factory.mktemp("in") / "traj.nc")


@pytest.fixture(scope="module")
def critical_file(tmp_path_factory):
    net = ls.LinearNetwork([2, 2, 2], [2.0, 1.0])
    return ls.save(ls.classify(ls.critical_points(net)), tmp_path_factory.mktemp("in") / "cp.nc")


def forbid(monkeypatch, module, name):
    import importlib

    def call(*args, **kwargs):
        raise AssertionError(f"{module}.{name} ran although the arguments were refused")

    monkeypatch.setattr(importlib.import_module(module), name, call)


# --- 1. suffixes in any case: the file is written in the suffix's format ----------------


def test_upper_case_suffixes_are_accepted_and_written_in_their_format(tmp_path, capsys, trajectory_file):
    png = tmp_path / "X.PNG"
    assert run("render", trajectory_file, "--out", png, "--size", "small") == 0
    assert png.read_bytes()[:8] == PNG_MAGIC and is_landscape_output(png)
    nc = tmp_path / "z.Nc"
    assert run("critical", "--widths", "2,2,2", "--sigma", "2,1", "--out", nc) == 0
    assert ls.load(nc).attrs["landscape_kind"] == "critical_points" and is_landscape_output(nc)
    # a rerun replaces them (they are landscape's), still without --overwrite
    assert run("render", trajectory_file, "--out", png, "--size", "small") == 0
    assert run("critical", "--widths", "2,2", "--sigma", "2,1", "--out", nc) == 0
    assert list(ls.load(nc).attrs["widths"]) == [2, 2]
    assert sorted(listing(tmp_path)) == ["X.PNG", "z.Nc"]


def test_atomic_write_hands_the_writer_the_lower_case_suffix(tmp_path):
    seen = []
    atomic_write(tmp_path / "Page.HTML", lambda tmp: seen.append(Path(tmp).suffix) or Path(tmp).write_text("<p>"))
    atomic_write(tmp_path / "d.Nc", lambda tmp: seen.append(Path(tmp).suffix), suffix=".tmp")  # explicit wins
    assert seen == [".html", ".tmp"]
    assert is_landscape_output(tmp_path / "Page.HTML")  # stamped by its suffix in any case


def test_a_wrong_suffix_in_any_case_is_one_line(tmp_path, capsys, trajectory_file):
    assert run("render", trajectory_file, "--out", tmp_path / "x.TXT") == 2
    assert one_error_line(capsys, "render").endswith(f"--out '{tmp_path / 'x.TXT'}' must end in .png; got '.TXT'.")
    assert listing(tmp_path) == []


# --- 2. plotly.min.js beside a page is the user's unless landscape wrote it ------------


def test_render_html_keeps_a_users_plotly_js(tmp_path, capsys, monkeypatch, trajectory_file):
    mine = tmp_path / "plotly.min.js"
    mine.write_text("/* my own plotly build */")
    with monkeypatch.context() as m:
        forbid(m, "landscape.render", "render")
        assert run("render", trajectory_file, "--out", tmp_path / "t.png", "--html") == 2
    line = one_error_line(capsys, "render")
    assert f"'{mine}' exists and was not written by landscape; pass --overwrite to replace it." in line
    assert "plotly.min.js beside the page" in line
    assert mine.read_text() == "/* my own plotly build */" and listing(tmp_path) == ["plotly.min.js"]
    # the Python API keeps it too (a file the caller did not name)
    from landscape.render import render, write_plotly_js

    with pytest.raises(LandscapeValueError, match="plotly.min.js' exists and was not written by landscape"):
        render(ls.load(trajectory_file), tmp_path / "api.png", html=True, size="small")
    assert mine.read_text() == "/* my own plotly build */"
    with pytest.raises(LandscapeValueError, match="not written by landscape"):
        write_plotly_js(tmp_path)
    # --overwrite replaces it with landscape's stamped copy; later runs reuse that without --overwrite
    assert run("render", trajectory_file, "--out", tmp_path / "t.png", "--html", "--size", "small", "--overwrite") == 0
    text = mine.read_text()
    assert len(text) > 1_000_000 and JS_STAMP in text[-200:] and is_landscape_output(mine)
    assert run("render", trajectory_file, "--out", tmp_path / "t.png", "--html", "--size", "small") == 0
    assert (tmp_path / "t.html").is_file() and is_landscape_output(tmp_path / "t.html")


# --- 3. explore keeps a user's file that has a report file name -------------------------


def test_explore_refuses_a_users_file_with_a_report_name_in_an_earlier_report(tmp_path, capsys, monkeypatch):
    from landscape.explore import DEFAULT_EXAMPLES, check_report_files, report_files
    from landscape.explore import explore as real_explore

    report = tmp_path / "report"
    report.mkdir()
    atomic_write(report / "index.html", lambda tmp: Path(tmp).write_text("<html>an earlier report</html>"))
    names = report_files(DEFAULT_EXAMPLES)
    assert "scalar-depth3-loss.png" in names and "plotly.min.js" in names and "widths-3333-trajectory-3d.vtp" in names
    for name in ("scalar-depth3-loss.png", "widths-3333-critical.nc", "widths-3333-trajectory-3d.vtp",
                 "plotly.min.js"):
        mine = report / name
        mine.write_text("mine")
        with monkeypatch.context() as m:
            forbid(m, "landscape.explore", "explore")
            assert run("explore", "--out", report, "--no-progress") == 2
        line = one_error_line(capsys, "explore")
        assert line.endswith(f"--out '{report}' holds '{name}', a file landscape did not write, with a name the "
                             f"report writes; move it away or pass --overwrite (overwrite=True) to replace it.")
        with pytest.raises(LandscapeValueError, match=f"holds '{name}'"):  # the Python API refuses it too
            real_explore(report, progress=False, echo=lambda *_: None)
        assert mine.read_text() == "mine"
        mine.unlink()
    # files that are not report names are the user's business; a landscape-written file is fine
    (report / "notes.txt").write_text("mine")
    from PIL import Image

    pixels = np.zeros((4, 4, 3), dtype=np.uint8)
    atomic_write(report / "scalar-depth3-loss.png", lambda tmp: Image.fromarray(pixels).save(tmp, format="png"))
    check_report_files(report, DEFAULT_EXAMPLES)
    Image.fromarray(pixels).save(report / "scalar-depth3-loss.png")  # a PNG without landscape's stamp
    with pytest.raises(LandscapeValueError, match="scalar-depth3-loss.png"):
        check_report_files(report, DEFAULT_EXAMPLES)
    check_report_files(report, DEFAULT_EXAMPLES, overwrite=True)
    calls = []
    monkeypatch.setattr("landscape.explore.explore", lambda out, *a, **k: calls.append(k) or Path(out) / "index.html")
    assert run("explore", "--out", report, "--no-progress", "--overwrite") == 0
    assert calls and calls[0]["overwrite"] is True


# --- 4. the Python API's own checks --------------------------------------------------------


def test_api_render_and_save_refuse_a_wrong_suffix_and_a_missing_folder(tmp_path, trajectory_file):
    from landscape.render import render

    ds = ls.load(trajectory_file)
    with pytest.raises(LandscapeValueError, match=r"path '.*x\.txt' must end in \.png; got '\.txt'\."):
        render(ds, tmp_path / "x.txt")
    with pytest.raises(LandscapeValueError, match="the folder '.*missing' does not exist; create it first"):
        render(ds, tmp_path / "missing" / "x.png")
    with pytest.raises(LandscapeValueError, match="is a folder; expected a file name ending in .png"):
        render(ds, tmp_path)
    with pytest.raises(LandscapeFileError, match=r"path '.*x\.png' must end in \.nc; got '\.png'\."):
        ls.save(ds, tmp_path / "x.png")
    with pytest.raises(LandscapeFileError, match="the folder '.*missing' does not exist"):
        ls.save(ds, tmp_path / "missing" / "x.nc")
    assert listing(tmp_path) == []  # nothing written, no folder created


def test_api_replaces_the_files_it_is_given_as_documented(tmp_path, trajectory_file):
    from landscape.render import render

    ds = ls.load(trajectory_file)
    mine_nc, mine_png = tmp_path / "mine.nc", tmp_path / "mine.png"
    mine_nc.write_text("my text")
    mine_png.write_text("my text")
    assert ls.load(ls.save(ds, mine_nc)).attrs["landscape_kind"] == "trajectory"
    assert render(ds, mine_png, size="small") == [mine_png] and mine_png.read_bytes()[:8] == PNG_MAGIC
    assert "replaced" in ls.save.__doc__ and "replaced" in render.__doc__


# --- 8. --html for a chart ------------------------------------------------------------------


def test_render_html_of_a_chart_is_refused_before_drawing(tmp_path, capsys, monkeypatch, critical_file):
    with monkeypatch.context() as m:
        forbid(m, "landscape.render", "render")
        assert run("render", critical_file, "--out", tmp_path / "cp.png", "--html") == 2
    line = one_error_line(capsys, "render")
    from landscape.render._dispatch import SCENE_KINDS

    assert f"--html writes an interactive page of a 3-D scene (kinds {', '.join(SCENE_KINDS)})" in line
    assert "holds a 'critical_points' dataset, drawn as a 2-D chart (PNG only)" in line
    assert listing(tmp_path) == []
    from landscape.render import render

    with pytest.raises(LandscapeValueError, match="'critical_points' dataset is drawn as a 2-D chart"):
        render(ls.load(critical_file), tmp_path / "cp.png", html=True)
    assert listing(tmp_path) == []
    assert run("render", critical_file, "--out", tmp_path / "cp.png") == 0  # without --html it is drawn
    capsys.readouterr()
    values = ls.save(ls.critical_values(ls.LinearNetwork([2, 2, 2], [2.0, 1.0])), tmp_path / "cv.nc")
    assert run("render", values, "--html") == 2  # a kind render cannot draw at all: render's own message
    assert "render expected a landscape dataset of kind" in one_error_line(capsys, "render")


# --- 9. what counts as landscape's netCDF -------------------------------------------------------


@pytest.mark.parametrize("attrs, ours", [
    ({"landscape_kind": "trajectory", "landscape_format": "1.0"}, True),
    ({"landscape_kind": "my_own_kind", "landscape_format": "1.0"}, False),
    ({"landscape_kind": "trajectory"}, False),
    ({"landscape_kind": "", "landscape_format": "1.0"}, False),
    ({"landscape_kind": 3, "landscape_format": "1.0"}, False),
    ({"landscape_format": "1.0"}, False),
])
def test_a_netcdf_file_is_landscapes_only_with_a_known_kind_and_the_format(tmp_path, capsys, attrs, ours):
    import xarray as xr

    path = tmp_path / "data.nc"
    xr.Dataset({"x": ("t", np.arange(3.0))}, attrs=attrs).to_netcdf(path, engine="h5netcdf")
    assert is_landscape_output(path) is ours
    before = path.read_bytes()
    code = run("critical", "--widths", "2,2", "--sigma", "2,1", "--out", path)
    if ours:
        assert code == 0 and ls.load(path).attrs["landscape_kind"] == "critical_points"
    else:
        assert code == 2 and path.read_bytes() == before
        assert one_error_line(capsys, "critical").endswith("exists and was not written by landscape; "
                                                            "pass --overwrite to replace it.")


def test_stamps_of_js_and_vtk_files(tmp_path):
    import pyvista as pv

    mesh = pv.lines_from_points(np.random.default_rng(0).normal(size=(6, 3)))
    mesh["value"] = np.arange(6.0)
    from landscape.render import save_mesh

    ours = save_mesh(mesh, tmp_path / "ours.vtp")
    mesh.save(tmp_path / "theirs.vtp")
    assert is_landscape_output(ours) and not is_landscape_output(tmp_path / "theirs.vtp")
    back = pv.read(ours)  # the stamp (an XML comment after the root) leaves the file readable
    assert back.n_points == 6 and np.array_equal(back["value"], mesh["value"])
    atomic_write(tmp_path / "a.js", lambda tmp: Path(tmp).write_text("var a = 1;"))
    (tmp_path / "b.js").write_text("var b = 1; /* written by landscap */")
    assert is_landscape_output(tmp_path / "a.js") and not is_landscape_output(tmp_path / "b.js")


# --- 10. a closed pipe ----------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["critical", "--widths", "3,3,3,3", "--sigma", "3,2,1", "--out", "c.nc"],
                                  ["summary"]])
def test_a_reader_that_goes_away_stops_the_command_quietly(tmp_path, args):
    """``landscape ... | head -n 0``: the read end is closed before the command writes anything."""
    r, w = os.pipe()
    os.close(r)  # the reader is gone before the command starts
    try:
        res = subprocess.run([sys.executable, "-m", "landscape.cli", *args], cwd=tmp_path, stdout=w,
                             stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(w)
    assert res.stderr == "", res.stderr
    assert res.returncode == 141  # 128 + SIGPIPE, as `yes | head` reports it


# --- 11. bools in sigma -----------------------------------------------------------------------------


@pytest.mark.parametrize("sigma", [[True, 2, 1], [3, 2, False], (np.True_, 1.0), np.array([True, False]), True,
                                   [[1.0, 0.0, 0.0], [0.0, True, 0.0], [0.0, 0.0, 1.0]]])
def test_bool_entries_of_sigma_are_refused(sigma):
    with pytest.raises(SigmaError, match="sigma must (hold numbers, not bools|be numbers, not a bool)"):
        ls.LinearNetwork([3, 3, 3], sigma)


def test_numbers_in_sigma_still_work():
    assert ls.LinearNetwork([3, 3, 3], [3, 2, 1]).sigma.tolist() == [3.0, 2.0, 1.0]
    assert ls.LinearNetwork([3, 3, 3], np.array([3, 2, 1], dtype=np.int8)).sigma.tolist() == [3.0, 2.0, 1.0]
    assert ls.LinearNetwork([2, 2], [[0.0, 2.0], [1.0, 0.0]]).sigma.tolist() == [2.0, 1.0]
