"""LinearNetwork: properties, target matrices, and the data reduction (spec 1.2)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import landscape as ls
from landscape.testing import strategies as lst


def test_properties_of_a_rectangular_network():
    net = ls.LinearNetwork([3, 4, 2, 5, 3], [3.0, 2.0])
    assert net.depth == 4
    assert net.widths == (3, 4, 2, 5, 3)
    assert net.n_params == 12 + 8 + 10 + 15
    assert net.n_nodes == 17
    assert net.rank == 2 and net.rho == 2
    np.testing.assert_array_equal(net.sigma, [3.0, 2.0, 0.0])
    assert net.Sigma.shape == (3, 3) and net.Sigma[1, 1] == 2.0 and net.Sigma[2, 2] == 0.0
    assert repr(net) == "LinearNetwork(widths=[3, 4, 2, 5, 3], sigma=[3., 2., 0.], loss='squared')"


def test_scalar_sigma_is_one_singular_value():
    net = ls.LinearNetwork([1, 1, 1], 3)
    np.testing.assert_array_equal(net.Sigma, [[3.0]])


@given(lst.widths(max_depth=4, max_width=5), st.integers(0, 2**32 - 1))
def test_target_matrix_is_reduced_by_its_svd(widths, seed):
    rng = np.random.default_rng(seed)
    T = rng.standard_normal((widths[-1], widths[0]))
    net = ls.LinearNetwork(widths, T)
    np.testing.assert_allclose(net.U @ net.Sigma @ net.V.T, T, atol=1e-12)
    assert np.all(np.diff(net.sigma) <= 1e-15)
    W = ls.init.gaussian(net, 0.7, rng=rng)
    Wd = net.to_data_coordinates(W)
    P_data = Wd[-1] if net.depth == 1 else np.linalg.multi_dot(Wd[::-1])
    # the loss against T in data coordinates equals the reduced loss
    assert 0.5 * np.sum((T - P_data) ** 2) == pytest.approx(net.loss(W), rel=1e-10, abs=1e-12)
    back = net.from_data_coordinates(Wd)
    for a, b in zip(W, back):
        np.testing.assert_allclose(a, b, atol=1e-12)


@pytest.mark.parametrize("hidden", [[], [4], [2, 5]])
def test_from_data_whitened_loss_equals_averaged_raw_loss(hidden, rng):
    d0, dh, N = 3, 2, 40
    X = rng.standard_normal((d0, N)) * np.array([[3.0], [0.5], [1.0]]) + 0.3
    Y = rng.standard_normal((dh, d0)) @ X + 0.1 * rng.standard_normal((dh, N))
    net = ls.LinearNetwork.from_data(X, Y, hidden_widths=hidden)
    assert net.widths == (d0, *hidden, dh)
    for _ in range(3):
        W = ls.init.gaussian(net, 0.8, rng=rng)
        Wd = net.to_data_coordinates(W)
        P = Wd[0]
        for w in Wd[1:]:
            P = w @ P
        raw = 0.5 * np.sum((Y - P @ X) ** 2) / N
        assert net.loss(W) + net.loss_offset == pytest.approx(raw, rel=1e-10)


def test_from_data_least_squares_is_the_global_minimum(rng):
    """With enough width the minimum of the reduced loss is the least-squares map."""
    X = rng.standard_normal((3, 60))
    Y = rng.standard_normal((2, 3)) @ X + 0.05 * rng.standard_normal((2, 60))
    net = ls.LinearNetwork.from_data(X, Y, hidden_widths=[3])
    B_ls = np.linalg.lstsq(X.T, Y.T, rcond=None)[0].T
    # global minimum in reduced coordinates: P = Sigma, then map back
    W = [np.eye(3, 3) @ np.diag(np.sqrt(np.append(net.sigma, 0)[:3])), np.zeros((2, 3))]
    W[1][:, :2] = np.diag(np.sqrt(net.sigma))
    W[0] = np.zeros((3, 3))
    W[0][:2, :2] = np.diag(np.sqrt(net.sigma))
    assert net.loss(W) == pytest.approx(0.0, abs=1e-20)
    Wd = net.to_data_coordinates(W)
    np.testing.assert_allclose(Wd[1] @ Wd[0], B_ls, atol=1e-10)


def test_from_data_without_whitening_warns_on_non_white_inputs(rng):
    X = rng.standard_normal((2, 30)) * 5
    with pytest.warns(UserWarning, match="whiten=False"):
        ls.LinearNetwork.from_data(X, X, hidden_widths=[2], whiten=False)


def test_from_data_without_whitening_on_white_inputs(rng):
    Q, _ = np.linalg.qr(rng.standard_normal((50, 3)))
    X = Q.T * np.sqrt(50)  # X X^T / N = I
    Y = np.diag([3.0, 2.0]) @ X[:2]
    net = ls.LinearNetwork.from_data(X, Y, hidden_widths=[3], whiten=False)
    np.testing.assert_allclose(net.sigma, [3.0, 2.0], atol=1e-12)


def test_summary_reports_loss_and_gradient_norm():
    net = ls.LinearNetwork([1, 1, 1], 3.0)
    s = net.summary([np.array([[1.0]]), np.array([[2.0]])])
    assert s["loss"] == pytest.approx(0.5)
    # grad = -(3 - 2) * (2, 1)
    assert s["gradient_norm"] == pytest.approx(np.sqrt(5))
    assert s["balance"] == pytest.approx(3.0)
