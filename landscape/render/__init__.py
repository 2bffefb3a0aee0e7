"""Rendering off screen: the only module that imports pyvista, matplotlib and plotly.

===================================================  ==========================================================
:func:`render`, :func:`picture`                      any landscape Dataset -> PNG (and VTK, HTML) by its kind
:class:`Scene3D`                                     a 3-D scene: pyvista PNG (``plotter``), plotly (``figure``)
:func:`scalar_scene`                                 the scalar depth-3 landscape (G2) with trajectories
:func:`trajectory_scene`, :func:`manifold_scene`,    trajectories, stable/unstable sets, fibers in 3-D
:func:`fiber_scene`
:func:`quotient_scene`, :func:`quotient_coordinates`  quotient coordinates p_k = u_k^T P v_k: box, labelled corners
:func:`chart_lines`, :func:`spectrum_chart`          2-D charts with matplotlib (loss, singular values, spectra)
:func:`project`, :func:`projection`                  chosen coordinates or PCA (scikit-learn) to 3D, axis titles
:func:`save_png`, :func:`save_mesh`, :func:`save_html`  PNG (scene, plotter or chart), ParaView mesh, offline page
:func:`html_view`, :func:`write_plotly_js`           an interactive view for a page, plotly.js beside the page
===================================================  ==========================================================
"""

import os as _os

# Without a display, VTK would first try X and warn; render through EGL (Mesa) instead.
# Set before pyvista/vtk are imported (they are imported lazily, on first render); a
# user's own VTK_DEFAULT_OPENGL_WINDOW wins.
if not _os.environ.get("DISPLAY"):
    _os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

from ._base import (
    COLORS,
    KIND_LABELS,
    PLOTLY_JS,
    SIZES,
    gallery_path,
    gallery_size,
    html_view,
    is_blank,
    kind_label,
    plotter,
    save_html,
    save_mesh,
    save_png,
    write_plotly_js,
)
from ._charts import chart_lines, multiplicities, spectrum_chart
from ._density import density_chart
from ._dispatch import SCENE_KINDS, picture, render
from ._quotient import quotient_axes, quotient_coordinates, quotient_scene
from ._scene3d import Scene3D, fit_camera
from ._scenes import (
    conserved_level_surfaces,
    fiber_scene,
    grid,
    loss_level_sets,
    manifold_lines,
    manifold_scene,
    project,
    projection,
    scalar_critical_set,
    scalar_scene,
    trajectory_scene,
    trajectory_tubes,
)

__all__ = ["render", "picture", "density_chart", "Scene3D", "scalar_scene", "trajectory_scene", "manifold_scene", "fiber_scene",
           "quotient_scene", "quotient_coordinates", "quotient_axes",
           "chart_lines", "spectrum_chart", "multiplicities", "project", "projection", "trajectory_tubes",
           "manifold_lines", "loss_level_sets", "scalar_critical_set", "conserved_level_surfaces", "grid", "plotter",
           "fit_camera", "save_png", "save_mesh", "save_html", "html_view", "write_plotly_js", "is_blank",
           "gallery_path", "gallery_size", "COLORS", "SIZES", "PLOTLY_JS", "KIND_LABELS", "kind_label", "SCENE_KINDS"]
