"""Stability of critical points: inertia, classification, arcs, stable and unstable sets.

====================================  ================================================
:func:`hessian_inertia`               negative / zero / positive counts at any size
:func:`structured_spectrum`           exact spectrum at mode-aligned points (blocks)
:func:`recover_alignment`             aligned form and gauge of a point on an aligned orbit
:func:`extreme_eigenpairs`            k lowest / highest eigenpairs at any point (block Krylov)
:func:`spectral_density`              eigenvalue density and count estimates (SLQ)
:func:`classify`                      global minimum, strict or non-strict saddle
:func:`rank_criterion`                the rank-pair criterion of spec 3.4
:func:`arc_polynomial`                exact ``L(A + alpha V) - L(A)`` coefficients
:func:`classify_direction`            stable / unstable / neutral, with the order
:func:`insertion_arc`, :func:`removal_arc`, :func:`exchange_arc`, :func:`gauge_arc`
:func:`submanifolds`                  directions and flow-grown samples of W^s, W^u
:func:`manifold_surface`              a 2-D stable or unstable manifold as a triangle mesh
:func:`manifold_dimensions`           dimensions of W^u, W^s, the critical set and the centre
====================================  ================================================
"""

from ._arcs import (
    arc_polynomial,
    classify_direction,
    escape_directions,
    exchange_arc,
    free_chain,
    gauge_arc,
    insertion_arc,
    insertion_direction,
    leading_term,
    removal_arc,
)
from ._classify import NotCriticalError, classify, rank_criterion
from ._align import Alignment
from ._align import align as recover_alignment
from ._density import spectral_density
from ._eigen import BudgetExceededError, extreme_eigenpairs
from ._inertia import DENSE_LIMIT, aligned_form, hessian_inertia, is_mode_aligned, structured_spectrum, zero_band
from ._dimensions import ManifoldDimensions, characteristic_direction, manifold_dimensions, measure_set_dimension
from ._manifolds import submanifolds
from ._surface import manifold_surface

__all__ = ["hessian_inertia", "structured_spectrum", "aligned_form", "is_mode_aligned", "DENSE_LIMIT", "zero_band",
           "recover_alignment", "Alignment", "extreme_eigenpairs", "spectral_density", "BudgetExceededError", "classify",
           "rank_criterion", "NotCriticalError", "arc_polynomial", "leading_term", "classify_direction",
           "insertion_direction", "free_chain", "escape_directions", "insertion_arc", "removal_arc", "exchange_arc", "gauge_arc",
           "submanifolds", "manifold_surface", "manifold_dimensions", "ManifoldDimensions", "characteristic_direction",
           "measure_set_dimension"]
