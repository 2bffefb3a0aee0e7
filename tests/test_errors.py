"""Bad input gets a clear error naming the argument, the expectation and what came."""

import numpy as np
import pytest

import landscape as ls
from landscape.errors import BlockStructureError, LandscapeError, SigmaError, WeightsError, WidthsError


@pytest.mark.parametrize(
    "widths, match",
    [
        ([3], r"widths must list at least two layer widths \[d_0, d_1\] \(depth h >= 1\); got 1 value"),
        ([3, 0, 2], r"widths\[1\] must be an integer >= 1; got 0"),
        ([3, -1], r"widths\[1\] must be an integer >= 1; got -1"),
        ([3, 2.5], r"widths must contain positive integers; widths\[1\] is 2.5"),
        ([2, True, 2], r"widths must contain positive integers; widths\[1\] is True"),
        ([2, np.bool_(True), 2], r"widths must contain positive integers; widths\[1\] is"),
        ("33", r"widths must be a sequence \[d_0, \.\.\., d_h\] of positive integers; got '33'"),
        (5, r"widths must be a sequence"),
    ],
)
def test_bad_widths(widths, match):
    with pytest.raises(WidthsError, match=match):
        ls.LinearNetwork(widths, [1.0])


@pytest.mark.parametrize(
    "sigma, match",
    [
        ([3.0, -1.0], r"sigma must be non-negative singular values; got \[3.0, -1.0\]"),
        ([3.0, np.nan], r"sigma must be finite; got a non-finite entry nan at index \(1,\)"),
        ([np.inf], r"sigma must be finite; got a non-finite entry inf"),
        ([3.0, 2.0, 1.0], r"sigma has too many singular values: at most min\(d_0, d_h\) = 2 for widths \[2, 3, 4\]; got 3"),
        (np.ones((2, 4)), r"sigma as a target matrix must have shape \(d_h, d_0\) = \(4, 2\); got shape \(2, 4\)"),
        (np.ones((1, 2, 4)), r"sigma must be 1-D singular values or a 2-D \(d_h, d_0\) matrix; got shape \(1, 2, 4\)"),
    ],
)
def test_bad_sigma(sigma, match):
    with pytest.raises(SigmaError, match=match):
        ls.LinearNetwork([2, 3, 4], sigma)


@pytest.fixture
def net():
    return ls.LinearNetwork([2, 3, 2], [2.0, 1.0])


def test_weight_list_of_wrong_length(net):
    with pytest.raises(WeightsError, match=r"W must hold h = 2 weight matrices for widths \[2, 3, 2\]; got 3"):
        net.loss([np.zeros((3, 2))] * 3)


def test_weight_of_wrong_shape(net):
    with pytest.raises(WeightsError, match=r"W\[1\] \(W_2\) must have shape \(2, 3\); got shape \(3, 2\)"):
        net.gradient([np.zeros((3, 2)), np.zeros((3, 2))])


def test_weight_with_non_finite_entry(net):
    W = [np.zeros((3, 2)), np.zeros((2, 3))]
    W[0][1, 1] = np.nan
    with pytest.raises(WeightsError, match=r"W\[0\] \(W_1\) must be finite; got a non-finite entry nan at index \(1, 1\)"):
        net.loss(W)


def test_direction_of_wrong_shape_names_V(net):
    W = [np.zeros((3, 2)), np.zeros((2, 3))]
    with pytest.raises(WeightsError, match=r"V\[0\] \(W_1\) must have shape \(3, 2\)"):
        net.hvp(W, [np.zeros((2, 2)), np.zeros((2, 3))])


def test_array_of_wrong_shape(net):
    with pytest.raises(WeightsError, match=r"W must be a list of 2 weight matrices \[W_1, \.\.\., W_h\] or an adjacency matrix of shape \(7, 7\); got an array of shape \(3, 2\)"):
        net.loss(np.zeros((3, 2)))


def test_weights_not_a_list(net):
    with pytest.raises(TypeError, match=r"W must be a list \[W_1, \.\.\., W_h\] or an \(n_v, n_v\) adjacency matrix; got 3.0"):
        net.loss(3.0)


def test_adjacency_with_entry_outside_block_subdiagonal_names_the_block(net):
    A = ls.adjacency([np.ones((3, 2)), np.ones((2, 3))])
    A[6, 0] = 0.5  # layer 2 row, layer 0 column: the A^2 position
    with pytest.raises(BlockStructureError, match=r"block \(row layer 2, column layer 0\) has the entry A\[6, 0\] = 0.5"):
        net.loss(A)
    A[6, 0] = 0.0
    A[0, 3] = -1.0  # above the diagonal
    with pytest.raises(BlockStructureError, match=r"block \(row layer 0, column layer 1\)"):
        ls.weights_from_adjacency(A, net.widths)


def test_adjacency_of_non_chaining_layers():
    with pytest.raises(WeightsError, match=r"W\[1\] \(W_2\) must have 3 columns to follow W\[0\] of shape \(3, 2\); got shape \(2, 2\)"):
        ls.adjacency([np.ones((3, 2)), np.ones((2, 2))])


def test_from_data_with_rows_as_samples_hints_at_transpose():
    X = np.ones((10, 3))
    Y = np.ones((10, 2))
    with pytest.raises(SigmaError, match=r"samples go in columns: pass X.T and Y.T"):
        ls.LinearNetwork.from_data(X, Y)


def test_from_data_with_singular_inputs(rng):
    X = np.vstack([rng.standard_normal((1, 20))] * 2)
    with pytest.raises(SigmaError, match="X must have full row rank to whiten the inputs"):
        ls.LinearNetwork.from_data(X, X)


def test_dense_hessian_refuses_huge_networks():
    big = ls.LinearNetwork([80, 80, 80], [1.0])
    with pytest.raises(WeightsError, match=r"Use net.hessian_operator\(W\) instead"):
        big.hessian([np.zeros((80, 80))] * 2)


def test_init_scale_must_be_non_negative(net):
    with pytest.raises(ValueError, match=r"scale must be a finite number >= 0; got -1.0"):
        ls.init.gaussian(net, -1.0, rng=0)
    with pytest.raises(TypeError, match=r"rng must be None, an integer seed or a numpy.random.Generator; got 'x'"):
        ls.init.gaussian(net, 1.0, rng="x")


def test_every_error_is_a_landscape_error_and_a_builtin():
    for cls in (WidthsError, SigmaError, WeightsError, BlockStructureError):
        assert issubclass(cls, LandscapeError) and issubclass(cls, ValueError)


def test_flow_entry_points_name_a_network_that_is_not_one(net):
    W = ls.init.gaussian(net, 0.1, rng=0)
    with pytest.raises(TypeError, match=r"net must be a landscape.LinearNetwork; got 'net'"):
        ls.gradient_flow("net", W, 1.0)
    with pytest.raises(TypeError, match=r"net must be a landscape.LinearNetwork; got 'net'"):
        ls.gradient_descent("net", W, 0.1, 10)


def test_divergence_threshold_below_one_is_refused(net):
    W = ls.init.gaussian(net, 0.1, rng=0)
    with pytest.raises(ValueError, match=r"divergence_threshold must be >= 1 .*got 0.5"):
        ls.gradient_descent(net, W, 0.1, 10, divergence_threshold=0.5)
