"""Layer-list kernels: loss, gradient, Hessian-vector products and the dense Hessian.

All functions here take the layer list ``W = [W_1, ..., W_h]`` (``W_i`` of shape
``(d_i, d_{i-1})``) and the ``(d_h, d_0)`` target ``Sigma``; they never form the
``n_v x n_v`` adjacency matrix. Notation (spec 1.1): the prefix products
``F_j = W_{1:j} = W_j ... W_1`` (``F_0 = I``), the residual ``R = Sigma - F_h`` and the
back-propagated residuals ``G_j = W_{j+1:h}^T R`` (``G_h = R``), so that

    dL/dW_j = -G_j F_{j-1}^T,

which is the block ``(j+1, j)`` of ``-sum_j (A^{h-j})^T (E - A^h) (A^{j-1})^T``.
The Hessian-vector product differentiates this recursion in the direction ``V``
(forward mode through ``F``, reverse through ``G``); it accepts a leading batch of
directions. :func:`block_hvp` multiplies the Hessian by a block of directions given as
the columns of an ``(n_params, b)`` array with a few large matrix-matrix products per
layer (BLAS-3), sharing the prefix products and residuals between directions.
Validation is done by the callers (:class:`LinearNetwork`).

General losses (spec 8.2, issue 14): wherever a function takes ``Sigma`` it also accepts
a :class:`landscape.losses.Loss` ``l`` of the end-to-end matrix. Then the residual is
``R = -grad l(F_h)`` (for ``1/2||Sigma - P||^2`` that is ``Sigma - F_h``), the loss is
``l(F_h)``, and the Hessian-vector product seeds the backward recursion with
``dG_h = -Hess l(F_h)[dF_h]`` instead of ``-dF_h`` (Gauss-Newton term ``J^T Hess l J`` plus
the residual term, which has the same form as for the quadratic loss). A
:class:`~landscape.losses.SigmaLoss` is unwrapped to its ``Sigma`` array, so the quadratic
loss keeps its fast paths bit for bit.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

__all__ = [
    "prefix_products",
    "end_to_end",
    "backprop",
    "half_sq_norm",
    "loss",
    "gradient",
    "flow_field",
    "workspace",
    "hvp",
    "block_hvp_setup",
    "block_hvp",
    "hessian",
    "end_to_end_jacobian",
    "conserved_quantities",
    "residual",
    "loss_of_P",
    "target_shape",
]


def _T(M):
    return np.swapaxes(M, -1, -2)


def _resolve(target):
    """``(Sigma, None)`` for a target array or a SigmaLoss, ``(None, loss)`` for another loss."""
    if isinstance(target, np.ndarray):
        return target, None
    Sigma = getattr(target, "Sigma", None)
    if getattr(target, "name", None) == "squared" and isinstance(Sigma, np.ndarray):
        return Sigma, None
    if hasattr(target, "gradient") and hasattr(target, "hvp"):
        return None, target
    return np.asarray(target, dtype=np.float64), None


def target_shape(target):
    """``(d_h, d_0)`` of a target array or a loss."""
    Sigma, ell = _resolve(target)
    return tuple(Sigma.shape) if ell is None else tuple(ell.shape)


def residual(target, P):
    """``R = -grad l(P)``: ``Sigma - P`` for the quadratic loss."""
    Sigma, ell = _resolve(target)
    return Sigma - P if ell is None else -ell.gradient(P)


def loss_of_P(target, P):
    """``l(P)`` (``1/2 ||Sigma - P||_F^2`` for a target array)."""
    Sigma, ell = _resolve(target)
    return half_sq_norm(Sigma - P) if ell is None else ell.value(P)


def prefix_products(W):
    """Return ``[F_0, ..., F_h]`` with ``F_j = W_j ... W_1``; ``F_0`` is ``None`` (identity)."""
    F = [None, W[0]]
    for Wj in W[1:]:
        F.append(Wj @ F[-1])
    return F


def half_sq_norm(R):
    """``1/2 ||R||_F^2`` over the last two axes (an array over leading batch axes)."""
    return 0.5 * np.einsum("...ij,...ij->...", R, R)


def loss(W, Sigma):
    """``L = 1/2 ||Sigma - W_h ... W_1||_F^2`` or ``l(W_h ... W_1)`` for a loss (an array over batch axes)."""
    return loss_of_P(Sigma, prefix_products(W)[-1])


def backprop(W, R):
    """``[G_1, ..., G_h]`` with ``G_h = R`` and ``G_{j-1} = W_j^T G_j``."""
    h = len(W)
    G = [None] * (h + 1)
    G[h] = R
    for j in range(h, 1, -1):
        G[j - 1] = _T(W[j - 1]) @ G[j]
    return G


def end_to_end(W):
    """The end-to-end matrix ``P = W_h ... W_1`` (the corner block of ``A^h``)."""
    return prefix_products(W)[-1]


#: below this many entries per matrix, stacks use the transposed (all-plain-products) form
_SMALL = 64 * 64


def workspace(W, Sigma):
    """Work arrays for :func:`flow_field` on layer lists shaped like ``W`` (reuse across calls)."""
    batch = W[0].shape[:-2]
    d = [W[0].shape[-1]] + [Wj.shape[-2] for Wj in W]
    h = len(W)
    work = {"F": [None, None] + [np.empty(batch + (d[j], d[0])) for j in range(2, h + 1)],
            "R": np.empty(batch + (d[h], d[0]))}
    if batch and d[h] * d[0] < _SMALL:  # the transposed form of _field_into
        work["GT"] = [np.empty(batch + (d[0], d[j])) for j in range(h + 1)]
        work["T"] = [np.empty(batch + (d[j - 1], d[j])) for j in range(1, h + 1)]
    return work


_CACHE = threading.local()
_CACHE_SIZE = 4


def _cached_workspace(W, Sigma):
    """A workspace for ``W``'s shapes, kept per thread (fresh arrays cost page faults on every call).

    The arrays hold intermediates only (never a returned result), so reusing them across
    calls of one thread is safe; a small per-thread LRU keeps the last few shapes.
    """
    cache = getattr(_CACHE, "work", None)
    if cache is None:
        cache = _CACHE.work = OrderedDict()
    key = (tuple(Wj.shape for Wj in W), target_shape(Sigma))
    work = cache.pop(key, None)
    if work is None:
        work = workspace(W, Sigma)
        while len(cache) >= _CACHE_SIZE:
            cache.popitem(last=False)
    cache[key] = work
    return work


def _field_into(W, R, F, out, work):
    """``out_j = G_j F_{j-1}^T`` with ``G_h = R``, ``G_{j-1} = W_j^T G_j`` (the core of the gradient).

    Two orders of the same products: for single (or large) matrices, BLAS takes the
    transposed operands by flag, without copies (``G_j`` and the products go straight
    into ``out``); for stacks of small matrices, numpy multiplies much faster
    untransposed, so the transposed residuals ``G_j^T = R^T W_{j+1:h}`` (``G_{j-1}^T =
    G_j^T W_j``) are carried and ``out_j = (F_{j-1} G_j^T)^T``.
    """
    h = len(W)
    if W[0].ndim == 2 or R.shape[-1] * R.shape[-2] >= _SMALL:
        G = R
        for j in range(h, 1, -1):
            np.matmul(G, _T(F[j - 1]), out=out[j - 1])
            G = np.matmul(_T(W[j - 1]), G, out=out[0] if j == 2 else None)
        if h == 1:
            out[0][...] = G
        return out
    GT, T = work["GT"], work["T"]
    GT[h][...] = _T(R)
    for j in range(h, 1, -1):
        np.matmul(F[j - 1], GT[j], out=T[j - 1])
        out[j - 1][...] = _T(T[j - 1])
        np.matmul(GT[j], W[j - 1], out=GT[j - 1])
    out[0][...] = _T(GT[1])
    return out


def _forward(W, Sigma, work, sign):
    """Prefix products into ``work["F"]`` and ``R = sign (Sigma - F_h)`` (``-sign grad l``) into ``work["R"]``."""
    F, R = work["F"], work["R"]
    F[1] = W[0]  # a reference, never written to
    for j in range(2, len(W) + 1):
        np.matmul(W[j - 1], F[j - 1], out=F[j])
    Sigma, ell = _resolve(Sigma)
    if ell is not None:
        work["L"], g = ell.value_and_gradient(F[len(W)])
        if sign > 0:
            np.negative(g, out=R)
        else:
            R[...] = g
    elif sign > 0:
        np.subtract(Sigma, F[len(W)], out=R)
    else:
        np.subtract(F[len(W)], Sigma, out=R)
    return F, R


def flow_field(W, Sigma, out=None, work=None):
    """The flow field ``-dL/dW_j`` for ``j = 1..h`` and the loss.

    ``-dL/dW_j = G_j F_{j-1}^T`` with the prefix products ``F_j = W_j ... W_1`` and the
    back-propagated residuals ``G_h = Sigma - F_h``, ``G_{j-1} = W_j^T G_j``: block
    ``(j+1, j)`` of ``sum_j (A^{h-j})^T (E - A^h) (A^{j-1})^T``. This is the one gradient
    implementation of the package; :func:`gradient`, the network's methods and the
    integrators call it (the compiled field of ``dopri5-jit`` is the same loops, tested
    against it).

    Parameters
    ----------
    W : list of ndarray
        ``W_j`` of shape ``(..., d_j, d_{j-1})``.
    Sigma : ndarray of shape (d_h, d_0)
    out : list of ndarray, optional
        Arrays (or views, e.g. into a flat state) receiving ``-dL/dW_j``.
    work : dict, optional
        From :func:`workspace`; avoids fresh temporaries on repeated calls.

    Returns
    -------
    field : list of ndarray
        ``[-dL/dW_1, ..., -dL/dW_h]`` (``out`` if given).
    loss : ndarray of shape (...)
    """
    cached = work is None
    if cached:
        work = _cached_workspace(W, Sigma)
    F, R = _forward(W, Sigma, work, +1)
    if out is None:
        out = [np.empty(Wj.shape) for Wj in W]
    ell = _resolve(Sigma)[1]
    L = half_sq_norm(R) if ell is None else work.pop("L")
    field = _field_into(W, R, F, out, work)
    if cached:
        F[1] = None  # the cache must not keep the caller's W_1 alive
    return field, L


def gradient(W, Sigma, *, return_loss: bool = False):
    """Gradient ``[dL/dW_1, ..., dL/dW_h]`` of the loss (the flow is its negative)."""
    work = _cached_workspace(W, Sigma)
    F, R = _forward(W, Sigma, work, -1)  # R = F_h - Sigma: the gradient without a negation pass
    ell = _resolve(Sigma)[1]
    L = work.pop("L") if ell is not None else (half_sq_norm(R) if return_loss else None)
    grad = _field_into(W, R, F, [np.empty(Wj.shape) for Wj in W], work)
    F[1] = None  # the cache must not keep the caller's W_1 alive
    if return_loss:
        return grad, L
    return grad


def conserved_quantities(W):
    """``[C_1, ..., C_{h-1}]`` with ``C_i = W_{i+1}^T W_{i+1} - W_i W_i^T`` (batched, no checks)."""
    return [_T(W[i + 1]) @ W[i + 1] - W[i] @ _T(W[i]) for i in range(len(W) - 1)]


def hvp(W, Sigma, V):
    """Hessian-vector product ``[sum_k H_{jk} V_k]_j`` in layer form.

    ``V`` is a list of arrays of shape ``(..., d_j, d_{j-1})``; leading batch axes are
    broadcast, so a stack of directions costs one pass.
    """
    h = len(W)
    F = prefix_products(W)
    Sigma, ell = _resolve(Sigma)
    R = Sigma - F[-1] if ell is None else -ell.gradient(F[-1])
    G = backprop(W, R)
    dF = [None, V[0]]
    for j in range(2, h + 1):
        dF.append(W[j - 1] @ dF[j - 1] + V[j - 1] @ F[j - 1])
    dG = [None] * (h + 1)
    dG[h] = -dF[h] if ell is None else -ell.hvp(F[-1], dF[h])
    for j in range(h, 1, -1):
        dG[j - 1] = _T(W[j - 1]) @ dG[j] + _T(V[j - 1]) @ G[j]
    out = [-dG[1]]
    for j in range(2, h + 1):
        out.append(-(dG[j] @ _T(F[j - 1]) + G[j] @ _T(dF[j - 1])))
    return out


#: largest number of stored numbers (doubles) of the per-direction intermediates of one
#: :func:`block_hvp` pass; bigger blocks are processed in chunks of directions
_BLOCK_MEMORY = 64 * 2**20


def block_hvp_setup(W, Sigma, *, residual_rtol=None):
    """What :func:`block_hvp` shares between all directions at one point ``W``.

    The network is oriented so that the per-direction work is proportional to
    ``min(d_0, d_h)``: when ``d_h < d_0`` the reversed network ``[W_h^T, ..., W_1^T]`` with
    target ``Sigma^T`` (for a general loss, ``Q -> l(Q^T)``) is used (the loss is the same
    function of the transposed layers).
    The prefix products ``F_j`` are stored, and the back-propagated residuals
    ``G_j = W_{j+1:h}^T R`` either densely or, when the residual ``R = Sigma - F_h`` has
    low numerical rank ``r <= d_0 / 2`` (near critical points, where ``R = Sigma - Sigma_S``),
    as ``G_j = g_j V_r^T`` with ``g_j = W_{j+1:h}^T U_r s_r`` of shape ``(d_j, r)``: the two
    residual products per layer and direction then cost ``O(r)`` instead of ``O(d_0)``.

    Parameters
    ----------
    W : list of ndarray
        ``W_j`` of shape ``(d_j, d_{j-1})`` (no batch axes).
    Sigma : ndarray of shape (d_h, d_0)
    residual_rtol : float, optional
        Singular values of ``R`` up to ``residual_rtol * max(||Sigma||_2, ||F_h||_2)`` are
        dropped. Default ``8 eps h sqrt(d_0 d_h)``: the rounding level of ``R`` itself (at a
        gauge-rotated critical point of widths ``[300] * 12`` the spurious singular values
        are ``1.2e-13`` against ``||Sigma||_2 = 3``), so the product differs from :func:`hvp`
        by rounding only. ``0`` keeps ``R`` dense.

    Returns
    -------
    dict
        ``W``, ``F``, ``g``/``G``, ``Vr`` (``None`` when dense), ``reversed``, ``shapes``.
    """
    h = len(W)
    d = [W[0].shape[-1]] + [Wj.shape[-2] for Wj in W]
    Sigma, ell = _resolve(Sigma)
    reverse = d[h] < d[0]
    if reverse:
        W = [np.ascontiguousarray(_T(Wj)) for Wj in W[::-1]]
        if ell is None:
            Sigma = np.ascontiguousarray(_T(Sigma))
        else:
            ell = _TransposedLoss(ell)
        d = d[::-1]
    F = [np.eye(d[0])] + prefix_products(W)[1:]
    R = Sigma - F[h] if ell is None else -ell.gradient(F[h])
    if residual_rtol is None:
        residual_rtol = 8.0 * np.finfo(float).eps * h * np.sqrt(d[0] * d[h])
    Vr = g = G = None
    if residual_rtol > 0 and R.size:
        U, s, Vt = np.linalg.svd(R, full_matrices=False)
        scale = max(float(s[0]) if s.size else 0.0, float(np.linalg.norm(Sigma, 2)) if ell is None else 0.0,
                    float(np.linalg.norm(F[h], 2)))
        r = int(np.sum(s > residual_rtol * scale))
        if 2 * r <= d[0]:
            Vr = np.ascontiguousarray(Vt[:r].T)  # (d_0, r)
            g = [None] * (h + 1)
            g[h] = U[:, :r] * s[:r]
            for j in range(h, 1, -1):
                g[j - 1] = _T(W[j - 1]) @ g[j]
    if Vr is None:
        G = backprop(W, R)
    starts = np.concatenate([[0], np.cumsum([a * b for a, b in zip(d[1:], d[:-1])])]).astype(int)
    return {"W": W, "F": F, "g": g, "G": G, "Vr": Vr, "reversed": reverse, "d": d, "starts": starts, "loss": ell}


class _TransposedLoss:
    """``Q -> l(Q^T)``: the loss of the reversed network ``[W_h^T, ..., W_1^T]`` (end-to-end ``P^T``)."""

    def __init__(self, ell):
        self.ell = ell
        self.shape = tuple(ell.shape)[::-1]

    def value(self, Q):
        return self.ell.value(_T(Q))

    def gradient(self, Q):
        return _T(self.ell.gradient(_T(Q)))

    def hvp(self, Q, dQ):
        return _T(self.ell.hvp(_T(Q), _T(dQ)))


def _reorder_block(X, d_from, reverse_layers):
    """Map a parameter block between the network and its reversal (layer order and transposes)."""
    h = len(d_from) - 1
    starts = np.concatenate([[0], np.cumsum([d_from[j] * d_from[j - 1] for j in range(1, h + 1)])]).astype(int)
    b = X.shape[1]
    parts = []
    for j in (range(h, 0, -1) if reverse_layers else range(1, h + 1)):
        Xj = X[starts[j - 1] : starts[j]].reshape(d_from[j], d_from[j - 1], b)
        parts.append(Xj.transpose(1, 0, 2).reshape(-1, b))
    return np.concatenate(parts, axis=0)


def block_hvp(W, Sigma, X, *, setup=None):
    """Hessian times a block of directions, ``H @ X``, with matrix-matrix products.

    Each column of ``X`` is a direction in the flat parameter order (``W_1, ..., W_h``,
    each row-major). For ``b`` columns the differentiated recursions of :func:`hvp` run on
    all of them at once: with the directions stacked along a middle axis, every product
    of a layer with ``b`` per-direction matrices is *one* matrix product of shape
    ``(d_j, d_{j-1}) x (d_{j-1}, b d_0)`` (BLAS-3), the prefix products ``F_j`` and residuals
    ``G_j`` are computed once (:func:`block_hvp_setup`; pass ``setup`` to reuse them across
    calls at the same point), and a low-rank residual makes two of the six per-layer
    products nearly free. Equal to :func:`hvp` up to rounding.

    Parameters
    ----------
    W : list of ndarray
        ``W_j`` of shape ``(d_j, d_{j-1})``.
    Sigma : ndarray of shape (d_h, d_0)
    X : ndarray of shape (n_params, b)
    setup : dict, optional
        From :func:`block_hvp_setup` at the same ``W`` and ``Sigma``.

    Returns
    -------
    ndarray of shape (n_params, b)

    Examples
    --------
    >>> import landscape as ls
    >>> net = ls.LinearNetwork([2, 3, 2], [2.0, 1.0])
    >>> W = ls.init.gaussian(net, 1.0, rng=0)
    >>> X = np.random.default_rng(1).standard_normal((net.n_params, 4))
    >>> bool(np.allclose(block_hvp(W, net.Sigma, X), net.hessian(W) @ X))
    True
    """
    if setup is None:
        setup = block_hvp_setup(W, Sigma)
    X = np.asarray(X, dtype=np.float64)
    n, b = X.shape
    d = setup["d"]
    if setup["reversed"]:
        X = _reorder_block(X, d[::-1], True)
    per_direction = sum(d[j] * d[0] for j in range(1, len(d))) * 2 + n
    chunk = max(1, _BLOCK_MEMORY // max(per_direction, 1))
    if b <= chunk:
        Y = _block_hvp_oriented(setup, np.ascontiguousarray(X))
    else:
        Y = np.empty((n, b))
        for lo in range(0, b, chunk):
            Y[:, lo : lo + chunk] = _block_hvp_oriented(setup, np.ascontiguousarray(X[:, lo : lo + chunk]))
    if setup["reversed"]:
        Y = _reorder_block(Y, d, True)
    return Y


def _block_hvp_oriented(setup, X):
    """:func:`block_hvp` on the oriented network; ``X`` C-contiguous ``(n_params, b)``.

    Layouts (``k`` the direction): a direction's ``V_j`` is read as ``X_j[a, c, k]`` (a view);
    ``dF_j`` and ``dG_j`` are stored as ``[a, k, e]`` (``d_j x b x d_0``), so that left products
    with ``W_j`` are single matrix products; the result is written as ``Y_j[a, c, k]``.
    """
    W, F, g, G, Vr, d, starts = (setup[key] for key in ("W", "F", "g", "G", "Vr", "d", "starts"))
    h = len(W)
    n, b = X.shape
    d0 = d[0]
    Xs = [X[starts[j - 1] : starts[j]].reshape(d[j], d[j - 1], b) for j in range(1, h + 1)]
    # forward: dF_j = W_j dF_{j-1} + V_j F_{j-1}, dF_1 = V_1
    dF = [None] * (h + 1)
    for j in range(1, h + 1):
        Vakc = np.array(Xs[j - 1].transpose(0, 2, 1), order="C")  # [a, k, c], a copy (dF_1 is written to)
        if j == 1:
            dF[1] = Vakc
            continue
        out = np.matmul(W[j - 1], dF[j - 1].reshape(d[j - 1], b * d0)).reshape(d[j], b, d0)
        out += (Vakc.reshape(d[j] * b, d[j - 1]) @ F[j - 1]).reshape(d[j], b, d0)
        dF[j] = out
    Y = np.empty((n, b))
    dG = dF[h]
    ell = setup.get("loss")
    if ell is None:
        np.negative(dG, out=dG)  # dG_h = -dF_h (dF_h is not needed any more)
    else:  # dG_h = -Hess l(F_h)[dF_h], directions k on the middle axis [a, k, e]
        Hd = ell.hvp(F[h], dG.transpose(1, 0, 2))  # (b, d_h, d_0)
        dG = np.ascontiguousarray(np.negative(Hd).transpose(1, 0, 2))
    for j in range(h, 0, -1):
        Yj = Y[starts[j - 1] : starts[j]].reshape(d[j], d[j - 1], b)
        # term A: dG_j F_{j-1}^T, computed as [a, k, c]
        A = dG if j == 1 else (dG.reshape(d[j] * b, d0) @ _T(F[j - 1])).reshape(d[j], b, d[j - 1])
        np.negative(A.transpose(0, 2, 1), out=Yj)
        if j >= 2:
            # term B: G_j dF_{j-1}^T
            flat = dF[j - 1].reshape(d[j - 1] * b, d0)
            if Vr is not None:
                M = flat @ Vr  # [c, k, r]
                Yj -= (g[j] @ _T(M.reshape(d[j - 1] * b, -1))).reshape(d[j], d[j - 1], b)
            else:
                Bt = (flat @ _T(G[j])).reshape(d[j - 1], b, d[j])  # [c, k, a]
                Yj -= Bt.transpose(2, 0, 1)
            # backward: dG_{j-1} = W_j^T dG_j + V_j^T G_j, as [c, k, e]
            new = np.matmul(_T(W[j - 1]), dG.reshape(d[j], b * d0)).reshape(d[j - 1], b, d0)
            if Vr is not None:
                M2 = _T(g[j]) @ Xs[j - 1].reshape(d[j], d[j - 1] * b)  # [r, c, k]
                new += (_T(M2) @ _T(Vr)).reshape(d[j - 1], b, d0)
            else:
                Vcka = np.ascontiguousarray(Xs[j - 1].transpose(1, 2, 0))  # [c, k, a]
                new += (Vcka.reshape(d[j - 1] * b, d[j]) @ G[j]).reshape(d[j - 1], b, d0)
            dF[j - 1] = None
            dG = new
    return Y


def end_to_end_jacobian(W, F=None) -> np.ndarray:
    """Jacobian of ``vec(W_h ... W_1)`` (row-major) with respect to the flat parameters.

    Block ``j`` is ``kron(B_j, F_{j-1}^T)`` with ``B_j = W_h ... W_{j+1}``; shape
    ``(..., d_h d_0, n_params)``. ``J^T J`` is the Gauss-Newton part of the Hessian.
    """
    h = len(W)
    batch = W[0].shape[:-2]
    d = [W[0].shape[-1]] + [Wj.shape[-2] for Wj in W]
    if F is None:
        F = prefix_products(W)
    B = [None] * (h + 1)
    B[h] = np.broadcast_to(np.eye(d[h]), batch + (d[h], d[h]))
    for j in range(h, 0, -1):
        B[j - 1] = B[j] @ W[j - 1]
    Finput = [np.broadcast_to(np.eye(d[0]), batch + (d[0], d[0]))] + F[1:]
    n_out = d[h] * d[0]
    return np.concatenate(
        [np.einsum("...ia,...bl->...ilab", B[j], Finput[j - 1]).reshape(batch + (n_out, d[j] * d[j - 1])) for j in range(1, h + 1)],
        axis=-1,
    )


def hessian(W, Sigma) -> np.ndarray:
    """Dense Hessian on the parameters ``W_1, ..., W_h`` (each flattened row-major).

    ``H = J^T J + S``: ``J_j = kron(B_j, F_{j-1}^T)`` is the Jacobian of the end-to-end
    matrix with respect to ``W_j`` (``B_j = W_h ... W_{j+1}``), and for ``j < k`` the
    residual block is ``S_{kj}[(b, c), (d, a)] = -K[b, a] M[c, d]`` with
    ``K = G_k F_{j-1}^T`` and ``M = W_{j+1:k-1}``. Leading batch axes of the ``W_i``
    give a batch of Hessians, shape ``(..., n_params, n_params)``.
    """
    h = len(W)
    batch = W[0].shape[:-2]
    d = [W[0].shape[-1]] + [Wj.shape[-2] for Wj in W]
    F = prefix_products(W)
    Sigma, ell = _resolve(Sigma)
    R = Sigma - F[-1] if ell is None else -ell.gradient(F[-1])
    G = backprop(W, R)
    J = end_to_end_jacobian(W, F)
    Finput = [np.broadcast_to(np.eye(d[0]), batch + (d[0], d[0]))] + F[1:]
    H = _T(J) @ J if ell is None else _T(J) @ (ell.hessian_matrix(F[-1]) @ J)
    starts = np.concatenate([[0], np.cumsum([d[j] * d[j - 1] for j in range(1, h + 1)])])
    for j in range(1, h + 1):
        M = np.broadcast_to(np.eye(d[j]), batch + (d[j], d[j]))  # W_{j+1:k-1}, grown as k increases
        for k in range(j + 1, h + 1):
            if k > j + 1:
                M = W[k - 2] @ M
            K = G[k] @ _T(Finput[j - 1])  # (..., d_k, d_{j-1})
            S = -np.einsum("...ba,...cd->...bcda", K, M).reshape(batch + (d[k] * d[k - 1], d[j] * d[j - 1]))
            H[..., starts[k - 1] : starts[k], starts[j - 1] : starts[j]] += S
            H[..., starts[j - 1] : starts[j], starts[k - 1] : starts[k]] += _T(S)
    return H
