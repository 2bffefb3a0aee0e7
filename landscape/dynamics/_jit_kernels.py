"""numba kernels of the compiled Dormand-Prince method (imported only when it is used).

The field is :func:`landscape.core.kernels.flow_field` written out in loops on a flat
state (parameters ``W_1..W_h`` row-major); it is tested against that kernel and the
literal adjacency formula on random shapes (``tests/dynamics/test_engine_laws.py``).
Work arrays: ``F`` holds the prefix products ``F_1..F_h`` one after the other
(``sum_j d_j d_0`` entries); ``G0`` and ``G1`` each hold one back-propagated residual
``G_j`` (``max_j d_j d_0`` entries), read from one and written to the other.
"""

import numpy as np
from numba import njit, prange
from scipy.integrate import RK45

A = np.ascontiguousarray(RK45.A, dtype=np.float64)
Bw = np.ascontiguousarray(RK45.B, dtype=np.float64)
E = np.ascontiguousarray(RK45.E, dtype=np.float64)

# status codes, as landscape.dynamics._solvers.Status
RUNNING, SUCCESS, EVENT, FAILED = 0, 1, 2, 3


@njit(cache=True)
def work_sizes(widths):
    """``(len(F), len(G0))``: the work-array sizes of :func:`field`."""
    nf = 0
    ng = 0
    for j in range(1, widths.shape[0]):
        nf += widths[j] * widths[0]
        ng = max(ng, widths[j] * widths[0])
    return nf, ng


@njit(cache=True)
def field(theta, out, widths, poff, Sigma, F, G0, G1):
    """``out = -grad L(theta)``; returns ``L``."""
    h = widths.shape[0] - 1
    d0 = widths[0]
    for i in range(widths[1] * d0):
        F[i] = theta[i]
    prev = 0
    fo = widths[1] * d0
    for j in range(2, h + 1):  # F_j = W_j F_{j-1}
        dj = widths[j]
        dp = widths[j - 1]
        w = poff[j - 1]
        for r in range(dj):
            for c in range(d0):
                s = 0.0
                for k in range(dp):
                    s += theta[w + r * dp + k] * F[prev + k * d0 + c]
                F[fo + r * d0 + c] = s
        prev = fo
        fo += dj * d0
    dh = widths[h]
    loss = 0.0
    for r in range(dh):  # G_h = R = Sigma - F_h
        for c in range(d0):
            v = Sigma[r, c] - F[prev + r * d0 + c]
            G0[r * d0 + c] = v
            loss += v * v
    Gc = G0
    Gn = G1
    fend = prev  # start of F_h
    for j in range(h, 0, -1):
        dj = widths[j]
        dp = widths[j - 1]
        w = poff[j - 1]
        if j == 1:  # -dL/dW_1 = G_1
            for i in range(dj * dp):
                out[w + i] = Gc[i]
        else:
            fstart = fend - dp * d0  # F_{j-1}
            for r in range(dj):  # -dL/dW_j = G_j F_{j-1}^T
                for c in range(dp):
                    s = 0.0
                    for k in range(d0):
                        s += Gc[r * d0 + k] * F[fstart + c * d0 + k]
                    out[w + r * dp + c] = s
            for r in range(dp):  # G_{j-1} = W_j^T G_j, into the other buffer
                for c in range(d0):
                    s = 0.0
                    for k in range(dj):
                        s += theta[w + k * dp + r] * Gc[k * d0 + c]
                    Gn[r * d0 + c] = s
            Gc, Gn = Gn, Gc
            fend = fstart
    return 0.5 * loss


@njit(cache=True)
def rms(err, y0, y1, rtol, atol):
    s = 0.0
    n = err.shape[0]
    for i in range(n):
        sc = atol + rtol * max(abs(y0[i]), abs(y1[i]))
        q = err[i] / sc
        s += q * q
    return np.sqrt(s / n)


@njit(cache=True)
def attempt(y, K, dt, ys, ynew, err, widths, poff, Sigma, F, G0, G1):
    """One Dormand-Prince step of size ``dt`` from ``y`` (``K[0] = f(y)``); returns ``L(ynew)``.

    Fills ``K[1..6]`` (``K[6] = f(ynew)``), ``ynew`` and ``err`` (the embedded error).
    Also the continuous extension used to locate events: a step of any ``dt`` up to an
    accepted one is accurate to the tolerance.
    """
    n = y.shape[0]
    for s in range(1, 6):
        for i in range(n):
            acc = 0.0
            for q in range(s):
                acc += A[s, q] * K[q, i]
            ys[i] = y[i] + dt * acc
        field(ys, K[s], widths, poff, Sigma, F, G0, G1)
    for i in range(n):
        acc = 0.0
        for q in range(6):
            acc += Bw[q] * K[q, i]
        ynew[i] = y[i] + dt * acc
    Lnew = field(ynew, K[6], widths, poff, Sigma, F, G0, G1)
    for i in range(n):
        acc = 0.0
        for q in range(7):
            acc += E[q] * K[q, i]
        err[i] = dt * acc
    return Lnew


@njit(cache=True)
def event_value(L, f, loss_below, grad_below):
    """Smallest of the active event functions (an event fires when it reaches <= 0)."""
    g = np.inf
    if loss_below > 0:
        g = min(g, np.log(max(L, 1e-300)) - np.log(loss_below))
    if grad_below > 0:
        s = 0.0
        for i in range(f.shape[0]):
            s += f[i] * f[i]
        g = min(g, np.sqrt(s) - grad_below)
    return g


@njit(cache=True)
def one(theta0, t_eval, widths, poff, Sigma, rtol, atol, loss_below, grad_below, first_step, max_step, max_steps,
        out, yfin, info):
    n = theta0.shape[0]
    nf, ng = work_sizes(widths)
    F = np.empty(nf)
    G0 = np.empty(ng)
    G1 = np.empty(ng)
    K = np.empty((7, n))
    K0old = np.empty(n)
    y = theta0.copy()
    yold = np.empty(n)
    ys = np.empty(n)
    ynew = np.empty(n)
    err = np.empty(n)
    T = t_eval.shape[0]
    t = t_eval[0]
    L = field(y, K[0], widths, poff, Sigma, F, G0, G1)
    nfev = 1
    status = RUNNING
    t_event = np.nan
    g = event_value(L, K[0], loss_below, grad_below)
    if g <= 0.0:
        status = EVENT
        t_event = t
    if first_step > 0:
        dt = first_step
    else:  # Hairer-Norsett-Wanner starting step, as scipy's
        d0 = 0.0
        d1 = 0.0
        for i in range(n):
            sc = atol + rtol * abs(y[i])
            d0 += (y[i] / sc) ** 2
            d1 += (K[0, i] / sc) ** 2
        d0 = np.sqrt(d0 / n)
        d1 = np.sqrt(d1 / n)
        h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
        for i in range(n):
            ys[i] = y[i] + h0 * K[0, i]
        field(ys, K[1], widths, poff, Sigma, F, G0, G1)
        nfev += 1
        d2 = 0.0
        for i in range(n):
            sc = atol + rtol * abs(y[i])
            d2 += ((K[1, i] - K[0, i]) / sc) ** 2
        d2 = np.sqrt(d2 / n) / h0
        m = max(d1, d2)
        h1 = max(1e-6, h0 * 1e-3) if m <= 1e-15 else (0.01 / m) ** 0.2
        dt = min(100 * h0, h1)
    dt = min(dt, max_step)
    k = 1
    if T == 1 and status == RUNNING:
        status = SUCCESS
    err_prev = 1e-4
    n_acc = 0
    n_rej = 0
    beta = 0.04
    alpha = 0.2 - 0.75 * beta
    while status == RUNNING:
        if n_acc + n_rej >= max_steps:
            status = FAILED
            break
        target = t_eval[k]
        remaining = target - t
        lands = dt >= remaining * (1 - 1e-12)
        step = remaining if lands else dt
        Lnew = attempt(y, K, step, ys, ynew, err, widths, poff, Sigma, F, G0, G1)
        nfev += 6
        en = rms(err, y, ynew, rtol, atol)
        finite = np.isfinite(en) and np.isfinite(Lnew)
        if finite and en <= 1.0:
            n_acc += 1
            e = max(en, 1e-10)
            fac = min(5.0, max(0.2, 0.9 * e ** (-alpha) * err_prev ** beta))
            err_prev = max(e, 1e-4)
            new_dt = step * fac
            if lands:
                new_dt = max(new_dt, min(dt, step * 5.0))
            t_old = t
            for i in range(n):
                yold[i] = y[i]
                K0old[i] = K[0, i]
                y[i] = ynew[i]
                K[0, i] = K[6, i]
            g_old = g
            t = target if lands else t + step
            L = Lnew
            dt = min(new_dt, max_step)
            g = event_value(L, K[0], loss_below, grad_below)
            if g <= 0.0:
                # locate the crossing on the step's continuous extension (Illinois)
                a = 0.0
                ga = g_old
                b = step
                gb = g
                side = 0
                for _ in range(100):
                    if b - a <= 1e-15 * max(1.0, abs(t_old) + step):
                        break
                    s = b - gb * (b - a) / (gb - ga)
                    if not (a < s < b):
                        s = 0.5 * (a + b)
                    for i in range(n):
                        K[0, i] = K0old[i]
                    Ls = attempt(yold, K, s, ys, ynew, err, widths, poff, Sigma, F, G0, G1)
                    nfev += 6
                    gs = event_value(Ls, K[6], loss_below, grad_below)
                    if gs <= 0.0:
                        b = s
                        gb = gs
                        if side == -1:
                            ga *= 0.5
                        side = -1
                    else:
                        a = s
                        ga = gs
                        if side == 1:
                            gb *= 0.5
                        side = 1
                    if gs == 0.0:
                        break
                # the run stops at the crossing (the first point with g <= 0)
                for i in range(n):
                    K[0, i] = K0old[i]
                L = attempt(yold, K, b, ys, ynew, err, widths, poff, Sigma, F, G0, G1)
                nfev += 6
                for i in range(n):
                    y[i] = ynew[i]
                t = t_old + b
                t_event = t
                status = EVENT
                if lands and b < step:
                    lands = False
            if lands:
                for i in range(n):
                    out[k, i] = y[i]
                k += 1
                if k >= T and status == RUNNING:
                    status = SUCCESS
        else:
            n_rej += 1
            if finite:
                fac = min(0.5, max(0.1, 0.9 * max(en, 1e-10) ** (-alpha)))
            else:
                fac = 0.25
            dt = step * fac
            if dt < 1e-14 * max(1.0, abs(t)):
                status = FAILED
    for i in range(n):
        yfin[i] = y[i]
    info[0] = status
    info[1] = t
    info[2] = t_event
    info[3] = n_acc
    info[4] = n_rej
    info[5] = nfev


@njit(parallel=True, cache=True)
def batch(theta0, t_eval, widths, poff, Sigma, rtol, atol, loss_below, grad_below, first_step, max_step, max_steps,
          out, yfin, info):
    for b in prange(theta0.shape[0]):
        one(theta0[b], t_eval, widths, poff, Sigma, rtol, atol, loss_below, grad_below, first_step, max_step,
            max_steps, out[b], yfin[b], info[b])


@njit(cache=True)
def field_batch(theta, widths, poff, Sigma, out, loss):
    """The compiled field on rows of ``theta`` (for tests against the numpy kernel)."""
    nf, ng = work_sizes(widths)
    F = np.empty(nf)
    G0 = np.empty(ng)
    G1 = np.empty(ng)
    for b in range(theta.shape[0]):
        loss[b] = field(theta[b], out[b], widths, poff, Sigma, F, G0, G1)
