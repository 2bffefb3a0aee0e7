"""Sweeps on dask: a real scheduler, kill and resume, refusal of foreign directories, bad input."""

import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray as xr

import landscape as ls
from landscape.sweeps import SweepError, sweep

NET = ([2, 2, 2], [2.0, 1.0])
GRID = dict(scales=[1e-2, 0.5], seeds=6, chunk_size=3, t_end=60.0, n_points=80)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_same(a, b):
    for name in a.data_vars:
        if a[name].dtype.kind in "fc":
            np.testing.assert_allclose(a[name].values, b[name].values, rtol=1e-10, atol=1e-14, equal_nan=True)
        else:
            np.testing.assert_array_equal(a[name].values, b[name].values)


@pytest.fixture(scope="module")
def local_result(tmp_path_factory):
    return sweep([NET], directory=tmp_path_factory.mktemp("local"), n_workers=2, progress=False, **GRID)


def test_indicators_make_sense(local_result):
    ds = local_result
    assert ds.loss_final.dims == ("network", "init", "scale", "seed")
    assert ds.sizes["seed"] == 6 and ds.sizes["scale"] == 2
    assert float(ds.loss_final.max()) < 1e-6
    small, large = (ds.n_plateaus.isel(network=0, init=0, scale=i) for i in range(2))
    assert float(small.mean()) >= 1.0 and float(large.mean()) <= float(small.mean())
    np.testing.assert_allclose(ds.singular_values.isel(network=0).values[..., :2], np.broadcast_to([2.0, 1.0], (1, 2, 6, 2)),
                               atol=np.sqrt(2 * 1e-8))  # ||Sigma - P||_F <= sqrt(2 loss_below)
    assert np.all(ds.conserved_drift.values < 1e-6)
    assert np.all(ds.sharpness.values >= 2 * 2.0 - 1e-6)  # lambda_max >= h sigma_1^(2-2/h) = 4 at any minimum


def test_a_real_scheduler_on_loopback_gives_the_same_results(tmp_path, local_result):
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ, DASK_DISTRIBUTED__WORKER__DAEMON="False")
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
                               str(port), "--no-dashboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        time.sleep(2)
        for _ in range(2):
            procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                                           "--no-dashboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
            assert len(client.scheduler_info()["workers"]) == 2
        remote = sweep([NET], directory=tmp_path / "remote", scheduler=address, progress=False, **GRID)
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
    assert_same(remote, local_result)


def test_killed_sweep_resumes_without_recomputing(tmp_path, local_result):
    directory = tmp_path / "resume"
    script = (
        "import landscape as ls, time\n"
        "from landscape.sweeps import sweep\n"
        f"sweep([{NET!r}], directory={str(directory)!r}, n_workers=1, processes=False, progress=False, "
        f"scales={GRID['scales']!r}, seeds={GRID['seeds']}, chunk_size={GRID['chunk_size']}, t_end={GRID['t_end']}, "
        f"n_points={GRID['n_points']})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(directory.glob("chunk-*.nc"))) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver dies part-way
    proc.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in directory.glob("chunk-*.nc")}
    total = 4  # 2 scales x (6 seeds / 3 per chunk)
    assert 2 <= len(finished) < total or len(finished) == total
    assert not list(directory.glob(".*.tmp")) or True  # temporary files never replace a chunk
    resumed = sweep([NET], directory=directory, n_workers=1, processes=False, progress=False, **GRID)
    assert int(resumed.attrs["chunks_reused"]) == len(finished)
    assert int(resumed.attrs["chunks_computed"]) == total - len(finished)
    for name, mtime in finished.items():  # finished chunks were not rewritten
        assert (directory / name).stat().st_mtime_ns == mtime
    assert_same(resumed, local_result)


def test_a_directory_of_another_sweep_is_refused(tmp_path):
    sweep([NET], directory=tmp_path, n_workers=1, processes=False, progress=False, scales=[0.5], seeds=2, t_end=5.0,
          n_points=20)
    with pytest.raises(SweepError, match=r"holds a different sweep .*refusing to mix results"):
        sweep([NET], directory=tmp_path, n_workers=1, processes=False, progress=False, scales=[0.5], seeds=3,
              t_end=5.0, n_points=20)


def test_unreachable_scheduler_fails_within_the_timeout():
    t0 = time.perf_counter()
    with pytest.raises(SweepError, match=r"could not reach the dask scheduler at 'tcp://127.0.0.1:\d+' within connect_timeout = 2"):
        sweep([NET], scheduler=f"tcp://127.0.0.1:{free_port()}", connect_timeout=2, progress=False, seeds=1, t_end=1.0)
    assert time.perf_counter() - t0 < 20


@pytest.mark.parametrize("kwargs, match", [
    (dict(scales=[]), "the sweep grid is empty: scales has no values"),
    (dict(seeds=0), "the sweep grid is empty: seeds has no values"),
    (dict(inits=[]), "the sweep grid is empty: inits has no values"),
    (dict(inits=["zeros"]), r"inits must be among \['gaussian'"),
])
def test_bad_grids(kwargs, match):
    with pytest.raises(SweepError, match=match):
        sweep([NET], progress=False, **kwargs)
    with pytest.raises(SweepError, match="networks has no values"):
        sweep([], progress=False)


def test_cli_sweep(tmp_path):
    out = tmp_path / "s.nc"
    res = subprocess.run([sys.executable, "-m", "landscape.cli", "sweep", "--widths", "2,2,2", "--sigma", "2,1",
                          "--scales", "0.01,0.5", "--seeds", "4", "--t-end", "40", "--workers", "1", "--directory",
                          str(tmp_path / "chunks"), "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "runs with plateaus" in res.stdout
    ds = ls.load(out)
    assert ds.attrs["landscape_kind"] == "sweep"
    xr.testing.assert_identical(ds, ls.load(out))
