"""Adaptors that run ``scipy.integrate.solve_ivp`` methods on the flow, batch stacked.

A batch of ``B`` trajectories is one system of ``B * n`` equations (one ``solve_ivp``
call, never a loop): the step size is shared and the error norm is the RMS over all
trajectories, which is looser per trajectory than the batched methods' per-trajectory
control; prefer those for large batches. Implicit methods (``Radau``, ``BDF``, ``LSODA``)
get the exact Jacobian ``-H`` (block diagonal, sparse for ``B > 1``).
"""

from __future__ import annotations

import time

import numpy as np

from ._solvers import Status

__all__ = ["SCIPY_METHODS", "integrate_scipy"]

SCIPY_METHODS = ("RK45", "DOP853", "RK23", "LSODA", "Radau", "BDF")
_IMPLICIT = ("LSODA", "Radau", "BDF")


def integrate_scipy(problem, method, Y0, t_eval, *, rtol, atol, first_step=None, max_step=np.inf,
                    loss_below=None, gradient_norm_below=None, max_wall_time=None, progress=None):
    """Same contract as :func:`landscape.dynamics._solvers.integrate`."""
    from scipy import sparse
    from scipy.integrate import solve_ivp

    B, n = Y0.shape
    T = len(t_eval)
    start = time.perf_counter()

    def fun(t, y):
        return problem.field(y.reshape(B, n))[0].reshape(-1)

    kwargs = {}
    if method in _IMPLICIT:
        def jac(t, y):
            H = problem.hessian(y.reshape(B, n))
            return -H[0] if B == 1 else sparse.block_diag(-H, format="csc")

        kwargs["jac"] = jac
    events = []
    if loss_below is not None:
        thr = np.log(float(loss_below))

        def loss_event(t, y):
            return float(np.log(np.max(problem.field(y.reshape(B, n))[1]))) - thr

        loss_event.terminal = True
        events.append(loss_event)
    if gradient_norm_below is not None:
        def grad_event(t, y):
            F = problem.field(y.reshape(B, n))[0]
            return float(np.sqrt(np.max(np.sum(F * F, axis=1)))) - float(gradient_norm_below)

        grad_event.terminal = True
        events.append(grad_event)
    if max_wall_time is not None:
        def budget(t, y):
            return max_wall_time - (time.perf_counter() - start)

        budget.terminal = True
        events.append(budget)
    if first_step is not None:
        kwargs["first_step"] = first_step
    sol = solve_ivp(fun, (float(t_eval[0]), float(t_eval[-1])), Y0.reshape(-1), method=method, t_eval=t_eval,
                    rtol=rtol, atol=atol, max_step=max_step, events=events or None, **kwargs)
    out = np.full((B, T, n), np.nan)
    k = sol.y.shape[1]
    out[:, :k] = sol.y.reshape(B, n, k).transpose(0, 2, 1)
    if sol.status == 0:
        status = Status.SUCCESS
    elif sol.status == 1:
        status = Status.BUDGET if (max_wall_time is not None and sol.t_events[-1].size) else Status.EVENT
    else:
        status = Status.FAILED
    t_event = np.nan
    if sol.status == 1:
        fired = [te for te in sol.t_events if te.size]
        t_event = float(fired[0][0]) if fired else np.nan
        if status == Status.BUDGET:
            t_event = np.nan
    Y_final = sol.y[:, -1].reshape(B, n) if sol.status != 1 else sol.y_events[[i for i, te in enumerate(sol.t_events) if te.size][0]][0].reshape(B, n)
    t_final = float(sol.t[-1]) if sol.status != 1 else float([te for te in sol.t_events if te.size][0][0])
    return {
        "Y": out, "t_final": np.full(B, t_final), "Y_final": Y_final, "status": np.full(B, status),
        "t_event": np.full(B, t_event), "n_steps": np.full(B, -1), "n_rejected": np.full(B, -1),  # scipy does not report them
        "nfev": sol.nfev, "njev": sol.njev, "nlu": sol.nlu, "wall_time": time.perf_counter() - start,
        "method": method, "message": sol.message,
    }
