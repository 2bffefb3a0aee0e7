"""Written files follow the user's umask, stay atomic, and carry landscape's stamp.

Every writer goes through :func:`landscape._atomic.atomic_write`: ``ls.save`` (and so the
sweep chunks), the PNGs of ``landscape.render``, and HTML pages such as the report's
``index.html``. Their mode must be ``0o666 & ~umask`` (it used to be ``0o600`` whatever
the umask, so a report could not be shared or served).
"""

import contextlib
import os
import stat
from pathlib import Path

import numpy as np
import pytest

import landscape as ls
from landscape._atomic import HTML_STAMP, atomic_write, is_landscape_output


@contextlib.contextmanager
def umask(mask):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(scope="module")
def trajectory():
    net = ls.LinearNetwork([2, 2, 2], [2.0, 1.0])
    return ls.gradient_flow(net, ls.init.gaussian(net, 0.05, rng=1), 10.0, n_points=40)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_save_follows_the_umask(tmp_path, trajectory, mask, expected):
    with umask(mask):
        path = ls.save(trajectory, tmp_path / "run.nc")
        assert mode(path) == expected
        ls.save(trajectory, path)  # replacing a file gives the umask's mode too
        assert mode(path) == expected
    assert ls.load(path).attrs["landscape_kind"] == "trajectory"


def test_rendered_png_follows_the_umask(tmp_path, trajectory):
    from PIL import Image

    from landscape.render import render

    with umask(0o022):
        (png,) = render(trajectory, tmp_path / "run.png", size="small")
    assert mode(png) == 0o644
    with Image.open(png) as im:
        im.load()
        assert im.size == (400, 300)
        assert im.info["landscape"] == f"landscape {ls.__version__}"
        pixels = np.asarray(im.convert("RGB"))
    assert pixels.std() > 5  # a drawn picture, decoded through the inserted stamp chunk


def test_html_page_follows_the_umask_and_is_stamped(tmp_path):
    page = "<!DOCTYPE html><html><head><title>landscape explore</title></head><body>report</body></html>"
    index = tmp_path / "index.html"
    with umask(0o022):
        atomic_write(index, lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))  # as explore writes it
    assert mode(index) == 0o644
    text = index.read_text(encoding="utf-8")
    assert text.startswith(page) and text.rstrip().endswith("-->") and HTML_STAMP in text[len(page):]
    assert is_landscape_output(index)


def test_sweep_chunk_follows_the_umask(tmp_path):
    from landscape.sweeps._sweep import _chunk_ids, _chunk_name, _compute_chunk, _definition

    definition = _definition([ls.LinearNetwork([2, 2], [1.0, 0.5])], ["gaussian"], [0.1], [0, 1],
                             {"t_end": 5.0, "method": "dopri5", "rtol": 1e-6, "atol": 1e-9, "loss_below": None,
                              "n_points": 20, "plateau_time": 1.0, "plateau_distance": 0.05, "max_stages": 3})
    (cid,) = _chunk_ids(definition, 2)
    path = tmp_path / _chunk_name(cid)
    with umask(0o022):
        _compute_chunk(definition, cid, str(path))
    assert mode(path) == 0o644
    assert ls.load(path).attrs["landscape_kind"] == "sweep"


def test_a_writer_that_recreates_the_file_still_gets_the_umask_mode(tmp_path):
    def recreate(tmp):
        os.unlink(tmp)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"data")
        os.close(fd)

    with umask(0o022):
        path = atomic_write(tmp_path / "data.bin", recreate)
    assert mode(path) == 0o644 and path.read_bytes() == b"data"


def test_interrupted_write_leaves_nothing_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "page.html"
    atomic_write(path, lambda tmp: Path(tmp).write_text("old"))
    before = path.read_bytes()

    def boom(tmp):
        Path(tmp).write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, boom)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]


def test_png_stamp_leaves_the_pixels_unchanged(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, size=(20, 30, 3), dtype=np.uint8)
    plain, stamped = tmp_path / "plain.png", tmp_path / "stamped.png"
    Image.fromarray(pixels).save(plain)
    atomic_write(stamped, lambda tmp: Image.fromarray(pixels).save(tmp, format="png"))
    assert not is_landscape_output(plain)
    assert is_landscape_output(stamped)
    with Image.open(stamped) as im:
        assert np.array_equal(np.asarray(im), pixels)
    assert stamped.stat().st_size == plain.stat().st_size + 12 + len(b"landscape\0landscape " + ls.__version__.encode())


def test_what_counts_as_a_landscape_output(tmp_path, trajectory):
    import xarray as xr

    ours = ls.save(trajectory, tmp_path / "ours.nc")
    theirs = tmp_path / "theirs.nc"
    xr.Dataset({"x": ("t", np.arange(3.0))}).to_netcdf(theirs, engine="h5netcdf")
    text = tmp_path / "notes.nc"
    text.write_text("not netCDF")
    page = tmp_path / "page.html"
    page.write_text("<html>" + HTML_STAMP[:-3] + "</html>")  # a partial marker is not the stamp
    assert is_landscape_output(ours)
    assert not is_landscape_output(theirs)
    assert not is_landscape_output(text)
    assert not is_landscape_output(page)
    assert not is_landscape_output(tmp_path / "missing.png")
    assert not is_landscape_output(tmp_path)
