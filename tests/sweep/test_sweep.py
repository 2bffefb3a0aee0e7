"""Sweeps on dask: a real scheduler, kill and resume, refusal of foreign directories, bad input."""

import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import landscape as ls
from landscape.sweeps import SweepError, sweep

NET = ([2, 2, 2], [2.0, 1.0])
GRID = dict(scales=[1e-2, 0.5], seeds=6, chunk_size=3, t_end=60.0, n_points=80, method="dopri5")


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


def independent_indicators(net, scale, seed, t_end, n_points, method="dopri5"):
    """One run integrated on its own (not batched, no dask) and reduced with numpy and the public API."""
    W0 = ls.init.gaussian(net, scale, rng=seed)
    ds = ls.gradient_flow(net, W0, t_end, method=method, rtol=1e-8, atol=1e-10, times="log", n_points=n_points,
                          t_min=min(1e-3, t_end * 1e-4), loss_below=1e-8, progress=False)
    W = net.unflatten(ds.theta_final.values)
    return {
        "status": str(ds.status.values),
        "t_final": float(ds.t_final),
        "loss_final": float(ds.loss_final),
        "singular_values": np.linalg.svd(net.end_to_end(W), compute_uv=False),
        "sharpness": float(np.linalg.eigvalsh(net.hessian(W))[-1]),
        "weight_norm": float(np.sqrt(sum(np.sum(w * w) for w in W))),
        "balance": float(ls.balance_measure(W)),
    }


def assert_matches_independent_runs(ds, net, t_end, n_points, method="dopri5", rtol=1e-7):
    """Every cell of a sweep holds the indicators of its own (scale, seed) run, computed independently."""
    assert ds.sizes["network"] == 1 and list(ds.init.values) == ["gaussian"]
    for scale in ds.scale.values:
        for seed in ds.seed.values:
            cell = ds.sel(scale=scale, seed=seed).isel(network=0, init=0)
            ref = independent_indicators(net, float(scale), int(seed), t_end, n_points, method)
            where = f"scale {scale}, seed {seed}"
            assert str(cell.status.values) == ref["status"], where
            for name in ("t_final", "sharpness", "weight_norm", "balance"):
                assert float(cell[name]) == pytest.approx(ref[name], rel=rtol, abs=1e-12), (where, name)
            assert float(cell.loss_final) == pytest.approx(ref["loss_final"], rel=1e-3, abs=1e-14), where
            np.testing.assert_allclose(cell.singular_values.values, ref["singular_values"], rtol=rtol, err_msg=where)


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


def test_every_cell_holds_the_indicators_of_its_own_run(local_result):
    """Batched, chunked, reduced on dask workers == each (scale, seed) run integrated alone."""
    assert list(local_result.seed.values) == list(range(6))
    np.testing.assert_allclose(local_result.scale.values, GRID["scales"])
    assert_matches_independent_runs(local_result, ls.LinearNetwork(*NET), GRID["t_end"], GRID["n_points"])


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
        from distributed import default_client

        with pytest.raises(ValueError):  # the sweep closed the client it made (it used to leak it)
            default_client()
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
    assert_same(remote, local_result)


def test_killed_sweep_resumes_without_recomputing(tmp_path, local_result):
    directory = tmp_path / "resume"
    script = (
        "from landscape.sweeps import sweep\n"
        f"sweep([{NET!r}], directory={str(directory)!r}, n_workers=1, processes=False, progress=False, **{GRID!r})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(directory.glob("chunk-*.nc"))) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver dies part-way
    proc.wait()
    total = 4  # 2 scales x (6 seeds / 3 per chunk)
    chunks = sorted(directory.glob("chunk-*.nc"), key=lambda p: p.stat().st_mtime_ns)
    assert 2 <= len(chunks) <= total
    # a write cut by the kill stays a hidden temporary file: every file under a chunk's name is a whole chunk
    for path in chunks:
        part = ls.load(path)
        assert part.sizes["seed"] == GRID["chunk_size"], path.name
        assert np.all(np.isfinite(part.loss_final.values)) and np.all(part.status.values != ""), path.name
    if len(chunks) == total:  # the driver finished between polls: drop the newest chunk so one is recomputed
        chunks.pop().unlink()
    finished = {p.name: p.stat().st_mtime_ns for p in chunks}
    resumed = sweep([NET], directory=directory, n_workers=1, processes=False, progress=False, **GRID)
    assert int(resumed.attrs["chunks_reused"]) == len(finished)
    assert int(resumed.attrs["chunks_computed"]) == total - len(finished)
    for name, mtime in finished.items():  # finished chunks were not rewritten
        assert (directory / name).stat().st_mtime_ns == mtime
    assert sorted(p.name for p in directory.glob("chunk-*.nc")) == sorted(
        f"chunk-000-00-{k:03d}-{lo:05d}.nc" for k in range(2) for lo in (0, 3))
    assert_same(resumed, local_result)  # a fresh sweep in another directory, itself checked against single runs


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
    ds = ls.load(out)
    assert ds.attrs["landscape_kind"] == "sweep"
    assert list(ds.network_widths.values) == ["2,2,2"] and list(ds.network_sigma.values) == ["2,1"]
    np.testing.assert_allclose(ds.scale.values, [0.01, 0.5])
    assert list(ds.seed.values) == [0, 1, 2, 3]
    # the file holds each run's own indicators (the CLI's default method against dopri5 run alone)
    assert_matches_independent_runs(ds, ls.LinearNetwork(*NET), 40.0, 200, rtol=1e-4)
    # the printed table is the file's
    frac = (ds.n_plateaus > 0).mean("seed").isel(network=0, init=0)
    for scale in (0.01, 0.5):
        assert re.search(rf"gaussian\s+scale {scale:<8g} runs with plateaus {float(frac.sel(scale=scale)):.2f}",
                         res.stdout), res.stdout
