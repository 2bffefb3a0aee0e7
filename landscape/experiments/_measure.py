"""Per-chunk measurements of the studies (numpy and the solver registry; no dask).

Each function integrates one batch of runs (one network, one initialisation, one
scale, a block of seeds) and reduces it to arrays with a leading ``seed`` axis. They
run inside dask workers; :mod:`landscape.experiments._studies` assembles the results.
"""

from __future__ import annotations

import numpy as np

from ..core import LinearNetwork, kernels

__all__ = ["initial_batch", "escape_times", "sequential_runs", "final_states", "network_for"]

#: initialisations the studies accept: name -> function of (net, scale, seed) in landscape.init
STUDY_INITS = ("balanced", "gaussian", "orthogonal", "aligned")


def network_for(depth, sigma, width=None):
    """The square network of a study: widths ``(n,) * (h + 1)`` with ``n = len(sigma)`` (or ``width``)."""
    n = len(sigma) if width is None else int(width)
    return LinearNetwork([n] * (int(depth) + 1), [float(s) for s in sigma])


def initial_batch(net, kind, scale, seeds):
    """Stacked initial weights ``W_i`` of shape ``(B, d_i, d_{i-1})`` for each seed.

    ``aligned`` is the deterministic aligned balanced start ``w_i = scale`` on every mode
    (spec 6.1; its modes follow the closed forms exactly); the others are
    :mod:`landscape.init` with ``rng=seed``.
    """
    from .. import init

    layers = []
    for s in seeds:
        if kind == "aligned":
            layers.append(init.aligned(net, [float(scale)] * net.rank))
        else:
            layers.append(getattr(init, kind)(net, float(scale), rng=int(s)))
    return [np.stack(m) for m in zip(*layers)]


def _top_singular_value(net, Y):
    """Largest singular value of ``P`` for rows of ``Y`` (NaN for rows that are not finite)."""
    ok = np.all(np.isfinite(Y), axis=-1)
    Yc = np.where(ok[..., None], Y, 0.0)
    W = [Yc[..., sl].reshape(Yc.shape[:-1] + shape) for sl, shape in _slices(net)]
    with np.errstate(over="ignore", invalid="ignore"):
        P = kernels.end_to_end(W)
    ok &= np.all(np.isfinite(P), axis=(-2, -1))
    P = np.where(ok[..., None, None], P, 0.0)
    return np.where(ok, np.linalg.norm(P, ord=2, axis=(-2, -1)), np.nan)


def _slices(net):
    starts = np.concatenate([[0], np.cumsum([a * b for a, b in net.shapes])])
    return [(slice(int(starts[i]), int(starts[i + 1])), shape) for i, shape in enumerate(net.shapes)]


def escape_times(net, W0, t_end, *, level=None, n_points=160, rtol=1e-10, atol=None, method="auto"):
    """First time the largest singular value of ``P = W_h ... W_1`` reaches ``level`` (default ``sigma_1 / 2``).

    Two passes. (1) The batch is integrated (``method``, default the compiled dopri5)
    on ``n_points`` log-spaced times up to ``t_end``; each run stops once its loss falls
    below ``L_{} - 0.45 sigma_1^2`` (just past the escape of the strongest mode), or, when
    several modes were learnt together and that did not cross, below
    ``0.99 (sigma_1 - level)^2 / 2``, which forces ``sigma_max(P) >= level``. The first stored time where the
    top singular value is at least ``level`` brackets the crossing. (2) From the last
    stored state before it, the batched numpy dopri5 runs with a terminal event on
    ``level - sigma_max(P)``, located on the step's continuous extension to the
    tolerance: the escape time is exact to ``~rtol``, not to the output grid.

    Parameters
    ----------
    net : LinearNetwork
    W0 : list of ndarray of shape (B, d_i, d_{i-1})
    t_end : float
        Budget of flow time; a run that has not escaped by then gets NaN.
    level : float, optional
    n_points : int, default=160
    rtol : float, default=1e-10
    atol : float, optional
        Default ``1e-3 * rtol * min_i max |W_i(0)|`` (the weights start tiny).

    Returns
    -------
    dict
        ``escape_time`` (B,), ``status`` (B,) of str: ``escaped``, ``not_escaped`` or
        ``started_above``.
    """
    from ..dynamics import FlowProblem, solvers
    from ..dynamics._solvers import Event

    s1 = float(np.max(net.sigma))
    level = 0.5 * s1 if level is None else float(level)
    theta0 = np.concatenate([w.reshape(w.shape[0], -1) for w in W0], axis=1)
    B = theta0.shape[0]
    if atol is None:
        size = min(float(np.max(np.abs(w))) for w in W0)
        atol = 1e-3 * rtol * max(size, 1e-300)
    t_min = min(1e-3, t_end * 1e-6)
    t_eval = np.concatenate([[0.0], np.geomspace(t_min, t_end, n_points - 1)])
    # Runs must stop soon after escaping: once the strongest mode is learnt the flow is stiff (rate ~h s^{2-2/h})
    # while the next plateau lasts ~T, so an explicit method would need ~T steps more. First stop: the loss falls
    # below L_{} - 0.45 sigma_1^2 (the strongest mode alone at p ~ 0.68 sigma_1, past the escape when the other modes
    # are still small). Runs that stopped there without crossing (several modes learnt together: large scales)
    # continue to the second stop, 0.99 (sigma_1 - level)^2 / 2, below which sigma_max(P) >= sigma_1 - ||Sigma - P||_2
    # >= level is certain.
    L_star = 0.5 * float(np.sum(np.sort(net.sigma)[::-1][net.rank:] ** 2))
    L_empty = 0.5 * float(np.sum(net.sigma**2))
    stops = [x for x in (L_empty - 0.45 * s1 * s1, 0.99 * 0.5 * (s1 - level) ** 2) if x > L_star and level <= s1]
    problem = FlowProblem(net)
    res = solvers.integrate(problem, method, theta0, t_eval, rtol=rtol, atol=atol,
                            events=[solvers.loss_below(stops[0])] if stops else [], progress=False)
    Y = res["Y"]  # (B, T, n), NaN after a run stopped
    times = np.broadcast_to(t_eval, (B, t_eval.size))
    # the end state counts as the last sample (runs stopped by the event end between output times)
    Y = np.concatenate([Y, res["Y_final"][:, None]], axis=1)
    times = np.concatenate([times, res["t_final"][:, None]], axis=1)
    top = _top_singular_value(net, Y)
    top[np.isnan(top)] = -np.inf
    above = top >= level
    again = np.flatnonzero(~above.any(axis=1) & (res["status"] == solvers.Status.EVENT))
    if again.size and len(stops) > 1:
        t0 = res["t_final"][again]
        # one more sample per run: the state at the second stop, on a time axis shifted to each run's own start
        more = solvers.integrate(problem, method, res["Y_final"][again], np.array([0.0, t_end]), rtol=rtol, atol=atol,
                                 events=[solvers.loss_below(stops[1])], progress=False)
        extra_Y = np.full((B, 1, Y.shape[2]), np.nan)
        extra_t = np.full((B, 1), np.nan)
        extra_Y[again, 0] = more["Y_final"]
        extra_t[again, 0] = t0 + more["t_final"]
        Y = np.concatenate([Y, extra_Y], axis=1)
        times = np.concatenate([times, extra_t], axis=1)
        top = _top_singular_value(net, Y)
        top[np.isnan(top)] = -np.inf
        above = top >= level
    status = np.full(B, "not_escaped", dtype=object)
    out = np.full(B, np.nan)
    first = np.where(above.any(axis=1), above.argmax(axis=1), -1)
    status[first == 0] = "started_above"
    todo = np.flatnonzero(first > 0)
    if todo.size:
        valid = np.isfinite(Y[todo, :, 0]) & (np.arange(Y.shape[1]) < first[todo][:, None])
        a = Y.shape[1] - 1 - np.argmax(valid[:, ::-1], axis=1)  # the last stored state before the crossing
        start = Y[todo, a]
        t0 = times[todo, a]
        span = times[todo, first[todo]] - t0
        ev = Event("escape", lambda Yb, F, L: level - _top_singular_value(net, Yb), level=level)
        horizon = float(np.max(span)) * 1.05
        res2 = solvers.integrate(FlowProblem(net), "dopri5", start, np.array([0.0, horizon]), rtol=rtol, atol=atol,
                                 events=[ev], progress=False)
        hit = np.isfinite(res2["t_event"])
        out[todo[hit]] = t0[hit] + res2["t_event"][hit]
        status[todo[hit]] = "escaped"
    return {"escape_time": out, "status": status.astype(str)}


def intermediate_subsets(net):
    """The labels ``{1}, {1,2}, ..., {1..r-1}`` of the intermediate saddles of sequential learning."""
    r = min(net.rank, int(np.sum(net.sigma > 0)))
    return ["{" + ",".join(str(j) for j in range(1, k + 1)) + "}" for k in range(1, r)]


def sequential_runs(net, W0, t_end, *, n_points=400, rtol=1e-8, atol=1e-12, method="auto"):
    """Integrate a batch and decide, per run, whether it learns sequentially.

    A run is **sequential** when its itinerary (:func:`landscape.itinerary` with its
    documented defaults) visits every intermediate saddle ``{1}, {1,2}, ..., {1..r-1}``.

    Returns
    -------
    dict
        ``sequential`` (B,) bool, ``route`` (B,) str, ``complete`` (B,) bool (the run
        ended at the global minimum, so its route is whole), ``loss_final`` (B,).
    """
    from ..dynamics import gradient_flow, itinerary

    t_min = min(1e-3, t_end * 1e-6)
    ds = gradient_flow(net, W0, t_end, method=method, rtol=rtol, atol=atol, times="log", n_points=n_points,
                       t_min=t_min, loss_below=1e-10, progress=False)
    need = intermediate_subsets(net)
    B = W0[0].shape[0]
    seq, route, complete, loss = [], [], [], []
    for b in range(B):
        it = itinerary(ds, net, run=b)
        visited = set(it["subset"].values.astype(str).tolist())
        seq.append(all(S in visited for S in need))
        route.append(str(it.attrs["route"]))
        loss.append(float(ds["loss_final"].values[b]))
        complete.append(loss[-1] <= 1e-6)
    return {"sequential": np.array(seq, bool), "route": np.array(route, dtype=str),
            "complete": np.array(complete, bool), "loss_final": np.array(loss)}


def final_states(net, W0, t_end, *, loss_tol=1e-10, rtol=1e-8, atol=1e-12, method="auto"):
    """Integrate a batch to ``t_end`` (or until the loss falls below ``loss_tol``) and describe the end.

    Returns
    -------
    dict
        ``loss_final``, ``gradient_norm``, ``t_final`` (B,); ``converged`` (B,) bool (loss
        at most ``loss_tol`` above the global minimum ``L*``); ``subset`` (B,) str, the
        nearest critical set ``S`` of the final ``P`` (:func:`landscape.dynamics.learnt_subsets`);
        ``conserved`` (B, h-1): ``||C_i||_F`` at the end (equal to the start's: conserved).
    """
    from ..dynamics import FlowProblem, learnt_subsets, solvers

    theta0 = np.concatenate([w.reshape(w.shape[0], -1) for w in W0], axis=1)
    L_star = 0.5 * float(np.sum(np.sort(net.sigma)[::-1][net.rank:] ** 2))
    res = solvers.integrate(FlowProblem(net), method, theta0, np.array([0.0, float(t_end)]), rtol=rtol, atol=atol,
                            events=[solvers.loss_below(L_star + loss_tol)] if L_star == 0 else [], progress=False)
    Yf = res["Y_final"]
    F, L = FlowProblem(net).field(Yf)
    W = [Yf[:, sl].reshape((-1,) + shape) for sl, shape in _slices(net)]
    P = kernels.end_to_end(W)
    masks = learnt_subsets(net, P)
    labels = np.array(["{" + ",".join(str(i + 1) for i in np.flatnonzero(m)) + "}" for m in masks], dtype=str)
    C = kernels.conserved_quantities(W)
    conserved = np.stack([np.linalg.norm(c, axis=(-2, -1)) for c in C], axis=-1) if C else np.zeros((len(L), 0))
    return {"loss_final": np.asarray(L, float), "gradient_norm": np.sqrt(np.sum(F * F, axis=-1)),
            "t_final": np.asarray(res["t_final"], float), "converged": np.asarray(L - L_star <= loss_tol * (1 + 1e-9)),
            "subset": labels, "conserved": conserved}
