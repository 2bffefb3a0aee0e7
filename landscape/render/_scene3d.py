"""A 3-D scene described once and drawn twice: pyvista (PNG for papers) and plotly (interactive page).

:class:`Scene3D` holds what a picture shows, in world coordinates: surfaces, paths (lines,
or tubes coloured by a value such as the loss), markers (trajectory starts and ends,
critical points), text labels (the subset ``S`` of a critical point), the axis titles and
the camera. :meth:`Scene3D.plotter` draws it off screen with pyvista; the title, legend
and colour bar get their own strips of the window and the camera is fitted so that no
geometry reaches them. :meth:`Scene3D.figure` draws the same content with plotly, for
the report page (plotly.js is copied next to the page, so it works offline).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import LandscapeValueError
from ._base import SIZES, plotter

__all__ = ["Scene3D", "Surface", "Path", "Markers", "Labels", "FREE_REGION", "PLOTLY_CONFIG"]

#: the part of the window (normalised viewport coordinates, x0, x1, y0, y1) the geometry is
#: fitted into: the title has the strip above, the legend and colour bar the column to the right.
FREE_REGION = (0.03, 0.67, 0.04, 0.88)
_LEGEND_BOX = (0.70, 0.43, 0.29, 0.45)  # x, y, width, height (normalised)
_COLORBAR_BOX = (0.80, 0.05, 0.07, 0.32)
#: plotly's options for every interactive view: no logo, no cloud link, PNG export at 2x
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "scrollZoom": True,
                 "toImageButtonOptions": {"format": "png", "scale": 2}}


@dataclass
class Surface:
    """A triangulated surface: ``points`` (n, 3), ``triangles`` (m, 3) indices into points."""

    points: np.ndarray
    triangles: np.ndarray
    color: str
    opacity: float = 1.0
    label: str = ""


@dataclass
class Path:
    """A polyline ``points`` (n, 3). With ``values`` (n,) it is coloured by them (a tube if ``radius``)."""

    points: np.ndarray
    color: str = "#333333"
    values: np.ndarray | None = None
    radius: float | None = None
    width: float = 4.0
    label: str = ""


@dataclass
class Markers:
    """Markers at ``points`` (n, 3): ``symbol`` "sphere" or "cube" (world ``radius``) or "point" (pixels)."""

    points: np.ndarray
    color: str
    symbol: str = "sphere"
    radius: float = 0.05
    label: str = ""


@dataclass
class Labels:
    """Text ``texts`` anchored at ``points`` (n, 3), always drawn on top."""

    points: np.ndarray
    texts: list


@dataclass
class Scene3D:
    """What a 3-D picture shows; draw it with :meth:`plotter` (pyvista) or :meth:`figure` (plotly).

    Parameters
    ----------
    title : str
    axis_titles : tuple of 3 str
        Titles of the x, y and z axes (``"w1"``, or ``"PC1 (92.0%)"`` for a projection).
    size : {"small", "medium", "large"} or (width, height), default="medium"
        Pixel size of the PNG.
    camera : ((3,), (3,), (3,)), optional
        Camera position, focal point and view-up; default: looking from (3.2, 2.4, 2.0)
        times the scene's extent, z up.
    value_title : str, default="loss"
        Title of the colour bar of the paths coloured by value.
    bounds : (6,) float, optional
        ``(xmin, xmax, ymin, ymax, zmin, zmax)`` of the axes box; default: the geometry's.
    """

    title: str = ""
    axis_titles: tuple = ("x", "y", "z")
    size: object = "medium"
    camera: tuple | None = None
    value_title: str = "loss"
    bounds: tuple | None = None
    surfaces: list = field(default_factory=list)
    paths: list = field(default_factory=list)
    markers: list = field(default_factory=list)
    labels: list = field(default_factory=list)

    # ------------------------------------------------------------------ building
    def add_surface(self, mesh_or_points, triangles=None, *, color, opacity=1.0, label=""):
        """Add a surface given as a pyvista mesh (triangulated here) or as ``points`` and ``triangles``."""
        if triangles is None:
            mesh = mesh_or_points.triangulate()
            if mesh.n_points == 0:
                return self
            points = np.asarray(mesh.points, float)
            triangles = np.asarray(mesh.faces).reshape(-1, 4)[:, 1:]
        else:
            points = np.asarray(mesh_or_points, float)
        self.surfaces.append(Surface(points, np.asarray(triangles, dtype=np.int64), color, float(opacity), label))
        return self

    def add_path(self, points, *, color="#333333", values=None, radius=None, width=4.0, label=""):
        """Add a polyline (non-finite points dropped); with ``values`` it is coloured by them."""
        points = np.asarray(points, float)
        ok = np.all(np.isfinite(points), axis=1)
        vals = None
        if values is not None:
            vals = np.asarray(values, float)
            ok &= np.isfinite(vals)
            vals = vals[ok]
        if ok.sum() >= 2:
            self.paths.append(Path(points[ok], color, vals, radius, float(width), label))
        return self

    def add_markers(self, points, *, color, symbol="sphere", radius=0.05, label=""):
        """Add markers (``symbol`` "sphere", "cube" or "point")."""
        if symbol not in ("sphere", "cube", "point"):
            raise LandscapeValueError(f"symbol must be 'sphere', 'cube' or 'point'; got {symbol!r}.")
        points = np.atleast_2d(np.asarray(points, float))
        points = points[np.all(np.isfinite(points), axis=1)]
        if len(points):
            self.markers.append(Markers(points, color, symbol, float(radius), label))
        return self

    def add_labels(self, points, texts):
        """Add text labels anchored at ``points``."""
        points = np.atleast_2d(np.asarray(points, float))
        if len(points) != len(texts):
            raise LandscapeValueError(f"labels need one text per point; got {len(points)} points and {len(texts)} texts.")
        self.labels.append(Labels(points, [str(t) for t in texts]))
        return self

    def mark_ends(self, points, radius):
        """Mark the start (black sphere) and end (black cube) of a trajectory ``points`` (n, 3)."""
        points = np.asarray(points, float)
        points = points[np.all(np.isfinite(points), axis=1)]
        if len(points):
            self.add_markers(points[0], color=MARK_COLOR, symbol="sphere", radius=radius, label=START_LABEL)
            self.add_markers(points[-1], color=MARK_COLOR, symbol="cube", radius=radius, label=END_LABEL)
        return self

    # ------------------------------------------------------------------ queries
    def all_points(self):
        """Every point of the scene's geometry, shape (n, 3)."""
        parts = [s.points for s in self.surfaces] + [p.points for p in self.paths] + [m.points for m in self.markers]
        parts += [lab.points for lab in self.labels]
        return np.concatenate(parts) if parts else np.zeros((0, 3))

    def axes_bounds(self):
        """``(xmin, xmax, ymin, ymax, zmin, zmax)`` of the axes box: ``bounds``, or the geometry's padded by 2%."""
        return tuple(float(b) for b in self.bounds) if self.bounds is not None else _bounds(self.all_points())

    def value_range(self):
        """(min, max) over the paths coloured by value (one colour scale for all), or None."""
        vals = [p.values for p in self.paths if p.values is not None and p.values.size]
        if not vals:
            return None
        allv = np.concatenate(vals)
        return float(allv.min()), float(allv.max())

    def _camera(self):
        if self.camera is not None:
            return self.camera
        b = np.asarray(self.axes_bounds(), float).reshape(3, 2)  # never flat (see _bounds)
        centre = b.mean(axis=1)
        extent = float(0.5 * (b[:, 1] - b[:, 0]).max()) or 1.0
        return (tuple(centre + np.array([3.2, 2.4, 2.0]) * extent), tuple(centre), (0.0, 0.0, 1.0))

    def legend_entries(self):
        """``[(label, color, face)]`` in drawing order, each label once."""
        out, seen = [], set()
        items = [(s.label, s.color, "rectangle") for s in self.surfaces]
        items += [(p.label if p.values is None else p.label, p.color if p.values is None else "#cc4778", "line")
                  for p in self.paths]
        items += [(m.label, m.color, "rectangle" if m.symbol == "cube" else "circle") for m in self.markers]
        for label, color, face in items:
            if label and label not in seen:
                seen.add(label)
                out.append((label, color, face))
        return out

    # ------------------------------------------------------------------ pyvista
    def plotter(self, size=None):
        """Draw the scene off screen with pyvista.

        Parameters
        ----------
        size : {"small", "medium", "large"} or (width, height), optional
            Default: the scene's ``size``.

        Returns
        -------
        pyvista.Plotter
            Not yet rendered; :func:`landscape.render.save_png` takes a screenshot.
        """
        import pyvista as pv

        size = self.size if size is None else size
        window = SIZES[size] if isinstance(size, str) else tuple(size)
        scale = window[0] / 800.0
        pl = plotter(size)
        pl._landscape_scene = self  # the description it was drawn from (tests read it)
        clim = self.value_range()
        for s in self.surfaces:
            faces = np.c_[np.full(len(s.triangles), 3), s.triangles].ravel()
            pl.add_mesh(pv.PolyData(s.points, faces), color=s.color, opacity=s.opacity, smooth_shading=True,
                        reset_camera=False)
        first_values = True
        for p in self.paths:
            if p.values is None:
                pl.add_mesh(pv.lines_from_points(p.points), color=p.color, line_width=max(1.0, p.width * scale),
                            reset_camera=False)
                continue
            from ._scenes import trajectory_tubes

            mesh = trajectory_tubes(p.points, p.values, radius=p.radius) if p.radius else _line(p.points, p.values)
            kwargs = {}
            if first_values:
                kwargs = {"scalar_bar_args": {"title": self.value_title, "color": "black", "vertical": True,
                                              "position_x": _COLORBAR_BOX[0], "position_y": _COLORBAR_BOX[1],
                                              "width": _COLORBAR_BOX[2], "height": _COLORBAR_BOX[3], "fmt": "%.2g",
                                              "title_font_size": int(16 * scale), "label_font_size": int(13 * scale),
                                              "n_labels": 4}}
            pl.add_mesh(mesh, scalars="value", cmap="plasma", clim=clim, show_scalar_bar=first_values,
                        line_width=max(1.0, p.width * scale), reset_camera=False, **kwargs)
            first_values = False
        for m in self.markers:
            if m.symbol == "point":
                pl.add_mesh(pv.PolyData(m.points), color=m.color, point_size=max(3.0, 10 * scale),
                            render_points_as_spheres=True, reset_camera=False)
                continue
            glyphs = [pv.Sphere(radius=m.radius, center=q, theta_resolution=20, phi_resolution=20)
                      if m.symbol == "sphere" else pv.Cube(center=q, x_length=1.7 * m.radius, y_length=1.7 * m.radius,
                                                           z_length=1.7 * m.radius) for q in m.points]
            pl.add_mesh(pv.merge(glyphs) if len(glyphs) > 1 else glyphs[0], color=m.color, smooth_shading=True,
                        reset_camera=False)
        bounds = self.axes_bounds()
        pl.show_bounds(bounds=bounds, xtitle=self.axis_titles[0], ytitle=self.axis_titles[1],
                       ztitle=self.axis_titles[2], color="black", font_size=max(6, int(12 * scale)),
                       location="furthest", grid="back", n_xlabels=3, n_ylabels=3, n_zlabels=3, fmt="%.2g",
                       minor_ticks=False, use_3d_text=False)
        entries = self.legend_entries()
        if entries:
            faces = {"line": _line_face(), "circle": "circle", "rectangle": "rectangle"}
            longest = max(len(lab) for lab, _, _ in entries)
            width = min(_LEGEND_BOX[2], max(0.12, 0.0075 * (longest + 3)))
            height = min(_LEGEND_BOX[3], 0.055 * len(entries))
            legend = pl.add_legend(labels=[[lab, col, faces[face]] for lab, col, face in entries], bcolor="white",
                                   border=False, size=(width, height), loc="upper right")
            legend.SetPosition(_LEGEND_BOX[0], _LEGEND_BOX[1] + _LEGEND_BOX[3] - height)
            legend.SetPosition2(width, height)
        if self.title:
            font = min(12 * scale, 0.92 * window[0] / (1.1 * len(self.title)))
            pl.add_text(self.title, position="upper_edge", font_size=max(5, int(font)), color="black", name="title")
        pos, focal, up = self._camera()
        pl.camera_position = [tuple(pos), tuple(focal), tuple(up)]
        points = np.concatenate([self.all_points(), _corners(bounds)])
        fit_camera(pl, points, window)
        font = max(7, int(14 * scale))
        region = list(FREE_REGION)
        for _ in range(3):  # labels read rightwards from their point: keep their text inside the free region too
            ends = [projected(pl, lab.points, window)[:, 0] + np.array([_text_width(t, font) for t in lab.texts])
                    / window[0] for lab in self.labels]
            over = max((float(e.max()) for e in ends if e.size), default=0.0) - FREE_REGION[1]
            if over <= 1e-3:
                break
            region[1] -= over
            fit_camera(pl, points, window, region=tuple(region))
        for i, lab in enumerate(self.labels):
            pl.add_point_labels(lab.points, lab.texts, font_size=font, text_color="black", shape="rounded_rect",
                                shape_color="white", shape_opacity=0.8, show_points=False, always_visible=True,
                                bold=False, margin=2, name=f"labels-{i}", reset_camera=False)
        return pl

    # ------------------------------------------------------------------ plotly
    def figure(self):
        """The same scene as an interactive plotly Figure (WebGL), for the report page.

        Returns
        -------
        plotly.graph_objects.Figure
            Traces named by their legend labels; start and end markers are the traces
            named "start" and "end"; the subset labels are the scene's annotations.
        """
        import plotly.graph_objects as go

        traces = []
        shown = set()

        def legend(label):
            first = bool(label) and label not in shown
            shown.add(label)
            return {"name": label or None, "legendgroup": label or None, "showlegend": first}

        for s in self.surfaces:
            p, t = s.points, s.triangles
            traces.append(go.Mesh3d(x=p[:, 0], y=p[:, 1], z=p[:, 2], i=t[:, 0], j=t[:, 1], k=t[:, 2], color=s.color,
                                    opacity=s.opacity, flatshading=False, hoverinfo="name",
                                    lighting={"ambient": 0.55, "diffuse": 0.7, "specular": 0.1}, **legend(s.label)))
        plain = {}
        for p in self.paths:
            if p.values is None:
                plain.setdefault((p.label, p.color, p.width), []).append(p.points)
        for (label, color, width), parts in plain.items():
            xyz = np.concatenate([np.vstack([q, np.full((1, 3), np.nan)]) for q in parts])[:-1]
            traces.append(go.Scatter3d(x=xyz[:, 0], y=xyz[:, 1], z=xyz[:, 2], mode="lines", hoverinfo="name",
                                       line={"color": color, "width": 1.5 * width}, connectgaps=False, **legend(label)))
        clim = self.value_range()
        first = True
        for p in self.paths:
            if p.values is None:
                continue
            line = {"color": p.values, "colorscale": "Plasma", "cmin": clim[0], "cmax": clim[1], "width": 7,
                    "showscale": first}
            if first:
                line["colorbar"] = {"title": {"text": self.value_title}, "len": 0.45, "y": 0.22, "x": 1.0,
                                    "thickness": 14, "tickformat": ".2g"}
            traces.append(go.Scatter3d(x=p.points[:, 0], y=p.points[:, 1], z=p.points[:, 2], mode="lines",
                                       line=line, hovertemplate=f"{self.value_title} %{{text}}<extra></extra>",
                                       text=[f"{v:.3g}" for v in p.values], **legend(p.label)))
            first = False
        symbols = {"sphere": "circle", "cube": "square", "point": "circle"}
        for m in self.markers:
            q = m.points
            traces.append(go.Scatter3d(x=q[:, 0], y=q[:, 1], z=q[:, 2], mode="markers", hoverinfo="name",
                                       marker={"symbol": symbols[m.symbol], "color": m.color,
                                               "size": 4 if m.symbol == "point" else 6}, **legend(m.label)))
        pos, focal, up = (np.asarray(v, float) for v in self._camera())
        eye = pos - focal
        eye = 2.4 * eye / np.linalg.norm(eye)
        axis = {"backgroundcolor": "white", "gridcolor": "#dddddd", "zerolinecolor": "#bbbbbb", "showspikes": False,
                "color": "#333333"}
        scene = {f"{c}axis": dict(axis, title={"text": t}) for c, t in zip("xyz", self.axis_titles)}
        b = np.asarray(self.axes_bounds(), float).reshape(3, 2)
        if self.bounds is None:  # room around the data: plotly clips labels reaching outside the axes box
            span = np.maximum(b[:, 1] - b[:, 0], 1e-12)
            b = b + np.outer(span, [-0.06, 0.06])
        for c, k in zip("xyz", range(3)):
            scene[f"{c}axis"]["range"] = [float(b[k, 0]), float(b[k, 1])]
        # labels as scene annotations: drawn over the WebGL canvas, never clipped by the axes box
        scene["annotations"] = [
            {"x": float(q[0]), "y": float(q[1]), "z": float(q[2]), "text": text, "showarrow": False, "xanchor": "left",
             "yanchor": "bottom", "xshift": 4, "yshift": 2, "font": {"size": 13, "color": "#111111"},
             "bgcolor": "rgba(255,255,255,0.75)"}
            for lab in self.labels for q, text in zip(lab.points, lab.texts)]
        scene.update(aspectmode="data", camera={"eye": dict(zip("xyz", eye.tolist())), "up": dict(zip("xyz", up.tolist())),
                                                 "center": {"x": 0.0, "y": 0.0, "z": -0.08}})
        fig = go.Figure(traces)
        fig.update_layout(title={"text": self.title, "x": 0.5, "xanchor": "center"}, scene=scene,
                          font={"color": "#222222"},
                          template="plotly_white", paper_bgcolor="white", margin={"l": 0, "r": 0, "t": 50, "b": 0},
                          legend={"x": 1.0, "xanchor": "right", "y": 0.98, "bgcolor": "rgba(255,255,255,0.8)"},
                          uirevision="keep")
        return fig


#: the trajectory start and end markers: black sphere, black cube
MARK_COLOR = "#000000"
START_LABEL, END_LABEL = "start", "end"


def _text_width(text, font_size):
    """Width in pixels of a label of ``font_size`` (a generous estimate, with the box's margins)."""
    return 0.62 * font_size * len(text) + 12


def _line(points, values):
    import pyvista as pv

    line = pv.lines_from_points(points)
    line["value"] = values
    return line


def _line_face():
    import pyvista as pv

    return pv.Rectangle([[0.0, -0.12, 0.0], [1.0, -0.12, 0.0], [1.0, 0.12, 0.0]])


#: a flat axis (a constant coordinate, a padded one for networks with fewer than three
#: parameters, a PCA component without variance) is shown with this fraction of the
#: largest span, centred on its value: the axes box never collapses to a plane or a line.
FLAT_AXIS_FRACTION = 0.2


def _bounds(points):
    """Axes box ``(xmin, xmax, ..., zmax)`` around ``points`` (n, 3), padded by 2%, no axis flat."""
    points = np.asarray(points, float)
    points = points[np.all(np.isfinite(points), axis=1)] if len(points) else points
    if len(points) == 0:
        return (-1.0, 1.0, -1.0, 1.0, -1.0, 1.0)
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = hi - lo
    scale = max(1.0, float(np.abs(points).max()))
    big = float(span.max())
    if big <= 1e-9 * scale:  # one point (or all equal): a box of 20% of its size around it
        big = 0.2 * scale
    flat = span <= 1e-6 * big
    centre = 0.5 * (lo + hi)
    span = np.where(flat, FLAT_AXIS_FRACTION * big, span)
    lo, hi = np.where(flat, centre - 0.5 * span, lo), np.where(flat, centre + 0.5 * span, hi)
    lo, hi = lo - 0.02 * span, hi + 0.02 * span
    return (lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])


def _corners(bounds):
    b = np.asarray(bounds, float).reshape(3, 2)
    return np.array([[x, y, z] for x in b[0] for y in b[1] for z in b[2]])


def projected(pl, points, window=None):
    """Normalised viewport coordinates (0..1, origin lower left) of world ``points`` (n, 3) in ``pl``'s camera."""
    cam = pl.renderer.GetActiveCamera()
    w, h = window or pl.window_size
    M = cam.GetCompositeProjectionTransformMatrix(w / h, -1, 1)
    M = np.array([[M.GetElement(i, j) for j in range(4)] for i in range(4)])
    hom = np.c_[np.asarray(points, float), np.ones(len(points))] @ M.T
    ndc = hom[:, :2] / hom[:, 3:4]
    return 0.5 * (ndc + 1.0)


def fit_camera(pl, points, window=None, region=FREE_REGION):
    """Zoom and shift ``pl``'s camera (keeping its direction) so ``points`` fill ``region`` of the window.

    ``region`` is (x0, x1, y0, y1) in normalised viewport coordinates; the aspect ratio
    of the geometry is kept, so it fills the region in one direction and is centred in
    the other. Works for perspective cameras (through the view angle) and parallel ones.
    """
    cam = pl.renderer.GetActiveCamera()
    x0, x1, y0, y1 = region
    for _ in range(3):  # the zoom is exact; a second pass absorbs round-off of the shift
        uv = projected(pl, points, window)
        (u0, v0), (u1, v1) = uv.min(axis=0), uv.max(axis=0)
        s = min((x1 - x0) / max(u1 - u0, 1e-12), (y1 - y0) / max(v1 - v0, 1e-12))
        if cam.GetParallelProjection():
            cam.SetParallelScale(cam.GetParallelScale() / s)
        else:
            angle = np.deg2rad(cam.GetViewAngle())
            cam.SetViewAngle(float(np.rad2deg(2 * np.arctan(np.tan(angle / 2) / s))))
        uv = projected(pl, points, window)
        (u0, v0), (u1, v1) = uv.min(axis=0), uv.max(axis=0)
        du = 0.5 * (x0 + x1) - 0.5 * (u0 + u1)
        dv = 0.5 * (y0 + y1) - 0.5 * (v0 + v1)
        cx, cy = cam.GetWindowCenter()
        cam.SetWindowCenter(cx - 2 * du, cy - 2 * dv)
    pl.renderer.ResetCameraClippingRange()
    return pl
