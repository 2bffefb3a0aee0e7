"""Rendering with pyvista, off screen: the only module that imports pyvista.

==================================  ===================================================
:func:`render`                      any landscape Dataset -> PNG (and VTK) by its kind
:func:`scalar_scene`                the scalar depth-3 landscape (G2) with trajectories
:func:`chart_lines`, :func:`spectrum_chart`   2D charts (loss, singular values, spectra)
:func:`project`                     chosen coordinates or PCA (scikit-learn) to 3D
:func:`save_png`, :func:`save_mesh`, :func:`save_html`, :func:`is_blank`
==================================  ===================================================
"""

import os as _os

# Without a display, VTK would first try X and warn; render through EGL (Mesa) instead.
# Set before pyvista/vtk are imported (they are imported lazily, on first render); a
# user's own VTK_DEFAULT_OPENGL_WINDOW wins.
if not _os.environ.get("DISPLAY"):
    _os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

from ._base import COLORS, SIZES, gallery_path, gallery_size, is_blank, plotter, save_html, save_mesh, save_png
from ._dispatch import render
from ._scenes import (
    chart_lines,
    conserved_level_surfaces,
    grid,
    loss_level_sets,
    manifold_lines,
    project,
    scalar_critical_set,
    scalar_scene,
    spectrum_chart,
    trajectory_tubes,
)

__all__ = ["render", "scalar_scene", "chart_lines", "spectrum_chart", "project", "trajectory_tubes", "manifold_lines",
           "loss_level_sets", "scalar_critical_set", "conserved_level_surfaces", "grid", "plotter", "save_png",
           "save_mesh", "save_html", "is_blank", "gallery_path", "gallery_size", "COLORS", "SIZES"]
