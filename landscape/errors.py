"""Exceptions raised by landscape.

Every error raised for bad input is a subclass of :class:`ValueError` or
:class:`TypeError`, so ``except ValueError`` keeps working in user code, and its
message names the argument, what was expected and what came.
"""

__all__ = [
    "LandscapeError",
    "LandscapeValueError",
    "LandscapeTypeError",
    "WidthsError",
    "SigmaError",
    "WeightsError",
    "BlockStructureError",
    "LossError",
]


class LandscapeError(Exception):
    """Base class of every exception raised by landscape."""


class LandscapeValueError(LandscapeError, ValueError):
    """An argument has the right type but an unacceptable value."""


class LandscapeTypeError(LandscapeError, TypeError):
    """An argument has the wrong type."""


class WidthsError(LandscapeValueError):
    """The layer widths ``[d_0, ..., d_h]`` are not acceptable."""


class SigmaError(LandscapeValueError):
    """The singular values or the target matrix are not acceptable."""


class WeightsError(LandscapeValueError):
    """A weight list ``[W_1, ..., W_h]`` does not fit the network."""


class BlockStructureError(LandscapeValueError):
    """An adjacency matrix has nonzero entries outside the block sub-diagonal."""


class LossError(LandscapeValueError):
    """A loss is not acceptable, or a function specific to the quadratic loss got another loss."""
