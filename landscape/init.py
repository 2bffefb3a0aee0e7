"""Initialisations of the weights ``[W_1, ..., W_h]`` studied by the theory.

Every function takes the network first and ``rng`` (a seed or a
``numpy.random.Generator``) last, and returns a layer list.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_int, check_positive_float, check_rng
from .errors import LandscapeValueError

__all__ = ["gaussian", "balanced"]


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
