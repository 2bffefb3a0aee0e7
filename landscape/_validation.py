"""Argument checks shared by the whole package.

Each ``check_*`` helper takes the value positionally and ``name=`` for the message,
returns the normalised value, and raises a subclass of ``ValueError``/``TypeError``
from :mod:`landscape.errors` whose message names the argument, what was expected
and what came.
"""

from __future__ import annotations

import numbers

import numpy as np

from .errors import LandscapeTypeError, LandscapeValueError

__all__ = [
    "describe",
    "check_int",
    "check_positive_float",
    "check_finite_array",
    "check_rng",
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


def check_positive_float(value, *, name: str, allow_zero: bool = False, upper: float | None = None) -> float:
    """Return ``value`` as a finite ``float`` that is ``> 0`` (or ``>= 0``), optionally ``< upper``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise LandscapeTypeError(f"{name} must be a real number; got {describe(value)}.")
    value = float(value)
    bound = ">= 0" if allow_zero else "> 0"
    if upper is not None:
        bound += f" and < {upper}"
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero) or (upper is not None and value >= upper):
        raise LandscapeValueError(f"{name} must be a finite number {bound}; got {value!r}.")
    return value


def check_finite_array(value, *, name: str, ndim: int | None = None, shape=None, error=LandscapeValueError) -> np.ndarray:
    """Return ``value`` as a float64 array after checking its rank, shape and finiteness."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
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
