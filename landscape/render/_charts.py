"""2-D charts with matplotlib (Agg, no pyplot state): loss and singular-value curves, Hessian spectra.

Each function returns a :class:`matplotlib.figure.Figure` that :func:`landscape.render.save_png`
writes atomically. Legends sit outside the axes (constrained layout makes room), so they
never cover a curve; reference lines (critical values, targets) are dotted, grey, carry
``gid="reference"`` and are labelled just outside the right spine.
"""

from __future__ import annotations

import numpy as np

from ..errors import LandscapeValueError
from ._base import SIZES

__all__ = ["chart_lines", "spectrum_chart", "figure", "multiplicities"]

#: figure size in inches at every picture size: the pixel size only changes the dpi, so
#: a small picture has the same layout as a large one.
_INCHES = 8.0
_REFERENCE = "#8a8a8a"


def figure(size="medium", stretch=1.0):
    """A blank matplotlib Figure of ``size`` pixels (Agg canvas, constrained layout, white).

    Parameters
    ----------
    size : {"small", "medium", "large"} or (width, height)
        Pixel size; see :data:`landscape.render.SIZES`.
    stretch : float, default=1.0
        Widen the figure by this factor at the same font and marker sizes (the pixel
        width becomes ``stretch * width``): room for many columns.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if isinstance(size, str):
        if size not in SIZES:
            raise LandscapeValueError(f"size must be one of {list(SIZES)} or (width, height); got {size!r}.")
        width, height = SIZES[size]
    else:
        width, height = (int(v) for v in size)
    stretch = max(1.0, float(stretch))
    fig = Figure(figsize=(_INCHES * stretch, _INCHES * height / width), dpi=width / _INCHES, layout="constrained",
                 facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def _outside_legend(fig, ax):
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        legend = fig.legend(handles, labels, loc="outside right upper", frameon=False, fontsize="small")
        for h in legend.legend_handles:  # scatter entries: one marker size, whatever the multiplicity
            if hasattr(h, "set_sizes"):
                h.set_sizes([40.0])


def _finish(fig, ax, x_label, y_label, title, grid_axis):
    """Axis labels, the title, a light major grid and the legend outside the axes."""
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    if title:
        ax.set_title(title)
    ax.grid(True, axis=grid_axis, which="major", color="#e6e6e6", linewidth=0.8)
    _outside_legend(fig, ax)


def _reference_lines(ax, references):
    for value, label in references:
        ax.axhline(value, color=_REFERENCE, linestyle=":", linewidth=1.0, gid="reference", zorder=1)
        if label:
            ax.annotate(label, xy=(1.0, value), xycoords=("axes fraction", "data"), xytext=(3, 0),
                        textcoords="offset points", va="center", ha="left", fontsize="x-small", color="#555555",
                        gid="reference", annotation_clip=False)


def chart_lines(series, x_label, y_label, title=None, size="medium", log_x=False, log_y=False, *, y_min=None,
                references=(), annotations=(), steps=False):
    """Curves ``[(x, y, label, color), ...]`` on one axis (matplotlib Figure).

    Parameters
    ----------
    series : sequence of (ndarray of shape (n,), ndarray of shape (n,), str, str)
        x values, y values, legend label and colour of each curve. Points that are not
        finite, or not positive on a logarithmic axis, are left out.
    x_label, y_label : str
    title : str, optional
    size : {"small", "medium", "large"} or (width, height), default="medium"
    log_x, log_y : bool, default=False
        Logarithmic axes (plateaus at small critical values stay visible with ``log_y``).
    y_min : float, optional
        Lower end of the y axis (a floor for a logarithmic loss axis); curves below it leave the frame.
    references : sequence of (float, str)
        Horizontal dotted reference lines (e.g. critical values ``L_S``), labelled outside the right spine.
    annotations : sequence of (float, float, str)
        Text placed at data points ``(x, y)`` (e.g. the subset ``S`` of a plateau).
    steps : bool, default=False
        Draw the curves as steps (post).

    Returns
    -------
    matplotlib.figure.Figure
        One axes; its lines are the series in order, then the reference lines (``gid="reference"``).
    """
    fig = figure(size)
    ax = fig.add_subplot()
    for x, y, label, color in series:
        x, y = np.asarray(x, float), np.asarray(y, float)
        ok = np.isfinite(x) & np.isfinite(y)
        if log_x:
            ok &= x > 0
        if log_y:
            ok &= y > 0
        if steps:
            ax.step(x[ok], y[ok], where="post", color=color, linewidth=2.0, label=label, zorder=3)
        else:
            ax.plot(x[ok], y[ok], color=color, linewidth=2.0, label=label, zorder=3)
    if log_x:
        ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    if y_min is not None:
        ys = [np.asarray(y, float) for _, y, _, _ in series]
        ys = np.concatenate([y[np.isfinite(y) & (y > float(y_min))] for y in ys]) if ys else np.empty(0)
        top = float(ys.max()) if ys.size else None
        if top is not None and log_y:
            top *= (top / float(y_min)) ** 0.06
        elif top is not None:
            top += 0.06 * (top - float(y_min))
        ax.set_ylim(float(y_min), top)
    _reference_lines(ax, [(float(v), str(lab)) for v, lab in references if not (log_y and v <= 0)])
    for x, y, text in annotations:
        ax.annotate(str(text), xy=(x, y), xytext=(4, 5), textcoords="offset points", fontsize="small", color="#222222")
    _finish(fig, ax, x_label, y_label, title, grid_axis="both")
    return fig


def multiplicities(values, tol=1e-6):
    """Distinct values and how often each occurs, equal within ``tol * max(1, max |values|)``.

    Parameters
    ----------
    values : array_like of shape (n,)
        NaNs are left out.
    tol : float, default=1e-6

    Returns
    -------
    distinct : ndarray of shape (k,)
        Sorted; each the mean of its cluster.
    counts : ndarray of shape (k,) of int

    Examples
    --------
    >>> multiplicities([0.0, 1e-15, 2.0, -1.0, 2.0])
    (array([-1.,  0.,  2.]), array([1, 2, 2]))
    """
    v = np.sort(np.asarray(values, dtype=float).ravel())
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.empty(0), np.empty(0, dtype=int)
    eps = tol * max(1.0, float(np.abs(v).max()))
    cuts = np.flatnonzero(np.diff(v) > eps) + 1
    groups = np.split(v, cuts)
    return np.array([g.mean() for g in groups]), np.array([g.size for g in groups], dtype=int)


def _spread(ys, gap):
    """Positions for labels at ``ys`` (sorted order kept) at least ``gap`` apart, moved as little as possible."""
    order = np.argsort(ys)
    out = np.asarray(ys, float)[order].copy()
    for i in range(1, out.size):
        out[i] = max(out[i], out[i - 1] + gap)
    res = np.empty_like(out)
    res[order] = out
    return res


def _marker_area(counts):
    """Marker area (points^2) for a multiplicity: grows with log2 of the count."""
    return 36.0 * (1.0 + 1.5 * np.log2(np.maximum(np.asarray(counts, float), 1.0)))


#: least width of one spectrum column (marker and its ``×k`` label), inches
COLUMN_INCHES = 0.55
#: width of the spectrum chart outside its columns (y axis, legend), inches
_SPECTRUM_MARGIN_INCHES = 3.2
#: above this many columns the spectrum chart turns its tick labels
FLAT_TICKS = 8


def spectrum_chart(groups, title=None, size="medium", x_label="critical point S", y_label="Hessian eigenvalue",
                   tol=1e-6):
    """Spectra as columns of markers, one column per critical point, multiplicities shown.

    Equal eigenvalues (within ``tol``) are drawn once; the marker's area grows with the
    multiplicity ``k`` and a label ``×k`` stands to its right when ``k > 1``. Every
    column gets at least :data:`COLUMN_INCHES` of width (the figure widens beyond
    ``size`` for many columns, e.g. the 32 subsets of 5 modes), and with more than
    :data:`FLAT_TICKS` columns the tick labels are turned by 60 degrees.

    Parameters
    ----------
    groups : sequence of (str, array_like of shape (n,), str, str)
        Tick label of the column (the subset ``S``), eigenvalues (NaNs ignored), legend
        label (the kind) and colour.
    title : str, optional
    size : {"small", "medium", "large"} or (width, height), default="medium"
    x_label, y_label : str
    tol : float, default=1e-6
        Relative tolerance for equal eigenvalues (see :func:`multiplicities`).

    Returns
    -------
    matplotlib.figure.Figure
        One axes; column ``i`` is the ``i``-th scatter collection (offsets ``(i, value)``),
        the ``×k`` labels are its texts, the tick labels the groups' names.
    """
    n = len(groups)
    fig = figure(size, stretch=(n * COLUMN_INCHES + _SPECTRUM_MARGIN_INCHES) / _INCHES)
    ax = fig.add_subplot()
    ax.axhline(0.0, color=_REFERENCE, linewidth=0.8, gid="reference", zorder=1)
    seen = set()
    lo, hi = 0.0, 0.0
    labels = []
    for i, (name, ev, label, color) in enumerate(groups):
        values, counts = multiplicities(ev, tol)
        sizes = _marker_area(counts)
        show = label and label not in seen
        ax.scatter(np.full(values.size, float(i)), values, s=sizes, color=color, edgecolors="white", linewidths=0.6,
                   label=label if show else None, zorder=3)
        seen.add(label)
        labels.extend((i, v, k) for v, k in zip(values, counts) if k > 1)
        if values.size:
            lo, hi = min(lo, float(values.min())), max(hi, float(values.max()))
    pad = 0.08 * max(hi - lo, 1.0)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlim(-0.6, max(len(groups) - 1, 0) + 0.8)
    if n > FLAT_TICKS:  # long labels side by side would overlap: turned, anchored at their tick
        ax.set_xticks(range(n), [str(g[0]) for g in groups], rotation=60, ha="right", rotation_mode="anchor",
                      fontsize="small")
    else:
        ax.set_xticks(range(n), [str(g[0]) for g in groups])
    _finish(fig, ax, x_label, y_label, title, grid_axis="y")
    fig.canvas.draw()  # axes height known: keep the count labels of one column from overlapping
    height_px = ax.get_window_extent().height
    gap = (hi - lo + 2 * pad) * 1.25 * fig.dpi * 8 / 72 / max(height_px, 1.0)
    from matplotlib.transforms import offset_copy

    for i in range(len(groups)):
        here = [(v, k) for j, v, k in labels if j == i]
        if not here:
            continue
        ys = _spread([v for v, _ in here], gap)
        for (v, k), y in zip(here, ys):
            radius = 0.5 * np.sqrt(_marker_area(k))  # points
            ax.text(i, y, f"×{k}", transform=offset_copy(ax.transData, fig=fig, x=radius + 2.5, y=0, units="points"),
                    va="center", ha="left", fontsize=8, color="#222222")
    return fig
