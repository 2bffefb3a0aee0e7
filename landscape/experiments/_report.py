"""A study's report: its dataset (netCDF), pictures (matplotlib) and a short HTML page, measured vs predicted."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from .._atomic import atomic_write

__all__ = ["report", "report_files", "summary_rows"]

_COLORS = ("#d62728", "#1f5fbf", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
_STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
          "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px;font-size:90%}"
          "th{background:#eee}figure{margin:1.5em 0}img{max-width:100%;border:1px solid #ddd}"
          "figcaption{font-size:90%;color:#444}.ok{color:#1a7f37}.off{color:#b00020}")

_PICTURES = {"plateau_scaling": ("times", "slopes"), "sequential_threshold": ("fraction",),
             "almost_every_start": ("histogram", "fraction")}


def report_files(name):
    """The files :func:`report` writes for study ``name``."""
    return [f"{name}.nc"] + [f"{name}-{p}.png" for p in _PICTURES[name]] + ["index.html"]


def _fmt(x, digits=4):
    return "nan" if not np.isfinite(x) else f"{x:.{digits}g}"


def _axes(size, title, xlabel, ylabel, logx=False, logy=False):
    from ..render._charts import figure

    fig = figure(size)
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.grid(True, which="major", color="#e6e6e6", linewidth=0.8)
    return fig, ax


def _legend(fig, ax):
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside right upper", frameon=False, fontsize="small")


# ------------------------------------------------------------------------------------------------ plateau
def _plateau(ds, out, size):
    from ..render import save_png

    name = "plateau_scaling"
    eps = ds.scale.values
    figs = []
    fig, ax = _axes(size, "Escape time from the origin vs initial scale", "initial scale eps",
                    "escape time (sigma_max(P) reaches sigma_1/2)", logx=True, logy=True)
    markers = ("o", "s", "^", "D")
    for i, h in enumerate(ds.depth.values):
        c = _COLORS[i % len(_COLORS)]
        ax.plot(eps, ds.predicted_time.values[i], color=c, linestyle="--", linewidth=1.5,
                label=f"h = {h}: theory (aligned balanced, exact)")
        for j, init in enumerate(ds.init.values):
            T = ds.escape_time.values[i, j]
            with np.errstate(divide="ignore", invalid="ignore"):
                gm = np.exp(np.nanmean(np.log(T), axis=-1))
            lo, hi = np.nanmin(T, axis=-1), np.nanmax(T, axis=-1)
            ax.errorbar(eps * (1 + 0.04 * (j - 1)), gm, yerr=[np.maximum(gm - lo, 0), np.maximum(hi - gm, 0)], color=c, marker=markers[j % 4],
                        linestyle="none", markersize=5, capsize=2, label=f"h = {h}: {init} (geo. mean, min-max)")
    _legend(fig, ax)
    save_png(fig, out / f"{name}-times.png")
    figs.append((f"{name}-times.png", "Escape times (markers: geometric mean over seeds, bars: min to max) and the "
                 "exact escape time of the aligned balanced start (dashed), both axes logarithmic. Depth 2 grows like "
                 "ln(1/eps), depth h >= 3 like eps^-(h-2)."))
    fig, ax = _axes(size, "Fitted slope minus theory, with confidence intervals", "depth h",
                    "measured - predicted slope (theory: 1/sigma_1 at h = 2, -(h - 2) above)")
    depths = ds.depth.values
    n_init = ds.sizes["init"]
    pred = ds.predicted_slope.values[:, None]
    for j, init in enumerate(ds.init.values):
        x = np.arange(len(depths)) + 0.15 * (j - (n_init - 1) / 2)
        m = ds.slope.values[:, j] - pred[:, 0]
        lo, hi = ds.slope_ci.values[:, j, 0] - pred[:, 0], ds.slope_ci.values[:, j, 1] - pred[:, 0]
        ax.errorbar(x, m, yerr=[np.maximum(m - lo, 0), np.maximum(hi - m, 0)], color=_COLORS[j % len(_COLORS)],
                    marker=markers[j % 4], linestyle="none", capsize=4,
                    label=f"{init}: mean of per-seed slopes, {ds.attrs['level']:.0%} CI")
    ax.axhline(0.0, color="#222222", linewidth=1.0, label="theory")
    ax.set_xticks(np.arange(len(depths)), [str(h) for h in depths])
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
    _legend(fig, ax)
    save_png(fig, out / f"{name}-slopes.png")
    figs.append((f"{name}-slopes.png", "Fitted slope minus the theory's, per depth and initialisation, with the "
                 "t-interval over seeds widened by the integration's error bound: the theory (zero line) lies in "
                 "every interval that crosses it."))
    rows = []
    for i, h in enumerate(depths):
        for j, init in enumerate(ds.init.values):
            lo, hi = ds.slope_ci.values[i, j]
            pred = float(ds.predicted_slope.values[i])
            inside = lo <= pred <= hi
            olo, ohi = ds.loglog_slope_ci.values[i, j]
            rows.append([int(h), str(init), _fmt(ds.slope.values[i, j], 10), f"[{_fmt(lo, 10)}, {_fmt(hi, 10)}]",
                         _fmt(pred, 10), ("yes" if inside else "no"), f"[{_fmt(olo, 8)}, {_fmt(ohi, 8)}]",
                         _fmt(float(ds.predicted_slope_grid.values[i]), 8), _fmt(ds.prefactor.values[i, j], 4)])
    header = ["depth h", "init", "measured slope", f"{ds.attrs['level']:.0%} CI", "predicted (asymptotic)",
              "theory in CI", "plain log-log OLS slope, CI", "plain OLS slope of the exact aligned time on this grid",
              "time / aligned theory"]
    intro = ("Escape: the first time the largest singular value of P = W_h...W_1 reaches sigma_1/2 (for an aligned "
             "balanced start, the half-learning time of the strongest mode). Exact theory for a balanced aligned mode "
             "of strength s started at w_i = eps: T_h = int_{eps^h}^{s/2} dq / (h q^(2-2/h) (s - q)); T_2 = "
             "ln(s/eps^2 - 1)/(2s) = (ln s + 2 ln(1/eps))/(2s) + O(eps^2); T_h = eps^-(h-2)/((h-2)s) + C_h(s) + O(eps^2) "
             "for h >= 3. Any start eps V has the same slopes (the flow is homogeneous near the origin). Slopes are "
             "fitted per seed with the asymptotic form and its constant (T = a ln(1/eps) + c + d eps^(2(1 - "
             "sigma_2/sigma_1)) at h = 2, T = A eps^b + c above), averaged over seeds with a t-interval widened by the "
             "integration's error bound. The plain log-log OLS slope is shown too: it carries the finite-eps bias of "
             "the constant. The last column is the geometric mean of the measured time over the aligned balanced "
             "theory: the prefactor, open for unbalanced starts.")
    return figs, [("Measured vs predicted slopes", header, rows)], intro


# -------------------------------------------------------------------------------------------- sequential
def _sequential(ds, out, size):
    from ..render import save_png

    name = "sequential_threshold"
    fig, ax = _axes(size, "Sequential (saddle-to-saddle) learning vs initial scale", "initial scale eps",
                    "fraction of runs visiting every intermediate saddle", logx=True)
    k = 0
    styles = ("-", "--", ":", "-.")
    for i, h in enumerate(ds.depth.values):
        for j in range(ds.sizes["spectrum"]):
            c = _COLORS[k % len(_COLORS)]
            sig = ",".join(f"{v:g}" for v in ds.sigma.values[j])
            ax.plot(ds.scale.values, ds.sequential_fraction.values[i, j], color=c, marker="o", markersize=4,
                    linestyle=styles[i % 4], label=f"h = {h}, sigma = ({sig}), gap {float(ds.gap.values[j]):.3g}")
            pred = float(ds.predicted_threshold.values[i, j])
            if np.isfinite(pred):
                ax.axvline(pred, color=c, linestyle=":", linewidth=1.2)
            thr = float(ds.threshold.values[i, j])
            if np.isfinite(thr):
                lo, hi = ds.threshold_ci.values[i, j]
                ax.errorbar([thr], [0.5], xerr=[[thr - lo if np.isfinite(lo) else 0], [hi - thr if np.isfinite(hi) else 0]],
                            color=c, marker="D", markersize=6, capsize=3)
            k += 1
    ax.axhline(0.5, color="#8a8a8a", linestyle=":", linewidth=1.0)
    ax.set_ylim(-0.03, 1.03)
    _legend(fig, ax)
    save_png(fig, out / f"{name}-fraction.png")
    figs = [(f"{name}-fraction.png", f"Fraction of {ds.attrs['init']} starts whose itinerary visits every intermediate "
             "saddle, per depth and spectrum. Diamonds: the measured transition (half sequential) with its bootstrap "
             "interval; dotted verticals: the transition of the aligned balanced start (closed-form dynamics).")]
    rows = []
    for i, h in enumerate(ds.depth.values):
        for j in range(ds.sizes["spectrum"]):
            lo, hi = ds.threshold_ci.values[i, j]
            sig = ",".join(f"{v:g}" for v in ds.sigma.values[j])
            f = ds.sequential_fraction.values[i, j]
            rows.append([int(h), f"({sig})", _fmt(float(ds.gap.values[j]), 3), _fmt(float(ds.threshold.values[i, j])),
                         f"[{_fmt(lo)}, {_fmt(hi)}]", _fmt(float(ds.predicted_threshold.values[i, j])),
                         _fmt(float(f[0]), 3), _fmt(float(f[-1]), 3)])
    header = ["depth h", "sigma", "gap", "measured transition eps", f"{ds.attrs['level']:.0%} CI",
              "aligned balanced (theory)", f"fraction at eps = {ds.scale.values[0]:.2g}",
              f"fraction at eps = {ds.scale.values[-1]:.2g}"]
    intro = ("A run is sequential when its itinerary visits every intermediate saddle {1}, {1,2}, ... (ls.itinerary "
             "with its defaults). The transition is the scale where half the runs are sequential (bootstrap over "
             "seeds). Theory (Gissin et al. 2020), from the half-learning times: at depth 2 the modes' escape times "
             "differ by ln(1/eps)(1/sigma_2 - 1/sigma_1), so sequential learning needs an exponentially small scale, "
             "ln(1/eps) of order sigma_1 sigma_2/(sigma_1 - sigma_2); at depth h >= 3 they differ by "
             "eps^-(h-2)(1/sigma_2 - 1/sigma_1)/(h-2), so a polynomially small scale suffices.")
    return figs, [("Measured vs predicted transition", header, rows)], intro


# ------------------------------------------------------------------------------------------- almost every
def _every(ds, out, size):
    from ..render import save_png

    name = "almost_every_start"
    fig, ax = _axes(size, "Final loss of random starts (distribution)", "log10 final loss",
                    "fraction of runs with a smaller final loss")
    edges = ds.loss_bin.values + 0.5 * (float(np.diff(ds.loss_bin.values[:2])[0]) if ds.sizes["loss_bin"] > 1 else 1.0)
    k = 0
    for i, h in enumerate(ds.depth.values):
        for j, init in enumerate(ds.init.values):
            counts = ds.loss_histogram.values[i, j]
            ax.step(np.r_[edges[0] - 1.0, edges], np.r_[0.0, np.cumsum(counts) / max(counts.sum(), 1)], where="post",
                    color=_COLORS[k % len(_COLORS)], linewidth=1.8, label=f"h = {h}, {init}")
            k += 1
    ax.axvline(np.log10(ds.attrs["loss_tol"]), color="#8a8a8a", linestyle=":", linewidth=1.0)
    ax.set_ylim(-0.03, 1.03)
    _legend(fig, ax)
    save_png(fig, out / f"{name}-histogram.png")
    fig, ax = _axes(size, "Fraction of starts converging to a global minimum", "depth h, initialisation",
                    "converged fraction")
    labels, x = [], 0
    for i, h in enumerate(ds.depth.values):
        for j, init in enumerate(ds.init.values):
            f = float(ds.converged_fraction.values[i, j])
            lo, hi = ds.converged_ci.values[i, j]
            ax.bar([x], [f], color=_COLORS[j % len(_COLORS)], width=0.7)
            ax.errorbar([x], [f], yerr=[[max(f - lo, 0)], [max(hi - f, 0)]], color="#222222", capsize=4)
            labels.append(f"h={h}\n{init}")
            x += 1
    ax.set_xticks(np.arange(len(labels)), labels)
    ax.set_ylim(0, 1.05)
    save_png(fig, out / f"{name}-fraction.png")
    figs = [(f"{name}-histogram.png", "The final-loss histogram summed from the left: the fraction of runs whose final "
             "loss is below 10^x (losses below 1e-30 in the first bin); the dotted line is the convergence tolerance. "
             "A step at the right is a group of runs stalled at a saddle (its critical value)."),
            (f"{name}-fraction.png", f"Converged fraction per depth and distribution with its Wilson "
             f"{ds.attrs['level']:.0%} interval.")]
    rows = []
    for i, h in enumerate(ds.depth.values):
        for j, init in enumerate(ds.init.values):
            lo, hi = ds.converged_ci.values[i, j]
            n = ds.sizes["seed"]
            agree = bool(np.all(ds.converged.values[i, j] == ds.predicted_converged.values[i, j]))
            rows.append([int(h), str(init), n, int(ds.converged.values[i, j].sum()),
                         _fmt(float(ds.converged_fraction.values[i, j]), 6), f"[{_fmt(lo, 6)}, {_fmt(hi, 6)}]",
                         _fmt(float(ds.predicted_fraction.values[i, j]), 6), "yes" if agree else "no"])
    tables = [("Converged fraction: measured vs predicted",
               ["depth h", "init", "runs", "converged", "fraction", f"{ds.attrs['level']:.0%} Wilson CI", "predicted",
                "every run as predicted"], rows)]
    groups = {}  # one row per (depth, init, nearest S): a thousand stalled runs read as a few lines
    for s in range(ds.sizes["stall"]):
        key = (int(ds.stall_depth.values[s]), str(ds.stall_init.values[s]), str(ds.stall_subset.values[s]))
        g = groups.setdefault(key, {"seeds": [], "loss": [], "grad": [], "C": []})
        g["seeds"].append(int(ds.stall_seed.values[s]))
        g["loss"].append(float(ds.stall_loss.values[s]))
        g["grad"].append(float(ds.stall_gradient_norm.values[s]))
        c = ds.stall_conserved.values[s]
        g["C"].append(float(np.max(c[np.isfinite(c)])) if np.isfinite(c).any() else np.nan)
    stalls = []
    for (h, init, S), g in sorted(groups.items()):
        seeds = ", ".join(str(v) for v in g["seeds"][:6]) + (", ..." if len(g["seeds"]) > 6 else "")
        stalls.append([h, init, S, len(g["seeds"]), f"{_fmt(min(g['loss']))} to {_fmt(max(g['loss']))}",
                       _fmt(max(g["grad"]), 3), _fmt(np.nanmax(g["C"]), 3), seeds])
    tables.append(("Runs that did not converge by t_end, grouped by the nearest critical set S",
                   ["depth h", "init", "near S", "runs", "final loss", "max |grad L|", "max ||C_i||_F", "seeds"],
                   stalls or [["none", "", "", "", "", "", "", ""]]))
    intro = (f"Starts from landscape.init at scale {ds.attrs['scale']:g}, integrated until the loss is within "
             f"{ds.attrs['loss_tol']:g} of the global minimum or t = {ds.attrs['t_end']:g}. Open question (spec 9.2): "
             "does gradient flow converge to a global minimum from almost every start when h >= 3, where non-strict "
             "saddles defeat the strict-saddle argument? The conjecture predicts the fraction 1 for generic "
             "(gaussian) starts. The balanced and orthogonal distributions are 0-balanced (C_i = 0), a set of measure "
             "zero where det P keeps its sign (the singular values of P never cross 0): with det Sigma > 0 the starts "
             "with det P(0) < 0 are predicted to stall at the saddle that drops the weakest mode.")
    return figs, tables, intro


_BUILDERS = {"plateau_scaling": _plateau, "sequential_threshold": _sequential, "almost_every_start": _every}


def summary_rows(ds):
    """The report's tables ``[(caption, header, rows), ...]`` without writing anything (used by the CLI)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return _BUILDERS[ds.attrs["landscape_kind"]](ds, Path(tmp), "small")[1]


def report(ds, out, size="medium"):
    """Write ``NAME.nc``, the pictures and ``index.html`` (measured vs predicted) of a study into ``out``.

    Parameters
    ----------
    ds : xarray.Dataset
        A study's dataset (kinds ``plateau_scaling``, ``sequential_threshold``, ``almost_every_start``).
    out : str or os.PathLike
        Folder (created if missing; its parent must exist).
    size : {"small", "medium", "large"}, default="medium"

    Returns
    -------
    pathlib.Path
        The page written.
    """
    from ..errors import LandscapeValueError
    from ..io import save

    kind = ds.attrs.get("landscape_kind")
    if kind not in _BUILDERS:
        raise LandscapeValueError(f"ds must be a study dataset (kinds {list(_BUILDERS)}); got kind {kind!r}.")
    out = Path(out)
    out.mkdir(exist_ok=True)
    save(ds, out / f"{kind}.nc")
    figs, tables, intro = _BUILDERS[kind](ds, out, size)
    runs = int(ds.attrs.get("runs", 0))
    rps = float(ds.attrs.get("runs_per_second", np.nan))
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'>", f"<title>landscape lab {kind}</title>",
             f"<style>{_STYLE}</style></head><body>", f"<h1>landscape lab {html.escape(kind)}</h1>",
             f"<p>{html.escape(intro)}</p>",
             f"<p>{runs} runs; {int(ds.attrs.get('chunks_computed', 0))} tasks computed, "
             f"{int(ds.attrs.get('chunks_reused', 0))} reused from {html.escape(str(ds.attrs.get('directory', '')))}; "
             f"{float(ds.attrs.get('wall_time', 0)):.1f} s" + (f" ({rps:.1f} runs/s)" if np.isfinite(rps) else "")
             + ".</p>"]
    for caption, header, rows in tables:
        parts.append(f"<h2>{html.escape(caption)}</h2><table><tr>")
        parts += [f"<th>{html.escape(str(h))}</th>" for h in header]
        parts.append("</tr>")
        for row in rows:
            cells = []
            for v in row:
                cls = " class='ok'" if v == "yes" else (" class='off'" if v == "no" else "")
                cells.append(f"<td{cls}>{html.escape(str(v))}</td>")
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</table>")
    for fname, caption in figs:
        parts.append(f"<figure><img src='{html.escape(fname)}' alt='{html.escape(caption)}'>"
                     f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    parts.append(f"<p>Data: <a href='{kind}.nc'>{kind}.nc</a> (netCDF; <code>ls.load</code> reads it).</p>")
    parts.append("</body></html>")
    page = "\n".join(parts)
    return atomic_write(out / "index.html", lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))
