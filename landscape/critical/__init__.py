"""Critical points per loss value: the quotient space and its fibers (spec 3, 4).

==================================  ==================================================
:func:`critical_points`             one entry per learnt subset S, with representative
:func:`critical_values`             the values in ascending order with their subsets
:func:`count_critical_values`       the number of quotient points, without listing
:func:`representative`              ``A*_S`` (aligned, 0-balanced, minimum norm)
:func:`quotient`                    ``mu: A -> A^h`` and the subset S of a critical point
:func:`gauge`                       ``A -> G A G^{-1}``, ``G = blkdiag(I, G_1, ..., I)``
:func:`fiber`                       critical points of the same value (orbit, dead paths)
:func:`fiber_dimension`             orbit dimension and Hessian nullity at ``A*_S``
==================================  ==================================================

The quotient used here is the end-to-end map (spec 4.1, first reading): the fiber of S
is the set of critical points with ``P = Sigma_S``. The gauge orbit (second reading) is
one stratum of it (``fiber(..., strata="orbit")``).
"""

from ._fiber import STRATA, Quotient, fiber, fiber_dimension, gauge, quotient
from ._points import count_critical_values, critical_points, critical_values, representative
from ._subsets import critical_value

__all__ = ["critical_points", "critical_values", "count_critical_values", "critical_value", "representative",
           "quotient", "Quotient", "gauge", "fiber", "fiber_dimension", "STRATA"]
