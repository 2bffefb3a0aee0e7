"""Storage: the dataset schema and atomic netCDF read-write.

==============================  ===============================================
:func:`save`, :func:`load`      netCDF (h5netcdf), atomic write, checked read
:func:`weights_at`              the layer list stored at one entry of a dataset
:func:`network_of`              the network a dataset was computed for
:data:`FORMAT_VERSION`          the format version written and accepted
:func:`dataset_docs`            the page docs/datasets.md: every kind, its variables
==============================  ===============================================

Dataset metadata lives in one place, :mod:`landscape.io._schema`: the table
``METADATA`` (``long_name``, ``units`` of every variable and coordinate of every kind), the
``FLAGS`` vocabularies (``status``) and ``annotate``, the one function that applies them.
"""

from ._netcdf import LandscapeFileError, check_dataset, load, network_of, save, weights_at
from ._schema import FORMAT_VERSION

__all__ = ["save", "load", "weights_at", "network_of", "check_dataset", "LandscapeFileError", "FORMAT_VERSION",
           "dataset_docs"]


def __getattr__(name):  # dataset_docs on first use: `python -m landscape.io._docs` runs it without a stale import
    if name == "dataset_docs":
        from ._docs import dataset_docs

        return dataset_docs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
