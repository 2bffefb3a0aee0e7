"""The ``landscape`` command line.

``landscape explore [--widths W --sigma S] [--out DIR] [--size small|medium|large]``  (the main job)
``landscape flow --widths W --sigma S [--init gaussian] [--scale 0.01] [--t-end 100] [--method auto] --out FILE.nc``
``landscape critical --widths W --sigma S [--out FILE.nc]``
``landscape classify [--widths W --sigma S | --file CRITICAL.nc] [--out FILE.nc]``
``landscape render FILE.nc [--out FILE.png] [--size medium]``
``landscape sweep --widths W --sigma S [--inits gaussian] [--scales ...] [--seeds 20] [--out sweep.nc]``
``landscape lab NAME [--size small|default|large] [--out DIR] [--scheduler ADDRESS] [--directory TASKS]``
``landscape summary [--widths 3,3,3,3] [--sigma 3,2,1] [--init gaussian] [--scale 0.01] [--seed 0]``
``landscape --version``

Every mistake in the arguments (a bad number, an output path that cannot be written)
gets one line on stderr naming the argument, and exit code 2, before any computation.
Output paths follow one rule (:func:`landscape._validation.check_output_path`): the
parent folder must exist, a file gets the command's suffix, and an existing file is
replaced only if landscape wrote it, unless ``--overwrite``.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from ._version import __version__

__all__ = ["main", "build_parser"]

_SIZES = ("small", "medium", "large")

_OUTPUT_RULE = (
    "Output files: the folder must already exist (nothing is created for you); an existing file is replaced only "
    "if landscape wrote it (a netCDF file with the attribute landscape_kind, a PNG or HTML file with landscape's "
    "stamp); any other file is kept unless you pass --overwrite."
)


def _inits():
    from . import init

    return tuple(init.__all__)


def _methods():
    from .dynamics import METHODS

    return tuple(METHODS)


def _method(text):
    """The registry's spelling of a method name given in any case (``rk45`` -> ``RK45``)."""
    return {m.lower(): m for m in _methods()}.get(text.lower(), text)


def _sweep_inits():
    from .sweeps._sweep import INITS

    return tuple(INITS)


def _entries(option, text, example):
    entries = [v.strip() for v in text.split(",")]
    if any(v == "" for v in entries):
        raise argparse.ArgumentTypeError(
            f"{option} takes comma-separated values with no empty entry, for example {example}; got {text!r}"
        )
    return entries


def _study_name(text):
    names = ("plateau_scaling", "sequential_threshold", "almost_every_start")
    if text not in names:
        raise argparse.ArgumentTypeError(f"NAME must be one of {', '.join(names)}; got {text!r}")
    return text


def _sweep_init_list(text):
    names = _entries("--inits", text, "gaussian,balanced")
    if any(name not in _sweep_inits() for name in names):
        raise argparse.ArgumentTypeError(
            f"--inits takes comma-separated initialisations among {', '.join(_sweep_inits())}; got {text!r}"
        )
    return names


def _int_list(option):
    def parse(text):
        entries = _entries(option, text, "3,3,3,3")
        try:
            values = [int(v) for v in entries]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} takes comma-separated integers, for example 3,3,3,3; got {text!r}")
        if len(values) < 2 or min(values) < 1:
            raise argparse.ArgumentTypeError(
                f"{option} takes at least two positive integers d_0,...,d_h, for example 3,3,3,3; got {text!r}"
            )
        return values

    return parse


def _float_list(option, *, non_negative=True, example="3,2,1"):
    def parse(text):
        entries = _entries(option, text, example)
        try:
            values = [float(v) for v in entries]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} takes comma-separated numbers, for example {example}; got {text!r}")
        if not all(np.isfinite(values)) or (non_negative and min(values) < 0):
            what = "non-negative finite" if non_negative else "finite"
            raise argparse.ArgumentTypeError(f"{option} takes {what} numbers, for example {example}; got {text!r}")
        return values

    return parse


def _number(option, *, kind=float, minimum=None, strict=False):
    """An argparse type: one finite number (``kind`` int or float), ``>= minimum`` (``>`` if strict)."""

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{option} takes {what}; got {text!r}")
        if kind is float and not np.isfinite(value):
            raise argparse.ArgumentTypeError(f"{option} takes a finite number; got {text!r}")
        if minimum is not None and (value < minimum or (strict and value == minimum)):
            what = "an integer" if kind is int else "a number"
            bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
            raise argparse.ArgumentTypeError(f"{option} takes {what} {bound}; got {text!r}")
        return value

    return parse


def _subset(text):
    """``"1,3"``, ``"{1,3}"`` or ``"{}"`` -> a tuple of 1-based mode numbers."""
    body = text.strip().removeprefix("{").removesuffix("}").strip()
    if not body:
        return ()
    entries = _entries("--subset", body, "1,3 or {1,3} or {}")
    try:
        values = tuple(int(v) for v in entries)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--subset takes 1-based mode numbers, for example 1,3 or {{}}; got {text!r}")
    return values


def _network_args(p):
    p.add_argument("--widths", type=_int_list("--widths"), default=[3, 3, 3, 3],
                   help="layer widths d_0,...,d_h, comma-separated (default 3,3,3,3)")
    p.add_argument("--sigma", type=_float_list("--sigma"), default=[3.0, 2.0, 1.0],
                   help="target singular values sigma_1,...,sigma_k >= 0, comma-separated (default 3,2,1)")


def _init_args(p):
    p.add_argument("--init", choices=_inits(), default="gaussian", metavar="INIT",
                   help="initialisation from landscape.init, one of: " + ", ".join(_inits()) +
                        " (zero_balanced is balanced; default gaussian)")
    p.add_argument("--scale", type=_number("--scale", minimum=0.0), default=1e-2,
                   help="initial scale >= 0: standard deviation of the random entries, the identity's factor, "
                        "or the perturbation of near (default 0.01)")
    p.add_argument("--seed", type=_number("--seed", kind=int, minimum=0), default=0,
                   help="random seed, an integer >= 0 (default 0)")
    p.add_argument("--lam", type=_number("--lam"), default=None,
                   help="lambda_balanced only: C_i = lam I for every hidden layer (default 0.001)")
    p.add_argument("--delta", type=_number("--delta", minimum=0.0), default=None,
                   help="delta_balanced only: the balance max_i ||C_i||_F >= 0 (default 0.001)")
    p.add_argument("--values", type=_float_list("--values", non_negative=False, example="0.1,0.05"), default=None,
                   help="aligned only: per-mode diagonal entries of every layer, at most r of them "
                        "(default: --scale for each of the r modes)")
    p.add_argument("--subset", type=_subset, default=None,
                   help="near only: the learnt subset S of the critical point A*_S to start near, e.g. 1 or 1,3 or {} "
                        "(default 1)")


def _overwrite_arg(p):
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing output that landscape did not write (see below)")


class _Parser(argparse.ArgumentParser):
    """Bad arguments get one line (no usage block), exit code 2."""

    def error(self, message):
        import re

        # "argument --seed: --seed takes ..." -> "--seed takes ...": our messages already name the option
        found = re.match(r"argument (\S+): (.*)", message, flags=re.S)
        if found and found.group(2).startswith(found.group(1).split("/")[0]):
            message = found.group(2)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _command(sub, name, summary, description, epilog=None):
    return sub.add_parser(name, help=summary, description=description, epilog=epilog)


def build_parser() -> argparse.ArgumentParser:
    """The ``landscape`` argument parser (one sub-parser per command)."""
    parser = _Parser(prog="landscape", description="Gradient flows and loss landscapes of deep linear networks.",
                     epilog="Run `landscape COMMAND --help` for the options of a command. " + _OUTPUT_RULE)
    parser.add_argument("--version", action="version", version=f"landscape {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")

    p = _command(sub, "explore", "the main job: critical points, flows, manifolds, pictures and index.html",
                 "Enumerate and classify the critical points, integrate small- and large-initialisation flows, grow "
                 "the stable and unstable sets of the origin, and write every result (netCDF), picture (PNG) and an "
                 "interactive index.html into one folder.",
                 "Output folder: its parent must exist; the folder is created if missing; an existing folder is "
                 "written into only if it is empty or holds an index.html written by landscape, unless --overwrite.")
    p.add_argument("--widths", type=_int_list("--widths"), default=None,
                   help="layer widths d_0,...,d_h (default: the two built-in examples, widths 1,1,1,1 with sigma 3 "
                        "and 3,3,3,3 with sigma 3,2,1)")
    p.add_argument("--sigma", type=_float_list("--sigma"), default=None,
                   help="target singular values, e.g. 3,2,1 (give it with --widths)")
    p.add_argument("--out", default="landscape-report", help="output folder (default landscape-report)")
    p.add_argument("--size", choices=_SIZES, default="medium", help="picture size (default medium)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--overwrite", action="store_true",
                   help="write into an existing folder that holds other files and no landscape report")

    p = _command(sub, "flow", "integrate the gradient flow and write a trajectory (netCDF)",
                 "Integrate the gradient flow dW_i/dt = -dL/dW_i from one initialisation, write the trajectory as "
                 "netCDF and print its status, final loss and the route of saddles it visited.", _OUTPUT_RULE)
    _network_args(p)
    _init_args(p)
    p.add_argument("--t-end", type=_number("--t-end", minimum=0.0, strict=True), default=100.0,
                   help="final time > 0 (default 100)")
    p.add_argument("--method", type=_method, choices=_methods(), default="auto", metavar="METHOD",
                   help="integrator, one of: " + ", ".join(_methods()) + " (default auto)")
    p.add_argument("--times", choices=("linear", "log"), default="log",
                   help="spacing of the 400 output times: linear or log (default log)")
    p.add_argument("--out", default="trajectory.nc", help="netCDF file to write, .nc (default trajectory.nc)")
    _overwrite_arg(p)

    p = _command(sub, "critical", "enumerate the critical points per learnt subset (netCDF)",
                 "List one critical point A*_S per admissible learnt subset S, sorted by critical value L_S, print "
                 "the values and write the points as netCDF.", _OUTPUT_RULE)
    _network_args(p)
    p.add_argument("--out", default="critical.nc", help="netCDF file to write, .nc (default critical.nc)")
    _overwrite_arg(p)

    p = _command(sub, "classify", "classify every representative A*_S: minimum, strict or non-strict saddle",
                 "Classify every critical point A*_S as global_minimum, strict_saddle or non_strict_saddle (Hessian "
                 "inertia and an escape certificate) and print a table; optionally write the classified points.",
                 _OUTPUT_RULE)
    _network_args(p)
    p.add_argument("--file", default=None,
                   help="a critical-points netCDF file (from `landscape critical`) to classify instead of --widths/--sigma;"
                        " one already classified is only printed")
    p.add_argument("--out", default=None, help="netCDF file (.nc) to write the classified critical points to "
                                               "(default: print only)")
    _overwrite_arg(p)

    p = _command(sub, "render", "render a landscape netCDF file to PNG",
                 "Draw what a landscape netCDF file holds (trajectory, critical points, manifolds, ...) off screen "
                 "and write a PNG.", _OUTPUT_RULE)
    p.add_argument("file", help="a netCDF file written by landscape")
    p.add_argument("--out", default=None, help="PNG file to write, .png (default: FILE with suffix .png)")
    p.add_argument("--size", choices=_SIZES, default="medium", help="picture size (default medium)")
    p.add_argument("--html", action="store_true",
                   help="for a 3-D scene, also write an interactive page (OUT with suffix .html, plotly, works "
                        "offline: plotly.min.js is copied beside it)")
    _overwrite_arg(p)

    p = _command(sub, "sweep", "many initialisations on dask, reduced to indicators (netCDF)",
                 "Integrate the flow for every initialisation, scale and seed on a dask cluster (local by default), "
                 "reduce each run to indicators (final loss, plateaus, route, ...) and write them as netCDF. Chunks "
                 "are kept in --directory: rerunning resumes.",
                 _OUTPUT_RULE + " The chunk folder is created if missing (its parent must exist); an existing one is "
                 "used only if it is empty or holds sweep.json (a sweep to resume), unless --overwrite.")
    _network_args(p)
    p.add_argument("--inits", type=_sweep_init_list, default=["gaussian"],
                   help="comma-separated initialisations, among: " + ", ".join(_sweep_inits()) + " (default gaussian)")
    p.add_argument("--scales", type=_float_list("--scales", example="0.001,0.01,0.1,1"), default=[1e-3, 1e-2, 1e-1, 1.0],
                   help="initial scales >= 0, comma-separated (default 0.001,0.01,0.1,1)")
    p.add_argument("--seeds", type=_number("--seeds", kind=int, minimum=1), default=20,
                   help="seeds 0..N-1 per cell, N >= 1 (default 20)")
    p.add_argument("--t-end", type=_number("--t-end", minimum=0.0, strict=True), default=200.0,
                   help="final time > 0 (default 200)")
    p.add_argument("--directory", default="sweep-chunks", help="chunk folder; rerun to resume (default sweep-chunks)")
    p.add_argument("--scheduler", default=None, help="address of a dask scheduler, e.g. tcp://127.0.0.1:8786 "
                                                     "(default: a local cluster)")
    p.add_argument("--workers", type=_number("--workers", kind=int, minimum=1), default=None,
                   help="workers of the local cluster, >= 1 (default: cores)")
    p.add_argument("--out", default="sweep.nc", help="netCDF file to write, .nc (default sweep.nc)")
    _overwrite_arg(p)

    p = _command(sub, "lab", "run a named study of the open questions on dask and write its report",
                 "Run a study of landscape.experiments on dask (a local cluster by default, or --scheduler ADDRESS): "
                 "plateau_scaling (escape time from the origin vs initial scale, fitted slopes vs theory), "
                 "sequential_threshold (sequential vs simultaneous learning, the transition scale), almost_every_start "
                 "(fraction of random starts reaching a global minimum at h = 3, 4). Tasks are kept in --directory: "
                 "rerunning resumes. With --out, writes NAME.nc, the pictures and index.html (measured vs predicted).",
                 "Sizes: small (seconds), default (<= 5 minutes on 2 cores), large (>= 10^5 runs: for a cluster, e.g. "
                 "--scheduler tcp://HOST:8786). " + _OUTPUT_RULE)
    p.add_argument("name", metavar="NAME", type=_study_name,
                   help="the study: plateau_scaling, sequential_threshold or almost_every_start")
    p.add_argument("--size", choices=("small", "default", "large"), default="default",
                   help="run count: small, default or large (>= 10^5 runs; default default)")
    p.add_argument("--out", default=None, help="report folder: NAME.nc, pictures, index.html (default: print only)")
    p.add_argument("--directory", default=None,
                   help="task folder; rerun with the same one to resume (default NAME-tasks)")
    p.add_argument("--scheduler", default=None, help="address of a dask scheduler, e.g. tcp://127.0.0.1:8786 "
                                                     "(default: a local cluster)")
    p.add_argument("--workers", type=_number("--workers", kind=int, minimum=1), default=None,
                   help="workers of the local cluster, >= 1 (default: cores)")
    p.add_argument("--connect-timeout", type=_number("--connect-timeout", minimum=0.0, strict=True), default=10.0,
                   help="seconds to reach --scheduler (default 10)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _overwrite_arg(p)

    p = _command(sub, "summary", "print a network and the loss and gradient norm at an initialisation",
                 "Print the network's depth, parameter count and bottleneck, and the loss, gradient norm, balance "
                 "and end-to-end singular values at one initialisation. Writes nothing.")
    _network_args(p)
    _init_args(p)
    return parser


def _fail(command, message):
    """One line on stderr, exit code 2."""
    raise SystemExit(_exit(command, message))


def _exit(command, message):
    sys.stderr.write(f"landscape {command}: error: {message}\n")
    return 2


def _check_out(args, path, suffixes, *, name="--out"):
    from ._validation import check_output_path

    return check_output_path(path, name=name, suffixes=suffixes, overwrite=args.overwrite)


def _network(args):
    from .core import LinearNetwork

    return LinearNetwork(args.widths, args.sigma)


_EXTRAS = {"lam": "lambda_balanced", "delta": "delta_balanced", "values": "aligned", "subset": "near"}


def _check_init_options(args):
    """Warn about an init option that has no effect with the chosen --init."""
    for option, init in _EXTRAS.items():
        if getattr(args, option) is not None and args.init != init:
            sys.stderr.write(f"landscape {args.command}: warning: --{option} has no effect with --init {args.init} "
                             f"(it is for --init {init}).\n")


def _initial_weights(args, net):
    """The weights ``[W_1, ..., W_h]`` chosen by --init and its options."""
    from . import init

    name = args.init
    if name == "lambda_balanced":
        return init.lambda_balanced(net, 1e-3 if args.lam is None else args.lam, args.scale, rng=args.seed)
    if name == "delta_balanced":
        return init.delta_balanced(net, 1e-3 if args.delta is None else args.delta, args.scale, rng=args.seed)
    if name == "aligned":
        values = [args.scale] * net.rank if args.values is None else args.values
        return init.aligned(net, values)
    if name == "near":
        from .critical import representative

        return init.near(net, representative(net, (1,) if args.subset is None else args.subset), args.scale,
                         rng=args.seed)
    return getattr(init, name)(net, args.scale, rng=args.seed)


def _describe_init(args):
    from .critical._subsets import label

    extra = {"lambda_balanced": f", lam={1e-3 if args.lam is None else args.lam:g}",
             "delta_balanced": f", delta={1e-3 if args.delta is None else args.delta:g}",
             "near": f", S={label((1,) if args.subset is None else args.subset)}"}.get(args.init, "")
    return f"{args.init}(scale={args.scale:g}, seed={args.seed}{extra})"


def _check_input(path, name):
    """A missing input file is one line before anything else (reading it is left to :func:`landscape.load`)."""
    from pathlib import Path

    if not Path(path).is_file():
        from .io import LandscapeFileError

        raise LandscapeFileError(f"{name} {str(path)!r} does not exist or is not a file.")


def _explore(args) -> int:
    from ._validation import check_output_path
    from .explore import DEFAULT_EXAMPLES, check_report_files, explore

    if (args.widths is None) != (args.sigma is None):
        _fail("explore", "give both --widths and --sigma, e.g. --widths 3,3,3 --sigma 3,2,1")
    out = check_output_path(args.out, name="--out", kind="folder", marker="index.html", overwrite=args.overwrite)
    if args.widths is None:
        examples = DEFAULT_EXAMPLES
    else:
        _network(args)  # validate before any work
        examples = (("network", tuple(args.widths), tuple(args.sigma)),)
    check_report_files(out, examples, overwrite=args.overwrite)  # a user's file with a report name is kept
    index = explore(out, examples, size=args.size, progress=not args.no_progress, overwrite=args.overwrite)
    print(f"open {index}")
    return 0


def _flow(args) -> int:
    from .dynamics import gradient_flow, itinerary
    from .io import save

    out = _check_out(args, args.out, (".nc",))
    _check_init_options(args)
    net = _network(args)
    W = _initial_weights(args, net)
    ds = gradient_flow(net, W, args.t_end, method=args.method, times=args.times, n_points=400)
    save(ds, out)
    it = itinerary(ds)
    print(f"{out}: status {ds.status.values}, final loss {float(ds.loss_final):.6g}, route {it.attrs['route']}")
    return 0


def _critical(args) -> int:
    from .critical import critical_points
    from .io import save

    out = _check_out(args, args.out, (".nc",))
    cp = critical_points(_network(args))
    save(cp, out)
    for s, L in zip(cp.subset.values, cp.loss.values):
        print(f"{s:<14} {L:.6g}")
    print(f"{cp.sizes['point']} critical values, written to {out}")
    return 0


def _classify(args) -> int:
    from .critical import critical_points
    from .io import load, save
    from .stability import classify
    from .stability._classify import is_classified

    if args.file is not None:
        _check_input(args.file, "--file")
    out = None if args.out is None else _check_out(args, args.out, (".nc",))
    if args.file is not None:
        cp = load(args.file)
        if cp.attrs["landscape_kind"] != "critical_points":
            _fail("classify", f"--file {args.file!r} holds a {cp.attrs['landscape_kind']!r} dataset; give a "
                              f"critical-points file (from `landscape critical`).")
    else:
        cp = critical_points(_network(args))
    if not is_classified(cp):  # once per set: a file that holds the classification is only read
        cp = classify(cp)
    if out is not None:
        save(cp, out)
    print(f"{'S':<12} {'L_S':>8}  {'kind':<18} {'#neg':>5} {'#zero':>6}  certificate")
    for i in range(cp.sizes["point"]):
        cert = str(cp.certificate.values[i])
        if int(cp.order.values[i]):
            cert += f" (order {int(cp.order.values[i])})"
        print(f"{cp.subset.values[i]:<12} {float(cp.loss.values[i]):8.4g}  {str(cp.kind.values[i]):<18} "
              f"{int(cp.n_negative.values[i]):5d} {int(cp.n_zero.values[i]):6d}  {cert}")
    if out is not None:
        print(f"written to {out}")
    return 0


def _sweep(args) -> int:
    from ._validation import check_output_path
    from .io import save
    from .sweeps import sweep

    out = _check_out(args, args.out, (".nc",))
    directory = check_output_path(args.directory, name="--directory", kind="folder", marker="sweep.json",
                                  overwrite=args.overwrite)
    net = _network(args)
    ds = sweep(net, inits=args.inits, scales=args.scales, seeds=args.seeds, t_end=args.t_end, directory=directory,
               scheduler=args.scheduler, n_workers=args.workers)
    save(ds, out)
    frac = (ds.n_plateaus > 0).mean("seed").isel(network=0)
    for init in ds.init.values:
        for scale in ds.scale.values:
            print(f"{init:<10} scale {scale:<8g} runs with plateaus {float(frac.sel(init=init, scale=scale)):.2f}  "
                  f"mean final loss {float(ds.loss_final.sel(init=init, scale=scale).mean()):.3g}")
    print(f"{int(ds.attrs['chunks_computed'])} chunks computed, {int(ds.attrs['chunks_reused'])} reused; written to {out}")
    return 0


def _lab(args) -> int:
    from ._validation import check_output_path
    from .experiments import report, study
    from .experiments._report import summary_rows

    out = None
    if args.out is not None:
        out = check_output_path(args.out, name="--out", kind="folder", marker="index.html", overwrite=args.overwrite)
    directory = check_output_path(args.directory or f"{args.name}-tasks", name="--directory", kind="folder",
                                  marker="lab.json", overwrite=args.overwrite)
    ds = study(args.name, size=args.size, directory=directory, scheduler=args.scheduler, n_workers=args.workers,
               connect_timeout=args.connect_timeout, progress=not args.no_progress)
    for caption, header, rows in summary_rows(ds):
        print(caption)
        print("  " + " | ".join(str(h) for h in header))
        for row in rows:
            print("  " + " | ".join(str(v) for v in row))
    print(f"{int(ds.attrs['runs'])} runs, {int(ds.attrs['chunks_computed'])} tasks computed, "
          f"{int(ds.attrs['chunks_reused'])} reused, {float(ds.attrs['wall_time']):.1f} s")
    if out is not None:
        print(f"open {report(ds, out)}")
    return 0


def _render(args) -> int:
    from pathlib import Path

    from .io import load
    from .render import render

    _check_input(args.file, "FILE")
    out = _check_out(args, args.out or str(Path(args.file).with_suffix(".png")), (".png",))
    ds = load(args.file)
    if args.html:
        from .render import PLOTLY_JS, SCENE_KINDS, write_plotly_js
        from .render._dispatch import RENDERABLE

        kind = ds.attrs["landscape_kind"]
        if kind in RENDERABLE and kind not in SCENE_KINDS:  # a kind render cannot draw gets render's own error
            _fail("render", f"--html writes an interactive page of a 3-D scene (kinds {', '.join(SCENE_KINDS)}); "
                            f"{args.file!r} holds a {kind!r} dataset, drawn as a 2-D chart (PNG only): drop --html.")
        page = _check_out(args, str(Path(out).with_suffix(".html")), (".html",), name="--html (OUT with suffix .html)")
        js = _check_out(args, str(page.parent / PLOTLY_JS), (".js",), name=f"--html ({PLOTLY_JS} beside the page)")
        if args.overwrite:  # replace a plotly.min.js landscape did not write, as asked; render keeps it then
            write_plotly_js(js.parent, overwrite=True)
    for path in render(ds, out, size=args.size, html=args.html):
        print(path)
    return 0


def _summary(args) -> int:
    _check_init_options(args)
    net = _network(args)
    W = _initial_weights(args, net)
    s = net.summary(W)
    sv = ", ".join(f"{v:.6g}" for v in s["singular_values"])
    print(f"network          {net!r}")
    print(f"depth h          {net.depth}")
    print(f"parameters N_p   {net.n_params}")
    print(f"nodes n_v        {net.n_nodes}")
    print(f"bottleneck r     {net.rank}")
    print(f"init             {_describe_init(args)}")
    print(f"loss             {s['loss']:.10g}")
    print(f"|grad L|_F       {s['gradient_norm']:.6g}")
    print(f"max_i |C_i|_F    {s['balance']:.6g}")
    print(f"sv(W_h...W_1)    {sv}")
    return 0


_COMMANDS = {"summary": _summary, "explore": _explore, "flow": _flow, "critical": _critical, "classify": _classify,
             "render": _render, "sweep": _sweep, "lab": _lab}


def main(argv=None) -> int:
    """Run the ``landscape`` command line; returns the exit code (2 for bad arguments).

    If the reader of the output goes away (``landscape critical ... | head -2``), the
    command stops quietly with exit code 141 (128 + SIGPIPE), as Unix tools do.
    """
    try:
        code = _main(argv)
        sys.stdout.flush()  # inside the try: a reader gone before the last flush is quiet too
        return code
    except BrokenPipeError:
        try:  # nothing more can be written; keep the interpreter's final flush from complaining
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return 141


def _main(argv) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from .errors import LandscapeError

    try:
        return _COMMANDS[args.command](args)
    except LandscapeError as exc:
        return _exit(args.command, exc)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
