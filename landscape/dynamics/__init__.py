"""Dynamics: gradient flow and gradient descent, closed forms, itineraries.

==================================  =================================================
:func:`gradient_flow`               integrate ``dW/dt = -grad L``, batched, many methods
:func:`gradient_descent`            ``W <- W - eta grad L`` with divergence detection
:data:`METHODS`                     the method registry's names
:mod:`landscape.dynamics.solvers`   the one solver registry (every method, one interface)
:class:`FlowProblem`                the batched field ``-grad L`` on flat states, its Jacobian
:mod:`landscape.dynamics.closed_forms`  exact solutions the integrators are tested against
:func:`itinerary`                   the saddle-to-saddle route of a trajectory (quadratic loss)
:func:`singular_value_times`        when each singular value of ``P`` is learnt (every loss)
==================================  =================================================
"""

from . import closed_forms, solvers
from ._flow import METHODS, gradient_descent, gradient_flow
from ._problem import FlowProblem
from ._itinerary import itinerary, learnt_subsets, singular_value_times

__all__ = ["gradient_flow", "gradient_descent", "METHODS", "FlowProblem", "solvers", "closed_forms", "itinerary", "learnt_subsets",
           "singular_value_times"]
