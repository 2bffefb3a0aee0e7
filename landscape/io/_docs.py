"""The reference list of dataset kinds and their variables (``docs/datasets.md``), generated.

Meanings and units come from the one metadata table (:data:`landscape.io._schema.METADATA`),
the kinds and their required variables from :data:`~landscape.io._schema.KINDS`, the
``status`` codes from :data:`~landscape.io._schema.FLAGS`. Which variables, coordinates
and dimensions a kind holds is read off real datasets: :data:`EXAMPLES` builds one of
each kind (and of each variant that adds variables) with the public API on a tiny
network, so the list is what the code writes, not what someone remembered to type.

Regenerate the committed page after changing the schema or a producer::

    python -m landscape.io._docs > docs/datasets.md

(``tests/test_docs.py`` fails while the page and the code disagree.)
"""

from __future__ import annotations

import sys

import numpy as np

from ._schema import CONVENTIONS, FLAGS, FORMAT_VERSION, KINDS, METADATA, metadata_for

__all__ = ["dataset_docs", "example_datasets", "EXAMPLES", "UNDOCUMENTED"]

#: the text written for a name that has no entry in METADATA (tests fail on it)
UNDOCUMENTED = "UNDOCUMENTED: add it to landscape.io._schema.METADATA"

#: the tiny network every example is computed on: widths (2, 2, 2), Sigma = diag(2, 1)
_NET = ([2, 2, 2], [2.0, 1.0])


def _net():
    from ..core import LinearNetwork

    return LinearNetwork(*_NET)


def _w0(net):
    from .. import init

    return init.gaussian(net, 0.1, rng=0)


def _flow(net):
    from ..dynamics import gradient_flow

    return gradient_flow(net, _w0(net), 5.0, n_points=11, progress=False)


def _flow_batched(net):
    from ..dynamics import gradient_flow

    return gradient_flow(net, [np.stack([w, 3.0 * w]) for w in _w0(net)], 5.0, n_points=11, progress=False)


def _descent(net):
    from ..dynamics import gradient_descent

    return gradient_descent(net, _w0(net), 0.1, 10, progress=False)


def _itinerary(net):
    from ..dynamics import gradient_flow, itinerary

    return itinerary(gradient_flow(net, _w0(net), 30.0, n_points=60, times="log", t_min=1e-3, progress=False))


def _critical_points(net):
    from ..critical import critical_points

    return critical_points(net)


def _classified(net):
    from ..critical import critical_points
    from ..stability import classify

    return classify(critical_points(net))


def _critical_values(net):
    from ..critical import critical_values

    return critical_values(net)


def _fiber(net):
    from ..critical import fiber

    return fiber(net, [1], n_samples=3, rng=0)


def _fiber_dimension(net):
    from ..critical import fiber_dimension

    return fiber_dimension(net, [1])


def _inertia(method="auto", eigenvectors=False):
    def build(net):
        from ..critical import representative
        from ..stability import hessian_inertia

        return hessian_inertia(net, representative(net, [1]), method=method, eigenvectors=eigenvectors)

    return build


def _classification(net):
    from ..critical import representative
    from ..stability import classify

    return classify(net, representative(net, [2]))


def _submanifolds(net):
    from ..critical import representative
    from ..stability import submanifolds

    return submanifolds(net, representative(net, []), n_points=5)


def _manifold_surface(net):
    from ..critical import representative
    from ..stability import manifold_surface

    return manifold_surface(net, representative(net, []), "unstable", max_distance=0.1, delta=0.05)


def _eigenpairs(net):
    from ..stability import extreme_eigenpairs

    return extreme_eigenpairs(net, _w0(net), k=2, method="krylov")


def _spectral_density(net):
    from ..stability import spectral_density

    return spectral_density(net, _w0(net), n_probes=3, n_steps=6, n_grid=50)


def _sweep(net):
    from ..sweeps import sweep

    return sweep(net, scales=[0.1], seeds=2, t_end=5.0, n_points=20, processes=False, n_workers=1, progress=False)


def _plateau_scaling(net):
    from ..experiments import plateau_scaling

    return plateau_scaling(depths=[2, 3], inits=["aligned", "balanced"], scales=[1e-3, 1e-2, 3e-2], seeds=2,
                           processes=False, n_workers=1, progress=False)


def _sequential_threshold(net):
    from ..experiments import sequential_threshold

    return sequential_threshold(depths=[2], spectra=[[2.0, 1.0]], scales=[1e-3, 0.1, 1.0], seeds=2, predict=False,
                                n_points=100, processes=False, n_workers=1, progress=False)


def _almost_every_start(net):
    from ..experiments import almost_every_start

    return almost_every_start(depths=[3], inits=["gaussian", "orthogonal"], seeds=4, sigma=[2.0, 1.0], t_end=200.0,
                              processes=False, n_workers=1, progress=False)


#: kind -> ((call, note, builder(net) -> Dataset), ...): how each kind is made; the first entry
#: is the main producer, the others are variants that add or reshape variables
EXAMPLES = {
    "trajectory": (("ls.gradient_flow(net, W0, t_end)", "", _flow),
                   ("ls.gradient_flow(net, W0, t_end)", "W0 with a leading batch axis", _flow_batched),
                   ("ls.gradient_descent(net, W0, step, n_steps)", "", _descent)),
    "itinerary": (("ls.itinerary(traj)", "", _itinerary),),
    "critical_points": (("ls.critical_points(net)", "", _critical_points),
                        ("ls.classify(ls.critical_points(net))", "", _classified)),
    "critical_values": (("ls.critical_values(net)", "", _critical_values),),
    "fiber": (("ls.fiber(net, S)", "", _fiber),),
    "fiber_dimension": (("ls.fiber_dimension(net, S)", "", _fiber_dimension),),
    "inertia": (("ls.hessian_inertia(net, W)", "", _inertia()),
                ("ls.hessian_inertia(net, W, eigenvectors=True)", "", _inertia(eigenvectors=True)),
                ("ls.hessian_inertia(net, W, method='lanczos')", "", _inertia(method="lanczos")),
                ("ls.hessian_inertia(net, W, method='krylov')", "", _inertia(method="krylov")),
                ("ls.hessian_inertia(net, W, method='density')", "", _inertia(method="density"))),
    "classification": (("ls.classify(net, W)", "", _classification),),
    "submanifolds": (("ls.submanifolds(net, W_star)", "", _submanifolds),),
    "sweep": (("ls.sweep(networks, inits, scales, seeds)", "", _sweep),),
    "eigenpairs": (("ls.extreme_eigenpairs(net, W, k)", "", _eigenpairs),),
    "spectral_density": (("ls.spectral_density(net, W)", "", _spectral_density),),
    "manifold_surface": (("ls.manifold_surface(net, W_star, kind)", "", _manifold_surface),),
    "plateau_scaling": (("ls.experiments.plateau_scaling(depths, inits, scales, seeds)", "", _plateau_scaling),),
    "sequential_threshold": (("ls.experiments.sequential_threshold(depths, spectra, scales, seeds)", "",
                              _sequential_threshold),),
    "almost_every_start": (("ls.experiments.almost_every_start(depths, inits, seeds)", "", _almost_every_start),),
}


def _label(call, note):
    return f"`{call}`" + (f" ({note})" if note else "")


def example_datasets():
    """Build every example of :data:`EXAMPLES` on the tiny network.

    Returns
    -------
    dict
        ``kind -> [(label, xarray.Dataset), ...]`` in the order of :data:`EXAMPLES`; ``label`` is the
        call in backticks, with its note.

    Raises
    ------
    RuntimeError
        A kind of :data:`KINDS` has no example, or an example is of another kind.
    """
    missing = sorted(set(KINDS) - set(EXAMPLES))
    if missing:
        raise RuntimeError(f"landscape.io._docs.EXAMPLES has no producer for the kinds {missing}.")
    net = _net()
    out = {}
    for kind, examples in EXAMPLES.items():
        out[kind] = []
        for call, note, build in examples:
            label = _label(call, note)
            ds = build(net)
            if ds.attrs.get("landscape_kind") != kind:
                raise RuntimeError(f"the example {label!r} made a {ds.attrs.get('landscape_kind')!r} dataset, "
                                   f"not {kind!r}.")
            out[kind].append((label, ds))
    return out


def _type(dtype):
    kind = np.dtype(dtype).kind
    return {"f": "float", "i": "int", "u": "int", "b": "bool", "U": "str", "S": "str", "O": "str"}.get(kind, str(dtype))


def _cell(text):
    return str(text).replace("|", "\\|")


def _meaning(kind, name):
    meta = metadata_for(kind, name)
    return (UNDOCUMENTED, "") if meta is None else meta


def _dims(dims_seen):
    return " or ".join("(" + ", ".join(d) + ")" if d else "scalar" for d in dims_seen)


def _kind_section(kind, examples):
    labels = [label for label, _ in examples]
    lines = [f"## {kind}", ""]
    lines.append("Made by " + "; ".join(labels) + ".")
    required = KINDS[kind]
    if required:
        lines.append("Always holds " + ", ".join(f"`{v}`" for v in required) + " (checked by `ls.load`).")
    lines.append("")
    # name -> {"dims": [tuple, ...], "type": [...], "in": [labels], "coord": bool}
    table = {}
    dims = {}
    for label, ds in examples:
        for name, var in ds.variables.items():
            row = table.setdefault(name, {"dims": [], "type": [], "in": [], "coord": name in ds.coords})
            if tuple(var.dims) not in row["dims"]:
                row["dims"].append(tuple(var.dims))
            t = _type(var.dtype)
            if t not in row["type"]:
                row["type"].append(t)
            row["in"].append(label)
        for d in ds.dims:
            dims.setdefault(d, []).append(label)

    def note(present):
        if len(present) == len(labels):
            return ""
        return " *(only from " + "; ".join(present) + ")*"

    if dims:
        lines += ["| dimension | meaning | coordinate |", "|---|---|---|"]
        for d in sorted(dims):
            long_name, _ = _meaning(kind, d)
            has = "yes" if d in table else "no (positions)"
            lines.append(f"| `{d}` | {_cell(long_name)}{note(dims[d])} | {has} |")
    else:
        lines.append("No dimensions: every variable is a scalar.")
    lines.append("")
    for title, coord in (("Coordinates", True), ("Data variables", False)):
        rows = [(n, r) for n, r in table.items() if r["coord"] == coord]
        if not rows:
            continue
        lines += [f"{title}:", "", "| name | dims | type | units | meaning |", "|---|---|---|---|---|"]
        for name, r in sorted(rows, key=lambda item: item[0]):
            long_name, units = _meaning(kind, name)
            flags = " Stored in files as `int8` CF flags, see [status codes](#status-codes)." if name in FLAGS else ""
            lines.append(f"| `{name}` | {_dims(r['dims'])} | {'/'.join(r['type'])} | {_cell(units) or '-'} | "
                         f"{_cell(long_name)}.{flags}{note(r['in'])} |")
        lines.append("")
    return lines


def dataset_docs(examples=None):
    """The Markdown page listing every dataset kind, its dimensions, coordinates and variables.

    Parameters
    ----------
    examples : dict, optional
        The output of :func:`example_datasets` (computed when omitted, a few seconds: it
        integrates flows, classifies critical points and runs a one-chunk sweep in threads).

    Returns
    -------
    str
        The text of ``docs/datasets.md``: for each kind in :data:`KINDS`, how it is made, and
        a table of its dimensions, coordinates and data variables with dims, type, units and
        meaning (``long_name`` from :data:`METADATA`); then the ``status`` codes. A name that
        has no metadata is written as :data:`UNDOCUMENTED`.
    """
    if examples is None:
        examples = example_datasets()
    lines = [
        "# Dataset kinds and their variables",
        "",
        "<!-- generated by `python -m landscape.io._docs > docs/datasets.md` from landscape/io/_schema.py; "
        "do not edit by hand (tests/test_docs.py compares) -->",
        "",
        "Every result landscape computes is an `xarray.Dataset`, saved by `ls.save` as netCDF4 (CF "
        f"{CONVENTIONS.split('-')[-1]}) and read back by `ls.load`. Each carries the attributes `landscape_kind` "
        f"(one of the kinds below), `landscape_format` (`{FORMAT_VERSION}`) and `Conventions` (`{CONVENTIONS}`); "
        "results about one network also carry `widths`, `sigma`, `depth` and `loss` (and, for a network built from "
        "data, the rotations `data_U`, `data_V`, `data_input_map`, `data_input_map_inv` and `loss_offset`), from which "
        "`ls.network_of(ds)` rebuilds it. `loss` names the network's loss (`squared`, the default whitened quadratic "
        "loss; `raw_squared`, `logistic`, `cross_entropy`); for a loss other than `squared` the loss's data are not "
        "stored (`loss_description` holds its repr, and `sigma` is present only for `raw_squared`, its whitened "
        "reduction's), so `ls.network_of(ds, loss=...)` needs the loss object and refuses without it.",
        "",
        "Each variable and coordinate gets its `long_name` (the meaning below) and `units` from one table, "
        "`landscape.io._schema.METADATA`. Every quantity is dimensionless (losses, weights and singular values "
        "are numbers in the reduced coordinates of spec 1.2; time is the gradient flow's own time), so every unit "
        "is the UDUNITS dimensionless unit `1`. Weights are stored flat on the `param` dimension (`W_1, ..., W_h`, "
        "each row-major) with the coordinates `layer`, `row` and `col`; `ls.weights_at(ds, i)` gives back the layer "
        "list. Types are those in memory; on disk booleans are `int8` and `status` is a CF flag variable.",
        "",
        "The variables listed for a kind are those of the datasets the functions named under it return (read "
        "off real datasets when this page is generated); a note says when a variable comes only from some of them.",
        "",
        "Kinds: " + ", ".join(f"[`{k}`](#{k})" for k in KINDS) + ".",
        "",
    ]
    for kind in KINDS:
        lines += _kind_section(kind, examples[kind])
    lines += ["## Status codes", ""]
    for name, meanings in FLAGS.items():
        long_name, _ = _meaning(None, name)
        lines += [f"`{name}` ({long_name}); in files, `int8` codes with `flag_values`/`flag_meanings`:", "",
                  "| code | meaning |", "|---|---|"]
        lines += [f"| {code} | `{meaning}` |" for code, meaning in enumerate(meanings)]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv=None):
    """``python -m landscape.io._docs [--out PATH]``: write the page to PATH or standard output."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m landscape.io._docs", description="Write docs/datasets.md.")
    parser.add_argument("--out", help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    text = dataset_docs()
    if args.out is None:
        sys.stdout.write(text)
    else:
        from pathlib import Path

        from .._atomic import atomic_write

        atomic_write(Path(args.out), lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
