"""``DeepLinearRegressor``: a scikit-learn estimator fit by the gradient flow of a deep linear network."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .core import kernels

__all__ = ["DeepLinearRegressor"]


def _sign_aligned(net, W0):
    """Negate the last column of ``W_1`` when the reduced problem is square and ``det P(0) < 0``.

    A 0-balanced flow keeps the sign of ``det P`` (its singular values cannot cross 0), so
    from ``det P(0) < 0`` it can only approach a saddle. The reflection keeps every
    ``C_i = W_{i+1}^T W_{i+1} - W_i W_i^T`` (``W_1 W_1^T`` is unchanged).

    Parameters
    ----------
    net : LinearNetwork
    W0 : list of ndarray, shapes (d_i, d_{i-1})

    Returns
    -------
    list of ndarray
    """
    d0, dh = net.widths[0], net.widths[-1]
    if net.depth < 2 or d0 != dh or np.linalg.det(kernels.prefix_products(W0)[-1]) >= 0:
        return W0
    W1 = np.array(W0[0], dtype=float, copy=True)
    W1[:, -1] *= -1.0
    return [W1] + list(W0[1:])


class DeepLinearRegressor(RegressorMixin, BaseEstimator):
    """Linear regression by a deep linear network trained with gradient flow.

    The inputs are centred (with ``fit_intercept``) and whitened on their range, the
    problem is reduced to ``L = 1/2 ||Sigma - W_h ... W_1||_F^2`` (spec 1.2), and the flow
    is integrated from the chosen initialisation until the loss is within
    ``tol * (1 + L_{})`` of the global minimum ``L*`` (``L_{} = 1/2 ||Sigma||_F^2``, the
    loss at ``P = 0``), or until ``t_end``. When every hidden width is at least the rank
    of the data, the global minimum is the least-squares fit (minimum norm on
    rank-deficient inputs); narrower hidden layers give the best rank-r fit (reduced-rank
    regression).

    The flow can stop short of that minimum: ``t_end`` too small, or a start from which it
    approaches a saddle (spec 3.3, 6.5). Whenever the fit ends without reaching
    ``L* + tol * (1 + L_{})`` it says so: ``converged_`` is False, ``status_`` says why, and a
    :class:`sklearn.exceptions.ConvergenceWarning` is raised. One such start is removed:
    on a square reduced problem (``d_0 = d_h``, ``h >= 2``) a 0-balanced start with
    ``det P(0) < 0`` can never reach ``Sigma`` (a 0-balanced flow keeps the sign of
    ``det P``, spec 2.5 and 6.3) and stalls at a saddle, so when ``det P(0) < 0`` the
    last column of ``W_1`` is negated (``P(0) -> P(0) diag(1, ..., 1, -1)``). This leaves
    every conserved ``C_i`` unchanged (balanced starts stay balanced) and every offered
    initialisation's distribution too (each is symmetric under that reflection).

    Parameters
    ----------
    hidden_widths : tuple of int, default=(32,)
        ``[d_1, ..., d_{h-1}]`` (the depth is ``len(hidden_widths) + 1``).
    init : {"gaussian", "balanced", "orthogonal", "identity"}, default="gaussian"
    init_scale : float, default=0.1
        Scale of the initialisation (small: sequential learning, visible in ``itinerary_``).
    t_end : float, default=1e4
        Longest flow time.
    tol : float, default=1e-14
        Stop (and call the fit converged) when the reduced loss is at most
        ``L* + tol * (1 + 1/2 ||Sigma||_F^2)``.
    method : str, default="auto"
        Integrator (see :func:`landscape.gradient_flow`).
    fit_intercept : bool, default=True
    random_state : None, int or numpy.random.Generator, default=None

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    converged_ : bool
        The fit ended within the tolerance of the global minimum (least squares): its loss
        reached ``L* + tol * (1 + L_{})`` (the stopping event fired; it locates the crossing
        to the integrator's tolerance).
    status_ : {"converged", "saddle", "not_converged"}
        ``"saddle"``: the flow ended near a saddle (``itinerary_.attrs["end"]`` names it);
        ``"not_converged"``: it ended elsewhere above the tolerance (e.g. ``t_end`` reached
        while still moving, or an integrator failure: see ``trajectory_.status``).
    loss_gap_ : float
        ``L - L*`` at the end of the fit (reduced loss; 0 when there was nothing to fit).
    network_ : LinearNetwork
        The reduced network that was trained.
    weights_ : list of ndarray
        The trained layers in data coordinates.
    trajectory_ : xarray.Dataset
        The gradient-flow trajectory (reduced coordinates), from ``t = 0`` to the end of
        the fit with about 200 log-spaced stored times, however early the fit ends.
    itinerary_ : xarray.Dataset
        Its saddle-to-saddle route (:func:`landscape.itinerary`).
    n_features_in_ : int

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3)); y = X @ [1.0, -2.0, 0.5] + 0.3
    >>> model = DeepLinearRegressor(hidden_widths=(4,), random_state=0).fit(X, y)
    >>> np.round(model.coef_, 6).tolist(), round(float(model.intercept_), 6), model.converged_
    ([1.0, -2.0, 0.5], 0.3, True)
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
        from .dynamics import itinerary

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
        self.converged_, self.status_, self.loss_gap_ = True, "converged", 0.0
        if np.any(Xc) and np.linalg.norm(Xc) > 0:
            net = LinearNetwork.from_data(Xc.T, Yc.T, list(self.hidden_widths), whiten=True, rcond=1e-10)
            self.network_ = net
            if net.rho > 0:
                rng = np.random.default_rng(self.random_state) if not isinstance(self.random_state, np.random.Generator) \
                    else self.random_state
                W0 = _sign_aligned(net, getattr(inits, self.init)(net, self.init_scale, rng=rng))
                L_star = 0.5 * float(np.sum(np.sort(net.sigma)[::-1][net.rank:] ** 2))
                threshold = L_star + self.tol * (1.0 + 0.5 * float(np.sum(net.sigma**2)))
                traj = self._flow(net, W0, float(self.t_end), threshold)
                self.trajectory_ = traj
                self.itinerary_ = itinerary(traj, net)
                W = net.to_data_coordinates(net.unflatten(traj["theta_final"].values))
                self.weights_ = W
                coef = kernels.prefix_products(W)[-1]
                self._set_status(traj, L_star, threshold)
        intercept = y_mean - coef @ x_mean
        if y.ndim == 1:
            self.coef_, self.intercept_ = coef[0], float(intercept[0])
        else:
            self.coef_, self.intercept_ = coef, intercept
        return self

    def _flow(self, net, W0, t_end, threshold, n_points=200):
        """Integrate until the loss reaches ``threshold``; keep a stored trajectory however early that is.

        The log-spaced output grid starts at ``t_end * 1e-4``; a fit that ends before a
        quarter of the grid is reached is integrated again on a grid that ends where it did
        (``2 t_final``, stopped by the same event), so ``trajectory_`` always shows the fit.
        """
        from .dynamics import gradient_flow

        def run(t_stop, t_min):
            return gradient_flow(net, W0, t_stop, method=self.method, times="log", n_points=n_points, t_min=t_min,
                                 loss_below=threshold, progress=False)

        traj = run(t_end, None)
        t_final = float(traj["t_final"])
        n_stored = int(np.sum(~np.isnan(traj["theta"].values).any(axis=-1)))
        if str(traj["status"].values) == "event" and t_final > 0 and n_stored < n_points // 4:
            traj = run(2.0 * t_final, 1e-4 * t_final)
        return traj

    def _set_status(self, traj, L_star, threshold):
        """Record whether the fit reached least squares, and warn when it did not."""
        from sklearn.exceptions import ConvergenceWarning

        loss = float(traj["loss_final"])
        self.loss_gap_ = loss - L_star
        # the stopping event locates the crossing of the threshold to the integrator's tolerance
        self.converged_ = bool(np.isfinite(loss) and (loss <= threshold or str(traj["status"].values) == "event"))
        if self.converged_:
            self.status_ = "converged"
            return
        it = self.itinerary_
        end = str(it.attrs["end"])
        at_saddle = end != "none" and it.sizes["stage"] > 0 and str(it["subset"].values[-1]) == end \
            and bool(it["saddle"].values[-1])
        self.status_ = "saddle" if at_saddle else "not_converged"
        where = (f"it stalled near the saddle S = {end} (critical value L_S = {float(it['plateau_loss'].values[-1]):.6g})"
                 if at_saddle else f"the integrator ended with status {str(traj['status'].values)!r} at "
                                   f"t = {float(traj['t_final']):.6g}")
        warnings.warn(
            f"DeepLinearRegressor did not reach the least-squares fit: the reduced loss is {self.loss_gap_:.3g} above "
            f"its minimum (tolerance {threshold - L_star:.3g}); {where}. Increase t_end, or change init, init_scale "
            f"or random_state.", ConvergenceWarning, stacklevel=3)

    def predict(self, X):
        """``X @ coef_.T + intercept_``."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ np.asarray(self.coef_).T + self.intercept_
