"""Stable and unstable manifolds (issue 11): benchmarks, one table.

The machine these numbers come from has 2 cores, shared with other jobs: absolute times
move by 2x or more from run to run.

1. ``manifold_surface``, strict saddle of widths (2, 3, 2), sigma = (3, 1): the point
   S = {2} (mode 2 learnt, mode 1 not) moved by a random orthogonal hidden gauge; the
   unstable surface tangent to the two leading eigenvectors (eigenvalue -3, twice), grown
   to >= 2,000 vertices. Target: <= 30 s.
2. The same point's stable surface tangent to the two leading eigenvectors (eigenvalues 4
   and 3): a curved surface (its points span 4 dimensions), to >= 2,000 vertices.
3. Widths (1, 2, 1), sigma = 2: W^u(0) (the disk bounded by the circle of minima, grown
   until every point reached it) and W^s(0) (the plane, to geodesic radius 2): distance of
   every vertex from the exact sets ``W_2 = +-W_1^T``.
4. Widths (1, 2, 2, 1), sigma = 1, the origin (Hessian identically 0, h = 3): W^u and W^s
   from the blow-up circle of escape arcs, to geodesic radius 1.5.

5. Widths (2, 3, 3, 2), sigma = (2, 1), S = {2} moved by random orthogonal hidden gauges
   (a strict saddle whose W^u also escapes at order 3): the blow-up surface, grown at the
   aligned point and mapped back (frame "aligned"; grown at the gauged point it left the
   set, tangency 1.55 rad).
6. Widths (40, 40, 40) (3,200 parameters), sigma = linspace(3, 0.5, 40), S = modes 2..40:
   the unstable surface of the two leading eigenvectors, to >= 273 vertices (65 s before
   the dopri5 stage combinations and the tangency check were rewritten).

Every row reports the vertices and faces, the time, the largest angle between the flow
field and the mesh (radians) and the largest deviation of the conserved quantities from
those of W*.

5. ``submanifolds`` at size (issue 11.3), second table: strict saddles of widths [50]*4
   (10,000 parameters) and [300]*12 (1,080,000 parameters), sigma = linspace(3, 0.5, d),
   S = modes 2..d (every mode but the first learnt: d - 1 negative eigenvalues), moved by
   random orthogonal hidden gauges (generic-looking, not aligned). Times: the directions
   (Hessian counts, the 4 most negative eigenpairs by alignment recovery + exact blocks,
   insertion arcs; no dense Hessian) and 200 samples of the unstable set (the branches'
   samples, ceil(200 / branches) per branch). [50]*4: the 4 most negative eigenvectors
   (8 branches) and the insertion arcs; [300]*12: the most negative eigenvector (2
   branches of 100 samples, followed until 5 % of the gap to the next critical value is
   lost, rtol 1e-6, t_max 10; insertion arcs of order 12 escape in time ~radius^-10 and are not
   integrated). ``python benchmarks/bench_manifolds.py --no-large`` skips [300]*12
   (tens of minutes and ~3 GB).

Run: ``python benchmarks/bench_manifolds.py`` (about a minute).
"""

from __future__ import annotations

import time

import numpy as np

import landscape as ls

ROWS = []


def _row(name, ds, seconds, exact=None, target=""):
    ROWS.append((name, ds.sizes["vertex"], ds.sizes["face"], seconds, float(ds.attrs["tangency_angle_max"]),
                 float(ds.attrs["tangency_angle_median"]), float(ds.attrs["conserved_deviation_max"]), exact, target))


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def bench_strict_saddle_232():
    net = ls.LinearNetwork([2, 3, 2], [3.0, 1.0])
    W = ls.representative(net, [2])
    G = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))[0]
    W = [G @ W[0], W[1] @ G.T]  # an orthogonal hidden gauge: still critical, no longer aligned
    ds, t = _timed(lambda: ls.manifold_surface(net, W, "unstable", max_distance=3.0, delta=0.05, max_vertices=2000))
    _row("(2,3,2) S={2} gauged, W^u, leading", ds, t, target="<= 30 s, >= 2000 vertices")


def bench_curved_232():
    net = ls.LinearNetwork([2, 3, 2], [3.0, 1.0])
    W = ls.representative(net, [2])
    G = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))[0]
    W = [G @ W[0], W[1] @ G.T]
    ds, t = _timed(lambda: ls.manifold_surface(net, W, "stable", max_distance=3.0, delta=0.05, max_vertices=2000))
    _row("(2,3,2) S={2} gauged, W^s, leading (curved)", ds, t, target=">= 2000 vertices")


def bench_exact_121():
    net = ls.LinearNetwork([1, 2, 1], 2.0)
    W0 = ls.representative(net, [])
    for kind, sign, md in (("unstable", 1.0, 5.0), ("stable", -1.0, 2.0)):
        ds, t = _timed(lambda: ls.manifold_surface(net, W0, kind, max_distance=md, delta=0.05))
        P = ds["points"].values
        dev = float(np.abs(P[:, :2] - sign * P[:, 2:]).max())
        if kind == "unstable":
            dev = max(dev, float(max(0.0, (np.sum(P[:, :2] ** 2, axis=1) - 2.0).max())))
        _row(f"(1,2,1) origin, W^{'u' if kind == 'unstable' else 's'} ({ds.attrs['stop_reason'][:24]})", ds, t, dev,
             "exact set to 1e-6")


def bench_degenerate_1221():
    net = ls.LinearNetwork([1, 2, 2, 1], 1.0)
    W0 = ls.representative(net, [])
    for kind in ("unstable", "stable"):
        ds, t = _timed(lambda: ls.manifold_surface(net, W0, kind, max_distance=1.5, delta=0.05))
        _row(f"(1,2,2,1) origin (h=3), W^{'u' if kind == 'unstable' else 's'}, blow-up", ds, t)


def bench_gauged_degenerate_2332():
    net = ls.LinearNetwork([2, 3, 3, 2], [2.0, 1.0])
    rng = np.random.default_rng(1)
    W = ls.gauge(net, ls.representative(net, [2]), [np.linalg.qr(rng.standard_normal((3, 3)))[0] for _ in range(2)])
    ds, t = _timed(lambda: ls.manifold_surface(net, W, "unstable", max_distance=0.6, delta=0.05))
    _row(f"(2,3,3,2) S={{2}} gauged, W^u, blow-up ({ds.attrs['frame']})", ds, t)


def bench_wide_40():
    d = 40
    net = ls.LinearNetwork([d, d, d], np.linspace(3.0, 0.5, d))
    W = ls.representative(net, range(2, d + 1))
    ds, t = _timed(lambda: ls.manifold_surface(net, W, "unstable", max_distance=1.0, max_vertices=273))
    _row(f"(40,40,40) S=2..40 ({net.n_params} params), W^u", ds, t, target=">= 273 vertices")


SUB_ROWS = []


def _gauged_strict_saddle(d, h, seed=0):
    net = ls.LinearNetwork([d] * (h + 1), np.linspace(3.0, 0.5, d))
    W = ls.representative(net, range(2, d + 1))
    rng = np.random.default_rng(seed)
    return net, ls.gauge(net, W, [np.linalg.qr(rng.standard_normal((d, d)))[0] for _ in range(h - 1)])


def bench_submanifolds(d, h, n_samples=200, **options):
    """Directions, then n_samples samples of the unstable set, at a gauged strict saddle."""
    net, W = _gauged_strict_saddle(d, h)
    options = {"sets": ("unstable",), "max_unstable": 4, **options}
    # directions only: seeds classified, each branch integrated over a negligible time
    ds0, t_dir = _timed(lambda: ls.submanifolds(net, W, n_points=3, **{**options, "t_max": 1e-3}))
    per = int(np.ceil(n_samples / ds0.sizes["branch"]))
    ds, t_all = _timed(lambda: ls.submanifolds(net, W, n_points=per, **options))
    valid = int(np.sum(~np.isnan(ds.theta.values[..., 0])))
    drop = float(np.nanmin(ds.loss.values) - ds.attrs["critical_value"])
    SUB_ROWS.append((f"[{d}]*{h} S=2..{d} gauged", net.n_params, int(ds.n_negative), ds.sizes["branch"],
                     ds.attrs["eigen_method"], t_dir, valid, t_all, drop))


def main(large=True):
    for bench in (bench_strict_saddle_232, bench_curved_232, bench_exact_121, bench_degenerate_1221,
                  bench_gauged_degenerate_2332, bench_wide_40):
        bench()
    head = f"{'case':48s} {'vertices':>8s} {'faces':>6s} {'time s':>7s} {'angle max':>10s} {'angle med':>10s} " \
           f"{'C dev':>9s} {'exact dev':>9s}  target"
    print(head)
    print("-" * len(head))
    for name, nv, nf, t, amax, amed, cdev, exact, target in ROWS:
        ex = "" if exact is None else f"{exact:.1e}"
        print(f"{name:48s} {nv:8d} {nf:6d} {t:7.2f} {amax:10.1e} {amed:10.1e} {cdev:9.1e} {ex:>9s}  {target}")
    bench_submanifolds(50, 4)
    if large:  # the most negative eigenvector (two branches), followed until 5 % of the gap is lost
        bench_submanifolds(300, 12, max_unstable=1, max_arcs=0, loss_drop=0.05, rtol=1e-6, t_max=10.0)
    head = f"\n{'submanifolds (unstable set)':30s} {'params':>9s} {'n_neg':>5s} {'branches':>8s} {'eigen':>10s} " \
           f"{'dirs s':>7s} {'samples':>7s} {'total s':>8s} {'min dL':>8s}"
    print(head)
    print("-" * len(head))
    for name, n, nneg, nb, method, t_dir, valid, t_all, drop in SUB_ROWS:
        print(f"{name:30s} {n:9d} {nneg:5d} {nb:8d} {method:>10s} {t_dir:7.1f} {valid:7d} {t_all:8.1f} {drop:8.3f}")


if __name__ == "__main__":
    import sys

    main(large="--no-large" not in sys.argv)
