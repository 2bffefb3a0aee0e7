"""DeepLinearRegressor (scikit-learn estimator) and the real data sets."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

import landscape as ls
from landscape import datasets
from landscape.estimator import DeepLinearRegressor


def _array_api_input_check_in_a_subprocess(name="DeepLinearRegressor",
                                            construct="DeepLinearRegressor(hidden_widths=(8,), random_state=0)"):
    """scikit-learn skips ``check_array_api_input`` unless ``SCIPY_ARRAY_API=1`` is set before
    scipy is imported: run it for real in a fresh interpreter with the variable set."""
    import os
    import subprocess
    import sys

    code = ("import warnings\n"
            "from sklearn.exceptions import ConvergenceWarning\n"
            "warnings.simplefilter('ignore', ConvergenceWarning)\n"
            "from sklearn.utils.estimator_checks import check_array_api_input\n"
            f"from landscape.estimator import {name}\n"
            f"check_array_api_input({name!r}, {construct}, array_namespace='numpy')\n"
            "print('array api check passed')\n")
    env = dict(os.environ, SCIPY_ARRAY_API="1")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "array api check passed" in done.stdout


@parametrize_with_checks([DeepLinearRegressor(hidden_widths=(8,), random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    if "check_array_api_input" in str(check):
        _array_api_input_check_in_a_subprocess()
    else:
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


# ---------------------------------------------- convergence status (issue 10 item 8)
def least_squares(X, Y):
    return LinearRegression().fit(X, Y)


def test_balanced_start_on_linnerud_reaches_least_squares_without_warning():
    """random_state=1 draws det P(0) < 0; a 0-balanced flow keeps that sign and used to stall at S = {1,2}."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    data = datasets.linnerud()
    model = DeepLinearRegressor(hidden_widths=(3, 3), init="balanced", random_state=1, method="dopri5")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model.fit(data.X, data.Y)
    net = model.network_
    W0 = ls.init.balanced(net, 0.1, rng=np.random.default_rng(1))
    assert np.linalg.det(net.end_to_end(W0)) < 0  # the draw that stalled
    lr = least_squares(data.X, data.Y)
    np.testing.assert_allclose(model.coef_, lr.coef_, atol=1e-5 * np.abs(lr.coef_).max())
    assert model.converged_ and model.status_ == "converged"
    tol = model.tol * (1 + 0.5 * np.sum(net.sigma**2))
    assert 0 <= model.loss_gap_ <= 2 * tol  # the event locates the crossing to the integrator tolerance
    assert model.loss_gap_ < 1e-3 * net.sigma[-1] ** 2 / 2  # far below the stall value sigma_3^2 / 2
    W_end = net.unflatten(model.trajectory_.theta_final.values)
    assert ls.is_balanced(W_end, rtol=1e-6)  # the sign flip kept the start 0-balanced


def test_fit_that_stops_short_warns_and_records_why():
    from sklearn.exceptions import ConvergenceWarning

    data = datasets.linnerud()
    model = DeepLinearRegressor(hidden_widths=(3,), t_end=0.01, random_state=0, method="dopri5")
    with pytest.warns(ConvergenceWarning, match="did not reach the least-squares fit"):
        model.fit(data.X, data.Y)
    assert not model.converged_ and model.status_ == "not_converged"
    assert model.network_.rank == 3  # L* = 0: the gap is the final loss
    assert model.loss_gap_ == pytest.approx(float(model.trajectory_.loss_final), rel=1e-12) and model.loss_gap_ > 1.0
    # a start at a critical point: W = 0 never moves, the fit ends at the saddle {} and says so
    model = DeepLinearRegressor(hidden_widths=(3, 3), init="balanced", init_scale=0.0, t_end=10.0, random_state=0,
                                method="dopri5")
    with pytest.warns(ConvergenceWarning, match=r"stalled near the saddle S = \{\}"):
        model.fit(data.X, data.Y)
    assert not model.converged_ and model.status_ == "saddle"
    assert model.loss_gap_ == pytest.approx(0.5 * np.sum(model.network_.sigma**2), rel=1e-12)


def test_fit_that_ends_before_the_first_stored_time_keeps_its_trajectory():
    """On diabetes the loss threshold is reached at t ~ 0.28, before the log grid's first time t_end * 1e-4 = 1."""
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    model = DeepLinearRegressor(random_state=0, method="dopri5").fit(X, y)
    traj = model.trajectory_
    t_final = float(traj.t_final)
    stored = ~np.isnan(traj.theta.values).any(axis=1)
    assert t_final < 1.0 and stored.sum() >= 100
    assert model.converged_
    assert traj.time.values[stored][-1] <= t_final < 2 * traj.time.values[stored][-1]  # the grid covers the fit
    assert np.all(np.diff(traj.loss.values[stored]) <= 0)
    W1, W2 = model.network_.to_data_coordinates(model.network_.unflatten(traj.theta_final.values))
    np.testing.assert_allclose(model.coef_, (W2 @ W1)[0], rtol=1e-12)  # the coefficients are the trajectory's end
    lr = least_squares(X, y)
    np.testing.assert_allclose(model.coef_, lr.coef_, atol=1e-5 * np.abs(lr.coef_).max())
