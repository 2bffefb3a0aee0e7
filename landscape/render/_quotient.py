"""Pictures in the quotient's own coordinates: the end-to-end matrix on the modes (issue 11, section 4).

The loss depends on the weights only through the end-to-end matrix ``P = W_h ... W_1``
(spec 4.1), and its critical points only through ``P = Sigma_S``. The *quotient
coordinates* of a point are

    ``p_k = u_k^T P v_k``,   k = 1, ..., min(d_0, d_h),

with ``u_k``, ``v_k`` the singular vectors of the target (``Sigma_yx = U Sigma V^T``, spec
1.2). The network works in reduced coordinates (``W_1 V``, ``U^T W_h``), where ``u_k`` and
``v_k`` are the standard basis vectors and ``p_k = P[k, k]``. They are gauge invariant
(``P`` is), and every critical point with learnt subset ``S`` has ``p_k = sigma_k`` for
``k`` in ``S`` and 0 otherwise: the critical points of a network with three modes sit at
the corners of the box ``prod_k [0, sigma_k]``, saddle-to-saddle flows run along its
edges, and stable and unstable sets attach to its corners.

Three modes are shown (``modes=``, default the first three). With two modes the third axis
is the loss; with one mode the axes are ``p_k``, the norm of the rest of ``P``
(``||P - p_k u_k v_k^T||_F``) and the loss. The loss always colours the flows.

:func:`quotient_scene` builds a :class:`~landscape.render.Scene3D` in these coordinates
(or in a PCA of the weights, ``coordinates="pca"``, whose explained variance titles the
axes): the box edges drawn faintly, every critical point marked by its kind and labelled
with ``S`` and its kind, trajectories as tubes coloured by the loss, stable (blue) and
unstable (red) sets as lines (up to where they leave the view around the box: sets grown
backward in time run off to large weights), and 2-D manifold surfaces (datasets with
``points``, ``triangles``) as translucent meshes.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from ..errors import LandscapeTypeError, LandscapeValueError
from ..losses import require_quadratic
from ._base import COLORS, kind_label
from ._scene3d import Scene3D

__all__ = ["quotient_coordinates", "quotient_axes", "quotient_scene", "default_modes", "uses_quotient"]

#: colour of the box edges (faint grey) and of 2-D surfaces of unknown kind
BOX_COLOR = "#b0b0b0"
SURFACE_COLOR = "#9467bd"
BOX_LABEL = "box prod_k [0, sigma_k] (edges)"
#: labels of critical points are anchored this many marker radii above the marker
LABEL_LIFT = 1.6


# ------------------------------------------------------------------ coordinates
def _theta(net, W):
    """Flat parameters ``(..., n_params)`` from a layer list, an adjacency matrix or flat parameters."""
    if isinstance(W, (list, tuple)):
        return net.flatten(W)
    W = np.asarray(W, dtype=float)
    n_v = net.n_nodes
    if W.ndim == 2 and W.shape == (n_v, n_v) and net.n_params != n_v:
        return net.flatten(W)
    if W.ndim == 0 or W.shape[-1] != net.n_params:
        raise LandscapeValueError(
            f"W must be a layer list [W_1, ..., W_h], an ({n_v}, {n_v}) adjacency matrix or flat parameters of shape "
            f"(..., {net.n_params}); got an array of shape {W.shape}.")
    return W


def _end_to_end(net, theta):
    """``P = W_h ... W_1`` of flat parameters ``(..., n_params)``: shape ``(..., d_h, d_0)``."""
    layers = net.unflatten(theta)
    P = layers[0]
    for Wi in layers[1:]:
        P = Wi @ P
    return P


def check_modes(net, modes, name="modes"):
    """1-based mode numbers, 1 to 3 distinct ones within ``1..min(d_0, d_h)``; returns a tuple."""
    k = net.sigma.size
    if isinstance(modes, (str, bytes)) or not hasattr(modes, "__iter__"):
        raise LandscapeTypeError(f"{name} must be a sequence of 1 to 3 mode numbers such as (1, 2, 3); got {modes!r}.")
    out = []
    for m in modes:
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)):
            raise LandscapeTypeError(f"{name} must hold integer mode numbers (1-based); got {m!r} in {modes!r}.")
        if not 1 <= int(m) <= k:
            raise LandscapeValueError(f"{name} names mode {m}: this network has modes 1..{k} (min(d_0, d_h) = {k}).")
        out.append(int(m))
    if not 1 <= len(out) <= 3 or len(set(out)) != len(out):
        raise LandscapeValueError(f"{name} must name 1 to 3 distinct modes; got {modes!r}.")
    return tuple(out)


def default_modes(net):
    """The first three modes, or all of them when the network has fewer (``min(d_0, d_h) < 3``)."""
    return tuple(range(1, min(3, net.sigma.size) + 1))


def uses_quotient(net):
    """Whether quotient coordinates are the default 3-D view of ``net``: two modes or more.

    A network with one mode (``d_0 = 1`` or ``d_h = 1``) has a one-dimensional quotient;
    its pictures default to the weights themselves (three parameters) or a PCA.
    """
    return net.sigma.size >= 2


def quotient_coordinates(net, W, modes=None):
    """The quotient coordinates ``p_k = u_k^T P v_k`` of a point or of many (module docstring).

    Parameters
    ----------
    net : LinearNetwork
    W : list of ndarray, ndarray of shape (n_v, n_v), or ndarray of shape (..., n_params)
        Weights in the network's reduced coordinates (as every landscape function takes
        them; map data-coordinate weights with ``net.from_data_coordinates`` first): a
        layer list, an adjacency matrix, or flat parameters (any leading batch shape).
    modes : sequence of int, optional
        1-based modes; default all ``min(d_0, d_h)`` of them.

    Returns
    -------
    ndarray of shape (..., len(modes))
        ``p_k = P[k, k]`` (reduced coordinates, where ``u_k = e_k`` and ``v_k = f_k``). At a
        critical point with learnt subset ``S``: ``sigma_k`` for ``k`` in ``S``, else 0.

    Examples
    --------
    >>> import landscape as ls
    >>> net = ls.LinearNetwork([3, 3, 3, 3], [3.0, 2.0, 1.0])
    >>> quotient_coordinates(net, ls.representative(net, (1, 3))).round(12).tolist()
    [3.0, 0.0, 1.0]
    """
    require_quadratic(net, "quotient_coordinates", "quotient coordinates p_k = u_k^T P v_k and the box of critical points Sigma_S belong to the quadratic loss")
    theta = _theta(net, W)
    modes = tuple(range(1, net.sigma.size + 1)) if modes is None else check_modes(net, modes)
    idx = np.array(modes) - 1
    P = _end_to_end(net, theta)
    return P[..., idx, idx]


def quotient_axes(net, W, modes=None):
    """Three coordinates of points for a picture: the quotient coordinates and, when fewer, the loss.

    Parameters
    ----------
    net : LinearNetwork
    W : list of ndarray, ndarray of shape (n_v, n_v), or ndarray of shape (..., n_params)
    modes : sequence of 1 to 3 int, optional
        Default :func:`default_modes` (the first three).

    Returns
    -------
    xyz : ndarray of shape (..., 3)
        Three modes: ``(p_a, p_b, p_c)``. Two modes: ``(p_a, p_b, L)``. One mode:
        ``(p_a, ||P - p_a u_a v_a^T||_F, L)``.
    titles : tuple of 3 str
    """
    theta = _theta(net, W)
    modes = default_modes(net) if modes is None else check_modes(net, modes)
    idx = np.array(modes) - 1
    P = _end_to_end(net, theta)
    p = P[..., idx, idx]
    titles = tuple(f"p_{m}" for m in modes)
    if len(modes) == 3:
        return p, titles
    R = net.Sigma - P
    loss = 0.5 * np.sum(R * R, axis=(-2, -1))
    if len(modes) == 2:
        return np.concatenate([p, loss[..., None]], axis=-1), titles + ("loss L",)
    rest = P.copy()
    rest[..., idx[0], idx[0]] = 0.0
    r = np.sqrt(np.sum(rest * rest, axis=(-2, -1)))
    return np.stack([p[..., 0], r, loss], axis=-1), titles + (f"|P - p_{modes[0]} u v^T|", "loss L")


def _diag_axes(net, modes, pdiag):
    """The axes of :func:`quotient_axes` at ``P = diag(pdiag)`` (all modes), shape (n, 3)."""
    idx = np.array(modes) - 1
    p = pdiag[:, idx]
    if len(modes) == 3:
        return p
    loss = 0.5 * np.sum((net.sigma[None, :] - pdiag) ** 2, axis=1)
    if len(modes) == 2:
        return np.c_[p, loss]
    return np.c_[p[:, 0], np.zeros(len(p)), loss]


# ------------------------------------------------------------------ scene
def _trajectory_items(trajectories):
    """``[(theta (n, n_params), loss (n,))]`` from trajectory datasets (one run or a batch) and pairs."""
    out = []
    for item in trajectories:
        if isinstance(item, tuple):
            theta, values = item
            out.append((np.asarray(theta, float), np.asarray(values, float)))
            continue
        if "run" in item.dims:
            out += [(item["theta"].values[r], item["loss"].values[r]) for r in range(item.sizes["run"])]
        else:
            out.append((item["theta"].values, item["loss"].values))
    return out


def _branches(ds):
    """``[(kind, samples (n, n_params))]`` of a submanifolds dataset (at least two finite samples each)."""
    th = ds["theta"].values
    out = []
    for b in range(th.shape[0]):
        ok = np.all(np.isfinite(th[b]), axis=1)
        if ok.sum() >= 2:
            out.append((str(ds["branch_kind"].values[b]), th[b][ok]))
    return out


def surface_kind(ds):
    """``"stable"``, ``"unstable"`` or ``""``: the kind a manifold-surface dataset says it is."""
    for key in ("manifold", "kind", "manifold_kind", "direction"):
        value = str(ds.attrs.get(key, ""))
        if value in ("stable", "unstable"):
            return value
    if "kind" in ds.variables and ds["kind"].ndim == 0:
        value = str(ds["kind"].values)
        if value in ("stable", "unstable"):
            return value
    return ""


def _surface_items(surfaces):
    """``[(points (n, n_params), triangles (m, 3), kind, label)]`` from datasets with ``points`` and ``triangles``."""
    out = []
    for ds in surfaces:
        if "points" not in ds.variables or "triangles" not in ds.variables:
            raise LandscapeValueError("surfaces must be datasets with variables 'points' (vertex, param) and "
                                      f"'triangles' (face, corner); got variables {sorted(ds.variables)}.")
        tri = np.asarray(ds["triangles"].values)
        if tri.ndim != 2 or tri.shape[1] != 3:
            raise LandscapeValueError(f"triangles must have shape (face, 3); got {tri.shape}.")
        kind = surface_kind(ds)
        subset = ds.attrs.get("subset", "")
        where = f" of S = {subset}" if subset else ""
        out.append((np.asarray(ds["points"].values, float), tri.astype(np.int64), kind,
                    f"{kind} surface{where}" if kind else f"surface{where}"))
    return out


def _critical_marks(net, critical, modes):
    """``[(label S, kind, theta)]`` of the critical points to mark (``modes``: only S within them, else all).

    A given dataset is read (its ``kind`` if classified); None builds the representatives
    of the admissible subsets (within ``modes``, else the 64 lowest) and names their kind
    by the rank criterion of spec 3.4 (:func:`landscape.stability.rank_criterion`: exact
    at the representatives, no Hessian needed); False marks none.
    """
    if critical is False:
        return []
    if critical is not None:
        if critical.attrs.get("landscape_kind") != "critical_points":
            raise LandscapeValueError("critical must be a dataset of kind 'critical_points' (ls.critical_points, "
                                      "optionally classified by ls.classify), None or False; got kind "
                                      f"{critical.attrs.get('landscape_kind')!r}.")
        out = []
        learnt = critical["learnt"].values
        for i in range(critical.sizes["point"]):
            S = tuple(int(k) + 1 for k in np.flatnonzero(learnt[i]))
            if modes is not None and not set(S) <= set(modes):
                continue
            kind = str(critical["kind"].values[i]) if "kind" in critical.variables else ""
            out.append((str(critical["subset"].values[i]), kind, critical["theta"].values[i]))
        return out
    from ..critical import critical_points, representative
    from ..critical._subsets import check_subset, label
    from ..errors import LandscapeError
    from ..stability import rank_criterion

    if modes is None:
        cp = critical_points(net, max_count=64)
        subsets = [tuple(int(k) + 1 for k in np.flatnonzero(row)) for row in cp["learnt"].values]
    else:
        subsets = []
        for S in _subsets(modes):
            try:
                subsets.append(check_subset(net, S))
            except LandscapeError:  # not admissible: a zero singular value, over the bottleneck, depth 1
                continue
    out = []
    for S in subsets:
        W = representative(net, S)
        out.append((label(S), rank_criterion(net, W, S), net.flatten(W)))
    return out


def _kind_text(kind):
    return kind_label(kind) if kind else ""


def quotient_scene(net, *, trajectories=(), manifolds=(), surfaces=(), orbits=(), critical=None, modes=None,
                   coordinates="quotient", axis_titles=None, size="medium", title=None, box=True):
    """A 3-D scene in quotient coordinates (or a PCA): box, labelled critical points, flows, sets, surfaces.

    Parameters
    ----------
    net : LinearNetwork
    trajectories : sequence
        ``trajectory`` datasets (one run or a batch along ``run``) or pairs
        ``(theta (n, n_params), values (n,))``; drawn as tubes coloured by the loss (the
        values), starts (black sphere) and ends (black cube) marked.
    manifolds : sequence of xarray.Dataset
        ``submanifolds`` datasets: each branch a line, stable blue and unstable red.
    orbits : sequence of (str, ndarray of shape (n, n_params))
        More lines of the sets, drawn like the branches of ``manifolds``: ``(kind, samples)``
        with kind ``"stable"`` or ``"unstable"``, labelled like that kind's branches (e.g. the
        forward orbits of the ends of unstable branches: the unstable set is invariant).
    surfaces : sequence of xarray.Dataset
        Datasets with ``points (vertex, param)`` and ``triangles (face, corner)`` (kind
        ``manifold_surface``, or hand-made ones), drawn as translucent meshes, red for an
        unstable and blue for a stable surface (attribute ``manifold``, as
        :func:`landscape.manifold_surface` writes it, or ``kind``). A surface whose
        generating directions carry the same mode (e.g. the two leading Hessian
        eigenvectors of one eigenvalue, on different hidden units) has one ``P`` per
        curve and is seen edge-on, as a curve: grow it from directions of different modes
        to see it as a surface.
    critical : xarray.Dataset, None or False
        The critical points to mark: a ``critical_points`` dataset (its kinds read if
        :func:`landscape.classify` classified it, never recomputed); None builds the
        representatives ``A*_S`` and names their kind by the rank criterion of spec 3.4
        (exact there, no Hessian); False marks none. In quotient coordinates those with
        ``S`` within the shown modes are marked (the others would share their corners);
        in other coordinates the representatives (the 64 lowest when None). Each is
        labelled with ``S`` and its kind, e.g. ``"{1,2} strict saddle"``.
    modes : sequence of 1 to 3 int, optional
        The modes shown (default the first three; see :func:`quotient_axes` for fewer).
    coordinates : "quotient", "pca", sequence of 3 int, or callable
        ``"pca"``: a PCA of the weights of everything drawn (explained variance in the
        axis titles and the title); three ints: those parameters; a callable maps flat
        parameters ``(n, n_params)`` to ``(n, 3)`` (give ``axis_titles``).
    axis_titles : tuple of 3 str, optional
        Override the axis titles.
    size : {"small", "medium", "large"} or (width, height), default="medium"
    title : str, optional
    box : bool, default=True
        Draw the box edges (quotient coordinates): straight with three modes; with fewer,
        the exact curves ``P = Sigma_S + t sigma_k u_k v_k^T`` between the corners.

    Returns
    -------
    Scene3D
    """
    require_quadratic(net, "quotient_scene", "quotient coordinates p_k = u_k^T P v_k and the box of critical points Sigma_S belong to the quadratic loss")
    from ._scenes import projection

    trajs = _trajectory_items(trajectories)
    branch_sets = [(ds, _branches(ds)) for ds in manifolds]
    surfs = _surface_items(surfaces)
    quotient = isinstance(coordinates, str) and coordinates == "quotient"
    if quotient:
        modes = default_modes(net) if modes is None else check_modes(net, modes)
    elif modes is not None:
        raise LandscapeValueError(f"modes is for quotient coordinates; got coordinates={coordinates!r}.")
    # the critical points to mark: (label S, kind, theta)
    marks = _critical_marks(net, critical, modes if quotient else None)

    everything = [t for t, _ in trajs] + [b for _, bs in branch_sets for _, b in bs] + [p for p, _, _, _ in surfs]
    everything += [np.atleast_2d(np.asarray(o, float)) for _, o in orbits]
    everything += [m[2][None, :] for m in marks]
    how = ""
    if quotient:
        def to3(theta):
            return quotient_axes(net, theta, modes)[0]

        titles = quotient_axes(net, np.zeros((1, net.n_params)), modes)[1]
        how = "quotient coordinates p_k = u_k^T P v_k" + ("" if len(modes) == 3 else " and the loss")
    elif callable(coordinates):
        def to3(theta):
            xyz = np.asarray(coordinates(np.atleast_2d(theta)), float)
            if xyz.shape != (np.atleast_2d(theta).shape[0], 3):
                raise LandscapeValueError(f"coordinates (a callable) must map (n, n_params) to (n, 3); got {xyz.shape}.")
            return xyz

        titles = axis_titles or ("x", "y", "z")
        how = "chosen coordinates"
    else:
        if isinstance(coordinates, str) and coordinates != "pca":
            raise LandscapeValueError(f"coordinates must be 'quotient', 'pca', 3 parameter indices or a callable; "
                                      f"got {coordinates!r}.")
        idx = None if isinstance(coordinates, str) else coordinates
        fit = np.concatenate([np.atleast_2d(x) for x in everything]) if everything else np.zeros((1, net.n_params))
        fit = fit[np.all(np.isfinite(fit), axis=1)]
        _, label, titles = projection(fit[:1], idx, fit=fit)

        def to3(theta):
            return projection(np.atleast_2d(theta), idx, fit=fit)[0]

        how = label if idx is None else "chosen parameters"
    titles = tuple(axis_titles) if axis_titles is not None else titles

    scene = Scene3D(title="", axis_titles=titles, size=size)
    # box edges first (behind everything)
    if quotient and box:
        _add_box(scene, net, modes)
    corner_pts = np.array([to3(m[2][None, :])[0] for m in marks]) if marks else np.zeros((0, 3))
    lines = []  # (kind, xyz, label) of the stable/unstable branches, cut where they leave the view
    for ds, bs in branch_sets:
        subset = ds.attrs.get("subset", "")
        for kind, samples in bs:
            xyz = to3(samples)
            lines.append((kind, _within_view(net, modes, xyz) if quotient else xyz,
                          f"{kind} set" + (f" of S = {subset}" if subset else "")))
    for kind, samples in orbits:
        samples = np.asarray(samples, float)
        samples = samples[np.all(np.isfinite(samples), axis=1)]
        if len(samples) >= 2:
            xyz = to3(samples)
            label = next((lab for k, _, lab in lines if k == kind), f"{kind} set")  # one legend entry per kind
            lines.append((str(kind), _within_view(net, modes, xyz) if quotient else xyz, label))
    traj_xyz = [to3(t) for t, _ in trajs]
    surf_xyz = [to3(p) for p, _, _, _ in surfs]
    geometry = traj_xyz + [xyz for _, xyz, _ in lines] + surf_xyz + [corner_pts] + [p.points for p in scene.paths]
    allpts = np.concatenate([g for g in geometry if len(g)] + [np.zeros((0, 3))])
    allpts = allpts[np.all(np.isfinite(allpts), axis=1)]
    span = float(np.ptp(allpts, axis=0).max()) if len(allpts) else 1.0
    span = span or 1.0

    for (_, tri, kind, label), xyz in zip(surfs, surf_xyz):
        scene.add_surface(xyz, tri, color=COLORS.get(kind, SURFACE_COLOR), opacity=0.4, label=label)
    for kind, xyz, label in lines:
        scene.add_path(xyz, color=COLORS.get(kind, "#333333"), width=SET_WIDTH, label=label)
    from ._scenes import TRAJECTORY_LABEL

    radius = 0.006 * span
    for (_, values), xyz in zip(trajs, traj_xyz):
        scene.add_path(xyz, values=values, radius=radius, label=TRAJECTORY_LABEL)
        scene.mark_ends(xyz, 2.6 * radius)
    if marks:
        by_kind = {}
        for (S, kind, _), q in zip(marks, corner_pts):
            by_kind.setdefault(kind, []).append(q)
        for kind, qs in by_kind.items():
            scene.add_markers(np.array(qs), color=COLORS.get(kind, "#555555"), radius=0.018 * span,
                              label=f"{_kind_text(kind)} (S)" if kind else "critical points (S)")
        # each label just above its marker (a label's box starts at its anchor and would hide the marker)
        lift = np.array([0.0, 0.0, LABEL_LIFT * 0.018 * span])
        scene.add_labels(corner_pts + lift, [f"{S} {_kind_text(kind)}".strip() for S, kind, _ in marks])
    if title is None:
        what = (", ".join(f"sigma_{m} = {net.sigma[m - 1]:.3g}" for m in modes)) if quotient else ""
        title = f"{net.widths}: {how}" + (f" ({what})" if what else "") + ("; colour: loss" if trajs else "")
    scene.title = title
    if quotient and len(modes) == 3 and scene.camera is None and len(allpts):
        # p_a to the right, p_b into the picture, p_c up: the box seen from the front, a little above
        lo, hi = allpts.min(axis=0), allpts.max(axis=0)
        centre = 0.5 * (lo + hi)
        extent = float(np.max(hi - lo)) or 1.0
        scene.camera = (tuple(centre + extent * np.array([1.3, -2.2, 2.6])), tuple(centre), (0.0, 0.0, 1.0))
    return scene


#: stable/unstable branches are drawn until they leave the view: each p_k within VIEW_MARGIN * sigma_1 of
#: [0, sigma_k], and (when the loss is an axis) the loss at most VIEW_LOSS * L_{} (the highest critical value)
VIEW_MARGIN, VIEW_LOSS = 1.0, 1.5
#: line width of the stable and unstable sets (pixels at the medium size)
SET_WIDTH = 8.0


def _within_view(net, modes, xyz):
    """The first part of a branch ``xyz`` (n, 3) that stays in the view around the box, ended where it leaves it
    (branches grown backward in time run off to large weights and would dwarf the box)."""
    s1 = float(np.max(net.sigma)) or 1.0
    sig = net.sigma[np.array(modes) - 1]
    lo = np.r_[-VIEW_MARGIN * s1 + 0 * sig, -np.inf, -np.inf][:3]
    hi = np.r_[sig + VIEW_MARGIN * s1, np.inf, np.inf][:3]
    if len(modes) < 3:
        hi[2] = VIEW_LOSS * 0.5 * float(np.sum(net.sigma ** 2))
    if len(modes) == 1:
        lo[1], hi[1] = -np.inf, VIEW_MARGIN * s1 + s1
    inside = np.all((xyz >= lo) & (xyz <= hi), axis=1)
    if inside.all():
        return xyz
    stop = int(np.argmin(inside))
    if stop == 0:
        return xyz[:0]
    a, b = xyz[stop - 1], xyz[stop]  # the segment leaving the view: keep it up to the view's boundary
    with np.errstate(divide="ignore", invalid="ignore"):
        t_hi = np.where(b > hi, (hi - a) / (b - a), np.inf)
        t_lo = np.where(b < lo, (lo - a) / (b - a), np.inf)
    t = float(np.clip(np.min(np.r_[t_hi, t_lo]), 0.0, 1.0))
    return np.vstack([xyz[:stop], a + t * (b - a)])


def _add_box(scene, net, modes):
    """The box edges: between corners that differ in one shown mode (exact curves when the loss is an axis)."""
    sigma = net.sigma
    if len(modes) == 3:
        corners = [c for c in _subsets(modes)]
        edges = [(a, b) for a, b in combinations(corners, 2) if len(set(a) ^ set(b)) == 1]
    else:  # only admissible corners: the loss axis makes the edges curves of P = Sigma_S + t sigma_k e_k f_k^T
        from ..critical._subsets import check_subset
        from ..errors import LandscapeError

        admissible = []
        for c in _subsets(modes):
            try:
                admissible.append(check_subset(net, c))
            except LandscapeError:  # a zero singular value, over the bottleneck, or depth 1 (only the minimum)
                continue
        edges = [(a, b) for a, b in combinations(admissible, 2) if len(set(a) ^ set(b)) == 1]
    t = np.linspace(0.0, 1.0, 2 if len(modes) == 3 else 41)
    for a, b in edges:
        (k,) = set(a) ^ set(b)
        if sigma[k - 1] == 0:
            continue
        lo = np.zeros(sigma.size)
        lo[[m - 1 for m in a if m != k]] = sigma[[m - 1 for m in a if m != k]]
        pdiag = np.repeat(lo[None, :], t.size, axis=0)
        pdiag[:, k - 1] = t * sigma[k - 1]
        scene.add_path(_diag_axes(net, modes, pdiag), color=BOX_COLOR, width=1.5, label=BOX_LABEL)


def _subsets(modes):
    out = []
    for r in range(len(modes) + 1):
        out += [tuple(sorted(c)) for c in combinations(modes, r)]
    return out
