"""``kernels.block_hvp``: the Hessian times a block of directions equals the dense Hessian,
the single-direction ``hvp`` and the literal adjacency formula (issue 12)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import landscape as ls
from landscape.core import block_shift_mask, kernels, literal
from landscape.testing import strategies as lst


def random_orthogonal(rng, d):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


@given(lst.networks_and_weights(max_depth=4, max_width=5), st.integers(1, 7), st.integers(0, 2**32 - 1))
def test_block_hvp_equals_dense_hessian_times_block(pair, b, seed):
    net, W = pair
    X = np.random.default_rng(seed).standard_normal((net.n_params, b))
    H = net.hessian(W)
    got = kernels.block_hvp(W, net.Sigma, X)
    np.testing.assert_allclose(got, H @ X, atol=1e-10 * (1 + np.abs(H).max()) * np.abs(X).max() * net.n_params)


@given(lst.networks_and_weights(max_depth=5, max_width=6), st.integers(0, 2**32 - 1))
def test_block_hvp_column_equals_single_hvp(pair, seed):
    net, W = pair
    X = np.random.default_rng(seed).standard_normal((net.n_params, 4))
    got = kernels.block_hvp(W, net.Sigma, X)
    for k in range(X.shape[1]):
        one = net.flatten(net.hvp(W, net.unflatten(X[:, k])))
        np.testing.assert_allclose(got[:, k], one, atol=1e-11 * (1 + np.abs(one).max()) * net.n_params)


@pytest.mark.parametrize("widths", [[2, 3, 2], [3, 1, 2, 4], [4, 2, 3, 2, 1], [1, 3, 1]])
def test_block_hvp_equals_literal_adjacency_formula(widths, rng):
    """Columns against ``literal_hvp`` (spec 3.5's second variation, dense in ``A``); widths with
    ``d_h < d_0`` take the reversed orientation."""
    net = ls.LinearNetwork(widths, np.linspace(2, 1, min(widths[0], widths[-1])))
    W = ls.init.gaussian(net, 0.9, rng=rng)
    A = ls.adjacency(W)
    X = rng.standard_normal((net.n_params, 3))
    got = kernels.block_hvp(W, net.Sigma, X)
    mask = block_shift_mask(widths)
    for k in range(3):
        lit = literal.literal_hvp(A, net.E, net.depth, ls.adjacency(net.unflatten(X[:, k])), mask=mask)
        expected = net.flatten(ls.weights_from_adjacency(lit, widths))
        np.testing.assert_allclose(got[:, k], expected, atol=1e-11 * (1 + np.abs(lit).max()))


@pytest.mark.parametrize("widths,S", [([5, 4, 5], (2, 3, 5)), ([4, 6, 5, 3], (1, 3)), ([6, 3, 3, 3, 2], (2,)), ([3, 3, 3, 3], (1, 2))])
def test_block_hvp_low_rank_residual_at_rotated_critical_points(widths, S, rng):
    """At ``G A*_S G^-1`` the residual ``Sigma - Sigma_S`` has low rank: the factored path is taken
    and still equals the dense Hessian."""
    net = ls.LinearNetwork(widths, np.linspace(3, 1, min(widths[0], widths[-1])))
    W = ls.gauge(net, ls.representative(net, S), [random_orthogonal(rng, d) for d in widths[1:-1]])
    setup = kernels.block_hvp_setup(W, net.Sigma)
    assert setup["Vr"] is not None and setup["Vr"].shape[1] == np.count_nonzero(net.sigma) - len(S)
    X = rng.standard_normal((net.n_params, 5))
    H = net.hessian(W)
    np.testing.assert_allclose(kernels.block_hvp(W, net.Sigma, X, setup=setup), H @ X, atol=1e-11 * np.abs(H).max() * net.n_params)
    dense = kernels.block_hvp_setup(W, net.Sigma, residual_rtol=0.0)
    assert dense["Vr"] is None
    np.testing.assert_allclose(kernels.block_hvp(W, net.Sigma, X, setup=dense), H @ X, atol=1e-11 * np.abs(H).max() * net.n_params)


def test_block_hvp_chunks_large_blocks_and_leaves_input_alone(rng, monkeypatch):
    net = ls.LinearNetwork([3, 4, 2], [2.0, 1.0])
    W = ls.init.gaussian(net, 1.0, rng=rng)
    X = rng.standard_normal((net.n_params, 9))
    X0 = X.copy()
    whole = kernels.block_hvp(W, net.Sigma, X)
    monkeypatch.setattr(kernels, "_BLOCK_MEMORY", 60)  # a handful of directions per chunk
    chunked = kernels.block_hvp(W, net.Sigma, X)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-13 * np.abs(whole).max())
    np.testing.assert_allclose(whole, net.hessian(W) @ X, atol=1e-12 * np.abs(whole).max())


def test_block_hvp_depth_one_is_identity(rng):
    """h = 1: ``L = 1/2 ||Sigma - W_1||^2`` has ``H = I``; also when the only column is a view of X."""
    for widths in ([1, 1], [3, 2], [2, 5]):
        net = ls.LinearNetwork(widths, [1.0])
        X = rng.standard_normal((net.n_params, 1))
        X0 = X.copy()
        np.testing.assert_allclose(kernels.block_hvp(ls.init.gaussian(net, 1.0, rng=rng), net.Sigma, X), X0, atol=1e-15)
        np.testing.assert_array_equal(X, X0)
