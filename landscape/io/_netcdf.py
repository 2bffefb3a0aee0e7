"""Atomic netCDF writing and schema-checked reading of landscape datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._atomic import atomic_write
from ..errors import LandscapeValueError
from ._schema import ARRAY_ATTRS, FORMAT_VERSION, KINDS

__all__ = ["save", "load", "weights_at", "network_of", "check_dataset", "LandscapeFileError"]

ENGINE = "h5netcdf"


class LandscapeFileError(LandscapeValueError):
    """A file or dataset is not a landscape dataset, or has another format version."""


def check_dataset(ds, name="ds"):
    """Raise :class:`LandscapeFileError` unless ``ds`` is a landscape dataset of this format."""
    import xarray as xr

    if not isinstance(ds, xr.Dataset):
        raise LandscapeFileError(f"{name} must be an xarray.Dataset made by landscape; got {type(ds).__name__}.")
    kind = ds.attrs.get("landscape_kind")
    version = ds.attrs.get("landscape_format")
    if kind is None or version is None:
        raise LandscapeFileError(
            f"{name} is not a landscape dataset: it lacks the attributes 'landscape_kind' and 'landscape_format' "
            f"(expected a dataset made by landscape, e.g. by gradient_flow or critical_points)."
        )
    if str(version) != FORMAT_VERSION:
        raise LandscapeFileError(
            f"{name} has landscape format version {version!r}; this landscape reads version {FORMAT_VERSION!r}."
        )
    if kind not in KINDS:
        raise LandscapeFileError(f"{name} has an unknown landscape_kind {kind!r}; known kinds: {sorted(KINDS)}.")
    missing = [v for v in KINDS[kind] if v not in ds.variables]
    if missing:
        raise LandscapeFileError(f"{name} is a landscape {kind!r} dataset but lacks the variables {missing}.")
    return ds


def save(ds, path) -> Path:
    """Write a landscape dataset to netCDF (HDF5, via h5netcdf) atomically.

    The data go to a temporary file in the target's folder, which is then renamed over
    ``path``: an interrupted write never leaves a half-written file where a good one was.

    Parameters
    ----------
    ds : xarray.Dataset
        A dataset made by landscape.
    path : str or os.PathLike

    Returns
    -------
    pathlib.Path
        The path written.
    """
    check_dataset(ds)
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise LandscapeFileError(f"path must be in an existing folder; {str(folder)!r} does not exist.")
    return atomic_write(path, lambda tmp: ds.to_netcdf(tmp, engine=ENGINE, invalid_netcdf=True), suffix=".tmp")


def load(path):
    """Read a dataset written by :func:`save`, checking kind and format version.

    Only netCDF/HDF5 is read (through h5netcdf); nothing is ever unpickled.

    Raises
    ------
    LandscapeFileError
        The file is missing, not netCDF, not a landscape dataset, or of another version.
    """
    import xarray as xr

    path = Path(path)
    if not path.is_file():
        raise LandscapeFileError(f"path {str(path)!r} does not exist or is not a file.")
    try:
        with xr.open_dataset(path, engine=ENGINE) as ds:
            ds = ds.load()
    except (OSError, ValueError) as exc:
        raise LandscapeFileError(f"{str(path)!r} is not a netCDF/HDF5 file that landscape can read ({exc}).") from exc
    check_dataset(ds, name=repr(str(path)))
    for key in ARRAY_ATTRS:  # netCDF stores a length-1 attribute as a scalar
        if key in ds.attrs:
            ds.attrs[key] = np.atleast_1d(ds.attrs[key])
    return ds


def network_of(ds):
    """Rebuild the :class:`~landscape.LinearNetwork` a dataset was computed for."""
    from ..core import LinearNetwork

    check_dataset(ds)
    return LinearNetwork([int(w) for w in np.atleast_1d(ds.attrs["widths"])], np.atleast_1d(ds.attrs["sigma"]))


def weights_at(ds, index, **selectors):
    """The layer list ``[W_1, ..., W_h]`` stored at one entry of a dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        A landscape dataset with a ``theta`` variable.
    index : int
        Position along the dataset's entry dimension: ``time`` for a trajectory,
        ``point`` for critical points, ``sample`` for manifold samples.
    **selectors
        Positions along other dimensions, for example ``run=3`` in a batched trajectory.

    Returns
    -------
    list of ndarray
        ``W_i`` of shape ``(d_i, d_{i-1})``, bit-for-bit the stored values.
    """
    check_dataset(ds)
    theta = ds["theta"]
    entry = [d for d in theta.dims if d not in ("param", *selectors)]
    if len(entry) != 1:
        raise LandscapeValueError(
            f"weights_at needs one entry dimension besides 'param'; theta has dims {theta.dims}: "
            f"select the others by position, e.g. weights_at(ds, k, run=0)."
        )
    values = theta.isel({entry[0]: index, **selectors}).values
    if np.any(np.isnan(values)):
        raise LandscapeValueError(f"entry {index} of {entry[0]!r} holds no weights (the run had stopped before it).")
    widths = [int(w) for w in np.atleast_1d(ds.attrs["widths"])]
    out, start = [], 0
    for i in range(1, len(widths)):
        size = widths[i] * widths[i - 1]
        out.append(values[start : start + size].reshape(widths[i], widths[i - 1]).copy())
        start += size
    return out
