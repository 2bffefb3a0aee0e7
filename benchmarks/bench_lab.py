"""Runs per second of each study of ``landscape.experiments`` on 1 and 2 dask workers.

Each study runs at ``--size small`` (or the size given) in a fresh task folder on a local
cluster of worker processes; the table gives runs per second of the computation (the
wall time of the tasks, without the cluster's start-up) and the speed-up of 2 workers
over 1. Usage: ``python benchmarks/bench_lab.py [--size small|default]``.
"""

import argparse
import tempfile
import time

from landscape.experiments import STUDIES


def measure(name, size, workers):
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        ds = STUDIES[name](size=size, directory=tmp, n_workers=workers, progress=False)
        total = time.perf_counter() - start
    return int(ds.attrs["runs"]), float(ds.attrs["wall_time"]), total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small", choices=("small", "default"))
    args = parser.parse_args(argv)
    print(f"{'study':<22} {'runs':>6} {'1 worker runs/s':>16} {'2 workers runs/s':>17} {'speed-up':>9}")
    for name in STUDIES:
        rows = {w: measure(name, args.size, w) for w in (1, 2)}
        r1 = rows[1][0] / rows[1][1]
        r2 = rows[2][0] / rows[2][1]
        print(f"{name:<22} {rows[1][0]:>6} {r1:>16.1f} {r2:>17.1f} {r2 / r1:>9.2f}")


if __name__ == "__main__":
    main()
