"""Batched one-step integrators with a step size per trajectory, and their driver.

The driver (:func:`integrate`) does the bookkeeping once for every method: output
times hit exactly (steps are shortened to land on them, so no interpolation error),
per-trajectory error control in the RMS norm of ``err / (atol + rtol max(|y0|, |y1|))``
(the norm of ``scipy.integrate.solve_ivp``), per-trajectory stopping events, a wall-time
budget, work counters and a progress bar. A method implements only ``attempt``.

Methods
-------
``gauss``
    2-stage Gauss-Legendre collocation (order 4), stage equations solved by simplified
    Newton with the exact Hessian to round-off. Gauss methods conserve every quadratic
    first integral, so the ``C_i`` are kept to round-off. Error by step doubling.
``rosw``
    ROS34PW2 (Rang & Angermann 2005), an L-stable Rosenbrock-W method of order 3 (W:
    the order holds for any Jacobian approximation). The Jacobian is the exact Hessian
    (eigendecomposed once, so every step size reuses it) up to 600 parameters, above
    that its Gauss-Newton part ``J_P^T J_P`` (exact at global minima, where the flow is
    stiff) with linear systems solved on the ``d_h d_0`` side by the Woodbury identity.
``dopri5``
    Explicit Dormand-Prince 5(4), the coefficients of ``scipy.integrate.RK45``.

The compiled ``dopri5-jit`` (same method, one trajectory per thread) lives in
:mod:`landscape.dynamics._jit`.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["integrate", "BATCHED_METHODS", "Status", "Event", "loss_below", "gradient_norm_below", "distance_above"]

PI_BETA = 0.04


class Status:
    RUNNING = 0
    SUCCESS = 1  # reached t_end
    EVENT = 2  # a terminal event fired
    FAILED = 3  # step size underflow or non-finite state
    BUDGET = 4  # wall-time budget exhausted
    DIVERGED = 5  # gradient descent: non-finite or overflowing weights
    names = {0: "running", 1: "success", 2: "event", 3: "failed", 4: "time_budget", 5: "diverged"}


def rms_error(err, y0, y1, rtol, atol):
    scale = atol + rtol * np.maximum(np.abs(y0), np.abs(y1))
    return np.sqrt(np.mean((err / scale) ** 2, axis=-1))


# ---------------------------------------------------------------------------- methods
class _Method:
    name = ""
    order = 1  # order of the error estimate's leading term minus one
    needs_hessian = False

    def __init__(self, problem, rtol, atol):
        self.problem = problem
        self.rtol = rtol
        self.atol = atol

    def initial_cache(self, Y):
        F, L = self.problem.field(Y)
        return {"F": F, "L": L}


class DormandPrince(_Method):
    """Explicit Dormand-Prince 5(4) with first-same-as-last; stages kept in one array."""

    name = "dopri5"
    order = 4

    def __init__(self, problem, rtol, atol):
        super().__init__(problem, rtol, atol)
        from scipy.integrate import RK45

        self.A, self.Bw, self.E = np.asarray(RK45.A), np.asarray(RK45.B), np.asarray(RK45.E)

    @staticmethod
    def _combine(coef, K):
        """``sum_j coef[j] K[j]`` by axpy (a (1, s) @ (s, N) product runs as a slow gemv: 20x on 192k states)."""
        out = coef[0] * K[0]
        for j in range(1, coef.size):
            if coef[j] != 0.0:
                out += coef[j] * K[j]
        return out

    def attempt(self, Y, cache, dt):
        B, n = Y.shape
        K = np.empty((7, B * n))
        K[0] = cache["F"].reshape(-1)
        K3 = K.reshape(7, B, n)
        dtc = dt[:, None]
        for s in range(1, 6):
            Ys = self._combine(self.A[s, :s], K[:s]).reshape(B, n)
            Ys *= dtc
            Ys += Y
            self.problem.field(Ys, out=K3[s])
        Ynew = self._combine(self.Bw, K[:6]).reshape(B, n)
        Ynew *= dtc
        Ynew += Y
        Fnew, Lnew = self.problem.field(Ynew, out=K3[6])
        err = self._combine(self.E, K).reshape(B, n)
        err *= dtc
        return Ynew, rms_error(err, Y, Ynew, self.rtol, self.atol), {"F": Fnew.copy(), "L": Lnew}


class RosenbrockW(_Method):
    """ROS34PW2, with the exact Hessian (small networks) or its Gauss-Newton part.

    Being a W-method, it keeps its order with any Jacobian approximation, so the factor
    is kept for up to ``jacobian_age`` accepted steps and refreshed after a rejection.
    """

    name = "rosw"
    order = 2
    jacobian_age = 30
    gamma = 4.3586652150845900e-01
    A = np.array([[0, 0, 0, 0], [8.7173304301691801e-01, 0, 0, 0],
                  [8.4457060015369423e-01, -1.1299064236397981e-01, 0, 0], [0, 0, 1, 0]], dtype=float)
    G = np.array([[0, 0, 0, 0], [-8.7173304301691801e-01, 0, 0, 0],
                  [-9.0338057013044082e-01, 5.4180672388095326e-02, 0, 0],
                  [2.4212380706095346e-01, -1.2232505839045147e00, 5.4526025533510214e-01, 0]], dtype=float)
    b = np.array([2.4212380706095346e-01, -1.2232505839045147e00, 1.5452602553351023e00, 4.3586652150845900e-01])
    bhat = np.array([3.7810903145819369e-01, -9.6042292212423178e-02, 5.0e-01, 2.1793326075422950e-01])

    def initial_cache(self, Y):
        cache = super().initial_cache(Y)
        cache.update(self.factor(Y))
        return cache

    #: above this many parameters the Gauss-Newton factor replaces the exact Hessian
    exact_limit = 600

    def factor(self, Y):
        """Jacobian factor at ``Y``, independent of the step size.

        Exact (``n <= exact_limit``): the eigenpairs ``H = Q diag(lam) Q^T``, so that
        ``(I + c H)^{-1} = Q diag(1 / (1 + c lam)) Q^T`` for every ``c``. Otherwise the
        Gauss-Newton part ``J_P^T J_P`` with the eigenpairs of its small Gram matrix.
        """
        n = Y.shape[1]
        if n <= self.exact_limit:
            lam, Q = np.linalg.eigh(self.problem.hessian(Y))
            return {"Q": Q, "lam": lam, "age": np.zeros(Y.shape[0], dtype=int)}
        JP = self.problem.jacobian_P(Y)  # (B, m, n)
        m = JP.shape[-2]
        small = JP @ np.swapaxes(JP, -1, -2) if m <= n else np.swapaxes(JP, -1, -2) @ JP
        s2, U = np.linalg.eigh(small)
        return {"JP": JP, "U": U, "s2": np.maximum(s2, 0.0), "age": np.zeros(Y.shape[0], dtype=int)}

    @staticmethod
    def _mv(M, x):
        return (M @ x[..., None])[..., 0]

    def _solve(self, c, fac, x):
        """``(I - c J)^{-1} x`` with ``J`` the field's (approximate) Jacobian, per batch entry."""
        if "Q" in fac:
            Q = fac["Q"]
            z = self._mv(np.swapaxes(Q, -1, -2), x) / (1.0 + c[:, None] * fac["lam"])
            return self._mv(Q, z)
        JP, U, s2 = fac["JP"], fac["U"], fac["s2"]
        UT = np.swapaxes(U, -1, -2)
        if JP.shape[-2] <= JP.shape[-1]:  # Woodbury: (I + c J^T J)^{-1} = I - c J^T (I + c J J^T)^{-1} J
            z = self._mv(UT, self._mv(JP, x)) * (c[:, None] / (1.0 + c[:, None] * s2))
            return x - self._mv(np.swapaxes(JP, -1, -2), self._mv(U, z))
        return self._mv(U, self._mv(UT, x) / (1.0 + c[:, None] * s2))

    def _jac(self, fac, v):
        """``J v`` with the same Jacobian as :meth:`_solve` (a W-method needs one matrix)."""
        if "Q" in fac:
            Q = fac["Q"]
            return -self._mv(Q, fac["lam"] * self._mv(np.swapaxes(Q, -1, -2), v))
        JP = fac["JP"]
        return -self._mv(np.swapaxes(JP, -1, -2), self._mv(JP, v))

    def attempt(self, Y, cache, dt):
        dtc = dt[:, None]
        c = self.gamma * dt
        K = []
        for i in range(4):
            if i == 0:
                F = cache["F"]
            else:
                F = self.problem.field(Y + sum(self.A[i, j] * K[j] for j in range(i) if self.A[i, j] != 0.0))[0]
            rhs = dtc * F
            if i > 0:
                rhs += dtc * self._jac(cache, sum(self.G[i, j] * K[j] for j in range(i)))
            K.append(self._solve(c, cache, rhs))
        Ynew = Y + sum(bi * k for bi, k in zip(self.b, K))
        err = sum((bi - bh) * k for bi, bh, k in zip(self.b, self.bhat, K))
        errn = rms_error(err, Y, Ynew, self.rtol, self.atol)
        Fnew, Lnew = self.problem.field(Ynew)
        new = {"F": Fnew, "L": Lnew, "age": cache["age"] + 1}
        return Ynew, errn, new

    def after(self, Y, cache, accepted):
        """Refresh the Jacobian where it is old or the step was rejected."""
        stale = np.flatnonzero(~accepted | (cache["age"] >= self.jacobian_age))
        if stale.size:
            _put(cache, stale, self.factor(Y[stale]))


class GaussLegendre(_Method):
    """2-stage Gauss-Legendre collocation; simplified Newton on the exact Hessian."""

    name = "gauss"
    order = 4
    needs_hessian = True
    r3 = np.sqrt(3.0)
    Acoef = np.array([[0.25, 0.25 - r3 / 6], [0.25 + r3 / 6, 0.25]])
    bcoef = np.array([0.5, 0.5])
    max_newton = 60

    def __init__(self, problem, rtol, atol):
        super().__init__(problem, rtol, atol)
        self.n_newton = 0

    def initial_cache(self, Y):
        cache = super().initial_cache(Y)
        cache["H"] = self.problem.hessian(Y)
        return cache

    def _gauss_step(self, Y, F0, H, dt):
        """One Gauss step of size ``dt`` (per entry); returns the new state and a convergence flag."""
        B, n = Y.shape
        A = self.Acoef
        # Newton matrix for Z = (Z_1, Z_2): I - dt (A kron J), J = -H
        M = np.eye(2 * n)[None] + dt[:, None, None] * np.einsum("ij,bpq->bipjq", A, H).reshape(B, 2 * n, 2 * n)
        Minv = np.linalg.inv(M)
        Z = np.stack([dt[:, None] * A[0].sum() * F0, dt[:, None] * A[1].sum() * F0], axis=1)  # explicit guess
        scale = np.abs(Y).max(axis=1) + 1e-300
        converged = np.zeros(B, dtype=bool)
        prev = np.full(B, np.inf)
        for _ in range(self.max_newton):
            Fz = self.problem.field((Y[:, None, :] + Z).reshape(2 * B, n))[0].reshape(B, 2, n)
            resid = -Z + dt[:, None, None] * np.einsum("ij,bjn->bin", A, Fz)
            dZ = np.einsum("bij,bj->bi", Minv, resid.reshape(B, 2 * n)).reshape(B, 2, n)
            Z = Z + dZ
            self.n_newton += 1
            size = np.abs(dZ).max(axis=(1, 2)) / scale
            converged = size <= 4 * np.finfo(float).eps
            # stop when converged or when round-off stagnates
            if np.all(converged | (size >= prev)):
                converged |= size < 1e-13
                break
            prev = np.where(converged, 0.0, size)
        Fz = self.problem.field((Y[:, None, :] + Z).reshape(2 * B, n))[0].reshape(B, 2, n)
        Ynew = Y + dt[:, None] * np.einsum("j,bjn->bn", self.bcoef, Fz)
        return Ynew, converged

    def attempt(self, Y, cache, dt):
        H = cache["H"]
        y_big, ok1 = self._gauss_step(Y, cache["F"], H, dt)
        half = 0.5 * dt
        y_mid, ok2 = self._gauss_step(Y, cache["F"], H, half)
        F_mid, _ = self.problem.field(y_mid)
        y_two, ok3 = self._gauss_step(y_mid, F_mid, self.problem.hessian(y_mid), half)
        err = (y_two - y_big) / 15.0
        errn = rms_error(err, Y, y_two, self.rtol, self.atol)
        errn = np.where(ok1 & ok2 & ok3, errn, np.inf)
        Fnew, Lnew = self.problem.field(y_two)
        return y_two, errn, {"F": Fnew, "L": Lnew, "H": self.problem.hessian(y_two)}


BATCHED_METHODS = {m.name: m for m in (GaussLegendre, RosenbrockW, DormandPrince)}


# ---------------------------------------------------------------------------- driver
def _take(cache, idx):
    return {k: (v[idx] if isinstance(v, np.ndarray) else v) for k, v in cache.items()}


def _put(cache, idx, new):
    for k, v in new.items():
        cache[k][idx] = v


def initial_step(problem, Y, F, order, rtol, atol):
    """Hairer-Norsett-Wanner starting step (as scipy's), per trajectory."""
    scale = atol + rtol * np.abs(Y)
    d0 = np.sqrt(np.mean((Y / scale) ** 2, axis=1))
    d1 = np.sqrt(np.mean((F / scale) ** 2, axis=1))
    h0 = np.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / np.maximum(d1, 1e-300))
    Y1 = Y + h0[:, None] * F
    F1, _ = problem.field(Y1)
    d2 = np.sqrt(np.mean(((F1 - F) / scale) ** 2, axis=1)) / h0
    m = np.maximum(d1, d2)
    h1 = np.where(m <= 1e-15, np.maximum(1e-6, h0 * 1e-3), (0.01 / np.maximum(m, 1e-300)) ** (1.0 / (order + 1)))
    return np.minimum(100 * h0, h1)


class Event:
    """A terminal event: a run stops where ``value(Y, F, L)`` first reaches ``<= 0``.

    ``value`` maps states ``Y`` (B, n), fields ``F`` (B, n) and losses ``L`` (B,) to
    (B,) values. Every method locates the crossing to its own tolerance: the batched
    methods by root finding on the step's continuous extension (a step of any size up
    to an accepted one is as accurate as the accepted one), scipy's by its dense
    output; the run then ends at the crossing (``t_final = t_event``).
    """

    def __init__(self, name, value, **params):
        self.name = name
        self.value = value
        self.params = params

    def __repr__(self):
        return f"Event({self.name!r}, {self.params})"


def loss_below(threshold):
    """Stop when the loss falls to ``threshold`` (located on ``log L``, smooth on plateaus)."""
    log_thr = np.log(float(threshold))
    return Event("loss_below", lambda Y, F, L: np.log(np.maximum(L, 1e-300)) - log_thr, threshold=float(threshold))


def gradient_norm_below(threshold):
    """Stop when ``||grad L||_F`` falls to ``threshold``."""
    thr = float(threshold)
    return Event("gradient_norm_below", lambda Y, F, L: np.sqrt(np.sum(F * F, axis=-1)) - thr, threshold=thr)


def distance_above(center, radius):
    """Stop when ``||theta - center||`` reaches ``radius``."""
    c = np.asarray(center, dtype=np.float64)
    r = float(radius)
    return Event("distance_above", lambda Y, F, L: r - np.sqrt(np.sum((Y - c) ** 2, axis=-1)), radius=r)


def event_values(events, Y, F, L):
    """``(B, n_events)`` values of the events (``+inf`` columns when there are none)."""
    if not events:
        return np.full((Y.shape[0], 1), np.inf)
    return np.stack([ev.value(Y, F, L) for ev in events], axis=-1)


def _locate(solver, Y, cache, dt, g_old, g_new, events, max_iter=100):
    """Illinois root finding of the first event crossing inside accepted steps.

    ``Y``/``cache`` are the states at the steps' starts, ``dt`` their accepted sizes,
    ``g_old > 0 >= g_new`` the combined (min over events) values at both ends. Returns
    the crossing offsets ``s`` in ``(0, dt]`` and the states and caches there.
    """
    a = np.zeros_like(dt)
    b = dt.copy()
    ga, gb = g_old.copy(), g_new.copy()
    side = np.zeros(dt.shape, dtype=int)
    for _ in range(max_iter):
        live = (b - a) > 1e-15 * np.maximum(1.0, dt)
        if not live.any():
            break
        with np.errstate(invalid="ignore", divide="ignore"):
            s = b - gb * (b - a) / (gb - ga)
        s = np.where((s > a) & (s < b), s, 0.5 * (a + b))
        s = np.where(live, s, b)
        Ys, _, cs = solver.attempt(Y, cache, s)
        gs = event_values(events, Ys, cs["F"], cs["L"]).min(axis=1)
        left = live & (gs <= 0.0)  # the crossing is at or before s
        right = live & (gs > 0.0)
        ga = np.where(left & (side == -1), 0.5 * ga, ga)
        gb = np.where(right & (side == 1), 0.5 * gb, gb)
        b, gb = np.where(left, s, b), np.where(left, gs, gb)
        a, ga = np.where(right, s, a), np.where(right, gs, ga)
        side = np.where(left, -1, np.where(right, 1, side))
    Yb, _, cb = solver.attempt(Y, cache, b)
    return b, Yb, cb


def integrate(problem, method, Y0, t_eval, *, rtol, atol, first_step=None, max_step=np.inf,
              events=(), max_wall_time=None, progress=None):
    """Integrate a batch of trajectories; see the module docstring.

    Returns a dict with ``Y`` (B, T, n) (NaN after a trajectory stopped), ``t_final``,
    ``Y_final``, ``status`` (B,), ``t_event`` (B,), ``event`` (B,) (index into
    ``events`` of the event that stopped the run, -1 if none), ``n_steps``,
    ``n_rejected`` (B,), and totals ``nfev``, ``njev``, ``wall_time``.
    """
    from tqdm.auto import tqdm

    B, n = Y0.shape
    T = len(t_eval)
    t0 = float(t_eval[0])
    t_end = float(t_eval[-1])
    events = list(events)
    solver = method(problem, rtol, atol)
    start = time.perf_counter()
    out = np.full((B, T, n), np.nan)
    out[:, 0] = Y0
    status = np.zeros(B, dtype=int)
    t_event = np.full(B, np.nan)
    which = np.full(B, -1)
    n_steps = np.zeros(B, dtype=int)
    n_rej = np.zeros(B, dtype=int)
    Y_final = Y0.copy()
    t_final = np.full(B, t0)

    # the working set: trajectories still running, compacted when some stop
    ids = np.arange(B)
    Yw = Y0.copy()
    tw = np.full(B, t0)
    kw = np.ones(B, dtype=int)
    cw = solver.initial_cache(Yw)
    dtw = (initial_step(problem, Yw, cw["F"], solver.order, rtol, atol) if first_step is None
           else np.full(B, float(first_step)))
    dtw = np.minimum(dtw, max_step)
    sw = np.where(kw >= T, Status.SUCCESS, Status.RUNNING)
    err_prev = np.full(B, 1e-4)
    gw = event_values(events, Yw, cw["F"], cw["L"])
    at_start = gw.min(axis=1) <= 0.0
    sw[at_start] = Status.EVENT
    t_event[at_start] = t0
    which[at_start] = np.argmin(gw[at_start], axis=1)
    gw = gw.min(axis=1)

    bar = tqdm(total=t_end - t0, disable=progress is False, delay=0 if progress else 2.0,
               unit="t", leave=False, desc=f"{solver.name} x{B}")
    shown = 0.0
    try:
        while True:
            done = sw != Status.RUNNING
            if done.any():  # retire finished trajectories from the working set
                g = ids[done]
                status[g], Y_final[g], t_final[g] = sw[done], Yw[done], tw[done]
                keep = ~done
                ids, Yw, tw, kw, dtw, sw, gw = ids[keep], Yw[keep], tw[keep], kw[keep], dtw[keep], sw[keep], gw[keep]
                err_prev = err_prev[keep]
                cw = _take(cw, keep)
            if ids.size == 0:
                break
            if max_wall_time is not None and time.perf_counter() - start > max_wall_time:
                sw[:] = Status.BUDGET
                continue
            target = t_eval[kw]
            remaining = target - tw
            lands = dtw >= remaining * (1 - 1e-12)
            dti = np.where(lands, remaining, dtw)
            Ynew, errn, c_new = solver.attempt(Yw, cw, dti)
            finite = np.all(np.isfinite(Ynew), axis=1) & np.isfinite(errn)
            acc = finite & (errn <= 1.0)
            order = c_new.get("order", solver.order)
            # PI step-size control (Gustafsson; beta = 0.04 as in Hairer's DOPRI5): damps the
            # accept/reject cycles of an explicit method at its stability boundary
            e = np.where(finite & (errn > 1e-10), errn, 1e-10)
            alpha = 1.0 / (order + 1.0) - 0.75 * PI_BETA
            with np.errstate(divide="ignore", over="ignore"):
                fac = 0.9 * e ** (-alpha) * err_prev ** PI_BETA
            fac = np.where(acc, np.clip(fac, 0.2, 5.0), np.clip(np.where(finite, fac, 0.25), 0.1, 0.5))
            err_prev = np.where(acc, np.maximum(e, 1e-4), err_prev)
            new_dt = dti * fac
            # a step shortened to land on an output time must not shrink the next one
            new_dt = np.where(acc & lands, np.maximum(new_dt, np.minimum(dtw, dti * 5.0)), new_dt)
            n_rej[ids[~acc]] += 1
            n_steps[ids[acc]] += 1
            # events: where the combined value crosses zero in an accepted step, locate the
            # crossing and end the step there
            with np.errstate(invalid="ignore", over="ignore"):
                g_all = event_values(events, Ynew, c_new["F"], c_new["L"])
            g_new = g_all.min(axis=1)
            hit = np.flatnonzero(acc & (g_new <= 0.0))
            step_len = dti.copy()
            if hit.size:
                s, Ys, cs = _locate(solver, Yw[hit], _take(cw, hit), dti[hit], gw[hit], g_new[hit], events)
                Ynew[hit], step_len[hit] = Ys, s
                for key, val in cs.items():
                    if key in c_new:
                        c_new[key][hit] = val
                g_hit = event_values(events, Ys, cs["F"], cs["L"])
                which[ids[hit]] = np.argmin(g_hit, axis=1)
                gw_hit = g_hit.min(axis=1)
                g_new[hit] = gw_hit
                lands[hit] &= s >= dti[hit]
            dtw = np.minimum(new_dt, max_step)
            tw = np.where(acc, np.where(lands, target, tw + step_len), tw)
            Yw[acc] = Ynew[acc]
            gw = np.where(acc, g_new, gw)
            for key, val in c_new.items():
                if key in cw:
                    cw[key][acc] = val[acc]
                else:
                    cw[key] = val
            if hasattr(solver, "after"):
                solver.after(Yw, cw, acc)
            landed = np.flatnonzero(acc & lands)
            out[ids[landed], kw[landed]] = Yw[landed]
            kw[landed] += 1
            sw[landed[kw[landed] >= T]] = Status.SUCCESS
            sw[hit] = Status.EVENT
            t_event[ids[hit]] = tw[hit]
            sw[(sw == Status.RUNNING) & (dtw < 1e-14 * np.maximum(1.0, np.abs(tw)))] = Status.FAILED
            progress_t = float(tw.min()) - t0
            if progress_t - shown > 1e-3 * (t_end - t0):
                bar.update(progress_t - shown)
                shown = progress_t
    finally:
        bar.close()
    return {
        "Y": out, "t_final": t_final, "Y_final": Y_final, "status": status, "t_event": t_event, "event": which,
        "n_steps": n_steps, "n_rejected": n_rej, "nfev": problem.nfev, "njev": problem.njev,
        "wall_time": time.perf_counter() - start, "method": solver.name,
    }
