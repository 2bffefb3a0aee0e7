"""Small exact constructions used by several tests (written out by hand from the spec)."""

import numpy as np


def diagonal_critical_point(sigma, S, depth):
    """The canonical critical point ``A*_S`` for equal widths n (spec 4.2): ``W_i = diag(w)``,
    ``w_k = sigma_k^{1/h}`` for ``k in S`` (0-based indices), 0 otherwise."""
    sigma = np.asarray(sigma, dtype=float)
    w = np.array([sigma[k] ** (1.0 / depth) if k in S else 0.0 for k in range(sigma.size)])
    return [np.diag(w) for _ in range(depth)]


def closed_form_spectrum(sigma, S, h):
    """Hessian eigenvalues at ``A*_S`` from the table of spec 3.5 (equal widths, distinct sigma)."""
    s = np.asarray(sigma, dtype=float)
    n = s.size
    ev = []
    for k in range(n):
        if k in S:
            ev += [2 * s[k], 0.0] if h == 2 else [h * s[k] ** (2 - 2 / h)] + [0.0] * (h - 1)
        else:
            ev += [s[k], -s[k]] if h == 2 else [0.0] * h
    for k in range(n):
        for m in range(k + 1, n):
            if k in S and m in S:
                lam = s[k] + s[m] if h == 2 else (s[k] ** 2 - s[m] ** 2) / (s[k] ** (2 / h) - s[m] ** (2 / h))
                ev += [lam, lam] + [0.0] * (2 * h - 2)
            elif k in S or m in S:
                learnt, other = (s[k], s[m]) if k in S else (s[m], s[k])
                f = learnt ** (1 - 2 / h)
                ev += [f * (learnt + other), f * (learnt - other)] + [0.0] * (2 * h - 2)
            else:
                ev += [s[k], -s[k], s[m], -s[m]] if h == 2 else [0.0] * (2 * h)
    return np.sort(ev)
