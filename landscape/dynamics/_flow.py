"""Public entry points: :func:`gradient_flow` and :func:`gradient_descent`."""

from __future__ import annotations

import numbers
import time

import numpy as np

from .._validation import check_finite_array, check_int, check_positive_float, describe
from .._version import __version__
from ..core import LinearNetwork, kernels
from ..errors import LandscapeTypeError, LandscapeValueError, WeightsError
from . import solvers
from ._problem import FlowProblem
from ._solvers import Status
from .solvers import METHODS

__all__ = ["gradient_flow", "gradient_descent", "METHODS", "as_batch"]


def as_batch(net, W0, name="W0"):
    """Validate initial weights; return ``(theta0 (B, n), batched)``.

    Accepts a layer list, an adjacency matrix, or a layer list whose matrices share a
    leading batch dimension ``B``.
    """
    if not isinstance(net, LinearNetwork):
        raise LandscapeTypeError(f"net must be a landscape.LinearNetwork; got {describe(net)}.")
    if isinstance(W0, np.ndarray) and W0.ndim == 2:
        return net.flatten(net.layers(W0, name=name))[None], False
    if not isinstance(W0, (list, tuple)):
        raise LandscapeTypeError(f"{name} must be a list [W_1, ..., W_h] (optionally with a leading batch axis) "
                                 f"or an adjacency matrix; got {describe(W0)}.")
    if len(W0) != net.depth:
        raise WeightsError(f"{name} must hold h = {net.depth} weight matrices for widths {list(net.widths)}; got {len(W0)}.")
    arrays = [np.asarray(w, dtype=np.float64) for w in W0]
    if all(a.ndim == 2 for a in arrays):
        return net.flatten(net.layers(arrays, name=name))[None], False
    if not all(a.ndim == 3 for a in arrays) or len({a.shape[0] for a in arrays}) != 1:
        raise WeightsError(f"{name} must hold 2-D matrices, or 3-D stacks with one common batch size; got shapes "
                           f"{[a.shape for a in arrays]}.")
    B = arrays[0].shape[0]
    for i, (a, s) in enumerate(zip(arrays, net.shapes)):
        check_finite_array(a, name=f"{name}[{i}] (W_{i + 1})", shape=(B, *s), error=WeightsError)
    return np.concatenate([a.reshape(B, -1) for a in arrays], axis=1), True


def _time_grid(t_end, n_points, times, t_min):
    if isinstance(times, str):
        n_points = check_int(n_points, name="n_points", minimum=2)
        if times == "linear":
            return np.linspace(0.0, t_end, n_points)
        if times == "log":
            t_min = t_end * 1e-4 if t_min is None else check_positive_float(t_min, name="t_min", upper=t_end)
            return np.concatenate([[0.0], np.geomspace(t_min, t_end, n_points - 1)])
        raise LandscapeValueError(f"times must be 'linear', 'log' or an increasing array starting at 0; got {times!r}.")
    grid = check_finite_array(times, name="times", ndim=1)
    if grid.size < 2 or grid[0] != 0.0 or np.any(np.diff(grid) <= 0) or grid[-1] != t_end:
        raise LandscapeValueError(
            f"times must be an increasing array from 0 to t_end = {t_end}; got {describe(grid)}."
        )
    return grid


def gradient_flow(net, W0, t_end, *, method="auto", rtol=1e-8, atol=1e-10, times="linear", n_points=201,
                  t_min=None, loss_below=None, gradient_norm_below=None, max_wall_time=None, first_step=None,
                  max_step=np.inf, progress=None):
    """Integrate the gradient flow ``dW/dt = -grad L(W)`` (spec 1.4).

    Parameters
    ----------
    net : LinearNetwork
    W0 : list of ndarray or ndarray of shape (n_v, n_v)
        Initial weights ``[W_1, ..., W_h]``, or an adjacency matrix. Matrices of shape
        ``(B, d_i, d_{i-1})`` give a batch of ``B`` trajectories, integrated together
        (one vectorised step for all, a step size for each with the batched methods).
    t_end : float
        Final time, ``> 0``.
    method : str, default="auto"
        ``"gauss"`` (structure preserving: Gauss-Legendre collocation, conserves every
        ``C_i`` to round-off), ``"rosw"`` (L-stable Rosenbrock-W, for stiff runs),
        ``"dopri5"`` (explicit Dormand-Prince, vectorised over the batch with numpy),
        ``"dopri5-jit"`` (the same method compiled with numba, one trajectory per thread:
        the fastest for batches of small networks), or a ``scipy.integrate.solve_ivp``
        method: ``"RK45"``, ``"DOP853"``, ``"RK23"``, ``"LSODA"``, ``"Radau"``, ``"BDF"``
        (the implicit ones get the exact Hessian as Jacobian), each run integrated on its
        own. ``"auto"`` is ``"dopri5-jit"`` when numba is installed, else ``"dopri5"``.
        The registry is :mod:`landscape.dynamics.solvers`.
    rtol, atol : float, default=1e-8, 1e-10
        Error tolerances (per trajectory, scipy's RMS norm).
    times : {"linear", "log"} or array_like, default="linear"
        Output times: ``n_points`` equally spaced, ``0`` and ``n_points - 1`` log-spaced
        from ``t_min`` (default ``t_end * 1e-4``; plateaus last long), or an explicit
        increasing array from 0 to ``t_end``. Steps land exactly on output times.
    n_points : int, default=201
    loss_below, gradient_norm_below : float, optional
        Terminal events: a trajectory stops when its loss (or gradient norm) falls to
        the value; ``t_event`` records when. Every method locates the crossing to its
        own tolerance (root finding on the step's continuous extension, or scipy's dense
        output), and the run's final state is the state at the crossing.
    max_wall_time : float, optional
        Budget in seconds; runs still going then stop with status ``"time_budget"``.
    first_step, max_step : float, optional
        The first step size and the largest step size, per trajectory, for every method.
    progress : bool, optional
        Show a progress bar (default: only if the run lasts more than 2 s).

    Returns
    -------
    xarray.Dataset
        Kind ``"trajectory"``: ``theta`` (time, param) with NaN after a run stopped,
        ``loss``, ``gradient_norm``, ``conserved_drift`` (time, hidden),
        ``singular_values`` (time, mode), the end state ``theta_final``, ``t_final``,
        ``t_event``, ``status``, work counters; a leading ``run`` dimension for batches.
        Attributes: widths, sigma, method, tolerances, message, wall time.

    Examples
    --------
    >>> import landscape as ls
    >>> net = ls.LinearNetwork([1, 1, 1], sigma=3.0)
    >>> ds = ls.gradient_flow(net, [np.array([[0.5]]), np.array([[0.5]])], t_end=2.0, n_points=5)
    >>> round(float(ds.loss[-1]), 6)
    0.0
    """
    solver = solvers.get(method, net)
    if not isinstance(t_end, numbers.Real) or isinstance(t_end, bool):
        raise LandscapeTypeError(f"t_end must be a real number; got {describe(t_end)}.")
    t_end = check_positive_float(t_end, name="t_end")
    rtol = check_positive_float(rtol, name="rtol")
    atol = check_positive_float(atol, name="atol")
    for label, value in (("loss_below", loss_below), ("gradient_norm_below", gradient_norm_below),
                         ("max_wall_time", max_wall_time), ("first_step", first_step)):
        if value is not None:
            check_positive_float(value, name=label)
    if first_step is not None and first_step > t_end:
        raise LandscapeValueError(f"first_step must be at most t_end = {t_end!r}; got {first_step!r}.")
    theta0, batched = as_batch(net, W0)
    t_eval = _time_grid(t_end, n_points, times, t_min)
    events = []
    if loss_below is not None:
        events.append(solvers.loss_below(loss_below))
    if gradient_norm_below is not None:
        events.append(solvers.gradient_norm_below(gradient_norm_below))
    if max_step is not None and max_step != np.inf:
        max_step = check_positive_float(max_step, name="max_step")
    res = solvers.integrate(FlowProblem(net), solver.name, theta0, t_eval, rtol=rtol, atol=atol, first_step=first_step,
                            max_step=max_step, events=events, max_wall_time=max_wall_time, progress=progress)
    name = res.get("method", solver.name)  # "dopri5" when dopri5-jit was routed for a non-quadratic loss
    attrs = {"method": name, "rtol": rtol, "atol": atol, "nfev": np.int64(res["nfev"]), "njev": np.int64(res["njev"]),
             "wall_time": float(res["wall_time"]), "t_end": t_end}
    if loss_below is not None:
        attrs["loss_below"] = float(loss_below)
    if gradient_norm_below is not None:
        attrs["gradient_norm_below"] = float(gradient_norm_below)
    return trajectory_dataset(net, t_eval, res, attrs, batched, kind_of_time="time")


def _diagnostics(net, theta):
    """loss, gradient norm, conserved quantities and singular values for rows of ``theta``."""
    problem = FlowProblem(net)
    with np.errstate(over="ignore", invalid="ignore"):
        return _diagnostics_unchecked(problem, net, theta)


def _diagnostics_unchecked(problem, net, theta):
    F, L = problem.field(theta)
    W = problem.layers(theta)
    C = kernels.conserved_quantities(W)
    P = kernels.end_to_end(W)
    sv = np.linalg.svd(P, compute_uv=False)
    sq = np.stack([np.sum(w * w, axis=(-2, -1)) for w in W], axis=-1).max(axis=-1)
    return L, np.sqrt(np.sum(F * F, axis=-1)), C, sv, sq


def trajectory_dataset(net, t_eval, res, attrs, batched, kind_of_time="time", extra_coords=None):
    """Assemble the trajectory Dataset from an integrator result (used by flow and descent)."""
    import xarray as xr

    from ..io._schema import FORMAT_VERSION, annotate, network_attrs, param_coords

    Y = res["Y"]
    B, T, n = Y.shape
    valid = ~np.isnan(Y[..., 0])
    loss = np.full((B, T), np.nan)
    gnorm = np.full((B, T), np.nan)
    k = min(net.widths[0], net.widths[-1])
    sv = np.full((B, T, k), np.nan)
    n_hidden = net.depth - 1
    drift = np.full((B, T, n_hidden), np.nan)
    rows = Y[valid]
    L, g, C, s, sq = _diagnostics(net, rows)
    loss[valid], gnorm[valid], sv[valid] = L, g, s[:, :k]
    Lf, gf, Cf, sf, sqf = _diagnostics(net, res["Y_final"])
    C0 = _diagnostics(net, Y[:, 0])[2]
    b_index = np.nonzero(valid)[0]
    for i in range(n_hidden):
        drift[valid, i] = np.linalg.norm(C[i] - C0[i][b_index], axis=(-2, -1))
    scale = np.zeros(B)
    np.maximum.at(scale, b_index, sq)
    scale = np.maximum(scale, sqf)
    drift_final = np.stack([np.linalg.norm(Cf[i] - C0[i], axis=(-2, -1)) for i in range(n_hidden)], axis=-1) if n_hidden else np.zeros((B, 0))
    status = np.array([Status.names[int(s_)] for s_ in res["status"]])
    coords = {"time": ("time", t_eval), "param": np.arange(n), "mode": np.arange(1, k + 1),
              "hidden": np.arange(1, n_hidden + 1), **param_coords(net.widths)}
    if extra_coords:
        coords.update(extra_coords)
    ds = xr.Dataset(
        {
            "theta": (("run", "time", "param"), Y),
            "loss": (("run", "time"), loss),
            "gradient_norm": (("run", "time"), gnorm),
            "conserved_drift": (("run", "time", "hidden"), drift),
            "singular_values": (("run", "time", "mode"), sv),
            "theta_final": (("run", "param"), res["Y_final"]),
            "loss_final": (("run",), Lf),
            "conserved_drift_final": (("run", "hidden"), drift_final),
            "conserved_scale": (("run",), scale),
            "t_final": (("run",), res["t_final"]),
            "t_event": (("run",), res["t_event"]),
            "status": (("run",), status),
            "n_steps": (("run",), np.asarray(res["n_steps"], dtype=np.int64)),
            "n_rejected": (("run",), np.asarray(res["n_rejected"], dtype=np.int64)),
        },
        coords=coords,
    )
    counts = {name: int(np.sum(status == name)) for name in np.unique(status)}
    message = res.get("message") or ", ".join(f"{v} {k}" for k, v in counts.items())
    ds.attrs.update({"landscape_kind": "trajectory", "landscape_format": FORMAT_VERSION,
                     "landscape_version": __version__, **network_attrs(net), **attrs, "message": message,
                     "success": np.int8(all(s_ in ("success", "event") for s_ in status))})
    annotate(ds)
    if not batched:
        ds = ds.isel(run=0, drop=True)
    return ds


def gradient_descent(net, W0, step, n_steps, *, record_every=1, loss_below=None, divergence_threshold=1e6,
                     progress=None):
    """Discrete gradient descent ``W <- W - step * grad L(W)`` (spec 8.1), batched like the flow.

    Parameters
    ----------
    net : LinearNetwork
    W0 : list of ndarray or ndarray
        As for :func:`gradient_flow` (a leading batch axis gives a batch of runs).
    step : float
        Step size ``eta > 0``.
    n_steps : int
        Number of iterations.
    record_every : int, default=1
        Keep every k-th iterate (and always the first and the last).
    loss_below : float, optional
        Stop a run when its loss falls below this value (status ``"event"``).
    divergence_threshold : float >= 1, default=1e6
        A run diverges at the first iterate that leaves the bound: its loss exceeds
        ``divergence_threshold * max(L(W0), 1/2 ||Sigma||_F^2)`` (the gradient flow
        never raises the loss, and ``1/2 ||Sigma||_F^2`` is the loss at 0), or a weight
        exceeds ``divergence_threshold * max(1, max|W0|, ||Sigma||_2^{1/h})`` in absolute
        value, or a value is not finite. That iterate is discarded: the run stops with
        status ``"diverged"``, keeping its last state inside the bound (finite loss),
        and ``t_final`` is that state's time.
    progress : bool, optional

    Returns
    -------
    xarray.Dataset
        The trajectory schema of :func:`gradient_flow`, with ``time = iteration * step``
        and an ``iteration`` coordinate.

    Examples
    --------
    >>> import landscape as ls
    >>> net = ls.LinearNetwork([1, 1, 1], sigma=3.0)
    >>> ds = ls.gradient_descent(net, [np.array([[1.0]]), np.array([[1.0]])], step=0.1, n_steps=200)
    >>> str(ds.status.values), round(float(ds.loss_final), 8)
    ('success', 0.0)
    """
    from tqdm.auto import tqdm

    step = check_positive_float(step, name="step")
    n_steps = check_int(n_steps, name="n_steps", minimum=1)
    record_every = check_int(record_every, name="record_every", minimum=1)
    divergence_threshold = check_positive_float(divergence_threshold, name="divergence_threshold")
    if divergence_threshold < 1.0:
        raise LandscapeValueError(
            "divergence_threshold must be >= 1 (it multiplies the starting loss and weight scale, which a "
            f"converging run may reach); got {divergence_threshold!r}."
        )
    if loss_below is not None:
        check_positive_float(loss_below, name="loss_below")
    theta, batched = as_batch(net, W0)
    B, n = theta.shape
    iters = np.unique(np.concatenate([np.arange(0, n_steps + 1, record_every), [n_steps]]))
    out = np.full((B, iters.size, n), np.nan)
    out[:, 0] = theta
    problem = FlowProblem(net)
    status = np.full(B, Status.RUNNING)
    t_final = np.zeros(B)
    t_event = np.full(B, np.nan)
    done_steps = np.zeros(B, dtype=np.int64)
    record = {int(k): j for j, k in enumerate(iters)}
    start = time.perf_counter()
    F, L = problem.field(theta)
    if net.loss_name == "squared":
        L0_scale = np.maximum(L, 0.5 * float(np.sum(net.Sigma**2)))
        sigma_max = float(np.linalg.norm(net.Sigma, 2)) if net.Sigma.size else 0.0
    else:  # l(0) (the loss at the origin) plays the role of 1/2||Sigma||^2; no target scale for the weights
        L0_scale = np.maximum(L, abs(float(net.objective.value(np.zeros(net.objective.shape)))))
        sigma_max = 0.0
    loss_bound = divergence_threshold * L0_scale
    weight_bound = divergence_threshold * np.maximum(np.abs(theta).max(axis=1), max(1.0, sigma_max ** (1.0 / net.depth)))
    if loss_below is not None:
        hit = L <= loss_below
        status[hit], t_event[hit] = Status.EVENT, 0.0
    with tqdm(total=n_steps, disable=progress is False, delay=0 if progress else 2.0, leave=False, desc="GD") as bar:
        for k in range(1, n_steps + 1):
            act = np.flatnonzero(status == Status.RUNNING)
            if act.size == 0:
                break
            new = theta[act] + step * F[act]
            with np.errstate(over="ignore", invalid="ignore"):
                Fn, Ln = problem.field(new)
                bad = ~(np.all(np.abs(new) <= weight_bound[act, None], axis=1) & (Ln <= loss_bound[act])
                        & np.isfinite(Ln) & np.all(np.isfinite(Fn), axis=1))
            status[act[bad]] = Status.DIVERGED
            good = act[~bad]
            theta[good] = new[~bad]
            done_steps[good] = k
            t_final[good] = k * step
            Lg = Ln[~bad]
            F[good], L[good] = Fn[~bad], Lg
            if k in record:
                out[good, record[k]] = theta[good]
            if loss_below is not None:
                hit = good[Lg <= loss_below]
                status[hit], t_event[hit] = Status.EVENT, k * step
            if k % 100 == 0:
                bar.update(100)
    status[status == Status.RUNNING] = Status.SUCCESS
    res = {"Y": out, "Y_final": theta, "t_final": t_final, "t_event": t_event, "status": status,
           "n_steps": done_steps, "n_rejected": np.zeros(B, dtype=np.int64)}
    attrs = {"method": "gradient_descent", "step": step, "n_iterations": np.int64(n_steps),
             "divergence_threshold": divergence_threshold,
             "nfev": np.int64(problem.nfev), "njev": np.int64(0), "wall_time": time.perf_counter() - start}
    if loss_below is not None:
        attrs["loss_below"] = float(loss_below)
    return trajectory_dataset(net, iters * step, res, attrs, batched,
                              extra_coords={"iteration": ("time", iters.astype(np.int64))})
