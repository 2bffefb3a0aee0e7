"""Loss, gradient, Hessian-vector product and Hessian against the literal adjacency formulas."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.sparse.linalg import LinearOperator

import landscape as ls
from landscape.core import block_shift_mask, literal
from landscape.testing import strategies as lst


def _norm(W):
    return float(np.sqrt(sum(np.vdot(w, w) for w in W)))


@given(lst.networks_and_weights())
def test_loss_of_A_equals_loss_of_W(pair):
    net, W = pair
    A = ls.adjacency(W)
    expected = literal.literal_loss(A, net.E, net.depth)
    assert net.loss(W) == pytest.approx(expected, rel=1e-11, abs=1e-12)
    assert net.loss(A) == pytest.approx(expected, rel=1e-11, abs=1e-12)


@given(lst.networks_and_weights())
def test_gradient_equals_literal_adjacency_formula(pair):
    """``grad L = -sum_j (A^{h-j})^T (E - A^h) (A^{j-1})^T`` (spec 1.4), block-shift by itself."""
    net, W = pair
    A = ls.adjacency(W)
    lit = literal.literal_gradient(A, net.E, net.depth)
    assert np.count_nonzero(lit[~block_shift_mask(net.widths)]) == 0
    got = net.gradient(A)
    scale = 1.0 + np.abs(lit).max()
    np.testing.assert_allclose(got, lit, atol=1e-11 * scale, rtol=0)
    np.testing.assert_allclose(ls.adjacency(net.gradient(W)), got, atol=0, rtol=0)


@given(lst.networks_and_weights(), st.integers(0, 2**32 - 1))
def test_gradient_matches_central_finite_differences(pair, seed):
    net, W = pair
    V = ls.init.gaussian(net, 1.0, rng=seed)
    V = [v / _norm(V) for v in V]
    eps = 1e-5
    plus = net.loss([w + eps * v for w, v in zip(W, V)])
    minus = net.loss([w - eps * v for w, v in zip(W, V)])
    fd = (plus - minus) / (2 * eps)
    exact = sum(np.vdot(g, v) for g, v in zip(net.gradient(W), V))
    hv = net.hvp(W, V)
    # central differences err by eps^2/6 * third derivative; bound it by the local scale
    scale = 1.0 + abs(exact) + _norm(hv) + net.loss(W)
    assert fd == pytest.approx(exact, abs=1e-6 * scale)


@given(lst.networks_and_weights(max_depth=4, max_width=5), st.integers(0, 2**32 - 1))
def test_hvp_equals_dense_hessian_times_vector(pair, seed):
    net, W = pair
    V = ls.init.gaussian(net, 1.0, rng=seed)
    H = net.hessian(W)
    got = net.flatten(net.hvp(W, V))
    expected = H @ net.flatten(V)
    np.testing.assert_allclose(got, expected, atol=1e-10 * (1 + np.abs(H).max()) * _norm(V))


@given(lst.networks_and_weights(max_depth=4, max_width=5))
def test_hessian_is_symmetric(pair):
    net, W = pair
    H = net.hessian(W)
    assert H.shape == (net.n_params, net.n_params)
    np.testing.assert_allclose(H, H.T, atol=1e-12 * (1 + np.abs(H).max()))


@given(lst.networks_and_weights(max_depth=4, max_width=4), st.integers(0, 2**32 - 1))
def test_hvp_equals_literal_second_variation(pair, seed):
    """``<B, H C>`` from ``M_1``, ``M_2`` (spec 3.5) and its Riesz representer, dense in ``A``."""
    net, W = pair
    A = ls.adjacency(W)
    B, C = (ls.adjacency(ls.init.gaussian(net, 1.0, rng=seed + i)) for i in range(2))
    HC = net.hvp(A, C)
    form = literal.literal_hessian_form(A, net.E, net.depth, B, C)
    scale = (1 + np.abs(HC).max()) * (1 + np.abs(B).max()) * net.n_params
    assert float(np.vdot(B, HC)) == pytest.approx(form, abs=1e-10 * scale)
    lit = literal.literal_hvp(A, net.E, net.depth, C, mask=block_shift_mask(net.widths))
    np.testing.assert_allclose(HC, lit, atol=1e-10 * (1 + np.abs(lit).max()))


@pytest.mark.parametrize("widths", [[2, 3, 2], [1, 2, 3, 1], [3, 2, 2, 4, 1]])
def test_dense_hessian_equals_literal_hessian_column_by_column(widths, rng):
    net = ls.LinearNetwork(widths, np.linspace(2, 1, min(widths[0], widths[-1])))
    W = ls.init.gaussian(net, 0.8, rng=rng)
    A = ls.adjacency(W)
    mask = block_shift_mask(widths)
    cols = []
    for p in range(net.n_params):
        e = np.zeros(net.n_params)
        e[p] = 1.0
        C = ls.adjacency(net.unflatten(e))
        cols.append(net.flatten(literal.literal_hvp(A, net.E, net.depth, C, mask=mask)))
    np.testing.assert_allclose(net.hessian(W), np.array(cols).T, atol=1e-12 * (1 + np.abs(cols).max()))


@given(lst.networks_and_weights(max_depth=4, max_width=5), st.integers(0, 2**32 - 1))
def test_hessian_operator_matches_dense_hessian(pair, seed):
    net, W = pair
    op = net.hessian_operator(W)
    assert isinstance(op, LinearOperator)
    H = net.hessian(W)
    X = np.random.default_rng(seed).standard_normal((net.n_params, 3))
    tol = 1e-10 * (1 + np.abs(H).max()) * (1 + np.abs(X).max())
    np.testing.assert_allclose(op @ X, H @ X, atol=tol)
    np.testing.assert_allclose(op.matvec(X[:, 0]), H @ X[:, 0], atol=tol)


def test_hvp_accepts_adjacency_direction_and_answers_in_form_of_W(rng):
    net = ls.LinearNetwork([2, 3, 2], [2.0, 1.0])
    W = ls.init.gaussian(net, 1.0, rng=rng)
    V = ls.init.gaussian(net, 1.0, rng=rng)
    as_list = net.hvp(W, ls.adjacency(V))
    assert isinstance(as_list, list)
    as_matrix = net.hvp(ls.adjacency(W), V)
    np.testing.assert_allclose(ls.adjacency(as_list), as_matrix, atol=1e-14)


def test_flatten_is_row_major_in_layer_order():
    net = ls.LinearNetwork([2, 1, 3], [1.0])
    W = [np.array([[1.0, 2.0]]), np.array([[3.0], [4.0], [5.0]])]
    np.testing.assert_array_equal(net.flatten(W), [1, 2, 3, 4, 5])
    back = net.unflatten(np.arange(10.0).reshape(2, 5))
    assert [b.shape for b in back] == [(2, 1, 2), (2, 3, 1)]


def test_cached_workspace_never_aliases_results_across_calls_or_threads():
    """kernels.gradient/flow_field reuse a per-thread workspace: a returned gradient must not
    change when the next call runs, and threads must not share intermediates."""
    from concurrent.futures import ThreadPoolExecutor

    from landscape.core import kernels

    net = ls.LinearNetwork([30, 64, 48, 20], np.linspace(3.0, 0.5, 20))  # big enough to release the GIL
    Ws = [ls.init.gaussian(net, 0.8, rng=s) for s in range(8)]
    expected = [literal.literal_gradient(ls.adjacency(W), net.E, net.depth) for W in Ws]
    first = net.gradient(Ws[0])
    kept = [g.copy() for g in first]
    net.gradient(Ws[1])
    kernels.flow_field(Ws[2], net.Sigma)
    for g, k in zip(first, kept):
        np.testing.assert_array_equal(g, k)

    def grad(W):
        out = None
        for _ in range(30):  # many calls so the threads interleave
            out = net.gradient(W)
        return out

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(grad, Ws))
    for G, ref in zip(results, expected):
        np.testing.assert_allclose(ls.adjacency(G), ref, rtol=1e-10, atol=1e-10)
