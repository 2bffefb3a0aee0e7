"""Reduce a batch of trajectories to the summary indicators of a sweep (no dask here)."""

from __future__ import annotations

import numpy as np

from ..core import kernels
from ..dynamics import gradient_flow, itinerary

__all__ = ["run_chunk", "INDICATORS"]

#: indicator name -> (dims beyond the swept ones, long name)
INDICATORS = {
    "loss_final": ((), "loss at the end"),
    "t_final": ((), "time at which the run ended (loss below the threshold, or t_end)"),
    "status": ((), "integrator status"),
    "n_plateaus": ((), "saddles visited with a plateau (near Sigma_S for at least plateau_time, also at t_end)"),
    "route": ((), "itinerary: learnt subsets visited"),
    "escape_times": (("stage",), "times the trajectory left each visited subset"),
    "conserved_drift": ((), "max_t ||C_i(t) - C_i(0)||_F / max_i ||W_i||_F^2"),
    "singular_values": (("mode",), "singular values of the final end-to-end matrix"),
    "weight_norm": ((), "sqrt(sum_i ||W_i||_F^2) at the end"),
    "balance": ((), "max_i ||C_i||_F at the end (delta-balance)"),
    "sharpness": ((), "largest Hessian eigenvalue at the end"),
}


def _init(net, kind, scale, seeds):
    from .. import init

    layers = []
    for s in seeds:
        fn = getattr(init, kind)
        layers.append(fn(net, scale, rng=int(s)))
    return [np.stack(m) for m in zip(*layers)]


def run_chunk(net, kind, scale, seeds, t_end, method, rtol, atol, loss_below, n_points, plateau_time, plateau_distance,
              max_stages):
    """Integrate the runs of one (network, init, scale) cell and reduce them to indicators.

    Returns a dict of numpy arrays with a leading ``seed`` axis.
    """
    W0 = _init(net, kind, scale, seeds)
    ds = gradient_flow(net, W0, t_end, method=method, rtol=rtol, atol=atol, times="log", n_points=n_points,
                       t_min=min(1e-3, t_end * 1e-4), loss_below=loss_below, progress=False)
    B = len(seeds)
    k = net.sigma.size
    L_star = 0.5 * float(np.sum(np.sort(net.sigma)[::-1][net.rank:] ** 2))
    out = {name: [] for name in INDICATORS}
    theta_final = ds["theta_final"].values
    W = net.unflatten(theta_final)
    H = kernels.hessian(W, net.Sigma)
    sharp = np.linalg.eigvalsh(H)[:, -1]
    P = kernels.prefix_products(W)[-1]
    sv = np.linalg.svd(P, compute_uv=False)
    for b in range(B):
        run = ds.isel(run=b)
        it = itinerary(run, net)
        dwell = it["t_exit"].values - it["t_enter"].values
        near = it["min_distance"].values <= plateau_distance
        saddle = it["plateau_loss"].values > L_star + 1e-9 * (1.0 + L_star)  # a run stuck at t_end counts too
        plateaus = int(np.sum((dwell >= plateau_time) & near & saddle))
        esc = np.full(max_stages, np.nan)
        exits = it["t_exit"].values[:-1][:max_stages]
        esc[: exits.size] = exits
        Wb = [w[b] for w in W]
        C = [Wb[i + 1].T @ Wb[i + 1] - Wb[i] @ Wb[i].T for i in range(net.depth - 1)]
        out["loss_final"].append(float(run["loss_final"]))
        out["t_final"].append(float(run["t_final"]))
        out["status"].append(str(run["status"].values))
        out["n_plateaus"].append(plateaus)
        out["route"].append(str(it.attrs["route"]))
        out["escape_times"].append(esc)
        drift = np.nanmax(run["conserved_drift"].values, initial=0.0) / float(run["conserved_scale"])
        out["conserved_drift"].append(float(drift))
        svb = np.full(k, np.nan)
        svb[: min(k, sv.shape[1])] = sv[b, :k]
        out["singular_values"].append(svb)
        out["weight_norm"].append(float(np.sqrt(sum(np.sum(w * w) for w in Wb))))
        out["balance"].append(max((float(np.linalg.norm(c)) for c in C), default=0.0))
        out["sharpness"].append(float(sharp[b]))
    return {name: np.asarray(v) for name, v in out.items()}
