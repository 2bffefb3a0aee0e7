"""Stable and unstable sets of a critical point: directions, and samples grown by the flow (spec 5)."""

from __future__ import annotations

import itertools

import numpy as np

from .._validation import check_int, check_positive_float, check_rng
from ..errors import LandscapeValueError
from ..losses import require_quadratic
from ._arcs import classify_direction, escape_directions
from ._classify import require_critical
from ._dimensions import MEASURE_LIMIT, characteristic_direction, hessian_counts, manifold_dimensions

__all__ = ["submanifolds"]


def _trace(net, theta0, sign, t_max, max_radius, center, loss_stop, n_points, rtol=1e-10):
    """Follow ``dtheta/dt = sign * (-grad L)`` from theta0; samples at log-spaced times.

    Forward (sign = +1) stops when the loss falls below ``loss_stop`` or the distance to
    ``center`` exceeds ``max_radius``; backward (sign = -1) at the radius.
    """
    from ..dynamics import FlowProblem, solvers

    events = [solvers.distance_above(center, max_radius)]
    if sign > 0 and loss_stop is not None:
        events.append(solvers.loss_below(loss_stop))
    # dense sampling grid (40 per wanted sample), bounded to ~1.2 GB of states for large networks
    n_eval = int(np.clip(1.5e8 / theta0.size, 4 * n_points, 40 * n_points))
    t_eval = np.concatenate([[0.0], np.geomspace(1e-4, t_max, n_eval)])
    # first step 1e-4: scipy's guess from the tiny field near W* can be huge, and a trial step of
    # that size overflows the degree-(2h - 1) field of a deep network
    res = solvers.integrate(FlowProblem(net, sign=sign), "DOP853", theta0[None], t_eval, rtol=rtol, atol=rtol * 1e-2,
                            first_step=1e-4,
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
    if picks.size < n_points:  # coarse grid: complete with the unused states, evenly in time
        rest = np.setdiff1d(np.arange(dist.size), picks)
        extra = rest[np.linspace(0, rest.size - 1, min(rest.size, n_points - picks.size)).astype(int)] if rest.size else []
        picks = np.unique(np.concatenate([picks, extra])).astype(int)
    Y = np.full((n_points, theta0.size), np.nan)
    T = np.full(n_points, np.nan)
    Y[: picks.size] = ys[picks]
    T[: picks.size] = ts[picks]
    return T, Y


def _directions(net, layers, n_neg, n_pos, max_unstable, max_stable, dense_limit):
    """Eigenpairs for the seeds: dense ``eigh`` up to ``dense_limit`` parameters, else block Krylov."""
    k_neg, k_pos = min(n_neg, max_unstable), min(n_pos, max_stable)
    if net.n_params <= dense_limit:
        lam, Q = np.linalg.eigh(net.hessian(layers))
        return lam[:k_neg], Q[:, :k_neg], lam[::-1][:k_pos], Q[:, ::-1][:, :k_pos], "dense"
    from ._eigen import extreme_eigenpairs

    out = []
    method = "none"
    for k, which in ((k_neg, "smallest"), (k_pos, "largest")):
        if k == 0:
            out += [np.zeros(0), np.zeros((net.n_params, 0))]
            continue
        ep = extreme_eigenpairs(net, layers, k, which=which)
        method = ep.attrs["method"]
        out += [np.asarray(ep.eigenvalues), np.asarray(ep.vectors)]
    return (*out, method)


def submanifolds(net, W_star, *, radius=1e-2, max_radius=2.0, t_max=1e4, n_points=60, max_stable=4,
                 max_unstable=8, max_patterns=16, max_arcs=None, loss_drop=0.5, sets=("unstable", "stable"),
                 rtol=None, tol=1e-8, rng=0):
    """Directions and samples of the stable and unstable sets of a critical point, at any size.

    (a) Directions. The Hessian decides where it is not zero: eigenvectors of negative
    eigenvalues are unstable, of positive ones stable (dense ``eigh`` up to
    :data:`~landscape.stability.DENSE_LIMIT` parameters; above, the extreme eigenpairs by
    :func:`~landscape.stability.extreme_eigenpairs`: exact blocks at aligned points, block
    Krylov on Hessian-vector products elsewhere; no dense Hessian, no size cap). In its
    null space, where the Hessian fails (every h >= 3 saddle): the characteristic rays
    of :func:`~landscape.stability.characteristic_direction` (all unlearnt modes through
    unused units, both signs: exact invariant rays of the leading homogeneous field at
    the origin and at aligned points) and the insertion arcs of
    :func:`~landscape.stability.escape_directions` (which also finds shorter arcs that
    reuse existing partial paths), classified by the exact leading term of
    ``L(A* + alpha V) - L(A*)`` over sign patterns ``s`` of ``alpha_i = s_i alpha``:
    patterns with a negative term seed unstable branches, those with a positive one
    (odd orders: the opposite half-arc) seed stable branches.

    (b) Samples. From ``W* + radius * d`` for each seed direction d, unstable branches
    follow the flow forward until the loss has dropped by ``loss_drop`` times the gap to
    the next lower critical value (or ``max_radius``), stable branches follow it
    backward (time-reversed) to ``max_radius``. Near a non-strict saddle the flow
    starts very slowly (escape time ~ radius^(2-h)), hence the long default ``t_max``; the
    ``n_points`` samples of a branch are spread evenly in log-distance from ``W*``.
    Every sample keeps the conserved quantities ``C_i`` of its seed (within
    ``O(radius^2)`` of those of ``W*``); unstable samples lie below ``L_S``, stable
    ones above.

    (c) Dimensions: :func:`~landscape.stability.manifold_dimensions` up to 600
    parameters; above, the Hessian counts (structured or block Krylov inertia): exact at
    depth 2 (Morse-Bott), lower bounds elsewhere (``dimension_source = "bounds"``,
    ``critical_dimension = centre_dimension = -1``).

    For scalar networks the result reproduces spec 5.5: at the origin ``W^u`` is the set
    of balanced points with ``prod w_i >= 0``, ``W^s`` those with ``prod w_i <= 0``.

    Parameters
    ----------
    net : LinearNetwork
    W_star : list of ndarray or ndarray of shape (n_v, n_v)
        A critical point (refused with its gradient norm otherwise). Any size.
    radius, max_radius, t_max : float
        Seed distance, stopping distance, longest integration time.
    n_points : int, default=60
        Samples per branch (log-spaced in time).
    max_stable, max_unstable : int, default=4, 8
        Hessian eigenvectors used as stable / unstable seeds (the extreme eigenvalues;
        each gives two branches, ``+v`` and ``-v``).
    max_patterns : int, default=16
        Sign patterns of insertion arcs tried per arc.
    max_arcs : int, optional
        Escape arcs classified (lowest orders first); default all up to 2,500
        parameters, 4 above. 0: no seeds in the Hessian's null space (no arcs, no
        characteristic rays): their escape takes time ~ radius^(2-h).
    loss_drop : float in (0, 1), default=0.5
    sets : sequence of {"unstable", "stable"}, default=("unstable", "stable")
        The sets to sample (directions and dimensions are always reported).
    rtol : float, optional
        Integrator tolerance; default 1e-10 up to 2,500 parameters, 1e-7 above.
    tol : float in (0, 1), default=1e-8
    rng : None, int or numpy.random.Generator

    Returns
    -------
    xarray.Dataset
        Kind ``"submanifolds"``, dims ``branch``, ``sample``, ``param``: ``theta`` (branch,
        sample, param), ``time``, ``loss`` (branch, sample), ``branch_kind``
        (``"stable"``/``"unstable"``), ``source`` (``"hessian"``/``"insertion_arc"``/
        ``"characteristic_ray"``), ``seed`` (branch, param), ``seed_eigenvalues`` (the
        eigenvalues of the Hessian seeds); scalars ``unstable_dimension``,
        ``stable_dimension``, ``critical_dimension``, ``centre_dimension``,
        ``n_negative``, ``n_zero``, ``n_positive``; attrs ``dimension_source``,
        ``eigen_method``.

    Examples
    --------
    >>> import landscape as ls
    >>> net = ls.LinearNetwork([1, 2, 1], 1.0)
    >>> ds = ls.submanifolds(net, ls.representative(net, []), n_points=5)
    >>> int(ds.unstable_dimension), int(ds.stable_dimension), ds.attrs["dimension_source"]
    (2, 2, 'hessian')
    """
    require_quadratic(net, "submanifolds", "its branches start along the mode-insertion/removal/exchange arcs of the quadratic loss's critical points (spec 5)")
    import xarray as xr

    from ..critical._points import _common_attrs
    from ..critical._subsets import critical_value, label
    from ..io._schema import annotate, param_coords

    radius = check_positive_float(radius, name="radius")
    max_radius = check_positive_float(max_radius, name="max_radius")
    t_max = check_positive_float(t_max, name="t_max")
    n_points = check_int(n_points, name="n_points", minimum=3)
    max_stable = check_int(max_stable, name="max_stable", minimum=0)
    max_unstable = check_int(max_unstable, name="max_unstable", minimum=0)
    loss_drop = check_positive_float(loss_drop, name="loss_drop", upper=1.0)
    tol = check_positive_float(tol, name="tol", upper=1.0)
    if isinstance(sets, str):
        sets = (sets,)
    sets = tuple(sets)
    if not sets or any(k not in ("unstable", "stable") for k in sets):
        raise LandscapeValueError(f"sets must name 'unstable' and/or 'stable'; got {sets!r}.")
    rng = check_rng(rng)
    layers = net.layers(W_star, name="W_star")
    q = require_critical(net, layers, tol=tol, name="W_star")
    n = net.n_params
    large = n > 2500
    max_arcs = (4 if large else None) if max_arcs is None else check_int(max_arcs, name="max_arcs", minimum=0)
    rtol = (1e-7 if large else 1e-10) if rtol is None else check_positive_float(rtol, name="rtol", upper=1.0)
    from ._inertia import DENSE_LIMIT

    # (c) dimensions (and the Hessian counts)
    if n <= MEASURE_LIMIT * 3:
        dims = manifold_dimensions(net, layers, tol=tol, rng=rng)
        n_neg, n_zero, n_pos = dims.n_negative, dims.n_zero, dims.n_positive
        u_dim, s_dim, c_dim, centre, dim_source = dims.unstable, dims.stable, dims.critical, dims.centre, dims.source
    else:
        n_neg, n_zero, n_pos, _ = hessian_counts(net, layers, tol)
        mb = net.depth <= 2
        u_dim, s_dim, c_dim = n_neg, n_pos, (n_zero if mb else -1)
        centre = 0 if mb else -1
        dim_source = "hessian" if mb else "bounds"
    # (a) directions
    lam_neg, Q_neg, lam_pos, Q_pos, eigen_method = _directions(net, layers, n_neg, n_pos, max_unstable, max_stable,
                                                               DENSE_LIMIT)
    seeds = []  # (direction (flat), kind, source, eigenvalue)
    for i in range(lam_neg.size):
        seeds += [(Q_neg[:, i], "unstable", "hessian", lam_neg[i]), (-Q_neg[:, i], "unstable", "hessian", lam_neg[i])]
    for i in range(lam_pos.size):
        seeds += [(Q_pos[:, i], "stable", "hessian", lam_pos[i]), (-Q_pos[:, i], "stable", "hessian", lam_pos[i])]
    S = q.S or ()
    h = net.depth
    patterns = list(itertools.product((1.0, -1.0), repeat=h))
    if len(patterns) > max_patterns:
        patterns = [patterns[i] for i in rng.choice(len(patterns), max_patterns, replace=False)]
    for count, (a, b, E) in enumerate(escape_directions(net, layers)):
        if max_arcs is not None and count >= max_arcs:
            break
        for s in patterns:
            V = [si * e for si, e in zip(s, E)]
            if any(not np.any(v) and si < 0 for v, si in zip(E, s)):
                continue  # the sign of an unused layer makes no new direction
            res = classify_direction(net, layers, V)
            if res["order"] <= 2:
                continue  # decided by the Hessian already
            d = net.flatten(V)
            d /= np.linalg.norm(d)
            if res["positive"] in ("unstable", "stable"):
                seeds.append((d, res["positive"], "insertion_arc", np.nan))
    if h >= 3 and max_arcs != 0:
        modes = tuple(k + 1 for k in range(net.sigma.size) if net.sigma[k] > 0 and (k + 1) not in S)
        for size in range(len(modes), 0, -1):  # the most modes that fit through the unused units
            rays = [(characteristic_direction(net, layers, modes[:size], negative=neg), kind)
                    for neg, kind in ((False, "unstable"), (True, "stable"))]
            if all(x is not None for x, _ in rays):
                for x, kind in rays:  # unless an insertion arc seeds the same ray already
                    if not any(k == kind and abs(float(d @ x)) > 1 - 1e-9 for d, k, _, _ in seeds):
                        seeds.append((x, kind, "characteristic_ray", np.nan))
                break
    seeds = [sd for sd in seeds if sd[1] in sets]
    center = net.flatten(layers)
    # the next lower critical value bounds how far an unstable branch is followed
    lower = [critical_value(net, T) for T in _lower_subsets(net, S)]
    L0 = q.loss
    target = L0 - loss_drop * (L0 - max(lower)) if lower else None
    nb = len(seeds)
    theta = np.full((nb, n_points, n), np.nan)
    times = np.full((nb, n_points), np.nan)
    for b, (d, kind, _, _) in enumerate(seeds):
        sign = 1.0 if kind == "unstable" else -1.0
        T, Y = _trace(net, center + radius * d, sign, t_max, max_radius, center, target, n_points, rtol)
        theta[b], times[b] = Y, T
    loss = np.full((nb, n_points), np.nan)
    ok = ~np.isnan(theta[..., 0])
    if ok.any():
        from ..core import kernels

        loss[ok] = kernels.loss(net.unflatten(theta[ok]), net.Sigma)
    ds = xr.Dataset(
        {
            "theta": (("branch", "sample", "param"), theta),
            "time": (("branch", "sample"), times),
            "loss": (("branch", "sample"), loss),
            "branch_kind": (("branch",), np.array([sd[1] for sd in seeds], dtype=str)),
            "source": (("branch",), np.array([sd[2] for sd in seeds], dtype=str)),
            "seed": (("branch", "param"), np.array([sd[0] for sd in seeds]).reshape(nb, n)),
            "seed_eigenvalue": (("branch",), np.array([sd[3] for sd in seeds], dtype=float)),
            "unstable_dimension": np.int64(u_dim),
            "stable_dimension": np.int64(s_dim),
            "critical_dimension": np.int64(c_dim),
            "centre_dimension": np.int64(centre),
            "n_negative": np.int64(n_neg),
            "n_zero": np.int64(n_zero),
            "n_positive": np.int64(n_pos),
            "theta_star": (("param",), center),
        },
        coords={"branch": np.arange(nb), "sample": np.arange(n_points), "param": np.arange(n),
                **param_coords(net.widths)},
    )
    ds.attrs.update(_common_attrs(net, "submanifolds"))
    ds.attrs.update({"subset": label(S), "critical_value": L0, "radius": radius, "max_radius": max_radius,
                     "dimension_source": dim_source, "eigen_method": eigen_method})
    return annotate(ds)


def _lower_subsets(net, S):
    """Subsets one insertion away from S (learn one more unlearnt mode, within |S| <= r)."""
    if len(S) >= net.rank:
        return []
    return [tuple(sorted(S + (k,))) for k in range(1, net.sigma.size + 1) if net.sigma[k - 1] > 0 and k not in S]
