"""Integrator benchmarks (issue "Dynamics").

(a) Fact 2 of the spec (widths 3,3,3,3, Sigma = diag(3,2,1), gaussian scale 0.5, seed 2,
    t in [0, 20]): wall time and conserved-quantity drift of every method, the drift
    relative to max_i ||W_i||_F^2 along the run.
    The last column is the documented bound of the registry
    (:attr:`landscape.dynamics.solvers.Solver.drift_factor`) in the same units.
(b) 1,000 gaussian initialisations (scale 1) of widths 4,4,4,4, Sigma = diag(4,3,2,1),
    and of the non-square widths 6,8,8,3 (hidden wider than both ends), integrated until
    the loss is below 1e-8 (1e-8 above the least-squares optimum for 6,8,8,3): one
    batched call versus a loop of ``scipy.integrate.solve_ivp(method="LSODA")`` with
    the same tolerances and the same terminal event, as a ratio of wall times, and the
    largest difference of the event times. Target: the compiled method >= 50x faster.
    The compiled method is warmed up first (numba compiles once and caches on disk).

Run: ``python benchmarks/bench_dynamics.py [--runs 1000] [--rtol 1e-8] [--atol 1e-10]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.integrate import solve_ivp

import landscape as ls
from landscape.dynamics import METHODS, FlowProblem, solvers


def part_a():
    net = ls.LinearNetwork([3, 3, 3, 3], [3.0, 2.0, 1.0])
    W0 = ls.init.gaussian(net, 0.5, rng=2)
    print("(a) fact 2: t in [0, 20], rtol 1e-10, atol 1e-12")
    print(f"{'method':>12} {'wall s':>8} {'nfev':>8} {'max drift / scale':>18} {'bound / scale':>14} {'L(20)':>10}")
    for method in [m for m in METHODS if m != "auto"]:
        t0 = time.perf_counter()
        ds = ls.gradient_flow(net, W0, 20.0, method=method, n_points=201, rtol=1e-10, atol=1e-12, progress=False)
        wall = time.perf_counter() - t0
        drift = float(np.nanmax(ds.conserved_drift.values) / ds.conserved_scale)
        bound = solvers.get(method).drift_bound(1e-10, 1.0, 20.0)
        print(f"{method:>12} {wall:8.3f} {int(ds.attrs['nfev']):8d} {drift:18.2e} {bound:14.1e} {float(ds.loss_final):10.1e}")


def part_b(widths, runs, rtol, atol, methods):
    k = min(widths[0], widths[-1])
    net = ls.LinearNetwork(widths, np.arange(k, 0, -1.0))
    rng = np.random.default_rng(0)
    batch = [rng.standard_normal((runs,) + s) / np.sqrt(s[1]) for s in net.shapes]
    problem = FlowProblem(net)
    L_star = 0.5 * float(np.sum(net.sigma[net.rank:] ** 2))  # zero unless a bottleneck
    threshold = L_star + 1e-8

    def fun(t, y):
        return problem.field(y[None])[0][0]

    def event(t, y):
        return np.log(problem.field(y[None])[1][0]) - np.log(threshold)

    event.terminal = True
    theta0 = np.concatenate([b.reshape(runs, -1) for b in batch], axis=1)
    t0 = time.perf_counter()
    loop_final = []
    for b in range(runs):
        sol = solve_ivp(fun, (0.0, 1e4), theta0[b], method="LSODA", rtol=rtol, atol=atol, events=event)
        loop_final.append(sol.t[-1])
    t_loop = time.perf_counter() - t0
    print(f"\n(b) {runs} gaussian runs, widths {','.join(map(str, widths))}, until L < L* + 1e-8, "
          f"rtol {rtol:g}, atol {atol:g}")
    print(f"{'method':>12} {'wall s':>8} {'ratio':>7} {'all stopped':>12} {'max |t_event - LSODA| / t':>26}")
    print(f"{'LSODA loop':>12} {t_loop:8.2f} {1.0:7.1f} {'yes':>12} {0.0:26.2e}")
    small = [b[:2] for b in batch]
    for method in methods:  # warm-up: numba compiles (or loads its cache) outside the timing
        ls.gradient_flow(net, small, 1.0, method=method, rtol=rtol, atol=atol, n_points=2, progress=False)
    for method in methods:
        t0 = time.perf_counter()
        ds = ls.gradient_flow(net, batch, 1e4, method=method, rtol=rtol, atol=atol, loss_below=threshold,
                              n_points=2, progress=False)
        wall = time.perf_counter() - t0
        stopped = bool(np.all(ds.status.values == "event"))
        dt = float(np.max(np.abs(ds.t_event.values - np.array(loop_final)) / np.array(loop_final)))
        print(f"{method:>12} {wall:8.2f} {t_loop / wall:7.1f} {'yes' if stopped else 'NO':>12} {dt:26.2e}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--rtol", type=float, default=1e-8)
    parser.add_argument("--atol", type=float, default=1e-10)
    parser.add_argument("--methods", default="dopri5-jit,dopri5")
    parser.add_argument("--skip-a", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_a:
        part_a()
    for widths in ([4, 4, 4, 4], [6, 8, 8, 3]):
        part_b(widths, args.runs, args.rtol, args.atol, args.methods.split(","))


if __name__ == "__main__":
    main()
