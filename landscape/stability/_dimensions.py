"""Dimensions of the unstable, stable and critical sets through a critical point (spec 4.3, 5).

At a critical point ``W*`` the parameter space splits, to first order, into the Hessian's
negative, positive and null eigenspaces; the null space holds the tangent of the critical
set (gauge orbit, dead-path strata) and the degenerate normal ("centre") directions::

    n_negative + n_positive + critical_dimension + centre_dimension = n_params

``centre_dimension = n_zero - critical_dimension``. Where the critical set is a
Morse-Bott manifold (Hessian nullity = its dimension: every critical point of a depth-2
network, and every global minimum, whose sigma has no zero value) the unstable and
stable sets are the manifolds tangent to the negative and positive eigenspaces:
``unstable = n_negative``, ``stable = n_positive`` (source ``"hessian"``), and the four
dimensions add up to ``n_params``.

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
  ``1 + #{mu > 0} + #{mu = 0}`` (the null directions must be the orbit of the ray under
  the orthogonal symmetries of the flow, hidden ``O(d_i)`` and the pairs ``(U, V)`` with
  ``U Sigma V^T = Sigma``: checked); rays with ``f < 0`` feed the stable set with
  ``1 + #{mu < 0} + #{mu = 0}``. The set's local dimension is the largest piece. Where
  Sigma = 0 the leading part is ``F = -1/2 |P|^2`` (degree 2h): every ray pulls in.
* Balanced saddles other than the origin (source ``"blow_up"``). A balanced critical point
  is, up to orthogonal gauges, the representative ``A*_S``. There split every layer into
  the learnt units (one thread per learnt mode) and the rest, and the ends into the learnt
  modes and the rest. Perturbations fall into three blocks that the Hessian does not
  couple (a sign flip of all unlearnt units and directions is a symmetry fixing ``A*_S``;
  learnt and reduced blocks meet in no product):

  - learnt block: a network of widths ``|S|`` at its global minimum (Morse-Bott:
    ``|S|^2`` positive, ``(h-1)|S|^2`` gauge null directions);
  - cross terms: gauge directions (null, tangent to the critical set) except ``B_1``
    (learnt units reading unlearnt inputs) and ``C_h`` (unlearnt outputs written by learnt
    units), with eigenvalues ``sigma_m^(1-2/h) (sigma_m +- tau)`` for ``m`` in S and each
    singular value ``tau`` of ``Sigma_R``, and ``sigma_m^(2-2/h)`` on the ``|d_0 - d_h|``
    unmatched ones: hyperbolic, except ``tau = sigma_m`` (a tie: the exchange rotation
    stays critical);
  - the reduced block: the network of widths ``d_i - |S|`` with ``Sigma_R`` (Sigma without
    the rows and columns of S) at its origin (:func:`reduced_network`). It is exactly
    invariant, with the reduced flow on it.

  So ``unstable = n_negative + u_R``, ``stable = n_positive + s_R``, ``critical = n_zero -
  n_params(reduced) + critical_R`` and ``centre = centre_R``, with ``u_R, s_R`` from the
  reduced origin's blow-up and ``critical_R`` sampled there. The Hessian counts of the
  split are tested against dense ``eigh``; the dimensions against the flow measurement
  below (random networks, h = 3, 4, d_0 != d_h, repeated values). Where a reduced width is
  0 (the learnt modes fill a bottleneck) every null direction is tangent to the critical
  set: Morse-Bott, source ``"hessian"``.
* Open cases (source ``"bounds"``, the reason in ``details["open"]``): ``"kernel"``,
  ``Sigma_R`` has positive values and a kernel pair (a path reading ``ker Sigma_R`` and
  writing ``ker Sigma_R^T``, e.g. sigma given with zeros): ``grad f`` vanishes on such
  paths while ``-grad 1/2 |P|^2`` pulls them in, so the stable set may be larger than the
  pieces (lower bound); the unstable set is decided. ``"zero_reduced"``: S holds every
  positive mode (a global minimum with unused room): the reduced field ``-grad 1/2
  |P_R|^2`` has degree 2h - 1, slower than its couplings with the cross directions, and the
  flow measures more stable directions than ``n_positive + s_R`` ((3,3,3,2), sigma
  (1.8, 0), S = {1}: 10 vs 8); ``u = 0`` (nothing lies below a minimum), stable: lower
  bound, or the measured value when larger (sources ``"measured"``). ``"unbalanced"``
  (GL-gauged points, dead-path strata: the flow is not equivariant under GL) and
  ``"not_morse_bott"`` (a ray whose null angular directions exceed its symmetry orbit):
  lower bounds (Hessian counts plus one per escaping characteristic ray).
* The critical set's local dimension at a degenerate point is measured: points of the
  critical set at distance ``eps`` from ``W*`` (of the reduced network's origin at
  balanced saddles) are found by Levenberg-Marquardt on ``grad L = 0`` restricted to the
  sphere ``|W - W*| = eps`` (starts: random null directions of the Hessian), polished by
  minimum-norm Gauss-Newton steps; at each sample ``p`` the local dimension is the
  numerical rank of the critical points found from ``p + delta k_j`` for an orthonormal
  basis ``k_j`` of ``ker H(p)`` (the differences span the tangent space of the critical
  set up to ``O(delta)``: singular values near 1 on it, near 0 across; a value in the
  band (0.1, 0.3) rejects the sample). The dimension at ``W*`` is the largest over the
  clean samples (upper semicontinuity; samples are drawn until ``n_critical_samples``
  are clean). The Hessian nullity at the samples would over-count where the critical set
  is not Morse-Bott there ((2,2,2,2), S = {1}: nullity 9 at some samples, 7 by the split).
  Examples, equal for every rng and every invertible gauge image: the origin of
  (3,3,3,3): 13; of (2,3,3,2), sigma (1.85, 0) (a kernel pair): 14 (by hand: the
  component with ``W_2`` invertible is ``21 - 3 - 3 - 1``); (3,4,4,3) at S = {1}: 28.
* Invertible-gauge images (``G_i W_i G_{i-1}^{-1}``, not orthogonal) of a balanced point
  (``details["balanced_equivalent"]``): the loss, hence the critical set, is GL invariant,
  so the critical dimension is that at the balanced equivalent (found by alignment and a
  diagonal rebalancing of every input-output thread). The flow is *not* GL equivariant,
  so the degenerate directions at the image are not those at ``A*_S``: measured along
  gauge-mapped characteristic rays they show no clean gap, and unstable/stable stay
  lower bounds (``details["open"] = "unbalanced"``).
* Scalar networks with at least three zero weights (``details["reduction"]``): the zero
  weights form a scalar network at its origin with target ``sigma * prod`` of the
  others; the others move at rate ``r^|Z|`` along the critical set (every point with two
  zero weights is critical), so the sets are the reduced origin's: ``(1, 1)`` where the
  target is not 0 (checked by flowing backward and forward to ``W*``).
* Lower bounds at unbalanced points add one to ``n_negative`` (``n_positive``) only where
  the characteristic ray through unused units is a flow line leaving (entering) ``W*``:
  the field at ``W* + 0.01 x`` parallel to ``x`` with the right sign (it is not where
  ``W*`` writes the ray's output mode through a dead path).
* Depth 2 is Morse-Bott only where the critical set is a manifold of dimension the
  nullity; with zero entries in sigma ((3,4,2), sigma (0.99, 0): weights may read the
  kernel of Sigma) the measured critical dimension can be smaller than the nullity, and
  the point is reported as ``"bounds"`` rather than forced into the Hessian counts.

The measurement (``measure=True``)
----------------------------------
For a ray ``x`` of the set (unstable: the flow; stable: the reversed flow) take the orbit
from ``W* + eps x`` out to distance ``rho`` (Radau with the exact Jacobian, in the time
``ds = r^(m-2) dt``, m the order of the ray), endpoint ``p``. Carry every tangent vector
at ``p`` back to distance ``2 eps`` with the linearised flow: exponentials of the Hessian
at step midpoints (steps of 5 % in r), exponents clipped at ``+-STEP_CLIP`` per step (the
stiff hyperbolic directions are then only classified by their sign, an L-stable
treatment), products kept as ``Q D T`` with column-pivoted QR (graded singular values
stay accurate). At hyperbolic rays (order 2) the transport is continued at the near end
with the flow linearised there for ``60 / min |lambda|`` (reaching W* takes infinite
time; without this, directions slower than the ray would look transverse). Vectors
tangent to the set shrink at least like ``r`` (angular) or faster (radial, hyperbolic);
transverse vectors (the other set, the critical set's tangent, transverse angular
directions) do not. The measured dimension is the number of singular values of ``M rho /
r`` at most ``(rho / r)^(1/4)``. Gap criterion: the ray counts only if no ``log10``
stretch lies between 0.1 and 0.9 of ``log10(rho / r)`` (default ``rho / r = 1667``:
tangent values at most 0.2, transverse at least 3.0 on every network tested); a ray in
the ambiguous band measures nothing (-1). The measured dimension of a set is the largest
over the clean rays (the ray of the largest derived piece first). At a balanced point the
rays are measured at ``A*_S``, where the reduced block is invariant in floating point too.
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

def _small_blas():
    """One BLAS thread: the dense matrices here are small (at most a few hundred rows), and
    threaded BLAS on a loaded machine makes each ``eigh`` tens of times slower."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        from contextlib import nullcontext

        return nullcontext()
    return threadpool_limits(1, user_api="blas")


def _grad(net, theta):
    """Flat gradient at a flat point (kernels directly: called thousands of times per orbit)."""
    from ..core import kernels

    return np.concatenate([g.ravel() for g in kernels.gradient(net.unflatten(theta), net._target)])


def _hessian(net, theta):
    from ..core import kernels

    return kernels.hessian(net.unflatten(theta), net._target)


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
    leading homogeneous field. Modes with ``sigma_k = 0`` (only allowed all together) get
    weight 1: characteristic directions of ``g = 1/2 |P|^2``, the leading part where Sigma
    vanishes on the unused units. ``negative=True`` flips the first layer (product < 0: a
    stable ray). At aligned points the ray's orbit stays aligned and balanced (exact).

    Returns
    -------
    ndarray of shape (n_params,) or None
        None when some hidden layer has fewer than ``|T|`` unused units, h < 3, or T mixes
        modes with ``sigma_k > 0`` and ``sigma_k = 0``.
    """
    require_quadratic(net, "characteristic_direction", "the insertion rays are built on the modes of Sigma (spec 5)")
    layers = net.layers(W_star, name="W_star")
    h = net.depth
    if h < 3 or not T:
        return None
    sig = np.array([net.sigma[k - 1] for k in T])
    if np.any(sig > 0) and not np.all(sig > 0):
        return None
    free = _free_bases(layers, tol)
    if any(b.shape[1] < len(T) for b in free):
        return None
    V = [np.zeros(s) for s in net.shapes]
    d0, dh = net.widths[0], net.widths[-1]
    for j, k in enumerate(T):
        a = net.sigma[k - 1] ** (-1.0 / (h - 2)) if net.sigma[k - 1] > 0 else 1.0
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
    """Subsets T of unlearnt modes for characteristic rays, largest first, at most ``limit``.

    The modes with ``sigma_k > 0``; where none is left, the modes with ``sigma_k = 0``
    (rays of ``g = 1/2 |P|^2``). Sizes are capped by the unused units of the narrowest
    hidden layer (``min_i d_i - |S|``).
    """
    S = tuple(S or ())
    room = min(net.widths[1:-1], default=0) - len(S)
    unl = [k + 1 for k in range(net.sigma.size) if (k + 1) not in S]
    modes = [k for k in unl if net.sigma[k - 1] > 0] or unl
    subsets = []
    for size in range(min(len(modes), room), 0, -1):  # largest first: the largest pieces come from many modes
        for T in itertools.combinations(modes, size):
            subsets.append(T)
            if len(subsets) >= limit:
                return subsets
    return subsets


def reduced_network(net, S):
    """Widths and sigma of the network left over at ``A*_S``: ``(d_i - |S|)``, Sigma without the modes S.

    At the representative ``A*_S`` (and every point of its orthogonal-gauge orbit) the
    perturbations that touch only unlearnt modes and unused hidden units form a copy of
    this reduced network at its origin; :func:`manifold_dimensions` decides the
    degenerate directions there.

    Returns
    -------
    (tuple of int, ndarray of shape (min(d_0, d_h) - |S|,))
    """
    S = tuple(S or ())
    keep = [j for j in range(net.sigma.size) if (j + 1) not in S]
    return tuple(d - len(S) for d in net.widths), net.sigma[keep]


def _symmetry_rank(net, layers, tol=1e-9):
    """Dimension of the orbit of ``layers`` under the orthogonal symmetries of the flow.

    Hidden ``O(d_i)`` gauges and pairs ``(U, V)`` in ``O(d_h) x O(d_0)`` with ``U Sigma V^T =
    Sigma`` (rotations within groups of equal sigma and of the kernels of Sigma), acting by
    ``W_h -> U W_h``, ``W_1 -> W_1 V^T``.
    """
    from ..critical._fiber import orbit_tangent

    cols = [orbit_tangent(net, layers, orthogonal=True)]
    Sig = net.Sigma
    dh, d0 = Sig.shape
    gens = []
    for side, d in (("out", dh), ("in", d0)):
        for a in range(d):
            for b in range(a + 1, d):
                X = np.zeros((d, d))
                X[a, b], X[b, a] = 1.0, -1.0
                gens.append((side, X))
    if gens:
        M = np.array([(X @ Sig if side == "out" else -Sig @ X).ravel() for side, X in gens]).T
        _, sv, vt = np.linalg.svd(M, full_matrices=True)
        r = int(np.sum(sv > 1e-12 * max(1.0, sv.max(initial=0.0))))
        starts = np.concatenate([[0], np.cumsum([a * b for a, b in net.shapes])])
        for c in vt[r:]:
            v = np.zeros(net.n_params)
            for cj, (side, X) in zip(c, gens):
                if side == "out":
                    v[starts[-2]:] += cj * (X @ layers[-1]).ravel()
                else:
                    v[: starts[1]] += cj * (-layers[0] @ X).ravel()
            cols.append(v[:, None])
    return _rank(np.hstack(cols), tol)


def _blow_up_piece(net, x, kind, tol=1e-8):
    """Dimension of the blow-up piece of the ray x at the origin, or None if the ray is not Morse-Bott.

    The leading homogeneous part of the field at the origin is ``grad F`` with ``F =
    <Sigma, P>`` (degree m = h) where Sigma is not 0, else ``F = -1/2 |P|^2`` (m = 2h).
    At a characteristic ray (``grad F(x) = m F(x) x``) the angular rates are the eigenvalues
    of ``P_x (grad^2 F(x) - m F(x)) P_x``; the piece is ``1 + #{grow} + #{null}`` with the
    null directions required to be the orbit of the ray under the orthogonal symmetries.
    """
    from ..core import LinearNetwork

    Wx = net.unflatten(x)
    h = net.depth
    if np.any(net.sigma > 0):
        m = h
        F = float(np.vdot(net.Sigma, net.end_to_end(Wx)))
        Hf = LinearNetwork(net.widths, np.zeros_like(net.sigma)).hessian(Wx) - net.hessian(Wx)  # grad^2 <Sigma, P>
    else:
        m = 2 * h
        F = -0.5 * float(np.sum(net.end_to_end(Wx) ** 2))
        Hf = -net.hessian(Wx)
    if (F > 0) != (kind == "unstable") or F == 0.0:
        return None, np.zeros(0)
    n = x.size
    P = np.eye(n) - np.outer(x, x)
    mu = np.linalg.eigvalsh(P @ Hf @ P - m * F * P)
    band = _band(mu, tol)
    n_pos, n_neg = int(np.sum(mu > band)), int(np.sum(mu < -band))
    n_null = int(np.sum(np.abs(mu) <= band)) - 1  # the radial direction is in P's kernel
    if n_null != _symmetry_rank(net, Wx):
        return None, mu
    grow = n_pos if kind == "unstable" else n_neg
    return 1 + grow + n_null, mu


def origin_blow_up(net, tol=1e-8, limit=None):
    """Unstable and stable dimensions at the origin of an h >= 3 network by the directional blow-up.

    Returns
    -------
    dict
        ``unstable``, ``stable`` (-1 where not decided), ``pieces`` ({kind: {T: dim}}) and
        ``status``: ``"decided"``; ``"kernel"`` where Sigma has both positive values and a
        kernel pair (a unit path reading ``ker Sigma`` and writing ``ker Sigma^T``): there
        ``grad <Sigma, P>`` vanishes on the rays of such paths, where ``-grad 1/2 |P|^2``
        pulls in, so points of a stable ray of ``<Sigma, P>`` plus a kernel path may still
        reach 0, more slowly: the stable dimension is open (-1; the pieces are lower
        bounds), the unstable one is decided (rays where ``F = <Sigma, P> = 0`` repel in
        backward time); ``"not_morse_bott"`` where a ray's null angular directions exceed
        its symmetry orbit (open).
    """
    h = net.depth
    limit = MAX_RAYS if limit is None else limit
    p = int(np.sum(net.sigma > 0))
    z = min(net.widths[0], net.widths[-1]) - p
    out = {"unstable": -1, "stable": -1, "pieces": {"unstable": {}, "stable": {}}, "status": "decided"}
    if h < 3:
        raise LandscapeValueError(f"origin_blow_up needs depth >= 3; got {h}.")
    kernel = bool(p and z)
    zero = [np.zeros(s) for s in net.shapes]
    for T in _mode_subsets(net, (), limit):
        for kind in ("unstable", "stable"):
            if kind == "unstable" and not p:
                continue  # F = -1/2 |P|^2 < 0: nothing escapes
            x = characteristic_direction(net, zero, T, negative=kind == "stable")
            if x is not None:
                piece = _blow_up_piece(net, x, kind, tol)[0]
                if piece is None:
                    out["status"] = "not_morse_bott"
                    return out
                out["pieces"][kind][T] = piece
    for kind in ("unstable", "stable"):
        out[kind] = max(out["pieces"][kind].values(), default=0)
    if kernel:  # the stable pieces of <Sigma, P> are lower bounds; the unstable set is decided (see above)
        out["status"] = "kernel"
        out["stable"] = -1
    return out


# ----------------------------------------------------------------------------- measurement

def _orbit(net, c, x, eps, rho, sign, m, max_s):
    """Orbit of ``sign * (-grad L)`` (time ``ds = r^(m-2) dt``) from c + eps x out to |theta - c| = rho.

    Integrated in the direction in which the set attracts (an unstable set is computed by
    the forward flow, a stable one by the reversed flow), with the implicit Radau method
    and the exact Jacobian (the hyperbolic directions are stiff next to the slow escape).
    Returns ``(solution, s at radius 2 eps, s at radius rho)`` or None.
    """
    from scipy.integrate import solve_ivp

    def f(s, y):
        r = np.linalg.norm(y - c)
        return -sign * _grad(net, y) / max(r, 1e-300) ** (m - 2)

    def jac(s, y):
        r = np.linalg.norm(y - c)
        return -sign * _hessian(net, y) / max(r, 1e-300) ** (m - 2)

    def out(s, y):
        return np.linalg.norm(y - c) - rho

    def near(s, y):
        return np.linalg.norm(y - c) - 2 * eps

    out.terminal = True
    sol = solve_ivp(f, (0.0, max_s), c + eps * x, method="Radau", jac=jac, rtol=1e-9,
                    atol=1e-13 * max(1.0, float(np.linalg.norm(c))), events=(out, near), dense_output=True)
    if sol.status != 1 or not sol.t_events[1].size:
        return None
    return sol, float(sol.t_events[1][0]), float(sol.t_events[0][0])


#: largest exponent |lambda dt| applied per step (stiff hyperbolic directions are only classified by sign)
STEP_CLIP = 12.0
#: eigenvalues above this (relative) count as hyperbolic when a hyperbolic ray's transport is extended at W*
EXTEND_BAND = 1e-3
#: stretch factors are held within exp(+-LOG_CAP) (far beyond the gap; keeps the scaled columns representable)
LOG_CAP = 230.0


def _transport(net, c, sol, s_near, s_far, sign, m, dlog=0.05, extend=False):
    """Log singular values of the variational matrix carried back along the orbit from s_far to s_near.

    The linearised flow ``d(delta)/ds = -sign H(theta(s)) delta / r^(m-2)`` is stepped
    backwards in s with exponentials of the Hessian at step midpoints (``expm(sign H dt)``,
    ``dt = ds / r^(m-2)``; steps where r changes by at most ``dlog`` relative, subdivided at
    the solver's own points). Exponents are clipped to ``+-STEP_CLIP`` per step: hyperbolic
    directions whose ``|lambda| dt`` is larger are stiff and only their sign matters (an
    L-stable treatment; their growth or decay is far outside the gap either way). The
    product is accumulated as ``Q D T`` with column-pivoted QR (Loh-Gubernatis
    stratification), which keeps graded singular values accurate; ``log D`` is held within
    ``+-LOG_CAP``.
    """
    import scipy.linalg as sl

    n = c.size
    inner = sol.t[(sol.t > s_near) & (sol.t < s_far)]
    grid = np.concatenate([[s_near], inner, [s_far]])[::-1]
    Q = np.eye(n)
    logd = np.zeros(n)
    for sb, sa in zip(grid[:-1], grid[1:]):
        ra = np.linalg.norm(sol.sol(sa) - c)
        rb = np.linalg.norm(sol.sol(sb) - c)
        nsub = max(int(np.ceil(abs(np.log(max(rb, 1e-300) / max(ra, 1e-300))) / dlog)), 1)
        for j in range(nsub):
            s1 = sb + (sa - sb) * j / nsub
            s2 = sb + (sa - sb) * (j + 1) / nsub
            y = sol.sol(0.5 * (s1 + s2))
            r = np.linalg.norm(y - c)
            lam, V = np.linalg.eigh(_hessian(net, y))
            e = np.clip(sign * lam * (s1 - s2) / max(r, 1e-300) ** (m - 2), -STEP_CLIP, STEP_CLIP)
            top = logd.max()
            Z = ((V * np.exp(e)) @ (V.T @ Q)) * np.exp(np.maximum(logd - top, -700.0))[None, :]
            Q, R, _ = sl.qr(Z, pivoting=True)
            logd = np.clip(np.log(np.maximum(np.abs(np.diag(R)), 1e-300)) + top, -LOG_CAP, LOG_CAP)
    if extend:  # hyperbolic ray: infinite time from 2 eps to W*; continue with the flow linearised there
        lam, V = np.linalg.eigh(_hessian(net, sol.sol(s_near)))
        hyper = np.abs(lam) > EXTEND_BAND * max(1.0, float(np.abs(lam).max()))
        if np.any(hyper):
            T = 60.0 / float(np.abs(lam[hyper]).min())
            steps = int(np.ceil(float(np.abs(lam).max()) * T / STEP_CLIP))
            E = (V * np.exp(sign * lam * T / steps)) @ V.T
            for _ in range(steps):
                top = logd.max()
                Q, R, _ = sl.qr((E @ Q) * np.exp(np.maximum(logd - top, -700.0))[None, :], pivoting=True)
                logd = np.clip(np.log(np.maximum(np.abs(np.diag(R)), 1e-300)) + top, -LOG_CAP, LOG_CAP)
    return logd


def measure_set_dimension(net, W_star, x, kind="unstable", *, order=None, eps=None, rho=None, max_s=1e7):
    """Local dimension of the unstable or stable set along the ray x, measured from the flow.

    The orbit of ``W* + eps x`` (unstable: the flow; stable: the reversed flow) is followed
    out to distance ``rho`` (endpoint ``p``); the variational equation carries every tangent
    vector at ``p`` back to the point of the orbit at distance ``r = 2 eps``. Vectors tangent
    to the set shrink at least like ``r / rho`` (angular directions of the cone) or faster
    (radial, hyperbolic); transverse ones (the other set, the critical set's tangent,
    transverse angular directions) do not. The measured dimension is the number of
    singular values of ``M rho / r`` at most ``(rho / r)^(1/4)``: in ``log10`` units, the
    values at most a quarter of ``log10(rho / r)``. The gap: on every network tested the
    values fall below 0.1 or above 0.9 of ``log10(rho / r)``; ``gap`` in the result says
    whether this one does.

    Parameters
    ----------
    net : LinearNetwork
    W_star : list of ndarray or ndarray of shape (n_v, n_v)
        A critical point.
    x : ndarray of shape (n_params,)
        A ray of the set (a characteristic direction or a Hessian eigenvector).
    kind : {"unstable", "stable"}
    order : int, optional
        Order m of the ray (the loss changes like ``alpha^m``): h for characteristic rays
        of ``<Sigma, P>`` (the default), 2h for rays of ``1/2 |P|^2``, 2 for Hessian
        eigenvectors.
    eps, rho : float, optional
        Start and end distances; defaults ``3e-4 rho`` and ``0.1 max(1, sigma_1^(1/h))``.
    max_s : float, default=1e7
        Longest rescaled time of the orbit.

    Returns
    -------
    (int, ndarray, bool)
        The measured dimension (-1 if the orbit did not reach ``rho``), the sorted
        ``log10`` singular values of ``M rho / r`` (relative to ``log10(rho / r)`` in the
        gap test) and whether the gap is clean.
    """
    require_quadratic(net, "measure_set_dimension", "its rays and reference directions come from the modes of Sigma (spec 5)")
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
    orb = _orbit(net, c, x, eps, rho, sign, m, max_s)
    if orb is None:
        return -1, np.zeros(0), False
    logs = _transport(net, c, orb[0], orb[1], orb[2], sign, m, extend=m == 2)
    L = np.log10(rho / (2 * eps))
    sv = np.sort(logs / np.log(10.0) + L)  # log10 of the stretch relative to r
    rel = sv / L
    gap = not np.any((rel > 0.1) & (rel < 0.9))
    return int(np.sum(sv <= 0.25 * L)), sv, bool(gap)


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


def _root_near(net, theta0, scale, max_move, max_iter=60, P_zero=False):
    """A critical point near theta0 by minimum-norm Gauss-Newton steps, or None.

    The equations are ``grad L = 0``, and with ``P_zero`` also ``P = W_h ... W_1 = 0``
    (true on the whole critical set near an origin: a critical end-to-end matrix there is
    ``Sigma_S`` with only zero modes; without it, a start displaced along a degenerate
    normal direction, e.g. a path reading ``ker Sigma`` where ``grad L ~ |x|^(2h-1)``,
    already passes for a root and would be counted as tangent). Each step is the
    least-squares step of smallest norm (relative cutoff 1e-10): no move along the
    common null space, so the root found is close to the foot of theta0 on the critical
    set. None if the iterate moves more than ``max_move`` from theta0 or does not converge.
    """
    from ..core import kernels

    def equations(q):
        g = _grad(net, q)
        if not P_zero:
            return g, None
        W = net.unflatten(q)
        return np.concatenate([g, kernels.end_to_end(W).ravel()]), W

    q = theta0.copy()
    for _ in range(max_iter):
        F, W = equations(q)
        if np.linalg.norm(F) <= 1e-14 * scale:
            return q
        J = _hessian(net, q)
        if P_zero:
            J = np.vstack([J, kernels.end_to_end_jacobian(W)])
        q = q - np.linalg.lstsq(J, F, rcond=1e-10)[0]
        if np.linalg.norm(q - theta0) > max_move:
            return None
    return q if np.linalg.norm(equations(q)[0]) <= 1e-10 * scale else None


def _local_dimension(net, p, scale, tol, delta=1e-3, P_zero=False):
    """Local dimension of the critical set at its point p (the numerical rank of nearby roots).

    Roots are sought from ``p + delta k_j`` for each vector ``k_j`` of an orthonormal basis
    of ``ker H(p)`` (the tangent space T of the critical set lies there: ``H(p) t = 0`` on
    it); a root lies in ``p + T + O(delta^2)``, so the differences ``(q_j - p) / delta``
    are the projections of the ``k_j`` on T up to ``O(delta)``: singular values 1 on T
    and near 0 across. This does not over-count where the critical set is not
    Morse-Bott at p (Hessian nullity larger than the set's dimension), which the nullity
    alone does.

    The step must be small against the point's own features: near an origin a sample's
    layers can have singular values of 1e-3 (depth 4: (2,2,2,2,2) origin), and a step of
    that size finds roots off the local piece. The steps ``delta``, ``delta / 10`` and
    ``delta / 100`` (times ``max(1, |p|)``) are tried in turn; the first with every root
    found, no singular value in the band and none above 2 (a root at several steps from
    its start is not the local foot) gives the dimension.

    Returns
    -------
    int
        The dimension (singular values at least 0.3), or -1 if no step gives a clean gap.
    """
    lam, Q = np.linalg.eigh(_hessian(net, p))
    K = Q[:, np.abs(lam) <= _band(lam, tol)]
    k = K.shape[1]
    if k == 0:
        return 0
    for shrink in (1.0, 0.1, 0.01):
        step = shrink * delta * max(1.0, float(np.linalg.norm(p)))
        diffs = []
        for j in range(k):
            q = _root_near(net, p + step * K[:, j], scale, 20 * step, P_zero=P_zero)
            if q is None:
                break
            diffs.append((q - p) / step)
        if len(diffs) < k:
            continue
        sv = np.linalg.svd(np.array(diffs), compute_uv=False)
        if np.any((sv > 0.1) & (sv < 0.3)) or sv.max() > 2.0:
            continue
        return int(np.sum(sv >= 0.3))
    return -1


def critical_dimension_measured(net, W_star, *, n_samples=6, eps=None, tol=1e-8, rng=0):
    """Local dimension of the critical set through W*, measured by sampling it at distance eps.

    Critical points at distance ``eps`` from ``W*`` are found by Levenberg-Marquardt on
    ``(grad L, (|theta - W*|^2 - eps^2) / eps) = 0`` from random null directions of the
    Hessian at ``W*``; at each, the local dimension of the critical set is the numerical
    rank of the roots found around it (:func:`_local_dimension`, not the Hessian nullity,
    which over-counts at points where the critical set is not Morse-Bott). The local
    dimension at ``W*`` is the largest (the dimension is upper semicontinuous; a sample
    lands on the largest stratum through ``W*`` from an open set of starts).

    Returns
    -------
    (int, list of int)
        The largest local dimension among the critical points found (-1 if none), and each
        sample's (-1 where its gap was not clean).
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
    origin = not np.any(c)
    found = []
    for _ in range(4 * n_samples):  # until n_samples clean samples
        if sum(d >= 0 for d in found) >= n_samples:
            break
        v = K @ rng.standard_normal(K.shape[1])
        p = _project_critical(net, c + eps * v / np.linalg.norm(v), c, eps)
        p = _root_near(net, p, scale, 0.5 * eps, max_iter=200, P_zero=origin)  # LM stalls on degenerate directions
        if p is None or abs(net.loss(net.unflatten(p)) - L0) > 1e-9 * scale:
            continue
        found.append(_local_dimension(net, p, scale, tol, P_zero=origin))
    return max(found, default=-1), found


# ----------------------------------------------------------------------------- public

def manifold_dimensions(net, W_star, *, measure="auto", tol=1e-8, n_critical_samples=6, max_rays=8, rng=0):
    """Dimensions of the unstable, stable and critical sets through a critical point.

    ``W^u(W*)``: points whose backward flow tends to ``W*``; ``W^s(W*)``: points whose
    forward flow tends to ``W*``; the critical set: critical points near ``W*`` (all at
    the value ``L_S``). The module docstring of ``landscape.stability._dimensions``
    states the theory and the measurement; in short:

    * Morse-Bott points (Hessian nullity = orbit dimension, or = the measured critical
      dimension; every depth-2 critical point of a Sigma without zero values, where with
      ``d_0 != d_h`` the critical set also holds weights reading the kernel of Sigma; not
      so where sigma has zeros, e.g. the origin of (3, 4, 2), sigma (0.99, 0): nullity 12,
      critical set 10, reported as ``"bounds"``):
      ``(unstable, stable, critical, centre) = (n_negative, n_positive, n_zero, 0)``,
      summing to ``n_params``; ``source = "hessian"``.
    * The origin at h >= 3 (Hessian 0): the directional blow-up of the leading
      homogeneous field ``grad <Sigma, P>``; ``source = "blow_up"``.
    * Balanced h >= 3 saddles other than the origin (``A*_S`` up to orthogonal gauges):
      the Hessian counts plus the reduced network's origin (widths ``d_i - |S|``, Sigma
      without the modes S): ``unstable = n_negative + u_R``, ``stable = n_positive + s_R``,
      ``centre = centre_R``; ``source = "blow_up"`` (``"hessian"`` when a reduced width is 0).
    * Open (``source = "bounds"``, reason in ``details["open"]``): Sigma_R with positive
      values and a kernel pair, or Sigma_R = 0 with S non-empty (unstable decided, stable a
      lower bound, or the measured value where larger: ``sources["stable"] ==
      "measured"``); unbalanced points (GL gauges, dead paths): ``n_negative``
      (``n_positive``) plus one where a characteristic ray through unused units escapes
      (enters). The critical dimension is measured (networks of at most
      :data:`CRITICAL_LIMIT` parameters; above, or where no sample of the critical set
      gives a clean rank, the orbit dimension, a lower bound: ``sources["critical"] ==
      "bounds"``).

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
        (linearised flow carried along rays, dense Hessians, at most :data:`MEASURE_LIMIT`
        parameters): at h >= 3 along the characteristic rays of the unlearnt modes through
        unused units (at a balanced point: at ``A*_S``), else along the extreme Hessian
        eigenvectors; ``measured_unstable`` / ``measured_stable`` are the largest over the
        rays with a clean gap, -1 where no ray is clean or there is none (0 for the
        unstable set of a global minimum). ``"auto"`` and ``False``: no measurement.
    tol : float in (0, 1), default=1e-8
        Relative band of zero Hessian eigenvalues.
    n_critical_samples : int, default=6
        Critical points sampled near a degenerate ``W*``.
    max_rays : int, default=8
        Characteristic rays (subsets of unlearnt modes) measured per set, the ray of the
        largest derived piece first.
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
    >>> net = ls.LinearNetwork([2, 2, 2, 2], [2.0, 1.0])  # S = {1}: reduced block = the scalar origin
    >>> d = ls.manifold_dimensions(net, ls.representative(net, [1]))
    >>> d.n_negative, d.n_positive, d.unstable, d.stable, d.critical, d.centre, d.source
    (0, 3, 1, 4, 7, 2, 'blow_up')
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
    balanced = h >= 3 and _is_balanced(net, layers, tol)
    S = tuple(q.S or ())
    undecided = None
    if morse_bott:
        u, s, crit, source = neg, pos, zero, "hessian"
        sources = {"unstable": "hessian", "stable": "hessian", "critical": "hessian"}
    elif n > CRITICAL_LIMIT:
        u, s, crit, source = neg, pos, max(orbit, -1), "bounds"
        sources = {"unstable": "bounds", "stable": "bounds", "critical": "bounds"}
    else:
        eq = _balanced_equivalent(net, layers, tol) if h >= 3 and not balanced else None
        if eq is not None:  # an invertible-gauge image of a balanced point: the same critical set, mapped
            details["balanced_equivalent"] = eq
        sources = {"critical": "measured"}
        crit = -1
        u = s = None
        if (not (balanced or eq is not None)) or not S or h <= 2:
            with _small_blas():
                crit, nulls = critical_dimension_measured(net, layers if eq is None else eq,
                                                          n_samples=n_critical_samples, tol=tol, rng=rng)
            details["critical_samples"] = nulls
            crit = max(crit, orbit) if crit >= 0 else crit
        if crit == zero and h <= 2:  # depth 2: the critical set is a manifold of dimension = nullity
            morse_bott = True
            u, s, source = neg, pos, "hessian"
            sources.update(unstable="hessian", stable="hessian")
        elif balanced or eq is not None:
            with _small_blas():
                red = _reduced_blow_up(net, S, tol, n_critical_samples, rng)
            details["reduced"] = red
            if red["status"] != "trivial" and red["critical"] >= 0 and S:
                # critical set = (null directions outside the reduced block) x (reduced critical set at 0)
                crit = zero - red["n_params"] + red["critical"]
            elif red["status"] == "trivial":
                crit = zero
            if eq is not None:
                # the flow is not equivariant under invertible gauges: the degenerate directions at
                # W* are not those at the balanced point; unstable/stable stay bounds (below)
                undecided = "unbalanced"
            else:
                details["blow_up_pieces"] = red["pieces"]
                if red["status"] == "trivial":  # no reduced block: every null direction is tangent to the critical set
                    morse_bott = True
                    u, s, source = neg, pos, "hessian"
                    sources.update(unstable="hessian", stable="hessian")
                elif red["status"] == "decided":
                    u, s = neg + red["unstable"], pos + red["stable"]
                    sources.update(unstable="blow_up", stable="blow_up")
                    source = "blow_up"
                elif red["status"] in ("kernel", "zero_reduced"):  # unstable decided; stable: lower bound
                    u, s = neg + red["unstable"], pos + max(red["pieces"]["stable"].values(), default=0)
                    sources.update(unstable="blow_up", stable="bounds")
                    source = "bounds"
                    undecided = red["status"]
                else:
                    undecided = red["status"]
        else:
            scal = _scalar_reduced(net, layers, tol) if h >= 3 else None
            if scal is not None and min(scal) >= 0:
                u, s = neg + scal[0], pos + scal[1]
                source = "blow_up"
                sources.update(unstable="blow_up", stable="blow_up")
                details["reduction"] = "scalar zero weights"
            else:
                undecided = "unbalanced"
        if u is None:  # lower bounds: the Hessian counts, plus one where a characteristic ray escapes
            source = "bounds"
            sources.update(unstable="bounds", stable="bounds")
            rays = [T for T in _mode_subsets(net, S, 1)]
            u = neg + int(bool(rays) and _invariant_ray(net, layers, rays[0], False))
            s = pos + int(bool(rays) and _invariant_ray(net, layers, rays[0], True))
    if undecided:
        details["open"] = undecided
    mu = ms = -1
    if measure is True:
        if not small:
            raise LandscapeValueError(f"measure=True needs at most MEASURE_LIMIT = {MEASURE_LIMIT} parameters; "
                                      f"got {n}. Use measure='auto' or False.")
        with _small_blas():
            mu, ms, rays = _measure(net, layers, S, neg, pos, max_rays, balanced, q.loss, tol,
                                    details.get("blow_up_pieces"))
        details["measured_rays"] = rays
        if undecided and sources.get("stable") == "bounds" and ms > s:
            s = ms  # theory open: the measured dimension (along the rays tried), said so
            sources["stable"] = "measured"
        if undecided and sources.get("unstable") == "bounds" and mu > u:
            u = mu
            sources["unstable"] = "measured"
    if crit < 0 <= orbit:  # no clean sample of the critical set: the gauge orbit, a lower bound
        crit = orbit
        sources["critical"] = "bounds"
    centre = zero - crit if crit >= 0 else -1
    return ManifoldDimensions(unstable=int(u), stable=int(s), critical=int(crit), centre=int(centre), n_params=n,
                              n_negative=neg, n_zero=zero, n_positive=pos, orbit=orbit, morse_bott=bool(morse_bott),
                              source=source, sources=sources, measured_unstable=int(mu), measured_stable=int(ms),
                              details=details)


def _is_balanced(net, layers, tol):
    """All ``C_i = W_{i+1}^T W_{i+1} - W_i W_i^T`` vanish (relative to the scale of W and Sigma).

    A balanced critical point is, up to orthogonal gauges (and the symmetries of Sigma), the
    representative ``A*_S`` (spec 2.5: ``W_i = U_i D^(1/h) U_{i-1}^T``).
    """
    scale = max(1.0, float(net.sigma.max(initial=0.0)) ** (2.0 / net.depth),
                max(float(np.abs(w).max(initial=0.0)) ** 2 for w in layers))
    return all(np.abs(layers[i + 1].T @ layers[i + 1] - layers[i] @ layers[i].T).max(initial=0.0) <= 1e3 * tol * scale
               for i in range(len(layers) - 1))


def _invariant_ray(net, layers, T, negative, alpha=1e-2):
    """Whether the characteristic ray of T through unused units exists at W* and the flow keeps it.

    Along a ray through units that W* neither reads nor writes, ``P(W* + a x) = P* + a^h
    P_x`` exactly; the ray is a flow line leaving (negative=False: the loss falls) or
    entering W* only if the field there is parallel to x (checked at ``a = alpha``,
    relative 1e-8), which fails where W* writes the ray's output mode through a dead path.
    Only then does the ray add one to the lower bound.
    """
    x = characteristic_direction(net, layers, T, negative=negative)
    if x is None:
        return False
    c = net.flatten(layers)
    g = _grad(net, c + alpha * x)
    gn = float(np.linalg.norm(g))
    if gn == 0.0:
        return False
    along = float(g @ x)
    return bool(np.linalg.norm(g - along * x) <= 1e-8 * gn and (along < 0) != negative)


def _balanced_equivalent(net, layers, tol):
    """A balanced critical point on the invertible-gauge (GL) orbit of ``layers``, or None.

    The critical set is GL invariant (``L(G . W) = L(W)`` for every W), so its local
    dimension at ``W*`` equals that at any gauge image. The point is aligned by
    :func:`~landscape.stability.recover_alignment` (orthogonal or invertible gauges); on
    the aligned point every thread from an input to an output is rescaled by a diagonal
    gauge to equal magnitudes ``|p|^(1/h)`` (p its product, the sign on the last layer).
    None where that fails: no alignment, or a nonzero entry on a thread that does not run
    from input to output (a dead path: no gauge removes it).
    """
    from ._align import align

    found = align(net, layers)
    if found is None:
        return None
    M = [w.copy() for w in found.layers]
    h = net.depth
    used = 0
    for k in range(net.widths[0]):
        path, v = [], k
        for i in range(h):
            rows = np.flatnonzero(M[i][:, v])
            if rows.size == 0:
                break
            path.append((i, int(rows[0]), v))
            v = int(rows[0])
        if len(path) < h:
            continue
        prod = float(np.prod([M[i][u, w] for i, u, w in path]))
        mag = abs(prod) ** (1.0 / h)
        for i, u, w in path:
            M[i][u, w] = mag
        i, u, w = path[-1]
        M[i][u, w] = np.sign(prod) * mag
        used += h
    if used != sum(int(np.count_nonzero(w)) for w in M):
        return None  # a nonzero entry off every input-output thread: a dead path
    if not _is_balanced(net, M, tol):
        return None
    scale = max(1.0, float(np.sum(net.sigma ** 2)))
    if np.linalg.norm(_grad(net, net.flatten(M))) > 1e-8 * scale:
        return None
    return M


def _scalar_reduced(net, layers, tol):
    """Unstable and stable dimensions of a scalar critical point with >= 3 zero weights, or None.

    With zero weights Z (``|Z| >= 3``) and the others fixed, the zero weights form a scalar
    network of depth ``|Z|`` at its origin with target ``sigma * prod_{i not in Z} w_i``;
    the fixed weights move at the rate ``prod_Z w ~ r^|Z|`` (along the critical set, which
    holds every point with two zero weights), so the sets are those of the reduced origin
    (:func:`origin_blow_up`): 1 and 1 where the reduced target is not 0.
    """
    from ..core import LinearNetwork

    if any(d != 1 for d in net.widths):
        return None
    w = np.array([float(x.ravel()[0]) for x in layers])
    zero = np.abs(w) <= tol * max(1.0, float(np.abs(w).max(initial=0.0)))
    if zero.sum() < 3 or zero.all():
        return None
    target = abs(float(net.sigma[0]) * float(np.prod(w[~zero])))
    red = origin_blow_up(LinearNetwork([1] * (int(zero.sum()) + 1), target), tol)
    return red["unstable"], red["stable"]


def _reduced_blow_up(net, S, tol, n_critical_samples=6, rng=0):
    """Decide the degenerate directions at the balanced point of S through the reduced network's origin.

    Returns the dict of :func:`origin_blow_up` for ``reduced_network(net, S)`` with the
    modes T renumbered as in ``net`` and ``widths``/``sigma`` of the reduced network;
    status ``"trivial"`` (dimensions 0) when a reduced width is 0 (the learnt modes fill a
    bottleneck: every perturbation of the unused units keeps the reduced product 0 and is
    critical).
    """
    from ..core import LinearNetwork

    widths, sigma = reduced_network(net, S)
    unl = [k + 1 for k in range(net.sigma.size) if (k + 1) not in S]
    n_red = sum(a * b for a, b in zip(widths[:-1], widths[1:]))
    base = {"widths": widths, "sigma": sigma.tolist(), "n_params": n_red}
    if min(widths) == 0:
        return {**base, "unstable": 0, "stable": 0, "critical": n_red, "pieces": {"unstable": {}, "stable": {}},
                "status": "trivial"}
    red = LinearNetwork(widths, sigma)
    res = origin_blow_up(red, tol)
    if S and not np.any(sigma > 0):
        # every positive mode is learnt (a global minimum: nothing lies below, u_R = 0). The
        # reduced field is then -grad 1/2 |P_R|^2, of degree 2h - 1, slower than the couplings
        # with the cross directions, and the flow measures more stable directions than
        # n_+ + s_R (e.g. (3,3,3,2), sigma (1.8, 0), S = {1}: 10 vs 8): open, lower bound.
        res["status"] = "zero_reduced"
        res["unstable"], res["stable"] = 0, -1
    res["critical"] = -1
    if S:  # the reduced critical set at its origin (sampled as at any origin)
        res["critical"] = critical_dimension_measured(red, [np.zeros(sh) for sh in red.shapes],
                                                      n_samples=n_critical_samples, tol=tol, rng=rng)[0]
    pieces = {kind: {tuple(unl[t - 1] for t in T): d for T, d in p.items()} for kind, p in res["pieces"].items()}
    return {**base, **res, "pieces": pieces}


def _measure(net, layers, S, neg, pos, max_rays, balanced, loss, tol, pieces=None):
    """Measured (unstable, stable) dimensions: the largest over the rays measured, and the report.

    Rays: the extreme Hessian eigenvectors (order 2) and, at h >= 3, the characteristic
    rays of the unlearnt modes through unused units (order h, or 2h for modes with sigma
    = 0). At a balanced degenerate point the rays are measured at the representative
    ``A*_S`` (the flow is equivariant under orthogonal gauges, so the dimensions agree;
    there the subspace of the reduced network is exactly invariant in floating point too).
    A set with no ray is measured as 0 only at a global minimum for the unstable set (no
    point below ``L*`` exists); else -1.
    """
    h = net.depth
    if h >= 3 and balanced and any(np.any(w) for w in layers):
        from ..critical import representative

        layers = representative(net, S)
    rays = {"unstable": [], "stable": []}
    if h >= 3:
        subsets = _mode_subsets(net, S, MAX_RAYS)
        for kind in ("unstable", "stable"):
            # the ray of the largest derived piece first (a check of the theory), then the others
            best = max((pieces or {}).get(kind, {}).items(), key=lambda kv: kv[1], default=(None, 0))[0]
            order = ([best] if best in subsets else []) + [T for T in subsets if T != best]
            for T in order[:max_rays]:
                m = h if net.sigma[T[0] - 1] > 0 else 2 * h
                if kind == "unstable" and m == 2 * h:
                    continue  # 1/2 |P|^2 only pulls in
                x = characteristic_direction(net, layers, T, negative=kind == "stable")
                if x is not None:
                    rays[kind].append((f"T={T}", x, m))
    if (neg and not rays["unstable"]) or (pos and not rays["stable"]):
        # hyperbolic rays where no characteristic ray carries the hyperbolic directions along
        w, Q = np.linalg.eigh(net.hessian(layers))
        if neg and not rays["unstable"]:
            rays["unstable"].append(("hessian", Q[:, 0], 2))
        if pos and not rays["stable"]:
            rays["stable"].append(("hessian", Q[:, -1], 2))
    out = {}
    report = {}
    L_star = 0.5 * float(np.sum(np.sort(net.sigma)[::-1][net.rank:] ** 2))
    for kind in ("unstable", "stable"):
        report[kind] = []
        best = -1
        for name, x, m in rays[kind]:
            d, sv, gap = measure_set_dimension(net, layers, x, kind, order=m)
            report[kind].append((name, d, sv, gap))
            if gap:  # a ray whose stretches fall in the ambiguous band measures nothing
                best = max(best, d)
        if not rays[kind] and kind == "unstable" and abs(loss - L_star) <= tol * max(1.0, L_star):
            best = 0
        out[kind] = best
    return out["unstable"], out["stable"], report
