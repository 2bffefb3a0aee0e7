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
directions. Validation is done by the callers (:class:`LinearNetwork`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["prefix_products", "loss", "gradient", "hvp", "hessian"]


def _T(M):
    return np.swapaxes(M, -1, -2)


def prefix_products(W):
    """Return ``[F_0, ..., F_h]`` with ``F_j = W_j ... W_1``; ``F_0`` is ``None`` (identity)."""
    F = [None, W[0]]
    for Wj in W[1:]:
        F.append(Wj @ F[-1])
    return F


def loss(W, Sigma) -> float:
    """``L = 1/2 ||Sigma - W_h ... W_1||_F^2``."""
    R = Sigma - prefix_products(W)[-1]
    return 0.5 * float(np.vdot(R, R))


def _backprop(W, R):
    """``[G_1, ..., G_h]`` with ``G_h = R`` and ``G_{j-1} = W_j^T G_j``."""
    h = len(W)
    G = [None] * (h + 1)
    G[h] = R
    for j in range(h, 1, -1):
        G[j - 1] = _T(W[j - 1]) @ G[j]
    return G


def gradient(W, Sigma, *, return_loss: bool = False):
    """Gradient ``[dL/dW_1, ..., dL/dW_h]`` of the loss (the flow is its negative)."""
    F = prefix_products(W)
    R = Sigma - F[-1]
    G = _backprop(W, R)
    grad = [-G[1]]
    for j in range(2, len(W) + 1):
        g = G[j] @ _T(F[j - 1])
        grad.append(np.negative(g, out=g))
    if return_loss:
        return grad, 0.5 * float(np.vdot(R, R))
    return grad


def hvp(W, Sigma, V):
    """Hessian-vector product ``[sum_k H_{jk} V_k]_j`` in layer form.

    ``V`` is a list of arrays of shape ``(..., d_j, d_{j-1})``; leading batch axes are
    broadcast, so a stack of directions costs one pass.
    """
    h = len(W)
    F = prefix_products(W)
    R = Sigma - F[-1]
    G = _backprop(W, R)
    dF = [None, V[0]]
    for j in range(2, h + 1):
        dF.append(W[j - 1] @ dF[j - 1] + V[j - 1] @ F[j - 1])
    dG = [None] * (h + 1)
    dG[h] = -dF[h]
    for j in range(h, 1, -1):
        dG[j - 1] = _T(W[j - 1]) @ dG[j] + _T(V[j - 1]) @ G[j]
    out = [-dG[1]]
    for j in range(2, h + 1):
        out.append(-(dG[j] @ _T(F[j - 1]) + G[j] @ _T(dF[j - 1])))
    return out


def hessian(W, Sigma) -> np.ndarray:
    """Dense Hessian on the parameters ``W_1, ..., W_h`` (each flattened row-major).

    ``H = J^T J + S``: ``J_j = kron(B_j, F_{j-1}^T)`` is the Jacobian of the end-to-end
    matrix with respect to ``W_j`` (``B_j = W_h ... W_{j+1}``), and for ``j < k`` the
    residual block is ``S_{kj}[(b, c), (d, a)] = -K[b, a] M[c, d]`` with
    ``K = G_k F_{j-1}^T`` and ``M = W_{j+1:k-1}``.
    """
    h = len(W)
    d = [W[0].shape[1]] + [Wj.shape[0] for Wj in W]
    F = prefix_products(W)
    R = Sigma - F[-1]
    G = _backprop(W, R)
    # suffix products B_j = W_h ... W_{j+1}, B_h = I
    B = [None] * (h + 1)
    B[h] = np.eye(d[h])
    for j in range(h, 0, -1):
        B[j - 1] = B[j] @ W[j - 1]
    Finput = [np.eye(d[0])] + F[1:]
    J = np.concatenate([np.kron(B[j], Finput[j - 1].T) for j in range(1, h + 1)], axis=1)
    H = J.T @ J
    starts = np.concatenate([[0], np.cumsum([d[j] * d[j - 1] for j in range(1, h + 1)])])
    for j in range(1, h + 1):
        M = np.eye(d[j])  # W_{j+1:k-1}, grown as k increases
        for k in range(j + 1, h + 1):
            if k > j + 1:
                M = W[k - 2] @ M
            K = G[k] @ Finput[j - 1].T  # (d_k, d_{j-1})
            S = -np.einsum("ba,cd->bcda", K, M).reshape(d[k] * d[k - 1], d[j] * d[j - 1])
            H[starts[k - 1] : starts[k], starts[j - 1] : starts[j]] += S
            H[starts[j - 1] : starts[j], starts[k - 1] : starts[k]] += S.T
    return H
