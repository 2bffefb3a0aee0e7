"""The main job ``landscape explore``: pictures, data, report, progress, bad input."""

import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import landscape as ls


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
    assert "non_strict" in res.stdout.replace(" ", "_") or "non strict saddle" in res.stdout
    assert re.search(r"widths-3333\s+\{1,2,3\}\s+0\s+global minimum", res.stdout)
    assert "landscape explore" in res.stderr  # the progress bar


def test_every_picture_is_non_blank_and_index_references_existing_files(report):
    import pyvista as pv

    from landscape.render import is_blank

    out, _, _ = report
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) >= 10
    for png in pngs:
        img = pv.read(str(png))
        arr = np.asarray(img.point_data.active_scalars).reshape(img.dimensions[1], img.dimensions[0], -1)
        assert not is_blank(arr), png.name
    page = (out / "index.html").read_text()
    refs = re.findall(r"(?:src|href)='([^']+)'", page)
    assert len(refs) >= len(pngs)
    for ref in refs:
        assert (out / ref).is_file(), ref
    for png in pngs:
        assert png.name in refs


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
