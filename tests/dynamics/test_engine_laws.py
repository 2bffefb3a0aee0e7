"""The engine's laws: every field implementation equals the literal adjacency formula, and
every registered method agrees with scipy's DOP853 (rtol 1e-12) on the literal right-hand
side, on random shapes that include hidden layers wider and narrower than both ends.

These are the tests that would have caught the compiled field's overlapping work buffer
(widths (3,4,4,2)), the ignored ``max_step``/``first_step``, the shared scipy events and
the end-of-step ``gradient_norm_below`` times.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

import landscape as ls
from landscape.core import kernels, literal
from landscape.dynamics import FlowProblem, solvers

ALL_METHODS = [m for m in solvers.SOLVERS]


@st.composite
def engine_shapes(draw, max_depth=5, max_width=7):
    """Widths that break kernels: a hidden layer wider (or narrower) than both ends, d0 != dh."""
    h = draw(st.integers(1, max_depth))
    kind = draw(st.sampled_from(["hidden_wide", "hidden_narrow", "free"]))
    d0 = draw(st.integers(1, max_width - 1))
    dh = draw(st.integers(1, max_width - 1).filter(lambda x: x != d0))
    hidden = draw(st.lists(st.integers(1, max_width), min_size=h - 1, max_size=h - 1))
    if h >= 2 and kind == "hidden_wide":
        i = draw(st.integers(0, h - 2))
        hidden[i] = draw(st.integers(max(d0, dh) + 1, max_width))
    if h >= 2 and kind == "hidden_narrow":
        i = draw(st.integers(0, h - 2))
        hidden[i] = draw(st.integers(1, min(d0, dh)))
    return [d0, *hidden, dh]


@st.composite
def problems(draw, max_depth=5, max_width=7, batch=True):
    """``(net, theta)``: a network on drawn widths and a (B, n) batch of random states."""
    widths = draw(engine_shapes(max_depth, max_width))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    k = min(widths[0], widths[-1])
    net = ls.LinearNetwork(widths, np.sort(rng.uniform(0.5, 3.0, k))[::-1])
    B = draw(st.integers(1, 4)) if batch else 1
    scale = draw(st.floats(0.2, 1.2))
    theta = rng.standard_normal((B, net.n_params)) * scale / np.sqrt(max(widths))
    return net, theta


def literal_field(net, theta):
    """``-grad L`` by the spec's dense formula ``sum_j (A^{h-j})^T (E - A^h) (A^{j-1})^T``."""
    A = ls.adjacency(net.unflatten(theta))
    G = literal.literal_gradient(A, net.E, net.depth)
    return -net.flatten(ls.weights_from_adjacency(G, net.widths))


def assert_rel(a, b, rtol):
    scale = max(np.max(np.abs(b)), 1e-300)
    assert np.max(np.abs(a - b)) <= rtol * scale, (np.max(np.abs(a - b)) / scale)


# ------------------------------------------------------------------ one law per kernel
@given(problems())
def test_every_field_implementation_equals_the_literal_formula(case):
    net, theta = case
    ref = np.stack([literal_field(net, t) for t in theta])
    ref_loss = np.array([literal.literal_loss(ls.adjacency(net.unflatten(t)), net.E, net.depth) for t in theta])
    W = net.unflatten(theta)  # batched layer list
    # the kernel, batched and one at a time
    field, L = kernels.flow_field(W, net.Sigma)
    assert_rel(np.concatenate([f.reshape(len(theta), -1) for f in field], axis=1), ref, 1e-12)
    np.testing.assert_allclose(L, ref_loss, rtol=1e-12, atol=1e-300)
    for b in range(len(theta)):
        grad = kernels.gradient([w[b] for w in W], net.Sigma)
        assert_rel(-net.flatten(grad), ref[b], 1e-12)
        adj = net.gradient(ls.adjacency([w[b] for w in W]))  # adjacency in, adjacency out
        assert_rel(-net.flatten(ls.weights_from_adjacency(adj, net.widths)), ref[b], 1e-12)
    # the integrators' flat-state field (work arrays reused: call twice)
    problem = FlowProblem(net)
    problem.field(theta)
    F, L2 = problem.field(theta)
    assert_rel(F, ref, 1e-12)
    np.testing.assert_allclose(L2, ref_loss, rtol=1e-12, atol=1e-300)
    # the compiled field of dopri5-jit
    from landscape.dynamics import _jit

    _, field_batch = _jit.kernel()
    out = np.empty_like(theta)
    L3 = np.empty(len(theta))
    poff = np.concatenate([[0], np.cumsum([a * b for a, b in net.shapes])]).astype(np.int64)
    field_batch(theta, np.asarray(net.widths, dtype=np.int64), poff, np.ascontiguousarray(net.Sigma), out, L3)
    assert_rel(out, ref, 1e-12)
    np.testing.assert_allclose(L3, ref_loss, rtol=1e-12, atol=1e-300)
    # the backward flow is the exact negative
    back, _ = FlowProblem(net, sign=-1).field(theta)
    np.testing.assert_array_equal(back, -F)


@given(problems(max_depth=4, max_width=6))
def test_batched_hvp_equals_the_literal_second_variation(case):
    net, theta = case
    rng = np.random.default_rng(int(abs(theta.sum()) * 1e6) % 2**32)
    W = net.unflatten(theta[0])
    V = rng.standard_normal((3, net.n_params))
    out = kernels.hvp(W, net.Sigma, net.unflatten(V))
    got = np.concatenate([o.reshape(3, -1) for o in out], axis=1)
    A = ls.adjacency(W)
    mask = ls.core.block_shift_mask(net.widths)
    for i in range(3):
        ref = literal.literal_hvp(A, net.E, net.depth, ls.adjacency(net.unflatten(V[i])), mask=mask)
        assert_rel(got[i], net.flatten(ls.weights_from_adjacency(ref, net.widths)), 1e-11)


def test_compiled_field_on_the_reported_shape():
    """Widths (3,4,4,2): the compiled field was wrong (relative error 0.12 at t = 6)."""
    net = ls.LinearNetwork([3, 4, 4, 2], [2.0, 1.0])
    W0 = ls.init.gaussian(net, 0.5, rng=0)
    a = ls.gradient_flow(net, W0, 6.0, method="dopri5-jit", rtol=1e-10, atol=1e-12, n_points=3, progress=False)
    b = ls.gradient_flow(net, W0, 6.0, method="DOP853", rtol=1e-12, atol=1e-14, n_points=3, progress=False)
    assert_rel(a.theta_final.values, b.theta_final.values, 1e-7)
    assert float(a.conserved_drift_final.max()) < 1e-8


# ------------------------------------------------------------------ one law per method
def reference(net, theta0, t_end, events=()):
    """scipy DOP853 at rtol 1e-12 on the literal right-hand side (one run)."""
    sol = solve_ivp(lambda t, y: literal_field(net, y), (0.0, t_end), theta0, method="DOP853", rtol=1e-12,
                    atol=1e-14, events=list(events) or None)
    return sol


T_END = 1.0


@given(problems(max_depth=4, max_width=6))
def test_every_method_agrees_with_dop853_on_the_literal_field(case):
    """For every registered method: the state at t_end is within 1e-6 relative of DOP853
    (rtol 1e-12) on the literal formula; a batch equals its runs one by one; the conserved
    C_i drift within the method's documented bound."""
    net, theta = case
    theta = np.concatenate([theta, 0.5 * theta])[:2]  # a batch of two runs
    ref = np.stack([reference(net, t, T_END).y[:, -1] for t in theta])
    W = [np.stack(layer) for layer in zip(*[net.unflatten(t) for t in theta])]
    for method in ALL_METHODS:
        solver = solvers.get(method)
        ds = ls.gradient_flow(net, W, T_END, method=method, rtol=1e-10, atol=1e-12, n_points=3, progress=False)
        assert list(ds.status.values) == ["success", "success"], (method, net.widths, ds.attrs.get("message"))
        for b in range(len(theta)):
            assert_rel(ds.theta_final.values[b], ref[b], 1e-6)
            single = ls.gradient_flow(net, net.unflatten(theta[b]), T_END, method=method, rtol=1e-10, atol=1e-12,
                                      n_points=3, progress=False)
            np.testing.assert_allclose(single.theta_final.values, ds.theta_final.values[b], rtol=1e-11, atol=1e-13)
        if net.depth > 1:
            bound = np.array([solver.drift_bound(1e-10, float(s), T_END) for s in ds.conserved_scale.values])
            assert np.all(np.nanmax(ds.conserved_drift.values, axis=(1, 2)) <= bound), (method, net.widths, bound)


def _event_batch():
    """Three runs of widths (2,5,3): fast, slow, and the origin (a saddle: its loss never
    falls, and its gradient is zero from the start)."""
    net = ls.LinearNetwork([2, 5, 3], [2.0, 1.0])
    rng = np.random.default_rng(7)
    runs = [net.unflatten(rng.standard_normal(net.n_params) * s) for s in (0.8, 0.05)]
    runs.append([np.zeros(s) for s in net.shapes])  # the origin: a critical point, L stays 2.5
    return net, runs


@pytest.mark.parametrize("method", ALL_METHODS)
@pytest.mark.parametrize("event", ["loss_below", "gradient_norm_below"])
def test_events_are_per_run_and_located_to_the_tolerance(method, event):
    net, runs = _event_batch()
    thr = 0.05 if event == "loss_below" else 0.2
    batch = [np.stack(layer) for layer in zip(*runs)]
    ds = ls.gradient_flow(net, batch, 30.0, method=method, rtol=1e-10, atol=1e-12, n_points=4, progress=False,
                          **{event: thr})
    for b, W in enumerate(runs[:2]):
        theta0 = net.flatten(W)
        problem = FlowProblem(net)

        def g(t, y):
            F, L = problem.field(y[None])
            return (np.log(L[0]) - np.log(thr)) if event == "loss_below" else np.linalg.norm(F) - thr

        g.terminal = True
        sol = reference(net, theta0, 30.0, events=[g])
        if sol.t_events[0].size:
            t_ref = sol.t_events[0][0]
            assert str(ds.status.values[b]) == "event"
            assert abs(float(ds.t_event.values[b]) - t_ref) <= 1e-6 * t_ref, (b, float(ds.t_event.values[b]), t_ref)
            assert float(ds.t_final.values[b]) == float(ds.t_event.values[b])
            assert_rel(ds.theta_final.values[b], sol.y_events[0][0], 1e-6)
        else:
            raise AssertionError("the reference run never reached the threshold")
    assert float(ds.t_event.values[0]) < float(ds.t_event.values[1])  # each run has its own time
    # the origin: never crosses the loss threshold (success, no event time), and it does
    # not erase the others' events; its gradient is zero, so that event fires at t = 0
    if event == "loss_below":
        assert str(ds.status.values[2]) == "success" and np.isnan(float(ds.t_event.values[2]))
        assert float(ds.t_final.values[2]) == 30.0
    else:
        assert str(ds.status.values[2]) == "event" and float(ds.t_event.values[2]) == 0.0


@pytest.mark.parametrize("method", ALL_METHODS)
def test_max_step_and_first_step_are_honoured(method):
    net = ls.LinearNetwork([3, 4, 4, 2], [2.0, 1.0])
    W0 = ls.init.gaussian(net, 0.5, rng=1)
    base = ls.gradient_flow(net, W0, 1.0, method=method, n_points=2, progress=False)
    capped = ls.gradient_flow(net, W0, 1.0, method=method, n_points=2, max_step=1e-3, progress=False)
    tiny = ls.gradient_flow(net, W0, 1.0, method=method, n_points=2, first_step=1e-9, progress=False)
    if int(capped.n_steps) >= 0:  # methods that count their steps
        assert int(capped.n_steps) >= 1000 > int(base.n_steps)
        assert int(tiny.n_steps) > int(base.n_steps)  # the ramp from 1e-9 costs steps
    else:  # scipy counts evaluations only (and LSODA's own step selection may absorb first_step)
        assert int(capped.attrs["nfev"]) >= max(1000, int(base.attrs["nfev"]) + 1)
        assert int(tiny.attrs["nfev"]) >= int(base.attrs["nfev"])


@pytest.mark.parametrize("method", ["RK45", "DOP853", "RK23"])
def test_wall_time_budget_stops_a_stiff_scipy_run(method):
    """The budget is no function of t; scipy's event root finder used to raise 'f(a) and f(b)
    must have different signs' on it. A stiff start (scale 30) cannot finish in 0.3 s."""
    net = ls.LinearNetwork([3, 4, 4, 2], [3.0, 2.0])
    W0 = ls.init.gaussian(net, 30.0, rng=0)
    ds = ls.gradient_flow(net, W0, 5.0, method=method, max_wall_time=0.3, progress=False)
    assert str(ds.status.values) == "time_budget"
    t_final = float(ds.t_final)
    assert 0.0 < t_final < 5.0
    # the state kept is the flow's state at t_final: integrate to t_final by LSODA (stiff-safe), tight tolerance
    ref = ls.gradient_flow(net, W0, t_final, method="LSODA", rtol=1e-10, atol=1e-12, n_points=2, progress=False)
    np.testing.assert_allclose(ds.theta_final.values, ref.theta_final.values, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("method", ["RK45", "DOP853"])
def test_a_rejected_overflowing_trial_step_is_silent_and_harmless(method):
    """Scalar depth 12 from 1.5: a first trial step of 4 overflows the degree-23 field. scipy
    rejects the non-finite error estimate and shortens the step; the overflow used to leak
    as RuntimeWarnings (seen at [300]*12 in bench_manifolds). The run still reaches the
    minimum the conserved quantities allow (all C_i = 0 at the start, product 1: every weight 1)."""
    import warnings

    net = ls.LinearNetwork([1] * 13, 1.0)
    W0 = [np.array([[1.5]])] * 12
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = ls.gradient_flow(net, W0, 5.0, method=method, first_step=4.0, progress=False)
    assert str(ds.status.values) == "success"
    np.testing.assert_allclose(ds.theta_final.values, 1.0, atol=1e-6)
    with pytest.raises(ls.errors.LandscapeValueError, match="first_step must be at most t_end"):
        ls.gradient_flow(net, W0, 5.0, method=method, first_step=6.0, progress=False)


def test_registry_is_the_one_list_of_methods():
    assert set(ls.dynamics.METHODS) == set(solvers.SOLVERS) | {"auto"}
    assert solvers.get("AUTO").name in ("dopri5-jit", "dopri5")
    with pytest.raises(ls.errors.LandscapeValueError, match="forward flow only"):
        net = ls.LinearNetwork([2, 3, 2], [1.0, 0.5])
        solvers.integrate(FlowProblem(net, sign=-1), "dopri5-jit", np.ones((1, net.n_params)), [0.0, 1.0])


# ------------------------------------------------------------------ gradient descent
def test_diverging_descent_stops_at_the_first_iterate_out_of_bounds():
    """Scalar h = 2, sigma = 3, eta = 1 from (3, 3): the iterates explode; the run keeps the
    last iterate inside the stated bound and reports a finite loss."""
    net = ls.LinearNetwork([1, 1, 1], 3.0)
    W0 = [np.array([[3.0]]), np.array([[3.0]])]
    ds = ls.gradient_descent(net, W0, 1.0, 100, divergence_threshold=1e6)
    assert str(ds.status.values) == "diverged"
    # replay by hand: w <- w + eta (sigma - w1 w2) (w2, w1)
    w = np.array([3.0, 3.0])
    L0 = 0.5 * (3.0 - 9.0) ** 2
    loss_bound, weight_bound = 1e6 * max(L0, 4.5), 1e6 * 3.0
    k = 0
    while True:
        new = w + 1.0 * (3.0 - w[0] * w[1]) * w[::-1]
        if 0.5 * (3.0 - new[0] * new[1]) ** 2 > loss_bound or np.abs(new).max() > weight_bound:
            break
        w, k = new, k + 1
    np.testing.assert_allclose(ds.theta_final.values, w, rtol=1e-14)
    assert int(ds.n_steps) == k and float(ds.t_final) == k * 1.0
    assert np.isfinite(float(ds.loss_final)) and float(ds.loss_final) <= loss_bound
