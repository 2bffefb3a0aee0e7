"""Atomic netCDF writing and schema-checked reading of landscape datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._atomic import atomic_write
from .._validation import check_int
from ..errors import LandscapeValueError
from ._schema import ARRAY_ATTRS, FORMAT_VERSION, KINDS, annotate, decode_flags, encode_flags, network_from_attrs

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


def _netcdf_attrs(attrs, where):
    """Attributes as netCDF4 types: bool -> int8, None dropped; anything else unsupported raises."""
    out = {}
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, (bool, np.bool_)):
            value = np.int8(value)
        elif isinstance(value, (list, tuple)):
            value = np.asarray(value)
        if isinstance(value, np.ndarray):
            if value.dtype == bool:
                value = value.astype(np.int8)
            if value.ndim > 1:
                raise LandscapeFileError(f"{where} attribute {key!r} is a {value.ndim}-D array; netCDF attributes "
                                         f"are 1-D (flatten it).")
            if value.dtype.kind not in "iufUS":
                raise LandscapeFileError(f"{where} attribute {key!r} has dtype {value.dtype}, which netCDF cannot "
                                         f"store; use numbers or strings.")
        elif isinstance(value, (complex, np.complexfloating)) or not isinstance(value, (str, int, float, np.number)):
            raise LandscapeFileError(f"{where} attribute {key!r} is a {type(value).__name__}, which netCDF cannot "
                                     f"store; use numbers or strings.")
        out[key] = value
    return out


def encode(ds):
    """The dataset as written: CF metadata applied, status as flag codes, netCDF4-valid attributes.

    ``ds`` is not modified.
    """
    out = ds.copy(deep=False)
    out.attrs = dict(ds.attrs)
    for name, var in out.variables.items():
        var.attrs = dict(ds.variables[name].attrs)
    annotate(out)
    out = encode_flags(out)
    out.attrs = _netcdf_attrs(out.attrs, "global")
    for name, var in out.variables.items():
        if var.dtype.kind == "c":
            raise LandscapeFileError(f"variable {name!r} is complex, which netCDF4 cannot store; store its real "
                                     f"and imaginary parts as two variables.")
        var.attrs = _netcdf_attrs(var.attrs, f"variable {name!r}")
    return out


def save(ds, path) -> Path:
    """Write a landscape dataset to netCDF4 (HDF5, via h5netcdf) atomically.

    The file is valid netCDF4 (no ``invalid_netcdf``) and follows CF 1.10: every variable
    and coordinate gets ``long_name`` and ``units`` from the one metadata table
    (:data:`landscape.io._schema.METADATA`), ``status`` is stored as ``int8`` codes with
    ``flag_values``/``flag_meanings`` (:func:`load` turns them back into strings), and the
    file carries ``Conventions = "CF-1.10"``. The data go to a temporary file in the
    target's folder, which is then renamed over ``path``: an interrupted write never
    leaves a half-written file where a good one was.

    Parameters
    ----------
    ds : xarray.Dataset
        A dataset made by landscape.
    path : str or os.PathLike
        A file name ending in ``.nc`` (any case), in an existing folder. An existing file
        there is replaced (as :meth:`xarray.Dataset.to_netcdf` does); the command line
        instead keeps files landscape did not write unless ``--overwrite``.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    LandscapeFileError
        Before writing: ``ds`` is not a landscape dataset, ``path`` does not end in
        ``.nc``, is a folder, or its folder does not exist (it is never created) or is
        not writable; or an attribute or variable has a type netCDF4 cannot store.
    """
    from .._validation import check_output_path

    check_dataset(ds)
    path = check_output_path(path, name="path", suffixes=(".nc",), overwrite=True, error=LandscapeFileError)
    out = encode(ds)
    return atomic_write(path, lambda tmp: out.to_netcdf(tmp, engine=ENGINE, invalid_netcdf=False), suffix=".tmp")


def load(path):
    """Read a dataset written by :func:`save`, checking kind and format version.

    Only netCDF/HDF5 is read (through h5netcdf); nothing is ever unpickled. Flag-coded
    ``status`` variables come back as their meanings (strings), as in memory.

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
    try:
        decode_flags(ds, name=repr(str(path)))
    except ValueError as exc:
        raise LandscapeFileError(str(exc)) from exc
    for key in ARRAY_ATTRS:  # netCDF stores a length-1 attribute as a scalar
        if key in ds.attrs:
            ds.attrs[key] = np.atleast_1d(ds.attrs[key])
    return ds


def network_of(ds, loss=None):
    """Rebuild the :class:`~landscape.LinearNetwork` a dataset was computed for.

    Networks built by :meth:`~landscape.LinearNetwork.from_data` (or from a target matrix)
    come back with the same ``Sigma``, data rotations ``U``, ``V``, whitening and
    ``loss_offset``: the same loss at the same weights, in reduced and data coordinates.

    A dataset of a network with another loss (attribute ``loss`` other than
    ``"squared"``: raw_squared, logistic, cross_entropy) does not store the loss's data, so
    its network is rebuilt only from the ``loss`` object given here (a
    :class:`~landscape.losses.Loss` whose ``name`` and shape ``(d_h, d_0)`` must match the
    dataset's); without it a :class:`LandscapeFileError` says so.
    """
    check_dataset(ds)
    name = str(ds.attrs.get("loss", "squared"))
    if loss is not None or name != "squared":
        return _network_with_loss(ds, name, loss)
    if "widths" not in ds.attrs or "sigma" not in ds.attrs:
        raise LandscapeFileError(
            f"a landscape {ds.attrs['landscape_kind']!r} dataset without the attributes 'widths' and 'sigma' does not "
            f"describe one network (a sweep lists its networks in network_widths and network_sigma)."
        )
    try:
        return network_from_attrs(ds.attrs)
    except ValueError as exc:
        raise LandscapeFileError(f"the dataset's network attributes are inconsistent ({exc}).") from exc


def _network_with_loss(ds, name, loss):
    from ..core import LinearNetwork
    from ..losses import Loss

    if loss is None:
        raise LandscapeFileError(
            f"the dataset was computed with the {name!r} loss ({ds.attrs.get('loss_description', name)}), whose data are "
            f"not stored in the file; rebuild the loss (e.g. landscape.losses.get_loss({name!r}, X, Y)) and pass it: "
            f"ls.network_of(ds, loss=...).")
    if not isinstance(loss, Loss):
        raise LandscapeFileError(f"loss must be a landscape.losses.Loss; got {type(loss).__name__}.")
    if name == "squared":
        raise LandscapeFileError("the dataset's loss is 'squared': its network is rebuilt from the stored attributes "
                                 "(call network_of(ds) without loss).")
    if loss.name != name:
        raise LandscapeFileError(f"the dataset was computed with the {name!r} loss; the loss given is {loss.name!r}.")
    if "widths" not in ds.attrs:
        raise LandscapeFileError("the dataset has no 'widths' attribute: it does not describe one network.")
    widths = [int(w) for w in np.atleast_1d(ds.attrs["widths"])]
    if (widths[-1], widths[0]) != tuple(loss.shape):
        raise LandscapeFileError(f"the loss given acts on (d_h, d_0) = {tuple(loss.shape)}; the dataset's widths "
                                 f"{widths} need ({widths[-1]}, {widths[0]}).")
    return LinearNetwork(widths, loss=loss)


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

    Raises
    ------
    LandscapeValueError
        ``index`` (or a selector) is not an integer position in range, naming the valid
        range; or the entry holds no weights (a run that had stopped before it).

    Examples
    --------
    >>> import landscape as ls
    >>> crit = ls.critical_points(ls.LinearNetwork([1, 1, 1, 1], [3.0]))
    >>> [w.shape for w in ls.weights_at(crit, 0)]
    [(1, 1), (1, 1), (1, 1)]
    >>> ls.weights_at(crit, 99)
    Traceback (most recent call last):
    ...
    landscape.errors.LandscapeValueError: index 99 is out of range for 'point' of size 2; valid positions: 0..1 (or -2..-1 from the end).
    """
    check_dataset(ds)
    theta = ds["theta"]
    entry = [d for d in theta.dims if d not in ("param", *selectors)]
    if len(entry) != 1:
        raise LandscapeValueError(
            f"weights_at needs one entry dimension besides 'param'; theta has dims {theta.dims}: "
            f"select the others by position, e.g. weights_at(ds, k, run=0)."
        )
    positions = {entry[0]: index, **selectors}
    for dim, pos in positions.items():
        label = "index" if dim == entry[0] else dim
        if dim not in theta.dims:
            raise LandscapeValueError(f"weights_at got {dim}={pos!r}, but theta has no dimension {dim!r}; its dims are "
                                      f"{theta.dims}.")
        n = theta.sizes[dim]
        pos = check_int(pos, name=label)
        if not -n <= pos < n:
            valid = f"0..{n - 1} (or -{n}..-1 from the end)" if n else "none: it is empty"
            raise LandscapeValueError(f"{label} {pos} is out of range for {dim!r} of size {n}; valid positions: {valid}.")
        positions[dim] = pos
    index = positions[entry[0]]
    values = theta.isel(positions).values
    if np.any(np.isnan(values)):
        raise LandscapeValueError(f"entry {index} of {entry[0]!r} holds no weights (the run had stopped before it).")
    widths = [int(w) for w in np.atleast_1d(ds.attrs["widths"])]
    out, start = [], 0
    for i in range(1, len(widths)):
        size = widths[i] * widths[i - 1]
        out.append(values[start : start + size].reshape(widths[i], widths[i - 1]).copy())
        start += size
    return out
