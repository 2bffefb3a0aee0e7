"""Critical-point enumeration benchmarks (issue "Critical points").

(a) the 1,000 lowest critical values for 60 distinct singular values (best-first search;
    target under 1 s), against a baseline that enumerates all subsets of size <= 3 and
    sorts them (a tiny fraction of the 2^60 subsets, measured in the same run);
(b) the full enumeration with representatives for 16 distinct singular values (2^16
    entries, widths 16,16,16; target under 10 s).

Wall time is measured on a plain call (after a warm-up), peak memory on a second call
under tracemalloc (which slows the calls it traces). Run: ``python benchmarks/bench_critical.py``
"""

from __future__ import annotations

import time
import tracemalloc
from itertools import combinations

import numpy as np

import landscape as ls


def measure(fn):
    """Wall time of a plain call, then peak memory of a second call under tracemalloc."""
    t0 = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t0
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, wall, peak


def brute_small(sigma, k_max=3):
    w = sigma**2
    total = 0.5 * float(np.sum(w))
    vals = [total - 0.5 * float(np.sum(w[list(c)])) for k in range(k_max + 1) for c in combinations(range(w.size), k)]
    return sorted(vals)


def main():
    import xarray  # noqa: F401  (imported once here, so no case pays for it)

    ls.critical_values(ls.LinearNetwork([3, 3, 3], [3.0, 2.0, 1.0]))  # warm-up: first Dataset, lazy imports

    rng = np.random.default_rng(0)
    sigma60 = np.sort(rng.uniform(0.5, 3.0, 60))[::-1]
    net60 = ls.LinearNetwork([60, 60, 60], sigma60)
    cv, wall_a, peak_a = measure(lambda: ls.critical_values(net60, max_count=1000))
    _, wall_b, _ = measure(lambda: brute_small(sigma60))
    sigma16 = np.sort(rng.uniform(0.5, 3.0, 16))[::-1]
    net16 = ls.LinearNetwork([16, 16, 16], sigma16)
    cp, wall_c, peak_c = measure(lambda: ls.critical_points(net16))
    print(f"{'case':<52} {'wall s':>8} {'peak MiB':>9} {'entries':>9}")
    print(f"{'(a) 1,000 lowest values, 60 distinct sigma':<52} {wall_a:8.3f} {peak_a / 2**20:9.1f} {cv.sizes['value']:9d}")
    print(f"{'    baseline: all |S| <= 3 of 60, sorted':<52} {wall_b:8.3f} {'':>9} {36051:9d}")
    print(f"{'(b) full enumeration + representatives, 16 sigma':<52} {wall_c:8.3f} {peak_c / 2**20:9.1f} {cp.sizes['point']:9d}")
    print(f"max gradient norm of the representatives in (b): {float(cp.gradient_norm.max()):.1e}")


if __name__ == "__main__":
    main()
