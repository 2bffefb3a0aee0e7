"""Every integrator, gradient descent, the conservation laws and the tools that need only l,
under every loss (issue 14, item 2); refusals of the quadratic-only functions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

import landscape as ls
from landscape.core import kernels, literal
from landscape.dynamics import singular_value_times, solvers
from landscape.errors import LossError
from landscape.losses import CrossEntropyLoss, LogisticLoss, RawSquaredLoss

ALL_METHODS = list(solvers.SOLVERS)
KINDS = ("raw_squared", "logistic", "cross_entropy")


def make_net(kind, widths, seed, m=12):
    rng = np.random.default_rng(seed)
    w = list(widths)
    if kind == "logistic":
        w[-1] = 1
    elif kind == "cross_entropy":
        w[-1] = max(2, w[-1])
    X = rng.normal(size=(w[0], m))
    if kind == "raw_squared":
        loss = RawSquaredLoss(X, rng.normal(size=(w[-1], m)))
    elif kind == "logistic":
        loss = LogisticLoss(X, rng.choice([-1.0, 1.0], size=m))
    else:
        loss = CrossEntropyLoss(X, rng.integers(0, w[-1], size=m), n_classes=w[-1])
    return ls.LinearNetwork(w, loss=loss)


@st.composite
def loss_problems(draw, max_depth=4, max_width=6):
    kind = draw(st.sampled_from(KINDS))
    h = draw(st.integers(1, max_depth))
    d0 = draw(st.integers(1, max_width - 1))
    dh = draw(st.integers(1, max_width - 1))
    hidden = draw(st.lists(st.integers(1, max_width), min_size=h - 1, max_size=h - 1))
    if h >= 2 and draw(st.booleans()):  # a hidden layer wider than both ends
        hidden[draw(st.integers(0, h - 2))] = max_width
    seed = draw(st.integers(0, 2**31))
    net = make_net(kind, [d0, *hidden, dh], seed)
    theta = np.random.default_rng(seed + 1).normal(size=net.n_params) * 0.7
    return net, theta


def literal_field(net, theta):
    """``-sum_j (A^{h-j})^T blk_h(grad l(P)) (A^{j-1})^T`` on the flat parameters (dense, spec 8.2)."""
    A = ls.adjacency(net.unflatten(theta))
    G = literal.literal_loss_gradient(A, net.objective, net.widths)
    return -net.flatten(ls.weights_from_adjacency(G, net.widths))


def assert_rel(a, b, tol):
    assert np.max(np.abs(a - b)) <= tol * (1.0 + np.max(np.abs(b))), np.max(np.abs(a - b))


@settings(max_examples=8, deadline=None)
@given(loss_problems())
def test_every_method_integrates_the_loss_field_and_conserves_C(case):
    """Each registered method agrees with DOP853 (rtol 1e-12) on the literal field of the loss;
    C_i drift within the method's documented bound; dopri5-jit runs the numpy dopri5 (reported)."""
    net, theta = case
    T = 1.0
    thetas = np.stack([theta, 0.5 * theta])
    ref = np.stack([solve_ivp(lambda t, y: literal_field(net, y), (0.0, T), t0, method="DOP853", rtol=1e-12,
                              atol=1e-14).y[:, -1] for t0 in thetas])
    W = [np.stack(layer) for layer in zip(*[net.unflatten(t) for t in thetas])]
    for method in ALL_METHODS:
        ds = ls.gradient_flow(net, W, T, method=method, rtol=1e-10, atol=1e-12, n_points=3, progress=False)
        assert list(ds.status.values) == ["success", "success"], (method, net.widths, ds.attrs.get("message"))
        assert ds.attrs["loss"] == net.loss_name
        assert ds.attrs["method"] == ("dopri5" if method == "dopri5-jit" else method)
        for b in range(2):
            assert_rel(ds.theta_final.values[b], ref[b], 1e-6)
        if net.depth > 1:
            solver = solvers.get(method)
            bound = np.array([solver.drift_bound(1e-10, float(s), T) for s in ds.conserved_scale.values])
            assert np.all(np.nanmax(ds.conserved_drift.values, axis=(1, 2)) <= bound), (method, net.widths)
        # the loss recorded is the loss of the weights recorded
        L = [net.loss(net.unflatten(ds.theta.values[0, i])) for i in range(3)]
        np.testing.assert_allclose(ds.loss.values[0], L, rtol=1e-12, atol=1e-14)
    assert solvers.get("auto", net).name == "dopri5"


def test_auto_keeps_the_compiled_method_for_the_quadratic_loss():
    net = ls.LinearNetwork([2, 3, 2], [2.0, 1.0])
    expected = "dopri5-jit" if solvers.SOLVERS["dopri5-jit"].available() else "dopri5"
    assert solvers.get("auto", net).name == expected


@pytest.mark.parametrize("kind", KINDS)
def test_compiled_kernel_refuses_a_non_quadratic_problem(kind):
    from landscape.dynamics import FlowProblem

    from landscape.dynamics._jit import integrate_jit  # numba is a declared dependency: never skipped

    net = make_net(kind, [3, 4, 2], 0)
    theta = np.zeros((1, net.n_params))
    with pytest.raises(ValueError, match="quadratic loss"):
        integrate_jit(FlowProblem(net), "dopri5-jit", theta, np.array([0.0, 1.0]), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("widths", [[3, 5, 2], [4, 2, 6, 3], [2, 1, 3, 4, 2]])
def test_gradient_descent_conservation_law_is_broken_at_second_order_exactly(kind, widths):
    """C_i(W+) - C_i(W) = eta^2 (G_{i+1}^T G_{i+1} - G_i G_i^T) for any loss of P (spec 8.1, 8.2)."""
    net = make_net(kind, widths, 3)
    W = ls.init.gaussian(net, 0.6, rng=4)
    eta = 0.05
    ds = ls.gradient_descent(net, W, step=eta, n_steps=1, record_every=1, progress=False)
    W1 = ls.weights_at(ds, 1)
    G = net.gradient(W)
    C0, C1 = ls.conserved_quantities(W), ls.conserved_quantities(W1)
    for i in range(net.depth - 1):
        expected = eta**2 * (G[i + 1].T @ G[i + 1] - G[i] @ G[i].T)
        np.testing.assert_allclose(C1[i] - C0[i], expected, atol=1e-13 * (1 + np.abs(C0[i]).max()))
    # and one step is W - eta grad L
    for a, b, g in zip(W1, W, G):
        np.testing.assert_allclose(a, b - eta * g, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("kind", KINDS)
def test_balanced_initialisations_stay_balanced_under_every_loss(kind):
    net = make_net(kind, [3, 4, 4, 2], 5)
    W0 = ls.init.balanced(net, 0.5, rng=1)
    assert ls.is_balanced(W0, rtol=1e-12)
    ds = ls.gradient_flow(net, W0, 3.0, method="gauss", rtol=1e-10, atol=1e-12, n_points=5, progress=False)
    assert ls.is_balanced(ls.weights_at(ds, -1), rtol=1e-9)
    assert np.all(np.diff(ds.loss.values) <= 1e-12)  # a gradient flow: the loss does not increase


@pytest.mark.parametrize("kind", KINDS)
def test_hessian_inertia_paths_agree_under_every_loss(kind):
    net = make_net(kind, [3, 5, 4, 2], 6)
    W = ls.init.gaussian(net, 0.7, rng=2)
    ev = np.linalg.eigvalsh(net.hessian(W))
    band = 1e-8 * np.abs(ev).max()
    counts = (int(np.sum(ev < -band)), int(np.sum(np.abs(ev) <= band)), int(np.sum(ev > band)))
    dense = ls.hessian_inertia(net, W)
    krylov = ls.hessian_inertia(net, W, method="krylov")
    for ds in (dense, krylov):
        assert (int(ds.n_negative), int(ds.n_zero), int(ds.n_positive)) == counts, ds.attrs.get("method")
        assert ds.attrs["loss"] == net.loss_name
    dens = ls.spectral_density(net, W, rng=0)
    assert abs(float(dens.n_negative_estimate) - counts[0]) <= 0.5 * net.n_params
    with pytest.raises(LossError, match="structured"):
        ls.hessian_inertia(net, W, method="structured")
    ep = ls.extreme_eigenpairs(net, W, k=2)
    np.testing.assert_allclose(np.sort(ep.eigenvalues.values), np.sort(np.concatenate([ev[:2], ev[-2:]])),
                               atol=1e-8 * np.abs(ev).max())


@pytest.mark.parametrize("kind", KINDS)
def test_quadratic_only_functions_refuse_other_losses(kind):
    net = make_net(kind, [3, 4, 2], 1)
    W = ls.init.gaussian(net, 0.5, rng=0)
    calls = [
        ("critical_points", lambda: ls.critical_points(net)),
        ("critical_values", lambda: ls.critical_values(net)),
        ("count_critical_values", lambda: ls.count_critical_values(net)),
        ("representative", lambda: ls.representative(net, (1,))),
        ("quotient", lambda: ls.quotient(net, W)),
        ("fiber", lambda: ls.fiber(net, (1,))),
        ("fiber_dimension", lambda: ls.fiber_dimension(net, (1,))),
        ("classify", lambda: ls.classify(net, W)),
        ("submanifolds", lambda: ls.submanifolds(net, W)),
        ("manifold_dimensions", lambda: ls.manifold_dimensions(net, W)),
        ("manifold_surface", lambda: ls.manifold_surface(net, W)),
        ("zero_balanced_end_to_end", lambda: ls.closed_forms.zero_balanced_end_to_end(net, np.zeros(net.objective.shape), [0, 1])),
        ("learnt_subsets", lambda: ls.dynamics.learnt_subsets(net, np.zeros(net.objective.shape))),
        ("characteristic_direction", lambda: ls.stability.characteristic_direction(net, W, (1,))),
        ("measure_set_dimension", lambda: ls.stability._dimensions.measure_set_dimension(net, W, net.flatten(W))),
    ]
    for name, call in calls:
        with pytest.raises(LossError, match=rf"{name}.*{kind}"):
            call()
    traj = ls.gradient_flow(net, W, 1.0, n_points=5, progress=False)
    with pytest.raises(LossError, match=rf"itinerary.*{kind}.*singular_values"):
        ls.itinerary(traj)
    with pytest.raises(LossError, match=rf"itinerary.*{kind}"):
        ls.itinerary(traj, net)


def test_singular_value_times_for_cross_entropy_and_the_quadratic_reference():
    """Singular values of P learnt in sequence from a small start (every loss); for the quadratic
    loss the times match the itinerary's per-mode half-learning times within the output grid."""
    rng = np.random.default_rng(0)
    # a linear teacher with well separated singular values: the modes are learnt one after another
    X = rng.normal(size=(4, 400))
    T = np.diag([6.0, 2.0, 0.7]) @ np.linalg.qr(rng.normal(size=(4, 3)))[0].T
    labels = np.argmax(T @ X, axis=0)
    net = ls.LinearNetwork.from_data(X, labels, [5], loss="cross_entropy")
    W0 = ls.init.balanced(net, 1e-3, rng=1)
    traj = ls.gradient_flow(net, W0, 100.0, times="log", t_min=1e-2, n_points=400, progress=False)
    # P's singular values grow without bound (separable data): read the times at an absolute level
    times = singular_value_times(traj, level=1.0)
    assert times.shape == (3,)
    assert 5.0 < times[0] < 0.7 * times[1] < 100.0 and np.isnan(times[2])  # in sequence; the third never
    sv = traj.singular_values.values
    assert sv[0, 0] < 1e-5 and sv[-1, 1] > 1.0 and sv[-1, 2] < 1e-5
    sq = ls.LinearNetwork([3, 3, 3], [3.0, 2.0, 1.0])
    tq = ls.gradient_flow(sq, ls.init.identity(sq, 1e-3), 12.0, n_points=1201, method="dopri5", progress=False)
    it = ls.itinerary(tq)
    np.testing.assert_allclose(singular_value_times(tq), it.t_half.values, atol=0.05)


def test_sweep_runs_a_logistic_network():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 20))
    net = ls.LinearNetwork.from_data(X, np.sign(X[0] + 0.1), [4], loss="logistic")
    ds = ls.sweep([net], inits=("gaussian",), scales=(0.1,), seeds=2, t_end=5.0, n_points=20, progress=False)
    assert ds.attrs["network_loss"] == "logistic"
    assert np.all(np.isfinite(ds.loss_final.values)) and np.all(ds.loss_final.values < np.log(2.0))
    assert list(ds.route.values.ravel()) == ["n/a", "n/a"]
    assert np.all(ds.conserved_drift.values < 1e-6)
