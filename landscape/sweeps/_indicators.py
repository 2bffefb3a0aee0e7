"""Reduce a batch of trajectories to the summary indicators of a sweep (no dask here)."""

from __future__ import annotations

import numpy as np

from ..core import kernels
from ..dynamics import gradient_flow, itinerary

__all__ = ["run_chunk", "INDICATORS"]

#: indicator name -> its dims beyond the swept ones (long names and units: landscape.io's table)
INDICATORS = {"loss_final": (), "t_final": (), "status": (), "n_plateaus": (), "route": (),
              "escape_times": ("stage",), "conserved_drift": (), "singular_values": ("mode",), "weight_norm": (),
              "balance": (), "sharpness": ()}


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
    k = min(net.widths[0], net.widths[-1])
    quadratic = net.loss_name == "squared"  # itineraries (plateaus, routes, escapes) are the quadratic loss's
    out = {name: [] for name in INDICATORS}
    theta_final = ds["theta_final"].values
    W = net.unflatten(theta_final)
    H = kernels.hessian(W, net.objective)
    sharp = np.linalg.eigvalsh(H)[:, -1]
    P = kernels.prefix_products(W)[-1]
    sv = np.linalg.svd(P, compute_uv=False)
    for b in range(B):
        run = ds.isel(run=b)
        esc = np.full(max_stages, np.nan)
        if quadratic:
            it = itinerary(run, net, distance=plateau_distance, min_dwell=plateau_time)
            saddle = it["saddle"].values
            plateaus = int(np.sum(saddle))  # a run stuck at a saddle at t_end counts too
            exits = it["t_exit"].values[saddle & (it["t_exit"].values < float(run["t_final"]))][:max_stages]
            esc[: exits.size] = exits
            route = str(it.attrs["route"])
        else:  # no critical sets Sigma_S: no plateau count, route or escape times
            plateaus, route = np.nan, "n/a"
        Wb = [w[b] for w in W]
        C = [Wb[i + 1].T @ Wb[i + 1] - Wb[i] @ Wb[i].T for i in range(net.depth - 1)]
        out["loss_final"].append(float(run["loss_final"]))
        out["t_final"].append(float(run["t_final"]))
        out["status"].append(str(run["status"].values))
        out["n_plateaus"].append(plateaus)
        out["route"].append(route)
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
