"""The one solver registry: every integration method behind one interface.

==============  ==========  =====  ==============================================================
name            kind        order  what it is for
==============  ==========  =====  ==============================================================
``gauss``       batched     4      Gauss-Legendre collocation: conserves every ``C_i`` to round-off
                                   (dense Hessian per step: small networks only)
``rosw``        batched     3      L-stable Rosenbrock-W with the exact Hessian: stiff runs
``dopri5``      batched     5      Dormand-Prince 5(4), vectorised over the batch with numpy
``dopri5-jit``  compiled    5      the same method compiled with numba, one run per thread
``RK45`` ...    scipy       -      ``scipy.integrate.solve_ivp`` methods, one run at a time
==============  ==========  =====  ==============================================================

Every method is called as ``integrate(problem, name, Y0, t_eval, rtol=, atol=,
first_step=, max_step=, events=, max_wall_time=, progress=)`` and returns the same dict
(see :func:`landscape.dynamics._solvers.integrate`); every method is tested by the same
laws (``tests/dynamics/test_engine_laws.py``): its state at ``t_end`` agrees with
scipy's ``DOP853`` at ``rtol=1e-12`` on the literal right-hand side, a batch equals its
runs one by one, events are per run and located to the tolerance, and the conserved
``C_i`` drift no more than :attr:`Solver.drift_bound` says.

Examples
--------
>>> from landscape.dynamics import solvers
>>> solvers.get("auto").name in ("dopri5-jit", "dopri5")
True
>>> solvers.get("gauss").conserves_invariants
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import LandscapeTypeError, LandscapeValueError
from ._solvers import (
    BATCHED_METHODS,
    Event,
    Status,
    distance_above,
    gradient_norm_below,
    integrate as _integrate_batched,
    loss_below,
)
from ._scipy import SCIPY_METHODS, integrate_scipy

__all__ = ["Solver", "SOLVERS", "METHODS", "get", "integrate", "Event", "Status", "loss_below",
           "gradient_norm_below", "distance_above"]


@dataclass(frozen=True)
class Solver:
    """One registered method.

    Attributes
    ----------
    name : str
    kind : {"batched", "compiled", "scipy"}
        ``batched``: numpy, a step size per run, all runs in one vectorised step;
        ``compiled``: numba, one run per thread; ``scipy``: ``solve_ivp`` per run.
    description : str
    conserves_invariants : bool
        True when the method keeps every quadratic invariant ``C_i`` to round-off.
    drift_factor : float
        Documented bound on the drift of the conserved quantities: over a run,
        ``max_t ||C_i(t) - C_i(0)||_F <= drift_factor * tol * scale * (1 + t_end)``
        with ``scale = max_t max_i ||W_i(t)||_F^2`` and ``tol = rtol`` (``tol = 1e-13``,
        round-off, for a method that conserves the invariants). Measured by
        ``benchmarks/bench_dynamics.py`` and asserted by the engine's tests.
    backward : bool
        Whether the method integrates the backward flow (``FlowProblem(sign=-1)``).
    events : tuple of str or None
        Names of the events it handles (None: every :class:`Event`).
    """

    name: str
    kind: str
    description: str
    conserves_invariants: bool = False
    drift_factor: float = 10.0
    backward: bool = True
    events: tuple | None = None

    def available(self) -> bool:
        if self.kind == "compiled":
            from ._jit import available

            return available()
        return True

    def drift_bound(self, rtol, scale, t_end):
        """The documented bound on ``max_t ||C_i(t) - C_i(0)||_F`` (see ``drift_factor``)."""
        tol = 1e-13 if self.conserves_invariants else rtol
        return self.drift_factor * tol * scale * (1.0 + t_end)

    def run(self, problem, Y0, t_eval, **options):
        if self.kind == "scipy":
            return integrate_scipy(problem, self.name, Y0, t_eval, **options)
        if self.kind == "compiled":
            if getattr(problem, "Sigma", 0) is None:
                # the compiled field is written for 1/2||Sigma - P||^2 only; the same method in numpy
                # evaluates the loss's own gradient (issue 14): route there rather than integrate a wrong field
                res = _integrate_batched(problem, BATCHED_METHODS["dopri5"], Y0, t_eval, **options)
                res["method"] = "dopri5"
                return res
            from ._jit import integrate_jit

            return integrate_jit(problem, self.name, Y0, t_eval, **options)
        return _integrate_batched(problem, BATCHED_METHODS[self.name], Y0, t_eval, **options)


_DESCRIPTIONS = {
    "gauss": ("2-stage Gauss-Legendre collocation (order 4), simplified Newton on the exact Hessian; "
              "each step factorises the dense (n_params, n_params) Hessian (O(n_params^3)): meant for "
              "small networks (a few hundred parameters) where conservation to round-off matters"),
    "rosw": "ROS34PW2 L-stable Rosenbrock-W (order 3), exact Hessian or its Gauss-Newton part",
    "dopri5": "Dormand-Prince 5(4), batched numpy, PI step control per run",
    "dopri5-jit": "Dormand-Prince 5(4) compiled with numba, one run per thread",
    "RK45": "scipy.integrate.solve_ivp RK45, one run at a time",
    "DOP853": "scipy.integrate.solve_ivp DOP853 (order 8), one run at a time: the reference",
    "RK23": "scipy.integrate.solve_ivp RK23, one run at a time",
    "LSODA": "scipy.integrate.solve_ivp LSODA with the exact Jacobian -H",
    "Radau": "scipy.integrate.solve_ivp Radau IIA (order 5) with the exact Jacobian -H",
    "BDF": "scipy.integrate.solve_ivp BDF with the exact Jacobian -H",
}

SOLVERS: dict[str, Solver] = {
    "gauss": Solver("gauss", "batched", _DESCRIPTIONS["gauss"], conserves_invariants=True),
    "rosw": Solver("rosw", "batched", _DESCRIPTIONS["rosw"], drift_factor=100.0),
    "dopri5": Solver("dopri5", "batched", _DESCRIPTIONS["dopri5"]),
    "dopri5-jit": Solver("dopri5-jit", "compiled", _DESCRIPTIONS["dopri5-jit"], backward=False,
                         events=("loss_below", "gradient_norm_below")),
    **{m: Solver(m, "scipy", _DESCRIPTIONS[m], drift_factor=100.0 if m in ("RK23", "LSODA", "BDF") else 10.0)
       for m in SCIPY_METHODS},
}

#: every method name that ``gradient_flow`` accepts
METHODS = tuple(SOLVERS) + ("auto",)


def get(method, net=None) -> Solver:
    """The :class:`Solver` of a method name (case-insensitive); ``"auto"`` picks
    ``"dopri5-jit"`` when numba is installed and ``net`` (if given) has the quadratic loss,
    else ``"dopri5"``. ``"dopri5-jit"`` with another loss runs the numpy ``dopri5``
    (the compiled field is the quadratic loss's only; the result's ``method`` says so)."""
    from .._validation import describe

    if not isinstance(method, str):
        raise LandscapeTypeError(f"method must be a string, one of {list(METHODS)}; got {describe(method)}.")
    key = {m.lower(): m for m in METHODS}.get(method.lower())
    if key is None:
        raise LandscapeValueError(f"method must be one of {list(METHODS)}; got {method!r}.")
    if key == "auto":
        quadratic = net is None or getattr(net, "loss_name", "squared") == "squared"
        key = "dopri5-jit" if quadratic and SOLVERS["dopri5-jit"].available() else "dopri5"
    return SOLVERS[key]


def integrate(problem, method, Y0, t_eval, *, rtol=1e-8, atol=1e-10, first_step=None, max_step=np.inf, events=(),
              max_wall_time=None, progress=None):
    """Integrate rows of ``Y0`` (B, n) over ``t_eval`` with a registered method.

    ``problem`` is a :class:`~landscape.dynamics.FlowProblem` (its ``sign`` chooses the
    forward or the backward flow). Returns the integrator dict described in
    :func:`landscape.dynamics._solvers.integrate`.
    """
    solver = get(method)
    if getattr(problem, "sign", 1) != 1 and not solver.backward:
        raise LandscapeValueError(f"method {solver.name!r} integrates the forward flow only; use 'dopri5'.")
    if solver.events is not None:
        unknown = [ev.name for ev in events if ev.name not in solver.events]
        if unknown:
            raise LandscapeValueError(f"method {solver.name!r} handles the events {list(solver.events)}; "
                                      f"got {unknown} (use 'dopri5').")
    return solver.run(problem, np.ascontiguousarray(Y0, dtype=np.float64), np.asarray(t_eval, dtype=np.float64),
                      rtol=rtol, atol=atol, first_step=first_step, max_step=max_step, events=list(events),
                      max_wall_time=max_wall_time, progress=progress)
