"""Stability: inertia, classification, arcs, submanifolds (spec 3.3-3.5, 5; facts 7, 8, 10, 13-16, 23)."""

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import landscape as ls
from landscape.stability import (
    NotCriticalError,
    arc_polynomial,
    classify_direction,
    exchange_arc,
    gauge_arc,
    insertion_arc,
    rank_criterion,
    removal_arc,
    structured_spectrum,
)
from tests.helpers import closed_form_spectrum, diagonal_critical_point

SIGMA = [3.0, 2.0, 1.0]


def scalar(*w):
    return [np.array([[float(x)]]) for x in w]


def kind(net, W):
    return str(ls.classify(net, W).kind.values)


def test_fact7_scalar_depth3():
    net = ls.LinearNetwork([1, 1, 1, 1], 3.0)
    inertia = ls.hessian_inertia(net, scalar(0, 0, 0))
    assert (int(inertia.n_negative), int(inertia.n_zero), int(inertia.n_positive)) == (0, 3, 0)
    assert kind(net, scalar(0, 0, 0)) == "non_strict_saddle"
    c = ls.classify(net, scalar(0, 0, 0))
    assert str(c.certificate.values) == "insertion_arc" and int(c.order) == 3 and float(c.coefficient) < 0
    assert kind(net, scalar(2, 0, 0)) == "strict_saddle"
    np.testing.assert_allclose(ls.hessian_inertia(net, scalar(2, 0, 0)).eigenvalues.values, [-6, 0, 6], atol=1e-12)
    b = 3 ** (1 / 3)
    assert kind(net, scalar(b, b, b)) == "global_minimum"
    assert float(ls.hessian_inertia(net, scalar(b, b, b)).lambda_max) == pytest.approx(12.980246, abs=1e-6)


def test_fact8_scalar_depth4():
    net = ls.LinearNetwork([1] * 5, 3.0)
    assert kind(net, scalar(2, 0, 0, 0)) == "non_strict_saddle"
    c = ls.classify(net, scalar(2, 0, 0, 0))
    assert str(c.certificate.values) == "insertion_arc" and int(c.order) == 3 and float(c.coefficient) < 0  # arc on layers 2..4
    assert kind(net, scalar(2, 1, 0, 0)) == "strict_saddle"
    np.testing.assert_allclose(ls.hessian_inertia(net, scalar(2, 1, 0, 0)).eigenvalues.values, [-6, 0, 0, 6], atol=1e-12)


@pytest.mark.parametrize("h", [2, 3, 4])
@pytest.mark.parametrize("S", [(), (1,), (2,), (3,), (1, 2), (1, 3), (2, 3), (1, 2, 3)])
def test_fact10_inertia_and_kind_at_canonical_points(h, S):
    net = ls.LinearNetwork([3] * (h + 1), SIGMA)
    W = diagonal_critical_point(SIGMA, {s - 1 for s in S}, h)
    expected = closed_form_spectrum(SIGMA, {s - 1 for s in S}, h)
    for method in ("dense", "structured"):
        inertia = ls.hessian_inertia(net, W, method=method)
        np.testing.assert_allclose(inertia.eigenvalues.values, expected, atol=1e-10)
    top = S == tuple(range(1, len(S) + 1))
    want = "global_minimum" if len(S) == 3 else ("strict_saddle" if h == 2 or not top else "non_strict_saddle")
    assert kind(net, W) == want
    assert rank_criterion(net, W) == want


def test_fact13_origin_depth2_rectangular():
    net = ls.LinearNetwork([3, 2, 4], SIGMA)
    W = [np.zeros((2, 3)), np.zeros((4, 2))]
    inertia = ls.hessian_inertia(net, W)
    assert (int(inertia.n_negative), int(inertia.n_zero), int(inertia.n_positive)) == (6, 2, 6)
    assert kind(net, W) == "strict_saddle"


def _random_critical_points(n, seed=14):
    """Gauge-transformed representatives and dead-path strata, depths 2-4, hidden widths 3-5."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        h = int(rng.integers(2, 5))
        widths = [3] + [int(rng.integers(3, 6)) for _ in range(h - 1)] + [3]
        net = ls.LinearNetwork(widths, SIGMA)
        cp = ls.critical_points(net)
        i = int(rng.integers(cp.sizes["point"]))
        S = tuple(np.flatnonzero(cp.learnt.values[i]) + 1)
        f = ls.fiber(net, S, n_samples=2, rng=rng)
        out += [(net, ls.weights_at(f, k)) for k in range(2)]
    return out[:n]


def test_fact14_rank_criterion_agrees_with_hessian_on_208_points():
    for net, W in _random_critical_points(208):
        lam_min = float(np.linalg.eigvalsh(net.hessian(W))[0])
        crit = rank_criterion(net, W)
        assert (lam_min < -1e-8) == (crit == "strict_saddle"), (net, crit, lam_min)


def test_classify_agrees_with_dense_eigenvalue_and_rank_criterion_on_240_points():
    """Acceptance: at least 200 random critical points (orbit and dead-path strata, depths 2-4)."""
    non_strict = certified = 0
    for net, W in _random_critical_points(240, seed=99):
        c = ls.classify(net, W)
        lam_min = float(np.linalg.eigvalsh(net.hessian(W))[0])
        k = str(c.kind.values)
        assert (k == "strict_saddle") == (lam_min < -1e-8 * max(1.0, float(c.lambda_max)))
        assert k == str(c.rank_criterion.values)
        assert bool(c.criteria_agree)
        if k == "non_strict_saddle":
            non_strict += 1
            if str(c.certificate.values) == "none":
                continue
            certified += 1
            # the certificate is checked independently: the loss really drops along it
            V = net.unflatten(c.direction.values)
            order = int(c.order)
            assert order >= 3
            for a in (1e-2, -1e-2):
                if (float(c.coefficient) * a**order) < 0:
                    assert net.loss([w + a * v for w, v in zip(W, V)]) < net.loss(W)
    assert non_strict >= 30
    assert certified >= 0.95 * non_strict  # an escape arc is found for (almost) every one


@settings(max_examples=60)
@given(st.integers(0, 2**32 - 1))
def test_lanczos_inertia_equals_dense(seed):
    pts = _random_critical_points(1, seed=seed)
    net, W = pts[0]
    d = ls.hessian_inertia(net, W, method="dense")
    z = ls.hessian_inertia(net, W, method="lanczos")
    for name in ("n_negative", "n_zero", "n_positive"):
        assert int(d[name]) == int(z[name]), name
    assert float(z.lambda_min) == pytest.approx(float(d.lambda_min), abs=1e-8 * max(1, abs(float(d.lambda_max))))
    assert float(z.lambda_max) == pytest.approx(float(d.lambda_max), rel=1e-8)


def test_lanczos_inertia_on_a_larger_case():
    net = ls.LinearNetwork([20, 20, 20, 20, 20], np.linspace(3, 0.5, 20))  # 1,600 parameters
    W = ls.gauge(net, ls.representative(net, (1, 2, 4)), [np.linalg.qr(np.random.default_rng(i).standard_normal((20, 20)))[0] for i in range(3)])
    d = ls.hessian_inertia(net, W, method="dense")
    z = ls.hessian_inertia(net, W, method="lanczos")
    assert [int(d[n]) for n in ("n_negative", "n_zero", "n_positive")] == [int(z[n]) for n in ("n_negative", "n_zero", "n_positive")]
    np.testing.assert_allclose(z.lowest.values, d.lowest.values, atol=1e-8)


def test_fact15_insertion_arc_depth3():
    net = ls.LinearNetwork([3, 3, 3, 3], SIGMA)
    alphas = np.array([[0.1, 0.1, 0.1], [-0.1, -0.1, -0.1], [0.1, -0.1, -0.1], [0.1, 0.1, 0.0]])
    pa = np.prod(alphas, axis=1)
    np.testing.assert_allclose(insertion_arc(net, (1,), 2, alphas), -2 * pa + 0.5 * pa**2, atol=1e-14)


def test_fact16_exchange_arc_depth3():
    net = ls.LinearNetwork([3, 3, 3, 3], SIGMA)
    th = np.array([0.05, 0.2])
    np.testing.assert_allclose(exchange_arc(net, (2,), 2, 1, th), -2 * np.sin(th) ** 2, atol=1e-13)


@pytest.mark.parametrize("h, lam_max", [(2, 6.0), (3, 12.980246), (4, 20.784610)])
def test_fact23_sharpness_via_inertia(h, lam_max):
    net = ls.LinearNetwork([3] * (h + 1), SIGMA)
    W = ls.representative(net, (1, 2, 3))
    assert float(ls.hessian_inertia(net, W).lambda_max) == pytest.approx(lam_max, abs=1e-6)


@given(st.integers(2, 5), st.floats(0.5, 4.0), st.lists(st.floats(-1, 1), min_size=5, max_size=5))
def test_arc_polynomial_is_exact(h, sigma, alpha):
    """Balanced insertion arc at the scalar origin: -sigma alpha^h + alpha^(2h)/2, and the
    polynomial evaluates to the loss along any line."""
    net = ls.LinearNetwork([1] * (h + 1), sigma)
    c = arc_polynomial(net, scalar(*[0] * h), scalar(*[1] * h))
    expected = np.zeros(2 * h + 1)
    expected[h], expected[2 * h] = -sigma, 0.5
    np.testing.assert_allclose(c, expected, atol=1e-12)
    rng = np.random.default_rng(int(1e6 * abs(alpha[0])))
    W = ls.init.gaussian(net, 1.0, rng=rng)
    V = ls.init.gaussian(net, 1.0, rng=rng)
    c = arc_polynomial(net, W, V)
    for a in alpha:
        direct = net.loss([w + a * v for w, v in zip(W, V)]) - net.loss(W)
        assert np.polyval(c[::-1], a) == pytest.approx(direct, abs=1e-9 * (1 + abs(direct)))


def test_arc_kinds_at_the_depth3_origin():
    net = ls.LinearNetwork([1, 1, 1, 1], 3.0)
    res = classify_direction(net, scalar(0, 0, 0), scalar(1, 1, 1))
    assert (res["order"], res["positive"], res["negative"]) == (3, "unstable", "stable")
    res = classify_direction(net, scalar(0, 0, 0), scalar(1, 0, 0))
    assert res["positive"] == res["negative"] == "neutral"


def test_removal_and_gauge_arcs():
    net = ls.LinearNetwork([3, 3, 3, 3], SIGMA)
    betas = np.array([[0.1, 0.0, 0.0], [0.05, -0.02, 0.03]])
    a = 3 ** (1 / 3)
    expected = 0.5 * (3 - np.prod(a + betas, axis=1)) ** 2
    np.testing.assert_allclose(removal_arc(net, (1, 2), 1, betas), expected, atol=1e-13)
    X = [np.random.default_rng(0).standard_normal((3, 3)) for _ in range(2)]
    np.testing.assert_allclose(gauge_arc(net, ls.representative(net, (1,)), X, [0.1, 0.5, 1.0]), 0.0, atol=1e-12)


def test_structured_spectrum_of_the_benchmark_family_small():
    sigma = np.linspace(3, 0.5, 12)
    net = ls.LinearNetwork([12] * 6, sigma)
    W = ls.representative(net, tuple(range(2, 13)))
    np.testing.assert_allclose(structured_spectrum(net, W), np.linalg.eigvalsh(net.hessian(W)), atol=1e-10)
    neg = np.sort(sigma[1:] ** (1 - 2 / 5) * (sigma[1:] - 3.0))
    np.testing.assert_allclose(structured_spectrum(net, W)[:11], neg, atol=1e-12)


# ------------------------------------------------------------ stable and unstable sets
@pytest.mark.parametrize("h", [2, 3, 4])
def test_scalar_submanifolds_match_exact_invariant_sets(h):
    """Spec 5.5: W^u(0) = {|w_i| equal, prod >= 0}, W^s(0) = {|w_i| equal, prod <= 0}."""
    net = ls.LinearNetwork([1] * (h + 1), 3.0)
    sm = ls.submanifolds(net, scalar(*[0] * h))
    kinds = set(sm.branch_kind.values.tolist())
    assert kinds == {"stable", "unstable"}
    assert sm.sizes["branch"] == (4 if h == 2 else 2**h)
    for b in range(sm.sizes["branch"]):
        w = sm.theta.values[b]
        w = w[~np.isnan(w[:, 0])]
        assert w.shape[0] >= 10
        a = np.abs(w)
        assert np.all(a.max(axis=1) - a.min(axis=1) <= 1e-6 * a.max(axis=1))
        p = np.prod(w, axis=1)
        if sm.branch_kind.values[b] == "unstable":
            assert np.all(p >= 0)
            assert float(sm.loss.values[b][~np.isnan(sm.loss.values[b])][-1]) < 4.5  # escaped downhill
        else:
            assert np.all(p <= 0)
            assert np.linalg.norm(w[-1]) >= 1.0  # grown backward away from the saddle
    if h == 2:  # the Hessian decides: eigenvectors (1, 1) unstable, (1, -1) stable
        assert set(sm.source.values.tolist()) == {"hessian"}


def test_submanifolds_of_a_matrix_saddle_store_and_reload(tmp_path):
    net = ls.LinearNetwork([2, 2, 2, 2], [2.0, 1.0])
    sm = ls.submanifolds(net, ls.representative(net, (1,)), n_points=12, max_stable=2)
    assert {"unstable", "stable"} <= set(sm.branch_kind.values.tolist())
    assert int(sm.unstable_dimension) >= 1
    ls.save(sm, tmp_path / "sm.nc")
    xr.testing.assert_identical(sm, ls.load(tmp_path / "sm.nc"))
    c = ls.classify(net, ls.representative(net, (1,)))
    ls.save(c, tmp_path / "c.nc")
    xr.testing.assert_identical(c, ls.load(tmp_path / "c.nc"))


# ------------------------------------------------------------ bad input
def test_not_critical_is_refused_with_the_gradient_norm():
    net = ls.LinearNetwork([1, 1, 1], 3.0)
    with pytest.raises(NotCriticalError, match=r"W_star is not a critical point: \|\|grad L\|\|_F = 2.83"):
        ls.submanifolds(net, scalar(1, 1))
    assert kind(net, scalar(1, 1)) == "not_critical"


def test_direction_not_block_shift_or_wrong_shape():
    net = ls.LinearNetwork([1, 1, 1], 3.0)
    V = ls.adjacency(scalar(1, 1))
    V[2, 0] = 1.0
    with pytest.raises(ValueError, match=r"block \(row layer 2, column layer 0\)"):
        arc_polynomial(net, scalar(0, 0), V)
    with pytest.raises(ValueError, match=r"V\[0\] \(W_1\) must have shape \(1, 1\); got shape \(2, 1\)"):
        arc_polynomial(net, scalar(0, 0), [np.ones((2, 1)), np.ones((1, 1))])


@pytest.mark.parametrize("tol", [0.0, 1.0, -1e-3, 2.0])
def test_tolerance_outside_unit_interval(tol):
    net = ls.LinearNetwork([1, 1, 1], 3.0)
    with pytest.raises(ValueError, match=r"tol must be a finite number > 0 and < 1.0"):
        ls.hessian_inertia(net, scalar(0, 0), tol=tol)
    with pytest.raises(ValueError, match=r"tol must be"):
        ls.classify(net, scalar(0, 0), tol=tol)
