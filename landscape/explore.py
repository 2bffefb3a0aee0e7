"""The main job: explore a network's landscape end to end and write a report.

For each network: enumerate the critical points and classify them once (the stored
``{name}-critical.nc``, the report's table and the spectra picture all read that one
classification), integrate small- and large-initialisation trajectories with their
itineraries, grow the stable and unstable sets of the origin, write every result as
netCDF, render the pictures, and write one ``index.html`` with every table, chart and
3-D scene. Each 3-D scene is shown as an interactive view (plotly; ``plotly.min.js`` is
copied into the report folder, so the page works offline and can be shared as a folder),
with its PNG (for papers) and a standalone page linked beside it. Charts are matplotlib
PNGs. ``landscape explore`` runs it on the default examples: the scalar depth-3 network
with sigma = 3 and widths (3, 3, 3, 3) with Sigma = diag(3, 2, 1).
"""

from __future__ import annotations

import html
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._atomic import atomic_write
from .errors import LandscapeValueError

__all__ = ["explore", "check_output_dir", "check_report_files", "report_files", "loss_figure", "singular_values_figure",
           "DEFAULT_EXAMPLES", "Section"]

DEFAULT_EXAMPLES = (("scalar-depth3", (1, 1, 1, 1), (3.0,)), ("widths-3333", (3, 3, 3, 3), (3.0, 2.0, 1.0)))


def check_output_dir(out) -> Path:
    """Create ``out`` if needed and prove it writable, before any work starts."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise LandscapeValueError(f"--out {str(out)!r} is not a writable folder ({exc.strerror or exc}).") from exc
    return out


@dataclass
class Section:
    """One network's part of the report."""

    name: str
    title: str
    tables: list = field(default_factory=list)  # (caption, header, rows)
    figures: list = field(default_factory=list)  # (file name, caption, view or None); view = (div html, page name)
    files: list = field(default_factory=list)  # data files written
    summary: list = field(default_factory=list)  # rows for the printed summary


def _table_critical(cp):
    """The critical-points table, read from a dataset classified by :func:`landscape.classify` (no recomputation)."""
    rows = []
    for i in range(cp.sizes["point"]):
        rows.append([str(cp.subset.values[i]), f"{float(cp.loss.values[i]):.4g}", str(cp.kind.values[i]),
                     int(cp.n_negative.values[i]), int(cp.n_zero.values[i]), f"{float(cp.lambda_min.values[i]):.4g}",
                     str(cp.certificate.values[i]), int(cp.order.values[i])])
    return ["S", "L_S", "kind", "# negative", "# zero", "lambda_min", "certificate", "order"], rows


#: colours of the small- and large-initialisation runs in the charts
RUN_COLORS = {"small": "#d62728", "large": "#1f5fbf"}
SV_COLORS = ("#d62728", "#ff7f0e", "#2ca02c", "#1f77b4", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
#: the loss axis reaches this fraction of the smallest positive critical value below it
LOSS_FLOOR = 1e-6


def loss_figure(name, runs, size="medium"):
    """The loss along each flow, on logarithmic axes, with the visited critical values marked.

    Parameters
    ----------
    name : str
        The network's name in the report (first words of the title).
    runs : dict of str to (xarray.Dataset, xarray.Dataset)
        Label (``"small"``, ``"large"``) to its trajectory and itinerary.
    size : {"small", "medium", "large"} or (width, height), default="medium"

    Returns
    -------
    matplotlib.figure.Figure
        Log-log axes; the curves are the runs in order; dotted reference lines at the
        positive critical values ``L_S`` the runs visit, labelled with ``S``; the y axis
        ends at :data:`LOSS_FLOOR` times the smallest of them.
    """
    from .render import chart_lines

    series = [(ds.time.values, ds.loss.values, f"{label} initialisation", RUN_COLORS.get(label, "#333333"))
              for label, (ds, _) in runs.items()]
    visited = {}
    for _, it in runs.values():
        for S, L in zip(it.subset.values, it.plateau_loss.values):
            if float(L) > 0:
                visited[float(L)] = str(S)
    references = [(L, f"L_{S} = {L:.3g}") for L, S in sorted(visited.items(), reverse=True)]
    floor = LOSS_FLOOR * min(visited) if visited else None
    return chart_lines(series, "time", "loss", f"{name}: loss along the flow, small and large initialisation", size,
                       log_x=True, log_y=True, y_min=floor, references=references)


def singular_values_figure(name, ds, label="small", size="medium"):
    """The singular values of ``P = W_h ... W_1`` along one flow, with their targets ``sigma_k`` dotted.

    Parameters
    ----------
    name : str
    ds : xarray.Dataset
        A trajectory.
    label : str, default="small"
        Which initialisation it is (in the title).
    size : {"small", "medium", "large"} or (width, height), default="medium"

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .io import network_of
    from .render import chart_lines

    sv = ds.singular_values.values
    net = network_of(ds)
    series = [(ds.time.values, sv[:, k], f"sigma_{k + 1}(P)", SV_COLORS[k % len(SV_COLORS)])
              for k in range(sv.shape[1])]
    targets = [(float(s), f"sigma_{k + 1} = {float(s):.3g}") for k, s in enumerate(net.sigma[: sv.shape[1]])]
    return chart_lines(series, "time", "singular value", f"{name}: singular values of P = W_h...W_1, {label} "
                       "initialisation", size, log_x=True, references=targets)


def _origin_is_critical(net) -> bool:
    """True from depth 2 on: each gradient block ``dL/dW_i`` holds the other layers' product, zero at the origin."""
    return net.depth >= 2


def report_files(examples=DEFAULT_EXAMPLES) -> list:
    """The file names :func:`explore` writes into its folder for ``examples``, in writing order.

    Checked before any work (an existing file among them that landscape did not write is
    refused unless ``overwrite``); keep it in step with :func:`_run_network` (a test
    compares it with a real report folder).

    Parameters
    ----------
    examples : sequence of (name, widths, sigma)

    Returns
    -------
    list of str
    """
    from .core import LinearNetwork
    from .render import PLOTLY_JS

    names = []
    for name, widths, sigma in examples:
        net = LinearNetwork(widths, sigma)
        names.append(f"{name}-critical.nc")
        if net.n_params <= 2500:
            names.append(f"{name}-spectra.png")
        for label in ("small", "large"):
            names += [f"{name}-flow-{label}.nc", f"{name}-itinerary-{label}.nc"]
        names += [f"{name}-loss.png", f"{name}-singular-values.png"]
        if _origin_is_critical(net):
            names += [f"{name}-manifolds.nc", f"{name}-manifolds.png", f"{name}-manifolds.html"]
        if net.widths == (1, 1, 1, 1):
            names += [f"{name}-flow-sphere.nc", f"{name}-landscape.png", f"{name}-landscape.html"]
        else:
            names += [f"{name}-trajectory-3d.vtp", f"{name}-trajectory-3d.png", f"{name}-trajectory-3d.html"]
    return names + [PLOTLY_JS, "index.html"]


def check_report_files(out, examples=DEFAULT_EXAMPLES, overwrite=False, name="--out"):
    """Refuse, before any work, to replace a file in ``out`` that landscape did not write.

    Every name in :func:`report_files` that exists in ``out`` must be a file landscape
    wrote (:func:`landscape._atomic.is_landscape_output`: netCDF attributes, or the stamp
    of a PNG, HTML, ``.vtp`` or ``.js`` file), unless ``overwrite``.

    Raises
    ------
    LandscapeValueError
        One line naming the first such file.
    """
    from ._atomic import is_landscape_output

    out = Path(out)
    if overwrite or not out.is_dir():
        return
    for fname in report_files(examples):
        target = out / fname
        if target.is_dir():
            raise LandscapeValueError(f"{name} {str(out)!r}: the report writes the file {fname!r}, which is a folder "
                                      f"there; move it away.")
        if target.exists() and not is_landscape_output(target):
            raise LandscapeValueError(f"{name} {str(out)!r} holds {fname!r}, a file landscape did not write, with a "
                                      f"name the report writes; move it away or pass --overwrite (overwrite=True) to "
                                      f"replace it.")


def _run_network(name, widths, sigma, out, size, bar):
    from . import init
    from .core import LinearNetwork
    from .critical import critical_points
    from .dynamics import gradient_flow, itinerary
    from .io import save
    from .render import (html_view, picture, quotient_scene, render, save_html, save_mesh, save_png, scalar_scene,
                         trajectory_scene)
    from .render._quotient import uses_quotient
    from .render._scenes import trajectory_tubes
    from .stability import classify, submanifolds

    net = LinearNetwork(widths, sigma)
    h = net.depth
    sec = Section(name, f"{net!r} (depth {h}, {net.n_params} parameters)")

    def write(ds, fname):
        save(ds, out / fname)
        sec.files.append(fname)

    def scene(sc, stem, caption):
        """PNG for papers, a standalone interactive page and the view embedded in index.html."""
        save_png(sc, out / f"{stem}.png")
        page = save_html(sc, out / f"{stem}.html")
        sec.figures.append((f"{stem}.png", caption, (html_view(sc, f"view-{stem}"), page.name)))

    # critical points and their classification, computed once: the file, the table and the picture read it
    cp = classify(critical_points(net))
    write(cp, f"{name}-critical.nc")
    header, rows = _table_critical(cp)
    sec.tables.append(("Critical points per learnt subset S (one quotient point each; representatives A*_S)", header, rows))
    sec.summary += [[name, r[0], r[1], r[2]] for r in rows]
    if net.n_params <= 2500:
        render(cp, out / f"{name}-spectra.png", size=size)
        sec.figures.append((f"{name}-spectra.png", "Hessian spectra at every representative A*_S (one column per "
                            "learnt subset S, by critical value), coloured by kind; equal eigenvalues are drawn once, "
                            "the marker growing with the multiplicity k written beside it. Strict saddles have a "
                            "negative eigenvalue; non-strict ones only zeros, where the loss still decreases (at "
                            "order h along insertion arcs).", None))
    bar.update(1)

    # trajectories: small and large initialisation
    rng = np.random.default_rng(0)
    small_t = 12.0 if h <= 2 else (500.0 if net.n_params <= 3 else 400.0)
    runs = {
        "small": (init.gaussian(net, 0.1 if net.n_params <= 3 else 1e-2, rng=rng), small_t, "log"),
        "large": (init.gaussian(net, 1.0, rng=rng), 20.0, "log"),
    }
    trajectories = {}
    for label, (W0, t_end, times) in runs.items():
        ds = gradient_flow(net, W0, t_end, times=times, n_points=400, t_min=1e-3, progress=False)
        it = itinerary(ds)
        write(ds, f"{name}-flow-{label}.nc")
        write(it, f"{name}-itinerary-{label}.nc")
        trajectories[label] = (ds, it)
        t_half = ", ".join(f"{x:.4g}" for x in it.t_half.values)
        sec.tables.append((f"Itinerary, {label} initialisation", ["route", "half-learning times", "final loss", "status"],
                           [[str(it.attrs["route"]), t_half, f"{float(ds.loss_final):.3g}", str(ds.status.values)]]))
    save_png(loss_figure(name, trajectories, size), out / f"{name}-loss.png")
    sec.figures.append((f"{name}-loss.png", "Loss versus time, both axes logarithmic, from a small (red) and a large "
                        "(blue) initialisation. From the small one the flow rests on plateaus at the critical values "
                        "L_S of the saddles it visits (dotted, labelled with S); from the large one it learns all "
                        f"modes together. The loss axis stops at {LOSS_FLOOR:g} times the smallest positive critical "
                        "value visited: below it the flows converge to the global minimum (loss 0).", None))
    ds_small = trajectories["small"][0]
    save_png(singular_values_figure(name, ds_small, "small", size), out / f"{name}-singular-values.png")
    sec.figures.append((f"{name}-singular-values.png", "Singular values of the end-to-end matrix P along the "
                        "small-initialisation flow, with their targets sigma_k dotted: learnt one at a time, the "
                        "largest first (sequential learning).", None))
    bar.update(1)

    # stable and unstable sets of the origin: a critical point from depth 2 on (every gradient block is a
    # product with a zero factor); at depth 1 the gradient there is -Sigma and the only critical point is the
    # global minimum of a convex quadratic, whose stable set is everything
    sm = None
    if _origin_is_critical(net):
        origin = [np.zeros(s) for s in net.shapes]
        # in quotient coordinates small weights shrink (p ~ w^h): grow the sets a little further to be seen there
        sm = submanifolds(net, origin, n_points=40, max_radius=2.5 if uses_quotient(net) else 2.0)
        write(sm, f"{name}-manifolds.nc")
        sec.tables.append(("Stable and unstable sets of the origin", ["unstable dim (est.)", "stable dim (est.)",
                                                                      "branches", "sources"],
                           [[int(sm.unstable_dimension), int(sm.stable_dimension), sm.sizes["branch"],
                             ", ".join(sorted(set(sm.source.values.tolist())))]]))
        if uses_quotient(net):
            # the unstable set is invariant: continue its branches forward by the flow, to the saddles they reach
            unstable = [b for b in range(sm.sizes["branch"]) if str(sm.branch_kind.values[b]) == "unstable"]
            ends = [sm.theta.values[b][np.isfinite(sm.theta.values[b][:, 0])][-1] for b in unstable]
            orbits = []
            if ends:
                onward = gradient_flow(net, net.unflatten(np.array(ends)), small_t, times="log", n_points=200,
                                       t_min=1e-3, progress=False)
                orbits = [("unstable", onward.theta.values[r]) for r in range(len(ends))]
            sc = quotient_scene(net, manifolds=[sm], orbits=orbits, critical=cp, size=size,
                                title=f"{name}: stable (blue) / unstable (red) sets of the origin, quotient coordinates")
            where = (" In quotient coordinates p_k = u_k^T P v_k (the end-to-end matrix on the modes; the loss as the "
                     "third axis when there are two): the sets attach to the corner S = {} of the box of critical "
                     "points, each corner marked by its kind and labelled with S; the unstable branches are continued "
                     "forward by the flow (the set is invariant) to the saddle they reach; the stable ones are drawn "
                     "until they leave the view.")
        else:
            sc, where = picture(sm, size=size)[0], ""
        scene(sc, f"{name}-manifolds",
              "Stable (blue) and unstable (red) sets of the origin (S = {}), grown by the flow (forward for unstable, "
              "backward for stable) from seeds on Hessian eigenvectors and on insertion arcs where the Hessian is "
              "zero." + where)
    else:
        sec.tables.append(("Stable and unstable sets of the origin", ["note"],
                           [["depth 1: the origin is not a critical point (the gradient there is -Sigma); the loss is "
                             "a convex quadratic whose only critical point is the global minimum, and every flow "
                             "converges to it, so there are no stable or unstable sets to grow"]]))
    bar.update(1)

    # the 3D pictures
    if net.widths == (1, 1, 1, 1):
        rng2 = np.random.default_rng(3)
        starts = rng2.normal(size=(8, 3))
        starts = 0.4 * starts / np.linalg.norm(starts, axis=1, keepdims=True)
        batch = [starts[:, i].reshape(-1, 1, 1) for i in range(3)]
        ds = gradient_flow(net, batch, 10.0, n_points=300, progress=False)
        write(ds, f"{name}-flow-sphere.nc")
        trajs = [(ds.theta.values[r], ds.loss.values[r]) for r in range(ds.sizes["run"])]
        sc = scalar_scene(float(net.sigma[0]), size, trajectories=trajs, manifolds=sm,
                          title="scalar depth 3: critical set, flows, stable/unstable sets")
        scene(sc, f"{name}-landscape", "The landscape in (w1, w2, w3): minima w1 w2 w3 = 3 (green, S = {1}), strict "
              "saddles on the axes (orange, S = {}), the non-strict saddle at the origin (purple, S = {}), "
              "trajectories from a sphere of radius 0.4 (tubes coloured by loss; black sphere: start, black cube: "
              "end), and the stable (blue) and unstable (red) half-lines of the origin.")
    else:
        ds_small, it_small = trajectories["small"]
        if uses_quotient(net):  # both flows in the quotient's coordinates, every critical point at a box corner
            sc = quotient_scene(net, trajectories=[ds_small, trajectories["large"][0]], critical=cp, size=size,
                                title=f"{name}: flows from small and large initialisation, quotient coordinates")
        else:
            sc = trajectory_scene(ds_small, size, itinerary=it_small, coordinates="pca")
        tube = next(p for p in sc.paths if p.values is not None)  # the small flow's tube
        save_mesh(trajectory_tubes(tube.points, tube.values, radius=tube.radius), out / f"{name}-trajectory-3d.vtp")
        sec.files.append(f"{name}-trajectory-3d.vtp")
        if uses_quotient(net):
            caption = ("The flows from the small and the large initialisation in quotient coordinates p_k = u_k^T P v_k "
                       "(the end-to-end matrix P = W_h...W_1 on the first three modes; with two modes the third axis "
                       "is the loss). Every critical point sits at a corner of the box prod_k [0, sigma_k] (faint "
                       "edges): p_k = sigma_k for the learnt modes k in S, 0 for the others; each corner is marked by "
                       "its kind (green: global minimum, orange: strict, purple: non-strict saddle) and labelled with "
                       "S and its kind. The small flow runs along the edges from saddle to saddle ({} -> {1} -> ...), "
                       "the large one cuts across. Tubes coloured by loss; black sphere: start, black cube: end.")
        else:
            caption = ("The small-initialisation trajectory in a PCA projection of its weights (explained variance on "
                       "the axes), coloured by loss, from its start (black sphere) to its end (black cube); each corner "
                       "is a saddle it visits, labelled with its subset S and critical value L_S.")
        scene(sc, f"{name}-trajectory-3d", caption)
    bar.update(1)
    return sec


_STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
          "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px;font-size:90%}"
          "th{background:#eee}figure{margin:1.5em 0}img{max-width:100%;border:1px solid #ddd}"
          "figcaption{font-size:90%;color:#444}.viewer{border:1px solid #ddd}"
          ".viewer-missing{padding:1em;color:#a00}.links{font-size:90%}")


def _html(sections, out, elapsed):
    from .render import PLOTLY_JS, write_plotly_js

    has_views = any(view for sec in sections for *_, view in sec.figures)
    if has_views:
        write_plotly_js(out)
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>landscape explore</title>",
             f"<style>{_STYLE}</style>",
             f"<script src='{PLOTLY_JS}'></script>" if has_views else "",
             "</head><body>",
             "<h1>landscape explore</h1>",
             f"<p>Gradient-flow dynamics and loss landscapes of deep linear networks in adjacency form. "
             f"Generated in {elapsed:.0f} s. Every table below is also stored as netCDF next to this page. "
             f"The 3-D scenes are interactive (drag to rotate, scroll to zoom, click a legend entry to hide it); "
             f"they need {PLOTLY_JS} from this folder and no network. Each has its PNG, for papers, beside it.</p>"]
    for sec in sections:
        parts.append(f"<h2>{html.escape(sec.title)}</h2>")
        for caption, header, rows in sec.tables:
            parts.append(f"<h3>{html.escape(caption)}</h3><table><tr>")
            parts += [f"<th>{html.escape(str(h))}</th>" for h in header]
            parts.append("</tr>")
            for row in rows:
                parts.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>")
            parts.append("</table>")
        for fname, caption, view in sec.figures:
            if view is None:
                parts.append(f"<figure><img src='{html.escape(fname)}' alt='{html.escape(caption)}'>"
                             f"<figcaption>{html.escape(caption)}</figcaption></figure>")
                continue
            div, page = view
            parts.append(f"<figure>{div}<figcaption>{html.escape(caption)}<br><span class='links'>"
                         f"PNG for papers: <a href='{html.escape(fname)}'>{html.escape(fname)}</a> &middot; "
                         f"this view alone: <a href='{html.escape(page)}'>{html.escape(page)}</a></span></figcaption>"
                         f"<details><summary>static picture (PNG)</summary><img src='{html.escape(fname)}' "
                         f"alt='{html.escape(caption)}'></details></figure>")
        parts.append("<p>Data: " + ", ".join(f"<a href='{html.escape(f)}'>{html.escape(f)}</a>" for f in sec.files) + "</p>")
    parts.append("</body></html>")
    page = "\n".join(parts)
    return atomic_write(out / "index.html", lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))


def explore(out="landscape-report", examples=DEFAULT_EXAMPLES, size="medium", progress=True, echo=print,
            overwrite=False):
    """Run the whole exploration and write ``out/index.html``.

    Parameters
    ----------
    out : str or os.PathLike, default="landscape-report"
    examples : sequence of (name, widths, sigma)
    size : {"small", "medium", "large"}
    progress : bool
    echo : callable
        Where the summary table goes (``print`` by default).
    overwrite : bool, default=False
        Replace files in ``out`` with the report's names (:func:`report_files`) that
        landscape did not write; without it they are refused before any work.

    Returns
    -------
    pathlib.Path
        The ``index.html`` written.

    Raises
    ------
    LandscapeValueError
        Before any work: ``out`` cannot be written, or holds a file with a report name
        that landscape did not write (:func:`check_report_files`).
    """
    from tqdm.auto import tqdm

    from .render import PLOTLY_JS, write_plotly_js

    for _, widths, sigma in examples:  # bad networks refused before anything is written
        from .core import LinearNetwork

        LinearNetwork(widths, sigma)
    check_report_files(out, examples, overwrite=overwrite)
    out = check_output_dir(out)
    if overwrite and (out / PLOTLY_JS).exists():
        write_plotly_js(out, overwrite=True)  # the user's copy goes, as asked; the scenes' pages reuse this one
    start = time.perf_counter()
    sections = []
    with tqdm(total=4 * len(examples), disable=not progress, desc="landscape explore", unit="step") as bar:
        for name, widths, sigma in examples:
            bar.set_postfix_str(name)
            sections.append(_run_network(name, widths, sigma, out, size, bar))
    elapsed = time.perf_counter() - start
    index = _html(sections, out, elapsed)
    rows = [r for s in sections for r in s.summary]
    widths_ = [max(len(str(r[i])) for r in rows + [["network", "S", "L_S", "kind"]]) for i in range(4)]
    echo("  ".join(h.ljust(w) for h, w in zip(["network", "S", "L_S", "kind"], widths_)))
    for r in rows:
        echo("  ".join(str(v).ljust(w) for v, w in zip(r, widths_)))
    n_png = sum(len(s.figures) for s in sections)
    n_views = sum(1 for s in sections for *_, view in s.figures if view)
    echo(f"wrote {n_png} pictures ({n_views} also interactive), {sum(len(s.files) for s in sections)} data files and "
         f"{index} in {elapsed:.0f} s")
    return index
