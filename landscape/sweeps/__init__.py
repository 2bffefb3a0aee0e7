"""Sweeps over many initialisations on dask (the only place dask lives; imported lazily).

:func:`sweep` runs a grid of (network, initialisation, scale, seed) on a local dask
cluster or an existing scheduler, chunk by chunk with resume.
"""

from ._sweep import SweepError, sweep

__all__ = ["sweep", "SweepError"]
