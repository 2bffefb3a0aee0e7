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
    """``(batch, field)``: the compiled functions (compiled on first use, cached on disk)."""
    global _KERNEL
    if _KERNEL is None:
        from . import _jit_kernels

        _KERNEL = (_jit_kernels.batch, _jit_kernels.field)
    return _KERNEL


def integrate_jit(problem, method, Y0, t_eval, *, rtol, atol, first_step=None, max_step=np.inf,
                  loss_below=None, gradient_norm_below=None, max_wall_time=None, progress=None, max_steps=10**7):
    """Same contract as :func:`landscape.dynamics._solvers.integrate` (``first_step``,
    ``max_step`` and ``max_wall_time`` are handled between chunks of trajectories)."""
    import time

    from tqdm.auto import tqdm

    from ._solvers import Status

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
    lb = -1.0 if loss_below is None else float(loss_below)
    gb = -1.0 if gradient_norm_below is None else float(gradient_norm_below)
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
                  float(rtol), float(atol), lb, gb, int(max_steps), out[lo:hi], yfin[lo:hi], info[lo:hi])
            bar.update(hi - lo)
    code = info[:, 0].astype(int)
    status = np.select([budget_hit, code == 1, code == 2], [Status.BUDGET, Status.SUCCESS, Status.EVENT], Status.FAILED)
    problem.nfev += int(info[:, 5].sum())
    return {
        "Y": out, "t_final": info[:, 1].copy(), "Y_final": yfin, "status": status, "t_event": info[:, 2].copy(),
        "n_steps": info[:, 3].astype(np.int64), "n_rejected": info[:, 4].astype(np.int64), "nfev": problem.nfev,
        "njev": 0, "wall_time": time.perf_counter() - start, "method": "dopri5-jit",
    }
