"""Dimensions of the unstable, stable and critical sets through a critical point (spec 4.3, 5).

At a critical point ``W*`` the parameter space splits, to first order, into the Hessian's
negative, positive and null eigenspaces; the null space holds the tangent of the critical
set (gauge orbit, dead-path strata) and the degenerate normal ("centre") directions::

    n_negative + n_positive + critical_dimension + centre_dimension = n_params

``centre_dimension = n_zero - critical_dimension``. Where the critical set is a
Morse-Bott manifold (Hessian nullity = orbit dimension: every critical point of a depth-2
network, every global minimum) the unstable and stable sets are the manifolds tangent to
the negative and positive eigenspaces: ``unstable = n_negative``, ``stable = n_positive``
(source ``"hessian"``), and the four dimensions add up to ``n_params``.

Where the Hessian degenerates in normal directions (saddles at h >= 3) the unstable and
stable sets grow out of the centre directions as curved cones, decided by higher-order
terms; their dimensions exceed the Hessian counts and the two cones may share tangent
directions, so ``unstable + stable + critical`` can exceed ``n_params``. Example: the
origin of widths (3, 3, 3, 3) (27 parameters, Hessian 0) has unstable and stable sets of
dimension 12 each and a critical set of dimension 13.

How the degenerate cases are decided
------------------------------------
* Origin, h >= 3 (source ``"blow_up"``). Near 0 the field is ``grad f + O(|W|^{2h-1})``
  with ``f(W) = <Sigma, W_h ... W_1>`` homogeneous of degree h. Its characteristic
  directions (rays with ``grad f(x) = h f(x) x``, ``|x| = 1``) are 0-balanced and, up to
  orthogonal hidden gauges, aligned: for a set T of modes, mode k routed with weight
  proportional to ``sigma_k^(-1/(h-2))`` on every layer (:func:`characteristic_direction`).
  In the directional blow-up ``(r, x)``, time ``ds = r^(h-2) dt``, the ray is a
  hyperbolic-or-normally-hyperbolic equilibrium with radial rate ``h f(x)`` and angular
  rates the eigenvalues ``mu`` of the Riemannian Hessian ``P (grad^2 f(x) - h f(x)) P``
  (``P = I - x x^T``). Rays with ``f > 0`` feed the unstable set, with dimension
  ``1 + #{mu > 0} + #{mu = 0}`` (the null directions must be the orthogonal-gauge orbit
  of the ray: checked); rays with ``f < 0`` feed the stable set with
  ``1 + #{mu < 0} + #{mu = 0}``. The set's local dimension is the largest piece.
* Any other degenerate point (source ``"bounds"``): lower bounds (Hessian counts plus
  one per escaping characteristic ray). The flow measurement below is too stiff there
  (slow algebraic escape next to fast hyperbolic directions) and is not run; open.
* The critical set's local dimension at a degenerate point is always measured: points
  of the critical set at distance ``eps`` from ``W*`` are found by Levenberg-Marquardt on
  ``grad L = 0`` restricted to the sphere ``|W - W*| = eps`` (starts: random null
  directions of the Hessian), and the dimension is the largest Hessian nullity among
  them. The nullity bounds the local dimension from above and equals it where the
  critical set is Morse-Bott at generic points (the origins tested: scalar, (3,3,3,3));
  at h >= 3 saddles with escaping null directions at nearby critical points too (e.g.
  representatives with unused units) it is only an upper bound: open.

The measurement (``measure=True``)
----------------------------------
For a ray ``x`` of the set (unstable: the flow; stable: the reversed flow) take the orbit
from ``W* + eps x`` out to distance ``rho``, endpoint ``p``. Follow it back from ``p`` to
distance ``2 eps`` with the variational equation ``dM/dt = -/+ H(theta(t)) M``
(``M(0) = I``; re-orthonormalised by QR when it grows, the log stretch factors summed).
Vectors tangent to the set at ``p`` are carried to tangent vectors at a
point ``r`` from ``W*`` and shrink at least like ``r`` (angular) or faster (radial,
hyperbolic); transverse vectors (the other set, the critical set's tangent, transverse
angular directions) do not. The measured dimension is the number of singular values of
``M * rho / r`` at most ``(rho / r)^(1/4)`` (the spectrum shows a gap of several decades
in every case tested). Time is rescaled by ``|theta - W*|^(m-2)`` (``m`` the order of
the ray) so the integrator does not crawl near the degenerate point.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from .._validation import check_int, check_positive_float, check_rng
from ..errors import LandscapeValueError
from ..losses import require_quadratic
from ._classify import require_critical

__all__ = ["manifold_dimensions", "ManifoldDimensions", "characteristic_direction", "measure_set_dimension",
           "MEASURE_LIMIT", "CRITICAL_LIMIT"]

#: largest network (parameters) on which set dimensions are measured by the variational flow
MEASURE_LIMIT = 200
#: largest network on which the critical set is sampled (Levenberg-Marquardt with dense Hessians)
CRITICAL_LIMIT = 600
#: largest network on which the orbit dimension is computed (rank of the gauge action)
ORBIT_LIMIT = 3000
#: most subsets T of modes tried as characteristic rays
MAX_RAYS = 64


@dataclass(frozen=True)
class ManifoldDimensions:
    """Result of :func:`manifold_dimensions` (all integers; ``-1``: not determined)."""

    unstable: int  #: local dimension of W^u(W*) (points whose backward flow tends to W*)
    stable: int  #: local dimension of W^s(W*) (points whose forward flow tends to W*)
    critical: int  #: local dimension of the critical set through W*
    centre: int  #: degenerate normal directions: n_zero - critical
    n_params: int
    n_negative: int  #: Hessian counts at W*
    n_zero: int
    n_positive: int
    orbit: int  #: dimension of the gauge orbit through W*
    morse_bott: bool  #: Hessian nullity == critical dimension (the orbit dimension, or measured)
    source: str  #: "hessian", "blow_up", "measured" or "bounds" (how unstable/stable were decided)
    sources: dict = field(default_factory=dict)  #: the source of each of unstable/stable/critical
    measured_unstable: int = -1  #: dimensions measured from the flow (-1: not measured)
    measured_stable: int = -1
    details: dict = field(default_factory=dict)  #: pieces per ray, singular values, critical samples

    def as_dict(self):
        """Plain ``dict`` of the integer fields and sources."""
        return {"unstable_dimension": self.unstable, "stable_dimension": self.stable,
                "critical_dimension": self.critical, "centre_dimension": self.centre, "n_params": self.n_params,
                "n_negative": self.n_negative, "n_zero": self.n_zero, "n_positive": self.n_positive,
                "orbit_dimension": self.orbit, "morse_bott": self.morse_bott, "dimension_source": self.source,
                "measured_unstable_dimension": self.measured_unstable,
                "measured_stable_dimension": self.measured_stable}


# ----------------------------------------------------------------------------- helpers

def _grad(net, theta):
    return net.flatten(net.gradient(net.unflatten(theta)))


def _hessian(net, theta):
    return net.hessian(net.unflatten(theta))


def _band(values, tol):
    return tol * max(1.0, float(np.abs(values).max(initial=0.0)))


def hessian_counts(net, layers, tol=1e-8):
    """``(n_negative, n_zero, n_positive, eigenvalues or None)`` at any size.

    Dense ``eigh`` up to :data:`~landscape.stability.DENSE_LIMIT` parameters, else
    :func:`~landscape.stability.hessian_inertia` (structured at aligned points, block
    Krylov otherwise).
    """
    from ._inertia import DENSE_LIMIT, hessian_inertia

    if net.n_params <= DENSE_LIMIT:
        lam = np.linalg.eigvalsh(net.hessian(layers))
        band = _band(lam, tol)
        return int(np.sum(lam < -band)), int(np.sum(np.abs(lam) <= band)), int(np.sum(lam > band)), lam
    inert = hessian_inertia(net, layers, tol)
    return int(inert.n_negative), int(inert.n_zero), int(inert.n_positive), None


def _rank(M, tol=1e-9):
    if M.size == 0:
        return 0
    s = np.linalg.svd(M, compute_uv=False)
    return int(np.sum(s > tol * max(1.0, s.max(initial=0.0))))


def orbit_dimension(net, layers, orthogonal=False):
    """Dimension of the gauge orbit through ``layers`` (GL, or O with ``orthogonal=True``); -1 if too large."""
    if net.n_params > ORBIT_LIMIT:
        return -1
    from ..critical._fiber import orbit_tangent

    return _rank(orbit_tangent(net, layers, orthogonal))


def _free_bases(layers, tol=1e-10):
    """Per hidden layer: orthonormal columns spanning ``ker(W_{i+1}) ∩ ker(W_i^T)`` (unused units)."""
    out = []
    for i in range(1, len(layers)):
        M = np.vstack([layers[i], layers[i - 1].T])
        _, s, vt = np.linalg.svd(M)
        rank = int(np.sum(s > tol * max(1.0, s.max(initial=0.0))))
        out.append(vt[rank:].T)
    return out


def characteristic_direction(net, W_star, T, *, negative=False, tol=1e-10):
    """Unit ray ``x`` of the multi-mode insertion of modes T through unused hidden units, or None.

    Mode ``k`` in T gets a path ``f_k -> z^k_1 -> ... -> z^k_{h-1} -> e_k`` through
    orthonormal unused units (``z^k_i`` in ``ker(W_{i+1}) ∩ ker(W_i^T)``) with weight
    ``sigma_k^(-1/(h-2))`` on every layer (h >= 3), so that at the origin
    ``grad f(x) = h f(x) x`` for ``f = <Sigma, P>``: a characteristic direction of the
    leading homogeneous field. ``negative=True`` flips the first layer (product < 0: a
    stable ray). At aligned points the ray's orbit stays aligned and balanced (exact).

    Returns
    -------
    ndarray of shape (n_params,) or None
        None when some hidden layer has fewer than ``|T|`` unused units, or h < 3.
    """
    layers = net.layers(W_star, name="W_star")
    h = net.depth
    if h < 3 or not T:
        return None
    free = _free_bases(layers, tol)
    if any(b.shape[1] < len(T) for b in free):
        return None
    V = [np.zeros(s) for s in net.shapes]
    d0, dh = net.widths[0], net.widths[-1]
    for j, k in enumerate(T):
        a = net.sigma[k - 1] ** (-1.0 / (h - 2))
        f = np.zeros(d0)
        f[k - 1] = 1.0
        e = np.zeros(dh)
        e[k - 1] = 1.0
        z = [b[:, j] for b in free]
        V[0] += (-a if negative else a) * np.outer(z[0], f)
        for i in range(1, h - 1):
            V[i] += a * np.outer(z[i], z[i - 1])
        V[h - 1] += a * np.outer(e, z[-1])
    x = net.flatten(V)
    return x / np.linalg.norm(x)


def _mode_subsets(net, S, limit):
    modes = [k + 1 for k in range(net.sigma.size) if net.sigma[k] > 0 and (k + 1) not in (S or ())]
    subsets = []
    for size in range(len(modes), 0, -1):  # largest first: the largest pieces come from many modes
        for T in itertools.combinations(modes, size):
            subsets.append(T)
            if len(subsets) >= limit:
                return subsets
    return subsets


def _blow_up_piece(net, x, kind, tol=1e-8):
    """Dimension of the blow-up piece of the ray x at the origin, or None if the ray is not Morse-Bott."""
    from ..core import LinearNetwork

    net0 = LinearNetwork(net.widths, np.zeros_like(net.sigma))
    Wx = net.unflatten(x)
    f = float(np.vdot(net.Sigma, net.end_to_end(Wx)))
    Hf = net0.hessian(Wx) - net.hessian(Wx)  # grad^2 <Sigma, P>
    n = x.size
    P = np.eye(n) - np.outer(x, x)
    mu = np.linalg.eigvalsh(P @ Hf @ P - net.depth * f * P)
    band = _band(mu, tol)
    n_pos, n_neg = int(np.sum(mu > band)), int(np.sum(mu < -band))
    n_null = int(np.sum(np.abs(mu) <= band)) - 1  # the radial direction is in P's kernel
    if n_null != orbit_dimension(net, Wx, orthogonal=True):
        return None, mu
    grow = n_pos if kind == "unstable" else n_neg
    return 1 + grow + n_null, mu


# ----------------------------------------------------------------------------- measurement

def _orbit(net, c, x, eps, rho, sign, m, max_s, method):
    """Orbit of ``sign * (-grad L)`` (time ``ds = r^(m-2) dt``) from c + eps x out to |theta - c| = rho.

    Integrated in the direction in which the set attracts (an unstable set is computed by
    the forward flow, a stable one by the reversed flow), so rounding errors shrink.
    Returns ``(dense solution, s at radius 2 eps, s at radius rho)`` or None.
    """
    from scipy.integrate import solve_ivp

    def f(s, y):
        r = np.linalg.norm(y - c)
        return -sign * _grad(net, y) / max(r, 1e-300) ** (m - 2)

    def out(s, y):
        return np.linalg.norm(y - c) - rho

    def near(s, y):
        return np.linalg.norm(y - c) - 2 * eps

    out.terminal = True
    sol = solve_ivp(f, (0.0, max_s), c + eps * x, method=method, rtol=1e-11, atol=1e-14, events=(out, near),
                    dense_output=True)
    if sol.status != 1 or not sol.t_events[1].size:
        return None
    return sol.sol, float(sol.t_events[1][0]), float(sol.t_events[0][0])


def _variational(net, c, orbit, s_near, s_far, sign, m, method):
    """Variational matrix of the flow carried back along the orbit from s_far to s_near.

    ``dM/ds = -sign H(theta(s)) M / r^(m-2)`` integrated with s decreasing. Hyperbolic
    directions grow like ``exp(lambda t)``, so M is re-orthonormalised (QR) whenever its
    entries pass 1e50 and the logs of the R diagonals are summed (Benettin). Returns the
    log stretch factor of each direction.
    """
    from scipy.integrate import solve_ivp

    n = c.size

    def f(s, z):
        y = orbit(s)
        r = np.linalg.norm(y - c)
        return (-sign / max(r, 1e-300) ** (m - 2)) * (_hessian(net, y) @ z.reshape(n, n)).ravel()

    def big(s, z):
        return 50.0 - np.log10(max(np.abs(z).max(), 1e-300))

    big.terminal = True
    Q = np.eye(n)
    logs = np.zeros(n)
    s0 = s_far
    for _ in range(10000):
        sol = solve_ivp(f, (s0, s_near), Q.ravel(), method=method, rtol=1e-10, atol=1e-13, events=big)
        s0 = float(sol.t[-1])
        Q, R = np.linalg.qr(sol.y[:, -1].reshape(n, n))
        d = np.diag(R)
        logs += np.log(np.maximum(np.abs(d), 1e-300))
        Q = Q * np.where(d < 0, -1.0, 1.0)[None, :]
        if sol.status != 1:
            return logs, sol.status == 0
    return logs, False


def measure_set_dimension(net, W_star, x, kind="unstable", *, order=None, eps=None, rho=None, max_s=1e7):
    """Local dimension of the unstable or stable set along the ray x, measured from the flow.

    See the module docstring (variational equation along the orbit of ``W* + eps x``).

    Parameters
    ----------
    net : LinearNetwork
    W_star : list of ndarray or ndarray of shape (n_v, n_v)
        A critical point.
    x : ndarray of shape (n_params,)
        A ray of the set (a characteristic direction or a Hessian eigenvector).
    kind : {"unstable", "stable"}
    order : int, optional
        Order m of the ray (the loss changes like ``alpha^m``); default h for
        characteristic rays... the caller says; 2 for Hessian eigenvectors.
    eps, rho : float, optional
        Start and end distances; defaults ``3e-4 rho`` and ``0.1 max(1, sigma_1^(1/h))``.

    Returns
    -------
    (int, ndarray)
        The measured dimension (-1 if the orbit did not reach ``rho`` or did not come back)
        and the sorted ``log10`` stretch factors of ``M rho / r`` (QR / Benettin estimates
        of the log singular values).
    """
    if kind not in ("unstable", "stable"):
        raise LandscapeValueError(f"kind must be 'unstable' or 'stable'; got {kind!r}.")
    layers = net.layers(W_star, name="W_star")
    c = net.flatten(layers)
    h = net.depth
    m = h if order is None else int(order)
    rho = 0.1 * max(1.0, float(net.sigma.max(initial=0.0)) ** (1.0 / h)) if rho is None else float(rho)
    eps = 3e-4 * rho if eps is None else float(eps)
    sign = 1.0 if kind == "unstable" else -1.0
    x = np.asarray(x, dtype=float) / np.linalg.norm(x)
    method = "DOP853"
    orb = _orbit(net, c, x, eps, rho, sign, m, max_s, method)
    if orb is None:
        return -1, np.zeros(0)
    logs, ok = _variational(net, c, orb[0], orb[1], orb[2], sign, m, method)
    if not ok:
        return -1, np.zeros(0)
    ratio = rho / (2 * eps)
    sv = np.sort(logs + np.log(ratio)) / np.log(10.0)  # log10 of the stretch relative to r
    return int(np.sum(sv <= 0.25 * np.log10(ratio))), sv


# ----------------------------------------------------------------------------- critical set

def _project_critical(net, theta0, c, eps):
    """Levenberg-Marquardt on (grad L, (|theta - c|^2 - eps^2)/eps) = 0."""
    from scipy.optimize import least_squares

    def fun(th):
        return np.append(_grad(net, th), (np.sum((th - c) ** 2) - eps**2) / eps)

    def jac(th):
        return np.vstack([_hessian(net, th), 2 * (th - c) / eps])

    res = least_squares(fun, theta0, jac=jac, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=500)
    return res.x


def critical_dimension_measured(net, W_star, *, n_samples=6, eps=None, tol=1e-8, rng=0):
    """Local dimension of the critical set through W*, measured by sampling it at distance eps.

    Returns
    -------
    (int, list of int)
        The largest Hessian nullity among the critical points found, and every nullity.
    """
    rng = check_rng(rng)
    layers = net.layers(W_star, name="W_star")
    c = net.flatten(layers)
    eps = 0.05 * max(1.0, float(net.sigma.max(initial=0.0)) ** (1.0 / net.depth)) if eps is None else eps
    lam, Q = np.linalg.eigh(net.hessian(layers))
    K = Q[:, np.abs(lam) <= _band(lam, tol)]
    if K.shape[1] == 0:
        return 0, []
    L0 = net.loss(layers)
    scale = max(1.0, float(np.sum(net.sigma**2)))
    found = []
    for _ in range(n_samples):
        v = K @ rng.standard_normal(K.shape[1])
        p = _project_critical(net, c + eps * v / np.linalg.norm(v), c, eps)
        if np.linalg.norm(_grad(net, p)) > 1e-9 * scale or abs(net.loss(net.unflatten(p)) - L0) > 1e-9 * scale:
            continue
        mu = np.linalg.eigvalsh(_hessian(net, p))
        found.append(int(np.sum(np.abs(mu) <= _band(mu, tol))))
    return (max(found) if found else -1), found


# ----------------------------------------------------------------------------- public

def manifold_dimensions(net, W_star, *, measure="auto", tol=1e-8, n_critical_samples=6, max_rays=8, rng=0):
    """Dimensions of the unstable, stable and critical sets through a critical point.

    ``W^u(W*)``: points whose backward flow tends to ``W*``; ``W^s(W*)``: points whose
    forward flow tends to ``W*``; the critical set: critical points near ``W*`` (all at
    the value ``L_S``). The module docstring of ``landscape.stability._dimensions``
    states the theory and the measurement; in short:

    * Morse-Bott points (Hessian nullity = orbit dimension, or = the measured critical
      dimension; every depth-2 critical point, where with ``d_0 != d_h`` the critical set
      also holds weights reading the kernel of Sigma):
      ``(unstable, stable, critical, centre) = (n_negative, n_positive, n_zero, 0)``,
      summing to ``n_params``; ``source = "hessian"``.
    * The origin at h >= 3 (Hessian 0): the directional blow-up of the leading
      homogeneous field ``grad <Sigma, P>``; ``source = "blow_up"``.
    * Other degenerate points (h >= 3 saddles other than the origin): lower bounds,
      ``source = "bounds"``: ``n_negative`` (``n_positive``) plus one where a
      characteristic ray through unused units escapes (enters); the critical dimension is
      measured there (networks of at most :data:`CRITICAL_LIMIT` parameters; above, the
      orbit dimension, a lower bound).

    Always ``n_negative + n_positive + critical + centre = n_params`` with ``centre =
    n_zero - critical`` (the degenerate normal directions). Every point of either set has
    the conserved quantities ``C_i`` of ``W*``; ``W^u`` lies below ``L_S``, ``W^s`` above.

    Parameters
    ----------
    net : LinearNetwork
    W_star : list of ndarray or ndarray of shape (n_v, n_v)
        A critical point (refused with its gradient norm otherwise).
    measure : bool or "auto", default="auto"
        ``True``: also measure the unstable and stable dimensions from the flow
        (variational equation along rays, dense Hessians, at most :data:`MEASURE_LIMIT`
        parameters): at Morse-Bott points along the extreme eigenvectors, at the origin
        along every characteristic ray (a check of the theory); ``measured_unstable`` /
        ``measured_stable`` are -1 elsewhere. ``"auto"`` and ``False``: no measurement.
    tol : float in (0, 1), default=1e-8
        Relative band of zero Hessian eigenvalues.
    n_critical_samples : int, default=6
        Critical points sampled near a degenerate ``W*``.
    max_rays : int, default=8
        Characteristic rays (subsets of unlearnt modes) measured per set.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    ManifoldDimensions
        ``unstable``, ``stable``, ``critical``, ``centre``, the Hessian counts, ``orbit``,
        ``morse_bott``, ``source`` and per-quantity ``sources``, ``measured_unstable`` /
        ``measured_stable`` and ``details``; ``as_dict()`` for a plain dict.

    Examples
    --------
    >>> import landscape as ls
    >>> net = ls.LinearNetwork([1, 2, 1], 1.0)
    >>> d = ls.manifold_dimensions(net, ls.representative(net, []))
    >>> d.unstable, d.stable, d.critical, d.centre, d.source
    (2, 2, 0, 0, 'hessian')
    >>> net = ls.LinearNetwork([1, 1, 1, 1], 2.0)   # scalar depth 3: Hessian 0 at the origin
    >>> d = ls.manifold_dimensions(net, ls.representative(net, []))
    >>> d.unstable, d.stable, d.critical, d.centre, d.source
    (1, 1, 1, 2, 'blow_up')
    """
    require_quadratic(net, "manifold_dimensions", "its dimension counts use the critical sets and arcs of the quadratic loss (spec 4.3, 5)")
    tol = check_positive_float(tol, name="tol", upper=1.0)
    n_critical_samples = check_int(n_critical_samples, name="n_critical_samples", minimum=1)
    max_rays = check_int(max_rays, name="max_rays", minimum=1)
    if measure not in (True, False, "auto"):
        raise LandscapeValueError(f"measure must be True, False or 'auto'; got {measure!r}.")
    rng = check_rng(rng)
    layers = net.layers(W_star, name="W_star")
    q = require_critical(net, layers, tol=tol, name="W_star")
    n = net.n_params
    h = net.depth
    neg, zero, pos, lam = hessian_counts(net, layers, tol)
    orbit = orbit_dimension(net, layers)
    morse_bott = zero == orbit or (orbit < 0 and h <= 2)
    details = {}
    small = n <= MEASURE_LIMIT
    if morse_bott:
        u, s, crit, source = neg, pos, zero, "hessian"
        sources = {"unstable": "hessian", "stable": "hessian", "critical": "hessian"}
    elif n > CRITICAL_LIMIT:
        u, s, crit, source = neg, pos, max(orbit, -1), "bounds"
        sources = {"unstable": "bounds", "stable": "bounds", "critical": "bounds"}
    else:
        crit, nulls = critical_dimension_measured(net, layers, n_samples=n_critical_samples, tol=tol, rng=rng)
        crit = max(crit, orbit)
        details["critical_samples"] = nulls
        sources = {"critical": "measured"}
        u = s = None
        if crit == zero and h <= 2:  # depth 2: the critical set is a manifold of dimension = nullity
            morse_bott = True
            u, s, source = neg, pos, "hessian"
            sources.update(unstable="hessian", stable="hessian")
        elif h >= 3 and not any(np.any(w) for w in layers):
            pieces = {"unstable": {}, "stable": {}}
            for T in _mode_subsets(net, (), MAX_RAYS):
                for kind in ("unstable", "stable"):
                    x = characteristic_direction(net, layers, T, negative=kind == "stable")
                    if x is not None:
                        pieces[kind][T] = _blow_up_piece(net, x, kind, tol)[0]
            details["blow_up_pieces"] = pieces
            if all(v is not None for p in pieces.values() for v in p.values()) and pieces["unstable"]:
                u = max(pieces["unstable"].values())
                s = max(pieces["stable"].values())
                sources.update(unstable="blow_up", stable="blow_up")
                source = "blow_up"
        if u is None:  # lower bounds: the Hessian counts, plus one where a characteristic ray escapes
            source = "bounds"
            sources.update(unstable="bounds", stable="bounds")
            rays = [T for T in _mode_subsets(net, q.S, 1)]
            u = neg + int(bool(rays) and characteristic_direction(net, layers, rays[0]) is not None)
            s = pos + int(bool(rays) and characteristic_direction(net, layers, rays[0], negative=True) is not None)
    mu = ms = -1
    if measure is True:
        if not small:
            raise LandscapeValueError(f"measure=True needs at most MEASURE_LIMIT = {MEASURE_LIMIT} parameters; "
                                      f"got {n}. Use measure='auto' or False.")
        mu, ms, rays = _measure(net, layers, q.S, neg, pos, max_rays)
        details["measured_rays"] = rays
    centre = zero - crit if crit >= 0 else -1
    return ManifoldDimensions(unstable=int(u), stable=int(s), critical=int(crit), centre=int(centre), n_params=n,
                              n_negative=neg, n_zero=zero, n_positive=pos, orbit=orbit, morse_bott=bool(morse_bott),
                              source=source, sources=sources, measured_unstable=int(mu), measured_stable=int(ms),
                              details=details)


def _measure(net, layers, S, neg, pos, max_rays):
    """Measured (unstable, stable) dimensions: the largest over characteristic rays and eigenvectors.

    Characteristic rays are measured where the Hessian is 0 (elsewhere at h >= 3 the slow
    degenerate escape meets fast hyperbolic directions: too stiff for this measurement,
    -1 is returned for those sets); Hessian eigenvectors (order 2) at every point.
    """
    h = net.depth
    rays = {"unstable": [], "stable": []}
    zero_hessian = not np.any(net.hessian(layers))
    if h >= 3 and not zero_hessian:
        return -1, -1, {}
    if h >= 3:
        for T in _mode_subsets(net, S, max_rays):
            for kind in ("unstable", "stable"):
                x = characteristic_direction(net, layers, T, negative=kind == "stable")
                if x is not None:
                    rays[kind].append((f"T={T}", x, h))
    if neg or pos:
        w, Q = np.linalg.eigh(net.hessian(layers))
        if neg:
            rays["unstable"].append(("hessian", Q[:, 0], 2))
        if pos:
            rays["stable"].append(("hessian", Q[:, -1], 2))
    out = {}
    report = {}
    for kind in ("unstable", "stable"):
        best = neg if kind == "unstable" else pos
        report[kind] = []
        for name, x, m in rays[kind]:
            d, sv = measure_set_dimension(net, layers, x, kind, order=m)
            report[kind].append((name, d, sv))
            best = max(best, d)
        out[kind] = best
    return out["unstable"], out["stable"], report
