"""Conservation laws, J Q J, balancedness (spec 2.3, 2.5)."""

import numpy as np
import pytest
from hypothesis import given

import landscape as ls
from landscape.core import literal, offsets
from landscape.testing import strategies as lst


@given(lst.networks_and_weights())
def test_flow_field_preserves_conserved_quantities(pair):
    """``d/dt C_i = Wdot_{i+1}^T W_{i+1} + W_{i+1}^T Wdot_{i+1} - Wdot_i W_i^T - W_i Wdot_i^T = 0``."""
    net, W = pair
    Wdot = [-g for g in net.gradient(W)]
    scale = 1.0 + max(np.abs(a).max() * np.abs(b).max() for a, b in zip(W, Wdot))
    for i in range(net.depth - 1):
        dC = Wdot[i + 1].T @ W[i + 1] + W[i + 1].T @ Wdot[i + 1] - Wdot[i] @ W[i].T - W[i] @ Wdot[i].T
        np.testing.assert_allclose(dC, 0.0, atol=1e-11 * scale * max(net.widths) ** net.depth)


@given(lst.networks_and_weights())
def test_Q_is_block_diagonal_and_JQJ_matches_layers(pair):
    net, W = pair
    A = ls.adjacency(W)
    Qa = literal.Q(A)
    o = offsets(net.widths)
    blocks = np.zeros_like(Qa, dtype=bool)
    for k in range(net.depth + 1):
        blocks[o[k] : o[k + 1], o[k] : o[k + 1]] = True
    atol = 1e-12 * (1 + np.abs(Qa).max())
    np.testing.assert_allclose(Qa[~blocks], 0.0, atol=atol)
    J = np.diag([0.0] * net.widths[0] + [1.0] * (net.n_nodes - net.widths[0] - net.widths[-1]) + [0.0] * net.widths[-1])
    np.testing.assert_allclose(ls.conserved_adjacency(W), J @ Qa @ J, atol=atol)
    np.testing.assert_allclose(ls.conserved_adjacency(A, widths=net.widths), J @ Qa @ J, atol=atol)
    # the outer blocks are W_1^T W_1 and -W_h W_h^T
    np.testing.assert_allclose(Qa[: o[1], : o[1]], W[0].T @ W[0], atol=atol)
    np.testing.assert_allclose(Qa[o[-2] :, o[-2] :], -W[-1] @ W[-1].T, atol=atol)


def test_conserved_convention_flips_sign(rng):
    net = ls.LinearNetwork([2, 3, 4, 2], [1.0, 0.5])
    W = ls.init.gaussian(net, 1.0, rng=rng)
    a = ls.conserved_quantities(W)
    b = ls.conserved_quantities(W, convention="AAT-ATA")
    assert len(a) == 2 and a[0].shape == (3, 3) and a[1].shape == (4, 4)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, -y)
        np.testing.assert_allclose(x, x.T)
    with pytest.raises(ValueError, match=r"convention must be one of \['ATA-AAT', 'AAT-ATA'\]; got 'up'"):
        ls.conserved_quantities(W, convention="up")


@given(lst.networks(max_depth=5).flatmap(lambda n: lst.balanced_weights(n).map(lambda W: (n, W))))
def test_balanced_weights_are_zero_balanced(pair):
    net, W = pair
    assert ls.is_balanced(W)
    assert ls.is_delta_balanced(W, 1e-9 * (1 + max(np.abs(w).max() for w in W)) ** 2)


def test_balance_measure_is_largest_frobenius_norm_of_C(rng):
    W = [np.array([[1.0]]), np.array([[2.0]]), np.array([[0.5]])]
    # C_1 = 4 - 1 = 3, C_2 = 0.25 - 4 = -3.75
    assert ls.balance_measure(W) == pytest.approx(3.75)
    assert ls.is_delta_balanced(W, 3.75) and not ls.is_delta_balanced(W, 3.7)
    assert not ls.is_balanced(W)
    assert ls.balance_measure([np.ones((2, 3))]) == 0.0  # h = 1: no hidden layer


def test_balanced_init_shares_singular_values(rng):
    """0-balanced: every layer has the same nonzero singular values D, and P has D^h (spec 2.5)."""
    net = ls.LinearNetwork([3, 5, 4, 2], [2.0, 1.0])
    D = [1.5, 0.7]
    W = ls.init.balanced(net, rng=rng, singular_values=D)
    for w in W:
        np.testing.assert_allclose(np.linalg.svd(w, compute_uv=False)[:2], D, rtol=1e-12)
    np.testing.assert_allclose(np.linalg.svd(net.end_to_end(W), compute_uv=False), np.power(D, 3), rtol=1e-12)
