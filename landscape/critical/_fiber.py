"""The quotient map, the gauge action, and the fibers of critical values (spec 4.1, 4.3)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validation import check_int, check_rng, describe
from .._version import __version__
from ..core import kernels
from ..errors import LandscapeValueError, WeightsError
from ..losses import require_quadratic
from ._points import _common_attrs, _gradient_norms, representative
from ._subsets import check_subset, critical_value, label

__all__ = ["Quotient", "quotient", "gauge", "fiber", "fiber_dimension", "STRATA"]

#: the strata :func:`fiber` samples
STRATA = ("orbit", "dead_paths")


class Quotient(NamedTuple):
    """Result of :func:`quotient`."""

    P: np.ndarray  #: end-to-end matrix W_h...W_1 (reduced coordinates)
    S: tuple | None  #: the learnt subset when W is critical, else None
    critical: bool  #: gradient norm below tol times the scale
    gradient_norm: float
    loss: float


def _scale(net, W):
    return max(float(np.sum(net.sigma**2)), max(float(np.sum(w * w)) for w in W), 1.0)


def quotient(net, W, *, tol=1e-8):
    """The quotient map ``mu: A -> A^h`` (spec 4.1) and, for a critical point, its S.

    Two networks are equivalent when they realise the same end-to-end matrix ``P``; at a
    critical point ``P = Sigma_S`` (distinct singular values), which names the critical
    value. With repeated singular values ``P`` may use any orthonormal subset of a
    group's singular subspace; S then takes the first modes of each group, as many as
    ``P`` has singular values equal to that group's value.

    Parameters
    ----------
    net : LinearNetwork
    W : list of ndarray or ndarray of shape (n_v, n_v)
    tol : float, default=1e-8
        ``W`` counts as critical if ``||grad L||_F <= tol * max(||Sigma||^2, ||W||^2, 1)``.

    Returns
    -------
    Quotient
        ``(P, S, critical, gradient_norm, loss)``.
    """
    require_quadratic(net, "quotient", "the quotient and fibers are those of the quadratic loss's critical sets Sigma_S (spec 4)")
    layers = net.layers(W)
    grad, L = kernels.gradient(layers, net.Sigma, return_loss=True)
    gnorm = float(np.sqrt(sum(np.sum(g * g) for g in grad)))
    P = kernels.prefix_products(layers)[-1]
    critical = gnorm <= tol * _scale(net, layers)
    S = None
    if critical:
        sigma = net.sigma
        k = sigma.size
        svals = np.linalg.svd(P, compute_uv=False)[:k] if P.size else np.zeros(0)
        chosen = []
        atol = 1e-6 * max(1.0, float(sigma.max(initial=0.0)))
        for value in np.unique(sigma[sigma > 0]):
            members = np.flatnonzero(np.abs(sigma - value) <= atol * 1e-3)
            count = int(np.sum(np.abs(svals - value) <= atol))
            chosen.extend(int(m) + 1 for m in members[:count])
        S = tuple(sorted(chosen))
        if abs(critical_value(net, S) - float(L)) > 1e-6 * max(1.0, float(np.sum(sigma**2))):
            S = None  # not recognisable: P is not Sigma_S for any admissible S
    return Quotient(P=P, S=S, critical=bool(critical), gradient_norm=gnorm, loss=float(L))


def gauge(net, W, G):
    """The gauge action ``A -> G A G^{-1}``, ``G = blkdiag(I, G_1, ..., G_{h-1}, I)`` (spec 2.3).

    On layers: ``W_i -> G_i W_i G_{i-1}^{-1}`` with ``G_0 = G_h = I``. It preserves the loss;
    for orthogonal ``G_i`` it commutes with the flow and maps ``C_i`` to ``G_i C_i G_i^T``.

    Parameters
    ----------
    net : LinearNetwork
    W : list of ndarray or ndarray of shape (n_v, n_v)
    G : sequence of ndarray
        ``[G_1, ..., G_{h-1}]``, invertible, ``G_i`` of shape ``(d_i, d_i)``.

    Returns
    -------
    list of ndarray or ndarray
        In the form of ``W``.
    """
    layers, adj = net._layers(W)
    h = net.depth
    G = list(G)
    if len(G) != h - 1:
        raise WeightsError(f"G must hold h - 1 = {h - 1} matrices [G_1, ..., G_(h-1)]; got {len(G)}.")
    mats = [np.eye(net.widths[0])]
    for i, g in enumerate(G, start=1):
        g = np.asarray(g, dtype=float)
        if g.shape != (net.widths[i], net.widths[i]):
            raise WeightsError(f"G[{i - 1}] (G_{i}) must have shape ({net.widths[i]}, {net.widths[i]}); got {g.shape}.")
        mats.append(g)
    mats.append(np.eye(net.widths[-1]))
    out = []
    for i in range(1, h + 1):
        left = mats[i] @ layers[i - 1]
        out.append(np.linalg.solve(mats[i - 1].T, left.T).T)  # left @ inv(G_{i-1})
    return net._answer(out, adj)


def _well_conditioned(rng, n, spread=0.5):
    q1, _ = np.linalg.qr(rng.standard_normal((n, n)))
    q2, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (q1 * np.exp(rng.uniform(-spread, spread, n))) @ q2


def _kernel_basis(net, S, side):
    """Orthonormal basis of ker(R) (input side) or ker(R^T) (output side) at Sigma_S."""
    k = net.sigma.size
    learnt = np.zeros(k, dtype=bool)
    learnt[[s - 1 for s in S]] = True
    dead = learnt | (net.sigma == 0)
    d = net.widths[0] if side == "input" else net.widths[-1]
    cols = [i for i in range(d) if i >= k or dead[i]]
    return np.eye(d)[:, cols]


def _dead_path_sample(net, S, rng):
    """A critical point of the fiber of S with a dead partial path (h >= 3), or None."""
    h = net.depth
    used = len(S)
    W = representative(net, S)
    free = [w - used for w in net.widths]  # unused units per node layer (hidden layers count)
    options = []
    for i in range(1, h + 1):
        for j in range(i, h + 1):
            missing = (i - 1) + (h - j)
            if missing == 0:
                continue
            hidden = range(max(i - 1, 1), min(j, h - 1) + 1)
            if any(free[l] <= 0 for l in hidden):
                continue
            options.append((i, j, missing))
    if not options:
        return None
    i, j, missing = options[rng.integers(len(options))]
    for layer in range(i, j + 1):
        rows = net.widths[layer] if layer == h else free[layer]
        cols = net.widths[layer - 1] if layer == 1 else free[layer - 1]
        block = rng.standard_normal((rows, cols))
        if layer == 1 and missing == 1:  # read only directions the residual annihilates
            basis = _kernel_basis(net, S, "input")
            block = block[:, : basis.shape[1]] @ basis.T if basis.shape[1] else np.zeros((rows, cols))
        if layer == h and missing == 1:
            basis = _kernel_basis(net, S, "output")
            block = basis @ block[: basis.shape[1]] if basis.shape[1] else np.zeros((rows, cols))
        r0 = 0 if layer == h else used
        c0 = 0 if layer == 1 else used
        W[layer - 1][r0 : r0 + rows, c0 : c0 + cols] += block
    return W


def fiber(net, S, n_samples=10, rng=None, strata="all", tol=1e-9):
    """Sample critical points with the same critical value as ``A*_S`` (spec 4.3).

    Strata:

    ``"orbit"``
        ``G A*_S G^{-1}`` for random well-conditioned gauges ``G_i`` (condition number at
        most e). For h = 2 these fill the critical set near ``A*_S`` (Morse-Bott).
    ``"dead_paths"`` (h >= 3)
        Weights on hidden units that ``A*_S`` leaves unused, confined to a run of layers
        ``i..j`` that never completes an input-output path: at least two layers missing,
        or one missing layer with the dead weights reading (writing) only directions the
        residual annihilates. ``P`` and criticality are unchanged; a random gauge is then
        applied. These strata make the Hessian nullity exceed the orbit dimension.

    Every sample is checked: ``critical`` records ``||grad L|| <= tol * scale`` and
    ``|L - L_S| <= tol * scale``.

    Parameters
    ----------
    net : LinearNetwork
    S : collection of int
        Learnt modes (1-based).
    n_samples : int, default=10
    rng : None, int or numpy.random.Generator
    strata : "all" or sequence of {"orbit", "dead_paths"}, default="all"
        ``"all"`` samples every stratum that exists for this S (alternating).
    tol : float, default=1e-9

    Returns
    -------
    xarray.Dataset
        Kind ``"fiber"``: ``theta`` (sample, param), ``stratum``, ``loss``,
        ``gradient_norm``, ``critical`` (sample); attrs ``subset``, ``critical_value``.
    """
    require_quadratic(net, "fiber", "the quotient and fibers are those of the quadratic loss's critical sets Sigma_S (spec 4)")
    import xarray as xr

    from ..io._schema import annotate, param_coords

    S = check_subset(net, S)
    n_samples = check_int(n_samples, name="n_samples", minimum=1)
    rng = check_rng(rng)
    h = net.depth
    has_dead = h >= 3 and _dead_path_sample(net, S, np.random.default_rng(0)) is not None
    if isinstance(strata, str) and strata == "all":
        chosen = ["orbit"] + (["dead_paths"] if has_dead else [])
    else:
        if isinstance(strata, str):
            strata = [strata]
        chosen = list(strata)
        for s in chosen:
            if s not in STRATA:
                raise LandscapeValueError(f"strata must be 'all' or a subset of {list(STRATA)}; got {s!r}.")
        if "dead_paths" in chosen and not has_dead:
            why = "h >= 3" if h < 3 else "a hidden unit that S leaves unused"
            raise LandscapeValueError(f"the 'dead_paths' stratum needs {why}; this network/subset has none (depth {h}, S = {label(S)}).")
        if not chosen:
            raise LandscapeValueError(f"strata must name at least one of {list(STRATA)}; got {describe(strata)}.")
    thetas, names = [], []
    for i in range(n_samples):
        name = chosen[i % len(chosen)]
        W = representative(net, S) if name == "orbit" else _dead_path_sample(net, S, rng)
        Gs = [_well_conditioned(rng, net.widths[l]) for l in range(1, h)]
        thetas.append(net.flatten(gauge(net, W, Gs)))
        names.append(name)
    theta = np.array(thetas)
    L = kernels.loss(net.unflatten(theta), net.Sigma)
    gnorm = _gradient_norms(net, theta)
    LS = critical_value(net, S)
    scale = np.array([_scale(net, net.unflatten(t)) for t in theta])
    ok = (gnorm <= tol * scale) & (np.abs(L - LS) <= tol * scale)
    ds = xr.Dataset(
        {"theta": (("sample", "param"), theta), "stratum": (("sample",), np.array(names, dtype=str)),
         "loss": (("sample",), L), "gradient_norm": (("sample",), gnorm), "critical": (("sample",), ok)},
        coords={"sample": np.arange(n_samples), "param": np.arange(net.n_params), **param_coords(net.widths)},
    )
    ds.attrs.update(_common_attrs(net, "fiber"))
    ds.attrs.update({"subset": label(S), "critical_value": LS, "tol": tol})
    return annotate(ds)


def orbit_tangent(net, W, orthogonal=False):
    """Columns: the infinitesimal gauge directions ``X_i W_i, -W_{i+1} X_i`` at ``W``.

    ``X_i`` runs over the basis ``E_ab`` of ``gl(d_i)``, or with ``orthogonal=True`` over
    ``E_ab - E_ba`` (``a < b``) of ``so(d_i)``: an ``(n_params, sum_i d_i^2)`` (or
    ``sum_i d_i (d_i - 1) / 2``) array whose rank is the orbit dimension.
    """
    h = net.depth
    starts = np.concatenate([[0], np.cumsum([a * b for a, b in net.shapes])])
    cols = []
    for i in range(1, h):
        d = net.widths[i]
        for a in range(d):
            for b in range(a + 1 if orthogonal else 0, d):
                X = np.zeros((d, d))
                X[a, b] = 1.0
                if orthogonal:
                    X[b, a] = -1.0
                v = np.zeros(net.n_params)
                v[starts[i - 1] : starts[i]] = (X @ W[i - 1]).ravel()
                v[starts[i] : starts[i + 1]] = (-W[i] @ X).ravel()
                cols.append(v)
    return np.array(cols).T if cols else np.zeros((net.n_params, 0))


def fiber_dimension(net, S, tol=1e-9):
    """Orbit dimension and Hessian nullity at ``A*_S`` (spec 4.3, fact 12).

    The orbit dimension is the rank of the infinitesimal gauge action at the
    representative; the Hessian nullity counts eigenvalues with ``|lambda| <= tol * max(1,
    lambda_max)``. At h = 2 with d_0 = d_2 they agree (spec 4.3); with d_0 != d_2 the
    nullity can be larger, e.g. widths (4, 4, 3), S = {} gives orbit 0 and nullity 4: the
    critical set also holds weights reading ker Sigma (W_1 with rows along the unused input
    direction), and depth 2 stays Morse-Bott with nullity = the critical set's dimension
    (:func:`landscape.manifold_dimensions`). For h >= 3 saddles the nullity is larger
    (dead-path strata, degenerate directions). For a global minimum of a square
    network with invertible Sigma the fiber is ``{W_1..W_{h-1} in GL(n), W_h = Sigma (W_{h-1}...W_1)^{-1}}``:
    exact dimension ``(h-1) n^2`` with ``2^{h-1}`` components.

    Returns
    -------
    xarray.Dataset
        Kind ``"fiber_dimension"`` with scalars ``orbit_dimension``, ``hessian_nullity``,
        ``fiber_dimension`` and ``n_components`` (``-1`` where not known in closed form).
    """
    require_quadratic(net, "fiber_dimension", "the quotient and fibers are those of the quadratic loss's critical sets Sigma_S (spec 4)")
    import xarray as xr

    S = check_subset(net, S)
    W = representative(net, S)
    T = orbit_tangent(net, W)
    sv = np.linalg.svd(T, compute_uv=False) if T.size else np.zeros(0)
    orbit = int(np.sum(sv > 1e-10 * max(1.0, sv.max(initial=0.0))))
    ev = np.linalg.eigvalsh(net.hessian(W))
    nullity = int(np.sum(np.abs(ev) <= tol * max(1.0, float(np.abs(ev).max(initial=0.0)))))
    n = net.widths[0]
    square = len(set(net.widths)) == 1 and net.rho == n
    is_min = square and len(S) == n
    ds = xr.Dataset({
        "orbit_dimension": np.int64(orbit), "hessian_nullity": np.int64(nullity),
        "fiber_dimension": np.int64((net.depth - 1) * n * n if is_min else -1),
        "n_components": np.int64(2 ** (net.depth - 1) if is_min else -1),
    })
    ds.attrs.update(_common_attrs(net, "fiber_dimension"))
    ds.attrs.update({"subset": label(S), "landscape_version": __version__})
    from ..io._schema import annotate

    return annotate(ds)
