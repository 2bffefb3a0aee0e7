"""Initialisations (spec 2.5, 6.1) and the closed forms themselves."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import landscape as ls
from landscape.dynamics import closed_forms as cf
from landscape.testing import strategies as lst


@given(st.lists(st.integers(1, 5), min_size=3, max_size=6), st.floats(0.05, 3.0), st.integers(0, 2**32 - 1))
def test_lambda_balanced_has_C_equal_lambda_identity(widths, lam, seed):
    widths = [widths[0]] + sorted(widths[1:])  # lam > 0 needs d_1 <= ... <= d_h
    net = ls.LinearNetwork(widths, [1.0])
    W = ls.init.lambda_balanced(net, lam, rng=seed)
    for C in ls.conserved_quantities(W):
        np.testing.assert_allclose(C, lam * np.eye(C.shape[0]), atol=1e-9 * (1 + lam))


@given(st.lists(st.integers(1, 5), min_size=3, max_size=6), st.floats(0.05, 3.0), st.integers(0, 2**32 - 1))
def test_negative_lambda_balanced(widths, lam, seed):
    widths = sorted(widths[:-1], reverse=True) + [widths[-1]]
    net = ls.LinearNetwork(widths, [1.0])
    W = ls.init.lambda_balanced(net, -lam, rng=seed)
    for C in ls.conserved_quantities(W):
        np.testing.assert_allclose(C, -lam * np.eye(C.shape[0]), atol=1e-9 * (1 + lam))


def test_lambda_balanced_refuses_impossible_widths():
    with pytest.raises(ValueError, match=r"lam > 0 needs non-decreasing widths"):
        ls.init.lambda_balanced(ls.LinearNetwork([2, 3, 2, 2], [1.0]), 0.5, rng=0)


@settings(max_examples=30)
@given(lst.networks(min_depth=2, max_depth=4, max_width=4), st.floats(0.01, 2.0), st.integers(0, 2**32 - 1))
def test_delta_balanced_reaches_delta(net, delta, seed):
    W = ls.init.delta_balanced(net, delta, rng=seed)
    assert ls.balance_measure(W) == pytest.approx(delta, rel=1e-8)
    assert ls.is_delta_balanced(W, delta * (1 + 1e-8))


def test_identity_and_orthogonal(rng):
    net = ls.LinearNetwork([2, 3, 3, 2], [2.0, 1.0])
    W = ls.init.identity(net, 0.5)
    np.testing.assert_array_equal(W[0], 0.5 * np.eye(3, 2))
    O = ls.init.orthogonal(net, 2.0, rng=rng)
    for w in O:
        np.testing.assert_allclose(np.linalg.svd(w, compute_uv=False)[: min(w.shape)], 2.0)


def test_near_adds_small_noise(rng):
    net = ls.LinearNetwork([2, 2, 2], [2.0, 1.0])
    W = ls.init.identity(net, 1.0)
    Wn = ls.init.near(net, W, 1e-6, rng=rng)
    d = max(np.abs(a - b).max() for a, b in zip(W, Wn))
    assert 0 < d < 1e-5


def test_aligned_without_rng_is_diagonal():
    net = ls.LinearNetwork([3, 3, 3], [3.0, 2.0, 1.0])
    W = ls.init.aligned(net, [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(W[1], np.diag([4.0, 5.0, 6.0]))
    with pytest.raises(ValueError, match=r"values must be finite with shape \(h, k\) = \(2, k <= r = 3\)"):
        ls.init.aligned(net, np.ones((3, 3)))


@pytest.mark.parametrize("p0", [1e-6, 0.1, 2.5])
def test_logistic_solves_its_ode(p0):
    t = np.linspace(0, 2, 2001)
    p = cf.logistic(t, p0, 3.0)
    dp = np.gradient(p, t, edge_order=2)
    np.testing.assert_allclose(dp[5:-5], (2 * p * (3.0 - p))[5:-5], rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("h", [2, 3, 4, 6])
def test_balanced_mode_solves_its_ode(h):
    from scipy.integrate import solve_ivp

    t = np.linspace(0, 2, 41)
    p = cf.balanced_mode(t, 0.05, 2.0, h)
    sol = solve_ivp(lambda _, q: h * q ** (2 - 2 / h) * (2.0 - q), (0, 2), [0.05], t_eval=t, method="DOP853",
                    rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(p, sol.y[0], rtol=1e-9)
    if h == 2:
        np.testing.assert_allclose(p, cf.logistic(t, 0.05, 2.0), rtol=1e-10)


def test_small_init_escape_time_asymptotics():
    """``t ~ 1 / (sigma (h - 2) eps^(h-2))`` for h >= 3 (spec 6.2)."""
    eps = 1e-3
    for h in (3, 4):
        assert cf.half_learning_time(eps**h, 3.0, h) == pytest.approx(1 / (3.0 * (h - 2) * eps ** (h - 2)), rel=0.01)


def test_unbalanced_depth2_conserves_c():
    w = cf.unbalanced_depth2(np.linspace(0, 1, 11), (0.3, 1.2), 2.0)
    np.testing.assert_allclose(w[:, 1] ** 2 - w[:, 0] ** 2, 1.2**2 - 0.3**2, rtol=1e-10)


# ------------------------------------------------ the 0-balanced end-to-end ODE (spec 6.3)
def _nonsquare_widths():
    """The widths of issue 10 item 9, fixed hard cases, and seeded random ones: d_0 != d_h, hidden wider and narrower."""
    cases = [(2, 4, 3, 3), (3, 2, 4), (4, 6, 2, 5, 3), (1, 3, 2), (5, 7, 3), (3, 1, 1, 2)]
    rng = np.random.default_rng(20240610)
    while len(cases) < 10:
        h = int(rng.integers(2, 5))
        w = tuple(int(x) for x in rng.integers(1, 8, size=h + 1))
        if w[0] != w[-1]:
            cases.append(w)
    return cases


class _Deadline:
    """Raise ``TimeoutError`` if the block takes longer than ``seconds`` (SIGALRM, main thread)."""

    def __init__(self, seconds):
        self.seconds = seconds

    def __enter__(self):
        import signal

        def fire(signum, frame):
            raise TimeoutError(f"did not finish within {self.seconds} s")

        self._old = signal.signal(signal.SIGALRM, fire)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc):
        import signal

        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self._old)
        return False


@pytest.mark.parametrize("widths", _nonsquare_widths())
def test_zero_balanced_end_to_end_equals_the_flow_of_balanced_weights(widths):
    """The closed ODE of P, integrated on its own, equals the end-to-end matrix of the actual flow to 1e-7."""
    seed = sum(widths) * 31 + len(widths)
    rng = np.random.default_rng(seed)
    k = min(widths[0], widths[-1])
    sigma = np.sort(rng.uniform(0.5, 3.0, size=k))[::-1]
    net = ls.LinearNetwork(list(widths), sigma)
    W0 = ls.init.balanced(net, rng=seed)
    assert ls.is_balanced(W0)
    t = np.linspace(0.0, 2.0, 9)
    with _Deadline(10.0):  # the eigen-decomposition version never finished on (2, 4, 3, 3)
        P_ode = cf.zero_balanced_end_to_end(net, net.end_to_end(W0), t)
    ds = ls.gradient_flow(net, W0, 2.0, method="DOP853", rtol=1e-12, atol=1e-14, times=t)
    P_flow = np.array([net.end_to_end(ls.weights_at(ds, i)) for i in range(t.size)])
    err = np.linalg.norm(P_ode - P_flow, axis=(1, 2))
    np.testing.assert_array_less(err, 1e-7 * np.maximum(np.linalg.norm(P_flow, axis=(1, 2)), 1e-3))
    assert err[-1] < 1e-7 * np.linalg.norm(P_flow[-1]) and np.linalg.norm(P_flow[-1] - P_flow[0]) > 1e-2  # it moved


def test_zero_balanced_end_to_end_is_fast_on_widths_2_4_3_3():
    net = ls.LinearNetwork([2, 4, 3, 3], [3.0, 2.0])
    P0 = net.end_to_end(ls.init.balanced(net, rng=0))
    import time

    start = time.perf_counter()
    with _Deadline(10.0):
        P = cf.zero_balanced_end_to_end(net, P0, np.linspace(0.0, 20.0, 5))
    assert time.perf_counter() - start < 2.0
    np.testing.assert_allclose(P[-1], net.Sigma, atol=1e-8)  # rank 2 = min(d_0, d_h): the global minimum


def test_zero_balanced_end_to_end_keeps_a_zero_singular_value():
    """Hidden width 1 < min(d_0, d_h): P has rank 1 for all t and converges to the best rank-1 fit."""
    net = ls.LinearNetwork([3, 1, 2], [2.0, 1.0])
    P = cf.zero_balanced_end_to_end(net, net.end_to_end(ls.init.balanced(net, rng=3)), np.linspace(0.0, 30.0, 4))
    s = np.linalg.svd(P, compute_uv=False)
    np.testing.assert_array_less(s[:, 1], 1e-12)
    np.testing.assert_allclose(s[-1, 0], 2.0, rtol=1e-9)


def test_zero_balanced_end_to_end_names_bad_arguments():
    net = ls.LinearNetwork([3, 3, 2], [2.0, 1.0])
    with pytest.raises(ValueError, match=r"P0 must have shape \(2, 3\)"):
        cf.zero_balanced_end_to_end(net, np.zeros((3, 2)), [0.0, 1.0])
    with pytest.raises(ValueError, match="t_eval must be a non-empty increasing array"):
        cf.zero_balanced_end_to_end(net, np.zeros((2, 3)), [1.0, 0.0])
