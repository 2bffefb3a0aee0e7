"""Arcs ``A(alpha)`` through critical points and the exact loss polynomial along them (spec 5).

Along a straight arc ``A* + alpha V`` (V block-shift) the end-to-end matrix is a matrix
polynomial of degree h in alpha, ``P(alpha) = sum_m alpha^m P_m`` (``P_m``: the words with m
factors of V), so ``L(A* + alpha V) - L(A*)`` is a polynomial of degree at most 2h whose
coefficients are inner products of the ``P_m``: computed exactly by a recursion over the
layers, not by finite differences.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_positive_float
from ..core import kernels
from ..critical._points import representative
from ..critical._subsets import check_subset
from ..errors import LandscapeValueError
from ..losses import require_quadratic

__all__ = [
    "arc_polynomial",
    "leading_term",
    "classify_direction",
    "insertion_direction",
    "insertion_arc",
    "removal_arc",
    "exchange_arc",
    "gauge_arc",
    "free_chain",
    "escape_directions",
]


def arc_polynomial(net, W, V):
    """Coefficients ``c_0..c_{2h}`` of ``L(A + alpha V) - L(A)`` (so ``c_0 = 0``).

    Parameters
    ----------
    net : LinearNetwork
    W : list of ndarray or ndarray of shape (n_v, n_v)
        The base point.
    V : list of ndarray or ndarray of shape (n_v, n_v)
        A block-shift direction (an adjacency matrix with entries off the block
        sub-diagonal is refused, naming the block).

    Returns
    -------
    ndarray of shape (2h + 1,)
        ``c[t]`` multiplies ``alpha^t``.

    Examples
    --------
    >>> import landscape as ls
    >>> net = ls.LinearNetwork([1, 1, 1, 1], 3.0)
    >>> c = arc_polynomial(net, [np.zeros((1, 1))] * 3, [np.ones((1, 1))] * 3)
    >>> c.tolist()   # -sigma alpha^3 + alpha^6 / 2 (spec 5.1, balanced arc)
    [0.0, 0.0, 0.0, -3.0, 0.0, 0.0, 0.5]
    """
    require_quadratic(net, "arc_polynomial", "the arcs of spec 5 and their loss polynomials are derived for 1/2||Sigma - P||^2")
    Wl = net.layers(W)
    Vl = net.layers(V, name="V")
    h = net.depth
    Q = [Wl[0], Vl[0]]  # Q[m]: words of layers 1..i with m factors of V
    for i in range(1, h):
        new = [Wl[i] @ Q[0]]
        for m in range(1, i + 1):
            new.append(Wl[i] @ Q[m] + Vl[i] @ Q[m - 1])
        new.append(Vl[i] @ Q[i])
        Q = new
    R = [net.Sigma - Q[0]] + [-q for q in Q[1:]]
    c = np.zeros(2 * h + 1)
    for a in range(h + 1):
        for b in range(h + 1):
            c[a + b] += 0.5 * float(np.vdot(R[a], R[b]))
    c[0] = 0.0
    return c


def leading_term(coefficients, tol=1e-10):
    """``(order, coefficient)`` of the first coefficient above ``tol * max(1, max |c|)``; ``(0, 0.0)`` if none."""
    c = np.asarray(coefficients, dtype=float)
    scale = max(1.0, float(np.abs(c).max(initial=0.0)))
    for t in range(1, c.size):
        if abs(c[t]) > tol * scale:
            return t, float(c[t])
    return 0, 0.0


def _side(order, coef, sign):
    if order == 0:
        return "neutral"
    value = coef * sign**order
    return "unstable" if value < 0 else "stable"


def classify_direction(net, W, V, tol=1e-10):
    """Stable, unstable or neutral: the sign of the leading term of ``L(A + alpha V) - L(A)``.

    Returns
    -------
    dict
        ``order`` and ``coefficient`` of the leading term, ``coefficients`` (all), and
        ``positive`` / ``negative``: the kind of the half-arcs ``alpha > 0`` and ``alpha < 0``
        (``"unstable"`` where the loss decreases, ``"stable"`` where it increases,
        ``"neutral"`` where it is constant). For even order both halves agree; for odd
        order (e.g. insertion arcs of odd depth) they differ.
    """
    tol = check_positive_float(tol, name="tol", upper=1.0)
    c = arc_polynomial(net, W, V)
    order, coef = leading_term(c, tol)
    return {"order": order, "coefficient": coef, "coefficients": c,
            "positive": _side(order, coef, 1), "negative": _side(order, coef, -1)}


def _null_vector(M, rng, tol=1e-10):
    """A unit vector in ker(M) (columns), or None."""
    if M.shape[1] == 0:
        return None
    if M.shape[0] == 0:
        v = rng.standard_normal(M.shape[1])
        return v / np.linalg.norm(v)
    u, s, vt = np.linalg.svd(M)
    rank = int(np.sum(s > tol * max(1.0, s.max(initial=0.0))))
    null = vt[rank:]
    if null.shape[0] == 0:
        return None
    v = null.T @ rng.standard_normal(null.shape[0])
    return v / np.linalg.norm(v)


def _free_vectors(layers, rng, tol):
    """Per hidden layer i: a unit vector in ``ker(W_{i+1}) ∩ ker(W_i^T)``, or None."""
    return [_null_vector(np.vstack([layers[i], layers[i - 1].T]), rng, tol) for i in range(1, len(layers))]


def free_chain(net, W, rng=0, tol=1e-10):
    """Unit vectors ``z_i`` (hidden layers) in ``ker(W_{i+1}) ∩ ker(W_i^T)``, or None.

    An insertion path through them touches the existing network nowhere: the only new
    word of ``(A + alpha V)^h`` is the path itself.
    """
    z = _free_vectors(net.layers(W), np.random.default_rng(rng), tol)
    return None if any(v is None for v in z) else z


def insertion_direction(net, W, k, chain=None):
    """Layers ``E_1 = z_1 f_k^T, E_i = z_i z_{i-1}^T, E_h = e_k z_{h-1}^T`` of the insertion arc of mode k.

    ``(A + blk_1(alpha_1 E_1, ..., alpha_h E_h))^h = A^h + (prod alpha_i) blk_h(e_k f_k^T)``,
    so at a critical point with k unlearnt ``Delta L = -sigma_k prod(alpha) + (prod alpha)^2 / 2``
    (spec 5.1). ``chain`` defaults to :func:`free_chain`; None is returned if there is none.
    """
    require_quadratic(net, "insertion_direction", "the arcs of spec 5 and their loss polynomials are derived for 1/2||Sigma - P||^2")
    if not 1 <= k <= net.sigma.size:
        raise LandscapeValueError(f"k must be a mode number in 1..{net.sigma.size}; got {k}.")
    z = free_chain(net, W) if chain is None else chain
    if z is None:
        return None
    d0, dh = net.widths[0], net.widths[-1]
    f = np.zeros(d0)
    f[k - 1] = 1.0
    e = np.zeros(dh)
    e[k - 1] = 1.0
    if net.depth == 1:
        return [np.outer(e, f)]
    return [np.outer(z[0], f)] + [np.outer(z[i], z[i - 1]) for i in range(1, len(z))] + [np.outer(e, z[-1])]


def escape_directions(net, W, tol=1e-10):
    """Candidate escape arcs at a critical point, by increasing order (generalised insertion arcs).

    For layers ``a < b`` let ``M = G_b F_{a-1}^T`` (``G_b = W_{b+1:h}^T R``, ``F_{a-1} = W_{1:a-1}``:
    the residual seen between node layers ``a-1`` and ``b``). With free unit vectors
    ``z_a, ..., z_{b-1}`` (in ``ker(W_{i+1}) ∩ ker(W_i^T)``, so the new path touches the network
    only at its ends) and the top singular pair ``(u, v)`` of M, the direction
    ``E_a = z_a v^T, E_i = z_i z_{i-1}^T, E_b = u z_{b-1}^T`` adds exactly one word to ``A^h``:
    ``L(A + alpha V) - L(A) = -s alpha^m + O(alpha^{2m})`` with ``s = sigma_1(M) > 0`` and
    ``m = b - a + 1``. For ``a = 1, b = h`` it is the insertion arc of spec 5.1; shorter
    arcs reuse existing partial paths (e.g. scalar ``(2, 0, 0, 0)``, depth 4).

    Yields
    ------
    (int, int, list of ndarray)
        ``(a, b, V)`` with V the layer list of the direction (zero outside layers a..b).
    """
    require_quadratic(net, "escape_directions", "the arcs of spec 5 and their loss polynomials are derived for 1/2||Sigma - P||^2")
    layers = net.layers(W)
    h = net.depth
    F = kernels.prefix_products(layers)
    F[0] = np.eye(net.widths[0])
    R = net.Sigma - F[h]
    G = kernels.backprop(layers, R)
    free = _free_vectors(layers, np.random.default_rng(0), tol)  # free[i - 1]: hidden layer i
    candidates = []
    for a in range(1, h):
        for b in range(a + 1, h + 1):
            z = free[a - 1 : b - 1]
            if any(v is None for v in z):
                continue
            M = G[b] @ F[a - 1].T
            u_, s_, vt = np.linalg.svd(M)
            if s_.size == 0 or s_[0] <= tol * max(1.0, float(np.abs(R).max())):
                continue
            V = [np.zeros(sh) for sh in net.shapes]
            V[a - 1] = np.outer(z[0], vt[0])
            for i in range(a + 1, b):
                V[i - 1] = np.outer(z[i - a], z[i - a - 1])
            V[b - 1] = np.outer(u_[:, 0], z[-1])
            candidates.append((b - a + 1, a, b, V))
    for _, a, b, V in sorted(candidates, key=lambda c: (c[0], c[1])):
        yield a, b, V


def insertion_arc(net, S, k, alphas):
    """Losses along the insertion arc of mode k at the representative ``A*_S`` (spec 5.1).

    Parameters
    ----------
    net : LinearNetwork
    S : collection of int
        Learnt modes of the representative (1-based).
    k : int
        The unlearnt mode to insert.
    alphas : array_like of shape (m, h) or (h,)
        Per-layer arc parameters ``alpha_i``.

    Returns
    -------
    ndarray of shape (m,)
        ``L(A_k(alpha)) - L(A*_S)``.
    """
    require_quadratic(net, "insertion_arc", "the arcs of spec 5 and their loss polynomials are derived for 1/2||Sigma - P||^2")
    S = check_subset(net, S)
    if k in S:
        raise LandscapeValueError(f"k = {k} is already learnt in S = {S}: insertion needs an unlearnt mode.")
    W = representative(net, S)
    E = insertion_direction(net, W, k)
    if E is None:
        raise LandscapeValueError(f"no free path for an insertion arc at S = {S}: every hidden unit is used (|S| = r).")
    alphas = np.atleast_2d(np.asarray(alphas, dtype=float))
    if alphas.shape[1] != net.depth:
        raise LandscapeValueError(f"alphas must have h = {net.depth} columns; got shape {alphas.shape}.")
    L0 = net.loss(W)
    return np.array([net.loss([w + a * e for w, a, e in zip(W, row, E)]) - L0 for row in alphas])


def removal_arc(net, S, s, betas):
    """Losses when the path of a learnt mode s is perturbed to ``sigma_s^{1/h} + beta_i`` (spec 5.2).

    ``Delta L = 1/2 (sigma_s - prod_i (sigma_s^{1/h} + beta_i))^2 >= 0``.
    """
    require_quadratic(net, "removal_arc", "the arcs of spec 5 and their loss polynomials are derived for 1/2||Sigma - P||^2")
    S = check_subset(net, S)
    if s not in S:
        raise LandscapeValueError(f"s = {s} is not learnt in S = {S}: removal needs a learnt mode.")
    W = representative(net, S)
    j = S.index(s)
    h = net.depth
    betas = np.atleast_2d(np.asarray(betas, dtype=float))
    if betas.shape[1] != h:
        raise LandscapeValueError(f"betas must have h = {h} columns; got shape {betas.shape}.")
    L0 = net.loss(W)
    out = []
    for row in betas:
        Wp = [w.copy() for w in W]
        for i in range(h):
            r, c = (j, s - 1) if i == 0 else ((s - 1, j) if i == h - 1 else (j, j))
            if h == 1:
                r, c = s - 1, s - 1
            Wp[i][r, c] += row[i]
        out.append(net.loss(Wp) - L0)
    return np.array(out)


def exchange_arc(net, S, m, k, thetas):
    """Losses when learnt mode m is rotated toward unlearnt mode k by angle theta (spec 5.3).

    ``W_1 -> W_1 R(theta)^T``, ``W_h -> R(theta) W_h`` with the same Givens rotation in the
    (m, k) plane on both sides; ``Delta L = sigma_m sin^2(theta) (sigma_m - sigma_k)``.
    """
    require_quadratic(net, "exchange_arc", "the arcs of spec 5 and their loss polynomials are derived for 1/2||Sigma - P||^2")
    S = check_subset(net, S)
    if m not in S or k in S:
        raise LandscapeValueError(f"an exchange arc needs m learnt and k unlearnt; got m = {m}, k = {k}, S = {S}.")
    W = representative(net, S)
    L0 = net.loss(W)
    out = []
    for th in np.atleast_1d(np.asarray(thetas, dtype=float)):
        def rot(d):
            R = np.eye(d)
            c, s = np.cos(th), np.sin(th)
            a, b = m - 1, k - 1
            R[a, a], R[a, b], R[b, a], R[b, b] = c, -s, s, c
            return R

        Wp = [w.copy() for w in W]
        Wp[0] = Wp[0] @ rot(net.widths[0]).T
        Wp[-1] = rot(net.widths[-1]) @ Wp[-1]
        out.append(net.loss(Wp) - L0)
    return np.array(out)


def gauge_arc(net, W, X, s_values):
    """Losses along ``G(s) A G(s)^{-1}`` with ``G_i(s) = expm(s X_i)`` (spec 5.4): identically 0."""
    from scipy.linalg import expm

    from ..critical import gauge

    L0 = net.loss(W)
    return np.array([net.loss(gauge(net, W, [expm(s * x) for x in X])) - L0 for s in np.atleast_1d(s_values)])
