"""``render(ds, path)``: one picture per landscape Dataset, chosen by its kind."""

from __future__ import annotations

import numpy as np

from ..errors import LandscapeValueError
from ..io import check_dataset, network_of
from ._base import COLORS, kind_label, save_html, save_mesh, save_png
from ._charts import chart_lines, spectrum_chart
from ._scene3d import Scene3D
from ._scenes import fiber_scene, manifold_scene, trajectory_scene, trajectory_tubes

__all__ = ["render", "picture", "RENDERABLE", "SCENE_KINDS"]

RENDERABLE = ("trajectory", "submanifolds", "critical_points", "fiber", "itinerary", "inertia", "eigenpairs",
              "spectral_density", "manifold_surface")
#: the kinds drawn as 3-D scenes (PNG and, with ``html=True``, an interactive page); the others are 2-D charts
SCENE_KINDS = ("trajectory", "submanifolds", "fiber", "manifold_surface")


def _trajectory(ds, size):
    itinerary = None
    if "run" not in ds.dims:
        from ..dynamics import itinerary as _itinerary

        try:
            itinerary = _itinerary(ds)
        except Exception:  # noqa: BLE001 - a run the itinerary cannot read is still drawn, unlabelled
            itinerary = None
    scene = trajectory_scene(ds, size, itinerary=itinerary)
    values = [p for p in scene.paths if p.values is not None]
    mesh = trajectory_tubes(values[0].points, values[0].values, radius=values[0].radius) if values else None
    return scene, mesh


def _manifolds(ds, size):
    return manifold_scene(ds, size), None


def _surface(ds, size):
    from ._surface import surface_mesh, surface_scene

    return surface_scene(ds, size), surface_mesh(ds)


def _critical(ds, size):
    """Hessian spectra coloured by kind, as the dataset holds them; never classifies.

    A dataset classified by :func:`landscape.classify` holds ``kind`` and the spectra
    (``hessian_eigenvalues``, or only ``lambda_min``/``lambda_max`` for large networks).
    An unclassified one holds the critical values only, and that is what is drawn.
    """
    subsets = [f"{s}\nL = {float(L):.3g}" for s, L in zip(ds["subset"].values, ds["loss"].values)]
    if "kind" not in ds.variables:
        groups = [(subsets[i], np.array([float(ds["loss"].values[i])]), "", "#333333") for i in range(ds.sizes["point"])]
        return spectrum_chart(groups, "critical values (not classified: see ls.classify)", size,
                              y_label="critical value L_S"), None
    groups = []
    for i in range(ds.sizes["point"]):
        kind = str(ds["kind"].values[i])
        if "hessian_eigenvalues" in ds.variables:
            ev = np.asarray(ds["hessian_eigenvalues"].values[i], dtype=float)
        else:
            ev = np.array([float(ds["lambda_min"].values[i]), float(ds["lambda_max"].values[i])])
        groups.append((subsets[i], ev, kind_label(kind), COLORS.get(kind, "#333333")))
    return spectrum_chart(groups, "Hessian spectra at the representatives A*_S (×k: multiplicity)", size), None


def _fiber(ds, size):
    return fiber_scene(ds, size), None


def _itinerary(ds, size):
    t0, t1, L = ds["t_enter"].values, ds["t_exit"].values, ds["plateau_loss"].values
    x = np.ravel(np.column_stack([t0, t1]))
    y = np.repeat(L, 2)
    notes = [(a, v, f"S = {s}") for a, v, s in zip(t0, L, ds["subset"].values)] if "subset" in ds else []
    return chart_lines([(x, y, "plateau loss L_S", "#333333")], "time", "loss (critical value L_S)",
                       "itinerary " + ds.attrs.get("route", ""), size, annotations=notes), None


def _inertia(ds, size):
    ev = ds["eigenvalues"].values if "eigenvalues" in ds else np.concatenate([ds["lowest"].values, ds["highest"].values])
    name = ds.attrs.get("subset", "W")
    return spectrum_chart([(name, ev, "eigenvalues", "#333333")], "Hessian spectrum", size, x_label="point"), None


def _eigenpairs(ds, size):
    groups = []
    for end, color in (("lowest", "#b2182b"), ("highest", "#2166ac")):
        sel = ds["end"].values == end
        if sel.any():
            groups.append((end, ds["eigenvalues"].values[sel], f"{end} (max residual "
                           f"{float(np.max(ds['residual'].values[sel])):.1e})", color))
    return spectrum_chart(groups, "extreme Hessian eigenvalues", size, x_label="end of the spectrum"), None


def _spectral_density(ds, size):
    from ._density import density_chart

    return density_chart(ds, size=size), None


_HANDLERS = {"trajectory": _trajectory, "submanifolds": _manifolds, "critical_points": _critical,
             "fiber": _fiber, "itinerary": _itinerary, "inertia": _inertia, "eigenpairs": _eigenpairs,
             "spectral_density": _spectral_density, "manifold_surface": _surface}


def picture(ds, *, size="medium"):
    """The picture of a landscape Dataset, not yet written: a chart or a 3-D scene.

    Parameters
    ----------
    ds : xarray.Dataset
        A dataset of one of the kinds in :data:`RENDERABLE`.
    size : {"small", "medium", "large"} or (width, height), default="medium"

    Returns
    -------
    picture : matplotlib.figure.Figure or Scene3D
        A 2-D chart (critical points, itinerary, inertia) or a 3-D scene (trajectory,
        submanifolds, fiber); :func:`landscape.render.save_png` writes either.
    mesh : pyvista.PolyData or None
        The main mesh, for ParaView (the first trajectory's tube, coloured by loss).
    """
    check_dataset(ds)
    kind = ds.attrs["landscape_kind"]
    if kind not in _HANDLERS:
        raise LandscapeValueError(
            f"render expected a landscape dataset of kind {list(RENDERABLE)}; got kind {kind!r}."
        )
    if str(ds.attrs.get("loss", "squared")) == "squared":
        network_of(ds)  # a dataset whose network cannot be rebuilt is refused here, before drawing
    elif kind not in ("trajectory", "inertia", "eigenpairs", "spectral_density"):
        raise LandscapeValueError(f"render draws {kind!r} datasets of the whitened quadratic loss only; this one's loss "
                                  f"is {ds.attrs['loss']!r} (trajectories and Hessian spectra are drawn for every loss).")
    return _HANDLERS[kind](ds, size)


def render(ds, path, *, size="medium", vtk=False, html=False):
    """Render a landscape Dataset off screen to a PNG (and its main mesh to ``.vtp``).

    Only what the dataset holds is drawn; nothing is computed again. A critical-points
    dataset classified by :func:`landscape.classify` is drawn as its stored Hessian
    spectra coloured by kind, an unclassified one as its critical values; itineraries
    and inertia as matplotlib charts; trajectories, stable/unstable sets and fibers as
    3-D scenes (axis titles, starts and ends marked, critical points labelled with ``S``).

    Parameters
    ----------
    ds : xarray.Dataset
        A dataset of one of the kinds in :data:`RENDERABLE`.
    path : str or os.PathLike
        PNG file to write (atomically).
    size : {"small", "medium", "large"} or (width, height), default="medium"
    vtk : bool, default=False
        Also write the main mesh next to the PNG with suffix ``.vtp`` (for ParaView).
    html : bool, default=False
        For a 3-D scene (kinds :data:`SCENE_KINDS`), also write an interactive page next
        to the PNG with suffix ``.html`` (plotly; ``plotly.min.js`` is copied beside it, so
        it works offline). Refused for the kinds drawn as 2-D charts.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    LandscapeValueError
        Before drawing: ``path`` does not end in ``.png`` (any case), its folder does not
        exist (it is never created) or is not writable, ``path`` is a folder, or ``html``
        is asked for a chart; a ``plotly.min.js`` beside the page that landscape did not
        write (see :func:`landscape.render.write_plotly_js`).

    Notes
    -----
    Like :meth:`xarray.Dataset.to_netcdf` or ``savefig``, the files you name (``path``
    and its ``.vtp``/``.html`` siblings) are replaced if they exist; the command line
    ``landscape render`` instead keeps any file landscape did not write unless
    ``--overwrite``. ``plotly.min.js``, which you do not name, is never replaced unless
    landscape wrote it.
    """
    from .._validation import check_output_path

    check_dataset(ds)
    kind = ds.attrs["landscape_kind"]
    if html and kind in RENDERABLE and kind not in SCENE_KINDS:
        raise LandscapeValueError(f"html=True writes an interactive page of a 3-D scene (kinds {list(SCENE_KINDS)}); "
                                  f"a {kind!r} dataset is drawn as a 2-D chart (PNG only).")
    path = check_output_path(path, name="path", suffixes=(".png",), overwrite=True)
    pic, mesh = picture(ds, size=size)
    is_scene = isinstance(pic, Scene3D)
    save_png(pic, path)
    written = [path]
    if vtk and mesh is not None:
        written.append(save_mesh(mesh, path.with_suffix(".vtp")))
    if html and is_scene:
        written.append(save_html(pic, path.with_suffix(".html")))
    return written
