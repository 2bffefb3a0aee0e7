"""Saddle-to-saddle itineraries: which learnt subsets S a trajectory passes near (spec 3.1, 6.5)."""

from __future__ import annotations

import numpy as np

from .._version import __version__
from ..core import kernels
from ..errors import LandscapeValueError

__all__ = ["learnt_subsets", "itinerary"]


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


def itinerary(traj, net=None, **selectors):
    """The saddle-to-saddle route of a trajectory.

    At every stored time the nearest critical end-to-end matrix ``Sigma_S`` (see
    :func:`learnt_subsets`) names a learnt subset S; the itinerary lists the subsets in
    the order visited with their entry and exit times (the midpoints between stored
    times where S changes), the plateau loss ``L_S = 1/2 sum_{k not in S} sigma_k^2``, and
    how near the trajectory came (``min ||P - Sigma_S||_F / ||Sigma||_F`` during the visit).
    Half-learning times (``P_kk`` reaching ``sigma_k / 2``, by linear interpolation
    between stored times) are given per mode. Store times densely enough for the
    resolution you need.

    Parameters
    ----------
    traj : xarray.Dataset
        A trajectory from :func:`gradient_flow` (select a run of a batch with ``run=i``).
    net : LinearNetwork, optional
        Default: rebuilt from the dataset's attributes.

    Returns
    -------
    xarray.Dataset
        Kind ``"itinerary"``: dims ``stage`` and ``mode``; variables ``subset`` (labels
        such as ``"{1,2}"``), ``learnt`` (stage, mode), ``t_enter``, ``t_exit``,
        ``plateau_loss``, ``min_distance``, and ``t_half`` (mode).
    """
    import xarray as xr

    from ..io import check_dataset, network_of
    from ..io._schema import FORMAT_VERSION, annotate

    check_dataset(traj)
    if traj.attrs["landscape_kind"] != "trajectory":
        raise LandscapeValueError(f"traj must be a trajectory dataset; got kind {traj.attrs['landscape_kind']!r}.")
    if selectors:
        traj = traj.isel(selectors)
    if "run" in traj.dims:
        raise LandscapeValueError("traj holds a batch of runs; pick one, e.g. itinerary(ds, run=0).")
    net = network_of(traj) if net is None else net
    theta = traj["theta"].values
    t = traj["time"].values
    valid = ~np.isnan(theta[:, 0])
    theta, t = theta[valid], t[valid]
    W = net.unflatten(theta)
    P = kernels.prefix_products(W)[-1]
    masks = learnt_subsets(net, P)
    sigma = net.sigma
    k = sigma.size
    Sig = net.Sigma
    scale = max(np.linalg.norm(Sig), 1e-300)
    stages, start = [], 0
    for i in range(1, len(t) + 1):
        if i == len(t) or not np.array_equal(masks[i], masks[start]):
            stages.append((start, i - 1))
            start = i
    labels, learnt, t_in, t_out, plateau, dist = [], [], [], [], [], []
    for n, (a, b) in enumerate(stages):
        m = masks[a]
        S = np.zeros_like(Sig)
        S[np.arange(k)[m], np.arange(k)[m]] = sigma[m]
        labels.append(_label(m))
        learnt.append(m)
        t_in.append(t[0] if n == 0 else 0.5 * (t[a - 1] + t[a]))
        t_out.append(t[-1] if b == len(t) - 1 else 0.5 * (t[b] + t[b + 1]))
        plateau.append(0.5 * float(np.sum(sigma[~m] ** 2)))
        dist.append(float(np.min(np.linalg.norm(P[a : b + 1] - S, axis=(-2, -1)))) / scale)
    diag = np.diagonal(P, axis1=-2, axis2=-1)[:, :k]
    ds = xr.Dataset(
        {
            "subset": (("stage",), np.array(labels, dtype=object).astype(str)),
            "learnt": (("stage", "mode"), np.array(learnt, dtype=bool).reshape(len(stages), k)),
            "t_enter": (("stage",), np.array(t_in, dtype=float)),
            "t_exit": (("stage",), np.array(t_out, dtype=float)),
            "plateau_loss": (("stage",), np.array(plateau)),
            "min_distance": (("stage",), np.array(dist)),
            "t_half": (("mode",), _crossing_times(t, diag, sigma / 2)),
        },
        coords={"stage": np.arange(len(stages)), "mode": np.arange(1, k + 1)},
    )
    ds.attrs.update({"landscape_kind": "itinerary", "landscape_format": FORMAT_VERSION, "landscape_version": __version__,
                     "widths": np.asarray(net.widths, dtype=np.int64), "sigma": net.sigma, "depth": np.int64(net.depth),
                     "route": " -> ".join(labels)})
    annotate(ds)
    return ds
