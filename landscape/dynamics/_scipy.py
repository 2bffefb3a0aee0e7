"""Adaptors that run ``scipy.integrate.solve_ivp`` methods on the flow, one run at a time.

Each trajectory of a batch is its own ``solve_ivp`` call, so it has its own step sizes,
its own events (located by scipy on its dense output) and its own status: a batch
equals its runs integrated one by one. Implicit methods (``Radau``, ``BDF``, ``LSODA``)
get the exact Jacobian ``-H``. These are the reference methods (``DOP853`` at tight
tolerances is the slow reference of the engine's tests); the batched and compiled
methods are the fast ones.
"""

from __future__ import annotations

import time

import numpy as np

from ._solvers import Status

__all__ = ["SCIPY_METHODS", "integrate_scipy"]

SCIPY_METHODS = ("RK45", "DOP853", "RK23", "LSODA", "Radau", "BDF")
_IMPLICIT = ("LSODA", "Radau", "BDF")


def _one(problem, method, y0, t_eval, *, rtol, atol, first_step, max_step, events, deadline):
    from scipy.integrate import solve_ivp

    n = y0.size

    def fun(t, y):
        return problem.field(y.reshape(1, n))[0][0]

    kwargs = {}
    if method in _IMPLICIT:
        kwargs["jac"] = lambda t, y: -problem.hessian(y.reshape(1, n))[0]
    if first_step is not None:
        kwargs["first_step"] = first_step

    def wrap(ev):
        def g(t, y):
            Y = y.reshape(1, n)
            F, L = problem.field(Y)
            return float(ev.value(Y, F, L)[0])

        g.terminal = True
        return g

    if events:  # an event already at or below zero fires at the start (as for every method)
        F0, L0 = problem.field(y0.reshape(1, n))
        g0 = np.array([ev.value(y0.reshape(1, n), F0, L0)[0] for ev in events])
        if np.any(g0 <= 0.0):
            out = np.full((len(t_eval), n), np.nan)
            out[0] = y0
            return out, y0.copy(), float(t_eval[0]), Status.EVENT, int(np.argmin(g0)), float(t_eval[0]), None
    fns = [wrap(ev) for ev in events]
    if deadline is not None:
        # The wall clock is not a function of t, so scipy's root finder cannot locate it: the
        # budget latches the time t* at which the deadline is first seen and is t* - t after.
        latch = []

        def budget(t, y):
            if not latch:
                if time.perf_counter() < deadline:
                    return 1.0
                latch.append(t)
            return latch[0] - t

        budget.terminal = True
        fns.append(budget)
    # An explicit trial step too long for a high-degree field can overflow; scipy's controller
    # rejects a non-finite error estimate and shortens the step, so the warning is noise. A
    # non-finite accepted state is reported as a failure below.
    with np.errstate(over="ignore", invalid="ignore"):
        sol = solve_ivp(fun, (float(t_eval[0]), float(t_eval[-1])), y0, method=method, t_eval=t_eval, rtol=rtol,
                        atol=atol, max_step=max_step, events=fns or None, **kwargs)
    T = len(t_eval)
    out = np.full((T, n), np.nan)
    k = sol.y.shape[1]
    out[:k] = sol.y.T
    fired = [i for i, te in enumerate(sol.t_events or []) if te.size]
    which, t_event = -1, np.nan
    if sol.status == 1 and fired:
        i = fired[0]
        y_final, t_final = sol.y_events[i][0], float(sol.t_events[i][0])
        if deadline is not None and i == len(fns) - 1:
            status = Status.BUDGET
        else:
            status, which, t_event = Status.EVENT, i, t_final
    else:
        y_final, t_final = sol.y[:, -1], float(sol.t[-1])
        status = Status.SUCCESS if sol.status == 0 and np.all(np.isfinite(y_final)) else Status.FAILED
        if sol.status == 0 and status == Status.FAILED:
            sol.message = "the state became non-finite (the flow diverged)"
    return out, y_final, t_final, status, which, t_event, sol


def integrate_scipy(problem, method, Y0, t_eval, *, rtol, atol, first_step=None, max_step=np.inf,
                    events=(), max_wall_time=None, progress=None):
    """Same contract as :func:`landscape.dynamics._solvers.integrate`."""
    from tqdm.auto import tqdm

    B, n = Y0.shape
    start = time.perf_counter()
    deadline = None if max_wall_time is None else start + max_wall_time
    res = {"Y": np.full((B, len(t_eval), n), np.nan), "Y_final": Y0.copy(), "t_final": np.full(B, float(t_eval[0])),
           "status": np.full(B, Status.BUDGET), "event": np.full(B, -1), "t_event": np.full(B, np.nan),
           "n_steps": np.full(B, -1), "n_rejected": np.full(B, -1)}  # scipy does not report step counts
    res["Y"][:, 0] = Y0
    nfev = njev = nlu = 0
    messages = set()
    with tqdm(total=B, disable=progress is False, delay=0 if progress else 2.0, leave=False, unit="run",
              desc=method) as bar:
        for b in range(B):
            if deadline is not None and time.perf_counter() > deadline:
                break
            out, yf, tf, st, which, te, sol = _one(problem, method, Y0[b], t_eval, rtol=rtol, atol=atol,
                                                    first_step=first_step, max_step=max_step, events=events,
                                                    deadline=deadline)
            res["Y"][b], res["Y_final"][b], res["t_final"][b] = out, yf, tf
            res["status"][b], res["event"][b], res["t_event"][b] = st, which, te
            if sol is not None:
                nfev, njev, nlu = nfev + sol.nfev, njev + sol.njev, nlu + sol.nlu
            if st == Status.FAILED:
                messages.add(sol.message)
            bar.update(1)
    res.update({"nfev": nfev, "njev": njev, "nlu": nlu, "wall_time": time.perf_counter() - start, "method": method})
    if messages:
        res["message"] = "; ".join(sorted(messages))
    return res
