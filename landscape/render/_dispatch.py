"""``render(ds, path)``: one picture per landscape Dataset, chosen by its kind."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import LandscapeValueError
from ..io import check_dataset, network_of
from ._base import COLORS, plotter, save_mesh, save_png
from ._scenes import chart_lines, manifold_lines, project, scalar_scene, spectrum_chart, trajectory_tubes

__all__ = ["render", "RENDERABLE"]

RENDERABLE = ("trajectory", "submanifolds", "critical_points", "fiber", "itinerary", "inertia")


def _is_scalar3(net):
    return net.widths == (1, 1, 1, 1)


def _trajectory(ds, net, size):
    runs = [ds.isel(run=i) for i in range(ds.sizes["run"])] if "run" in ds.dims else [ds]
    if _is_scalar3(net):
        trajs = [(r["theta"].values, r["loss"].values) for r in runs]
        return scalar_scene(float(net.sigma[0]), size, trajectories=trajs, title="gradient-flow trajectories"), None
    fit = np.concatenate([r["theta"].values for r in runs])
    fit = fit[np.all(np.isfinite(fit), axis=1)]
    pl = plotter(size)
    meshes = []
    label = ""
    for i, r in enumerate(runs):
        xyz, label = project(r["theta"].values, fit=fit)
        tube = trajectory_tubes(xyz, r["loss"].values, radius=0.01 * max(1e-9, float(np.ptp(fit))))
        meshes.append(tube)
        pl.add_mesh(tube, scalars="value", cmap="plasma", show_scalar_bar=i == 0,
                    scalar_bar_args={"title": "loss", "color": "black"})
    pl.add_text(f"trajectories, {label}", font_size=9, color="black")
    pl.show_axes()
    return pl, meshes[0] if meshes else None


def _manifolds(ds, net, size):
    if _is_scalar3(net):
        return scalar_scene(float(net.sigma[0]), size, manifolds=ds, title="stable (blue) and unstable (red) sets"), None
    lines, label = manifold_lines(ds)
    pl = plotter(size)
    for line, kind in lines:
        pl.add_mesh(line, color=COLORS[kind], line_width=4)
    pl.add_text(f"stable (blue) / unstable (red) samples, {label}", font_size=9, color="black")
    pl.show_axes()
    return pl, None


def _critical(ds, net, size):
    """Hessian spectra coloured by kind, as the dataset holds them; never classifies.

    A dataset classified by :func:`landscape.classify` holds ``kind`` and the spectra
    (``hessian_eigenvalues``, or only ``lambda_min``/``lambda_max`` for large networks).
    An unclassified one holds the critical values only, and that is what is drawn.
    """
    if "kind" not in ds.variables:
        groups = [(i, np.array([float(ds["loss"].values[i])]), "", "#333333") for i in range(ds.sizes["point"])]
        return spectrum_chart(groups, "critical values (not classified: see ls.classify)", size,
                              y_label="critical value L_S"), None
    groups = []
    for i in range(ds.sizes["point"]):
        kind = str(ds["kind"].values[i])
        if "hessian_eigenvalues" in ds.variables:
            ev = np.asarray(ds["hessian_eigenvalues"].values[i], dtype=float)
        else:
            ev = np.array([float(ds["lambda_min"].values[i]), float(ds["lambda_max"].values[i])])
        groups.append((i, ev, kind.replace("_", " "), COLORS.get(kind, "#333333")))
    return spectrum_chart(groups, "Hessian spectra at the representatives A*_S", size), None


def _fiber(ds, net, size):
    pv = __import__("pyvista")
    th = ds["theta"].values
    xyz, label = project(th)
    pl = plotter(size)
    for stratum, color in (("orbit", "#1f77b4"), ("dead_paths", "#9467bd")):
        sel = ds["stratum"].values == stratum
        if sel.any():
            pl.add_mesh(pv.PolyData(xyz[sel]), color=color, point_size=10, render_points_as_spheres=True, label=stratum)
    pl.add_legend(bcolor="white")
    pl.add_text(f"fiber of S = {ds.attrs.get('subset', '')}, {label}", font_size=9, color="black")
    pl.show_axes()
    return pl, None


def _itinerary(ds, net, size):
    t0, t1, L = ds["t_enter"].values, ds["t_exit"].values, ds["plateau_loss"].values
    x = np.ravel(np.column_stack([t0, t1]))
    y = np.repeat(L, 2)
    return chart_lines([(x, y, "plateau loss L_S", "#333333")], "time", "loss", "itinerary " + ds.attrs.get("route", ""), size), None


def _inertia(ds, net, size):
    ev = ds["eigenvalues"].values if "eigenvalues" in ds else np.concatenate([ds["lowest"].values, ds["highest"].values])
    return spectrum_chart([(0, ev, "eigenvalues", "#333333")], "Hessian spectrum", size), None


def render(ds, path, *, size="medium", vtk=False):
    """Render a landscape Dataset off screen to a PNG (and its main mesh to ``.vtp``).

    Only what the dataset holds is drawn; nothing is computed again. A critical-points
    dataset classified by :func:`landscape.classify` is drawn as its stored Hessian
    spectra coloured by kind; an unclassified one as its critical values.

    Parameters
    ----------
    ds : xarray.Dataset
        A dataset of one of the kinds in :data:`RENDERABLE`.
    path : str or os.PathLike
        PNG file to write (atomically).
    size : {"small", "medium", "large"} or (width, height), default="medium"
    vtk : bool, default=False
        Also write the main mesh next to the PNG with suffix ``.vtp`` (for ParaView).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    check_dataset(ds)
    kind = ds.attrs["landscape_kind"]
    handlers = {"trajectory": _trajectory, "submanifolds": _manifolds, "critical_points": _critical,
                "fiber": _fiber, "itinerary": _itinerary, "inertia": _inertia}
    if kind not in handlers:
        raise LandscapeValueError(
            f"render expected a landscape dataset of kind {list(RENDERABLE)}; got kind {kind!r}."
        )
    net = network_of(ds)
    pl, mesh = handlers[kind](ds, net, size)
    path = Path(path)
    save_png(pl, path)
    written = [path]
    if vtk and mesh is not None:
        written.append(save_mesh(mesh, path.with_suffix(".vtp")))
    return written
