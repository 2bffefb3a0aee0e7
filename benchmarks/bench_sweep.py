"""Sweep scaling on a local dask cluster (issue "Sweeps").

1,000 runs (10 initial scales x 100 seeds) of widths (4, 4, 4, 4), Sigma = diag(4, 3, 2, 1),
each integrated to t = 100 (or loss < 1e-8) and reduced to the sweep indicators, on a
local cluster of 2 worker processes versus 1 (one thread each; clusters started and
warmed up before timing). Target: ratio at least 1.7 on 2 cores.

Run: ``python benchmarks/bench_sweep.py [--seeds 100]``
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time

import numpy as np

import landscape as ls


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    net = ls.LinearNetwork([4, 4, 4, 4], [4.0, 3.0, 2.0, 1.0])
    scales = np.geomspace(1e-3, 1.0, 10)
    times = {}
    for n in (1, 2):
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            warm = tempfile.mkdtemp()
            ls.sweep(net, scales=[0.1] * 1, seeds=2 * n, chunk_size=1, t_end=5.0, client=client, directory=warm,
                     progress=False)
            shutil.rmtree(warm)
            folder = tempfile.mkdtemp()
            t0 = time.perf_counter()
            ds = ls.sweep(net, scales=scales, seeds=args.seeds, t_end=100.0, chunk_size=25, client=client,
                          directory=folder, progress=False)
            times[n] = time.perf_counter() - t0
            shutil.rmtree(folder)
            runs = ds.loss_final.size
    print(f"{'workers':>8} {'runs':>6} {'wall s':>8} {'runs/s':>8}")
    for n, t in times.items():
        print(f"{n:8d} {runs:6d} {t:8.2f} {runs / t:8.1f}")
    print(f"speed-up 2 workers / 1 worker: {times[1] / times[2]:.2f} (target >= 1.7)")


if __name__ == "__main__":
    main()
