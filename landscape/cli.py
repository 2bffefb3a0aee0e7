"""The ``landscape`` command line.

``landscape --version``
``landscape summary [--widths 3,3,3,3] [--sigma 3,2,1] [--init gaussian] [--scale 0.01] [--seed 0]``
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from ._version import __version__

__all__ = ["main"]

_INITS = ("gaussian", "balanced")


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="landscape", description="Gradient flows and loss landscapes of deep linear networks.")
    parser.add_argument("--version", action="version", version=f"landscape {__version__}")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("summary", help="print a network and the loss and gradient norm at an initialisation")
    _network_args(p)
    p.add_argument("--init", choices=_INITS, default="gaussian", help="initialisation (default gaussian)")
    p.add_argument("--scale", type=float, default=1e-2, help="initial scale (default 0.01)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    return parser


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
        return {"summary": _summary}[args.command](args)
    except LandscapeError as exc:
        parser.exit(2, f"landscape {args.command}: error: {exc}\n")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
