"""Issue 10, one implementation per idea: dataset metadata written in one place (landscape.io).

Every result kind is produced through the public API, saved, and read back with plain
xarray and with h5py: CF 1.10 metadata on every variable and coordinate, status flags,
``Conventions``, a valid netCDF4 file (no ``invalid_netcdf``), and networks built by
``LinearNetwork.from_data`` that come back with their data rotations.
"""

import re
import warnings

import h5netcdf
import h5py
import numpy as np
import pytest
import xarray as xr

import landscape as ls
from landscape.io import LandscapeFileError
from landscape.io._schema import CONVENTIONS, FLAGS, KINDS, METADATA, STATUS_MEANINGS

NET = ([2, 2, 2], [2.0, 1.0])
CF_WORD = re.compile(r"^[A-Za-z0-9_.+@-]+$")  # CF 1.10 section 3.5


def _sweep(net):
    from landscape.sweeps import sweep

    return sweep(net, scales=[0.1], seeds=2, t_end=20.0, n_points=30, processes=False, n_workers=1, progress=False)


def _build(name):
    net = ls.LinearNetwork(*NET)
    W0 = ls.init.gaussian(net, 0.1, rng=0)
    if name == "trajectory":
        return ls.gradient_flow(net, W0, 5.0, n_points=20)
    if name == "trajectory_batched":
        return ls.gradient_flow(net, [np.stack([w, 3.0 * w]) for w in W0], 5.0, n_points=20)
    if name == "gradient_descent":
        return ls.gradient_descent(net, W0, 0.1, 20)
    if name == "itinerary":
        return ls.itinerary(ls.gradient_flow(net, W0, 30.0, n_points=60, times="log", t_min=1e-3))
    if name == "critical_points":
        return ls.critical_points(net)
    if name == "critical_points_classified":
        return ls.classify(ls.critical_points(net))
    if name == "critical_values":
        return ls.critical_values(net)
    if name == "fiber":
        return ls.fiber(net, [1], n_samples=3, rng=0)
    if name == "fiber_dimension":
        return ls.fiber_dimension(net, [1])
    if name == "inertia":
        return ls.hessian_inertia(net, ls.representative(net, [1]), eigenvectors=True)
    if name == "classification":
        return ls.classify(net, ls.representative(net, [2]))
    if name == "submanifolds":
        return ls.submanifolds(net, ls.representative(net, []), n_points=5)
    if name == "sweep":
        return _sweep(net)
    if name == "inertia_density":
        return ls.hessian_inertia(net, W0, method="density", k=2)
    if name == "eigenpairs":
        return ls.extreme_eigenpairs(net, W0, k=2, method="krylov")
    if name == "spectral_density":
        return ls.spectral_density(net, W0, n_probes=3, n_steps=6, n_grid=40)
    if name == "manifold_surface":
        return ls.manifold_surface(net, ls.representative(net, []), "unstable", max_distance=0.1, delta=0.05)
    if name in ("plateau_scaling", "sequential_threshold", "almost_every_start"):
        from landscape.io._docs import EXAMPLES

        return EXAMPLES[name][0][2](net)
    raise AssertionError(name)


CASES = ["trajectory", "trajectory_batched", "gradient_descent", "itinerary", "critical_points",
         "critical_points_classified", "critical_values", "fiber", "fiber_dimension", "inertia", "classification",
         "submanifolds", "sweep", "inertia_density", "eigenpairs", "spectral_density", "manifold_surface",
         "plateau_scaling", "sequential_threshold", "almost_every_start"]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kinds")
    out = {}
    for name in CASES:
        ds = _build(name)
        path = ls.save(ds, folder / f"{name}.nc")
        out[name] = (ds, path)
    return out


def test_every_result_kind_is_covered(written):
    kinds = {ds.attrs["landscape_kind"] for ds, _ in written.values()}
    assert kinds == set(KINDS)


@pytest.mark.parametrize("name", CASES)
def test_every_variable_and_coordinate_has_long_name_and_units(written, name):
    _, path = written[name]
    with xr.open_dataset(path, engine="h5netcdf") as raw:
        assert raw.attrs["Conventions"] == CONVENTIONS == "CF-1.10"
        assert len(raw.variables) >= 3
        for var in raw.variables:
            attrs = raw[var].attrs
            assert isinstance(attrs.get("long_name"), str) and attrs["long_name"].strip(), (name, var)
            assert isinstance(attrs.get("units"), str) and attrs["units"].strip(), (name, var)
            assert attrs["units"] == "1", (name, var)  # every quantity here is dimensionless (one choice, everywhere)


@pytest.mark.parametrize("name", ["trajectory", "trajectory_batched", "gradient_descent", "sweep"])
def test_status_is_a_cf_flag_variable_and_loads_as_strings(written, name):
    ds, path = written[name]
    with xr.open_dataset(path, engine="h5netcdf") as raw:
        status = raw["status"]
        assert status.dtype.kind == "i"
        values = np.atleast_1d(status.attrs["flag_values"])
        meanings = status.attrs["flag_meanings"].split(" ")
        assert values.dtype == status.dtype  # CF 3.5: flag_values have the variable's type
        assert len(values) == len(meanings) == len(set(values.tolist())) == len(set(meanings))
        assert all(CF_WORD.match(m) for m in meanings)
        present = set(np.unique(status.values).tolist())
        assert present <= set(values.tolist())
        decoded = {meanings[values.tolist().index(c)] for c in present}
        assert decoded == set(np.unique(ds["status"].values.astype(str)).tolist())
    loaded = ls.load(path)
    np.testing.assert_array_equal(loaded["status"].values.astype(str), ds["status"].values.astype(str))
    assert "flag_values" not in loaded["status"].attrs  # the strings describe themselves in memory


def test_status_vocabulary_is_that_of_the_integrators():
    from landscape.dynamics._solvers import Status

    assert tuple(Status.names[i] for i in sorted(Status.names)) == STATUS_MEANINGS == FLAGS["status"]


@pytest.mark.parametrize("name", CASES)
def test_files_are_valid_netcdf4_without_invalid_netcdf(written, name):
    _, path = written[name]
    with h5py.File(path, "r") as f:
        assert "_NCProperties" in f.attrs  # h5netcdf omits it when it writes invalid netCDF
        bad = []

        def check(obj_name, obj):
            items = list(obj.attrs.items())
            if isinstance(obj, h5py.Dataset):
                items.append(("<data>", obj[()] if obj.shape == () else obj[:1]))
            for key, value in items:
                dt = getattr(value, "dtype", np.asarray(value).dtype)
                if dt.kind in "cb" or h5py.check_enum_dtype(dt) is not None:
                    bad.append((obj_name, key, dt))
            if isinstance(obj, h5py.Dataset) and (obj.dtype.kind in "cb" or h5py.check_enum_dtype(obj.dtype)):
                bad.append((obj_name, "<dtype>", obj.dtype))

        check("/", f)
        f.visititems(check)
        assert not bad, bad
    with h5netcdf.File(path, "r", invalid_netcdf=False) as f:  # the strict reader accepts it
        assert set(f.variables)


@pytest.mark.parametrize("name", CASES)
def test_load_gives_back_the_data(written, name):
    ds, path = written[name]
    back = ls.load(path)
    assert back.attrs["landscape_kind"] == ds.attrs["landscape_kind"]
    for var in ds.variables:
        a, b = ds[var].values, back[var].values
        if a.dtype.kind in "USO":
            np.testing.assert_array_equal(b.astype(str), a.astype(str), err_msg=f"{name}.{var}")
        else:
            np.testing.assert_array_equal(b, a, err_msg=f"{name}.{var}")


def test_the_table_is_the_one_definition(written):
    """In memory too, every builder's variables carry the table's metadata (annotate wins)."""
    for name, (ds, _) in written.items():
        kind = ds.attrs["landscape_kind"]
        for var in ds.variables:
            meta = METADATA.get((kind, var), METADATA.get(var))
            assert meta is not None, (name, var)
    it = written["itinerary"][0]
    assert it["t_enter"].attrs["long_name"] == METADATA["t_enter"][0]
    sw = written["sweep"][0]
    assert sw["conserved_drift"].attrs["long_name"] == METADATA[("sweep", "conserved_drift")][0]


def test_save_converts_bool_attributes_and_refuses_complex_ones_by_name(tmp_path):
    ds = ls.critical_values(ls.LinearNetwork(*NET))
    ds.attrs["flagged"] = True
    ls.save(ds, tmp_path / "b.nc")
    assert int(ls.load(tmp_path / "b.nc").attrs["flagged"]) == 1
    assert ds.attrs["flagged"] is True  # the caller's dataset is untouched
    ds.attrs["z"] = 1 + 2j
    with pytest.raises(LandscapeFileError, match="attribute 'z'"):
        ls.save(ds, tmp_path / "c.nc")
    assert not (tmp_path / "c.nc").exists()


def test_load_refuses_a_status_code_outside_its_flags(tmp_path):
    net = ls.LinearNetwork(*NET)
    ls.save(ls.gradient_flow(net, ls.init.gaussian(net, 0.1, rng=0), 1.0, n_points=5), tmp_path / "t.nc")
    with xr.open_dataset(tmp_path / "t.nc", engine="h5netcdf") as raw:
        bad = raw.load()
    bad["status"] = bad["status"].copy(data=np.int8(42))
    bad.to_netcdf(tmp_path / "bad.nc", engine="h5netcdf")
    with pytest.raises(LandscapeFileError, match="codes \\[42\\]"):
        ls.load(tmp_path / "bad.nc")


# ------------------------------------------------------------------ from_data round trip
def _raw_loss(X, Y, W_data):
    P = W_data[0]
    for w in W_data[1:]:
        P = w @ P
    return 0.5 * np.sum((Y - P @ X) ** 2) / X.shape[1]


@pytest.mark.parametrize("rcond", [None, 1e-10])
def test_from_data_networks_round_trip_with_their_rotations(tmp_path, rcond):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(5, 40)) * np.array([[3.0], [1.0], [0.5], [2.0], [1.5]])
    if rcond is not None:
        X[4] = X[0] - X[2]  # rank-deficient inputs: whitened on the range (width 4 < 5)
    Y = rng.normal(size=(3, 5)) @ X + 0.3 * rng.normal(size=(3, 40))
    net = ls.LinearNetwork.from_data(X, Y, hidden_widths=[4, 6], rcond=rcond)
    assert net.widths[0] == (4 if rcond else 5) and net.widths[-1] == 3
    W = ls.init.gaussian(net, 0.5, rng=1)
    datasets = {"trajectory": ls.gradient_flow(net, W, 1.0, n_points=5), "critical_points": ls.critical_points(net)}
    for kind, ds in datasets.items():
        back = ls.load(ls.save(ds, tmp_path / f"{kind}.nc"))
        net2 = ls.network_of(back)
        np.testing.assert_array_equal(net2.Sigma, net.Sigma)
        np.testing.assert_array_equal(net2.U, net.U)
        np.testing.assert_array_equal(net2.V, net.V)
        assert not np.allclose(net2.U, np.eye(3))  # the rotations are real ones: the test can fail
        assert net2.loss_offset == net.loss_offset != 0.0
        assert net2.loss(W) == net.loss(W)
        for a, b in zip(net2.to_data_coordinates(W), net.to_data_coordinates(W)):
            np.testing.assert_array_equal(a, b)
        Wd = net2.to_data_coordinates(W)
        for a, b in zip(net2.from_data_coordinates(Wd), W):
            np.testing.assert_allclose(a, b, atol=1e-12)
        # independent check: the rebuilt network's loss + offset is the raw data loss
        np.testing.assert_allclose(net2.loss(W) + net2.loss_offset, _raw_loss(X, Y, Wd), rtol=1e-10)
        if kind == "critical_points":  # and the representatives are critical points of the raw loss
            np.testing.assert_allclose(net2.loss(ls.weights_at(back, 0)) + net2.loss_offset,
                                       _raw_loss(X, Y, net2.to_data_coordinates(ls.weights_at(back, 0))), rtol=1e-10)


def test_networks_given_by_singular_values_store_no_maps_and_target_matrices_round_trip(tmp_path):
    plain = ls.critical_points(ls.LinearNetwork(*NET))
    assert not any(k.startswith("data_") for k in plain.attrs)
    T = np.random.default_rng(3).normal(size=(2, 3))
    net = ls.LinearNetwork([3, 2, 2], T)
    back = ls.network_of(ls.load(ls.save(ls.critical_points(net), tmp_path / "t.nc")))
    W = ls.init.gaussian(net, 1.0, rng=0)
    P = back.to_data_coordinates(W)
    np.testing.assert_allclose(back.loss(W), 0.5 * np.sum((T - P[1] @ P[0]) ** 2), rtol=1e-12)


def test_from_reduction_names_the_bad_argument():
    net = ls.LinearNetwork.from_data(np.random.default_rng(0).normal(size=(3, 20)),
                                     np.random.default_rng(1).normal(size=(2, 20)), hidden_widths=[2])
    red = net.reduction()
    with pytest.raises(ls.errors.SigmaError, match="U must be orthogonal"):
        ls.LinearNetwork.from_reduction(net.widths, net.sigma, **{**red, "U": 2 * red["U"]})
    with pytest.raises(ls.errors.SigmaError, match="input_map_inv must have shape"):
        ls.LinearNetwork.from_reduction(net.widths, net.sigma, **{**red, "input_map_inv": red["input_map_inv"][:1]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = ls.LinearNetwork.from_reduction(net.widths, net.sigma, **red)
    np.testing.assert_array_equal(again.reduction()["input_map"], red["input_map"])
