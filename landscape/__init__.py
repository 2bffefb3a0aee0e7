"""landscape: gradient flows and loss landscapes of deep linear networks in adjacency form.

The network ``x -> W_h ... W_1 x`` is one block-shift adjacency matrix
``A = blk_1(W_1, ..., W_h)``; the loss is ``L(A) = 1/2 ||E - A^h||_F^2`` (Wendin & Altafini,
arXiv 2511.10362). Public API:

Core
    :class:`LinearNetwork`, :func:`adjacency`, :func:`weights_from_adjacency`, :func:`blk`,
    :func:`conserved_quantities`, :func:`conserved_adjacency`, :func:`balance_measure`,
    :func:`is_balanced`, :func:`is_delta_balanced`, :func:`is_nilpotent`
Initialisations
    :mod:`landscape.init`
Dynamics
    :func:`gradient_flow`, :func:`gradient_descent`, :func:`itinerary`,
    :mod:`landscape.dynamics.closed_forms`
Critical points
    :func:`critical_points`, :func:`critical_values`, :func:`count_critical_values`,
    :func:`representative`, :func:`quotient`, :func:`gauge`, :func:`fiber`,
    :func:`fiber_dimension` (:mod:`landscape.critical`)
Stability
    :func:`hessian_inertia`, :func:`extreme_eigenpairs`, :func:`spectral_density`,
    :func:`classify`, :func:`submanifolds`, :func:`manifold_dimensions`,
    :func:`manifold_surface`, arcs in
    :mod:`landscape.stability`
Storage
    :func:`save`, :func:`load`, :func:`weights_at`, :func:`network_of` (:mod:`landscape.io`)
Errors
    :mod:`landscape.errors`

Sweeps, estimator, data sets, pictures (imported on first use)
    :func:`sweep` (dask), :class:`DeepLinearRegressor` and :class:`DeepLinearClassifier` (scikit-learn),
    :mod:`landscape.datasets`, :mod:`landscape.render` (pyvista)

``import landscape`` loads numpy and scipy only; rendering (pyvista), sweeps (dask) and
the estimator (scikit-learn) are imported when used.
"""

from . import errors, init, io, losses
from ._version import __version__
from .core import (
    kernels,
    LinearNetwork,
    adjacency,
    balance_measure,
    blk,
    conserved_adjacency,
    conserved_quantities,
    is_balanced,
    is_delta_balanced,
    is_nilpotent,
    weights_from_adjacency,
)
from .critical import (
    count_critical_values,
    critical_points,
    critical_values,
    fiber,
    fiber_dimension,
    gauge,
    quotient,
    representative,
)
from .dynamics import closed_forms, gradient_descent, gradient_flow, itinerary
from .stability import classify, extreme_eigenpairs, hessian_inertia, manifold_dimensions, spectral_density, submanifolds
from .stability import manifold_surface
from .io import load, network_of, save, weights_at

__all__ = [
    "__version__",
    "LinearNetwork",
    "kernels",
    "adjacency",
    "weights_from_adjacency",
    "blk",
    "conserved_quantities",
    "conserved_adjacency",
    "balance_measure",
    "is_balanced",
    "is_delta_balanced",
    "is_nilpotent",
    "critical_points",
    "critical_values",
    "count_critical_values",
    "representative",
    "quotient",
    "gauge",
    "fiber",
    "fiber_dimension",
    "hessian_inertia",
    "extreme_eigenpairs",
    "spectral_density",
    "classify",
    "submanifolds",
    "manifold_surface",
    "manifold_dimensions",
    "gradient_flow",
    "gradient_descent",
    "itinerary",
    "closed_forms",
    "save",
    "load",
    "weights_at",
    "network_of",
    "init",
    "io",
    "errors",
    "losses",
]


_LAZY = {"sweep": ("landscape.sweeps", "sweep"), "DeepLinearRegressor": ("landscape.estimator", "DeepLinearRegressor"),
         "DeepLinearClassifier": ("landscape.estimator", "DeepLinearClassifier"),
         "datasets": ("landscape.datasets", None), "render": ("landscape.render", None),
         "experiments": ("landscape.experiments", None)}


def __getattr__(name):
    """Heavy parts load on first use, so that ``import landscape`` stays light."""
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        mod = importlib.import_module(module)
        return mod if attr is None else getattr(mod, attr)
    raise AttributeError(f"module 'landscape' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
