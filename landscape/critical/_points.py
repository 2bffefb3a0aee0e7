"""Critical points per loss value: enumeration and quotient-space representatives (spec 3, 4.2)."""

from __future__ import annotations

import numpy as np

from .._validation import check_int
from ..core import kernels
from .._version import __version__
from ..errors import LandscapeValueError
from ..losses import require_quadratic
from ._subsets import check_subset, count_admissible, label, lowest_subsets

__all__ = ["representative", "critical_points", "critical_values", "count_critical_values", "MAX_ENTRIES"]

#: full enumerations larger than this refuse (ask for ``max_count``)
MAX_ENTRIES = 2**20
#: and so do those whose representatives would take more than this many bytes
MAX_BYTES = 2 * 2**30
#: relative tolerance (of 1/2 ||Sigma||_F^2) for two critical values to count as equal
VALUE_RTOL = 1e-12


def representative(net, S) -> list[np.ndarray]:
    """The quotient-space representative ``A*_S`` of a learnt subset (spec 4.2), as layers.

    The j-th learnt mode ``s_j`` (ascending) is routed through hidden unit j of every
    layer with weight ``sigma_{s_j}^{1/h}`` on each edge: ``W_1* = sum_j sigma^{1/h} e_j f_{s_j}^T``,
    ``W_i* = sum_j sigma^{1/h} e_j e_j^T``, ``W_h* = sum_j sigma^{1/h} e_{s_j} e_j^T``
    (``W_1* = Sigma_S`` when h = 1). It is aligned, 0-balanced, critical, has end-to-end
    matrix ``Sigma_S`` and loss ``L_S``, and is the minimum-norm point of its fiber
    (``sum_i ||W_i||^2 = h sum_{s in S} sigma_s^{2/h}``).

    Parameters
    ----------
    net : LinearNetwork
    S : collection of int
        Learnt modes, numbered from 1.

    Returns
    -------
    list of ndarray

    Examples
    --------
    >>> import landscape as ls
    >>> net = ls.LinearNetwork([2, 2, 2], [4.0, 1.0])
    >>> [w.tolist() for w in representative(net, [1])]
    [[[2.0, 0.0], [0.0, 0.0]], [[2.0, 0.0], [0.0, 0.0]]]
    """
    require_quadratic(net, "representative", "it enumerates the critical points P = Sigma_S of the quadratic loss by learnt subsets S (spec 3); other losses have no such closed form")
    S = check_subset(net, S)
    h = net.depth
    W = [np.zeros(s) for s in net.shapes]
    if h == 1:
        for s in S:
            W[0][s - 1, s - 1] = net.sigma[s - 1]
        return W
    for j, s in enumerate(S):
        a = net.sigma[s - 1] ** (1.0 / h)
        W[0][j, s - 1] = a
        for i in range(1, h - 1):
            W[i][j, j] = a
        W[h - 1][s - 1, j] = a
    return W


def _representatives(net, learnt):
    """Flat representatives of many subsets at once (the construction of :func:`representative`)."""
    n, k = learnt.shape
    h = net.depth
    theta = np.zeros((n, net.n_params))
    starts = np.concatenate([[0], np.cumsum([a * b for a, b in net.shapes])])
    entry, mode = np.nonzero(learnt)  # mode: 0-based
    unit = (np.cumsum(learnt, axis=1) - 1)[entry, mode]  # the j of the j-th learnt mode
    if h == 1:
        theta[entry, mode * net.widths[0] + mode] = net.sigma[mode]
        return theta
    a = net.sigma[mode] ** (1.0 / h)
    for i in range(1, h + 1):
        rows = unit if i < h else mode
        cols = mode if i == 1 else unit
        theta[entry, starts[i - 1] + rows * net.widths[i - 1] + cols] = a
    return theta


def _gradient_norms(net, theta, chunk=4096):
    """``||grad L||_F`` of many flat points, in chunks to bound memory."""
    out = np.empty(theta.shape[0])
    for lo in range(0, theta.shape[0], chunk):
        g = kernels.gradient(net.unflatten(theta[lo : lo + chunk]), net.Sigma)
        out[lo : lo + chunk] = np.sqrt(sum(np.sum(x * x, axis=(-2, -1)) for x in g))
    return out


def _groups(values, scale):
    """value ids: consecutive sorted values within ``VALUE_RTOL * scale`` share an id."""
    ids = np.zeros(len(values), dtype=np.int64)
    for i in range(1, len(values)):
        ids[i] = ids[i - 1] + (values[i] - values[i - 1] > VALUE_RTOL * scale)
    return ids


def _entries(net, max_count, name):
    if max_count is None:
        count = count_admissible(net)
        size = count * net.n_params * 8
        if count > MAX_ENTRIES or size > MAX_BYTES:
            raise LandscapeValueError(
                f"the full enumeration has {count} admissible subsets (representatives ~{size / 2**30:.1f} GiB), over "
                f"the limit of {MAX_ENTRIES} entries / {MAX_BYTES / 2**30:.0f} GiB; pass max_count=k to {name} for the "
                f"k lowest."
            )
    else:
        max_count = check_int(max_count, name="max_count", minimum=1)
    return list(lowest_subsets(net, max_count))


def _common_attrs(net, kind):
    from ..io._schema import FORMAT_VERSION, network_attrs

    attrs = {"landscape_kind": kind, "landscape_format": FORMAT_VERSION, "landscape_version": __version__,
             **network_attrs(net), "rank": np.int64(net.rank)}
    if "sigma" in attrs:  # rho = rank Sigma exists for the squared losses only
        attrs["rho"] = np.int64(net.rho)
    return attrs


def critical_points(net, max_count=None):
    """One entry per admissible learnt subset S, sorted by critical value (spec 3.1-3.2, 4.2).

    With distinct nonzero singular values every critical point has end-to-end matrix
    ``Sigma_S`` for one admissible S, so the entries are the quotient space: one point per
    S, each with its representative ``A*_S``; all other critical points with the same S
    lie in its fiber (:func:`landscape.fiber`). Entries whose values coincide (e.g.
    ``Sigma = diag(5, 4, 3)``, S = {1} and {2, 3}) share a ``value_id``.

    Special spectra: a zero singular value is never learnt (its mode is in no S; the
    fiber gains the directions of the unused input and output). With repeated singular
    values the entries that exchange equal modes have equal values (same ``value_id``)
    and the fiber gains rotations within each group of equal values (spec 3.1). A
    bottleneck ``r < rho`` limits ``|S| <= r``; the global minimum is then
    ``L* = 1/2 sum_{k > r} sigma_k^2`` over the top r modes.

    Parameters
    ----------
    net : LinearNetwork
    max_count : int, optional
        Only the ``max_count`` lowest entries (best-first, without enumerating all).
        Without it the full enumeration refuses sizes over :data:`MAX_ENTRIES`.

    Returns
    -------
    xarray.Dataset
        Kind ``"critical_points"``, dims ``point``, ``mode``, ``param``: ``loss``,
        ``subset`` (labels such as ``"{1,3}"``), ``learnt`` (point, mode), ``size``,
        ``value_id``, ``is_global_minimum``, ``theta`` (the representatives; read them with
        :func:`landscape.weights_at`) and ``gradient_norm`` (their check).

    Examples
    --------
    >>> import landscape as ls
    >>> cp = critical_points(ls.LinearNetwork([3, 3, 3], [3.0, 2.0, 1.0]))
    >>> cp.loss.values.tolist()
    [0.0, 0.5, 2.0, 2.5, 4.5, 5.0, 6.5, 7.0]
    """
    require_quadratic(net, "critical_points", "it enumerates the critical points P = Sigma_S of the quadratic loss by learnt subsets S (spec 3); other losses have no such closed form")
    import xarray as xr

    from ..io._schema import annotate, param_coords

    entries = _entries(net, max_count, "critical_points")
    k = net.sigma.size
    n = len(entries)
    loss = np.array([v for v, _ in entries])
    learnt = np.zeros((n, k), dtype=bool)
    for i, (_, S) in enumerate(entries):
        learnt[i, [s - 1 for s in S]] = True
    theta = _representatives(net, learnt)
    exact = 0.5 * np.sum(np.where(learnt, 0.0, net.sigma**2), axis=1)
    scale = max(0.5 * float(np.sum(net.sigma**2)), 1e-300)
    gnorm = _gradient_norms(net, theta)
    L_star = 0.5 * float(np.sum(np.sort(net.sigma)[::-1][net.rank:] ** 2))
    ds = xr.Dataset(
        {
            "loss": (("point",), exact),
            "subset": (("point",), np.array([label(S) for _, S in entries], dtype=str)),
            "learnt": (("point", "mode"), learnt),
            "size": (("point",), learnt.sum(axis=1).astype(np.int64)),
            "value_id": (("point",), _groups(loss, scale)),
            "is_global_minimum": (("point",), np.abs(exact - L_star) <= VALUE_RTOL * scale),
            "theta": (("point", "param"), theta),
            "gradient_norm": (("point",), gnorm),
        },
        coords={"point": np.arange(n), "mode": np.arange(1, k + 1), "param": np.arange(net.n_params),
                **param_coords(net.widths)},
    )
    ds.attrs.update(_common_attrs(net, "critical_points"))
    ds.attrs.update({"n_admissible": str(count_admissible(net)), "complete": np.int8(max_count is None or n == count_admissible(net)),
                     "global_minimum_loss": L_star})
    return annotate(ds)


def critical_values(net, max_count=None):
    """The critical values in ascending order, each with the subsets S that reach it.

    Parameters
    ----------
    net : LinearNetwork
    max_count : int, optional
        The ``max_count`` lowest *values* (best-first over subset sums; the subsets of
        the last value are listed completely).

    Returns
    -------
    xarray.Dataset
        Kind ``"critical_values"``, dim ``value``: ``loss``, ``n_subsets`` and ``subsets``
        (labels joined by ``";"``).

    Examples
    --------
    >>> import landscape as ls
    >>> cv = critical_values(ls.LinearNetwork([3, 3, 3], [5.0, 4.0, 3.0]))
    >>> cv.loss.values.tolist()[:3], str(cv.subsets.values[3])
    ([0.0, 4.5, 8.0], '{1};{2,3}')
    """
    require_quadratic(net, "critical_values", "it enumerates the critical points P = Sigma_S of the quadratic loss by learnt subsets S (spec 3); other losses have no such closed form")
    import xarray as xr

    from ..io._schema import annotate

    if max_count is not None:
        max_count = check_int(max_count, name="max_count", minimum=1)
    scale = max(0.5 * float(np.sum(net.sigma**2)), 1e-300)
    values, subsets = [], []
    if max_count is None:
        _entries(net, None, "critical_values")  # size guard
    for value, S in lowest_subsets(net):
        if values and value - values[-1] <= VALUE_RTOL * scale:
            subsets[-1].append(S)
            continue
        if max_count is not None and len(values) == max_count:
            break
        values.append(value)
        subsets.append([S])
    ds = xr.Dataset(
        {
            "loss": (("value",), np.array(values)),
            "n_subsets": (("value",), np.array([len(s) for s in subsets], dtype=np.int64)),
            "subsets": (("value",), np.array([";".join(label(S) for S in sorted(g)) for g in subsets], dtype=str)),
        },
        coords={"value": np.arange(len(values))},
    )
    ds.attrs.update(_common_attrs(net, "critical_values"))
    return annotate(ds)


def count_critical_values(net) -> int:
    """Number of admissible subsets S, ``sum_{k <= min(r, rho)} C(rho, k)``, without listing.

    This is the number of quotient points; the number of distinct critical values is the
    same unless subset sums of ``sigma_k^2`` coincide (see :func:`critical_values`).

    Examples
    --------
    >>> import landscape as ls
    >>> count_critical_values(ls.LinearNetwork([60, 60, 60], np.arange(60.0, 0, -1)))
    1152921504606846976
    """
    require_quadratic(net, "count_critical_values", "it enumerates the critical points P = Sigma_S of the quadratic loss by learnt subsets S (spec 3); other losses have no such closed form")
    return count_admissible(net)
