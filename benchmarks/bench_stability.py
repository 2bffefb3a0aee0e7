"""Stability benchmarks (issue "Stability").

(a) The 6 most negative Hessian eigenvalues at the strict saddle of widths [300] * 12,
    sigma = linspace(3, 0.5, 300), where every mode but the largest is learnt (the
    representative A*_S): time, and the error against the closed form of spec 3.5
    (``sigma_m^{1 - 2/h} (sigma_m - sigma_1)`` for learnt m). Target: under 60 s.
(b) The time of one Hessian-vector product relative to one gradient at that point
    (target: at most 3).
(c) For reference, the matrix-free Lanczos path (exact counts, multiplicities included)
    on a gauge-rotated (non-aligned) saddle of widths [20] * 5 against dense ``eigh``.

Run: ``python benchmarks/bench_stability.py``
"""

from __future__ import annotations

import time

import numpy as np

import landscape as ls


def best(fn, repeats=5):
    fn()
    t = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return min(t)


def main():
    sigma = np.linspace(3.0, 0.5, 300)
    widths = [300] * 12
    h = len(widths) - 1
    net = ls.LinearNetwork(widths, sigma)
    W = ls.representative(net, tuple(range(2, 301)))
    t0 = time.perf_counter()
    inertia = ls.hessian_inertia(net, W)
    t_struct = time.perf_counter() - t0
    closed = np.sort(sigma[1:] ** (1 - 2 / h) * (sigma[1:] - sigma[0]))[:6]
    got = inertia.lowest.values[:6]
    print(f"(a) widths [300]*12 (h = {h}, {net.n_params:,} parameters), method = {inertia.attrs['method']}")
    print(f"    6 most negative: {np.array2string(got, precision=6)}")
    print(f"    closed form:     {np.array2string(closed, precision=6)}")
    print(f"    max error {np.abs(got - closed).max():.1e}; n_negative = {int(inertia.n_negative)} (closed form 299); "
          f"time {t_struct:.2f} s (target < 60 s)")
    V = ls.init.gaussian(net, 1.0, rng=0)
    t_grad = best(lambda: net.gradient(W))
    t_hvp = best(lambda: net.hvp(W, V))
    print(f"(b) gradient {t_grad * 1e3:.1f} ms, Hessian-vector product {t_hvp * 1e3:.1f} ms: ratio {t_hvp / t_grad:.2f} "
          f"(target <= 3)")
    small = ls.LinearNetwork([20] * 5, np.linspace(3.0, 0.5, 20))
    rng = np.random.default_rng(1)
    Ws = ls.gauge(small, ls.representative(small, tuple(range(2, 15))),
                  [np.linalg.qr(rng.standard_normal((20, 20)))[0] for _ in range(3)])
    t0 = time.perf_counter()
    lz = ls.hessian_inertia(small, Ws, method="lanczos")
    t_lz = time.perf_counter() - t0
    t0 = time.perf_counter()
    dn = ls.hessian_inertia(small, Ws, method="dense")
    t_dn = time.perf_counter() - t0
    counts = lambda d: tuple(int(d[n]) for n in ("n_negative", "n_zero", "n_positive"))  # noqa: E731
    print(f"(c) widths [20]*5 rotated saddle ({small.n_params} parameters): Lanczos {t_lz:.2f} s {counts(lz)}, "
          f"dense {t_dn:.2f} s {counts(dn)}, lambda_min {float(lz.lambda_min):.6f} vs {float(dn.lambda_min):.6f}")


if __name__ == "__main__":
    main()
