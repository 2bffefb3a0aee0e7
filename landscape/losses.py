"""Losses ``l(P)`` of the end-to-end matrix ``P = W_h ... W_1`` (spec 8.2).

A deep linear network's loss is ``L(W_1, ..., W_h) = l(W_h ... W_1)``, equivalently
``L(A) = l(corner block of A^h)`` in adjacency form. Everything that needs only ``l``
(the flow ``dA/dt = -sum_j (A^{h-j})^T blk_h(grad l(P)) (A^{j-1})^T``, its integrators,
the conservation laws, Hessians through the chain rule) works for every loss here; the
critical-point theory of spec section 3 is specific to the quadratic loss.

===========================  ===========  ======================================================
class                        ``name``     ``l(P)``
===========================  ===========  ======================================================
:class:`SigmaLoss`           squared      ``1/2 ||Sigma - P||_F^2`` (the whitened, reduced loss)
:class:`RawSquaredLoss`      raw_squared  ``(1/m) 1/2 ||Y - P X||_F^2`` (a mean over the m samples)
:class:`LogisticLoss`        logistic     ``(1/m) sum_i log(1 + exp(-y_i P x_i))``, ``d_h = 1``
:class:`CrossEntropyLoss`    cross_entropy ``(1/m) sum_i -log softmax(P x_i)[y_i]``
===========================  ===========  ======================================================

Every loss has ``value(P)`` (shape ``(...)``), ``gradient(P)`` (``grad l(P)``, shape
``(..., d_h, d_0)``) and ``hvp(P, dP)`` (the Hessian of ``l`` at ``P`` applied to ``dP``),
batched over leading axes of ``P`` (and ``dP``, broadcast against each other). Inputs are
columns: ``X`` has shape ``(d_0, m)``.

This module imports numpy and scipy only.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_finite_array, describe
from .errors import LandscapeTypeError, LandscapeValueError, LossError

__all__ = ["Loss", "SigmaLoss", "RawSquaredLoss", "LogisticLoss", "CrossEntropyLoss", "get_loss", "LOSSES"]


def _T(M):
    return np.swapaxes(M, -1, -2)


class Loss:
    """Base class: a twice differentiable ``l: R^{d_h x d_0} -> R``.

    Subclasses set ``name``, ``quadratic`` and ``shape`` and implement :meth:`value`,
    :meth:`gradient` and :meth:`hvp`.

    Attributes
    ----------
    name : str
        Short name (``"squared"``, ``"raw_squared"``, ``"logistic"``, ``"cross_entropy"``).
    shape : tuple of int
        ``(d_h, d_0)``, the shape of the end-to-end matrix ``P``.
    quadratic : bool
        True if ``l`` is a quadratic polynomial of ``P`` (constant Hessian).
    """

    name = "loss"
    quadratic = False
    shape: tuple[int, int] = (0, 0)

    # ------------------------------------------------------------------ interface
    def value(self, P) -> np.ndarray:
        """``l(P)`` for ``P`` of shape ``(..., d_h, d_0)``; an array of shape ``(...)``."""
        raise NotImplementedError

    def gradient(self, P) -> np.ndarray:
        """``grad l(P)``, shape ``(..., d_h, d_0)``."""
        raise NotImplementedError

    def hvp(self, P, dP) -> np.ndarray:
        """The Hessian of ``l`` at ``P`` applied to ``dP``; shapes broadcast, ``(..., d_h, d_0)``."""
        raise NotImplementedError

    def value_and_gradient(self, P):
        """``(l(P), grad l(P))`` in one pass where the loss can share work (softmax, sigmoids)."""
        return self.value(P), self.gradient(P)

    def minimum_value(self):
        """The infimum of ``l`` over all ``(d_h, d_0)`` matrices if known in closed form, else None."""
        return None

    def hessian_matrix(self, P) -> np.ndarray:
        """Dense Hessian of ``l`` at ``P`` on ``vec(P)`` (row-major), shape ``(..., d_h d_0, d_h d_0)``."""
        P = np.asarray(P, dtype=np.float64)
        dh, d0 = self.shape
        n = dh * d0
        basis = np.eye(n).reshape((n,) + (1,) * (P.ndim - 2) + (dh, d0))
        cols = self.hvp(P[None], basis)  # (n, ..., dh, d0): column k = H e_k
        cols = cols.reshape(cols.shape[:-2] + (n,))
        return np.moveaxis(cols, 0, -1)

    # ------------------------------------------------------------------ helpers
    def check_P(self, P, name="P"):
        P = np.asarray(P, dtype=np.float64)
        if P.ndim < 2 or P.shape[-2:] != tuple(self.shape):
            raise LandscapeValueError(
                f"{name} must have shape (..., d_h, d_0) = (..., {self.shape[0]}, {self.shape[1]}) for the "
                f"{self.name} loss; got shape {P.shape}.")
        return P

    def _check_shape(self, shape):
        """Raise unless ``shape == (d_h, d_0)`` (used by networks built with this loss)."""
        if tuple(shape) != tuple(self.shape):
            raise LossError(
                f"the {self.name} loss acts on end-to-end matrices of shape (d_h, d_0) = {tuple(self.shape)}; "
                f"the network's widths give {tuple(shape)}.")

    def __eq__(self, other):
        return self is other

    __hash__ = object.__hash__


class SigmaLoss(Loss):
    """``l(P) = 1/2 ||Sigma - P||_F^2``: the quadratic loss of the paper (spec 1.2, 1.3).

    Parameters
    ----------
    Sigma : array_like of shape (d_h, d_0)
        The target (in the network's reduced coordinates a rectangular-diagonal matrix of
        singular values).

    Examples
    --------
    >>> loss = SigmaLoss(np.diag([3.0, 1.0]))
    >>> float(loss.value(np.zeros((2, 2))))
    5.0
    """

    name = "squared"
    quadratic = True

    def __init__(self, Sigma):
        self.Sigma = np.array(check_finite_array(Sigma, name="Sigma", ndim=2, error=LossError), dtype=np.float64)
        self.shape = self.Sigma.shape

    def value(self, P):
        R = self.Sigma - np.asarray(P, dtype=np.float64)
        return 0.5 * np.einsum("...ij,...ij->...", R, R)

    def gradient(self, P):
        return np.asarray(P, dtype=np.float64) - self.Sigma

    def hvp(self, P, dP):
        dP = np.asarray(dP, dtype=np.float64)
        return np.broadcast_to(dP, np.broadcast_shapes(np.shape(P), dP.shape)).copy()

    def minimum_value(self):
        return 0.0

    def __repr__(self):
        return f"SigmaLoss(shape={self.shape})"


def _correlations(X, Y):
    m = X.shape[1]
    return X @ X.T / m, Y @ X.T / m


class RawSquaredLoss(Loss):
    r"""``l(P) = (1/m) 1/2 ||Y - P X||_F^2``: the raw (non-whitened) squared loss, a mean over samples.

    With ``S_xx = X X^T / m`` and ``S_yx = Y X^T / m`` (spec 1.2, the ``1/N`` normalisation)
    ``l(P) = 1/2 ||S_yx S_xx^{-1/2} - P S_xx^{1/2}||_F^2 + c`` with
    ``c = 1/2 (||Y||_F^2 / m - ||S_yx S_xx^{-1/2}||_F^2)``. So when ``S_xx`` is invertible
    the critical points of a network with this loss correspond one to one
    (``W_1 -> W_1 S_xx^{1/2}``, then the SVD rotations) with those of the whitened network
    ``LinearNetwork.from_data(X, Y, ...)``, with values shifted by ``c`` (=
    :meth:`minimum_value` = that network's ``loss_offset``) and the same Hessian
    signature; gradient-flow trajectories differ unless ``S_xx = I``. The value, gradient
    ``P S_xx - S_yx`` and Hessian product ``dP S_xx`` are computed from the correlations,
    so their cost does not grow with ``m``.

    Parameters
    ----------
    X : array_like of shape (d_0, m)
        Inputs as columns.
    Y : array_like of shape (d_h, m)
        Outputs as columns.
    """

    name = "raw_squared"
    quadratic = True

    def __init__(self, X, Y):
        X = check_finite_array(X, name="X", ndim=2, error=LossError)
        Y = check_finite_array(Y, name="Y", ndim=2, error=LossError)
        if X.shape[1] != Y.shape[1]:
            raise LossError(f"X (d_0, m) and Y (d_h, m) must have the same number of columns (samples); got X of "
                            f"shape {X.shape} and Y of shape {Y.shape}.")
        if X.shape[1] == 0:
            raise LossError("X and Y must hold at least one sample (column); got m = 0.")
        self.m = X.shape[1]
        self.Sxx, self.Syx = _correlations(X, Y)
        self.yy = float(np.vdot(Y, Y)) / self.m
        self.shape = (Y.shape[0], X.shape[0])
        self._whitened = None
        # The value as 1/2 ||(P - P_ls) F||^2 + c (F F^T = S_xx, P_ls = Y X^+ the least-squares map,
        # c = ||Y - P_ls X||^2 / 2m from the data): a sum of non-negative terms, exact near a fit.
        # Expanding 1/2 <P S_xx, P> - <P, S_yx> + 1/2 ||Y||^2/m cancels catastrophically there
        # (negative values, ~1e-9 at |P| ~ 1e3; 5e-4 instead of 0 at |P| ~ 1e6).
        self._P_ls = np.linalg.lstsq(X.T, Y.T, rcond=None)[0].T
        resid = Y - self._P_ls @ X
        self._c = 0.5 * float(np.vdot(resid, resid)) / self.m
        evals, evecs = np.linalg.eigh(self.Sxx)
        self._F = evecs * np.sqrt(np.clip(evals, 0.0, None))

    def value(self, P):
        D = (np.asarray(P, dtype=np.float64) - self._P_ls) @ self._F
        return 0.5 * np.einsum("...ij,...ij->...", D, D) + self._c

    def gradient(self, P):
        return np.asarray(P, dtype=np.float64) @ self.Sxx - self.Syx

    def hvp(self, P, dP):
        dP = np.asarray(dP, dtype=np.float64)
        out = dP @ self.Sxx
        return np.broadcast_to(out, np.broadcast_shapes(np.shape(P), out.shape)).copy()

    def whitened(self):
        """``(T, Sxx^{1/2}, Sxx^{-1/2})`` with ``T = S_yx S_xx^{-1/2}`` (the whitened target).

        Raises
        ------
        LossError
            ``S_xx`` is singular (the whitened reduction does not exist).
        """
        if self._whitened is None:
            evals, evecs = np.linalg.eigh(self.Sxx)
            top = max(float(evals.max(initial=0.0)), 1e-300)
            if evals.min() <= 1e-12 * top:
                raise LossError(
                    f"the raw_squared loss has singular input correlations X X^T / m (smallest eigenvalue "
                    f"{evals.min():.3g}), so it has no whitened reduction (no Sigma): spec 1.2 needs X of full row rank.")
            half = (evecs * np.sqrt(evals)) @ evecs.T
            inv_half = (evecs / np.sqrt(evals)) @ evecs.T
            self._whitened = (self.Syx @ inv_half, half, inv_half)
        return self._whitened

    def minimum_value(self):
        """``c = 1/2 (||Y||^2/m - ||S_yx S_xx^{-1/2}||^2)``; None if ``S_xx`` is singular."""
        try:
            self.whitened()
        except LossError:
            return None
        return self._c  # = 1/2 (||Y||^2/m - ||S_yx S_xx^{-1/2}||^2), computed from the residual of the fit

    def __repr__(self):
        return f"RawSquaredLoss(d_0={self.shape[1]}, d_h={self.shape[0]}, m={self.m})"


def _log_sigmoid(z):
    """``log(1 / (1 + exp(-z)))`` without overflow."""
    return -np.logaddexp(0.0, -z)


def _sigmoid(z):
    """``1 / (1 + exp(-z))`` without overflow (``exp`` of a non-positive number only)."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class LogisticLoss(Loss):
    r"""Binary logistic loss ``l(P) = (1/m) sum_i log(1 + exp(-y_i P x_i))``, ``d_h = 1``.

    Parameters
    ----------
    X : array_like of shape (d_0, m)
        Inputs as columns.
    y : array_like of shape (m,) or (1, m)
        Labels in ``{-1, +1}`` (labels in ``{0, 1}`` are mapped to ``{-1, +1}``).

    Notes
    -----
    With margins ``z_i = y_i P x_i``: ``grad l = -(1/m) sum_i y_i s(-z_i) x_i^T`` and
    ``Hess l [dP] = (1/m) sum_i s(z_i) s(-z_i) (dP x_i) x_i^T`` (``s`` the logistic
    sigmoid; ``y_i^2 = 1``). Computed with ``logaddexp`` and a sign-split sigmoid, so
    large margins neither overflow nor lose the tiny loss. The infimum is 0 when the
    data are linearly separable through the origin (not attained), so
    :meth:`minimum_value` is None.
    """

    name = "logistic"
    quadratic = False

    def __init__(self, X, y):
        X = check_finite_array(X, name="X", ndim=2, error=LossError)
        y = check_finite_array(y, name="y", error=LossError)
        if y.ndim == 2 and y.shape[0] == 1:
            y = y[0]
        if y.ndim != 1 or y.size != X.shape[1]:
            raise LossError(f"y must hold one label per column of X, shape (m,) = ({X.shape[1]},); got shape {y.shape}.")
        if X.shape[1] == 0:
            raise LossError("X must hold at least one sample (column); got m = 0.")
        vals = set(np.unique(y).tolist())
        if vals <= {0.0, 1.0}:
            y = 2.0 * y - 1.0
        elif not vals <= {-1.0, 1.0}:
            raise LossError(f"y must hold labels in {{-1, +1}} (or {{0, 1}}); got the values {describe(sorted(vals))}.")
        # contiguous copies: a column-major X (what ``X_rows.T`` gives) made every product ~7x slower
        self.X = np.ascontiguousarray(X)
        self._Xt = np.ascontiguousarray(X.T)
        self.y = y.astype(np.float64)
        self.m = X.shape[1]
        self.shape = (1, X.shape[0])
        self._Xy = np.ascontiguousarray(X * self.y)  # columns y_i x_i
        self._Xyt = np.ascontiguousarray(self._Xy.T)

    def margins(self, P):
        """``z_i = y_i P x_i``, shape ``(..., m)``."""
        P = np.asarray(P, dtype=np.float64)
        return (P @ self._Xy)[..., 0, :]

    def value(self, P):
        return np.mean(np.logaddexp(0.0, -self.margins(P)), axis=-1)

    def gradient(self, P):
        return self.value_and_gradient(P)[1]

    def value_and_gradient(self, P):
        z = self.margins(P)
        c = -_sigmoid(-z) / self.m  # (..., m)
        return np.mean(np.logaddexp(0.0, -z), axis=-1), (c @ self._Xyt)[..., None, :]

    def hvp(self, P, dP):
        z = self.margins(P)
        w = _sigmoid(z) * _sigmoid(-z) / self.m  # (..., m)
        dP = np.asarray(dP, dtype=np.float64)
        dz = (dP @ self.X)[..., 0, :]  # (..., m)
        return ((w * dz) @ self._Xt)[..., None, :]

    def __repr__(self):
        return f"LogisticLoss(d_0={self.shape[1]}, m={self.m})"


class CrossEntropyLoss(Loss):
    r"""Softmax cross-entropy ``l(P) = (1/m) sum_i (logsumexp(P x_i) - <q_i, P x_i>)`` over ``d_h`` classes.

    Parameters
    ----------
    X : array_like of shape (d_0, m)
        Inputs as columns.
    Y : array_like of shape (m,) or (d_h, m)
        Integer class labels ``0..d_h-1`` (then ``n_classes`` gives ``d_h``, default
        ``max(Y) + 1``), or class probabilities ``q_i`` as columns (one-hot or soft; each
        column non-negative, summing to 1).
    n_classes : int, optional
        ``d_h`` for integer labels (classes absent from the data still get a row of ``P``).

    Notes
    -----
    With logits ``Z = P X`` and column softmax ``S``: ``grad l = (S - Q) X^T / m`` and
    ``Hess l [dP] = ((S * dZ) - S * colsum(S * dZ)) X^T / m`` with ``dZ = dP X``. The
    log-sum-exp subtracts each column's maximum, so large logits do not overflow.
    """

    name = "cross_entropy"
    quadratic = False

    def __init__(self, X, Y, n_classes=None):
        X = check_finite_array(X, name="X", ndim=2, error=LossError)
        m = X.shape[1]
        if m == 0:
            raise LossError("X must hold at least one sample (column); got m = 0.")
        Y = np.asarray(Y)
        if Y.ndim == 1:
            if Y.size != m or not (np.issubdtype(Y.dtype, np.integer) or
                                   (np.issubdtype(Y.dtype, np.floating) and np.all(np.isfinite(Y)) and np.all(Y == np.round(Y)))):
                raise LossError(f"Y as labels must be m = {m} integers; got {describe(Y)}.")
            labels = Y.astype(np.int64)
            K = int(labels.max()) + 1 if n_classes is None else int(n_classes)
            if labels.min() < 0 or labels.max() >= K:
                raise LossError(f"Y's labels must lie in 0..{K - 1} (n_classes = {K}); got values in "
                                f"{labels.min()}..{labels.max()}.")
            Q = np.zeros((K, m))
            Q[labels, np.arange(m)] = 1.0
        elif Y.ndim == 2:
            Q = check_finite_array(Y, name="Y", ndim=2, error=LossError)
            if Q.shape[1] != m:
                raise LossError(f"Y as class probabilities must have shape (d_h, m) = (d_h, {m}); got {Q.shape}.")
            if np.any(Q < 0) or not np.allclose(Q.sum(axis=0), 1.0, atol=1e-10):
                raise LossError("Y as class probabilities must have non-negative columns summing to 1 (one-hot or soft labels).")
        else:
            raise LossError(f"Y must be labels (m,) or probabilities (d_h, m); got shape {Y.shape}.")
        if Q.shape[0] < 2:
            raise LossError(f"cross-entropy needs at least 2 classes (d_h >= 2); got {Q.shape[0]}.")
        self.X = np.ascontiguousarray(X)  # see LogisticLoss: a column-major X slowed every product
        self._Xt = np.ascontiguousarray(X.T)
        self.Q = Q
        self.m = m
        self.shape = (Q.shape[0], X.shape[0])
        self._qsum = Q.sum(axis=0)  # 1 per column (kept exact for soft labels)

    def _softmax(self, P):
        """Logits ``Z``, softmax ``S``, the mask of each column's largest logit, ``T`` and ``Z_max``.

        With ``M`` the largest logit of a column and ``r_j = exp(z_j - z_M)``,
        ``T = sum_{j != M} r_j``: ``s_M = 1 / (1 + T)``, ``1 - s_M = T / (1 + T)`` and
        ``-log s_k = (z_M - z_k) + log1p(T)``, all free of cancellation at large margins
        (``lse - z_y`` and ``s_y - 1`` lose every digit once the loss is below ~1e-13).
        """
        Z = np.asarray(P, dtype=np.float64) @ self.X  # (..., K, m)
        top = np.argmax(Z, axis=-2)[..., None, :]
        mask = np.arange(Z.shape[-2])[:, None] == top  # (..., K, m), one True per column
        zmax = np.take_along_axis(Z, top, axis=-2)
        R = np.where(mask, 0.0, np.exp(Z - zmax))
        T = R.sum(axis=-2, keepdims=True)
        S = np.where(mask, 1.0, R) / (1.0 + T)
        return Z, S, mask, T, zmax

    def _value(self, Z, mask, T, zmax):
        # sum_k q_k (-log s_k) = sum_k q_k (z_M - z_k) + log1p(T) (the q_k sum to 1): non-negative terms
        per = np.einsum("...km,km->...m", zmax - Z, self.Q) + np.log1p(T[..., 0, :]) * self._qsum
        return np.mean(per, axis=-1)

    def _residual(self, S, mask, T):
        """``S - Q`` with the largest-logit entry as ``sum_{j != M} q_j - T / (1 + T)``."""
        G = S - self.Q
        q_off = np.where(mask, 0.0, self.Q).sum(axis=-2, keepdims=True)
        return np.where(mask, q_off - T / (1.0 + T), G)

    def value(self, P):
        Z, _, mask, T, zmax = self._softmax(P)
        return self._value(Z, mask, T, zmax)

    def gradient(self, P):
        _, S, mask, T, _ = self._softmax(P)
        return self._residual(S, mask, T) @ self._Xt / self.m

    def value_and_gradient(self, P):
        Z, S, mask, T, zmax = self._softmax(P)
        return self._value(Z, mask, T, zmax), self._residual(S, mask, T) @ self._Xt / self.m

    def hvp(self, P, dP):
        # (diag(s) - s s^T) dz = s * (dz - <s, dz>); at the largest logit the bracket is
        # -sum_{j != M} s_j (dz_j - dz_M) (no cancellation when s_M ~ 1)
        _, S, mask, _, _ = self._softmax(P)
        dZ = np.asarray(dP, dtype=np.float64) @ self.X
        dzM = np.sum(np.where(mask, dZ, 0.0), axis=-2, keepdims=True)
        off = np.where(mask, 0.0, S * (dZ - dzM)).sum(axis=-2, keepdims=True)  # sum_{j != M} s_j (dz_j - dz_M)
        bracket = np.where(mask, -off, dZ - dzM - off)
        return (S * bracket) @ self._Xt / self.m

    def __repr__(self):
        return f"CrossEntropyLoss(d_0={self.shape[1]}, n_classes={self.shape[0]}, m={self.m})"


#: loss names accepted by :func:`get_loss` and ``LinearNetwork.from_data``
LOSSES = {"squared": SigmaLoss, "raw_squared": RawSquaredLoss, "logistic": LogisticLoss, "cross_entropy": CrossEntropyLoss}


def get_loss(spec, *args, **kwargs) -> Loss:
    """A loss from its name and data, or a :class:`Loss` unchanged.

    Parameters
    ----------
    spec : str or Loss
        ``"squared"`` (arguments ``Sigma``), ``"raw_squared"`` (``X, Y``), ``"logistic"``
        (``X, y``) or ``"cross_entropy"`` (``X, Y[, n_classes]``); a :class:`Loss` is returned
        as is (no further arguments allowed).

    Examples
    --------
    >>> X = np.array([[1.0, -1.0], [0.5, 0.2]])
    >>> get_loss("logistic", X, [1, 0]).name
    'logistic'
    """
    if isinstance(spec, Loss):
        if args or kwargs:
            raise LandscapeTypeError("get_loss(loss_object) takes no further arguments.")
        return spec
    if not isinstance(spec, str):
        raise LandscapeTypeError(f"loss must be one of {sorted(LOSSES)} or a landscape.losses.Loss; got {describe(spec)}.")
    if spec not in LOSSES:
        raise LossError(f"loss must be one of {sorted(LOSSES)} or a landscape.losses.Loss; got {spec!r}.")
    try:
        return LOSSES[spec](*args, **kwargs)
    except TypeError as exc:  # missing or extra data arguments
        needs = {"squared": "Sigma", "raw_squared": "X, Y", "logistic": "X, y", "cross_entropy": "X, Y[, n_classes]"}
        raise LossError(f"get_loss({spec!r}, ...) needs the arguments ({needs[spec]}); got {len(args)} positional "
                        f"and {sorted(kwargs)} keyword arguments ({exc}).") from exc


def require_quadratic(net, function: str, why: str = "it uses the closed-form critical points of the quadratic loss (spec 3)"):
    """Raise :class:`LossError` unless ``net`` carries today's whitened quadratic loss (``"squared"``).

    Parameters
    ----------
    net : LinearNetwork
    function : str
        The refusing function's name (for the message).
    why : str
        Why it needs the quadratic loss.
    """
    name = getattr(net, "loss_name", "squared")
    if name != "squared":
        raise LossError(f"{function} is specific to the whitened quadratic loss 1/2||Sigma - P||^2 ('squared'); "
                        f"this network's loss is {name!r}: {why}.")
