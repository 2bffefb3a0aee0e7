"""3-D scenes: loss level sets, critical sets, conserved quantities, trajectories, manifolds, fibers.

Everything here turns landscape Datasets (or networks) into pyvista meshes and
:class:`~landscape.render.Scene3D` descriptions (drawn by pyvista for the PNG and by
plotly for the report page). Networks with more than three parameters are shown in
chosen coordinates or in a PCA projection (scikit-learn) whose explained variance
titles the axes. Trajectories have their start (black sphere) and end (black cube)
marked; critical points carry their subset ``S``.
"""

from __future__ import annotations

import numpy as np

from ..errors import LandscapeValueError
from ._base import COLORS, kind_label
from ._scene3d import Scene3D

__all__ = [
    "grid",
    "loss_level_sets",
    "scalar_critical_set",
    "conserved_level_surfaces",
    "project",
    "trajectory_tubes",
    "manifold_lines",
    "scalar_scene",
    "trajectory_scene",
    "manifold_scene",
    "fiber_scene",
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
    xyz, label, _ = projection(points, coordinates, fit)
    return xyz, label


def projection(points, coordinates=None, fit=None):
    """:func:`project` and the three axis titles.

    Returns
    -------
    xyz : ndarray of shape (m, 3)
    label : str
    titles : tuple of 3 str
        ``("w1", "w2", "w3")`` for three parameters, ``("theta[i]", ...)`` for chosen
        coordinates, ``("PC1 (92.0%)", ...)`` (explained variance) for PCA.
    """
    points = np.asarray(points, dtype=float)
    n = points.shape[1]
    if coordinates is not None:
        idx = list(coordinates)
        if len(idx) != 3 or any(not 0 <= int(i) < n for i in idx):
            raise LandscapeValueError(f"coordinates must be 3 parameter indices in [0, {n}); got {idx!r}.")
        titles = tuple(f"theta[{i}]" for i in idx)
        return points[:, idx], "coordinates " + ", ".join(titles), titles
    if n <= 3:  # fewer than three parameters: the missing axes are 0, titled so (the box keeps a depth)
        titles = tuple(f"w{i + 1}" if i < n else f"(none: {n} parameter{'s' if n > 1 else ''})" for i in range(3))
        return np.pad(points, ((0, 0), (0, 3 - n))), "w_1, w_2, w_3"[: 3 * n + 2 * (n - 1)], titles
    from sklearn.decomposition import PCA

    data = points if fit is None else np.asarray(fit, dtype=float)
    data = data[np.all(np.isfinite(data), axis=1)]
    if data.shape[0] == 0:
        raise LandscapeValueError("project needs at least one finite point to fit the PCA on; got none.")
    total = float(np.sum(np.var(data, axis=0)))
    if total == 0.0:  # all points equal: no direction to fit; show them at the origin of three flat axes
        xyz = np.where(np.all(np.isfinite(points), axis=1)[:, None], 0.0, np.nan) * np.ones((1, 3))
        return xyz, "PCA: all points equal (no variance)", ("PC1 (0%)", "PC2 (0%)", "PC3 (0%)")
    pca = PCA(n_components=min(3, data.shape[0], n)).fit(data)
    ratio = np.nan_to_num(pca.explained_variance_ratio_)
    xyz = np.full((points.shape[0], 3), np.nan)
    ok = np.all(np.isfinite(points), axis=1)
    xyz[ok, : ratio.size] = pca.transform(points[ok])
    xyz[ok, : ratio.size] *= ratio > 1e-12  # components without variance are exactly 0, not round-off
    xyz[ok, ratio.size :] = 0.0
    titles = tuple(f"PC{i + 1} ({100 * ratio[i]:.1f}%)" if i < ratio.size else f"PC{i + 1} (0%)" for i in range(3))
    return xyz, "PCA " + ", ".join(f"{100 * r:.1f}%" for r in ratio) + f" (total {100 * ratio.sum():.1f}%)", titles


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




#: legend labels shared by the scenes
TRAJECTORY_LABEL = "trajectories (colour: loss)"
VISITED_LABEL = "critical points visited (S)"
VISITED_COLOR = "#555555"


def scalar_scene(sigma=3.0, size="medium", extent=2.0, trajectories=(), manifolds=None, levels=None, title=None,
                 conserved=None, color_by="loss"):
    """The 3D picture of a scalar depth-3 network (spec gallery G2), in ``(w1, w2, w3)``.

    Minimum surface ``w1 w2 w3 = sigma`` (green, translucent, ``S = {1}``), axes of strict
    saddles (orange, ``S = {}``), the non-strict origin (purple, ``S = {}``), optional
    loss level sets, conserved-quantity surfaces, trajectory tubes coloured by
    ``color_by`` with their starts (black spheres) and ends (black cubes) marked, and
    stable (blue) / unstable (red) sets of the origin.

    Parameters
    ----------
    sigma : float, default=3.0
    size : {"small", "medium", "large"} or (width, height), default="medium"
    extent : float, default=2.0
        Half-width of the cube ``[-extent, extent]^3`` shown.
    trajectories : sequence of (ndarray of shape (n, 3), ndarray of shape (n,))
        Points and the values they are coloured by.
    manifolds : xarray.Dataset, optional
        A ``submanifolds`` dataset of the origin.
    levels : sequence of float, optional
        Loss levels to draw as surfaces.
    title : str, optional
    conserved : (float, float), optional
        ``(c1, c2)``: draw ``w2^2 - w1^2 = c1`` (brown) and ``w3^2 - w2^2 = c2`` (cyan).
    color_by : str, default="loss"
        Title of the trajectories' colour bar.

    Returns
    -------
    Scene3D
        Draw it with :func:`landscape.render.save_png` (PNG) or :func:`landscape.render.save_html`.
    """
    sigma = float(sigma)
    scene = Scene3D(title=title or "", axis_titles=("w1", "w2", "w3"), size=size, value_title=color_by,
                    bounds=(-extent, extent) * 3,
                    camera=((3.2 * extent, 2.4 * extent, 2.0 * extent), (0.0, 0.0, 0.0), (0.0, 0.0, 1.0)))
    axes, _, minima = scalar_critical_set(sigma, extent, (-extent, extent))
    scene.add_surface(minima, color=COLORS["global_minimum"], opacity=0.35,
                      label=f"{kind_label('global_minimum')}: w1 w2 w3 = sigma (S = {{1}})")
    for k in range(3):
        a, b = np.zeros(3), np.zeros(3)
        a[k], b[k] = -extent, extent
        scene.add_path(np.array([a, b]), color=COLORS["strict_saddle"], width=4,
                       label=f"{kind_label('strict_saddle')}: the axes (S = {{}})")
    scene.add_markers(np.zeros(3), color=COLORS["non_strict_saddle"], radius=0.05 * extent,
                      label=f"{kind_label('non_strict_saddle')}: the origin (S = {{}})")
    if levels:
        from ..core import LinearNetwork

        surf = loss_level_sets(LinearNetwork([1, 1, 1, 1], sigma), levels, (-extent, extent))
        scene.add_surface(surf, color="#6baed6", opacity=0.15, label="loss level sets")
    if conserved is not None:
        names = ("w2^2 - w1^2 = c1", "w3^2 - w2^2 = c2")
        for s, color, name in zip(conserved_level_surfaces(*conserved, bounds=(-extent, extent), n=40),
                                  ("#8c564b", "#17becf"), names):
            scene.add_surface(s, color=color, opacity=0.3, label=name)
    radius = 0.015 * extent
    for xyz, values in trajectories:
        xyz = np.asarray(xyz, float)
        scene.add_path(xyz, values=values, radius=radius, label=TRAJECTORY_LABEL)
        scene.mark_ends(xyz, 2.4 * radius)
    if manifolds is not None:
        lines, _ = manifold_lines(manifolds)
        for line, kind in lines:
            scene.add_path(np.asarray(line.points), color=COLORS[kind], width=5, label=f"{kind} set of the origin")
    c = sigma ** (1 / 3)
    where = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.8 * extent]]
    texts = [f"S = {{}} ({kind_label('non_strict_saddle')})", f"S = {{}} ({kind_label('strict_saddle')})"]
    if c <= extent:
        where.append([c, c, c])
        texts.append(f"S = {{1}} ({kind_label('global_minimum')})")
    scene.add_labels(np.array(where), texts)
    return scene


def _quotient_default(net, coordinates):
    """Whether a scene is drawn in quotient coordinates: asked for, or by default with two modes or more."""
    from ._quotient import uses_quotient

    if isinstance(coordinates, str):
        if coordinates not in ("quotient", "pca"):
            raise LandscapeValueError(f"coordinates must be 'quotient', 'pca' or 3 parameter indices; got {coordinates!r}.")
        return coordinates == "quotient"
    return coordinates is None and uses_quotient(net)


def _stage_points(ds, it):
    """For each stage of an itinerary: the index of the trajectory sample resting there."""
    t = ds["time"].values
    out = []
    for t0, t1 in zip(it["t_enter"].values, it["t_exit"].values):
        mid = np.sqrt(t0 * t1) if t0 > 0 else 0.5 * t1
        out.append(int(np.argmin(np.abs(t - mid))))
    return out


def trajectory_scene(ds, size="medium", title=None, itinerary=None, coordinates=None):
    """Gradient-flow trajectories in 3D: tubes coloured by the loss, starts and ends marked.

    A scalar depth-3 network is drawn in its own coordinates with the critical set
    (:func:`scalar_scene`). A network with two modes or more is drawn by default in
    quotient coordinates (:func:`~landscape.render.quotient_scene`: ``p_k = u_k^T P v_k``,
    every critical point at a labelled corner of a box). Otherwise, or with
    ``coordinates="pca"`` or parameter indices, in those coordinates or a PCA projection
    fitted on all runs, with the critical points a single run visits (from
    ``itinerary``) marked and labelled with their subset ``S`` and critical value.

    Parameters
    ----------
    ds : xarray.Dataset
        A ``trajectory`` dataset (one run or a batch along ``run``).
    size : {"small", "medium", "large"} or (width, height), default="medium"
    title : str, optional
    itinerary : xarray.Dataset, optional
        The run's itinerary (:func:`landscape.itinerary`); only used for a single run
        outside quotient coordinates.
    coordinates : "quotient", "pca" or sequence of 3 int, optional
        Default: ``"quotient"`` for networks with two modes or more, else PCA (the
        weights themselves up to three parameters). Three ints: parameter indices.

    Returns
    -------
    Scene3D
    """
    from ..io import network_of

    loss_name = str(ds.attrs.get("loss", "squared"))
    if loss_name != "squared":  # another loss (issue 14): its data are not in the file, and no quotient (Sigma_S) exists
        if isinstance(coordinates, str) and coordinates == "quotient":
            from ..errors import LossError

            raise LossError(f"trajectory_scene(coordinates='quotient') needs the whitened quadratic loss (quotient "
                            f"coordinates are read against Sigma's singular vectors); this trajectory's loss is "
                            f"{loss_name!r}: use coordinates='pca' or parameter indices.")
        net = None
    else:
        net = network_of(ds)
    runs = [ds.isel(run=i) for i in range(ds.sizes["run"])] if "run" in ds.dims else [ds]
    if net is not None and _quotient_default(net, coordinates):
        from ._quotient import quotient_scene

        return quotient_scene(net, trajectories=[ds], size=size, title=title)
    coordinates = None if isinstance(coordinates, str) else coordinates  # "pca"
    if net is not None and net.widths == (1, 1, 1, 1) and coordinates is None:
        trajs = [(r["theta"].values, r["loss"].values) for r in runs]
        return scalar_scene(float(net.sigma[0]), size, trajectories=trajs, title=title or "gradient-flow trajectories")
    fit = np.concatenate([r["theta"].values for r in runs])
    fit = fit[np.all(np.isfinite(fit), axis=1)]
    radius = 0.01 * max(1e-9, float(np.ptp(fit)))
    titles = None
    projected = []
    for r in runs:
        xyz, _, titles = projection(r["theta"].values, coordinates, fit=fit)
        projected.append(xyz)
    what = "trajectory" if len(runs) == 1 else f"{len(runs)} trajectories"
    how = "chosen coordinates" if coordinates is not None else ("PCA of the weights" if fit.shape[1] > 3 else "the weights")
    scene = Scene3D(title=title or f"gradient-flow {what} ({how})", axis_titles=titles, size=size)
    for r, xyz in zip(runs, projected):
        scene.add_path(xyz, values=r["loss"].values, radius=radius, label=TRAJECTORY_LABEL)
        scene.mark_ends(xyz, 2.6 * radius)
    if itinerary is not None and len(runs) == 1:
        idx = _stage_points(runs[0], itinerary)
        pts = projected[0][idx]
        texts = [f"S = {S}, L = {float(L):.3g}" for S, L in zip(itinerary["subset"].values,
                                                                 itinerary["plateau_loss"].values)]
        scene.add_markers(pts, color=VISITED_COLOR, radius=1.8 * radius, label=VISITED_LABEL)
        scene.add_labels(pts, texts)
    return scene


def manifold_scene(ds, size="medium", title=None, coordinates=None):
    """Stable (blue) and unstable (red) sets of a critical point, its subset ``S`` labelled.

    A scalar depth-3 network is drawn with its critical set (:func:`scalar_scene`); a
    network with two modes or more by default in quotient coordinates
    (:func:`~landscape.render.quotient_scene`: the sets attached to their corner of the
    box, every critical point labelled); otherwise, or with ``coordinates="pca"`` or
    parameter indices, in those coordinates or a PCA projection of the samples.

    Parameters
    ----------
    ds : xarray.Dataset
        A ``submanifolds`` dataset.
    size : {"small", "medium", "large"} or (width, height), default="medium"
    title : str, optional
    coordinates : "quotient", "pca" or sequence of 3 int, optional
        As for :func:`trajectory_scene`.

    Returns
    -------
    Scene3D
    """
    from ..io import network_of

    net = network_of(ds)
    if _quotient_default(net, coordinates):
        from ._quotient import quotient_scene

        subset = ds.attrs.get("subset", "")
        return quotient_scene(net, manifolds=[ds], size=size, title=title or f"stable (blue) / unstable (red) sets "
                              f"of S = {subset} in quotient coordinates p_k = u_k^T P v_k")
    coordinates = None if isinstance(coordinates, str) else coordinates  # "pca"
    if net is not None and net.widths == (1, 1, 1, 1) and coordinates is None:
        return scalar_scene(float(net.sigma[0]), size, manifolds=ds,
                            title=title or "stable (blue) and unstable (red) sets of the origin")
    th = ds["theta"].values
    flat = th.reshape(-1, th.shape[-1])
    fit = flat[np.all(np.isfinite(flat), axis=1)]
    centre = ds["theta_star"].values[None, :] if "theta_star" in ds else None
    fit_on = fit if centre is None else np.vstack([fit, centre])
    _, _, titles = projection(fit_on[:1], coordinates, fit=fit_on)
    subset = ds.attrs.get("subset", "")
    scene = Scene3D(title=title or f"stable (blue) / unstable (red) sets of S = {subset}", axis_titles=titles,
                    size=size)
    for b in range(th.shape[0]):
        ok = np.all(np.isfinite(th[b]), axis=1)
        if ok.sum() >= 2:
            xyz, _, _ = projection(th[b][ok], coordinates, fit=fit_on)
            kind = str(ds["branch_kind"].values[b])
            scene.add_path(xyz, color=COLORS[kind], width=5, label=f"{kind} set")
    if centre is not None:
        c, _, _ = projection(centre, coordinates, fit=fit_on)
        span = float(np.ptp(scene.all_points(), axis=0).max()) if scene.paths else 1.0
        value = ds.attrs.get("critical_value")
        text = f"S = {subset}" + (f", L = {float(value):.3g}" if value is not None else "")
        scene.add_markers(c, color=VISITED_COLOR, radius=0.02 * span, label="the critical point")
        scene.add_labels(c, [text])
    return scene


def fiber_scene(ds, size="medium", title=None, coordinates=None):
    """Samples of the fiber of a subset ``S``, coloured by stratum, in a projection.

    Parameters
    ----------
    ds : xarray.Dataset
        A ``fiber`` dataset.
    size : {"small", "medium", "large"} or (width, height), default="medium"
    title : str, optional
    coordinates : sequence of 3 int, optional

    Returns
    -------
    Scene3D
    """
    th = ds["theta"].values
    xyz, _, titles = projection(th, coordinates)
    subset = ds.attrs.get("subset", "")
    scene = Scene3D(title=title or f"fiber of S = {subset}", axis_titles=titles, size=size)
    for stratum, color in (("orbit", "#1f77b4"), ("dead_paths", "#9467bd")):
        sel = ds["stratum"].values == stratum
        if sel.any():
            scene.add_markers(xyz[sel], color=color, symbol="point", label=stratum.replace("_", " "))
    ok = np.all(np.isfinite(xyz), axis=1)
    if ok.any():
        scene.add_labels(xyz[ok].mean(axis=0), [f"S = {subset}"])
    return scene
