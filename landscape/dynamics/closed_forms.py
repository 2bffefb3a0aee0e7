"""Exact and reduced solutions of the flow (spec 6.1-6.3), used to test the integrators.

Scalar modes write ``p = w_1 ... w_h`` for a mode with target ``sigma``.

=====================================  ==============================================
:func:`logistic`                       balanced depth 2: ``p(t)`` in closed form
:func:`balanced_mode_time`             balanced depth h: ``t(p)`` by quadrature
:func:`balanced_mode`                  balanced depth h: ``p(t)`` (inverts the above)
:func:`half_learning_time`             time for a balanced mode to reach ``sigma / 2``
:func:`unbalanced_depth2`              depth 2 with conserved ``c = w_2^2 - w_1^2``
:func:`zero_balanced_end_to_end`       the closed ODE of ``P`` for 0-balanced weights
:func:`decoupled_modes`                per-mode scalar ODEs of a decoupled initialisation
=====================================  ==============================================
"""

from __future__ import annotations

import numpy as np
from scipy import integrate, optimize

from .._validation import check_finite_array, check_int, check_positive_float
from ..errors import LandscapeValueError
from ..losses import require_quadratic

__all__ = [
    "logistic",
    "balanced_mode_time",
    "balanced_mode",
    "half_learning_time",
    "unbalanced_depth2",
    "zero_balanced_end_to_end",
    "decoupled_modes",
]


def logistic(t, p0, sigma):
    """Balanced depth-2 mode: ``p(t) = sigma p0 e^{2 sigma t} / (sigma + p0 (e^{2 sigma t} - 1))``.

    Examples
    --------
    >>> round(float(logistic(0.0, 0.1, 3.0)), 12), round(float(logistic(10.0, 0.1, 3.0)), 12)
    (0.1, 3.0)
    """
    t = np.asarray(t, dtype=float)
    e = np.exp(2 * sigma * t)
    return sigma * p0 * e / (sigma + p0 * (e - 1))


def _check_mode(p0, sigma, depth):
    sigma = check_positive_float(sigma, name="sigma")
    p0 = check_positive_float(p0, name="p0")
    if p0 >= sigma:
        raise LandscapeValueError(f"p0 must lie in (0, sigma) = (0, {sigma}); got {p0}.")
    return p0, sigma, check_int(depth, name="depth", minimum=1)


def balanced_mode_time(p, p0, sigma, depth):
    """Time for a balanced mode (``|w_i|`` equal, ``p > 0``) to go from ``p0`` to ``p``.

    ``t(p) = int_{p0}^{p} dq / (h q^{2-2/h} (sigma - q))`` (spec 6.2). With the logistic
    variable ``s = log(q / (sigma - q))`` the integrand becomes ``q^{2/h - 1} / (h sigma)``,
    smooth at both ends (for h = 2 it is constant: the logistic solution).
    """
    p0, sigma, h = _check_mode(p0, sigma, depth)
    if not 0 < p < sigma:
        raise LandscapeValueError(f"p must lie in (0, sigma) = (0, {sigma}); got {p}.")
    return _balanced_time_s(_logit(p, sigma), _logit(p0, sigma), sigma, h)


def _logit(p, sigma):
    return float(np.log(p / (sigma - p)))


def _balanced_time_s(s, s0, sigma, h):
    def integrand(x):
        q = sigma / (1.0 + np.exp(-x))
        return q ** (2.0 / h - 1.0) / (h * sigma)

    val, _ = integrate.quad(integrand, s0, s, epsabs=0.0, epsrel=1e-13, limit=200)
    return float(val)


def balanced_mode(t, p0, sigma, depth):
    """``p(t)`` of a balanced mode of depth ``h`` (inverts :func:`balanced_mode_time`)."""
    p0, sigma, h = _check_mode(p0, sigma, depth)
    ts = np.atleast_1d(np.asarray(t, dtype=float))
    out = np.empty_like(ts)
    s0 = _logit(p0, sigma)
    for i, ti in enumerate(ts):
        if ti <= 0:
            out[i] = p0
            continue
        # the integrand is at least sigma^{2/h-1} / (h sigma) times min(1, (q/sigma)^{2/h-1}): bracket and solve
        hi = s0 + 1.0
        while _balanced_time_s(hi, s0, sigma, h) < ti:
            hi = s0 + 2.0 * (hi - s0)
        s = optimize.brentq(lambda x: _balanced_time_s(x, s0, sigma, h) - ti, s0, hi, xtol=1e-14)
        out[i] = sigma / (1.0 + np.exp(-s))
    return out if np.ndim(t) else float(out[0])


def half_learning_time(p0, sigma, depth):
    """Time at which a balanced mode started at ``p0`` reaches ``sigma / 2``.

    Examples
    --------
    >>> round(half_learning_time(0.1**2, 3.0, 2), 6)   # w_i(0) = 0.1, spec fact 9
    0.950074
    """
    p0, sigma, h = _check_mode(p0, sigma, depth)
    if h == 2:
        return float(np.log((sigma - p0) / p0) / (2 * sigma))
    return balanced_mode_time(sigma / 2, p0, sigma, h)


def unbalanced_depth2(t, w0, sigma):
    """Depth-2 scalar network from any ``w0 = (w_1, w_2)`` (spec 6.2).

    With the conserved ``c = w_2^2 - w_1^2`` the product obeys
    ``dp/dt = sqrt(4 p^2 + c^2) (sigma - p)``; ``t(p)`` is integrated by quadrature and
    inverted, and ``w_1^2 = (sqrt(c^2 + 4p^2) - c) / 2``, ``w_2^2 = (sqrt(c^2 + 4p^2) + c) / 2``
    with the sign of whichever weight cannot vanish (``w_1`` if ``c < 0``).

    Returns
    -------
    ndarray of shape (len(t), 2)
    """
    sigma = check_positive_float(sigma, name="sigma")
    w1, w2 = map(float, w0)
    c = w2**2 - w1**2
    if c == 0.0:
        raise LandscapeValueError("w0 is balanced (c = 0): use balanced_mode, the origin is reachable then.")
    p0 = w1 * w2
    if p0 >= sigma:
        raise LandscapeValueError(f"w0 must have w_1 w_2 < sigma = {sigma}; got {p0}.")

    # v = -log(sigma - q) turns dq / (sqrt(4q^2 + c^2)(sigma - q)) into dv / sqrt(4q^2 + c^2)
    def t_of(v):
        q = lambda x: sigma - np.exp(-x)  # noqa: E731
        val, _ = integrate.quad(lambda x: 1.0 / np.sqrt(4 * q(x) ** 2 + c * c), v0, v, epsabs=0.0, epsrel=1e-13, limit=200)
        return val

    v0 = -np.log(sigma - p0)
    ts = np.atleast_1d(np.asarray(t, dtype=float))
    ps = np.empty_like(ts)
    for i, ti in enumerate(ts):
        if ti <= 0:
            ps[i] = p0
            continue
        hi = v0 + 1.0
        while t_of(hi) < ti:
            hi = v0 + 2.0 * (hi - v0)
        v = optimize.brentq(lambda x: t_of(x) - ti, v0, hi, xtol=1e-14)
        ps[i] = sigma - np.exp(-v)
    root = np.sqrt(c * c + 4 * ps * ps)
    if c < 0:
        a = np.sign(w1) * np.sqrt((root - c) / 2)
        return np.stack([a, ps / a], axis=1)
    b = np.sign(w2) * np.sqrt((root + c) / 2)
    return np.stack([ps / b, b], axis=1)


def _ach_field(P, Sigma, h, rank):
    """``sum_{j=1}^h (P P^T)^{(h-j)/h} (Sigma - P) (P^T P)^{(j-1)/h}`` from the top ``rank`` singular triplets.

    With the compact SVD ``P = U diag(s) V^T`` (kept to ``rank`` triplets),
    ``(P P^T)^a = U diag(s^{2a}) U^T`` for ``a > 0`` and ``(P P^T)^0 = I_{d_h}`` (likewise
    on the right with ``V``). The discarded singular values are zero in exact arithmetic.
    """
    U, s, Vt = np.linalg.svd(P, full_matrices=False)
    U, s, Vt = U[:, :rank], s[:rank], Vt[:rank]
    R = Sigma - P
    RV = R @ Vt.T  # (d_h, rank)
    UR = U.T @ R  # (rank, d_0)
    URV = UR @ Vt.T  # (rank, rank)
    out = np.zeros_like(P)
    for j in range(1, h + 1):
        a, b = (h - j) / h, (j - 1) / h
        if a == 0 and b == 0:  # h = 1
            out += R
        elif a == 0:  # j = h: R (P^T P)^b
            out += (RV * s ** (2 * b)) @ Vt
        elif b == 0:  # j = 1: (P P^T)^a R
            out += (U * s ** (2 * a)) @ UR
        else:
            out += (U * s ** (2 * a)) @ ((URV * s ** (2 * b)) @ Vt)
    return out


def zero_balanced_end_to_end(net, P0, t_eval, rtol=1e-12, atol=1e-14):
    """Integrate the Arora-Cohen-Hazan ODE of the end-to-end matrix (spec 6.3).

    ``dP/dt = sum_{j=1}^h (P P^T)^{(h-j)/h} (Sigma - P) (P^T P)^{(j-1)/h}``, exact when the
    weights are 0-balanced (``C_i = 0``). ``P0`` is the initial end-to-end matrix.

    The fractional powers are taken from the compact SVD of ``P`` restricted to its rank
    ``k`` at ``t = 0`` (the number of singular values of ``P0`` above
    ``max(d_0, d_h) * eps * ||P0||_2``, at most the bottleneck ``r``). For ``h >= 2`` the
    flow keeps that rank (``d s_i/dt = h s_i^{2-2/h} <Sigma - P, u_i v_i^T>``, so a zero
    singular value stays zero), and ``(P P^T)^0 = I`` on the whole output space. Taking
    eigenvalues of ``P P^T`` instead (rank deficient whenever ``d_0 != d_h`` or a hidden
    layer is narrower than both ends) gives round-off eigenvalues ``~1e-16`` whose powers
    ``(1e-16)^{1/h}`` are a noisy, non-Lipschitz term of size ``~1e-6 - 1e-11``: an
    adaptive solver at ``rtol = 1e-12`` then takes steps ``~1e-7`` and never finishes.

    Parameters
    ----------
    net : LinearNetwork
    P0 : array_like of shape (d_h, d_0)
    t_eval : array_like of shape (T,)
        Increasing times; ``t_eval[0]`` is the time of ``P0``.
    rtol, atol : float, default=1e-12, 1e-14
        Tolerances of scipy's ``DOP853``.

    Returns
    -------
    ndarray of shape (T, d_h, d_0)

    Examples
    --------
    >>> import landscape as ls
    >>> net = ls.LinearNetwork([2, 4, 3, 3], [3.0, 2.0])
    >>> P = zero_balanced_end_to_end(net, net.end_to_end(ls.init.balanced(net, rng=0)), [0.0, 20.0])
    >>> (np.round(P[-1], 8) + 0.0).tolist()
    [[3.0, 0.0], [0.0, 2.0], [0.0, 0.0]]
    """
    require_quadratic(net, "zero_balanced_end_to_end", "it integrates the end-to-end law with grad l = P - Sigma (spec 6.3)")
    h = net.depth
    Sigma = net.Sigma
    shape = Sigma.shape
    P0 = check_finite_array(P0, name="P0", shape=shape)
    t_eval = check_finite_array(t_eval, name="t_eval", ndim=1)
    if t_eval.size == 0 or np.any(np.diff(t_eval) <= 0):
        raise LandscapeValueError(f"t_eval must be a non-empty increasing array of times; got {t_eval!r}.")
    rtol = check_positive_float(rtol, name="rtol")
    atol = check_positive_float(atol, name="atol")
    s0 = np.linalg.svd(P0, compute_uv=False)
    tiny = max(shape) * np.finfo(float).eps * (s0[0] if s0.size else 0.0)
    rank = min(int(np.sum(s0 > tiny)), net.rank)
    if t_eval.size == 1:
        return P0[None].copy()

    def rhs(t, y):
        return _ach_field(y.reshape(shape), Sigma, h, rank).ravel()

    sol = integrate.solve_ivp(rhs, (t_eval[0], t_eval[-1]), P0.ravel(), t_eval=t_eval, method="DOP853", rtol=rtol,
                              atol=atol)
    if sol.status != 0:
        raise LandscapeValueError(f"zero_balanced_end_to_end: the integration failed ({sol.message}).")
    return sol.y.T.reshape(len(t_eval), *shape)


def decoupled_modes(t_eval, D0, sigma, rtol=1e-12, atol=1e-14):
    """Per-mode scalar networks of a decoupled initialisation (spec 6.1).

    ``d/dt d_{i,k} = (prod_{j != i} d_{j,k}) (sigma_k - prod_j d_{j,k})`` for each mode k.

    Parameters
    ----------
    t_eval : array_like of shape (T,)
    D0 : array_like of shape (h, k)
        Initial diagonal entries, layer by layer.
    sigma : array_like of shape (k,)

    Returns
    -------
    ndarray of shape (T, h, k)
    """
    D0 = np.asarray(D0, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    h, k = D0.shape

    def rhs(t, y):
        D = y.reshape(h, k)
        p = np.prod(D, axis=0)
        others = np.stack([np.prod(np.delete(D, i, axis=0), axis=0) for i in range(h)])
        return (others * (sigma - p)).ravel()

    sol = integrate.solve_ivp(rhs, (t_eval[0], t_eval[-1]), D0.ravel(), t_eval=t_eval, method="DOP853", rtol=rtol, atol=atol)
    return sol.y.T.reshape(len(t_eval), h, k)
