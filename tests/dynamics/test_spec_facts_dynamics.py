"""Spec section 10, facts 2, 5, 6, 9, 17-22, and the sequential-learning runs of G3."""

import numpy as np
import pytest

import landscape as ls
from landscape.dynamics import closed_forms as cf


def scalar(*w):
    return [np.array([[float(x)]]) for x in w]


def relative_drift(ds):
    """max_t ||C_i(t) - C_i(0)||_F relative to max_i ||W_i||_F^2 along the run."""
    return float(np.nanmax(ds.conserved_drift.values, initial=0.0) / ds.conserved_scale)


@pytest.fixture(scope="module")
def fact2():
    net = ls.LinearNetwork([3, 3, 3, 3], [3.0, 2.0, 1.0])
    W0 = ls.init.gaussian(net, 0.5, rng=2)
    return net, W0, ls.gradient_flow(net, W0, 20.0, method="gauss", n_points=401, rtol=1e-10, atol=1e-12)


def test_fact2_conservation_lyapunov_and_convergence(fact2):
    net, W0, ds = fact2
    assert str(ds.status.values) == "success"
    assert relative_drift(ds) <= 1e-12  # J Q J constant (gauss: to round-off)
    W20 = ls.weights_at(ds, -1)
    # the input block W_1^T W_1 of Q is not conserved: it drifts by O(1)
    assert np.linalg.norm(W20[0].T @ W20[0] - W0[0].T @ W0[0]) > 0.5
    loss = ds.loss.values
    assert np.all(np.diff(loss) <= 1e-12 * loss[:-1] + 1e-15)
    # dL/dt = -||Adot||_F^2: centred differences of a densely stored loss against -|grad|^2
    dense = ls.gradient_flow(net, W0, 2.0, n_points=4001, rtol=1e-11, atol=1e-13)
    t, Ld = dense.time.values, dense.loss.values
    dLdt = (Ld[2:] - Ld[:-2]) / (t[2:] - t[:-2])
    np.testing.assert_allclose(dLdt, -dense.gradient_norm.values[1:-1] ** 2, rtol=1e-4, atol=1e-9)
    assert loss[-1] < 1e-15
    np.testing.assert_allclose(ds.singular_values.values[-1], [3.0, 2.0, 1.0], atol=1e-8)


def test_fact5_balanced_logistic_depth2():
    net = ls.LinearNetwork([1, 1, 1], 3.0)
    p0 = 0.04
    ds = ls.gradient_flow(net, scalar(0.2, 0.2), 2.0, n_points=41, rtol=1e-11, atol=1e-13)
    theta = ds.theta.values
    np.testing.assert_allclose(theta[:, 0] * theta[:, 1], cf.logistic(ds.time.values, p0, 3.0), rtol=1e-8)


def test_fact6_unbalanced_depth2_crosses_zero_and_converges():
    net = ls.LinearNetwork([1, 1, 1], 3.0)
    w0 = (2.0, -0.5)
    ds = ls.gradient_flow(net, scalar(*w0), 3.0, method="gauss", n_points=3001, rtol=1e-11, atol=1e-13)
    w = ds.theta.values
    c = w[:, 1] ** 2 - w[:, 0] ** 2
    np.testing.assert_allclose(c, -3.75, rtol=1e-12)
    p = w[:, 0] * w[:, 1]
    i = np.flatnonzero(p >= 0)[0]
    t = ds.time.values
    t_star = t[i - 1] - p[i - 1] * (t[i] - t[i - 1]) / (p[i] - p[i - 1])
    assert t_star == pytest.approx(0.073698, abs=2e-6)
    # rank of A^2 drops to 0 at t*: p crosses zero (G8, no Lax-type isospectrality)
    assert p[i - 1] < 0 < p[i]
    np.testing.assert_allclose(w[-1], [2.326530, 1.289474], atol=1e-6)
    # against the closed form through the conserved c
    ref = cf.unbalanced_depth2(t[::300], w0, 3.0)
    np.testing.assert_allclose(w[::300], ref, atol=1e-8)
    # local rate at the limit: the nonzero Hessian eigenvalue there, sqrt(36 + 3.75^2) = w_1^2 + w_2^2
    ev = np.linalg.eigvalsh(net.hessian(scalar(*w[-1])))
    assert ev[0] == pytest.approx(0.0, abs=1e-5)
    assert ev[-1] == pytest.approx(7.075486, abs=1e-5)  # the spec's number
    assert np.sum(w[-1] ** 2) == pytest.approx(7.075486, abs=1e-5)
    L = ds.loss.values
    late = (t > 1.0) & (L > 1e-24)
    slope = np.polyfit(t[late], np.log(L[late]), 1)[0]
    assert slope == pytest.approx(-2 * 7.075486, rel=1e-3)  # L ~ exp(-2 lambda t)


@pytest.mark.parametrize("h, t_half", [(2, 0.950074), (3, 3.136267), (4, 16.614839)])
def test_fact9_balanced_half_learning_time(h, t_half):
    exact = cf.half_learning_time(0.1**h, 3.0, h)
    assert exact == pytest.approx(t_half, abs=1e-6)
    net = ls.LinearNetwork([1] * (h + 1), 3.0)
    ds = ls.gradient_flow(net, scalar(*[0.1] * h), exact, n_points=2, rtol=1e-11, atol=1e-13)
    assert np.prod(ds.theta.values[-1]) == pytest.approx(1.5, abs=1e-8)


@pytest.mark.parametrize("h", [2, 3, 4])
def test_balanced_mode_closed_form_matches_flow(h):
    net = ls.LinearNetwork([1] * (h + 1), 2.0)
    ds = ls.gradient_flow(net, scalar(*[0.5] * h), 3.0, n_points=7, rtol=1e-11, atol=1e-13)
    p = np.prod(ds.theta.values, axis=1)
    np.testing.assert_allclose(p, cf.balanced_mode(ds.time.values, 0.5**h, 2.0, h), rtol=1e-8)


def test_fact17_decoupled_init_stays_decoupled():
    net = ls.LinearNetwork([3, 4, 5, 3], [3.0, 2.0, 1.0])
    D0 = np.array([[0.3, 0.2, 0.5], [0.4, -0.1, 0.2], [0.6, 0.3, 0.1]])
    rng = np.random.default_rng(17)
    W0 = ls.init.aligned(net, D0, rng=rng)
    ds = ls.gradient_flow(net, W0, 4.0, n_points=9, rtol=1e-11, atol=1e-13)
    ref = cf.decoupled_modes(ds.time.values, D0, net.sigma)
    # recover the rotations from W0: R_i = W_i-block structure; compare end-to-end and per-layer norms
    for k, t in enumerate(ds.time.values):
        W = ls.weights_at(ds, k)
        P = net.end_to_end(W)
        np.testing.assert_allclose(np.diag(P), np.prod(ref[k], axis=0), atol=1e-8)
        assert np.abs(P - np.diag(np.diag(P))).max() < 1e-9
        for i in range(3):  # singular values of each layer are |d_{i,k}|
            np.testing.assert_allclose(np.sort(np.linalg.svd(W[i], compute_uv=False))[::-1][:3],
                                       np.sort(np.abs(ref[k, i]))[::-1], atol=1e-8)


def test_fact18_zero_balanced_follows_arora_cohen_hazan():
    net = ls.LinearNetwork([3, 3, 3, 3], [3.0, 2.0, 1.0])
    W0 = ls.init.balanced(net, rng=18, singular_values=[0.9, 0.6, 0.4])
    assert ls.is_balanced(W0)
    ds = ls.gradient_flow(net, W0, 1.0, method="gauss", n_points=11, rtol=1e-11, atol=1e-13)
    ref = cf.zero_balanced_end_to_end(net, net.end_to_end(W0), ds.time.values)
    for k in range(11):
        W = ls.weights_at(ds, k)
        np.testing.assert_allclose(net.end_to_end(W), ref[k], atol=1e-6)
        assert ls.is_balanced(W, rtol=1e-10)


def test_fact19_sequential_learning_depth2():
    net = ls.LinearNetwork([3, 3, 3], [3.0, 2.0, 1.0])
    ds = ls.gradient_flow(net, ls.init.identity(net, 1e-3), 12.0, n_points=1201)
    it = ls.itinerary(ds)
    assert list(it.subset.values) == ["{}", "{1}", "{1,2}", "{1,2,3}"]
    np.testing.assert_allclose(it.t_half.values, [2.4857, 3.6272, 6.9078], atol=1e-3)
    np.testing.assert_allclose(it.plateau_loss.values, [7.0, 2.5, 0.5, 0.0])
    np.testing.assert_allclose(ds.loss.sel(time=[1.0, 3.0, 5.0, 10.0]).values, [6.9987, 2.2185, 0.4787, 0.0], atol=1e-4)
    # closed form: each mode is a balanced logistic from p0 = 1e-6
    np.testing.assert_allclose(it.t_half.values, [cf.half_learning_time(1e-6, s, 2) for s in (3, 2, 1)], atol=1e-4)


def test_fact20_sequential_learning_depth3():
    net = ls.LinearNetwork([3, 3, 3, 3], [3.0, 2.0, 1.0])
    ds = ls.gradient_flow(net, ls.init.identity(net, 1e-2), 150.0, n_points=3001)
    it = ls.itinerary(ds)
    assert list(it.subset.values) == ["{}", "{1}", "{1,2}", "{1,2,3}"]
    np.testing.assert_allclose(it.t_half.values, [33.1368, 49.6626, 99.1497], atol=1e-3)
    np.testing.assert_allclose(it.t_half.values, [cf.half_learning_time(1e-6, s, 3) for s in (3, 2, 1)], atol=1e-3)


@pytest.mark.parametrize("h", [2, 3])
def test_gauss_keeps_conserved_quantities_on_G3_runs(h):
    """The structure-preserving method on the G3 runs (random small init, so C_i != 0)."""
    net = ls.LinearNetwork([3] * (h + 1), [3.0, 2.0, 1.0])
    W0 = ls.init.gaussian(net, 1e-2, rng=3)
    ds = ls.gradient_flow(net, W0, 12.0 if h == 2 else 400.0, method="gauss", times="log", n_points=200)
    assert str(ds.status.values) == "success"
    assert relative_drift(ds) <= 1e-12
    assert float(ds.loss_final) < 1e-8


def test_fact21_gd_step_changes_C_at_second_order(rng):
    net = ls.LinearNetwork([3, 4, 2, 3], [3.0, 2.0, 1.0])
    W = ls.init.gaussian(net, 0.7, rng=rng)
    eta = 0.01
    ds = ls.gradient_descent(net, W, eta, 1)
    W1 = ls.weights_at(ds, 1)
    G = net.gradient(W)
    for i, (C0, C1) in enumerate(zip(ls.conserved_quantities(W), ls.conserved_quantities(W1))):
        np.testing.assert_allclose(C1 - C0, eta**2 * (G[i + 1].T @ G[i + 1] - G[i] @ G[i].T), atol=1e-14)


@pytest.mark.parametrize("eta, converges", [(0.30, True), (0.36, False)])
def test_fact22_gd_step_size_threshold(eta, converges):
    net = ls.LinearNetwork([1, 1, 1], 3.0)
    w = np.sqrt(3.0) + 0.01
    ds = ls.gradient_descent(net, scalar(w, w - 0.02), eta, 2000)
    assert (float(ds.loss_final) < 1e-20) == converges
    # the threshold 2 / lambda_max at the balanced minimum (sqrt 3, sqrt 3) is the spec's 1/3
    threshold = 2 / float(ls.hessian_inertia(net, scalar(np.sqrt(3.0), np.sqrt(3.0))).lambda_max)
    assert threshold == pytest.approx(1 / 3, rel=1e-12)
    assert (eta < threshold) == converges


def test_gd_divergence_keeps_last_finite_state():
    net = ls.LinearNetwork([1, 1, 1], 3.0)
    ds = ls.gradient_descent(net, scalar(3.0, 3.0), 1.0, 100)
    assert str(ds.status.values) == "diverged"
    assert np.all(np.isfinite(ds.theta_final.values))
    assert int(ds.n_steps) < 100
