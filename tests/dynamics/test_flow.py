"""Integrators: laws along the output, batches, events, storage, and bad input."""

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import landscape as ls
from landscape.dynamics import METHODS
from landscape.io import LandscapeFileError
from landscape.testing import strategies as lst

ALL_METHODS = [m for m in METHODS if m != "auto"]


@given(lst.networks(max_depth=3, max_width=3).flatmap(lambda n: lst.weights(n).map(lambda W: (n, W))))
@pytest.mark.parametrize("method", ALL_METHODS)
def test_loss_never_increases_along_the_flow(method, pair):
    net, W = pair
    ds = ls.gradient_flow(net, W, 2.0, method=method, n_points=21, rtol=1e-9, atol=1e-12, progress=False)
    L = ds.loss.values
    assert str(ds.status.values) == "success"
    assert np.all(np.diff(L) <= 1e-7 * (1 + L[:-1])), np.diff(L).max()


@given(lst.networks_and_weights(max_depth=4, max_width=4))
def test_conserved_quantities_along_the_flow(pair):
    net, W = pair
    ds = ls.gradient_flow(net, W, 1.0, method="gauss", n_points=5, rtol=1e-10, atol=1e-12, progress=False)
    assert float(np.max(ds.conserved_drift.values, initial=0.0)) <= 1e-11 * float(ds.conserved_scale)


@given(lst.networks_and_weights(max_depth=3, max_width=3), st.sampled_from(["gauss", "dopri5", "LSODA"]))
def test_save_then_load_is_identical(tmp_path_factory, pair, method):
    net, W = pair
    ds = ls.gradient_flow(net, W, 0.5, method=method, n_points=4, progress=False)
    path = tmp_path_factory.mktemp("io") / "traj.nc"
    ls.save(ds, path)
    xr.testing.assert_identical(ds, ls.load(path))
    back = ls.weights_at(ls.load(path), 2)
    for a, b in zip(ls.weights_at(ds, 2), back):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("method", ["dopri5", "dopri5-jit", "rosw", "gauss"])
def test_batched_run_equals_single_runs(method):
    net = ls.LinearNetwork([3, 2, 3], [2.0, 1.0])
    Ws = [ls.init.gaussian(net, 0.5, rng=s) for s in range(3)]
    batch = [np.stack(layer) for layer in zip(*Ws)]
    ds = ls.gradient_flow(net, batch, 3.0, method=method, n_points=7)
    assert ds.theta.shape == (3, 7, net.n_params)
    for b, W in enumerate(Ws):
        single = ls.gradient_flow(net, W, 3.0, method=method, n_points=7)
        # per-trajectory step control: the batched trajectory is the single one
        np.testing.assert_allclose(ds.theta.values[b], single.theta.values, rtol=0, atol=1e-12)


def test_compiled_and_numpy_dormand_prince_agree():
    net = ls.LinearNetwork([3, 4, 2, 3], [3.0, 2.0, 1.0])
    batch = [np.stack(layer) for layer in zip(*[ls.init.gaussian(net, 0.7, rng=s) for s in range(5)])]
    a = ls.gradient_flow(net, batch, 5.0, method="dopri5", n_points=11, rtol=1e-10, atol=1e-12)
    b = ls.gradient_flow(net, batch, 5.0, method="dopri5-jit", n_points=11, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.theta.values, b.theta.values, atol=1e-8)
    np.testing.assert_array_equal(a.n_steps.values, b.n_steps.values)


@pytest.mark.parametrize("method", ["dopri5", "dopri5-jit", "rosw", "LSODA"])
def test_loss_event_stops_each_trajectory(method):
    net = ls.LinearNetwork([2, 2, 2], [2.0, 1.0])
    batch = [np.stack(layer) for layer in zip(*[ls.init.gaussian(net, 0.6, rng=s) for s in range(4)])]
    ds = ls.gradient_flow(net, batch, 100.0, method=method, loss_below=1e-6, n_points=3)
    assert set(ds.status.values) == {"event"}
    assert np.all(ds.loss_final.values <= 1e-6 * (1 + 1e-9))  # scipy locates the root to round-off
    assert np.all(ds.t_event.values <= ds.t_final.values + 1e-12)
    assert np.all(ds.t_event.values > 0)


def test_log_time_grid_and_gradient_event():
    net = ls.LinearNetwork([2, 2, 2], [2.0, 1.0])
    W = ls.init.identity(net, 1e-3)
    ds = ls.gradient_flow(net, W, 50.0, times="log", n_points=30, gradient_norm_below=1e-8)
    t = ds.time.values
    assert t[0] == 0 and t[1] == pytest.approx(50.0 * 1e-4)
    np.testing.assert_allclose(np.diff(np.log(t[1:])), np.log(1e4) / 28)
    assert str(ds.status.values) == "event"
    assert float(ds.gradient_norm.values[~np.isnan(ds.gradient_norm.values)][-1]) > 1e-8


def test_time_budget_stops_with_status(monkeypatch):
    net = ls.LinearNetwork([2, 2, 2], [2.0, 1.0])
    ds = ls.gradient_flow(net, ls.init.gaussian(net, 1.0, rng=0), 1e6, method="dopri5", max_wall_time=1e-9, n_points=3)
    assert str(ds.status.values) == "time_budget"
    assert float(ds.t_final) < 1e6


def test_adjacency_initial_condition():
    net = ls.LinearNetwork([2, 3, 2], [2.0, 1.0])
    W = ls.init.gaussian(net, 0.5, rng=1)
    a = ls.gradient_flow(net, ls.adjacency(W), 1.0, n_points=3)
    b = ls.gradient_flow(net, W, 1.0, n_points=3)
    np.testing.assert_array_equal(a.theta.values, b.theta.values)


def test_dataset_is_self_describing():
    net = ls.LinearNetwork([2, 3, 2], [2.0, 1.0])
    ds = ls.gradient_flow(net, ls.init.gaussian(net, 0.5, rng=1), 1.0, n_points=3, method="gauss")
    for name in ("theta", "loss", "gradient_norm", "conserved_drift", "singular_values", "status", "t_final"):
        assert "units" in ds[name].attrs and "long_name" in ds[name].attrs, name
    assert ds.attrs["method"] == "gauss" and ds.attrs["rtol"] == 1e-8
    assert ds.attrs["landscape_kind"] == "trajectory"
    assert list(ds.attrs["widths"]) == [2, 3, 2]
    assert ds.attrs["nfev"] > 0 and ds.attrs["wall_time"] > 0
    assert set(ds.layer.values) == {1, 2}


def test_itinerary_with_bottleneck_learns_only_r_modes():
    net = ls.LinearNetwork([3, 1, 3], [3.0, 2.0, 1.0])
    ds = ls.gradient_flow(net, ls.init.gaussian(net, 1e-3, rng=4), 15.0, n_points=301)
    it = ls.itinerary(ds)
    # this draw starts almost orthogonal to mode 1: it turns from mode 2 to mode 1 while the
    # loss passes L_{2} = 5 without dwelling (P comes within 0.18 ||Sigma||, not 0.1): no visit
    assert list(it.subset.values) == ["{}", "{1}"]
    assert it.learnt.values.sum(axis=1).max() == 1  # never more than r = 1 modes
    np.testing.assert_allclose(it.plateau_loss.values, [7.0, 2.5])
    assert float(ds.loss_final) == pytest.approx(2.5, abs=1e-6)  # L* = 1/2 (2^2 + 1^2)
    # a looser distance counts that passage as a visit to the strict saddle {2}
    loose = ls.itinerary(ds, distance=0.2)
    assert list(loose.subset.values) == ["{}", "{2}", "{1}"]
    np.testing.assert_allclose(loose.plateau_loss.values, [7.0, 5.0, 2.5])


# ---------------------------------------------------------------- bad input
@pytest.fixture
def net():
    return ls.LinearNetwork([2, 2, 2], [2.0, 1.0])


@pytest.fixture
def W(net):
    return ls.init.gaussian(net, 0.5, rng=0)


@pytest.mark.parametrize("t_end", [0.0, -1.0, np.inf])
def test_bad_t_end(net, W, t_end):
    with pytest.raises(ValueError, match=r"t_end must be a finite number > 0; got"):
        ls.gradient_flow(net, W, t_end)


@pytest.mark.parametrize("name, value", [("rtol", 0.0), ("atol", -1e-3), ("rtol", np.nan)])
def test_bad_tolerances(net, W, name, value):
    with pytest.raises(ValueError, match=rf"{name} must be a finite number > 0; got"):
        ls.gradient_flow(net, W, 1.0, **{name: value})


def test_unknown_method_lists_the_known_ones(net, W):
    with pytest.raises(ValueError, match=r"method must be one of \['gauss', 'rosw', 'dopri5', 'dopri5-jit', 'RK45'.*; got 'euler'"):
        ls.gradient_flow(net, W, 1.0, method="euler")


def test_weights_that_do_not_fit(net):
    with pytest.raises(ValueError, match=r"W0\[1\] \(W_2\) must have shape \(2, 2\); got shape \(3, 2\)"):
        ls.gradient_flow(net, [np.zeros((2, 2)), np.zeros((3, 2))], 1.0)


def test_nan_in_initial_weights(net, W):
    W[1][0, 0] = np.nan
    with pytest.raises(ValueError, match=r"W0\[1\] \(W_2\) must be finite; got a non-finite entry nan"):
        ls.gradient_flow(net, W, 1.0)
    with pytest.raises(ValueError, match=r"must be finite"):
        ls.gradient_descent(net, W, 0.1, 10)


@pytest.mark.parametrize("step", [0.0, -0.1, np.inf])
def test_bad_step(net, W, step):
    with pytest.raises(ValueError, match=r"step must be a finite number > 0"):
        ls.gradient_descent(net, W, step, 10)


def test_bad_n_steps(net, W):
    with pytest.raises(ValueError, match=r"n_steps must be an integer >= 1; got 0"):
        ls.gradient_descent(net, W, 0.1, 0)


def test_load_refuses_a_file_that_is_not_a_landscape_dataset(tmp_path):
    plain = tmp_path / "plain.nc"
    xr.Dataset({"x": ("i", np.arange(3.0))}).to_netcdf(plain, engine="h5netcdf")
    with pytest.raises(LandscapeFileError, match=r"is not a landscape dataset: it lacks the attributes 'landscape_kind'"):
        ls.load(plain)
    junk = tmp_path / "junk.nc"
    junk.write_bytes(b"not a netcdf file")
    with pytest.raises(LandscapeFileError, match=r"is not a netCDF/HDF5 file"):
        ls.load(junk)
    with pytest.raises(LandscapeFileError, match=r"does not exist"):
        ls.load(tmp_path / "missing.nc")


def test_load_refuses_another_format_version(tmp_path, net, W):
    ds = ls.gradient_flow(net, W, 0.5, n_points=2)
    ds.attrs["landscape_format"] = "0.9"
    path = tmp_path / "old.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    with pytest.raises(LandscapeFileError, match=r"has landscape format version '0.9'; this landscape reads version '1.0'"):
        ls.load(path)


def test_save_is_atomic_and_keeps_the_old_file_on_failure(tmp_path, net, W, monkeypatch):
    ds = ls.gradient_flow(net, W, 0.5, n_points=2)
    path = tmp_path / "run.nc"
    ls.save(ds, path)
    good = path.read_bytes()

    def boom(self, *args, **kwargs):
        with open(args[0], "wb") as fh:
            fh.write(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.Dataset, "to_netcdf", boom)
    with pytest.raises(KeyboardInterrupt):
        ls.save(ds, path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["run.nc"]
