"""Critical points per loss value, quotient, gauge and fibers (spec 3, 4; facts 3, 4, 12)."""

from itertools import combinations
from math import comb

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import landscape as ls
from landscape.critical import STRATA, critical_value
from landscape.testing import strategies as lst

SIGMA = [3.0, 2.0, 1.0]


def pairs(cp):
    return dict(zip(cp.subset.values.tolist(), cp.loss.values.tolist()))


def test_fact3_critical_values_full_rank():
    cp = ls.critical_points(ls.LinearNetwork([3, 3, 3, 3], SIGMA))
    assert pairs(cp) == {"{}": 7.0, "{3}": 6.5, "{2}": 5.0, "{2,3}": 4.5, "{1}": 2.5, "{1,3}": 2.0, "{1,2}": 0.5,
                         "{1,2,3}": 0.0}
    assert cp.subset.values[cp.is_global_minimum.values].tolist() == ["{1,2,3}"]
    np.testing.assert_array_equal(np.diff(cp.loss.values) >= 0, True)


def test_fact3_bottlenecks():
    r2 = ls.critical_points(ls.LinearNetwork([3, 2, 3], SIGMA))
    assert r2.sizes["point"] == 7 and len(set(r2.value_id.values)) == 7
    assert r2.subset.values[r2.is_global_minimum.values].tolist() == ["{1,2}"]
    assert float(r2.loss.values[0]) == 0.5
    r1 = ls.critical_points(ls.LinearNetwork([3, 1, 3], SIGMA))
    assert sorted(r1.loss.values.tolist(), reverse=True) == [7.0, 6.5, 5.0, 2.5]
    assert r1.subset.values[r1.is_global_minimum.values].tolist() == ["{1}"]


def test_fact4_coinciding_values_share_a_value_id():
    net = ls.LinearNetwork([3, 3, 3], [5.0, 4.0, 3.0])
    cp = ls.critical_points(net)
    a = int(np.flatnonzero(cp.subset.values == "{1}")[0])
    b = int(np.flatnonzero(cp.subset.values == "{2,3}")[0])
    assert cp.loss.values[a] == cp.loss.values[b] == 12.5
    assert cp.value_id.values[a] == cp.value_id.values[b]
    assert len(set(cp.value_id.values)) == 7
    cv = ls.critical_values(net)
    assert cv.sizes["value"] == 7
    assert str(cv.subsets.values[cv.loss.values == 12.5][0]) == "{1};{2,3}"
    assert ls.count_critical_values(net) == 8


@pytest.mark.parametrize("h, expected", [(2, [(0, 0), (5, 5), (8, 8), (9, 9)]), (3, [(27, 0), (22, 10), (19, 16), (18, 18)])])
def test_fact12_hessian_nullity_versus_orbit_dimension(h, expected):
    net = ls.LinearNetwork([3] * (h + 1), SIGMA)
    for k, (nullity, orbit) in enumerate(expected):
        fd = ls.fiber_dimension(net, tuple(range(1, k + 1)))
        assert (int(fd.hessian_nullity), int(fd.orbit_dimension)) == (nullity, orbit)


@pytest.mark.parametrize("h", [2, 3, 4])
def test_global_minimum_fiber_dimension_and_components(h):
    fd = ls.fiber_dimension(ls.LinearNetwork([3] * (h + 1), SIGMA), (1, 2, 3))
    assert int(fd.fiber_dimension) == (h - 1) * 9 == int(fd.hessian_nullity)
    assert int(fd.n_components) == 2 ** (h - 1)


@settings()
@given(lst.networks(max_depth=5, max_width=5))
def test_number_of_entries_and_representatives_are_critical(net):
    cp = ls.critical_points(net)
    rho, r = net.rho, net.rank
    expected = 1 if net.depth == 1 else sum(comb(rho, k) for k in range(min(r, rho) + 1))  # depth 1 is convex
    assert cp.sizes["point"] == expected == ls.count_critical_values(net)
    scale = 1.0 + float(np.sum(net.sigma**2))
    for i in range(cp.sizes["point"]):
        W = ls.weights_at(cp, i)
        assert cp.gradient_norm.values[i] <= 1e-10 * scale
        assert net.loss(W) == pytest.approx(float(cp.loss.values[i]), abs=1e-10 * scale)
        S = tuple(np.flatnonzero(cp.learnt.values[i]) + 1)
        assert ls.quotient(net, W).S == S
        P = net.end_to_end(W)
        Sigma_S = np.zeros_like(P)
        Sigma_S[[s - 1 for s in S], [s - 1 for s in S]] = net.sigma[[s - 1 for s in S]]
        np.testing.assert_allclose(P, Sigma_S, atol=1e-12 * scale)


@given(lst.networks(max_depth=5, max_width=5), st.data())
def test_fiber_samples_are_critical_at_the_value(net, data):
    cp = ls.critical_points(net)
    i = data.draw(st.integers(0, cp.sizes["point"] - 1))
    S = tuple(np.flatnonzero(cp.learnt.values[i]) + 1)
    f = ls.fiber(net, S, n_samples=4, rng=data.draw(st.integers(0, 2**32 - 1)))
    assert bool(f.critical.all())
    for k in range(4):
        W = ls.weights_at(f, k)
        g = net.gradient(W)
        scale = max(1.0, float(np.sum(net.sigma**2)), max(float(np.sum(w * w)) for w in W))
        assert np.sqrt(sum(float(np.sum(x * x)) for x in g)) <= 1e-9 * scale
        assert net.loss(W) == pytest.approx(critical_value(net, S), abs=1e-9 * scale)
        assert ls.quotient(net, W).S == S


@settings()
@given(lst.networks_and_weights(min_depth=2, max_depth=5, max_width=5), st.integers(0, 2**32 - 1))
def test_gauge_preserves_loss_and_rotates_conserved_quantities(pair, seed):
    net, W = pair
    rng = np.random.default_rng(seed)
    Q = [np.linalg.qr(rng.standard_normal((d, d)))[0] for d in net.widths[1:-1]]
    Wq = ls.gauge(net, W, Q)
    assert net.loss(Wq) == pytest.approx(net.loss(W), rel=1e-10, abs=1e-12)
    for C, Cq, G in zip(ls.conserved_quantities(W), ls.conserved_quantities(Wq), Q):
        np.testing.assert_allclose(Cq, G @ C @ G.T, atol=1e-10 * (1 + np.abs(C).max()))
    Gl = [rng.standard_normal((d, d)) + 3 * np.eye(d) for d in net.widths[1:-1]]  # general invertible
    assert net.loss(ls.gauge(net, W, Gl)) == pytest.approx(net.loss(W), rel=1e-8, abs=1e-10)
    A = ls.adjacency(W)  # on A: blkdiag(I, G_1.., I) A blkdiag(...)^{-1}
    G = np.eye(net.n_nodes)
    o = net.offsets
    for i, g in enumerate(Gl, start=1):
        G[o[i]:o[i + 1], o[i]:o[i + 1]] = g
    np.testing.assert_allclose(ls.gauge(net, A, Gl), G @ A @ np.linalg.inv(G), atol=1e-9 * (1 + np.abs(A).max()))


def test_lowest_values_without_full_enumeration():
    sigma = np.linspace(3.0, 0.5, 60)
    net = ls.LinearNetwork([60, 60, 60], sigma)
    cv = ls.critical_values(net, max_count=200)
    assert cv.sizes["value"] == 200
    assert np.all(np.diff(cv.loss.values) > 0)
    assert float(cv.loss.values[0]) == 0.0
    with pytest.raises(ValueError, match=r"pass max_count=k to critical_points for the k lowest"):
        ls.critical_points(net)


def test_best_first_order_matches_brute_force():
    rng = np.random.default_rng(5)
    sigma = np.sort(rng.uniform(0.5, 3, 9))[::-1]
    net = ls.LinearNetwork([9, 5, 9], sigma)
    brute = sorted(0.5 * float(np.sum(sigma**2)) - 0.5 * float(np.sum(sigma[list(c)] ** 2))
                   for k in range(6) for c in combinations(range(9), k))
    cp = ls.critical_points(net, max_count=120)
    np.testing.assert_allclose(cp.loss.values, brute[:120], atol=1e-12)
    assert int(cp.attrs["complete"]) == 0


def test_zero_and_repeated_singular_values():
    net = ls.LinearNetwork([4, 4, 4], [2.0, 2.0, 1.0, 0.0])
    cp = ls.critical_points(net)
    assert cp.sizes["point"] == 8  # rho = 3
    assert not cp.learnt.values[:, 3].any()
    # {1} and {2} exchange equal modes: same value
    a, b = (int(np.flatnonzero(cp.subset.values == s)[0]) for s in ("{1}", "{2}"))
    assert cp.value_id.values[a] == cp.value_id.values[b]
    # a rotated critical point within the equal-value group is recognised
    W = ls.representative(net, (1,))
    R = np.eye(4)
    c, s = np.cos(0.3), np.sin(0.3)
    R[:2, :2] = [[c, -s], [s, c]]
    W_rot = [W[0] @ R.T, R @ W[1]]  # P = R Sigma_S R^T: another critical point of the same value
    q = ls.quotient(net, W_rot)
    assert q.critical and q.S == (1,) and q.loss == pytest.approx(critical_value(net, (1,)))


def test_flows_started_near_representatives_end_at_enumerated_points():
    """Independent check: gradient flow from near each A*_S ends at a critical point that
    maps to an enumerated S with its value."""
    net = ls.LinearNetwork([3, 3, 3], SIGMA)
    cp = ls.critical_points(net)
    known = dict(zip(cp.subset.values.tolist(), cp.loss.values.tolist()))
    for i in range(cp.sizes["point"]):
        W0 = ls.init.near(net, ls.weights_at(cp, i), 1e-4, rng=i)
        ds = ls.gradient_flow(net, W0, 60.0, n_points=2, rtol=1e-10, atol=1e-12)
        q = ls.quotient(net, ls.weights_at(ds, -1), tol=1e-7)
        assert q.critical
        assert known["{" + ",".join(map(str, q.S)) + "}"] == pytest.approx(q.loss, abs=1e-8)


def test_storage_round_trip(tmp_path):
    net = ls.LinearNetwork([2, 3, 2], [2.0, 1.0])
    for ds in (ls.critical_points(net), ls.critical_values(net), ls.fiber(net, (1,), 3, rng=0),
               ls.fiber_dimension(net, (1,))):
        path = tmp_path / f"{ds.attrs['landscape_kind']}.nc"
        ls.save(ds, path)
        xr.testing.assert_identical(ds, ls.load(path))


# ---------------------------------------------------------------- bad input
@pytest.fixture
def net():
    return ls.LinearNetwork([3, 2, 3, 3], [3.0, 2.0, 0.0])


@pytest.mark.parametrize(
    "S, match",
    [
        ((4,), r"S names mode 4, out of range: modes are numbered 1..3"),
        ((0,), r"S names mode 0, out of range"),
        ((1, 2, 3), r"S names mode 3, whose singular value is 0"),
        ((1, 1), r"S repeats a mode"),
        ("12", r"S must be a collection of 1-based mode numbers"),
    ],
)
def test_bad_subsets(net, S, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ls.representative(net, S)


def test_depth_one_has_only_the_global_minimum():
    net = ls.LinearNetwork([3, 2], [2.0, 1.0])
    cp = ls.critical_points(net)
    assert cp.subset.values.tolist() == ["{1,2}"] and bool(cp.is_global_minimum.values[0])
    with pytest.raises(ValueError, match=r"must learn every nonzero mode for a depth-1 network"):
        ls.representative(net, (1,))


def test_subset_larger_than_bottleneck():
    net = ls.LinearNetwork([3, 2, 3], [3.0, 2.0, 1.0])
    with pytest.raises(ValueError, match=r"S has 3 modes, more than the bottleneck r = 2 allows"):
        ls.fiber(net, (1, 2, 3))


def test_bad_fiber_arguments(net):
    with pytest.raises(ValueError, match=r"n_samples must be an integer >= 1; got 0"):
        ls.fiber(net, (1,), 0)
    with pytest.raises(ValueError, match=r"strata must be 'all' or a subset of \['orbit', 'dead_paths'\]; got 'gauge'"):
        ls.fiber(net, (1,), 2, strata=["gauge"])
    with pytest.raises(ValueError, match=r"the 'dead_paths' stratum needs h >= 3"):
        ls.fiber(ls.LinearNetwork([2, 2, 2], [1.0, 0.5]), (1,), 2, strata="dead_paths")
    assert STRATA == ("orbit", "dead_paths")
