"""Escape time of a balanced mode from the origin: exact integral, closed forms, asymptotics.

Pure numpy/scipy (no xarray): the theory the studies of :mod:`landscape.experiments`
print beside their measurements.

Setting (spec 5.5, 6.2). A balanced, aligned mode of strength ``s > 0`` has equal
per-layer weights ``w_i = w > 0``; its product ``u = w^h`` obeys

    du/dt = h u^{2 - 2/h} (s - u),        u(0) = eps^h,

where ``eps`` is the per-layer initial scale. **Escape** is the half-learning time: the
first time ``u`` reaches ``s / 2`` (the same criterion as ``P_kk = sigma_k / 2`` of
:func:`landscape.itinerary`; for a general start the studies use the largest singular
value of ``P = W_h ... W_1`` reaching ``sigma_1 / 2``). Its exact value is

    T_h(eps, s) = int_{eps^h}^{s/2} dq / (h q^{2-2/h} (s - q)).

Closed forms and expansions (``eps -> 0``), derived in :func:`escape_time` and checked
against quadrature and the ODE in ``tests/experiments``:

- ``h = 2``: ``T_2 = ln(s / eps^2 - 1) / (2 s)``
  ``= (ln s + 2 ln(1/eps)) / (2 s) - eps^2 / (2 s^2) + O(eps^4)``;
  the slope ``dT_2 / d ln(1/eps) = 1 / (s - eps^2) -> 1 / s``.
- ``h >= 3``: splitting ``1/(s - q) = 1/s + q / (s (s - q))``,
  ``T_h = eps^{-(h-2)} / ((h-2) s) + C_h(s) - eps^2 / (2 s^2) + O(eps^{h+2})`` with
  ``C_h(s) = s^{2/h - 2} [ 2^{-2/h} F / 2 - 2^{1 - 2/h} / (h - 2) ]``,
  ``F = 2F1(2/h, 1; 1 + 2/h; 1/2)``; the local log-log slope is
  ``d ln T_h / d ln eps = -eps^{2-h} / ((s - eps^h) T_h) -> -(h - 2)``.

The same slopes hold for any start ``W(0) = eps V``: near the origin the flow is
homogeneous of degree ``h - 1`` in ``W``, so ``T(eps) = eps^{-(h-2)} tau(V) + C(V) + o(1)``
(``h >= 3``) and ``T = ln(1/eps) / s + C(V) + o(1)`` (``h = 2``); only the prefactor
``tau(V)`` and the constant depend on the start. :func:`fit_slope` therefore fits the
asymptotic form with its constant, ``T = a ln(1/eps) + c`` or ``T = A eps^b + c``: a plain
OLS of ``ln T`` on ``ln eps`` carries the bias ``~ C(V) eps^{h-2} / tau(V)`` of the
constant, larger than the seed-to-seed spread of precise measurements.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate, special

from .._validation import check_int, check_positive_float
from ..errors import LandscapeValueError

__all__ = ["escape_time", "escape_time_leading", "escape_time_constant", "escape_time_asymptotic", "local_slope",
           "predicted_slope", "grid_slope", "ols_slope", "fit_slope", "fit_variables"]


def _check(eps, s, depth):
    s = check_positive_float(s, name="s")
    h = check_int(depth, name="depth", minimum=2)
    eps = np.asarray(eps, dtype=float)
    if not np.all(np.isfinite(eps)) or np.any(eps <= 0) or np.any(eps**h >= s / 2):
        raise LandscapeValueError(f"eps must be positive with eps^h < s / 2 = {s / 2:g} (a start below the "
                                  f"half-learning level); got {eps!r}.")
    return eps, s, h


def _quad(p0, s, h):
    # the logistic variable x = ln(q / (s - q)) turns the integrand into q^{2/h - 1} / (h s): smooth and bounded
    def integrand(x):
        q = s / (1.0 + np.exp(-x))
        return q ** (2.0 / h - 1.0) / (h * s)

    x0 = np.log(p0 / (s - p0))
    val, _ = integrate.quad(integrand, x0, 0.0, epsabs=0.0, epsrel=1e-13, limit=400)
    return val


def escape_time(eps, s, depth):
    """Exact half-learning time ``T_h(eps, s)`` of a balanced aligned mode started at ``w_i = eps``.

    ``T_2 = ln(s/eps^2 - 1) / (2 s)`` in closed form; for ``h >= 3`` the leading term and
    :func:`escape_time_constant` are exact and the remainder
    ``-(1/(h s)) int_0^{eps^h} q^{2/h-1} / (s - q) dq`` is integrated by quadrature (for
    small ``eps``; directly in the logistic variable otherwise), so the result keeps full
    relative precision where ``T`` is huge.

    Parameters
    ----------
    eps : float or array_like
        Per-layer initial scale, ``eps^h < s / 2``.
    s : float
        Strength of the mode (its singular value ``sigma``), ``> 0``.
    depth : int
        ``h >= 2``.

    Returns
    -------
    float or ndarray
        Same shape as ``eps``.

    Examples
    --------
    >>> round(escape_time(0.1, 3.0, 2), 6), round(escape_time(0.1, 3.0, 3), 6), round(escape_time(0.1, 3.0, 4), 6)
    (0.950074, 3.136267, 16.614839)
    """
    eps, s, h = _check(eps, s, depth)
    flat = eps.ravel()
    out = np.empty_like(flat)
    for i, e in enumerate(flat):
        p0 = e**h
        if h == 2:
            out[i] = np.log(s / p0 - 1.0) / (2 * s)
        elif p0 < 1e-3 * s:
            # T = lead + C_h - (1/(h s)) int_0^{p0} q^{2/h-1}/(s-q) dq, the last by the series in q/s
            a = 2.0 / h
            x = p0 / s
            rem = s ** (a - 1) * x**a * special.hyp2f1(a, 1.0, a + 1.0, x) / a  # int_0^{p0} q^{a-1}/(s-q) dq
            out[i] = escape_time_leading(e, s, h) + escape_time_constant(s, h) - rem / (h * s)
        else:
            out[i] = _quad(p0, s, h)
    return out.reshape(eps.shape) if eps.ndim else float(out[0])


def escape_time_leading(eps, s, depth):
    """The leading term: ``(ln s + 2 ln(1/eps)) / (2 s)`` (h = 2), ``eps^{-(h-2)} / ((h-2) s)`` (h >= 3)."""
    eps = np.asarray(eps, dtype=float)
    h = int(depth)
    if h == 2:
        out = (np.log(s) + 2 * np.log(1 / eps)) / (2 * s)
    else:
        out = eps ** (-(h - 2.0)) / ((h - 2.0) * s)
    return out if out.ndim else float(out)


def escape_time_constant(s, depth):
    """``C_h(s) = lim_{eps -> 0} (T_h - eps^{-(h-2)} / ((h-2) s))`` for ``h >= 3`` (0 for h = 2).

    ``C_h(s) = -(s/2)^{(2-h)/h} / ((h-2) s) + (1/(h s)) int_0^{s/2} q^{2/h-1} / (s - q) dq``
    ``= s^{2/h-2} [2^{-2/h} F / 2 - 2^{1-2/h} / (h-2)]``, ``F = 2F1(2/h, 1; 1 + 2/h; 1/2)``.
    """
    h = int(depth)
    if h == 2:
        return 0.0
    a = 2.0 / h
    F = special.hyp2f1(a, 1.0, a + 1.0, 0.5)
    return float(s ** (a - 2) * (2.0 ** (-a) * F / 2.0 - 2.0 ** (1 - a) / (h - 2.0)))


def escape_time_asymptotic(eps, s, depth):
    """Leading term + constant + the ``-eps^2 / (2 s^2)`` correction (error ``O(eps^4)`` at h = 2, ``O(eps^{h+2})`` above)."""
    eps = np.asarray(eps, dtype=float)
    out = escape_time_leading(eps, s, depth) + escape_time_constant(s, depth) - eps**2 / (2 * s * s)
    return out if np.ndim(out) else float(out)


def local_slope(eps, s, depth):
    """Exact local slope of the escape time: ``dT_2 / d ln(1/eps) = 1 / (s - eps^2)`` at h = 2,
    ``d ln T_h / d ln eps = -eps^{2-h} / ((s - eps^h) T_h)`` at h >= 3.

    From ``dT/d(eps^h) = -1 / (h eps^{2h-2} (s - eps^h))`` (the integrand at the lower end).
    """
    eps, s, h = _check(eps, s, depth)
    if h == 2:
        out = 1.0 / (s - eps**2)
    else:
        out = -(eps ** (2.0 - h)) / ((s - eps**h) * escape_time(eps, s, h))
    return out if out.ndim else float(out)


def predicted_slope(s, depth):
    """The asymptotic slope the studies fit: ``1 / s`` (h = 2, escape time against ``ln(1/eps)``),
    ``-(h - 2)`` (h >= 3, ``ln T`` against ``ln eps``)."""
    h = check_int(depth, name="depth", minimum=2)
    return 1.0 / float(s) if h == 2 else -(h - 2.0)


def ols_slope(x, y, level=0.95):
    """Ordinary least squares slope of ``y`` on ``x`` with its two-sided t-interval.

    Returns
    -------
    (slope, low, high) : tuple of float
        ``slope -/+ t_{n-2, (1+level)/2} * se``; the interval is NaN with fewer than 3 points.
    """
    from scipy import stats

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = x.size
    if n < 2 or np.ptp(x) == 0:
        return np.nan, np.nan, np.nan
    xm = x - x.mean()
    b = float(xm @ (y - y.mean()) / (xm @ xm))
    if n < 3:
        return b, np.nan, np.nan
    resid = y - y.mean() - b * xm
    se = float(np.sqrt(resid @ resid / (n - 2) / (xm @ xm)))
    q = float(stats.t.ppf(0.5 + level / 2, n - 2))
    return b, b - q * se, b + q * se


def fit_variables(scales, times, depth):
    """The fitted variables of a study: ``(x, y)`` = ``(ln(1/eps), T)`` at h = 2, ``(ln eps, ln T)`` above."""
    scales = np.asarray(scales, dtype=float)
    times = np.asarray(times, dtype=float)
    if int(depth) == 2:
        return np.log(1.0 / scales), times
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(scales), np.log(times)


def grid_slope(scales, s, depth):
    """The slope the exact formula gives when fitted by OLS over the grid ``scales`` (finite-eps bias included)."""
    x, y = fit_variables(scales, escape_time(np.asarray(scales, float), s, depth), depth)
    return ols_slope(x, y)[0]


def fit_slope(scales, times, depth, gamma=None):
    """Least-squares fit of the asymptotic form with its constant; returns the slope.

    ``h = 2``: OLS of ``T = a ln(1/eps) + c`` (plus ``d eps^gamma`` when ``gamma`` is
    given and there are four scales or more), slope ``a``. For a start that is not
    aligned, the second mode has grown to ``delta ~ eps^{1 - sigma_2/sigma_1}`` of the
    first when the first escapes; it shifts the escape time at order ``delta^2``, so
    :func:`plateau_scaling` passes ``gamma = 2 (1 - sigma_2/sigma_1)``. ``h >= 3``: ``T = A eps^b + c``
    with relative residuals ``(T - model) / T``; for each ``b`` the best ``(A, c)`` is a
    weighted linear least-squares problem, and ``b`` minimises the remaining residual
    (bounded scalar search on ``[-4 (h-2) - 1, 0]``). With three scales the fit
    interpolates. NaN with fewer than three finite times.

    Examples
    --------
    >>> eps = np.geomspace(1e-4, 1e-2, 5)
    >>> round(fit_slope(eps, escape_time(eps, 3.0, 3), 3), 6)
    -1.0
    """
    from scipy import optimize

    eps = np.asarray(scales, dtype=float)
    T = np.asarray(times, dtype=float)
    ok = np.isfinite(T) & (T > 0) & np.isfinite(eps) & (eps > 0)
    eps, T = eps[ok], T[ok]
    h = int(depth)
    if T.size < 3:
        return np.nan
    if h == 2:
        if gamma is None or T.size < 4:
            return ols_slope(np.log(1.0 / eps), T)[0]
        X = np.stack([np.log(1.0 / eps), np.ones_like(eps), eps ** float(gamma)], axis=1)
        return float(np.linalg.lstsq(X, T, rcond=None)[0][0])
    w = 1.0 / T

    def residual(b):
        X = np.stack([eps**b, np.ones_like(eps)], axis=1) * w[:, None]
        coef, *_ = np.linalg.lstsq(X, T * w, rcond=None)
        r = X @ coef - T * w
        return float(r @ r)

    lo = -4.0 * (h - 2) - 1.0
    grid = np.linspace(lo, 0.0, 401)
    best = grid[int(np.argmin([residual(b) for b in grid]))]
    res = optimize.minimize_scalar(residual, bounds=(max(lo, best - 0.02), min(0.0, best + 0.02)), method="bounded",
                                   options={"xatol": 1e-12})
    return float(res.x)
