"""DeepLinearRegressor (scikit-learn estimator) and the real data sets."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

import landscape as ls
from landscape import datasets
from landscape.estimator import DeepLinearRegressor


@parametrize_with_checks([DeepLinearRegressor(hidden_widths=(8,), random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("loader", [datasets.linnerud, datasets.iris, datasets.digits])
def test_reaches_the_least_squares_fit_with_default_settings(loader):
    data = loader()
    model = DeepLinearRegressor(hidden_widths=(64,), random_state=0).fit(data.X, data.Y)
    lr = LinearRegression().fit(data.X, data.Y)
    scale = np.abs(lr.coef_).max()
    np.testing.assert_allclose(model.coef_, lr.coef_, atol=1e-5 * scale)
    np.testing.assert_allclose(model.intercept_, lr.intercept_, atol=1e-6 * (1 + np.abs(lr.intercept_).max()))
    assert model.score(data.X, data.Y) == pytest.approx(lr.score(data.X, data.Y), abs=1e-9)
    assert model.trajectory_.attrs["landscape_kind"] == "trajectory"
    assert model.itinerary_.sizes["stage"] >= 1


def test_default_estimator_on_a_simple_problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.7
    model = DeepLinearRegressor(random_state=0).fit(X, y)
    np.testing.assert_allclose(model.coef_, [1.0, -2.0, 0.5, 0.0, 3.0], atol=1e-6)
    assert model.intercept_ == pytest.approx(0.7, abs=1e-6)


def test_bottleneck_gives_reduced_rank_regression():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    B = rng.normal(size=(3, 4))
    Y = X @ B.T
    model = DeepLinearRegressor(hidden_widths=(1,), random_state=0).fit(X, Y)
    assert np.linalg.matrix_rank(model.coef_, tol=1e-8) == 1
    # the best rank-1 fit for white-ish inputs: compare with the truncated SVD of the LS map in whitened coordinates
    net = model.network_
    assert float(model.trajectory_.loss_final) == pytest.approx(0.5 * float(np.sum(net.sigma[1:] ** 2)), rel=1e-6)


@pytest.mark.parametrize("loader, shape", [(datasets.linnerud, (20, 3, 3)), (datasets.iris, (150, 4, 3)),
                                           (datasets.digits, (1797, 64, 10))])
def test_datasets_shapes_and_loss_offset(loader, shape):
    data = loader()
    n, d_in, d_out = shape
    assert data.X.shape == (n, d_in) and data.Y.shape == (n, d_out)
    net = data.net
    W = ls.init.gaussian(net, 0.3, rng=0)
    Wd = net.to_data_coordinates(W)
    P = Wd[0]
    for w in Wd[1:]:
        P = w @ P
    raw = 0.5 * np.sum((data.Y - data.X @ P.T) ** 2) / n
    assert net.loss(W) + net.loss_offset == pytest.approx(raw, rel=1e-9)


def test_digits_drops_constant_pixels():
    data = datasets.digits()
    constant = np.sum(data.X.std(axis=0) == 0)
    assert data.net.widths[0] == 64 - constant
