"""Saddle-to-saddle itineraries: which critical sets a trajectory visits (spec 3.1-3.2, 6.5)."""

from __future__ import annotations

import numpy as np

from .._validation import check_positive_float
from .._version import __version__
from ..core import kernels
from ..errors import LandscapeValueError
from ..losses import require_quadratic

__all__ = ["learnt_subsets", "itinerary", "singular_value_times"]

#: documented defaults of the visit definition (see :func:`itinerary`)
DEFAULT_DISTANCE = 0.1
DEFAULT_LOSS_TOLERANCE = 0.05


def learnt_subsets(net, P):
    """The nearest critical end-to-end matrix ``Sigma_S`` to each ``P`` (reduced coordinates).

    ``||P - Sigma_S||_F^2 = ||P||^2 + sum_{k in S} (sigma_k^2 - 2 sigma_k P_kk)``, so mode k
    is in the nearest S iff ``P_kk > sigma_k / 2`` (the half-learning criterion), keeping
    the ``r`` modes that gain most when more qualify. Zero singular values are never learnt.

    Parameters
    ----------
    net : LinearNetwork
    P : ndarray of shape (..., d_h, d_0)

    Returns
    -------
    ndarray of bool, shape (..., min(d_0, d_h))
    """
    require_quadratic(net, "learnt_subsets", "visits are to the critical sets Sigma_S of the quadratic loss (spec 3.1); for any loss the trajectory's singular_values variable is the singular-value itinerary")
    sigma = net.sigma
    k = sigma.size
    diag = np.diagonal(P, axis1=-2, axis2=-1)[..., :k]
    gain = 2 * sigma * diag - sigma**2  # decrease of the squared distance if k joins S
    mask = (gain > 0) & (sigma > 0)
    if net.rank < k:
        order = np.argsort(-np.where(mask, gain, -np.inf), axis=-1)
        keep = np.zeros_like(mask)
        np.put_along_axis(keep, order[..., : net.rank], True, axis=-1)
        mask &= keep
    return mask


def _label(mask):
    idx = [str(i + 1) for i in np.flatnonzero(mask)]
    return "{" + ",".join(idx) + "}" if idx else "{}"


def _crossing_times(t, values, level):
    """First time each column of ``values`` reaches ``level`` (linear interpolation), NaN if never."""
    out = np.full(values.shape[1], np.nan)
    for m in range(values.shape[1]):
        above = np.flatnonzero(values[:, m] >= level[m])
        if above.size == 0 or level[m] <= 0:
            continue
        i = above[0]
        if i == 0:
            out[m] = t[0]
            continue
        v0, v1 = values[i - 1, m], values[i, m]
        out[m] = t[i - 1] + (level[m] - v0) / (v1 - v0) * (t[i] - t[i - 1])
    return out


def default_min_dwell(net):
    """The default ``min_dwell`` of :func:`itinerary`: ``1 / (h sigma_1^{2 - 2/h})``.

    This is the relaxation time of the fastest mode at the balanced global minimum (its
    Hessian eigenvalue ``h sigma_1^{2-2/h}``, spec 6.2 and fact 23): the time unit of the
    flow near the critical points of the network.

    Parameters
    ----------
    net : LinearNetwork

    Returns
    -------
    float
    """
    require_quadratic(net, "default_min_dwell", "visits are to the critical sets Sigma_S of the quadratic loss (spec 3.1); for any loss the trajectory's singular_values variable is the singular-value itinerary")
    s1 = float(np.max(net.sigma))
    h = net.depth
    return 1.0 / (h * s1 ** (2.0 - 2.0 / h)) if s1 > 0 else np.inf


def _one_run(traj, selectors, function):
    """``traj`` checked to be a trajectory dataset, narrowed by ``selectors`` to a single run."""
    from ..io import check_dataset

    check_dataset(traj)
    if traj.attrs["landscape_kind"] != "trajectory":
        raise LandscapeValueError(f"traj must be a trajectory dataset; got kind {traj.attrs['landscape_kind']!r}.")
    if selectors:
        traj = traj.isel(selectors)
    if "run" in traj.dims:
        raise LandscapeValueError(f"traj holds a batch of runs; pick one, e.g. {function}(ds, run=0).")
    return traj


def itinerary(traj, net=None, *, distance=DEFAULT_DISTANCE, loss_tolerance=DEFAULT_LOSS_TOLERANCE, min_dwell=None,
              **selectors):
    """The critical sets a trajectory visits, in order, with arrival and departure times.

    **Visit.** Write ``P(t) = W_h ... W_1`` (reduced coordinates), ``Sigma_S`` the
    end-to-end matrix shared by every critical point with learnt set S (spec 3.1) and
    ``L_S = 1/2 sum_{k not in S} sigma_k^2`` its critical value (spec 3.2). At a stored
    time ``t_n`` the trajectory is *near* S when

    1. ``Sigma_S`` is the critical end-to-end matrix nearest to ``P(t_n)`` (see
       :func:`learnt_subsets`) and ``||P(t_n) - Sigma_S||_F <= distance * ||Sigma||_F``;
    2. ``|L(t_n) - L_S| <= loss_tolerance * 1/2 ||Sigma||_F^2`` (a fraction of the
       highest critical value ``L_{}``).

    A *visit* to S is a maximal run of consecutive stored times ``t_a <= ... <= t_b``
    (``t_enter = t_a`` the arrival, ``t_exit = t_b`` the departure) at which the
    trajectory is near S, lasting ``t_b - t_a >= min_dwell``. A global minimum
    (``L_S = L*``) is the exception: the flow never leaves it (L does not increase), so
    reaching it is a visit when the run stays near it until its last stored state, with
    no dwell required. The start is listed like any other visit: a small initialisation
    lingers near ``{}`` and visits it; a large one does not. The run's end state
    (``theta_final`` at ``t_final``) counts as the last stored state when it is later
    than the last stored sample (runs stopped by an event).

    Critical values strictly decrease along the list: two visits whose values do not
    (the flow cannot climb, so this only happens within the tolerances, for instance a
    brief exit from one neighbourhood and a return) are resolved in favour of the longer
    dwell. Times are stored times, so the resolution of ``t_enter`` and ``t_exit`` is the
    output grid of the trajectory: store times densely enough.

    The critical sets are those of distinct nonzero singular values (generic Σ): with
    repeated values the critical end-to-end matrices form orbits (spec 3.1) and the
    distance is measured to the representative ``Sigma_S`` only.

    Parameters
    ----------
    traj : xarray.Dataset
        A trajectory from :func:`gradient_flow` (select a run of a batch with ``run=i``).
    net : LinearNetwork, optional
        Default: rebuilt from the dataset's attributes.
    distance : float, default=0.1
        Radius of the neighbourhood of ``Sigma_S``, relative to ``||Sigma||_F``.
    loss_tolerance : float, default=0.05
        Largest ``|L - L_S|`` during a visit, relative to ``1/2 ||Sigma||_F^2``.
    min_dwell : float, optional
        Shortest visit to a saddle, in units of time. Default
        ``1 / (h sigma_1^{2-2/h})`` (:func:`default_min_dwell`).
    **selectors
        Passed to ``traj.isel`` (e.g. ``run=0``).

    Returns
    -------
    xarray.Dataset
        Kind ``"itinerary"``, dims ``stage`` (one per visit, possibly none) and ``mode``
        (``min(d_0, d_h)``):

        - ``subset`` (stage,): labels such as ``"{1,2}"`` (1-based modes);
        - ``learnt`` (stage, mode): bool, mode k is in S;
        - ``t_enter``, ``t_exit`` (stage,): arrival and departure (stored times);
        - ``plateau_loss`` (stage,): the critical value ``L_S``;
        - ``saddle`` (stage,): bool, ``L_S`` above the global minimum ``L*``;
        - ``min_distance`` (stage,): ``min ||P - Sigma_S||_F / ||Sigma||_F`` during the visit;
        - ``loss_deviation`` (stage,): ``max |L - L_S|`` during the visit;
        - ``t_half`` (mode,): **per-mode** half-learning times (``P_kk`` first reaches
          ``sigma_k / 2``, linear interpolation between stored times), NaN if never.
          They are properties of modes, not of visits.

        Attributes: ``route`` (the visited labels joined by ``" -> "``, or ``"direct"``
        when no saddle was visited), ``end`` (the label of the set the run ends near, or
        ``"none"``), and the thresholds ``distance``, ``loss_tolerance``, ``min_dwell``.

    Examples
    --------
    >>> import landscape as ls
    >>> net = ls.LinearNetwork([3, 3, 3], sigma=[3.0, 2.0, 1.0])
    >>> traj = ls.gradient_flow(net, ls.init.identity(net, 1e-3), 12.0, n_points=1201, method="dopri5")
    >>> ls.itinerary(traj).attrs["route"]
    '{} -> {1} -> {1,2} -> {1,2,3}'
    """
    import xarray as xr

    from ..io import network_of
    from ..io._schema import FORMAT_VERSION, annotate, network_attrs

    traj = _one_run(traj, selectors, "itinerary")
    why = ("visits are to the critical sets Sigma_S of the quadratic loss (spec 3.1); for any loss the trajectory's "
           "singular_values variable is the singular-value itinerary (see singular_value_times)")
    if net is None:
        require_quadratic(_LossName(traj.attrs.get("loss", "squared")), "itinerary", why)
        net = network_of(traj)
    require_quadratic(net, "itinerary", why)
    distance = check_positive_float(distance, name="distance")
    loss_tolerance = check_positive_float(loss_tolerance, name="loss_tolerance")
    min_dwell = default_min_dwell(net) if min_dwell is None else check_positive_float(min_dwell, name="min_dwell",
                                                                                     allow_zero=True)
    t, P = _samples(traj, net)
    sigma = net.sigma
    k = sigma.size
    Sig = net.Sigma
    L_empty = 0.5 * float(np.sum(sigma**2))
    scale = max(float(np.linalg.norm(Sig)), 1e-300)
    L_star = 0.5 * float(np.sum(np.sort(sigma)[::-1][net.rank:] ** 2))
    loss = 0.5 * np.sum((Sig - P) ** 2, axis=(-2, -1))
    masks = learnt_subsets(net, P)
    diag_idx = np.arange(k)
    targets = np.zeros_like(P)
    targets[:, diag_idx, diag_idx] = np.where(masks, sigma, 0.0)
    dist = np.linalg.norm(P - targets, axis=(-2, -1)) / scale
    values = 0.5 * np.sum(np.where(masks, 0.0, sigma**2), axis=-1)
    is_min = values <= L_star + 1e-12 * (1.0 + L_empty)
    near = (dist <= distance) & (np.abs(loss - values) <= loss_tolerance * L_empty)

    # maximal runs of consecutive near samples with the same S
    runs, n = [], 0
    while n < len(t):
        if not near[n]:
            n += 1
            continue
        m = n
        while m + 1 < len(t) and near[m + 1] and np.array_equal(masks[m + 1], masks[n]):
            m += 1
        last = m == len(t) - 1
        if (is_min[n] and last) or (not is_min[n] and t[m] - t[n] >= min_dwell):
            runs.append((n, m))
        n = m + 1
    # critical values strictly decrease: resolve conflicts by the longer dwell
    kept = []
    for a, b in runs:
        keep = True
        while kept and values[kept[-1][0]] <= values[a]:
            pa, pb = kept[-1]
            if t[b] - t[a] > t[pb] - t[pa]:
                kept.pop()
            else:
                keep = False
                break
        if keep:
            kept.append((a, b))

    labels = [_label(masks[a]) for a, _ in kept]
    saddle = np.array([not is_min[a] for a, _ in kept], dtype=bool)
    end = labels[-1] if kept and kept[-1][1] == len(t) - 1 else ("none" if not near[-1] else _label(masks[-1]))
    diag = np.diagonal(P, axis1=-2, axis2=-1)[:, :k]
    n_stage = len(kept)
    ds = xr.Dataset(
        {
            "subset": (("stage",), np.array(labels, dtype=str) if labels else np.zeros(0, dtype="<U2")),
            "learnt": (("stage", "mode"), np.array([masks[a] for a, _ in kept], dtype=bool).reshape(n_stage, k)),
            "t_enter": (("stage",), np.array([t[a] for a, _ in kept], dtype=float)),
            "t_exit": (("stage",), np.array([t[b] for _, b in kept], dtype=float)),
            "plateau_loss": (("stage",), np.array([values[a] for a, _ in kept], dtype=float)),
            "saddle": (("stage",), saddle),
            "min_distance": (("stage",), np.array([dist[a : b + 1].min() for a, b in kept], dtype=float)),
            "loss_deviation": (("stage",), np.array([np.abs(loss[a : b + 1] - values[a]).max() for a, b in kept],
                                                    dtype=float)),
            "t_half": (("mode",), _crossing_times(t, diag, sigma / 2)),
        },
        coords={"stage": np.arange(n_stage), "mode": np.arange(1, k + 1)},
    )
    ds.attrs.update({"landscape_kind": "itinerary", "landscape_format": FORMAT_VERSION, "landscape_version": __version__,
                     **network_attrs(net),
                     "route": " -> ".join(labels) if saddle.any() else "direct", "end": end,
                     "distance": float(distance), "loss_tolerance": float(loss_tolerance),
                     "min_dwell": float(min_dwell),
                     "visit_definition": "||P - Sigma_S||_F <= distance ||Sigma||_F and |L - L_S| <= loss_tolerance "
                                         "||Sigma||_F^2 / 2 at every stored time from t_enter to t_exit, "
                                         "t_exit - t_enter >= min_dwell (saddles) or t_exit = end of run (minima)"})
    annotate(ds)
    return ds


def singular_value_times(traj, fraction=0.5, *, level=None, **selectors):
    """When each singular value of ``P(t)`` is learnt: the singular-value itinerary for any loss.

    For mode k (singular values of ``P = W_h ... W_1`` in decreasing order, the
    trajectory's ``singular_values`` variable) the first stored time at which ``s_k(t)``
    reaches ``fraction`` of its value at the end of the run (linear interpolation between
    stored times), or, with ``level``, the first time it reaches that absolute value (for
    losses whose minimiser is at infinity, such as logistic or cross-entropy on separable
    data, the final value only reflects when the run stopped). Needs only the trajectory,
    so it works for every loss (issue 14); for the quadratic loss :func:`itinerary` gives
    the saddle-to-saddle route as well.

    Parameters
    ----------
    traj : xarray.Dataset
        A trajectory from :func:`gradient_flow` or :func:`gradient_descent` (one run: select
        it with ``run=i``).
    fraction : float, default=0.5
        In (0, 1].
    level : float, optional
        An absolute level instead of ``fraction`` of the final values.
    **selectors
        Passed to ``traj.isel``.

    Returns
    -------
    ndarray of shape (min(d_0, d_h),)
        The times, NaN for a mode whose final value is 0 (not learnt) or never reached.
        The start counts: a mode already at the level at the first stored time gets that time.

    Examples
    --------
    >>> import landscape as ls
    >>> net = ls.LinearNetwork([3, 3, 3], sigma=[3.0, 2.0, 1.0])
    >>> traj = ls.gradient_flow(net, ls.init.identity(net, 1e-3), 12.0, n_points=601, method="dopri5")
    >>> times = singular_value_times(traj)
    >>> bool(times[0] < times[1] < times[2])
    True
    """
    traj = _one_run(traj, selectors, "singular_value_times")
    fraction = check_positive_float(fraction, name="fraction", upper=1.0)
    sv = traj["singular_values"].values
    t = traj["time"].values
    valid = np.all(np.isfinite(sv), axis=-1)
    sv, t = sv[valid], t[valid]
    if t.size == 0:
        raise LandscapeValueError("traj holds no finite state.")
    if level is not None:
        level = check_positive_float(level, name="level")
        return _crossing_times(t, sv, np.full(sv.shape[1], level))
    final = sv[-1]
    return _crossing_times(t, sv, np.where(final > 0, fraction * final, 0.0))


class _LossName:
    def __init__(self, name):
        self.loss_name = str(name)


def _samples(traj, net):
    """Stored times and end-to-end matrices of a single run, with the end state appended.

    Returns
    -------
    t : ndarray of shape (T,)
    P : ndarray of shape (T, d_h, d_0)
    """
    theta = traj["theta"].values
    t = traj["time"].values
    valid = ~np.isnan(theta).any(axis=-1)
    theta, t = theta[valid], t[valid]
    if "theta_final" in traj and "t_final" in traj:
        t_final = float(traj["t_final"])
        theta_final = traj["theta_final"].values
        if np.all(np.isfinite(theta_final)) and (t.size == 0 or t_final > t[-1]):
            theta = np.concatenate([theta, theta_final[None]])
            t = np.append(t, t_final)
    if t.size == 0:
        raise LandscapeValueError("traj holds no finite state.")
    return t, kernels.prefix_products(net.unflatten(theta))[-1]
