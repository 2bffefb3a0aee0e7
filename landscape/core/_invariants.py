"""Structural invariants of the flow (spec section 2): conserved quantities, nilpotency, balance.

Sign convention (the spec's guess, see spec 2.3): ``Q(A) = A^T A - A A^T``, whose hidden
blocks are ``C_i = W_{i+1}^T W_{i+1} - W_i W_i^T``. The paper may write the opposite sign
``W_i W_i^T - W_{i+1}^T W_{i+1}``; every function here takes ``convention=`` to choose:
``"ATA-AAT"`` (default) or ``"AAT-ATA"``. Conservation and balance do not depend on it.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_finite_array, check_int, check_positive_float
from ..errors import LandscapeValueError, WeightsError
from . import kernels
from ._adjacency import adjacency, offsets, weights_from_adjacency

__all__ = [
    "conserved_quantities",
    "conserved_adjacency",
    "balance_measure",
    "is_balanced",
    "is_delta_balanced",
    "is_nilpotent",
]

_CONVENTIONS = ("ATA-AAT", "AAT-ATA")


def _as_layers(W, widths):
    if isinstance(W, np.ndarray):
        if widths is None:
            raise WeightsError("widths must be given when W is an adjacency matrix (A alone does not fix the layers).")
        return weights_from_adjacency(W, widths)
    layers = [check_finite_array(w, name=f"W[{i}]", ndim=2, error=WeightsError) for i, w in enumerate(W)]
    adjacency(layers)  # checks that consecutive shapes chain
    return layers


def _sign(convention):
    if convention not in _CONVENTIONS:
        raise LandscapeValueError(f"convention must be one of {list(_CONVENTIONS)}; got {convention!r}.")
    return 1.0 if convention == "ATA-AAT" else -1.0


def conserved_quantities(W, *, widths=None, convention: str = "ATA-AAT") -> list[np.ndarray]:
    """The conserved ``C_i = W_{i+1}^T W_{i+1} - W_i W_i^T``, ``i = 1..h-1`` (spec 2.3).

    Parameters
    ----------
    W : list of ndarray or ndarray of shape (n_v, n_v)
        Layer list, or adjacency matrix together with ``widths``.
    widths : sequence of int, optional
        Needed only when ``W`` is an adjacency matrix.
    convention : {"ATA-AAT", "AAT-ATA"}, default="ATA-AAT"
        Sign of ``Q``; ``"AAT-ATA"`` returns ``-C_i``.

    Returns
    -------
    list of ndarray
        ``h - 1`` symmetric matrices, ``C_i`` of shape ``(d_i, d_i)``.

    Examples
    --------
    >>> C = conserved_quantities([np.array([[1.0]]), np.array([[2.0]])])
    >>> C[0]
    array([[3.]])
    """
    s = _sign(convention)
    W = _as_layers(W, widths)
    return [s * C for C in kernels.conserved_quantities(W)]


def conserved_adjacency(W, *, widths=None, convention: str = "ATA-AAT") -> np.ndarray:
    """``J Q(A) J = blkdiag(0, C_1, ..., C_{h-1}, 0)`` as an ``(n_v, n_v)`` matrix.

    ``Q(A) = A^T A - A A^T`` is block diagonal and ``J`` projects onto hidden nodes, so
    ``J Q J = J Q = Q J``; it is constant along the gradient flow. Computed from the
    layers (no dense ``n_v x n_v`` products).
    """
    layers = _as_layers(W, widths)
    w = [layers[0].shape[1]] + [M.shape[0] for M in layers]
    o = offsets(w)
    out = np.zeros((o[-1], o[-1]))
    for i, C in enumerate(conserved_quantities(layers, convention=convention), start=1):
        out[o[i] : o[i + 1], o[i] : o[i + 1]] = C
    return out


def balance_measure(W, *, widths=None) -> float:
    """``delta(W) = max_i ||C_i||_F``: the smallest ``delta`` for which ``W`` is delta-balanced (0 for h = 1)."""
    C = conserved_quantities(W, widths=widths)
    return max((float(np.linalg.norm(c)) for c in C), default=0.0)


def _scale(layers):
    return max(float(np.vdot(w, w)) for w in layers)


def is_balanced(W, *, widths=None, rtol: float = 1e-10) -> bool:
    """True if ``W`` is 0-balanced: every ``C_i = 0`` up to ``rtol * max_i ||W_i||_F^2`` (spec 2.5)."""
    rtol = check_positive_float(rtol, name="rtol")
    layers = _as_layers(W, widths)
    return balance_measure(layers) <= rtol * max(_scale(layers), 1e-300)


def is_delta_balanced(W, delta: float, *, widths=None) -> bool:
    """True if ``||W_{i+1}^T W_{i+1} - W_i W_i^T||_F <= delta`` for every ``i``.

    This is the Frobenius reading of "delta-balanced" (Arora, Cohen, Golowich & Hu 2019).
    The other reading, ``C_i = lambda I`` exactly, is "lambda-balanced"; see
    :func:`landscape.init.lambda_balanced` for it.
    """
    delta = check_positive_float(delta, name="delta", allow_zero=True)
    return balance_measure(W, widths=widths) <= delta


def is_nilpotent(A, index: int | None = None, *, rtol: float = 1e-12) -> bool:
    """True if ``A^index = 0`` relative to ``||A||_F^index`` (by dense products, not eigenvalues).

    Eigenvalues of a nilpotent matrix are computed with errors of order
    ``eps^{1/index}`` (spec 1.4), so this checks the power itself. A block-shift matrix of
    depth ``h`` has ``A^{h+1} = 0``; pass ``index = h + 1``. The default ``index = n_v``
    checks nilpotency of any square matrix.
    """
    A = check_finite_array(A, name="A", ndim=2)
    if A.shape[0] != A.shape[1]:
        raise LandscapeValueError(f"A must be square; got shape {A.shape}.")
    index = A.shape[0] if index is None else check_int(index, name="index", minimum=1)
    rtol = check_positive_float(rtol, name="rtol")
    scale = float(np.linalg.norm(A))
    if scale == 0.0:
        return True
    An = A / scale  # ||An||_F = 1, so ||An^k||_F <= 1
    return float(np.linalg.norm(np.linalg.matrix_power(An, index))) <= rtol
