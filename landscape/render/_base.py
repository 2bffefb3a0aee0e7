"""Plotter set-up, deterministic theme, and atomic export: PNG (pyvista or matplotlib), VTK, HTML (plotly)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._atomic import atomic_write
from ..errors import LandscapeValueError

__all__ = ["plotter", "save_png", "save_mesh", "save_html", "write_plotly_js", "html_view", "is_blank", "gallery_path",
           "gallery_size", "COLORS", "SIZES", "PLOTLY_JS", "KIND_LABELS", "kind_label"]

#: colours used everywhere: stable = blue, unstable = red (issue "main job")
COLORS = {
    "stable": "#1f5fbf",
    "unstable": "#d62728",
    "strict_saddle": "#ff7f0e",
    "non_strict_saddle": "#7b2cbf",
    "global_minimum": "#2ca02c",
    "trajectory": "#333333",
}
SIZES = {"small": (400, 300), "medium": (800, 600), "large": (1200, 900)}
#: how every picture (legends, titles, labels) names a kind; data and printed tables use
#: the dataset's spelling (the keys, e.g. ``non_strict_saddle``)
KIND_LABELS = {
    "global_minimum": "global minimum",
    "strict_saddle": "strict saddle",
    "non_strict_saddle": "non-strict saddle",
    "not_critical": "not critical",
}


def kind_label(kind) -> str:
    """The label pictures give a kind (``"non_strict_saddle"`` -> ``"non-strict saddle"``)."""
    return KIND_LABELS.get(str(kind), str(kind).replace("_", " "))


def _pv():
    import pyvista as pv

    pv.OFF_SCREEN = True
    return pv


def plotter(size="medium", title=None):
    """An off-screen plotter with a fixed white theme (deterministic pictures)."""
    pv = _pv()
    window = SIZES[size] if isinstance(size, str) else tuple(size)
    pl = pv.Plotter(off_screen=True, window_size=window)
    pl.set_background("white")
    if title:
        pl.add_text(title, font_size=10, color="black", position="upper_edge")
    return pl


def _atomic(path: Path, write):
    path = Path(path)
    (path.parent if str(path.parent) else Path(".")).mkdir(parents=True, exist_ok=True)
    return atomic_write(path, write)


def save_png(picture, path):
    """Write a picture to ``path`` as PNG (atomically); returns the image array (H, W, 3 or 4).

    Parameters
    ----------
    picture : pyvista.Plotter, Scene3D or matplotlib.figure.Figure
        A plotter is screenshot and closed; a :class:`~landscape.render.Scene3D` is drawn
        off screen at its ``size`` first; a Figure (a chart) is saved at its own dpi.
    path : str or os.PathLike
    """
    from matplotlib.figure import Figure

    from ._scene3d import Scene3D

    if isinstance(picture, Scene3D):
        picture = picture.plotter()
    img = {}
    if isinstance(picture, Figure):
        def write(tmp):
            picture.savefig(tmp, format="png", dpi=picture.dpi, facecolor="white")
            img["a"] = np.asarray(picture.canvas.buffer_rgba()).copy()

        _atomic(Path(path), write)
        return img["a"]

    def shoot(tmp):
        img["a"] = picture.screenshot(tmp, return_img=True)

    _atomic(Path(path), shoot)
    picture.close()
    return img["a"]


def save_mesh(mesh, path):
    """Write a mesh for ParaView (``.vtp``, ``.vtu``, ``.vti``, ...) atomically."""
    return _atomic(Path(path), lambda tmp: mesh.save(tmp))


#: the file name of plotly.js copied next to every interactive page (one copy per folder)
PLOTLY_JS = "plotly.min.js"


def write_plotly_js(folder, *, overwrite=False):
    """Copy plotly.js (from the installed ``plotly`` package) into ``folder``, atomically.

    The interactive pages load it as ``<script src="plotly.min.js">``: a report folder
    then works offline, copied or served as it is. The copy carries landscape's stamp (a
    comment at its end); an existing ``plotly.min.js`` without it (the user's own) is
    never replaced unless ``overwrite``.

    Parameters
    ----------
    folder : str or os.PathLike
    overwrite : bool, default=False
        Replace a ``plotly.min.js`` that landscape did not write.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    LandscapeValueError
        ``folder/plotly.min.js`` exists, was not written by landscape, and not ``overwrite``.
    """
    from plotly.offline import get_plotlyjs

    from .._atomic import is_landscape_output

    target = Path(folder) / PLOTLY_JS
    if target.exists() and not overwrite and not is_landscape_output(target):
        raise LandscapeValueError(f"{str(target)!r} exists and was not written by landscape; the interactive page "
                                  f"needs landscape's copy there: move that file away or pass overwrite=True "
                                  f"(--overwrite on the command line).")
    text = get_plotlyjs()
    return _atomic(target, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def html_view(picture, div_id, height=620):
    """HTML for one interactive view: a ``<div>`` and the script that draws it with plotly.

    The page must load :data:`PLOTLY_JS` before (see :func:`write_plotly_js`). Without
    it the div says so instead of staying blank.

    Parameters
    ----------
    picture : Scene3D or plotly.graph_objects.Figure
    div_id : str
        The div's id (letters, digits, ``-`` and ``_``).
    height : int, default=620
        Height in CSS pixels; the width follows the page.

    Returns
    -------
    str
    """
    import json
    import re

    from ._scene3d import PLOTLY_CONFIG, Scene3D

    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", str(div_id)):
        raise LandscapeValueError(f"div_id must be letters, digits, '-' or '_' starting with a letter; got {div_id!r}.")
    fig = picture.figure() if isinstance(picture, Scene3D) else picture
    spec = fig.to_json().replace("</", "<\\/")
    config = json.dumps(PLOTLY_CONFIG)
    return (f"<div class='viewer' id='{div_id}' style='width:100%;height:{int(height)}px'></div>\n"
            f"<script>(function(){{var d=document.getElementById('{div_id}');"
            f"if(!window.Plotly){{d.className+=' viewer-missing';d.textContent='The interactive view needs "
            f"{PLOTLY_JS} next to this page (the PNG below shows the same scene).';return;}}"
            f"var f={spec};Plotly.newPlot(d,f.data,f.layout,{config});}})();</script>")


def save_html(picture, path, title=None):
    """Write a standalone interactive page of a 3-D scene (plotly), with plotly.js beside it.

    Parameters
    ----------
    picture : Scene3D or plotly.graph_objects.Figure
    path : str or os.PathLike
        The ``.html`` file; :data:`PLOTLY_JS` is written into the same folder.
    title : str, optional
        The page title (default: the scene's title).

    Returns
    -------
    pathlib.Path
    """
    import html as _html

    from ._scene3d import Scene3D

    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise LandscapeValueError(f"save_html writes an .html file; got {str(path)!r}.")
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    write_plotly_js(folder)
    name = title or (picture.title if isinstance(picture, Scene3D) else "") or path.stem
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{_html.escape(name)}</title>"
            f"<script src='{PLOTLY_JS}'></script></head><body style='margin:0;font-family:sans-serif'>\n"
            + html_view(picture, "scene", height=760) + "\n</body></html>\n")
    return _atomic(path, lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))


def is_blank(image, tolerance=0.005):
    """True if fewer than ``tolerance`` of the pixels differ from the corner (background) colour."""
    img = np.asarray(image)
    if img.ndim != 3 or img.size == 0:
        raise LandscapeValueError(f"image must be an (H, W, C) array; got shape {img.shape}.")
    background = img[0, 0, :3]
    differs = np.any(np.abs(img[..., :3].astype(int) - background.astype(int)) > 8, axis=-1)
    return float(differs.mean()) < tolerance


def gallery_size() -> str:
    """Picture size for gallery scripts: ``$LANDSCAPE_GALLERY_SIZE`` (default ``"medium"``)."""
    size = os.environ.get("LANDSCAPE_GALLERY_SIZE", "medium")
    if size not in SIZES:
        raise LandscapeValueError(f"LANDSCAPE_GALLERY_SIZE must be one of {list(SIZES)}; got {size!r}.")
    return size


def gallery_path(name) -> Path:
    """Where a gallery script writes ``name``: ``$LANDSCAPE_GALLERY_OUT`` (default ``gallery-output``)."""
    out = Path(os.environ.get("LANDSCAPE_GALLERY_OUT", "gallery-output"))
    out.mkdir(parents=True, exist_ok=True)
    return out / name
