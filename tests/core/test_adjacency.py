"""Laws of the adjacency form (spec 1.3, 2.1)."""

import numpy as np
import pytest
from hypothesis import given

import landscape as ls
from landscape.core import block_shift_mask, literal, offsets
from landscape.testing import strategies as lst


@given(lst.networks_and_weights())
def test_adjacency_roundtrip_is_identity(pair):
    net, W = pair
    A = ls.adjacency(W)
    assert A.shape == (net.n_nodes, net.n_nodes)
    back = ls.weights_from_adjacency(A, net.widths)
    assert all(np.array_equal(a, b) for a, b in zip(W, back))
    assert np.array_equal(ls.adjacency(back), A)
    assert np.count_nonzero(A[~block_shift_mask(net.widths)]) == 0


@given(lst.networks_and_weights())
def test_adjacency_is_nilpotent_of_index_h_plus_1(pair):
    net, W = pair
    A = ls.adjacency(W)
    h = net.depth
    assert not np.any(np.linalg.matrix_power(A, h + 1))  # exactly zero: structural
    assert ls.is_nilpotent(A, h + 1)


@given(lst.networks_and_weights())
def test_blocks_of_powers_are_partial_products(pair):
    """``A^k = blk_k(W_{1:k}, W_{2:k+1}, ..., W_{h-k+1:h})`` for every ``k`` (spec 1.3)."""
    net, W = pair
    A = ls.adjacency(W)
    h = net.depth
    Ak = np.eye(net.n_nodes)
    for k in range(1, h + 1):
        Ak = Ak @ A
        partial = []
        for i in range(1, h - k + 2):  # W_{i:i+k-1} = W_{i+k-1} ... W_i
            M = W[i - 1]
            for j in range(i + 1, i + k):
                M = W[j - 1] @ M
            partial.append(M)
        np.testing.assert_allclose(Ak, ls.blk(k, partial, net.widths), rtol=1e-12, atol=1e-12 * (1 + np.abs(Ak).max()))


def test_corner_block_of_A_h_is_end_to_end_matrix(rng):
    net = ls.LinearNetwork([3, 4, 2, 5, 3], [3, 2, 1])
    W = ls.init.gaussian(net, 1.0, rng=rng)
    A = ls.adjacency(W)
    o = offsets(net.widths)
    corner = np.linalg.matrix_power(A, 4)[o[4] :, : o[1]]
    np.testing.assert_allclose(corner, W[3] @ W[2] @ W[1] @ W[0], rtol=1e-13)
    np.testing.assert_allclose(corner, net.end_to_end(A), rtol=1e-13)


def test_E_is_sigma_in_the_corner():
    net = ls.LinearNetwork([2, 3, 3], [3.0, 1.0])
    expected = np.zeros((8, 8))
    expected[5, 0] = 3.0
    expected[6, 1] = 1.0
    np.testing.assert_array_equal(net.E, expected)


def test_blk_places_blocks_in_documented_rows_and_columns():
    widths = [1, 2, 3]  # offsets 0, 1, 3, 6
    M1 = np.arange(2.0).reshape(2, 1) + 1
    M2 = np.arange(6.0).reshape(3, 2) + 10
    A = ls.blk(1, [M1, M2], widths)
    np.testing.assert_array_equal(A[1:3, 0:1], M1)
    np.testing.assert_array_equal(A[3:6, 1:3], M2)
    assert np.count_nonzero(A) == 8


def test_is_nilpotent_detects_non_nilpotent_matrix():
    assert not ls.is_nilpotent(np.eye(3))
    J = np.diag([1.0, 1.0], k=-1)
    assert ls.is_nilpotent(J)
    assert not ls.is_nilpotent(J, index=2)


def test_nilpotency_survives_orthogonal_similarity(rng):
    """``Q A Q^T`` is a dense nilpotent matrix; the product test still recognises it, and a
    tiny shift of the spectrum is detected."""
    net = ls.LinearNetwork([4] * 7, [3, 2, 1, 0.5])
    A = ls.adjacency(ls.init.gaussian(net, 3.0, rng=rng))
    Q, _ = np.linalg.qr(rng.standard_normal(A.shape))
    dense = Q @ A @ Q.T
    assert np.count_nonzero(np.abs(dense) > 1e-8) > A.size // 2
    assert ls.is_nilpotent(dense, net.depth + 1)
    assert not ls.is_nilpotent(dense + 1e-3 * np.eye(A.shape[0]), net.depth + 1)


@pytest.mark.parametrize("h", [1, 2, 3])
def test_literal_powers_match_matrix_power(h, rng):
    net = ls.LinearNetwork([2] * (h + 1), [1.0])
    A = ls.adjacency(ls.init.gaussian(net, 1.0, rng=rng))
    P = literal.powers(A, h)
    for k in range(h + 1):
        np.testing.assert_allclose(P[k], np.linalg.matrix_power(A, k))
