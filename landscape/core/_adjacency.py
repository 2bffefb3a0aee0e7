"""The block-shift adjacency matrix ``A`` and its blocks (spec section 1.3).

Nodes are ordered layer by layer (layer 0 first); layer ``k`` occupies indices
``[o_k, o_k + d_k)`` with ``o_k = d_0 + ... + d_{k-1}``. ``W_i`` sits in the rows of
layer ``i`` and the columns of layer ``i - 1``, so ``(A z)_{layer i} = W_i x_{i-1}``.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_finite_array, check_int, describe
from ..errors import BlockStructureError, LandscapeTypeError, WeightsError, WidthsError

__all__ = [
    "check_widths",
    "offsets",
    "blk",
    "adjacency",
    "weights_from_adjacency",
    "block_shift_mask",
]


def check_widths(widths, name: str = "widths") -> tuple[int, ...]:
    """Validate layer widths ``[d_0, ..., d_h]`` and return them as a tuple of ints.

    Raises
    ------
    WidthsError
        If there are fewer than two widths or a width is not a positive integer.
    """
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__len__"):
        raise WidthsError(f"{name} must be a sequence [d_0, ..., d_h] of positive integers; got {describe(widths)}.")
    widths = list(widths)
    if len(widths) < 2:
        raise WidthsError(
            f"{name} must list at least two layer widths [d_0, d_1] (depth h >= 1); got {len(widths)} value(s): {describe(widths)}."
        )
    out = []
    for i, d in enumerate(widths):
        try:
            out.append(check_int(d, name=f"{name}[{i}]", minimum=1, error=WidthsError))
        except LandscapeTypeError as exc:
            raise WidthsError(f"{name} must contain positive integers; {name}[{i}] is {describe(d)}.") from exc
    return tuple(out)


def offsets(widths) -> np.ndarray:
    """Node offsets ``o_k = d_0 + ... + d_{k-1}`` for ``k = 0..h+1``.

    Parameters
    ----------
    widths : sequence of int of length h + 1

    Returns
    -------
    ndarray of shape (h + 2,)
        ``o[k]`` is the first node of layer ``k``; ``o[h + 1] = n_v``.

    Examples
    --------
    >>> offsets([3, 4, 2]).tolist()
    [0, 3, 7, 9]
    """
    return np.concatenate([[0], np.cumsum(check_widths(widths))]).astype(int)


def blk(k: int, blocks, widths) -> np.ndarray:
    """Place matrices on the ``k``-th block sub-diagonal: ``blk_k(M_1, ..., M_{h+1-k})``.

    Parameters
    ----------
    k : int
        Block sub-diagonal, ``1 <= k <= h``.
    blocks : sequence of ndarray
        ``h + 1 - k`` matrices; ``M_i`` has shape ``(d_{i+k-1}, d_{i-1})`` and goes to
        the rows of layer ``i + k - 1`` and the columns of layer ``i - 1``.
    widths : sequence of int
        ``[d_0, ..., d_h]``.

    Returns
    -------
    ndarray of shape (n_v, n_v)

    Examples
    --------
    >>> blk(2, [np.ones((1, 1))], [1, 1, 1])
    array([[0., 0., 0.],
           [0., 0., 0.],
           [1., 0., 0.]])
    """
    widths = check_widths(widths)
    h = len(widths) - 1
    k = check_int(k, name="k", minimum=1)
    if k > h:
        raise WidthsError(f"k must be between 1 and the depth h = {h}; got k = {k}.")
    blocks = list(blocks)
    if len(blocks) != h + 1 - k:
        raise WeightsError(f"blocks must hold h + 1 - k = {h + 1 - k} matrices for k = {k}; got {len(blocks)}.")
    o = offsets(widths)
    A = np.zeros((o[-1], o[-1]))
    for i, M in enumerate(blocks, start=1):
        shape = (widths[i + k - 1], widths[i - 1])
        M = check_finite_array(M, name=f"blocks[{i - 1}]", shape=shape, error=WeightsError)
        A[o[i + k - 1] : o[i + k], o[i - 1] : o[i]] = M
    return A


def adjacency(W) -> np.ndarray:
    """The block-shift adjacency matrix ``A = blk_1(W_1, ..., W_h)``.

    Parameters
    ----------
    W : sequence of ndarray
        ``[W_1, ..., W_h]``, ``W_i`` of shape ``(d_i, d_{i-1})``.

    Returns
    -------
    ndarray of shape (n_v, n_v)

    Examples
    --------
    >>> A = adjacency([np.array([[2.0]]), np.array([[3.0]])])
    >>> A
    array([[0., 0., 0.],
           [2., 0., 0.],
           [0., 3., 0.]])
    >>> (A @ A)[2, 0]   # the end-to-end product W_2 W_1
    np.float64(6.0)
    """
    if isinstance(W, np.ndarray) or not hasattr(W, "__len__") or len(W) == 0:
        raise LandscapeTypeError(f"W must be a non-empty list [W_1, ..., W_h] of 2-D arrays; got {describe(W)}.")
    mats = [check_finite_array(M, name=f"W[{i}]", ndim=2, error=WeightsError) for i, M in enumerate(W)]
    widths = [mats[0].shape[1]] + [M.shape[0] for M in mats]
    for i in range(1, len(mats)):
        if mats[i].shape[1] != mats[i - 1].shape[0]:
            raise WeightsError(
                f"W[{i}] (W_{i + 1}) must have {mats[i - 1].shape[0]} columns to follow W[{i - 1}] "
                f"of shape {mats[i - 1].shape}; got shape {mats[i].shape}."
            )
    return blk(1, mats, widths)


def block_shift_mask(widths) -> np.ndarray:
    """Boolean ``(n_v, n_v)`` mask of the entries allowed to be nonzero in ``A``."""
    widths = check_widths(widths)
    o = offsets(widths)
    mask = np.zeros((o[-1], o[-1]), dtype=bool)
    for i in range(1, len(widths)):
        mask[o[i] : o[i + 1], o[i - 1] : o[i]] = True
    return mask


def weights_from_adjacency(A, widths, *, atol: float = 0.0) -> list[np.ndarray]:
    """Read the layer list ``[W_1, ..., W_h]`` off a block-shift adjacency matrix.

    Parameters
    ----------
    A : ndarray of shape (n_v, n_v)
    widths : sequence of int
        ``[d_0, ..., d_h]``.
    atol : float, default=0.0
        Entries outside the block sub-diagonal must be at most ``atol`` in absolute value.

    Returns
    -------
    list of ndarray
        ``W_i`` of shape ``(d_i, d_{i-1})`` (copies).

    Raises
    ------
    BlockStructureError
        If ``A`` has an entry larger than ``atol`` outside the block sub-diagonal; the
        message names the block (row layer, column layer) and the entry.

    Examples
    --------
    >>> A = adjacency([np.ones((2, 1)), np.ones((1, 2))])
    >>> [w.shape for w in weights_from_adjacency(A, [1, 2, 1])]
    [(2, 1), (1, 2)]
    """
    widths = check_widths(widths)
    o = offsets(widths)
    n_v = int(o[-1])
    A = check_finite_array(A, name="A", ndim=2, error=WeightsError)
    if A.shape != (n_v, n_v):
        raise WeightsError(f"A must have shape (n_v, n_v) = ({n_v}, {n_v}) for widths {list(widths)}; got shape {A.shape}.")
    outside = np.abs(np.where(block_shift_mask(widths), 0.0, A))
    if outside.max(initial=0.0) > atol:
        r, c = np.unravel_index(np.argmax(outside), outside.shape)
        lr = int(np.searchsorted(o, r, side="right") - 1)
        lc = int(np.searchsorted(o, c, side="right") - 1)
        raise BlockStructureError(
            f"A must be block-shift (nonzero only in blocks (layer i, layer i-1)); block (row layer {lr}, "
            f"column layer {lc}) has the entry A[{r}, {c}] = {float(A[r, c])!r} (|.| > atol = {atol})."
        )
    return [A[o[i] : o[i + 1], o[i - 1] : o[i]].copy() for i in range(1, len(widths))]
