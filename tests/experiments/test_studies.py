"""The lab's studies: slopes against theory, the sequential threshold on (3,3,3,3), almost every start,
resume after an interruption, the report, command-line errors, and a real dask scheduler."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import landscape as ls
from landscape.experiments import LabError, almost_every_start, plateau_scaling, report, sequential_threshold, theory
from landscape.experiments._studies import aligned_is_sequential, half_crossing

LOCAL = {"processes": False, "n_workers": 2, "progress": False}


@pytest.fixture(scope="module")
def plateau():
    return plateau_scaling(depths=[2, 3, 4], inits=["balanced", "aligned", "gaussian"],
                           scales=np.geomspace(1e-6, 1e-4, 4), seeds=4, **LOCAL)


def test_fitted_slopes_of_balanced_starts_contain_the_theory(plateau):
    b = plateau.sel(init="balanced")
    for h in plateau.depth.values:
        lo, hi = b.slope_ci.sel(depth=h).values
        assert lo <= float(plateau.predicted_slope.sel(depth=h)) <= hi, (h, lo, hi)
        assert hi - lo < 1e-3  # and the interval says something
    np.testing.assert_allclose(plateau.predicted_slope.values, [1 / 3, -1.0, -2.0])


def test_aligned_escape_times_equal_the_closed_form(plateau):
    a = plateau.escape_time.sel(init="aligned")
    np.testing.assert_allclose(a.values, np.broadcast_to(plateau.predicted_time.values[..., None], a.shape), rtol=1e-6)
    for i, h in enumerate(plateau.depth.values):
        np.testing.assert_allclose(plateau.predicted_time.values[i],
                                   [theory.escape_time(e, 3.0, h) for e in plateau.scale.values], rtol=1e-12)


def test_every_run_escapes_and_the_plain_loglog_slope_shows_its_bias(plateau):
    assert set(np.unique(plateau.escape_status.values)) == {"escaped"}
    # the plain OLS slope of the exact aligned time on the grid is biased by the constant C_h (h = 3: ~1e-5)
    assert abs(float(plateau.predicted_slope_grid.sel(depth=3)) + 1.0) > 1e-6
    assert abs(float(plateau.loglog_slope.sel(depth=3, init="aligned")) - float(plateau.predicted_slope_grid.sel(depth=3))) < 1e-7


def test_sequential_at_small_scale_and_simultaneous_at_scale_one_on_3333():
    ds = sequential_threshold(depths=[3], spectra=[[3.0, 2.0, 1.0]], scales=[1e-3, 1e-2, 0.3, 1.0], seeds=4,
                              predict=False, **LOCAL)
    frac = ds.sequential_fraction.sel(depth=3, spectrum=0).values
    assert frac[0] == 1.0 and frac[-1] == 0.0
    assert ds.route.sel(depth=3, spectrum=0, scale=1e-3).values.tolist() == ["{} -> {1} -> {1,2} -> {1,2,3}"] * 4
    thr = float(ds.threshold.sel(depth=3, spectrum=0))
    lo, hi = ds.threshold_ci.sel(depth=3, spectrum=0).values
    assert 1e-3 < thr < 1.0 and lo <= thr <= hi
    assert np.all(ds.complete.values)


def test_aligned_prediction_is_sequential_below_and_simultaneous_above():
    assert aligned_is_sequential(3, (3.0, 2.0, 1.0), 1e-3)
    assert not aligned_is_sequential(3, (3.0, 2.0, 1.0), 1.0)
    assert aligned_is_sequential(2, (3.0, 2.0, 1.0), 1e-6)
    assert not aligned_is_sequential(2, (3.0, 2.0, 1.0), 1e-1)  # depth 2 needs exponentially small scales


def test_half_crossing_interpolates_in_log_scale():
    assert half_crossing([1e-3, 1e-1], [1.0, 0.0]) == pytest.approx(1e-2)
    assert np.isnan(half_crossing([1e-3, 1e-1], [1.0, 0.75]))


def test_almost_every_start_matches_the_determinant_prediction():
    ds = almost_every_start(depths=[3], inits=["gaussian", "orthogonal"], seeds=30, **LOCAL)
    np.testing.assert_array_equal(ds.converged.values, ds.predicted_converged.values)
    assert float(ds.converged_fraction.sel(depth=3, init="gaussian")) == 1.0
    stalled = ds.stall_subset.values
    assert stalled.size == int((~ds.converged.values).sum()) > 0
    assert set(stalled.tolist()) == {"{1,2}"}  # the saddle that drops the weakest mode, L = 1/2
    np.testing.assert_allclose(ds.stall_loss.values, 0.5, atol=1e-6)
    assert np.all(ds.stall_conserved.values < 1e-6)  # 0-balanced: C_i = 0 kept by the flow
    assert int(ds.loss_histogram.sum()) == ds.converged.size
    from landscape.experiments._report import summary_rows

    caption, header, rows = summary_rows(ds)[1]  # stalled runs, one row per (depth, init, S)
    assert "grouped" in caption
    assert [(r[0], r[1], r[2]) for r in rows] == [(3, "orthogonal", "{1,2}")]
    assert rows[0][header.index("runs")] == stalled.size


def _data_equal(a, b):
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


def test_resume_after_interruption_gives_the_same_result(tmp_path):
    """Kill a running study, rerun it with the same folder: finished tasks are reused, the result is unchanged."""
    folder = tmp_path / "tasks"
    code = ("import numpy as np; from landscape.experiments import plateau_scaling; "
            f"plateau_scaling(depths=[2, 3], inits=['gaussian'], scales=[1e-4, 1e-3, 1e-2], seeds=8, chunk_size=1, "
            f"directory={str(folder)!r}, processes=False, n_workers=1, progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and len(list(folder.glob("task-*.npz"))) < 2:
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done = len(list(folder.glob("task-*.npz")))
    assert 2 <= done < 48
    kw = dict(depths=[2, 3], inits=["gaussian"], scales=[1e-4, 1e-3, 1e-2], seeds=8, chunk_size=1, **LOCAL)
    resumed = plateau_scaling(directory=folder, **kw)
    assert int(resumed.attrs["chunks_reused"]) >= done and int(resumed.attrs["chunks_computed"]) == 48 - int(
        resumed.attrs["chunks_reused"])
    fresh = plateau_scaling(directory=tmp_path / "fresh", **kw)
    _data_equal(resumed, fresh)
    again = plateau_scaling(directory=folder, **kw)
    assert int(again.attrs["chunks_computed"]) == 0
    _data_equal(again, fresh)
    with pytest.raises(LabError, match="holds another study"):
        plateau_scaling(directory=folder, **{**kw, "seeds": 9})


def test_report_writes_dataset_pictures_and_page(tmp_path, plateau):
    page = report(plateau, tmp_path / "rep", size="small")
    text = page.read_text()
    assert "Measured vs predicted slopes" in text and "theory in CI" in text
    for name in ("plateau_scaling-times.png", "plateau_scaling-slopes.png"):
        assert f"src='{name}'" in text
        img = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(tmp_path / "rep" / name).convert("L"))
        assert img.std() > 5  # not blank
    back = ls.load(tmp_path / "rep" / "plateau_scaling.nc")
    xr.testing.assert_allclose(back.slope, plateau.slope)


def run_cli(*args, cwd=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "landscape.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("args, message", [
    (("lab", "plateau"), "NAME must be one of plateau_scaling, sequential_threshold, almost_every_start; got 'plateau'"),
    (("lab", "almost_every_start", "--scheduler", "nonsense"), "scheduler 'nonsense' is not a dask scheduler address"),
    (("lab", "almost_every_start", "--size", "huge"), "invalid choice: 'huge'"),
])
def test_cli_errors_are_one_line_with_exit_code_2(tmp_path, args, message):
    out = run_cli(*args, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr and "Traceback" not in out.stderr


def test_cli_unreachable_scheduler_is_a_clear_error(tmp_path):
    port = _free_port()
    out = run_cli("lab", "almost_every_start", "--size", "small", "--scheduler", f"tcp://127.0.0.1:{port}",
                  "--connect-timeout", "2", cwd=tmp_path)
    assert out.returncode == 2
    assert f"could not reach the dask scheduler at 'tcp://127.0.0.1:{port}' within connect_timeout = 2 s" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.fixture
def dask_cluster(tmp_path):
    """A real `dask scheduler` and two `dask worker` processes on loopback, torn down afterwards."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).with_name("dask"))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path, env=env,
                              start_new_session=True)]
    for _ in range(2):
        procs.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-dashboard", "--host",
                                       "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,
                                      env=env, start_new_session=True))
    try:
        from distributed import Client

        deadline = time.time() + 40
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(2, timeout=max(1.0, deadline - time.time()))
                    n = len(client.scheduler_info()["workers"])
                break
            except (OSError, TimeoutError):
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        assert n == 2
        yield address
    finally:
        for p in procs[::-1]:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def test_a_small_study_runs_on_a_real_scheduler_with_two_workers(dask_cluster, tmp_path):
    start = time.time()
    out = run_cli("lab", "almost_every_start", "--size", "small", "--scheduler", dask_cluster, "--directory",
                  str(tmp_path / "tasks"), "--out", str(tmp_path / "rep"), "--no-progress", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    ds = ls.load(tmp_path / "rep" / "almost_every_start.nc")
    local = almost_every_start(size="small", **LOCAL)
    _data_equal(ds.drop_vars([v for v in ds.data_vars if v.startswith("stall_")]),
                local.drop_vars([v for v in local.data_vars if v.startswith("stall_")]))
    np.testing.assert_array_equal(ds.converged.values, ds.predicted_converged.values)
    assert "Converged fraction: measured vs predicted" in out.stdout
    assert time.time() - start < 60


def test_bad_study_inputs_are_refused_before_any_work():
    with pytest.raises(LabError, match="decreasing order"):
        sequential_threshold(depths=[2], spectra=[(1.0, 3.0, 2.0)], scales=[1e-2], seeds=2, **LOCAL)
    with pytest.raises(LabError, match=r"level must be a confidence level in \(0, 1\)"):
        plateau_scaling(depths=[2], inits=["aligned"], scales=[1e-3, 1e-2], seeds=2, level=1.5, **LOCAL)
    with pytest.raises(LabError, match=r"eps\^h < sigma_1/2"):
        plateau_scaling(depths=[2], inits=["aligned"], scales=[1e-3, 1.5], seeds=2, **LOCAL)


def test_a_fit_that_cannot_reach_the_tolerance_warns_that_the_interval_omits_the_bias():
    with pytest.warns(RuntimeWarning, match="finite-eps bias"):
        plateau_scaling(depths=[2], inits=["aligned"], scales=[1e-5, 1e-4, 1e-3], seeds=2, **LOCAL)
