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
        if S == () or (len(S) == 1 and seed % 2 == 0):  # the measured dimensions agree with the Hessian
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
    d = ls.manifold_dimensions(net, ls.representative(net, []), measure=True, max_rays=1)
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
    d = ls.manifold_dimensions(net, ls.representative(net, []), measure=True, max_rays=1)
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


# ----------------------------------------------------------------------------- non-origin saddles

def _predicted_hessian_counts(net, S):
    """(n_-, n_0, n_+) at A*_S, h >= 3, from the block split of the Hessian:
    learnt block (a global minimum of widths |S|: |S|^2 positive, (h-1)|S|^2 null), cross
    terms (B_1: learnt units reading unlearnt inputs, C_h: unlearnt outputs from learnt units;
    for m in S and each singular value tau of Sigma_R the pair sigma_m^(1-2/h) (sigma_m +- tau),
    plus sigma_m^(2-2/h) > 0 on the |d_0 - d_h| unmatched rows/columns; the other cross
    entries are gauge directions, null), and the reduced block (null: h >= 3 at its origin)."""
    h, k = net.depth, len(S)
    widths, tau = ls.stability._dimensions.reduced_network(net, S)
    neg = pos = zero = 0
    for m in S:
        sm = net.sigma[m - 1]
        for t in tau:
            for e in (sm + t, sm - t):
                neg, zero, pos = neg + (e < -1e-12), zero + (abs(e) <= 1e-12), pos + (e > 1e-12)
        pos += abs(net.widths[0] - net.widths[-1])
    gauge = 2 * k * sum(net.widths[i] - k for i in range(1, h))
    n_red = sum(a * b for a, b in zip(widths[:-1], widths[1:]))
    return neg, zero + gauge + (h - 1) * k * k + n_red, pos + k * k


def _random_deep(rng, max_width=4):
    h = int(rng.integers(3, 5))
    widths = [int(rng.integers(1, max_width + 1)) for _ in range(h + 1)]
    k = min(widths[0], widths[-1])
    kind = rng.integers(0, 3)
    if kind == 0:  # distinct
        sigma = np.sort(rng.uniform(0.5, 3.0, k))[::-1]
    elif kind == 1:  # repeated values
        sigma = np.sort(rng.choice([1.0, 2.0], k))[::-1]
    else:  # a zero value (kernel of Sigma on both sides)
        sigma = np.append(np.sort(rng.uniform(0.5, 3.0, max(k - 1, 1)))[::-1], [0.0] * (k > 1))
    return ls.LinearNetwork(widths, sigma)


@pytest.mark.parametrize("seed", range(40))
def test_hessian_at_a_representative_splits_into_learnt_cross_and_reduced_blocks(seed):
    """Dense eigh at every A*_S (h = 3, 4; widths 1-4, d_0 != d_h, repeated and zero sigma)
    equals the block count of the decomposition, so the degenerate normal directions are
    exactly the reduced network's parameters (plus nothing else)."""
    net = _random_deep(np.random.default_rng(seed))
    for S in _subsets(net):
        if not S:
            continue
        assert _counts(net, ls.representative(net, S)) == _predicted_hessian_counts(net, S), (net.widths, S)


def _reduced_origin(net, S):
    widths, sigma = ls.stability._dimensions.reduced_network(net, S)
    if min(widths) == 0:
        return None
    red = ls.LinearNetwork(widths, sigma)
    return ls.manifold_dimensions(red, [np.zeros(s) for s in red.shapes])


@pytest.mark.parametrize("seed", range(8))
def test_dimensions_add_up_at_every_critical_point(seed):
    """All critical points (ls.critical_points) of random h = 3, 4 networks: the identity
    n_- + n_+ + critical + centre = n_params; Morse-Bott points report the Hessian counts with
    centre 0; the others the Hessian counts plus the reduced network's origin (computed on its
    own), centre = the reduced centre, critical = n_0 - n_params(reduced) + reduced critical."""
    rng = np.random.default_rng(300 + seed)
    net = _random_deep(rng, max_width=3)
    cp = ls.critical_points(net)
    for i in range(cp.sizes["point"]):
        S = tuple(int(m) for m in cp.mode.values[cp.learnt.values[i]])
        W = ls.weights_at(cp, i)
        d = ls.manifold_dimensions(net, W)
        assert d.n_negative + d.n_positive + d.critical + d.centre == net.n_params
        red = _reduced_origin(net, S)
        if d.source == "hessian":
            assert (d.unstable, d.stable, d.centre) == (d.n_negative, d.n_positive, 0), (net.widths, S)
            assert red is None or red.n_params == 0 or not S or d.critical == d.n_zero
        elif d.source == "blow_up":
            assert red is not None and red.source == "blow_up"
            assert (d.unstable, d.stable) == (d.n_negative + red.unstable, d.n_positive + red.stable), (net.widths, S)
            if S:
                assert d.centre == red.centre and d.critical == d.n_zero - red.n_params + red.critical
        else:  # open: Sigma_R has positive values and a kernel pair, or Sigma_R = 0 (all positive modes
            # learnt, S non-empty); the unstable set is still decided, the stable one bounded below
            assert d.details["open"] in ("kernel", "zero_reduced") and d.sources["unstable"] == "blow_up"
            pieces = red.details["blow_up_pieces"]["stable"]
            assert d.source == "bounds" and d.stable >= d.n_positive + max(pieces.values(), default=0)
            if d.details["open"] == "zero_reduced":
                assert d.unstable == d.n_negative == 0  # a global minimum
            else:
                assert d.unstable == d.n_negative + red.unstable


# (widths, sigma, S, (u, s, critical, centre)), worked out by hand.
# (2,2,2,2), sigma (2, 1), S = {1}: learnt block = scalar h = 3 at its minimum (one positive
# 3 sigma_1^(4/3), two null); cross B_1, C_3: sigma_1^(1/3) (sigma_1 +- sigma_2) > 0 (two positive);
# C_1, C_2, B_2, B_3: gauge (four null); reduced block = scalar (1,1,1,1), sigma 1, at its origin
# (three null): W^u, W^s of it are balanced half-lines (spec 5.5), its critical set {two of three
# zero} is 1-D. So u = 0 + 1, s = 3 + 1, critical = 2 + 4 + 1 = 7, centre = 3 - 1 = 2 (sum 12).
# S = {2}: the cross pair gives sigma_2^(1/3) (sigma_2 - sigma_1) < 0 (the exchange arc): u = 1 + 1,
# s = 2 + 1, critical 7, centre 2. (2,3,3,2), sigma (2, 1), S = {1}: reduced (1,2,2,1), sigma 1,
# whose origin has u = s = 3 (the (1,2,1)-like rays: 1 radial + 2 gauge angles of the free units).
HAND = [([2, 2, 2, 2], [2.0, 1.0], (1,), (1, 4, 7, 2)), ([2, 2, 2, 2], [2.0, 1.0], (2,), (2, 3, 7, 2)),
        ([2, 3, 3, 2], [2.0, 1.0], (1,), (3, 6, 14, 4))]


@pytest.mark.parametrize("widths, sigma, S, expected", HAND)
def test_non_origin_saddles_worked_by_hand(widths, sigma, S, expected):
    net = ls.LinearNetwork(widths, sigma)
    d = ls.manifold_dimensions(net, ls.representative(net, S), measure=True, max_rays=1)
    assert (d.unstable, d.stable, d.critical, d.centre) == expected
    assert d.source == "blow_up"
    assert (d.measured_unstable, d.measured_stable) == expected[:2]


def test_orthogonal_gauge_keeps_the_dimensions():
    """A rotated copy of A*_S (orthogonal hidden gauges: balanced, not aligned) gets the same
    dimensions; the flow is O-equivariant."""
    net = ls.LinearNetwork([2, 3, 3, 2], [2.0, 1.0])
    W = ls.representative(net, (1,))
    rng = np.random.default_rng(5)
    G = [np.linalg.qr(rng.standard_normal((3, 3)))[0] for _ in range(2)]
    d0 = ls.manifold_dimensions(net, W)
    d1 = ls.manifold_dimensions(net, ls.gauge(net, W, G))
    assert (d1.unstable, d1.stable, d1.critical, d1.centre, d1.source) == (3, 6, 14, 4, "blow_up")
    assert (d0.unstable, d0.stable) == (d1.unstable, d1.stable)


def test_unbalanced_points_stay_bounds():
    """A GL (not orthogonal) gauge of a degenerate saddle: C_i != 0, the flow is not
    equivariant, the reduced decomposition does not apply: lower bounds."""
    net = ls.LinearNetwork([2, 2, 2, 2], [2.0, 1.0])
    W = ls.representative(net, (1,))
    Wg = ls.gauge(net, W, [np.diag([2.0, 1.0]), np.diag([1.0, 0.5])])
    d = ls.manifold_dimensions(net, Wg)
    assert d.source == "bounds" and d.details["open"] == "unbalanced"
    assert d.unstable >= d.n_negative and d.stable >= d.n_positive


def _decided_by_reduced_origin(net, S):
    widths, sigma = ls.stability._dimensions.reduced_network(net, S)
    if min(widths) == 0 or not np.any(sigma > 0):
        return False
    return ls.stability._dimensions.origin_blow_up(ls.LinearNetwork(widths, sigma))["status"] == "decided"


def _degenerate_cases(n_cases, seed=11, max_params=40):
    """(net, S) for h >= 3 saddles other than the origin decided by the reduced blow-up (seeded)."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n_cases:
        net = _random_deep(rng, max_width=3)
        if net.n_params > max_params:
            continue
        ok = [S for S in _subsets(net) if S and _decided_by_reduced_origin(net, S)]
        if ok:
            out.append((net, ok[int(rng.integers(len(ok)))]))
    return out


def test_degenerate_saddle_dimensions_equal_the_measured_ones():
    """h >= 3 degenerate critical points other than the origin, on random small networks
    (seeded): every flow measurement with a clean gap (no stretch between 0.1 and 0.9 of the
    decades; the ray of the largest derived piece) equals the derived dimension, and most of
    them are clean (a measurement in the ambiguous band is reported as -1, not as a number)."""
    measured = 0
    cases = _degenerate_cases(7)
    for net, S in cases:
        d = ls.manifold_dimensions(net, ls.representative(net, S), measure=True, max_rays=1)
        assert d.source == "blow_up"
        for got, want in ((d.measured_unstable, d.unstable), (d.measured_stable, d.stable)):
            assert got in (want, -1), (net.widths, net.sigma, S, got, want)
            measured += got == want
    assert measured >= int(0.75 * 2 * len(cases)), measured


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


# ----------------------------------------------------------------------------- critical set, gauges, dead paths

def _gl(W, net, seed):
    """An invertible (not orthogonal) hidden gauge of W: Q1 diag(0.5..2) Q2 per hidden layer (seeded)."""
    rng = np.random.default_rng(seed)
    G = []
    for d in net.widths[1:-1]:
        Q1 = np.linalg.qr(rng.standard_normal((d, d)))[0]
        Q2 = np.linalg.qr(rng.standard_normal((d, d)))[0]
        G.append(Q1 @ np.diag(rng.uniform(0.5, 2.0, d)) @ Q2)
    return ls.gauge(net, W, G)


@pytest.mark.parametrize("widths, sigma, S, critical", [
    ((3, 3, 3, 3), (3.0, 2.0, 1.0), (1,), 16),
    ((3, 3, 3, 3), (3.0, 2.0, 1.0), (2,), 16),
    ((2, 3, 3, 2), (2.0, 1.0), (1,), 14),
    ((3, 4, 4, 3), (2.2548, 1.8522, 0.0), (1,), 28),
])
def test_critical_dimension_is_the_same_for_every_rng_and_invertible_gauge(widths, sigma, S, critical):
    """The critical set is GL invariant (L(G.W) = L(W) for every W), so its local dimension is
    the same at A*_S and at its invertible-gauge images, whatever the sampling seed. (It used
    to be the largest Hessian nullity among random samples: 16, 18 or 22 by seed.) The
    Hessian counts at the images agree by Sylvester's law; the lower bounds stay at least them."""
    net = ls.LinearNetwork(list(widths), list(sigma))
    W = ls.representative(net, S)
    d0 = ls.manifold_dimensions(net, W)
    assert d0.critical == critical
    for seed in range(3):
        Wg = _gl(W, net, seed)
        for r in range(3):
            d = ls.manifold_dimensions(net, Wg, rng=r)
            assert (d.critical, d.centre) == (d0.critical, d0.centre), (seed, r)
            assert (d.n_negative, d.n_zero, d.n_positive) == (d0.n_negative, d0.n_zero, d0.n_positive)
            assert d.unstable >= d.n_negative and d.stable >= d.n_positive
            assert d.n_negative + d.n_positive + d.critical + d.centre == d.n_params


def _component_dimension(net, point_of, k, seed=0):
    """Rank of the Jacobian of a parametrisation ``point_of: R^k -> params`` at a random point,
    after checking that the points it gives are critical (a lower bound on the critical set's dimension)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(k)
    th = point_of(z)
    g = np.concatenate([x.ravel() for x in net.gradient(net.unflatten(th))])
    assert np.linalg.norm(g) < 1e-12 and np.abs(net.end_to_end(net.unflatten(th))).max() < 1e-12
    J = np.array([(point_of(z + 1e-6 * e) - point_of(z - 1e-6 * e)) / 2e-6 for e in np.eye(k)]).T
    s = np.linalg.svd(J, compute_uv=False)
    return int(np.sum(s > 1e-6 * s[0]))


def test_critical_dimension_at_an_origin_with_a_kernel_pair():
    """(2,3,3,2), Sigma = diag(s, 0), at the origin. Near 0 the critical points have P = 0 and
    grad L = -s (A_i^T e_1)(B_i e_1)^T, so e_1^T W_3 W_2 = 0 (i = 1), W_2 W_1 e_1 = 0 (i = 3), and
    W_3^T e_1 = 0 or W_1 e_1 = 0 (i = 2). The component W_1 e_1 = 0, e_1^T W_3 W_2 = 0 and
    W_3 W_2 W_1 e_2 = 0 has dimension 21 - 3 - 3 - 1 = 14 (by hand; its parametrisation below,
    checked critical). The old measurement (largest Hessian nullity among samples) gave 14,
    15 or 10 by seed: the path reading ker Sigma is a degenerate normal direction."""
    net = ls.LinearNetwork([2, 3, 3, 2], [1.8522, 0.0])

    def point_of(z):  # W_2 invertible (9), W_3 = [0; r^T] (3), W_1 = [0, w] with W_2 w orthogonal to r (y: 3)
        W2 = z[:9].reshape(3, 3)
        r, y = z[9:12], z[12:15]
        W3 = np.vstack([np.zeros(3), r])
        W1 = np.zeros((3, 2))
        W1[:, 1] = np.linalg.solve(W2, y - r * (r @ y) / (r @ r))
        return np.concatenate([W1.ravel(), W2.ravel(), W3.ravel()])

    lower = _component_dimension(net, point_of, 15)
    assert lower == 14
    d = ls.manifold_dimensions(net, [np.zeros(s) for s in net.shapes])
    for r in range(4):
        assert ls.stability._dimensions.critical_dimension_measured(
            net, [np.zeros(s) for s in net.shapes], rng=r)[0] == d.critical
    assert d.critical == lower == 14


@pytest.mark.parametrize("weights", [(0.7, 0.0, 0.0, 0.0), (0.0, 0.7, 0.0, 1.2, 0.0), (0.0, 0.0, -1.3, 0.0)])
def test_scalar_points_with_three_zero_weights_have_one_dimensional_sets(weights):
    """A scalar critical point with >= 3 zero weights (not the origin). Its unstable and stable
    sets lie in the level set of the h - 1 conserved quantities through it, a curve: at most 1.
    And each is 1: the point of that curve at parameter t (zero weights -> +-t, a -> sign(a)
    sqrt(a^2 + t^2)) with the product's sign positive flows backward to W* (DOP853, rtol 1e-12),
    with it negative forward to W*. (They used to be reported as 0 and 0.)"""
    h = len(weights)
    s = 2.0
    net = ls.LinearNetwork([1] * (h + 1), s)
    W = [np.array([[w]]) for w in weights]
    d = ls.manifold_dimensions(net, W)
    assert (d.unstable, d.stable) == (1, 1) and d.source == "blow_up"
    xs = np.array(weights)
    zero = np.flatnonzero(xs == 0.0)
    for direction, want in ((1.0, "unstable"), (-1.0, "stable")):
        # unstable: the backward flow dW/dt = +grad L tends to W*; stable: the forward flow
        t0 = 0.05
        x0 = np.array([np.sign(a) * np.hypot(a, t0) if a else t0 for a in xs])
        if (np.prod(x0) > 0) != (want == "unstable"):
            x0[zero[0]] *= -1.0
        C0 = conserved_quantities([np.array([[v]]) for v in x0])
        Cs = conserved_quantities(W)
        assert max(abs(float(np.ravel(a - b)[0])) for a, b in zip(C0, Cs)) < 1e-14
        assert (net.loss([np.array([[v]]) for v in x0]) < net.loss(W)) == (want == "unstable")

        def field(_, y):
            return direction * np.concatenate([g.ravel() for g in net.gradient([np.array([[v]]) for v in y])])

        sol = solve_ivp(field, (0.0, 1e6), x0, method="DOP853", rtol=1e-12, atol=1e-15)
        assert np.linalg.norm(sol.y[:, -1] - xs) < 2e-2, (want, sol.y[:, -1])


@pytest.mark.parametrize("widths, sigma, critical", [
    ([1, 1, 1, 1, 1], [2.0], 2),          # two of four weights zero
    ([2, 2, 2, 2, 2], [2.0, 1.0], 10),    # by hand, below
    ([3, 4, 2, 4, 2], [2.5, 2.0], None),
    ([3, 4, 2, 4, 2], [2.5, 2.5], None),
    ([2, 3, 3, 3, 2], [2.0, 1.0], None),
])
def test_depth4_origins_have_a_measured_critical_dimension(widths, sigma, critical):
    """At depth 4 a sample of the critical set near the origin has layers with singular values
    of 1e-3; a root-finding step of that size found roots off the local piece and every sample
    was rejected: critical = centre = -1 and the sum identity broken (found by an independent
    check). The value 10 of (2,2,2,2,2) is derived in the next test."""
    net = ls.LinearNetwork(widths, sigma)
    W = [np.zeros(s) for s in net.shapes]
    d = ls.manifold_dimensions(net, W)
    assert d.sources["critical"] == "measured" and d.critical >= 0
    assert d.n_negative + d.n_positive + d.critical + d.centre == net.n_params
    for r in range(1, 3):
        assert ls.manifold_dimensions(net, W, rng=r).critical == d.critical
    if critical is not None:
        assert d.critical == critical


def test_depth4_origin_component_worked_by_hand():
    """(2,2,2,2,2), sigma (2, 1): the component W_1 = c d^T, W_2 = a b^T, W_4 = e f^T (rank one,
    3 each), W_3 invertible (4), with f^T W_3 a = 0, b^T c = 0 (so W_4 W_3 W_2 = W_3 W_2 W_1 = 0)
    and e^T Sigma d = 0 (so (W_4 W_3)^T Sigma W_1^T = 0) is critical with P = 0: 13 - 3 = 10,
    the measured dimension at the origin."""
    net = ls.LinearNetwork([2, 2, 2, 2, 2], [2.0, 1.0])

    def point_of(z):
        a, b, c, dd, e, f = (z[2 * i:2 * i + 2] for i in range(6))
        W3 = z[12:16].reshape(2, 2)
        b = b - c * (b @ c) / (c @ c)  # impose the three constraints by projecting b, f, e
        f = f - (W3 @ a) * (f @ (W3 @ a)) / ((W3 @ a) @ (W3 @ a))
        Sd = net.sigma * dd
        e = e - Sd * (e @ Sd) / (Sd @ Sd)
        return np.concatenate([np.outer(c, dd).ravel(), np.outer(a, b).ravel(), W3.ravel(), np.outer(e, f).ravel()])

    assert _component_dimension(net, point_of, 16) == 10
    assert ls.manifold_dimensions(net, [np.zeros(s) for s in net.shapes]).critical == 10
