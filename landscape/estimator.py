"""Scikit-learn estimators fit by the gradient flow of a deep linear network.

:class:`DeepLinearRegressor` (the whitened squared loss) and :class:`DeepLinearClassifier`
(logistic / softmax cross-entropy loss, :mod:`landscape.losses`).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .core import kernels

__all__ = ["DeepLinearRegressor", "DeepLinearClassifier"]


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


def _flow_until(net, W0, t_end, method, n_points, **event):
    """Integrate until ``event`` fires (``loss_below=`` or ``gradient_norm_below=``) or ``t_end``.

    The log-spaced output grid starts at ``t_end * 1e-4``; a fit that ends before a quarter
    of the grid is reached is integrated again on a grid that ends where it did
    (``2 t_final``, stopped by the same event), so ``trajectory_`` always shows the fit.
    """
    from .dynamics import gradient_flow

    def run(t_stop, t_min):
        return gradient_flow(net, W0, t_stop, method=method, times="log", n_points=n_points, t_min=t_min,
                             progress=False, **event)

    traj = run(t_end, None)
    t_final = float(traj["t_final"])
    n_stored = int(np.sum(~np.isnan(traj["theta"].values).any(axis=-1)))
    if str(traj["status"].values) == "event" and t_final > 0 and n_stored < n_points // 4:
        traj = run(2.0 * t_final, 1e-4 * t_final)
    return traj


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
        """Integrate until the loss reaches ``threshold`` (see :func:`_flow_until`)."""
        return _flow_until(net, W0, t_end, self.method, n_points, loss_below=threshold)

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


class DeepLinearClassifier(ClassifierMixin, BaseEstimator):
    """Linear classification by a deep linear network trained with gradient flow.

    Two classes: the binary logistic loss ``l(P) = (1/m) sum_i log(1 + exp(-y_i P x_i))``
    (``d_h = 1``); more: the softmax cross-entropy (``d_h`` = number of classes)
    (:mod:`landscape.losses`, spec 8.2). The inputs are divided by their standard
    deviation (constant features left as they are) and, with ``fit_intercept``, centred
    and given a constant feature 1, so the bias is a column of the end-to-end matrix ``P``
    (spec 8.4); without it the decision function is linear (``intercept_ = 0``). The flow ``dW/dt = -grad L(W)`` is integrated from
    the chosen initialisation until the gradient norm falls to ``tol`` or ``t_end``.

    On linearly separable data the loss has no minimum: the flow drives it to 0 while
    ``||P||`` grows like ``log t`` and ``P / ||P||`` turns towards the maximum-margin
    separator (Ji & Telgarsky 2019), so "converged" means the gradient norm reached
    ``tol`` (the decision boundary has settled), not that a minimum was reached.

    Parameters
    ----------
    hidden_widths : tuple of int, default=(16,)
        ``[d_1, ..., d_{h-1}]`` (the depth is ``len(hidden_widths) + 1``).
    init : {"balanced", "gaussian", "orthogonal", "identity"}, default="balanced"
    init_scale : float, default=0.1
        Scale of the initialisation (small: the modes of ``P`` are learnt one after the
        other, visible in ``singular_values_`` and ``learning_order_``).
    t_end : float, default=1e3
        Longest flow time.
    tol : float, default=1e-3
        Stop (and call the fit converged) when ``||grad L||_F <= tol``.
    method : str, default="auto"
        Integrator (see :func:`landscape.gradient_flow`).
    fit_intercept : bool, default=True
    random_state : None, int or numpy.random.Generator, default=None

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        The end-to-end matrix in the original feature coordinates (one row for two classes,
        the decision function of ``classes_[1]``).
    intercept_ : ndarray of shape (1,) or (n_classes,)
    converged_ : bool
        The gradient norm reached ``tol`` (the stopping event fired).
    status_ : {"converged", "not_converged"}
    network_ : LinearNetwork
        The trained network (loss ``"logistic"`` or ``"cross_entropy"``, standardised inputs).
    weights_ : list of ndarray
        Its layers ``[W_1, ..., W_h]`` (standardised coordinates, bias column last).
    trajectory_ : xarray.Dataset
        The gradient-flow trajectory (about 200 log-spaced stored times).
    times_ : ndarray of shape (n_times,)
        The stored times of the trajectory, and the final time when the fit stopped
        between two of them.
    singular_values_ : ndarray of shape (n_times, n_modes)
        Singular values of the end-to-end matrix ``P(t)`` at ``times_`` (largest first).
    t_learnt_ : ndarray of shape (n_modes,)
        For each learnt mode (the k-th largest singular value), the first stored time at
        which it reached the geometric mean of its first and final values: the middle of
        its rise on a log scale. (Half of the final value, the quadratic loss's
        half-learning time, does not fit here: on separable data the singular values keep
        growing like ``log t``.) NaN for a mode that was not learnt: its final value is
        below 10 times its first one (e.g. the direction along which softmax is
        invariant) or below ``1e-8`` of the largest.
    learning_order_ : ndarray of shape (n_learnt,)
        Indices of the learnt modes sorted by ``t_learnt_`` (the order in which the modes were
        learnt; ``[0, 1, 2, ...]`` for largest-first sequential learning).
    n_features_in_ : int

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> model = DeepLinearClassifier(hidden_widths=(8,), random_state=0).fit(X, y)
    >>> round(model.score(X, y), 2), model.network_.loss_name
    (0.99, 'cross_entropy')
    """

    def __init__(self, hidden_widths=(16,), init="balanced", init_scale=0.1, t_end=1e3, tol=1e-3, method="auto",
                 fit_intercept=True, random_state=None):
        self.hidden_widths = hidden_widths
        self.init = init
        self.init_scale = init_scale
        self.t_end = t_end
        self.tol = tol
        self.method = method
        self.fit_intercept = fit_intercept
        self.random_state = random_state

    def _features(self, X):
        """Standardised inputs with the bias feature, as columns ``(d_0, n)``."""
        Z = (X - self._x_mean) / self._x_scale
        if self.fit_intercept:
            Z = np.hstack([Z, np.ones((Z.shape[0], 1))])
        return np.ascontiguousarray(Z.T)

    def fit(self, X, y):
        """Fit by gradient flow. ``X`` (n_samples, n_features), ``y`` (n_samples,) class labels."""
        from sklearn.utils.multiclass import check_classification_targets

        from . import init as inits
        from .core import LinearNetwork
        from .losses import CrossEntropyLoss, LogisticLoss

        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        if self.init not in ("gaussian", "balanced", "orthogonal", "identity"):
            raise ValueError(f"init must be one of 'gaussian', 'balanced', 'orthogonal', 'identity'; got {self.init!r}.")
        widths_in = tuple(self.hidden_widths)
        if any(not isinstance(w, (int, np.integer)) or isinstance(w, bool) or w < 1 for w in widths_in):
            raise ValueError(f"hidden_widths must be positive integers; got {self.hidden_widths!r}.")
        self.classes_, labels = np.unique(y, return_inverse=True)
        K = self.classes_.size
        if K < 2:
            raise ValueError(f"DeepLinearClassifier needs samples of at least 2 classes in y; got 1 class only "
                             f"({self.classes_[0]!r}).")
        self._x_mean = X.mean(axis=0) if self.fit_intercept else np.zeros(X.shape[1])  # no intercept: no centring
        scale = X.std(axis=0)
        self._x_scale = np.where(scale > 1e-12 * max(1.0, float(np.abs(X).max(initial=0.0))), scale, 1.0)
        Z = self._features(X)
        loss = LogisticLoss(Z, 2.0 * labels - 1.0) if K == 2 else CrossEntropyLoss(Z, labels, n_classes=K)
        net = LinearNetwork([Z.shape[0], *widths_in, loss.shape[0]], loss=loss)
        rng = np.random.default_rng(self.random_state) if not isinstance(self.random_state, np.random.Generator) \
            else self.random_state
        W0 = getattr(inits, self.init)(net, self.init_scale, rng=rng)
        traj = self._flow(net, W0, float(self.t_end))
        self.network_, self.trajectory_ = net, traj
        self.weights_ = net.unflatten(traj["theta_final"].values)
        self._set_itinerary(traj)
        self._set_coef(kernels.prefix_products(self.weights_)[-1])
        self._set_status(traj)
        return self

    def _flow(self, net, W0, t_end, n_points=200):
        """Integrate until the gradient norm falls to ``tol`` (see :func:`_flow_until`)."""
        return _flow_until(net, W0, t_end, self.method, n_points, gradient_norm_below=float(self.tol))

    def _set_itinerary(self, traj):
        """``times_``, ``singular_values_``, ``t_learnt_`` and ``learning_order_`` from the stored trajectory."""
        theta = traj["theta"].values
        keep = ~np.isnan(theta).any(axis=-1)
        self.times_ = traj["time"].values[keep]
        final = np.linalg.svd(kernels.prefix_products(self.weights_)[-1], compute_uv=False)
        sv = np.linalg.svd(kernels.prefix_products(self.network_.unflatten(theta[keep]))[-1], compute_uv=False) \
            if keep.any() else np.empty((0, final.size))
        t_final = float(traj["t_final"])
        if not self.times_.size or t_final > self.times_[-1]:  # a stop between stored times: add the end state
            self.times_ = np.append(self.times_, t_final)
            sv = np.vstack([sv, final])
        self.singular_values_ = sv
        start = self.singular_values_[0] if self.singular_values_.size else np.zeros_like(final)
        self.t_learnt_ = np.full(final.size, np.nan)
        for k, s in enumerate(final):
            if s > 1e-8 * max(final[0], 1e-300) and s >= 10.0 * start[k]:  # the mode grew: it was learnt
                reached = np.flatnonzero(self.singular_values_[:, k] >= np.sqrt(s * max(start[k], 1e-300)))
                self.t_learnt_[k] = self.times_[reached[0]]
        learnt = np.flatnonzero(np.isfinite(self.t_learnt_))
        self.learning_order_ = learnt[np.argsort(self.t_learnt_[learnt], kind="stable")]

    def _set_coef(self, P):
        """``coef_``, ``intercept_`` in the original feature coordinates from ``P`` (standardised, bias last)."""
        d = self.n_features_in_
        A, b = P[:, :d], (P[:, d] if self.fit_intercept else np.zeros(P.shape[0]))
        self.coef_ = A / self._x_scale
        self.intercept_ = b - self.coef_ @ self._x_mean

    def _set_status(self, traj):
        from sklearn.exceptions import ConvergenceWarning

        self.converged_ = str(traj["status"].values) == "event"
        self.status_ = "converged" if self.converged_ else "not_converged"
        if not self.converged_:
            warnings.warn(
                f"DeepLinearClassifier: the gradient norm is {float(traj['gradient_norm'].values[~np.isnan(traj['gradient_norm'].values)][-1]):.3g}, "
                f"above tol = {self.tol:g}, at the end of the flow (status {str(traj['status'].values)!r}, "
                f"t = {float(traj['t_final']):.6g}). Increase t_end or tol.", ConvergenceWarning, stacklevel=3)

    def decision_function(self, X):
        """Scores ``X @ coef_.T + intercept_``: shape (n_samples,) for two classes (of ``classes_[1]``), else (n_samples, n_classes)."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        scores = X @ self.coef_.T + self.intercept_
        return scores[:, 0] if self.classes_.size == 2 else scores

    def predict_proba(self, X):
        """Class probabilities (logistic sigmoid for two classes, softmax otherwise), shape (n_samples, n_classes)."""
        from scipy.special import expit, softmax

        scores = self.decision_function(X)
        if self.classes_.size == 2:
            p = expit(scores)
            return np.column_stack([1.0 - p, p])
        return softmax(scores, axis=1)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (computed stably)."""
        from scipy.special import log_expit, log_softmax

        scores = self.decision_function(X)
        if self.classes_.size == 2:
            return np.column_stack([log_expit(-scores), log_expit(scores)])
        return log_softmax(scores, axis=1)

    def predict(self, X):
        """The class of the largest score."""
        scores = self.decision_function(X)
        idx = (scores > 0).astype(int) if self.classes_.size == 2 else np.argmax(scores, axis=1)
        return self.classes_[idx]
