"""Dimensions of the unstable, stable and critical sets (issue 11.1) and the defining
properties of every sample of ``submanifolds`` (issue 11.3)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import landscape as ls
from landscape.core import conserved_quantities
from landscape.critical._subsets import check_subset


def _counts(net, W, tol=1e-8):
    lam = np.linalg.eigvalsh(net.hessian(W))
    band = tol * max(1.0, float(np.abs(lam).max()))
    return int(np.sum(lam < -band)), int(np.sum(np.abs(lam) <= band)), int(np.sum(lam > band))


def _subsets(net):
    modes = [k + 1 for k in range(net.sigma.size) if net.sigma[k] > 0]
    for size in range(0, min(net.rank, len(modes)) + 1):
        yield from itertools.combinations(modes, size)


def _random_depth2(rng):
    widths = [int(rng.integers(1, 5)), int(rng.integers(1, 6)), int(rng.integers(1, 5))]
    k = min(widths[0], widths[2])
    sigma = np.sort(rng.uniform(0.5, 3.0, k))[::-1]
    return ls.LinearNetwork(widths, sigma)


@pytest.mark.parametrize("seed", range(6))
def test_depth2_dimensions_are_the_hessian_counts_and_nullity_is_the_orbit_dimension(seed):
    """Depth 2 is Morse-Bott: (u, s, c, centre) = (n_-, n_+, nullity, 0) at every representative
    and at a GL-gauged copy of it; nullity = critical-set dimension (= orbit dimension when Sigma
    has no kernel: d_0 = d_2 = number of modes); the four add up to n_params."""
    rng = np.random.default_rng(seed)
    net = _random_depth2(rng)
    for S in _subsets(net):
        W = ls.representative(net, S)
        Wg = ls.gauge(net, W, [np.linalg.qr(rng.standard_normal((net.widths[1],) * 2))[0] @
                               np.diag(rng.uniform(0.6, 1.6, net.widths[1]))])
        for point in (W, Wg):
            neg, zero, pos = _counts(net, point)
            d = ls.manifold_dimensions(net, point)
            assert d.morse_bott and d.source == "hessian", (net.widths, S)
            assert zero == d.critical, (net.widths, S, zero, d.critical)
            if net.widths[0] == net.widths[2] == net.sigma.size:  # no kernel of Sigma: the orbit is all of it
                assert zero == d.orbit, (net.widths, S, zero, d.orbit)
            assert (d.unstable, d.stable, d.critical, d.centre) == (neg, pos, zero, 0)
            assert d.unstable + d.stable + d.critical + d.centre == net.n_params
        if S == () or len(S) == 1:  # the measured dimensions agree with the Hessian
            d = ls.manifold_dimensions(net, W, measure=True)
            assert (d.measured_unstable, d.measured_stable) == (d.unstable, d.stable), (net.widths, S)


def test_121_origin_dimensions():
    """W^u(0) = {W1 = v, W2 = v^T}, W^s(0) = {W1 = v, W2 = -v^T}: both 2-D; the origin is isolated."""
    net = ls.LinearNetwork([1, 2, 1], 2.0)
    d = ls.manifold_dimensions(net, ls.representative(net, []), measure=True)
    assert (d.unstable, d.stable, d.critical, d.centre) == (2, 2, 0, 0)
    assert (d.measured_unstable, d.measured_stable) == (2, 2)


@pytest.mark.parametrize("h", [3, 4, 5])
def test_scalar_origin_dimensions(h):
    """Spec 5.5 and 4.3: W^u(0), W^s(0) are 2^(h-1) half-lines each (dimension 1); the critical
    set {at least two w_i = 0} has dimension h - 2; the Hessian is 0 (centre = h - (h - 2))."""
    net = ls.LinearNetwork([1] * (h + 1), 2.0)
    d = ls.manifold_dimensions(net, ls.representative(net, []), measure=True)
    assert (d.unstable, d.stable, d.critical) == (1, 1, h - 2)
    assert d.centre == 2 and d.n_zero == h
    assert d.source == "blow_up"
    assert (d.measured_unstable, d.measured_stable) == (1, 1)


def test_3333_origin_dimensions():
    """Widths (3,3,3,3), Hessian 0 at the origin. Critical set near 0: {W2 W1 = 0, W3 W2 = 0,
    W3^T Sigma W1^T = 0}, of dimension 13 (rank W2 = 1 or 2: 5 + 8 = 8 + 5 = 13). W^u(0) and W^s(0)
    lie in the balanced set (C_i = 0: 27 - 12 = 15 dimensions); the blow-up gives 12 for each
    (rays through all three modes: 1 + 5 growing angular directions + 6 orthogonal gauges), and
    the flow measurement agrees."""
    net = ls.LinearNetwork([3, 3, 3, 3], [3.0, 2.0, 1.0])
    d = ls.manifold_dimensions(net, ls.representative(net, []), measure=True)
    assert (d.unstable, d.stable, d.critical, d.centre) == (12, 12, 13, 14)
    assert (d.measured_unstable, d.measured_stable) == (12, 12)
    assert d.unstable <= 15 and d.stable <= 15  # bounded by the balanced set
    assert d.n_negative + d.n_positive + d.critical + d.centre == net.n_params
    pieces = d.details["blow_up_pieces"]["unstable"]
    assert pieces[(1,)] == 5 and pieces[(1, 2, 3)] == 12


@pytest.mark.parametrize("seed", range(4))
def test_origin_blow_up_matches_measurement_on_random_networks(seed):
    """h = 3 origins of random small networks: the blow-up dimensions equal the measured ones,
    and n_- + n_+ + critical + centre = n_params."""
    rng = np.random.default_rng(100 + seed)
    widths = [int(rng.integers(1, 4)) for _ in range(4)]
    k = min(widths[0], widths[-1])
    net = ls.LinearNetwork(widths, np.sort(rng.uniform(0.5, 3.0, k))[::-1])
    d = ls.manifold_dimensions(net, ls.representative(net, []), measure=True)
    assert d.source == "blow_up", widths
    assert (d.measured_unstable, d.measured_stable) == (d.unstable, d.stable), widths
    assert d.n_negative + d.n_positive + d.critical + d.centre == net.n_params
    assert d.critical >= d.orbit and 0 <= d.centre


@pytest.mark.parametrize("seed", range(4))
def test_degenerate_saddles_report_consistent_bounds(seed):
    """h >= 3 representatives: the identity n_- + n_+ + critical + centre = n_params holds, the
    measured critical dimension lies between the orbit dimension and the nullity."""
    rng = np.random.default_rng(200 + seed)
    h = int(rng.integers(3, 5))
    widths = [int(rng.integers(1, 4)) for _ in range(h + 1)]
    k = min(widths[0], widths[-1])
    net = ls.LinearNetwork(widths, np.sort(rng.uniform(0.5, 3.0, k))[::-1])
    for S in _subsets(net):
        d = ls.manifold_dimensions(net, ls.representative(net, S))
        assert d.n_negative + d.n_positive + d.critical + d.centre == net.n_params
        assert d.orbit <= d.critical <= d.n_zero, (widths, S)
        assert d.unstable >= d.n_negative and d.stable >= d.n_positive


# ----------------------------------------------------------------------------- samples

def _flow(net, theta, t, sign):
    def f(_, y):
        return -sign * net.flatten(net.gradient(net.unflatten(y)))

    return solve_ivp(f, (0.0, t), theta, method="DOP853", rtol=1e-11, atol=1e-13).y[:, -1]


CASES = [([1, 2, 1], [2.0], ()), ([2, 3, 2], [3.0, 1.0], (2,)), ([1, 1, 1, 1], [2.0], ()),
         ([2, 2, 2, 2], [2.0, 1.0], ())]


@pytest.mark.parametrize("widths, sigma, S", CASES)
def test_every_sample_satisfies_its_defining_property(widths, sigma, S):
    """Unstable samples flow backward to W* (back to the seed at distance `radius`), stable ones
    forward; each keeps W*'s conserved quantities (to O(radius^2)); unstable samples lie at or below
    L_S, stable ones at or above."""
    net = ls.LinearNetwork(widths, sigma)
    W = ls.representative(net, check_subset(net, S))
    radius = 1e-3
    ds = ls.submanifolds(net, W, radius=radius, n_points=6, max_radius=1.0, t_max=1e6)
    c = net.flatten(W)
    C_star = conserved_quantities(W)
    L_S = net.loss(W)
    checked = 0
    for b in range(ds.sizes["branch"]):
        kind = str(ds.branch_kind.values[b])
        for j in range(1, ds.sizes["sample"]):
            th = ds.theta.values[b, j]
            t = float(ds.time.values[b, j])
            if np.isnan(th[0]):
                continue
            back = _flow(net, th, t, -1.0 if kind == "unstable" else 1.0)
            assert np.linalg.norm(back - c) <= 1.5 * radius, (kind, b, j)
            C = conserved_quantities(net.unflatten(th))
            dev = max(float(np.abs(a - b_).max()) for a, b_ in zip(C, C_star)) if C else 0.0
            assert dev <= 4 * radius * (1 + np.linalg.norm(c)), (kind, dev)
            L = net.loss(net.unflatten(th))
            if kind == "unstable":
                assert L <= L_S + 1e-9
            else:
                assert L >= L_S - 1e-9
            checked += 1
    assert checked >= 4


def test_121_samples_lie_on_the_exact_sets():
    """(1,2,1) origin: unstable samples satisfy W2 = W1^T with |W1|^2 <= sigma, stable ones W2 = -W1^T."""
    net = ls.LinearNetwork([1, 2, 1], 2.0)
    ds = ls.submanifolds(net, ls.representative(net, []), radius=1e-4, n_points=8)
    for b in range(ds.sizes["branch"]):
        th = ds.theta.values[b]
        th = th[~np.isnan(th[:, 0])]
        sign = 1.0 if ds.branch_kind.values[b] == "unstable" else -1.0
        np.testing.assert_allclose(th[:, 2:], sign * th[:, :2], atol=1e-8)
        if sign > 0:
            assert np.all(np.sum(th[:, :2] ** 2, axis=1) <= 2.0 + 1e-9)


def test_submanifolds_above_the_dense_size_use_no_dense_hessian(monkeypatch):
    """Above DENSE_LIMIT the directions come from extreme_eigenpairs (structured / Krylov), never
    from net.hessian; the unstable seeds are eigenvectors of the negative eigenvalues."""
    d = 25
    net = ls.LinearNetwork([d] * 6, np.linspace(3.0, 0.5, d))  # 3,125 > DENSE_LIMIT
    W = ls.representative(net, range(2, d + 1))

    def refuse(*a, **k):
        raise AssertionError("dense Hessian requested")

    monkeypatch.setattr(type(net), "hessian", refuse)
    ds = ls.submanifolds(net, W, sets=("unstable",), max_unstable=2, n_points=3, t_max=1.0, max_arcs=1)
    assert ds.attrs["eigen_method"] in ("structured", "krylov")
    hess = ds.source.values == "hessian"
    assert hess.sum() == 4
    h = net.depth
    sigma = net.sigma
    expected = np.sort(sigma[1:] ** (1 - 2 / h) * (sigma[1:] - sigma[0]))[:2]
    np.testing.assert_allclose(np.unique(ds.seed_eigenvalue.values[hess]), expected, rtol=1e-8)
    for b in np.flatnonzero(hess):
        v = ds.seed.values[b]
        Hv = net.flatten(net.hvp(W, net.unflatten(v)))
        np.testing.assert_allclose(Hv, ds.seed_eigenvalue.values[b] * v, atol=1e-8)
