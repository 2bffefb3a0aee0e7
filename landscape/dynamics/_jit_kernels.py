"""numba kernels of the compiled Dormand-Prince method (imported only when it is used)."""

import numpy as np
from numba import njit, prange
from scipy.integrate import RK45

A = np.ascontiguousarray(RK45.A, dtype=np.float64)
Bw = np.ascontiguousarray(RK45.B, dtype=np.float64)
E = np.ascontiguousarray(RK45.E, dtype=np.float64)

@njit(cache=True, fastmath=False)
def field(theta, out, widths, poff, Sigma, F, G):
    """out = -grad L(theta); returns L. F, G: work (sum_j d_j d_0) each."""
    h = widths.shape[0] - 1
    d0 = widths[0]
    # prefix products F_j (d_j x d_0), stored one after the other in F; F_1 = W_1
    d1 = widths[1]
    for i in range(d1 * d0):
        F[i] = theta[i]
    prev = 0
    fo = d1 * d0
    for j in range(2, h + 1):
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
    # R = Sigma - F_h, G_h = R
    dh = widths[h]
    loss = 0.0
    for r in range(dh):
        for c in range(d0):
            v = Sigma[r, c] - F[prev + r * d0 + c]
            G[r * d0 + c] = v
            loss += v * v
    # walk back: at layer j, G holds G_j (d_j x d_0) at gcur; F_{j-1} at fprev
    gcur = 0
    gnext = dh * d0
    fend = prev  # start of F_h
    for j in range(h, 0, -1):
        dj = widths[j]
        dp = widths[j - 1]
        w = poff[j - 1]
        if j == 1:
            # out_1 = G_1 (d_1 x d_0)
            for i in range(dj * dp):
                out[w + i] = G[gcur + i]
        else:
            fstart = fend - dp * d0  # F_{j-1}
            for r in range(dj):
                for c in range(dp):
                    s = 0.0
                    for k in range(d0):
                        s += G[gcur + r * d0 + k] * F[fstart + c * d0 + k]
                    out[w + r * dp + c] = s
            # G_{j-1} = W_j^T G_j  (d_{j-1} x d_0)
            for r in range(dp):
                for c in range(d0):
                    s = 0.0
                    for k in range(dj):
                        s += theta[w + k * dp + r] * G[gcur + k * d0 + c]
                    G[gnext + r * d0 + c] = s
            gcur, gnext = gnext, gcur
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
def one(theta0, t_eval, widths, poff, Sigma, rtol, atol, loss_below, grad_below, max_steps, out, yfin, info):
    n = theta0.shape[0]
    nw = 0
    for j in range(1, widths.shape[0]):
        nw += widths[j] * widths[0]
    F = np.empty(nw)
    G = np.empty(2 * nw)
    K = np.empty((7, n))
    y = theta0.copy()
    ys = np.empty(n)
    ynew = np.empty(n)
    err = np.empty(n)
    T = t_eval.shape[0]
    t = t_eval[0]
    L = field(y, K[0], widths, poff, Sigma, F, G)
    nfev = 1
    # status: 1 success, 2 event, 3 failed
    status = 0
    t_event = np.nan
    g2 = 0.0
    for i in range(n):
        g2 += K[0, i] * K[0, i]
    if (loss_below > 0 and L <= loss_below) or (grad_below > 0 and np.sqrt(g2) <= grad_below):
        status = 2
        t_event = t
    # initial step (Hairer-Norsett-Wanner)
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
    field(ys, K[1], widths, poff, Sigma, F, G)
    nfev += 1
    d2 = 0.0
    for i in range(n):
        sc = atol + rtol * abs(y[i])
        d2 += ((K[1, i] - K[0, i]) / sc) ** 2
    d2 = np.sqrt(d2 / n) / h0
    m = max(d1, d2)
    h1 = max(1e-6, h0 * 1e-3) if m <= 1e-15 else (0.01 / m) ** 0.2
    dt = min(100 * h0, h1)
    k = 1
    if T == 1 and status == 0:
        status = 1
    err_prev = 1e-4
    n_acc = 0
    n_rej = 0
    beta = 0.04
    alpha = 0.2 - 0.75 * beta
    while status == 0:
        if n_acc + n_rej >= max_steps:
            status = 3
            break
        target = t_eval[k]
        remaining = target - t
        lands = dt >= remaining * (1 - 1e-12)
        step = remaining if lands else dt
        for s in range(1, 6):
            for i in range(n):
                acc = 0.0
                for q in range(s):
                    acc += A[s, q] * K[q, i]
                ys[i] = y[i] + step * acc
            field(ys, K[s], widths, poff, Sigma, F, G)
        for i in range(n):
            acc = 0.0
            for q in range(6):
                acc += Bw[q] * K[q, i]
            ynew[i] = y[i] + step * acc
        Lnew = field(ynew, K[6], widths, poff, Sigma, F, G)
        nfev += 6
        for i in range(n):
            acc = 0.0
            for q in range(7):
                acc += E[q] * K[q, i]
            err[i] = step * acc
        en = rms(err, y, ynew, rtol, atol)
        finite = np.isfinite(en) and np.isfinite(Lnew)
        if finite and en <= 1.0:
            n_acc += 1
            e = max(en, 1e-10)
            fac = 0.9 * e ** (-alpha) * err_prev ** beta
            fac = min(5.0, max(0.2, fac))
            err_prev = max(e, 1e-4)
            new_dt = step * fac
            if lands:
                new_dt = max(new_dt, min(dt, step * 5.0))
            t_old = t
            L_old = L
            t = target if lands else t + step
            for i in range(n):
                y[i] = ynew[i]
                K[0, i] = K[6, i]
            L = Lnew
            dt = new_dt
            if lands:
                for i in range(n):
                    out[k, i] = y[i]
                k += 1
                if k >= T:
                    status = 1
            if loss_below > 0 and L <= loss_below:
                frac = (np.log(L_old) - np.log(loss_below)) / (np.log(L_old) - np.log(max(L, 1e-300)))
                if not np.isfinite(frac):
                    frac = 1.0
                frac = min(1.0, max(0.0, frac))
                t_event = t_old + frac * (t - t_old)
                status = 2
            elif grad_below > 0:
                g2 = 0.0
                for i in range(n):
                    g2 += K[0, i] * K[0, i]
                if np.sqrt(g2) <= grad_below:
                    t_event = t
                    status = 2
        else:
            n_rej += 1
            if finite:
                fac = min(0.5, max(0.1, 0.9 * max(en, 1e-10) ** (-alpha)))
            else:
                fac = 0.25
            dt = step * fac
            if dt < 1e-14 * max(1.0, abs(t)):
                status = 3
    for i in range(n):
        yfin[i] = y[i]
    info[0] = status
    info[1] = t
    info[2] = t_event
    info[3] = n_acc
    info[4] = n_rej
    info[5] = nfev

@njit(parallel=True, cache=True)
def batch(theta0, t_eval, widths, poff, Sigma, rtol, atol, loss_below, grad_below, max_steps, out, yfin, info):
    for b in prange(theta0.shape[0]):
        one(theta0[b], t_eval, widths, poff, Sigma, rtol, atol, loss_below, grad_below, max_steps, out[b], yfin[b], info[b])



