"""Stable and unstable sets of a critical point: directions, and samples grown by the flow (spec 5)."""

from __future__ import annotations

import itertools

import numpy as np

from .._validation import check_int, check_positive_float, check_rng
from ..errors import LandscapeValueError
from ._arcs import classify_direction, escape_directions
from ._classify import require_critical

__all__ = ["submanifolds"]


def _trace(net, theta0, sign, t_max, max_radius, center, loss_stop, n_points):
    """Follow ``dtheta/dt = sign * (-grad L)`` from theta0; samples at log-spaced times.

    Forward (sign = +1) stops when the loss falls below ``loss_stop`` or the distance to
    ``center`` exceeds ``max_radius``; backward (sign = -1) at the radius.
    """
    from ..dynamics import FlowProblem, solvers

    events = [solvers.distance_above(center, max_radius)]
    if sign > 0 and loss_stop is not None:
        events.append(solvers.loss_below(loss_stop))
    t_eval = np.concatenate([[0.0], np.geomspace(1e-4, t_max, 40 * n_points)])
    res = solvers.integrate(FlowProblem(net, sign=sign), "DOP853", theta0[None], t_eval, rtol=1e-10, atol=1e-12,
                            events=events, progress=False)
    ok = ~np.isnan(res["Y"][0, :, 0])
    ts, ys = t_eval[ok], res["Y"][0, ok]
    if res["event"][0] >= 0:  # keep the stopping point as the last sample
        ts = np.append(ts, res["t_final"][0])
        ys = np.vstack([ys, res["Y_final"][0]])
    # n_points samples spread evenly in log-distance from the critical point
    dist = np.linalg.norm(ys - center, axis=1)
    levels = np.geomspace(max(dist[0], 1e-300), max(dist.max(), dist[0] * (1 + 1e-12)), n_points)
    picks = np.unique(np.concatenate([[0], np.searchsorted(np.maximum.accumulate(dist), levels[1:-1]), [dist.size - 1]]))
    picks = picks[picks < dist.size]
    Y = np.full((n_points, theta0.size), np.nan)
    T = np.full(n_points, np.nan)
    Y[: picks.size] = ys[picks]
    T[: picks.size] = ts[picks]
    return T, Y


def submanifolds(net, W_star, *, radius=1e-2, max_radius=2.0, t_max=1e4, n_points=60, max_stable=4,
                 max_patterns=16, loss_drop=0.5, tol=1e-8, rng=0):
    """Directions and samples of the stable and unstable sets of a critical point.

    (a) Directions. The Hessian decides where it is not zero: eigenvectors of negative
    eigenvalues are unstable, of positive ones stable. In its null space, where the
    Hessian fails (every h >= 3 saddle), insertion arcs (spec 5.1) through hidden
    directions the network leaves free are classified by the exact leading term of
    ``L(A* + alpha V) - L(A*)`` (:func:`~landscape.stability.escape_directions`, which also
    finds shorter arcs that reuse existing partial paths): over all sign patterns ``s`` of
    ``alpha_i = s_i alpha`` the
    patterns with a negative term seed unstable branches, those with a positive one
    (odd orders: the opposite half-arc) seed stable branches. Estimated dimensions:
    ``unstable = n_negative + (1 if an unstable arc exists)``, ``stable = n_positive +
    (1 if a stable arc exists)``, ``centre`` the rest (estimates: the arcs show the sets
    exist beyond second order, not their exact dimension).

    (b) Samples. From ``W* + radius * d`` for each seed direction d, unstable branches
    follow the flow forward until the loss has dropped by ``loss_drop`` times the gap to
    the next lower critical value (or ``max_radius``), stable branches follow it
    backward (time-reversed) to ``max_radius``. Near a non-strict saddle the flow
    starts very slowly (escape time ~ radius^(2-h)), hence the long default ``t_max``; the
    ``n_points`` samples of a branch are spread evenly in log-distance from ``W*``.

    For scalar networks the result reproduces spec 5.5: at the origin ``W^u`` is the set
    of balanced points with ``prod w_i >= 0``, ``W^s`` those with ``prod w_i <= 0``.

    Parameters
    ----------
    net : LinearNetwork
    W_star : list of ndarray or ndarray of shape (n_v, n_v)
        A critical point (refused with its gradient norm otherwise). Dense Hessian: at
        most 2,500 parameters.
    radius, max_radius, t_max : float
        Seed distance, stopping distance, longest integration time.
    n_points : int, default=60
        Samples per branch (log-spaced in time).
    max_stable : int, default=4
        Stable Hessian eigenvectors used as seeds (the largest eigenvalues, both signs).
    max_patterns : int, default=16
        Sign patterns of insertion arcs tried per unlearnt mode.
    loss_drop : float in (0, 1), default=0.5
    tol : float in (0, 1), default=1e-8
    rng : None, int or numpy.random.Generator

    Returns
    -------
    xarray.Dataset
        Kind ``"submanifolds"``, dims ``branch``, ``sample``, ``param``: ``theta`` (branch,
        sample, param), ``time``, ``loss`` (branch, sample), ``branch_kind``
        (``"stable"``/``"unstable"``), ``source`` (``"hessian"``/``"insertion_arc"``),
        ``seed`` (branch, param); scalars ``unstable_dimension``, ``stable_dimension``,
        ``centre_dimension``.
    """
    import xarray as xr

    from ..critical._points import _common_attrs
    from ..critical._subsets import critical_value, label
    from ..io._schema import annotate, param_coords

    radius = check_positive_float(radius, name="radius")
    max_radius = check_positive_float(max_radius, name="max_radius")
    t_max = check_positive_float(t_max, name="t_max")
    n_points = check_int(n_points, name="n_points", minimum=3)
    loss_drop = check_positive_float(loss_drop, name="loss_drop", upper=1.0)
    tol = check_positive_float(tol, name="tol", upper=1.0)
    rng = check_rng(rng)
    layers = net.layers(W_star, name="W_star")
    q = require_critical(net, layers, tol=tol, name="W_star")
    if net.n_params > 2500:
        raise LandscapeValueError(f"submanifolds uses the dense Hessian: at most 2500 parameters; got {net.n_params}.")
    lam, Q = np.linalg.eigh(net.hessian(layers))
    band = tol * max(1.0, float(np.abs(lam).max()))
    neg = np.flatnonzero(lam < -band)
    pos = np.flatnonzero(lam > band)[::-1][:max_stable]
    seeds = []  # (direction (flat), kind, source)
    for i in neg:
        seeds += [(Q[:, i], "unstable", "hessian"), (-Q[:, i], "unstable", "hessian")]
    for i in pos:
        seeds += [(Q[:, i], "stable", "hessian"), (-Q[:, i], "stable", "hessian")]
    has_unstable_arc = has_stable_arc = False
    S = q.S or ()
    h = net.depth
    patterns = list(itertools.product((1.0, -1.0), repeat=h))
    if len(patterns) > max_patterns:
        patterns = [patterns[i] for i in rng.choice(len(patterns), max_patterns, replace=False)]
    for a, b, E in escape_directions(net, layers):
        for s in patterns:
            V = [si * e for si, e in zip(s, E)]
            if any(not np.any(v) and si < 0 for v, si in zip(E, s)):
                continue  # the sign of an unused layer makes no new direction
            res = classify_direction(net, layers, V)
            if res["order"] <= 2:
                continue  # decided by the Hessian already
            d = net.flatten(V)
            d /= np.linalg.norm(d)
            if res["positive"] == "unstable":
                seeds.append((d, "unstable", "insertion_arc"))
                has_unstable_arc = True
            elif res["positive"] == "stable":
                seeds.append((d, "stable", "insertion_arc"))
                has_stable_arc = True
    center = net.flatten(layers)
    # the next lower critical value bounds how far an unstable branch is followed
    lower = [critical_value(net, T) for T in _lower_subsets(net, S)]
    L0 = q.loss
    target = L0 - loss_drop * (L0 - max(lower)) if lower else None
    nb = len(seeds)
    theta = np.full((nb, n_points, net.n_params), np.nan)
    times = np.full((nb, n_points), np.nan)
    for b, (d, kind, _) in enumerate(seeds):
        sign = 1.0 if kind == "unstable" else -1.0
        T, Y = _trace(net, center + radius * d, sign, t_max, max_radius, center, target, n_points)
        theta[b], times[b] = Y, T
    loss = np.full((nb, n_points), np.nan)
    ok = ~np.isnan(theta[..., 0])
    if ok.any():
        from ..core import kernels

        loss[ok] = kernels.loss(net.unflatten(theta[ok]), net.Sigma)
    n_unstable = neg.size + int(has_unstable_arc)
    n_stable = int(np.sum(lam > band)) + int(has_stable_arc)
    ds = xr.Dataset(
        {
            "theta": (("branch", "sample", "param"), theta),
            "time": (("branch", "sample"), times),
            "loss": (("branch", "sample"), loss),
            "branch_kind": (("branch",), np.array([s[1] for s in seeds], dtype=str)),
            "source": (("branch",), np.array([s[2] for s in seeds], dtype=str)),
            "seed": (("branch", "param"), np.array([s[0] for s in seeds]).reshape(nb, net.n_params)),
            "hessian_eigenvalues": (("eigen",), lam),
            "unstable_dimension": np.int64(n_unstable),
            "stable_dimension": np.int64(n_stable),
            "centre_dimension": np.int64(net.n_params - n_unstable - n_stable),
            "theta_star": (("param",), center),
        },
        coords={"branch": np.arange(nb), "sample": np.arange(n_points), "param": np.arange(net.n_params),
                **param_coords(net.widths)},
    )
    ds.attrs.update(_common_attrs(net, "submanifolds"))
    ds.attrs.update({"subset": label(S), "critical_value": L0, "radius": radius, "max_radius": max_radius})
    return annotate(ds)


def _lower_subsets(net, S):
    """Subsets one insertion away from S (learn one more unlearnt mode, within |S| <= r)."""
    if len(S) >= net.rank:
        return []
    return [tuple(sorted(S + (k,))) for k in range(1, net.sigma.size + 1) if net.sigma[k - 1] > 0 and k not in S]
