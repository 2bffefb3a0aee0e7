"""Compiled per-trajectory Dormand-Prince 5(4) for batches (numba), ``method="dopri5-jit"``.

Each trajectory is integrated on its own (its own steps, PI step control as in
Hairer's DOPRI5, exact landing on output times, stopping events) inside one compiled
function that runs the batch in parallel threads. Same arithmetic as the numpy
``dopri5`` method; the point is speed for batches of small networks, where numpy's
per-call overhead dominates. The gradient is the layer-list kernel of
:mod:`landscape.core.kernels` written out in loops.

numba is imported when this method is first used, never by ``import landscape``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["integrate_jit", "available"]

_KERNEL = None


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("numba") is not None


def kernel():
    """``(batch, field_batch)``: the compiled functions (compiled on first use, cached on disk)."""
    global _KERNEL
    if _KERNEL is None:
        from . import _jit_kernels

        _KERNEL = (_jit_kernels.batch, _jit_kernels.field_batch)
    return _KERNEL


#: the events the compiled loop knows (by name); others need a numpy or scipy method
EVENTS = ("loss_below", "gradient_norm_below")


def integrate_jit(problem, method, Y0, t_eval, *, rtol, atol, first_step=None, max_step=np.inf,
                  events=(), max_wall_time=None, progress=None, max_steps=10**7):
    """Same contract as :func:`landscape.dynamics._solvers.integrate`.

    ``first_step`` and ``max_step`` act per trajectory inside the compiled loop; the
    wall-time budget is checked between chunks of trajectories.
    """
    import time

    from tqdm.auto import tqdm

    from ._solvers import Status, event_values

    if problem.Sigma is None:  # never integrate the quadratic field for another loss
        raise ValueError(f"dopri5-jit's compiled field is the quadratic loss 1/2||Sigma - P||^2 only; this network's "
                         f"loss is {problem.net.loss_name!r} (use 'dopri5', which 'auto' picks for it).")
    batch, _ = kernel()
    B, n = Y0.shape
    T = len(t_eval)
    net = problem.net
    widths = np.asarray(net.widths, dtype=np.int64)
    poff = np.concatenate([[0], np.cumsum([a * b for a, b in net.shapes])]).astype(np.int64)
    Sigma = np.ascontiguousarray(problem.Sigma)
    out = np.full((B, T, n), np.nan)
    out[:, 0] = Y0
    yfin = np.empty((B, n))
    info = np.zeros((B, 6))
    start = time.perf_counter()
    thresholds = {"loss_below": -1.0, "gradient_norm_below": -1.0}
    for ev in events:
        if ev.name not in EVENTS:
            raise ValueError(f"dopri5-jit handles the events {list(EVENTS)}; got {ev.name!r} (use 'dopri5').")
        thresholds[ev.name] = ev.params["threshold"]
    lb, gb = thresholds["loss_below"], thresholds["gradient_norm_below"]
    if getattr(problem, "sign", 1) != 1:
        raise ValueError("dopri5-jit integrates the forward flow only (use 'dopri5' for the backward flow).")
    fs = -1.0 if first_step is None else float(first_step)
    ms = float(min(max_step, 1e300))
    chunk = max(1, min(B, 256))
    budget_hit = np.zeros(B, dtype=bool)
    with tqdm(total=B, disable=progress is False, delay=0 if progress else 2.0, leave=False, unit="run",
              desc="dopri5-jit") as bar:
        for lo in range(0, B, chunk):
            hi = min(B, lo + chunk)
            if max_wall_time is not None and time.perf_counter() - start > max_wall_time:
                budget_hit[lo:] = True
                yfin[lo:] = Y0[lo:]
                info[lo:, 1] = t_eval[0]
                info[lo:, 2] = np.nan
                break
            batch(np.ascontiguousarray(Y0[lo:hi]), np.asarray(t_eval, dtype=np.float64), widths, poff, Sigma,
                  float(rtol), float(atol), lb, gb, fs, ms, int(max_steps), out[lo:hi], yfin[lo:hi], info[lo:hi])
            bar.update(hi - lo)
    code = info[:, 0].astype(int)
    which = np.full(B, -1)
    stopped = np.flatnonzero(code == 2)
    if stopped.size:  # which event stopped the run: the smallest value at the end
        F, L = problem.field(yfin[stopped])
        which[stopped] = np.argmin(event_values(events, yfin[stopped], F, L), axis=1)
    status = np.select([budget_hit, code == 1, code == 2], [Status.BUDGET, Status.SUCCESS, Status.EVENT], Status.FAILED)
    problem.nfev += int(info[:, 5].sum())
    return {
        "Y": out, "t_final": info[:, 1].copy(), "Y_final": yfin, "status": status, "t_event": info[:, 2].copy(), "event": which,
        "n_steps": info[:, 3].astype(np.int64), "n_rejected": info[:, 4].astype(np.int64), "nfev": problem.nfev,
        "njev": 0, "wall_time": time.perf_counter() - start, "method": "dopri5-jit",
    }
