"""The ``landscape`` command line.

``landscape explore [--widths W --sigma S] [--out DIR] [--size small|medium|large]``  (the main job)
``landscape flow --widths W --sigma S [--init gaussian] [--scale 0.01] [--t-end 100] [--method auto] --out FILE.nc``
``landscape critical --widths W --sigma S [--out FILE.nc]``
``landscape classify [--widths W --sigma S | --file CRITICAL.nc] [--out FILE.nc]``
``landscape render FILE.nc [--out FILE.png] [--size medium]``
``landscape summary [--widths 3,3,3,3] [--sigma 3,2,1] [--init gaussian] [--scale 0.01] [--seed 0]``
``landscape --version``
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from ._version import __version__

__all__ = ["main"]

_INITS = ("gaussian", "balanced", "identity", "orthogonal")
_SIZES = ("small", "medium", "large")


def _int_list(option):
    def parse(text):
        try:
            values = [int(v) for v in text.replace(" ", "").split(",") if v]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} takes comma-separated integers, for example 3,3,3,3; got {text!r}")
        if len(values) < 2 or min(values) < 1:
            raise argparse.ArgumentTypeError(
                f"{option} takes at least two positive integers d_0,...,d_h, for example 3,3,3,3; got {text!r}"
            )
        return values

    return parse


def _float_list(option):
    def parse(text):
        try:
            values = [float(v) for v in text.replace(" ", "").split(",") if v]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} takes comma-separated numbers, for example 3,2,1; got {text!r}")
        if not values or not all(np.isfinite(values)) or min(values) < 0:
            raise argparse.ArgumentTypeError(f"{option} takes non-negative finite numbers, for example 3,2,1; got {text!r}")
        return values

    return parse


def _network_args(p):
    p.add_argument("--widths", type=_int_list("--widths"), default=[3, 3, 3, 3], help="layer widths d_0,...,d_h (default 3,3,3,3)")
    p.add_argument("--sigma", type=_float_list("--sigma"), default=[3.0, 2.0, 1.0], help="target singular values (default 3,2,1)")


def _init_args(p):
    p.add_argument("--init", choices=_INITS, default="gaussian", help="initialisation (default gaussian)")
    p.add_argument("--scale", type=float, default=1e-2, help="initial scale (default 0.01)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


class _Parser(argparse.ArgumentParser):
    """Bad arguments get one line (no usage block), exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="landscape", description="Gradient flows and loss landscapes of deep linear networks.")
    parser.add_argument("--version", action="version", version=f"landscape {__version__}")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("explore", help="the main job: critical points, flows, manifolds, pictures and index.html")
    p.add_argument("--widths", type=_int_list("--widths"), default=None,
                   help="layer widths d_0,...,d_h (default: the two built-in examples)")
    p.add_argument("--sigma", type=_float_list("--sigma"), default=None, help="singular values, e.g. 3,2,1")
    p.add_argument("--out", default="landscape-report", help="output folder (default landscape-report)")
    p.add_argument("--size", choices=_SIZES, default="medium", help="picture size (default medium)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p = sub.add_parser("flow", help="integrate the gradient flow and write a trajectory (netCDF)")
    _network_args(p)
    _init_args(p)
    p.add_argument("--t-end", type=float, default=100.0, help="final time (default 100)")
    p.add_argument("--method", default="auto", help="integrator (default auto)")
    p.add_argument("--times", choices=("linear", "log"), default="log", help="output times (default log)")
    p.add_argument("--out", default="trajectory.nc", help="netCDF file (default trajectory.nc)")
    p = sub.add_parser("critical", help="enumerate the critical points per learnt subset (netCDF)")
    _network_args(p)
    p.add_argument("--out", default="critical.nc", help="netCDF file (default critical.nc)")
    p = sub.add_parser("classify", help="classify every representative A*_S: minimum, strict or non-strict saddle")
    _network_args(p)
    p.add_argument("--file", default=None,
                   help="a critical-points netCDF file (from `landscape critical`) to classify instead of --widths/--sigma;"
                        " one already classified is only printed")
    p.add_argument("--out", default=None, help="write the classified critical points to this netCDF file")
    p = sub.add_parser("render", help="render a landscape netCDF file to PNG")
    p.add_argument("file", help="a netCDF file written by landscape")
    p.add_argument("--out", default=None, help="PNG file (default: FILE with suffix .png)")
    p.add_argument("--size", choices=_SIZES, default="medium")
    p = sub.add_parser("sweep", help="many initialisations on dask, reduced to indicators (netCDF)")
    _network_args(p)
    p.add_argument("--inits", default="gaussian", help="comma-separated initialisations (default gaussian)")
    p.add_argument("--scales", type=_float_list("--scales"), default=[1e-3, 1e-2, 1e-1, 1.0],
                   help="initial scales, e.g. 0.001,0.01,0.1,1")
    p.add_argument("--seeds", type=int, default=20, help="seeds per cell (default 20)")
    p.add_argument("--t-end", type=float, default=200.0, help="final time (default 200)")
    p.add_argument("--directory", default="sweep-chunks", help="chunk folder; rerun to resume (default sweep-chunks)")
    p.add_argument("--scheduler", default=None, help="address of a dask scheduler, e.g. tcp://127.0.0.1:8786")
    p.add_argument("--workers", type=int, default=None, help="workers of the local cluster (default: cores)")
    p.add_argument("--out", default="sweep.nc", help="netCDF file (default sweep.nc)")
    p = sub.add_parser("summary", help="print a network and the loss and gradient norm at an initialisation")
    _network_args(p)
    _init_args(p)
    return parser


def _network(args):
    from .core import LinearNetwork

    return LinearNetwork(args.widths, args.sigma)


def _explore(args) -> int:
    from .explore import DEFAULT_EXAMPLES, check_output_dir, explore

    if (args.widths is None) != (args.sigma is None):
        build_parser().exit(2, "landscape explore: error: give both --widths and --sigma, e.g. --widths 3,3,3 --sigma 3,2,1\n")
    if args.widths is None:
        examples = DEFAULT_EXAMPLES
    else:
        from .core import LinearNetwork

        LinearNetwork(args.widths, args.sigma)  # validate before any work
        examples = (("network", tuple(args.widths), tuple(args.sigma)),)
    check_output_dir(args.out)
    index = explore(args.out, examples, size=args.size, progress=not args.no_progress)
    print(f"open {index}")
    return 0


def _flow(args) -> int:
    from . import init
    from .dynamics import gradient_flow, itinerary
    from .io import save

    net = _network(args)
    W = getattr(init, args.init)(net, args.scale, rng=args.seed)
    ds = gradient_flow(net, W, args.t_end, method=args.method, times=args.times, n_points=400)
    save(ds, args.out)
    it = itinerary(ds)
    print(f"{args.out}: status {ds.status.values}, final loss {float(ds.loss_final):.6g}, route {it.attrs['route']}")
    return 0


def _critical(args) -> int:
    from .critical import critical_points
    from .io import save

    cp = critical_points(_network(args))
    save(cp, args.out)
    for s, L in zip(cp.subset.values, cp.loss.values):
        print(f"{s:<14} {L:.6g}")
    print(f"{cp.sizes['point']} critical values, written to {args.out}")
    return 0


def _classify(args) -> int:
    from .critical import critical_points
    from .io import load, save
    from .stability import classify
    from .stability._classify import is_classified

    if args.file is not None:
        cp = load(args.file)
        if cp.attrs["landscape_kind"] != "critical_points":
            build_parser().exit(2, f"landscape classify: error: --file {args.file!r} holds a "
                                   f"{cp.attrs['landscape_kind']!r} dataset; give a critical-points file "
                                   f"(from `landscape critical`).\n")
    else:
        cp = critical_points(_network(args))
    if not is_classified(cp):  # once per set: a file that holds the classification is only read
        cp = classify(cp)
    if args.out is not None:
        save(cp, args.out)
    print(f"{'S':<12} {'L_S':>8}  {'kind':<18} {'#neg':>5} {'#zero':>6}  certificate")
    for i in range(cp.sizes["point"]):
        cert = str(cp.certificate.values[i])
        if int(cp.order.values[i]):
            cert += f" (order {int(cp.order.values[i])})"
        print(f"{cp.subset.values[i]:<12} {float(cp.loss.values[i]):8.4g}  {str(cp.kind.values[i]):<18} "
              f"{int(cp.n_negative.values[i]):5d} {int(cp.n_zero.values[i]):6d}  {cert}")
    if args.out is not None:
        print(f"written to {args.out}")
    return 0


def _sweep(args) -> int:
    from .io import save
    from .sweeps import sweep

    ds = sweep(_network(args), inits=[s for s in args.inits.split(",") if s], scales=args.scales, seeds=args.seeds,
               t_end=args.t_end, directory=args.directory, scheduler=args.scheduler, n_workers=args.workers)
    save(ds, args.out)
    frac = (ds.n_plateaus > 0).mean("seed").isel(network=0)
    for init in ds.init.values:
        for scale in ds.scale.values:
            print(f"{init:<10} scale {scale:<8g} runs with plateaus {float(frac.sel(init=init, scale=scale)):.2f}  "
                  f"mean final loss {float(ds.loss_final.sel(init=init, scale=scale).mean()):.3g}")
    print(f"{int(ds.attrs['chunks_computed'])} chunks computed, {int(ds.attrs['chunks_reused'])} reused; written to {args.out}")
    return 0


def _render(args) -> int:
    from pathlib import Path

    from .io import load
    from .render import render

    ds = load(args.file)
    out = args.out or str(Path(args.file).with_suffix(".png"))
    for path in render(ds, out, size=args.size):
        print(path)
    return 0


def _summary(args) -> int:
    from . import init
    from .core import LinearNetwork

    net = LinearNetwork(args.widths, args.sigma)
    W = getattr(init, args.init)(net, args.scale, rng=args.seed)
    s = net.summary(W)
    sv = ", ".join(f"{v:.6g}" for v in s["singular_values"])
    print(f"network          {net!r}")
    print(f"depth h          {net.depth}")
    print(f"parameters N_p   {net.n_params}")
    print(f"nodes n_v        {net.n_nodes}")
    print(f"bottleneck r     {net.rank}")
    print(f"init             {args.init}(scale={args.scale:g}, seed={args.seed})")
    print(f"loss             {s['loss']:.10g}")
    print(f"|grad L|_F       {s['gradient_norm']:.6g}")
    print(f"max_i |C_i|_F    {s['balance']:.6g}")
    print(f"sv(W_h...W_1)    {sv}")
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from .errors import LandscapeError

    try:
        commands = {"summary": _summary, "explore": _explore, "flow": _flow, "critical": _critical,
                    "classify": _classify, "render": _render, "sweep": _sweep}
        return commands[args.command](args)
    except LandscapeError as exc:
        parser.exit(2, f"landscape {args.command}: error: {exc}\n")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
