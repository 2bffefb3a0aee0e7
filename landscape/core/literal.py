"""Literal adjacency-matrix formulas of the spec, with dense ``n_v x n_v`` products.

These are the *specification*: slow, short, and written exactly as in the paper
(spec sections 1.3-1.4, 2.3 and 3.5). The fast layer-list kernels are tested against
them on small cases, and ``benchmarks/bench_core.py`` times them as the baseline.
Use them for checking, never in a hot path.

All functions take ``A`` of shape ``(n_v, n_v)``, the depth ``h`` and ``E = blk_h(Sigma)``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "powers",
    "literal_loss",
    "literal_gradient",
    "literal_hvp",
    "literal_hessian_form",
    "Q",
    "literal_loss_value",
    "literal_loss_gradient",
    "literal_loss_hvp",
]


def powers(A, h: int) -> list[np.ndarray]:
    """``[A^0, A^1, ..., A^h]`` by repeated dense products."""
    P = [np.eye(A.shape[0])]
    for _ in range(h):
        P.append(P[-1] @ A)
    return P


def literal_loss(A, E, h: int) -> float:
    """``L(A) = 1/2 ||E - A^h||_F^2``."""
    R = E - np.linalg.matrix_power(A, h)
    return 0.5 * float(np.vdot(R, R))


def literal_gradient(A, E, h: int) -> np.ndarray:
    """Gradient of ``L``: ``-sum_{j=1}^h (A^{h-j})^T (E - A^h) (A^{j-1})^T`` (spec 1.4)."""
    P = powers(A, h)
    R = E - P[h]
    return -sum(P[h - j].T @ R @ P[j - 1].T for j in range(1, h + 1))


def _M1(P, B, h):
    return sum(P[l] @ B @ P[h - 1 - l] for l in range(h))


def literal_hessian_form(A, E, h: int, B, C) -> float:
    """Polarised second variation ``<B, Hess L(A) C>`` (spec 3.5).

    ``<M_1(B), M_1(C)> - <E - A^h, M_2(B, C) + M_2(C, B)>`` with
    ``M_1(B) = sum_l A^l B A^{h-1-l}`` and ``M_2(B, C) = sum_{a+b+c=h-2} A^a B A^b C A^c``.
    """
    P = powers(A, h)
    R = E - P[h]
    first = float(np.vdot(_M1(P, B, h), _M1(P, C, h)))
    second = 0.0
    for a in range(h - 1):
        for b in range(h - 1 - a):
            c = h - 2 - a - b
            second += float(np.vdot(R, P[a] @ B @ P[b] @ C @ P[c] + P[a] @ C @ P[b] @ B @ P[c]))
    return first - second


def literal_hvp(A, E, h: int, C, mask=None) -> np.ndarray:
    """``Hess L(A) C`` as an ``n_v x n_v`` matrix (the Riesz representer of the form above).

    If ``mask`` (the block-shift pattern) is given, the result is projected onto it, which
    gives the Hessian restricted to block-shift matrices.
    """
    P = powers(A, h)
    R = E - P[h]
    M1C = _M1(P, C, h)
    out = sum(P[l].T @ M1C @ P[h - 1 - l].T for l in range(h))
    for a in range(h - 1):
        for b in range(h - 1 - a):
            c = h - 2 - a - b
            out = out - P[a].T @ R @ (P[b] @ C @ P[c]).T - (P[a] @ C @ P[b]).T @ R @ P[c].T
    return out if mask is None else np.where(mask, out, 0.0)


def _corner(M, widths):
    """The bottom-left ``(d_h, d_0)`` block of an ``(n_v, n_v)`` matrix."""
    n_v = M.shape[0]
    return M[n_v - widths[-1]:, : widths[0]]


def _blk_h(M, widths):
    """``blk_h(M)``: ``M`` in the bottom-left corner of an ``(n_v, n_v)`` zero matrix."""
    n_v = sum(widths)
    out = np.zeros((n_v, n_v))
    out[n_v - widths[-1]:, : widths[0]] = M
    return out


def literal_loss_value(A, loss, widths) -> float:
    """``L(A) = l(P)`` with ``P`` the corner block of ``A^h`` (spec 8.2)."""
    h = len(widths) - 1
    return float(loss.value(_corner(np.linalg.matrix_power(A, h), widths)))


def literal_loss_gradient(A, loss, widths) -> np.ndarray:
    """``sum_{j=1}^h (A^{h-j})^T blk_h(grad l(P)) (A^{j-1})^T`` (spec 8.2), an ``(n_v, n_v)`` matrix."""
    h = len(widths) - 1
    P = powers(A, h)
    D = _blk_h(loss.gradient(_corner(P[h], widths)), widths)
    return sum(P[h - j].T @ D @ P[j - 1].T for j in range(1, h + 1))


def literal_loss_hvp(A, loss, widths, C, mask=None) -> np.ndarray:
    """``Hess L(A) C`` for ``L(A) = l(corner of A^h)``, dense in ``A``.

    Gauss-Newton term ``sum_l (A^l)^T blk_h(Hess l(P)[dP]) (A^{h-1-l})^T`` with
    ``dP = corner of M_1(C)`` (the directional derivative of ``A^h``), plus the residual
    term of :func:`literal_hvp` with ``E - A^h`` replaced by ``R = -blk_h(grad l(P))``.
    """
    h = len(widths) - 1
    P = powers(A, h)
    Pc = _corner(P[h], widths)
    R = -_blk_h(loss.gradient(Pc), widths)
    dP = _corner(_M1(P, C, h), widths)
    D = _blk_h(loss.hvp(Pc, dP), widths)
    out = sum(P[l].T @ D @ P[h - 1 - l].T for l in range(h))
    for a in range(h - 1):
        for b in range(h - 1 - a):
            c = h - 2 - a - b
            out = out - P[a].T @ R @ (P[b] @ C @ P[c]).T - (P[a] @ C @ P[b]).T @ R @ P[c].T
    return out if mask is None else np.where(mask, out, 0.0)


def Q(A) -> np.ndarray:
    """``Q(A) = A^T A - A A^T`` (block diagonal for block-shift ``A``, spec 2.3)."""
    return A.T @ A - A @ A.T
