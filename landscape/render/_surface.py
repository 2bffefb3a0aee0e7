"""The 3-D scene of a ``manifold_surface`` dataset: the triangle mesh, W* and where growth ended."""

from __future__ import annotations

import numpy as np

from ._base import COLORS
from ._scene3d import Scene3D
from ._scenes import VISITED_COLOR, projection

__all__ = ["surface_scene", "surface_mesh"]

#: below this share of the variance in the third principal direction the surface is flat
#: in parameter space and the loss is drawn as the third axis instead
FLAT_SHARE = 1e-6


def _coordinates(ds, coordinates, z):
    """``xyz`` of every vertex and the axis titles (PCA, chosen parameters, or PC1, PC2, loss)."""
    P = ds["points"].values
    xyz, _, titles = projection(P, coordinates)
    if z == "loss" or (z == "auto" and coordinates is None and P.shape[1] > 3):
        if z == "loss" or _third_share(P) < FLAT_SHARE:
            xyz = xyz.copy()
            xyz[:, 2] = ds["loss"].values
            titles = (titles[0], titles[1], "loss L")
    return xyz, titles


def _third_share(P):
    Pc = P - P.mean(axis=0)
    s = np.linalg.svd(Pc, compute_uv=False)
    return float(s[2] ** 2 / max(np.sum(s**2), 1e-300)) if s.size >= 3 else 0.0


def surface_scene(ds, size="medium", title=None, coordinates=None, z="auto", opacity=0.85):
    """A ``manifold_surface`` dataset as a 3-D scene: the mesh, ``W*`` labelled with ``S``.

    Vertices are projected on the first principal directions of the points (or the chosen
    parameter ``coordinates``); a surface that is flat in parameter space (the third
    principal direction holds less than ``FLAT_SHARE`` of the variance, e.g. the planes of
    the (1, 2, 1) network) is drawn over its plane with the loss as the third axis. Vertices
    where growth reached a critical set are marked (green: they lie on it).

    Parameters
    ----------
    ds : xarray.Dataset
        A ``manifold_surface`` dataset.
    size : {"small", "medium", "large"} or (width, height), default="medium"
    title : str, optional
    coordinates : sequence of 3 int, optional
        Parameter indices to show instead of the principal directions.
    z : {"auto", "loss", "pca"}, default="auto"
        Third axis: the loss for flat surfaces (``"auto"``), always (``"loss"``) or never.
    opacity : float, default=0.85

    Returns
    -------
    Scene3D
    """
    kind = ds.attrs.get("manifold", "unstable")
    xyz, titles = _coordinates(ds, coordinates, z)
    subset = ds.attrs.get("subset", "")
    name = "W^u" if kind == "unstable" else "W^s"
    scene = Scene3D(title=title or f"{kind} manifold {name} of S = {subset} ({ds.sizes['vertex']} vertices, "
                    f"start: {ds.attrs.get('start', '')})", axis_titles=titles, size=size)
    scene.add_surface(xyz, ds["triangles"].values, color=COLORS[kind], opacity=opacity,
                      label=f"{kind} manifold (mesh)")
    span = float(np.ptp(xyz, axis=0).max()) or 1.0
    ends = ds["stop"].values == "critical_set"
    if ends.any():
        scene.add_markers(xyz[ends], color=COLORS["global_minimum"], symbol="point",
                          label="critical set reached")
    value = ds.attrs.get("critical_value")
    text = f"S = {subset}" + (f", L = {float(value):.3g}" if value is not None else "")
    scene.add_markers(xyz[0], color=VISITED_COLOR, radius=0.02 * span, label="the critical point W*")
    scene.add_labels(xyz[:1], [text])
    return scene


def surface_mesh(ds, coordinates=None, z="auto"):
    """The projected mesh as a ``pyvista.PolyData`` with point data ``loss`` and ``geodesic_distance``."""
    import pyvista as pv

    xyz, _ = _coordinates(ds, coordinates, z)
    tri = ds["triangles"].values
    faces = np.column_stack([np.full(len(tri), 3), tri]).ravel()
    mesh = pv.PolyData(np.asarray(xyz, float), faces)
    mesh.point_data["loss"] = ds["loss"].values
    mesh.point_data["geodesic_distance"] = ds["geodesic_distance"].values
    return mesh
