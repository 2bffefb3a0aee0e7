"""Classification of critical points: global minima, strict and non-strict saddles (spec 3.3-3.4)."""

from __future__ import annotations

import numpy as np

from .._validation import check_positive_float
from ..critical._fiber import quotient
from ..errors import LandscapeValueError
from ..losses import require_quadratic
from ._arcs import classify_direction, escape_directions
from ._inertia import hessian_inertia

__all__ = ["classify", "is_classified", "rank_criterion", "NotCriticalError", "require_critical"]

KINDS = ("global_minimum", "strict_saddle", "non_strict_saddle", "not_critical")


class NotCriticalError(LandscapeValueError):
    """A critical point was required and the given point is not one."""


def require_critical(net, W, tol=1e-8, name="W"):
    """Return the :class:`~landscape.critical.Quotient` of ``W``, or raise if it is not critical."""
    q = quotient(net, W, tol=tol)
    if not q.critical:
        raise NotCriticalError(
            f"{name} is not a critical point: ||grad L||_F = {q.gradient_norm:.3g}, above tol = {tol:g} times the "
            f"scale max(||Sigma||^2, ||W||^2, 1)."
        )
    return q


def _rank(M, tol=1e-9):
    if M.size == 0:
        return 0
    s = np.linalg.svd(M, compute_uv=False)
    return int(np.sum(s > tol * max(1.0, s.max(initial=0.0))))


def _partial(layers, a, b, widths):
    """``W_{a:b} = W_b ... W_a`` (1-based, inclusive); the identity of size d_{a-1} when a = b + 1."""
    if a > b:
        return np.eye(widths[a - 1])
    M = layers[a - 1]
    for i in range(a + 1, b + 1):
        M = layers[i - 1] @ M
    return M


def rank_criterion(net, W, S=None):
    """The rank-pair criterion of spec 3.4 (exact statement derived there).

    At a critical point with learnt subset S, ``k = |S|``:

    1. h = 1: global minimum (convex).
    2. S not a top set (some unlearnt ``sigma_u > sigma_m`` for a learnt m): strict.
    3. S a top set with ``k = min(r, rho)``: global minimum.
    4. S a top set with ``k < min(r, rho)``: h = 2: strict; h >= 3: non-strict iff for
       every pair of layers ``i < j`` one of ``W_{j+1:h}``, ``W_{i+1:j-1}``, ``W_{1:i-1}`` has
       rank exactly k (empty products are identities, of rank > k); otherwise strict.

    Returns
    -------
    str
        ``"global_minimum"``, ``"strict_saddle"`` or ``"non_strict_saddle"``.
    """
    require_quadratic(net, "rank_criterion", "the strict/non-strict criterion and the critical values are those of the quadratic loss (spec 3.4); other losses can have spurious minima (spec 8.2)")
    layers = net.layers(W)
    if S is None:
        S = require_critical(net, layers).S
        if S is None:
            raise LandscapeValueError("the learnt subset of W could not be recognised (P is not Sigma_S).")
    h = net.depth
    sigma = net.sigma
    k = len(S)
    if h == 1:
        return "global_minimum"
    learnt = np.zeros(sigma.size, dtype=bool)
    learnt[[s - 1 for s in S]] = True
    unlearnt = ~learnt & (sigma > 0)
    if k and unlearnt.any() and sigma[unlearnt].max() > sigma[learnt].min() * (1 + 1e-12):
        return "strict_saddle"
    if k >= min(net.rank, net.rho):
        return "global_minimum"
    if h == 2:
        return "strict_saddle"
    d = net.widths
    for i in range(1, h + 1):
        for j in range(i + 1, h + 1):
            ranks = (_rank(_partial(layers, j + 1, h, d)), _rank(_partial(layers, i + 1, j - 1, d)),
                     _rank(_partial(layers, 1, i - 1, d)))
            if k not in ranks:
                return "strict_saddle"
    return "non_strict_saddle"


def _escape_certificate(net, layers, inertia, hessian_tol, rng=0, tries=12, sweeps=80, restarts=3):
    """An arc along which the loss decreases beyond second order, or None.

    1. the structured arcs of :func:`escape_directions` (insertion arcs, possibly reusing
       partial paths); 2. random directions in the Hessian null space (a nonzero cubic
    term decreases the loss on one side); 3. the quartic term minimised over unit null
    directions by great-circle searches. Each candidate is judged by the exact arc
    polynomial.
    """
    for _a, _b, V in escape_directions(net, layers):
        res = classify_direction(net, layers, V)
        if res["order"] >= 3 and "unstable" in (res["positive"], res["negative"]):
            return "insertion_arc", res["order"], res["coefficient"], net.flatten(V)
    if "vectors" not in inertia:
        return None
    ev = inertia["eigenvalues"].values
    band = hessian_tol * max(1.0, float(np.abs(ev).max()))
    N = inertia["vectors"].values[:, np.abs(ev) <= band]
    if N.shape[1] == 0:
        return None
    rng = np.random.default_rng(rng)

    def judge(y):
        v = N @ y
        v /= np.linalg.norm(v)
        return classify_direction(net, layers, net.unflatten(v)), v

    for _ in range(tries):
        res, v = judge(rng.standard_normal(N.shape[1]))
        if res["order"] >= 3 and "unstable" in (res["positive"], res["negative"]):
            return "null_space_arc", res["order"], res["coefficient"], v
    # quartic term: great-circle line searches from a random start
    from ._arcs import arc_polynomial

    def c4(y):
        v = N @ (y / np.linalg.norm(y))
        return arc_polynomial(net, layers, net.unflatten(v))[4]

    thetas = np.linspace(-np.pi / 2, np.pi / 2, 13)[1:-1]
    for _restart in range(restarts):
        y = rng.standard_normal(N.shape[1])
        y /= np.linalg.norm(y)
        best = c4(y)
        for _ in range(sweeps):
            r = rng.standard_normal(N.shape[1])
            r -= (r @ y) * y
            r /= np.linalg.norm(r)
            vals = [c4(np.cos(t) * y + np.sin(t) * r) for t in thetas]
            i = int(np.argmin(vals))
            if vals[i] < best:
                best, y = vals[i], np.cos(thetas[i]) * y + np.sin(thetas[i]) * r
            if best < 0:
                res, v = judge(y)
                if "unstable" in (res["positive"], res["negative"]):
                    return "null_space_arc", res["order"], res["coefficient"], v
    return None


def _classify_point(net, layers, tol, hessian_tol):
    """The classification of one point as a dict of plain values (the one implementation)."""
    from ..critical._subsets import critical_value, label

    q = quotient(net, layers, tol=tol)
    direction = np.full(net.n_params, np.nan)
    order, coef, cert = 0, 0.0, "none"
    rank_kind = ""
    eigenvalues = None
    if not q.critical:
        kind, subset, lam_min, lam_max, n_neg, n_zero, n_pos = "not_critical", "", np.nan, np.nan, -1, -1, -1
    else:
        inertia = hessian_inertia(net, layers, tol=hessian_tol, eigenvectors=net.n_params <= 2500)
        lam_min, lam_max = float(inertia.lambda_min), float(inertia.lambda_max)
        n_neg, n_zero, n_pos = int(inertia.n_negative), int(inertia.n_zero), int(inertia.n_positive)
        if "eigenvalues" in inertia:
            eigenvalues = np.asarray(inertia["eigenvalues"].values, dtype=float)
        S = q.S
        subset = label(S) if S is not None else "?"
        L_star = 0.5 * float(np.sum(np.sort(net.sigma)[::-1][net.rank:] ** 2))
        scale = max(1.0, float(np.sum(net.sigma**2)))
        if S is not None:
            rank_kind = rank_criterion(net, layers, S)
        if n_neg > 0:
            kind, cert, order = "strict_saddle", "hessian", 2
            coef = 0.5 * lam_min
            if "vectors" in inertia:
                direction = inertia["vectors"].values[:, 0]
        elif abs(q.loss - L_star) <= 1e-9 * scale:
            kind, cert = "global_minimum", "minimum"
        else:
            kind = "non_strict_saddle"
            found = _escape_certificate(net, layers, inertia, hessian_tol)
            if found is not None:
                cert, order, coef, direction = found
        if S is not None and abs(critical_value(net, S) - q.loss) > 1e-8 * scale:
            raise LandscapeValueError("internal: the recognised subset does not match the loss.")
    return {
        "kind": kind, "subset": subset, "loss": float(q.loss), "gradient_norm": float(q.gradient_norm),
        "lambda_min": float(lam_min), "lambda_max": float(lam_max), "n_negative": np.int64(n_neg),
        "n_zero": np.int64(n_zero), "n_positive": np.int64(n_pos), "rank_criterion": rank_kind,
        "criteria_agree": bool(rank_kind == kind) if rank_kind else False, "certificate": cert,
        "order": np.int64(order), "coefficient": float(coef), "direction": np.asarray(direction, dtype=float),
        "eigenvalues": eigenvalues,
    }


#: the per-point classification variables a classified critical-points dataset holds
POINT_VARIABLES = ("kind", "n_negative", "n_zero", "n_positive", "lambda_min", "lambda_max", "rank_criterion",
                   "criteria_agree", "certificate", "order", "coefficient", "direction")


def is_classified(cp) -> bool:
    """True if a critical-points dataset already holds the classification of its points."""
    return all(name in cp.variables for name in POINT_VARIABLES) and int(cp.attrs.get("classified", 0)) == 1


def _classify_points(cp, tol, hessian_tol):
    """Classify every representative of a critical-points dataset once; return it with the results."""
    from ..io import network_of, weights_at

    if is_classified(cp) and float(cp.attrs.get("classify_tol", np.nan)) == tol \
            and float(cp.attrs.get("classify_hessian_tol", np.nan)) == hessian_tol:
        return cp.copy()
    net = network_of(cp)
    rows = [_classify_point(net, net.layers(weights_at(cp, i)), tol, hessian_tol) for i in range(cp.sizes["point"])]
    out = cp.drop_vars([v for v in (*POINT_VARIABLES, "hessian_eigenvalues") if v in cp.variables])
    for name in POINT_VARIABLES:
        if name == "direction":
            out[name] = (("point", "param"), np.array([r[name] for r in rows]).reshape(len(rows), net.n_params))
        elif name in ("kind", "rank_criterion", "certificate"):
            out[name] = (("point",), np.array([r[name] for r in rows], dtype=str).reshape(len(rows)))
        else:
            out[name] = (("point",), np.array([r[name] for r in rows]).reshape(len(rows)))
    if rows and all(r["eigenvalues"] is not None for r in rows):
        out["hessian_eigenvalues"] = (("point", "eigen"), np.array([r["eigenvalues"] for r in rows]))
    out.attrs.update({"classified": np.int8(1), "classify_tol": tol, "classify_hessian_tol": hessian_tol})
    from ..io._schema import annotate

    return annotate(out)


def classify(net, W=None, *, tol=1e-8, hessian_tol=1e-8):
    """Classify a point, or every point of a critical-points dataset, once.

    ``global_minimum``, ``strict_saddle``, ``non_strict_saddle`` or ``not_critical``.
    The Hessian test decides strict saddles (a negative eigenvalue below
    ``-hessian_tol * max(1, max |lambda|)``; the certificate is its eigenvector, order 2).
    A positive semidefinite Hessian at a point above the global minimum value is a
    non-strict saddle (spec 3.3: there are no spurious minima); the certificate is an
    insertion arc (spec 5.1, generalised to arcs that reuse existing partial paths, see
    :func:`~landscape.stability.escape_directions`) with the exact order and sign of the
    first nonzero term of ``L(A* + alpha V) - L(A*)``. The rank
    criterion of spec 3.4 is evaluated too and reported beside (``criteria_agree``).

    Parameters
    ----------
    net : LinearNetwork or xarray.Dataset
        The network, or a dataset of kind ``"critical_points"`` (from
        :func:`~landscape.critical_points` or :func:`~landscape.load`): then every
        representative is classified and the results are returned with the points.
    W : list of ndarray or ndarray of shape (n_v, n_v)
        The point (required with a network; not accepted with a dataset).
    tol : float in (0, 1], default=1e-8
        Criticality tolerance (relative gradient norm).
    hessian_tol : float in (0, 1], default=1e-8
        Relative zero band of the Hessian eigenvalues.

    Returns
    -------
    xarray.Dataset
        For a point: kind ``"classification"``: ``kind`` (a string), ``subset``, ``loss``,
        ``gradient_norm``, ``lambda_min``, ``lambda_max``, ``n_negative``, ``n_zero``,
        ``n_positive``, ``rank_criterion``, ``criteria_agree``, and the certificate:
        ``certificate`` (``"hessian"``, ``"insertion_arc"``, ``"null_space_arc"``,
        ``"minimum"`` or ``"none"`` when no escape arc was found), ``order``,
        ``coefficient`` (sign of the leading term), ``direction`` (param). Each per-point
        variable is a 0-d DataArray; ``.item()`` gives the plain Python value:
        ``classify(net, W).kind.item()`` is a ``str``, ``classify(net, W).order.item()`` an
        ``int`` (see the example below).

        For a critical-points dataset: a copy of it with the same variables along
        ``point`` (``direction`` on ``(point, param)``), ``hessian_eigenvalues``
        ``(point, eigen)`` when the whole spectrum is known (up to 2,500 parameters, or
        at mode-aligned points), and attrs ``classified = 1``, ``classify_tol``,
        ``classify_hessian_tol``. A dataset already classified with the same
        tolerances is returned as it is (no recomputation): the CLI, :func:`landscape.explore`
        and :func:`landscape.render.render` all read these variables instead of
        classifying again.

    Raises
    ------
    LandscapeValueError
        ``net`` is a dataset of another kind, or ``W`` is missing or given with a dataset.

    Examples
    --------
    >>> import landscape as ls
    >>> cp = ls.classify(ls.critical_points(ls.LinearNetwork([1, 1, 1, 1], [3.0])))
    >>> cp.subset.values.tolist(), cp.kind.values.tolist()
    (['{1}', '{}'], ['global_minimum', 'non_strict_saddle'])
    >>> net = ls.LinearNetwork([3, 3, 3, 3], sigma=[3.0, 2.0, 1.0])
    >>> c = ls.classify(net, ls.representative(net, (1,)))
    >>> c.kind.item(), c.order.item(), c.n_zero.item()
    ('non_strict_saddle', 3, 22)
    """
    require_quadratic(net, "classify", "the strict/non-strict criterion and the critical values are those of the quadratic loss (spec 3.4); other losses can have spurious minima (spec 8.2)")
    import xarray as xr

    from ..critical._points import _common_attrs
    from ..io._schema import annotate

    tol = check_positive_float(tol, name="tol", upper=1.0)
    hessian_tol = check_positive_float(hessian_tol, name="hessian_tol", upper=1.0)
    if isinstance(net, xr.Dataset):
        kind = net.attrs.get("landscape_kind")
        if kind != "critical_points":
            raise LandscapeValueError(
                f"classify(ds) classifies the points of a 'critical_points' dataset (from ls.critical_points); got a "
                f"dataset of kind {kind!r}."
            )
        if W is not None:
            raise LandscapeValueError("classify(ds) takes the points from the dataset; do not pass W as well.")
        return _classify_points(net, tol, hessian_tol)
    if W is None:
        raise LandscapeValueError("classify(net, W) needs the point W (a layer list or an adjacency matrix).")
    r = _classify_point(net, net.layers(W), tol, hessian_tol)
    ds = xr.Dataset({name: r[name] for name in r if name not in ("direction", "eigenvalues")})
    ds["direction"] = (("param",), r["direction"])
    ds.attrs.update(_common_attrs(net, "classification"))
    ds.attrs.update({"tol": tol, "hessian_tol": hessian_tol})
    return annotate(ds)
