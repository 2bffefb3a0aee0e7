"""The open-question lab: named studies measured on dask beside the theory's predictions.

=============================  =============================================================
:func:`plateau_scaling`        escape time from the origin vs initial scale: fitted slopes
                               with confidence intervals against ``1/s`` (h = 2) and ``-(h-2)``
:func:`sequential_threshold`   fraction of sequential (saddle-to-saddle) runs vs scale and
                               spectral gap; the transition scale with an interval
:func:`almost_every_start`     fraction of random starts converging to a global minimum at
                               h >= 3; final losses; where stalled runs sit
:func:`study`                  a study by name; :data:`STUDIES`, :data:`SIZES` (presets)
:func:`report`                 the study's dataset, pictures and an HTML page in a folder
:mod:`~landscape.experiments.theory`  exact escape times and their asymptotics (numpy/scipy)
=============================  =============================================================

Each study returns an ``xarray.Dataset`` (kinds ``plateau_scaling``,
``sequential_threshold``, ``almost_every_start``); ``landscape lab NAME`` is the
command-line form. dask, xarray and matplotlib are imported when a study runs.
"""

from . import theory
from ._report import report
from ._runner import LabError
from ._studies import SIZES, STUDIES, almost_every_start, plateau_scaling, sequential_threshold, study

__all__ = ["plateau_scaling", "sequential_threshold", "almost_every_start", "study", "report", "theory", "STUDIES",
           "SIZES", "LabError"]
