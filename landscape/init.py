"""Initialisations of the weights ``[W_1, ..., W_h]`` studied by the theory.

Every function takes the network first and ``rng`` (a seed or a
``numpy.random.Generator``) last, and returns a layer list.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_int, check_positive_float, check_rng
from .errors import LandscapeValueError

__all__ = ["gaussian", "identity", "orthogonal", "balanced", "zero_balanced", "lambda_balanced", "delta_balanced",
           "aligned", "near"]


def gaussian(net, scale: float = 1.0, rng=None) -> list[np.ndarray]:
    """I.i.d. normal entries with standard deviation ``scale``.

    Parameters
    ----------
    net : LinearNetwork
    scale : float, default=1.0
        Standard deviation of every entry (spec 10 fact 20 uses ``scale = 1e-2``).
    rng : None, int or numpy.random.Generator

    Returns
    -------
    list of ndarray
        ``W_i`` of shape ``(d_i, d_{i-1})``.

    Examples
    --------
    >>> import landscape as ls
    >>> net = ls.LinearNetwork([2, 3, 2], sigma=[2.0, 1.0])
    >>> [w.shape for w in gaussian(net, 0.1, rng=0)]
    [(3, 2), (2, 3)]
    """
    scale = check_positive_float(scale, name="scale", allow_zero=True)
    rng = check_rng(rng)
    return [scale * rng.standard_normal(s) for s in net.shapes]


def _orthonormal_columns(rng, n, k):
    q, r = np.linalg.qr(rng.standard_normal((n, k)))
    return q * np.sign(np.diag(r))


def balanced(net, scale: float = 1.0, rng=None, *, rank: int | None = None, singular_values=None) -> list[np.ndarray]:
    """A 0-balanced point (``C_i = 0`` for every hidden layer, spec 2.5), any widths.

    ``W_i = U_i D U_{i-1}^T`` with ``U_i`` (``d_i x k``) random orthonormal columns and
    ``D = diag(singular_values)``; then ``W_{i+1}^T W_{i+1} = W_i W_i^T = U_i D^2 U_i^T``
    and the end-to-end matrix has singular values ``D^h``.

    Parameters
    ----------
    net : LinearNetwork
    scale : float, default=1.0
        Used when ``singular_values`` is None: ``D`` has entries ``scale * U(0.5, 1.5)``.
    rng : None, int or numpy.random.Generator
    rank : int, optional
        ``k``, at most the bottleneck ``r`` (default ``r``).
    singular_values : array_like of shape (k,), optional
        The per-layer singular values ``D``.

    Returns
    -------
    list of ndarray
    """
    rng = check_rng(rng)
    r = net.rank
    if singular_values is not None:
        D = np.asarray(singular_values, dtype=float).ravel()
        k = D.size
    else:
        k = r if rank is None else check_int(rank, name="rank", minimum=0)
        D = check_positive_float(scale, name="scale", allow_zero=True) * rng.uniform(0.5, 1.5, size=k)
    if k > r:
        raise LandscapeValueError(f"rank must be at most the bottleneck r = {r}; got {k}.")
    Us = [_orthonormal_columns(rng, d, k) for d in net.widths]
    return [(Us[i] * D) @ Us[i - 1].T for i in range(1, net.depth + 1)]


#: 0-balanced initialisation under the name of spec 2.5
zero_balanced = balanced


def _rect_eye(shape):
    return np.eye(*shape)


def identity(net, scale: float = 1.0, rng=None) -> list[np.ndarray]:
    """``W_i = scale * I`` (rectangular identity ``(d_i, d_{i-1})``); ``rng`` is unused.

    Examples
    --------
    >>> import landscape as ls
    >>> identity(ls.LinearNetwork([2, 2, 2], [1.0, 0.5]), 1e-3)[0]
    array([[0.001, 0.   ],
           [0.   , 0.001]])
    """
    scale = check_positive_float(scale, name="scale", allow_zero=True)
    return [scale * _rect_eye(s) for s in net.shapes]


def _haar(rng, n):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def orthogonal(net, scale: float = 1.0, rng=None) -> list[np.ndarray]:
    """``W_i = scale * R_i I R_{i-1}^T`` with Haar-random orthogonal ``R_i`` (partial isometries if rectangular)."""
    scale = check_positive_float(scale, name="scale", allow_zero=True)
    rng = check_rng(rng)
    R = [_haar(rng, d) for d in net.widths]
    return [scale * R[i] @ _rect_eye(s) @ R[i - 1].T for i, s in enumerate(net.shapes, start=1)]


def _psd_sqrt(M):
    lam, Q = np.linalg.eigh(M)
    return (Q * np.sqrt(np.clip(lam, 0.0, None))) @ Q.T


def lambda_balanced(net, lam: float, scale: float = 1.0, rng=None) -> list[np.ndarray]:
    """Weights with ``C_i = W_{i+1}^T W_{i+1} - W_i W_i^T = lam * I`` exactly, every hidden layer.

    This is the "lambda-balanced" reading of the paper's "delta-balanced" (spec 2.5;
    Tarmoun et al. 2021). Built layer by layer: for ``lam > 0`` forwards from a random
    ``W_1`` (``W_{i+1} = U_{i+1} (W_i W_i^T + lam I)^{1/2}`` with ``U_{i+1}`` orthonormal
    columns, which needs ``d_1 <= d_2 <= ... <= d_h``); for ``lam < 0`` backwards from a
    random ``W_h`` (needs ``d_0 >= d_1 >= ... >= d_{h-1}``); ``lam = 0`` is :func:`balanced`.

    Parameters
    ----------
    net : LinearNetwork
    lam : float
    scale : float, default=1.0
        Standard deviation of the random first (or last) layer.
    rng : None, int or numpy.random.Generator
    """
    lam = float(lam)
    rng = check_rng(rng)
    if not np.isfinite(lam):
        raise LandscapeValueError(f"lam must be finite; got {lam!r}.")
    scale = check_positive_float(scale, name="scale", allow_zero=True)
    d = net.widths
    h = net.depth
    if lam == 0:
        return balanced(net, scale, rng)
    if lam > 0:
        if any(d[i + 1] < d[i] for i in range(1, h)):
            raise LandscapeValueError(
                f"lambda_balanced with lam > 0 needs non-decreasing widths d_1 <= ... <= d_h (C_i = lam I has full rank "
                f"d_i, so W_(i+1) needs d_(i+1) >= d_i rows); got widths {list(d)}."
            )
        W = [scale * rng.standard_normal(net.shapes[0])]
        for i in range(1, h):
            M = _psd_sqrt(W[-1] @ W[-1].T + lam * np.eye(d[i]))
            W.append(_orthonormal_columns(rng, d[i + 1], d[i]) @ M)
        return W
    if any(d[i - 1] < d[i] for i in range(1, h)):
        raise LandscapeValueError(
            f"lambda_balanced with lam < 0 needs non-increasing widths d_0 >= ... >= d_(h-1); got widths {list(d)}."
        )
    W = [scale * rng.standard_normal(net.shapes[-1])]
    for i in range(h - 1, 0, -1):  # W_i W_i^T = W_{i+1}^T W_{i+1} - lam I
        M = _psd_sqrt(W[0].T @ W[0] - lam * np.eye(d[i]))
        W.insert(0, M @ _orthonormal_columns(rng, d[i - 1], d[i]).T)
    return W


def delta_balanced(net, delta: float, scale: float = 1.0, rng=None) -> list[np.ndarray]:
    """A random point with ``max_i ||C_i||_F = delta`` (the Frobenius reading of "delta-balanced").

    A 0-balanced point of the given scale plus a random perturbation, scaled by
    bisection so that the balance measure equals ``delta`` (to 1e-10 relative).
    """
    from .core import balance_measure

    delta = check_positive_float(delta, name="delta", allow_zero=True)
    rng = check_rng(rng)
    W0 = balanced(net, scale, rng)
    if delta == 0.0 or net.depth == 1:
        return W0
    E = gaussian(net, 1.0, rng)

    def measure(a):
        return balance_measure([w + a * e for w, e in zip(W0, E)])

    hi = 1.0
    while measure(hi) < delta:
        hi *= 2.0
        if hi > 1e12:
            raise LandscapeValueError(f"could not reach delta = {delta} by perturbing a balanced point.")
    lo = 0.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if measure(mid) < delta:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * hi:
            break
    return [w + lo * e for w, e in zip(W0, E)]


def aligned(net, values, rng=None) -> list[np.ndarray]:
    """Aligned (``rng=None``) or decoupled (random hidden rotations) weights (spec 6.1).

    ``W_i = R_i D_i R_{i-1}^T`` with ``R_0 = I``, ``R_h = I`` (reduced coordinates),
    ``D_i`` rectangular diagonal with ``D_i[k, k] = values[i-1, k]``. ``R_i`` for hidden
    layers is the identity when ``rng`` is None, Haar-random orthogonal otherwise. Each
    mode k then evolves as a scalar network (:func:`landscape.closed_forms.decoupled_modes`).

    Parameters
    ----------
    net : LinearNetwork
    values : array_like of shape (h, k) or (k,)
        Per-layer, per-mode diagonal entries (a 1-D array is used for every layer); ``k``
        at most the bottleneck ``r``.
    rng : None, int or numpy.random.Generator
    """
    vals = np.asarray(values, dtype=float)
    if vals.ndim == 1:
        vals = np.tile(vals, (net.depth, 1))
    if vals.ndim != 2 or vals.shape[0] != net.depth or vals.shape[1] > net.rank or not np.all(np.isfinite(vals)):
        raise LandscapeValueError(
            f"values must be finite with shape (h, k) = ({net.depth}, k <= r = {net.rank}) or (k,); got shape {vals.shape}."
        )
    k = vals.shape[1]
    R = [np.eye(d) for d in net.widths]
    if rng is not None:
        rng = check_rng(rng)
        R[1:-1] = [_haar(rng, d) for d in net.widths[1:-1]]
    W = []
    for i, s in enumerate(net.shapes, start=1):
        D = np.zeros(s)
        D[np.arange(k), np.arange(k)] = vals[i - 1]
        W.append(R[i] @ D @ R[i - 1].T)
    return W


def near(net, W_star, scale: float = 1e-6, rng=None) -> list[np.ndarray]:
    """``W_star`` plus i.i.d. normal noise of standard deviation ``scale`` (to start near a critical point)."""
    scale = check_positive_float(scale, name="scale", allow_zero=True)
    return [w + e for w, e in zip(net.layers(W_star, name="W_star"), gaussian(net, scale, rng))]
