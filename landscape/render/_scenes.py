"""Scenes: loss level sets, critical sets, conserved quantities, trajectories, manifolds, spectra.

Everything here turns landscape Datasets (or networks) into pyvista meshes and
plotters. Networks with more than three parameters are shown in chosen coordinates or
in a PCA projection (scikit-learn) whose explained variance goes into the legend.
"""

from __future__ import annotations

import numpy as np

from ..errors import LandscapeValueError
from ._base import COLORS, plotter

__all__ = [
    "grid",
    "loss_level_sets",
    "scalar_critical_set",
    "conserved_level_surfaces",
    "project",
    "trajectory_tubes",
    "manifold_lines",
    "scalar_scene",
    "chart_lines",
    "spectrum_chart",
]


def grid(bounds=(-2.0, 2.0), n=60):
    """A cubic ``pyvista.ImageData`` on ``[a, b]^3`` with ``n`` points per side."""
    import pyvista as pv

    a, b = bounds
    spacing = (b - a) / (n - 1)
    return pv.ImageData(dimensions=(n, n, n), spacing=(spacing,) * 3, origin=(a, a, a))


def loss_level_sets(net, levels, bounds=(-2.0, 2.0), n=60):
    """Contours of the loss of a scalar depth-3 network on a 3D grid (one surface per level)."""
    if net.widths != (1, 1, 1, 1):
        raise LandscapeValueError(f"loss_level_sets draws scalar depth-3 networks (widths (1, 1, 1, 1)); got {net.widths}.")
    g = grid(bounds, n)
    w = g.points
    sigma = float(net.sigma[0])
    g["loss"] = 0.5 * (sigma - w[:, 0] * w[:, 1] * w[:, 2]) ** 2
    return g.contour(isosurfaces=list(levels), scalars="loss")


def scalar_critical_set(sigma=3.0, extent=2.0, bounds=(-2.0, 2.0), n=80):
    """Critical set of the scalar depth-3 network: axes of saddles and the minimum surface.

    Returns ``(axes, origin, minima)``: the three coordinate axes (strict saddles,
    ``L = sigma^2 / 2``, except the origin), the origin (non-strict) and the surface
    ``w_1 w_2 w_3 = sigma`` (global minima), as pyvista meshes.
    """
    import pyvista as pv

    axes = pv.MultipleLines(points=[[-extent, 0, 0], [extent, 0, 0]]) + pv.MultipleLines(
        points=[[0, -extent, 0], [0, extent, 0]]) + pv.MultipleLines(points=[[0, 0, -extent], [0, 0, extent]])
    origin = pv.Sphere(radius=0.08 * extent / 2, center=(0, 0, 0))
    g = grid(bounds, n)
    p = g.points
    g["product"] = p[:, 0] * p[:, 1] * p[:, 2]
    minima = g.contour(isosurfaces=[float(sigma)], scalars="product")
    return axes, origin, minima


def conserved_level_surfaces(c1, c2, bounds=(-2.0, 2.0), n=60):
    """Level surfaces ``w_2^2 - w_1^2 = c_1`` and ``w_3^2 - w_2^2 = c_2`` (scalar depth 3)."""
    g = grid(bounds, n)
    p = g.points
    g["C1"] = p[:, 1] ** 2 - p[:, 0] ** 2
    g["C2"] = p[:, 2] ** 2 - p[:, 1] ** 2
    return g.contour([c1], scalars="C1"), g.contour([c2], scalars="C2")


def project(points, coordinates=None, fit=None):
    """Points in 3D: the chosen parameter ``coordinates`` or a PCA projection.

    Parameters
    ----------
    points : ndarray of shape (m, n_params)
    coordinates : sequence of 3 int, optional
        Parameter indices to show. Default: the identity if ``n_params <= 3``, else PCA.
    fit : ndarray of shape (k, n_params), optional
        Points to fit the PCA on (default: ``points``).

    Returns
    -------
    xyz : ndarray of shape (m, 3)
    label : str
        Axis description, with the explained variance for PCA.
    """
    points = np.asarray(points, dtype=float)
    n = points.shape[1]
    if coordinates is not None:
        idx = list(coordinates)
        return points[:, idx], "coordinates " + ", ".join(f"theta[{i}]" for i in idx)
    if n <= 3:
        return np.pad(points, ((0, 0), (0, 3 - n))), "w_1, w_2, w_3"[: 3 * n + 2 * (n - 1)]
    from sklearn.decomposition import PCA

    data = points if fit is None else np.asarray(fit, dtype=float)
    data = data[np.all(np.isfinite(data), axis=1)]
    pca = PCA(n_components=min(3, data.shape[0], n)).fit(data)
    ratio = pca.explained_variance_ratio_
    xyz = np.full((points.shape[0], 3), np.nan)
    ok = np.all(np.isfinite(points), axis=1)
    xyz[ok, : ratio.size] = pca.transform(points[ok])
    xyz[ok, ratio.size :] = 0.0
    return xyz, "PCA " + ", ".join(f"{100 * r:.1f}%" for r in ratio) + f" (total {100 * ratio.sum():.1f}%)"


def trajectory_tubes(xyz, values, radius=0.02):
    """A tube along a polyline, with ``values`` (loss or time) as point data ``"value"``."""
    import pyvista as pv

    ok = np.all(np.isfinite(xyz), axis=1)
    xyz, values = xyz[ok], np.asarray(values)[ok]
    line = pv.lines_from_points(xyz)
    line["value"] = values
    if xyz.shape[0] < 2 or np.allclose(xyz, xyz[0]):
        return line
    return line.tube(radius=radius)


def manifold_lines(ds, coordinates=None, fit=None):
    """Per branch of a submanifolds Dataset: ``(polyline, kind)`` in 3D."""
    import pyvista as pv

    th = ds["theta"].values
    flat = th.reshape(-1, th.shape[-1])
    xyz_all, label = project(flat, coordinates, fit if fit is not None else flat[np.all(np.isfinite(flat), axis=1)])
    xyz_all = xyz_all.reshape(th.shape[0], th.shape[1], 3)
    out = []
    for b in range(th.shape[0]):
        ok = np.isfinite(th[b, :, 0])
        if ok.sum() >= 2:
            out.append((pv.lines_from_points(xyz_all[b][ok]), str(ds["branch_kind"].values[b])))
    return out, label


def scalar_scene(sigma=3.0, size="medium", extent=2.0, trajectories=(), manifolds=None, levels=None, title=None,
                 conserved=None, color_by="loss"):
    """The 3D picture of a scalar depth-3 network (spec gallery G2).

    Minimum surface (green, translucent), axes of saddles (orange), the non-strict
    origin (purple), optional loss level sets, conserved-quantity surfaces, trajectory
    tubes coloured by ``color_by`` and stable (blue) / unstable (red) manifold samples.
    """
    pv_ = __import__("pyvista")
    pl = plotter(size, title)
    axes, origin, minima = scalar_critical_set(sigma, extent, (-extent, extent))
    pl.add_mesh(minima, color=COLORS["global_minimum"], opacity=0.35, smooth_shading=True, label="minima w1 w2 w3 = sigma")
    pl.add_mesh(axes, color=COLORS["strict_saddle"], line_width=4, label="strict saddles (axes)")
    pl.add_mesh(origin, color=COLORS["non_strict_saddle"], label="non-strict saddle (origin)")
    if levels:
        from ..core import LinearNetwork

        surf = loss_level_sets(LinearNetwork([1, 1, 1, 1], sigma), levels, (-extent, extent))
        if surf.n_points:
            pl.add_mesh(surf, opacity=0.15, cmap="viridis", show_scalar_bar=False)
    if conserved is not None:
        for s, color in zip(conserved_level_surfaces(*conserved, bounds=(-extent, extent), n=40), ("#8c564b", "#17becf")):
            if s.n_points:
                pl.add_mesh(s, color=color, opacity=0.3, smooth_shading=True)
    for i, (xyz, values) in enumerate(trajectories):
        tube = trajectory_tubes(np.asarray(xyz), values, radius=0.015 * extent)
        pl.add_mesh(tube, scalars="value", cmap="plasma", show_scalar_bar=i == 0,
                    scalar_bar_args={"title": color_by, "color": "black", "vertical": True, "position_x": 0.86,
                                     "position_y": 0.25, "height": 0.5, "fmt": "%.2g"})
    if manifolds is not None:
        lines, _ = manifold_lines(manifolds)
        for line, kind in lines:
            pl.add_mesh(line, color=COLORS[kind], line_width=5)
        pl.add_mesh(pv_.Sphere(radius=1e-3), color=COLORS["unstable"], label="unstable set")
        pl.add_mesh(pv_.Sphere(radius=1e-3), color=COLORS["stable"], label="stable set")
    pl.add_legend(bcolor="white", size=(0.36, 0.2), face=None, loc="upper left")
    pl.show_axes()
    pl.camera_position = [(3.2 * extent, 2.4 * extent, 2.0 * extent), (0, 0, 0), (0, 0, 1)]
    return pl


def chart_lines(series, x_label, y_label, title=None, size="medium", log_x=False, log_y=False):
    """A 2D chart of ``[(x, y, label, color), ...]`` (pyvista Chart2D) in a plotter."""
    pv = __import__("pyvista")
    chart = pv.Chart2D(x_label=x_label, y_label=y_label)
    if title:
        chart.title = title
    for x, y, label, color in series:
        x, y = np.asarray(x, float), np.asarray(y, float)
        ok = np.isfinite(x) & np.isfinite(y)
        if log_x:
            ok &= x > 0
        if log_y:
            ok &= y > 0
        chart.line(x[ok], y[ok], color=color, width=2.5, label=label)
    chart.x_axis.log_scale = log_x
    chart.y_axis.log_scale = log_y
    pl = plotter(size)
    pl.add_chart(chart)
    return pl


def spectrum_chart(groups, title=None, size="medium", x_label="critical point", y_label="Hessian eigenvalue"):
    """Hessian spectra: ``[(x_position, eigenvalues, label, color), ...]`` as scatter columns."""
    pv = __import__("pyvista")
    chart = pv.Chart2D(x_label=x_label, y_label=y_label)
    if title:
        chart.title = title
    seen = set()
    lo, hi = np.inf, -np.inf
    for x, ev, label, color in groups:
        ev = np.asarray(ev, float)
        chart.scatter(np.full(ev.size, float(x)), ev, color=color, size=8, style="o",
                      label=label if label not in seen else "")
        seen.add(label)
        lo, hi = min(lo, float(ev.min(initial=0.0))), max(hi, float(ev.max(initial=0.0)))
    pad = 0.06 * max(hi - lo, 1.0)
    chart.y_range = [lo - pad, hi + pad]
    xs = [g[0] for g in groups]
    chart.x_range = [min(xs) - 0.5, max(xs) + 0.5]
    pl = plotter(size)
    pl.add_chart(chart)
    return pl
