"""Plotter set-up, deterministic theme, and atomic image/mesh export."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._atomic import atomic_write
from ..errors import LandscapeValueError

__all__ = ["plotter", "save_png", "save_mesh", "save_html", "is_blank", "gallery_path", "gallery_size", "COLORS", "SIZES"]

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


def save_png(pl, path):
    """Screenshot ``pl`` to ``path`` (atomically) and close it; returns the image array."""
    img = {}

    def write(tmp):
        img["a"] = pl.screenshot(tmp, return_img=True)

    _atomic(Path(path), write)
    pl.close()
    return img["a"]


def save_mesh(mesh, path):
    """Write a mesh for ParaView (``.vtp``, ``.vtu``, ``.vti``, ...) atomically."""
    return _atomic(Path(path), lambda tmp: mesh.save(tmp))


def save_html(pl, path):
    """Export an interactive HTML scene if this pyvista installation can (its trame extras); else None.

    The plotter is closed either way.
    """
    import warnings

    try:
        exporter = getattr(getattr(pl, "trame", None), "export_html", None) or pl.export_html
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _atomic(Path(path), exporter)
    except Exception:  # noqa: BLE001 - optional feature: any failure means "not supported here"
        return None
    finally:
        pl.close()
    return Path(path)


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
