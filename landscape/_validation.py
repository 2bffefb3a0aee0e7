"""Argument checks shared by the whole package.

Each ``check_*`` helper takes the value positionally and ``name=`` for the message,
returns the normalised value, and raises a subclass of ``ValueError``/``TypeError``
from :mod:`landscape.errors` whose message names the argument, what was expected
and what came.
"""

from __future__ import annotations

import numbers
import os
import secrets
from pathlib import Path

import numpy as np

from .errors import LandscapeTypeError, LandscapeValueError

__all__ = [
    "describe",
    "check_int",
    "check_positive_float",
    "check_finite_array",
    "check_rng",
    "check_output_path",
]


def describe(value, limit: int = 60) -> str:
    """Short description of ``value`` for error messages."""
    if isinstance(value, np.ndarray):
        text = f"array of shape {value.shape} and dtype {value.dtype}"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_int(value, *, name: str, minimum: int | None = None, error=LandscapeValueError) -> int:
    """Return ``value`` as an ``int`` after checking it is an integer ``>= minimum``."""
    if isinstance(value, (bool, np.bool_)):
        raise LandscapeTypeError(f"{name} must be an integer, not a bool; got {describe(value)}.")
    if not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(value)
        else:
            raise LandscapeTypeError(f"{name} must be an integer; got {describe(value)}.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise error(f"{name} must be an integer >= {minimum}; got {value}.")
    return value


def check_positive_float(value, *, name: str, allow_zero: bool = False, upper: float | None = None,
                         lower: float | None = None) -> float:
    """Return ``value`` as a finite ``float`` that is ``> 0`` (or ``>= 0``), optionally ``< upper`` and
    ``>= lower`` (a relative tolerance below the double precision's epsilon means nothing)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise LandscapeTypeError(f"{name} must be a real number; got {describe(value)}.")
    value = float(value)
    bound = ">= 0" if allow_zero else "> 0"
    if upper is not None:
        bound += f" and < {upper}"
    if lower is not None:
        bound += f" and >= {lower:.3g}"
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero) or (upper is not None and value >= upper) \
            or (lower is not None and value < lower):
        raise LandscapeValueError(f"{name} must be a finite number {bound}; got {value!r}.")
    return value


def check_finite_array(value, *, name: str, ndim: int | None = None, shape=None, error=LandscapeValueError) -> np.ndarray:
    """Return ``value`` as a float64 array after checking its rank, shape and finiteness."""
    try:
        raw = value if isinstance(value, np.ndarray) else np.asarray(value)
        if raw.dtype.kind == "c":
            bad = np.argwhere(np.imag(raw) != 0)
            where = f"the entry {complex(raw[tuple(bad[0])])!r} at index {tuple(int(i) for i in bad[0])}" if bad.size else \
                f"an array of dtype {raw.dtype}"
            raise error(f"{name} must be real; got {where} (pass the real part, e.g. np.real(...), if that is meant).")
        arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, error):
            raise
        raise LandscapeTypeError(f"{name} must be a real array; got {describe(value)}.") from exc
    if ndim is not None and arr.ndim != ndim:
        raise error(f"{name} must be a {ndim}-D array; got an array of shape {arr.shape}.")
    if shape is not None and arr.shape != tuple(shape):
        raise error(f"{name} must have shape {tuple(shape)}; got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise error(f"{name} must be finite; got a non-finite entry {float(arr[tuple(bad)])!r} at index {tuple(int(i) for i in bad)}.")
    return arr


def check_rng(rng) -> np.random.Generator:
    """Turn ``None``, an integer seed or a ``Generator`` into a ``numpy.random.Generator``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    raise LandscapeTypeError(f"rng must be None, an integer seed or a numpy.random.Generator; got {describe(rng)}.")


def _probe_writable(folder: Path) -> str | None:
    """Create and remove a file in ``folder``; the reason it failed, or None."""
    probe = folder / f".landscape-write-test-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _check_parent(path: Path, name: str, error, kind: str) -> Path:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        raise error(f"{name} {str(path)!r}: the folder {str(folder)!r} does not exist; create it first "
                    f"(landscape does not create missing parent folders).")
    if not folder.is_dir():
        what = "is not a writable folder" if kind == "folder" else "cannot be written"
        raise error(f"{name} {str(path)!r} {what}: {str(folder)!r} is a file, not a folder.")
    return folder


def check_output_path(path, *, name: str, suffixes=(), kind: str = "file", overwrite: bool = False,
                      marker: str | None = None, overwrite_option: str = "--overwrite",
                      error=LandscapeValueError) -> Path:
    """Check, before any work, that landscape may write ``path``; return it as a Path.

    One rule for every output. The parent folder must already exist (it is never
    created) and be writable (proved by creating and removing a file in it). A file
    output must not be a folder and must end in one of ``suffixes``, in any case
    (``X.PNG`` is a PNG file: :func:`landscape._atomic.atomic_write` hands the writer a
    temporary file with the lower-case suffix, so the format follows); an existing file is
    replaced only if landscape wrote it (:func:`landscape._atomic.is_landscape_output`: a
    netCDF file with ``landscape_kind``, a PNG or HTML file with landscape's stamp) or if
    ``overwrite``. A folder output must not be a file; it is created if missing, and an
    existing non-empty folder is written into only if it holds ``marker`` written by
    landscape (or just holds ``marker`` when landscape cannot stamp that file type) or
    if ``overwrite``.

    Parameters
    ----------
    path : str or os.PathLike
    name : str
        The argument's name in messages, e.g. ``"--out"``.
    suffixes : sequence of str, default=()
        Allowed suffixes of a file output, lower case with the dot (``(".png",)``); empty:
        any suffix.
    kind : {"file", "folder"}, default="file"
    overwrite : bool, default=False
        Replace a file (write into a folder) that landscape did not write.
    marker : str, optional
        For a folder: the file name that marks it as landscape's (``"index.html"``).
    overwrite_option : str, default="--overwrite"
        How the user asks for ``overwrite``, named in the message.
    error : type, default=LandscapeValueError

    Returns
    -------
    pathlib.Path

    Raises
    ------
    LandscapeValueError
        One sentence naming ``name``, the path and the problem.
    """
    from ._atomic import is_landscape_output

    if kind not in ("file", "folder"):
        raise LandscapeValueError(f"kind must be 'file' or 'folder'; got {kind!r}.")
    suffixes = tuple(str(x).lower() for x in suffixes)
    if not isinstance(path, (str, os.PathLike)) or not str(path).strip():
        raise error(f"{name} must be a path; got {describe(path)}.")
    path = Path(path)
    hint = f"pass {overwrite_option} to replace it" if kind == "file" else f"pass {overwrite_option} to write into it"
    if kind == "file":
        allowed = ", ".join(suffixes)
        if path.is_dir():
            raise error(f"{name} {str(path)!r} is a folder; expected a file name" +
                        (f" ending in {allowed}." if suffixes else "."))
        if suffixes and path.suffix.lower() not in suffixes:
            got = repr(path.suffix) if path.suffix else "no suffix"
            what = f"must end in {allowed}" if len(suffixes) == 1 else f"must end in one of {allowed}"
            raise error(f"{name} {str(path)!r} {what}; got {got}.")
        folder = _check_parent(path, name, error, kind)
        reason = _probe_writable(folder)
        if reason is not None:
            raise error(f"{name} {str(path)!r} cannot be written: the folder {str(folder)!r} is not writable ({reason}).")
        if path.exists() and not overwrite and not is_landscape_output(path):
            raise error(f"{name} {str(path)!r} exists and was not written by landscape; {hint}.")
        return path
    if path.exists() and not path.is_dir():
        raise error(f"{name} {str(path)!r} is a file; expected a folder.")
    if not path.exists():
        folder = _check_parent(path, name, error, kind)
        reason = _probe_writable(folder)
        if reason is not None:
            raise error(f"{name} {str(path)!r} is not a writable folder: it cannot be created in {str(folder)!r} "
                        f"({reason}).")
        return path
    reason = _probe_writable(path)
    if reason is not None:
        raise error(f"{name} {str(path)!r} is not a writable folder ({reason}).")
    if not overwrite and any(path.iterdir()):
        mark = path / marker if marker else None
        ours = mark is not None and mark.is_file() and (
            is_landscape_output(mark) or mark.suffix.lower() not in (".nc", ".png", ".html", ".htm"))
        if not ours:
            what = f"no {marker} written by landscape" if marker else "files landscape did not write"
            raise error(f"{name} {str(path)!r} is a folder with other files and {what}; {hint}.")
    return path
