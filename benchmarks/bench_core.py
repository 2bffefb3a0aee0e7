"""Gradient kernel versus the literal adjacency formula and versus raw matrix products.

For square networks (width n, depth h) this prints: the layer-list gradient time, the
literal adjacency time ``sum_j (A^{h-j})^T (E - A^h) (A^{j-1})^T`` with dense
``n_v x n_v`` products (skipped where it would take over a minute, estimated from the
measured matrix-product rate), their ratio, and the gradient's achieved rate as a
fraction of plain ``numpy`` matrix products of the same total flops (a chain of
distinct matrices, and the same product repeated with cache-hot operands), all measured in
this run, with the BLAS's default threads and again with one BLAS thread (``thr``
column; on a loaded 2-core machine the multi-thread numbers swing: run it idle). Targets:
ratio >= 50 at (128, 4); rate fraction >= 0.85 at (512, 8) (issue "One verified engine").

Run: ``python benchmarks/bench_core.py [--quick]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

import landscape as ls
from landscape.core import literal

CASES = [(32, 4), (128, 4), (512, 8)]
LITERAL_BUDGET_S = 60.0


def best_time(fn, min_total=0.5, max_repeats=50):
    """Best wall time of ``fn()`` over repeats lasting at least ``min_total`` seconds."""
    fn()  # warm up
    times = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < min_total and len(times) < max_repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def gradient_flops(n, h):
    # prefix products F_2..F_h, back-propagation G_{h-1}..G_1, and G_j F_{j-1}^T for j = 2..h
    return 3 * (h - 1) * 2 * n**3


def literal_flops(n, h):
    n_v = n * (h + 1)
    return 3 * h * 2 * n_v**3  # h powers, then two products per term


def measure(n, h, threads):
    """One table row for the square network of width ``n`` and depth ``h``."""
    rng = np.random.default_rng(0)
    net = ls.LinearNetwork([n] * (h + 1), np.linspace(3.0, 0.5, n))
    W = ls.init.gaussian(net, 1.0 / np.sqrt(n), rng=rng)
    t_grad = best_time(lambda: net.gradient(W))
    # baselines: k = 3(h-1) n x n products (the gradient's flops), either a chain over
    # k + 1 distinct matrices (operands come from memory, as in the gradient) or the
    # same product repeated (operands stay in cache: an upper bound on the rate)
    k = 3 * (h - 1)
    Z = rng.standard_normal((k + 1, n, n)) / np.sqrt(n)
    X, Y = Z[0], Z[1]

    def chain():
        P = Z[0]
        for i in range(1, k + 1):
            P = Z[i] @ P

    def repeated():
        for _ in range(k):
            X @ Y

    t_mm = best_time(chain)
    t_hot = best_time(repeated)
    rate = gradient_flops(n, h) / t_grad
    mm_rate = gradient_flops(n, h) / t_mm
    hot_rate = gradient_flops(n, h) / t_hot
    estimate = literal_flops(n, h) / mm_rate
    if estimate < LITERAL_BUDGET_S and threads is None:
        A, E = ls.adjacency(W), net.E
        t_lit = best_time(lambda: literal.literal_gradient(A, E, h), min_total=0.2, max_repeats=5)
        lit = f"{t_lit * 1e3:12.2f}"
        ratio = f"{t_lit / t_grad:9.1f}"
    elif threads is None:
        lit, ratio = f"{'skip (~' + format(estimate, '.0f') + ' s)':>12}", f"{'-':>9}"
    else:
        lit, ratio = f"{'-':>12}", f"{'-':>9}"
    thr = "all" if threads is None else str(threads)
    return (f"{n:5d} {h:3d} {thr:>4} {t_grad * 1e3:12.3f} {lit} {ratio} {rate / 1e9:9.1f} {mm_rate / 1e9:10.1f} "
            f"{rate / mm_rate:9.2f} {hot_rate / 1e9:9.1f} {rate / hot_rate:9.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the two smaller cases")
    args = parser.parse_args(argv)
    rows = []
    for n, h in CASES[:2] if args.quick else CASES:
        for threads in (None, 1):
            with threadpool_limits(threads):
                rows.append(measure(n, h, threads))
    print(f"{'n':>5} {'h':>3} {'thr':>4} {'grad ms':>12} {'literal ms':>12} {'ratio':>9} {'GF/s':>9} {'chain GF/s':>10} {'fraction':>9} {'hot GF/s':>9} {'fraction':>9}")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
