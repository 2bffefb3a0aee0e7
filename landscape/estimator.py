"""``DeepLinearRegressor``: a scikit-learn estimator fit by the gradient flow of a deep linear network."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .core import kernels

__all__ = ["DeepLinearRegressor"]


class DeepLinearRegressor(RegressorMixin, BaseEstimator):
    """Linear regression by a deep linear network trained with gradient flow.

    The inputs are centred (with ``fit_intercept``) and whitened on their range, the
    problem is reduced to ``L = 1/2 ||Sigma - W_h ... W_1||_F^2`` (spec 1.2), and the flow
    is integrated from the chosen initialisation until the loss is within ``tol`` of the
    global minimum (or ``t_end``). When every hidden width is at least the rank of the
    data, the limit is the least-squares fit (minimum norm on rank-deficient inputs);
    narrower hidden layers give the best rank-r fit (reduced-rank regression).

    Parameters
    ----------
    hidden_widths : tuple of int, default=(32,)
        ``[d_1, ..., d_{h-1}]`` (the depth is ``len(hidden_widths) + 1``).
    init : {"gaussian", "balanced", "orthogonal", "identity"}, default="gaussian"
    init_scale : float, default=0.1
        Scale of the initialisation (small: sequential learning, visible in ``itinerary_``).
    t_end : float, default=1e4
    tol : float, default=1e-14
        Stop when the reduced loss is below its minimum plus ``tol * (1 + L(0))``.
    method : str, default="auto"
        Integrator (see :func:`landscape.gradient_flow`).
    fit_intercept : bool, default=True
    random_state : None, int or numpy.random.Generator, default=None

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    network_ : LinearNetwork
        The reduced network that was trained.
    weights_ : list of ndarray
        The trained layers in data coordinates.
    trajectory_ : xarray.Dataset
        The gradient-flow trajectory (reduced coordinates).
    itinerary_ : xarray.Dataset
        Its saddle-to-saddle route.
    n_features_in_ : int

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3)); y = X @ [1.0, -2.0, 0.5] + 0.3
    >>> model = DeepLinearRegressor(hidden_widths=(4,), random_state=0).fit(X, y)
    >>> np.round(model.coef_, 6).tolist(), round(float(model.intercept_), 6)
    ([1.0, -2.0, 0.5], 0.3)
    """

    def __init__(self, hidden_widths=(32,), init="gaussian", init_scale=0.1, t_end=1e4, tol=1e-14, method="auto",
                 fit_intercept=True, random_state=None):
        self.hidden_widths = hidden_widths
        self.init = init
        self.init_scale = init_scale
        self.t_end = t_end
        self.tol = tol
        self.method = method
        self.fit_intercept = fit_intercept
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y):
        """Fit by gradient flow. ``X`` (n_samples, n_features), ``y`` (n_samples,) or (n_samples, n_targets)."""
        from . import init as inits
        from .core import LinearNetwork
        from .dynamics import gradient_flow, itinerary

        X, y = validate_data(self, X, y, y_numeric=True, multi_output=True, dtype=np.float64)
        if self.init not in ("gaussian", "balanced", "orthogonal", "identity"):
            raise ValueError(f"init must be one of 'gaussian', 'balanced', 'orthogonal', 'identity'; got {self.init!r}.")
        Y = y[:, None] if y.ndim == 1 else y
        x_mean = X.mean(axis=0) if self.fit_intercept else np.zeros(X.shape[1])
        y_mean = Y.mean(axis=0) if self.fit_intercept else np.zeros(Y.shape[1])
        Xc, Yc = X - x_mean, Y - y_mean
        d_out = Y.shape[1]
        coef = np.zeros((d_out, X.shape[1]))
        self.network_ = self.trajectory_ = self.itinerary_ = None
        if np.any(Xc) and np.linalg.norm(Xc) > 0:
            net = LinearNetwork.from_data(Xc.T, Yc.T, list(self.hidden_widths), whiten=True, rcond=1e-10)
            self.network_ = net
            if net.rho > 0:
                rng = np.random.default_rng(self.random_state) if not isinstance(self.random_state, np.random.Generator) \
                    else self.random_state
                W0 = getattr(inits, self.init)(net, self.init_scale, rng=rng)
                L_star = 0.5 * float(np.sum(np.sort(net.sigma)[::-1][net.rank:] ** 2))
                threshold = L_star + self.tol * (1.0 + 0.5 * float(np.sum(net.sigma**2)))
                traj = gradient_flow(net, W0, float(self.t_end), method=self.method, times="log", n_points=200,
                                     loss_below=threshold, progress=False)
                self.trajectory_ = traj
                self.itinerary_ = itinerary(traj, net)
                W = net.to_data_coordinates(net.unflatten(traj["theta_final"].values))
                self.weights_ = W
                coef = kernels.prefix_products(W)[-1]
        intercept = y_mean - coef @ x_mean
        if y.ndim == 1:
            self.coef_, self.intercept_ = coef[0], float(intercept[0])
        else:
            self.coef_, self.intercept_ = coef, intercept
        return self

    def predict(self, X):
        """``X @ coef_.T + intercept_``."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ np.asarray(self.coef_).T + self.intercept_
