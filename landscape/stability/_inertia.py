"""Hessian inertia at any size: dense, matrix-free Lanczos, and block structure at aligned points."""

from __future__ import annotations

import numpy as np

from .._validation import check_int, check_positive_float
from ..errors import LandscapeValueError

__all__ = ["hessian_inertia", "structured_spectrum", "is_mode_aligned", "DENSE_LIMIT"]

#: parameter count up to which the dense path (``numpy.linalg.eigh``) is the default
DENSE_LIMIT = 2500
METHODS = ("auto", "dense", "lanczos", "structured")


def _is_diagonal(w):
    off = w.copy()
    m = min(w.shape)
    off[np.arange(m), np.arange(m)] = 0.0
    return not np.any(off)


def aligned_form(net, W):
    """Permute hidden units so that every layer is rectangular diagonal, or return None.

    A permutation of hidden units is an orthogonal gauge, so the Hessian spectrum is
    unchanged. The representatives ``A*_S`` route mode ``s_j`` through unit j; this maps
    them back to the diagonal form (mode s through unit s).
    """
    layers = [w.copy() for w in net.layers(W)]
    h = net.depth
    for i in range(h - 1):
        w = layers[i]
        if np.any(np.count_nonzero(w, axis=0) > 1) or np.any(np.count_nonzero(w, axis=1) > 1):
            return None
        d = w.shape[0]
        target = np.full(d, -1)
        rows, cols = np.nonzero(w)
        if np.any(cols >= d):
            return None
        target[rows] = cols
        free_targets = [c for c in range(d) if c not in set(cols.tolist())]
        target[target < 0] = free_targets
        perm = np.argsort(target)  # new row c is old row perm[c]
        layers[i] = w[perm]
        layers[i + 1] = layers[i + 1][:, perm]
    return layers if all(_is_diagonal(w) for w in layers) else None


def is_mode_aligned(net, W) -> bool:
    """True if, up to a permutation of hidden units, every ``W_i`` is rectangular diagonal."""
    return aligned_form(net, W) is not None


def structured_spectrum(net, W, eigenvectors=False):
    """All Hessian eigenvalues at a mode-aligned point from its small invariant blocks.

    Eigenvectors, when asked for, are in the parameter order of the aligned form (see
    :func:`aligned_form`). At a point whose layers are all rectangular diagonal, the Hessian leaves invariant
    the span of the entries ``W_i[a, b]`` and ``W_i[b, a]`` (all layers) for each unordered
    pair ``{a, b}``: the Gauss-Newton part ``J^T J`` couples ``(i, a, b)`` only with
    ``(j, a, b)`` (entries ``beta_i[a] beta_j[a] phi_{i-1}[b] phi_{j-1}[b]`` with ``beta``, ``phi``
    the diagonals of the suffix and prefix products), the residual part couples
    ``(k, p, q)`` only with ``(j, q, p)`` (entry ``-kappa_kj[p] mu_jk[q]``). So the spectrum is
    the union of those of blocks of size at most ``2h`` (spec 3.5's table is their closed
    form for equal widths), computed by batched ``eigh``: memory and time linear in the
    number of parameters.

    Returns
    -------
    eigenvalues : ndarray of shape (n_params,)
        Sorted ascending.
    vectors : list of (ndarray, ndarray), optional
        If ``eigenvectors``: per group of equally shaped blocks, the parameter indices
        ``(n_blocks, size)`` and the block eigenvectors ``(n_blocks, size, size)``.
    """
    layers = aligned_form(net, W)
    if layers is None:
        raise LandscapeValueError(
            "structured_spectrum needs a mode-aligned point: every W_i rectangular diagonal up to a permutation of "
            "hidden units (as the representatives A*_S are)."
        )
    return _spectrum_of_blocks(net, _blocks(net, layers), eigenvectors)


def _blocks(net, layers):
    """The invariant blocks ``(M, idx, exists)`` of the Hessian at a mode-aligned point."""
    h = net.depth
    d = net.widths
    diag = [np.diagonal(w).copy() for w in layers]
    starts = np.concatenate([[0], np.cumsum([a * b for a, b in net.shapes])])

    def entry(i, a, b):  # flat index of W_i[a, b] (i 1-based), -1 where it does not exist
        a, b = np.asarray(a), np.asarray(b)
        ok = (a < d[i]) & (b < d[i - 1])
        return np.where(ok, starts[i - 1] + a * d[i - 1] + b, -1)

    D = max(d)
    pad = [np.concatenate([x, np.zeros(D - x.size)]) for x in diag]  # diag of W_i padded
    # prefix diagonals phi_j = diag(F_j), j = 0..h (phi_0 = 1 on the d_0 inputs); suffix beta_i = diag(B_i)
    phi = [np.where(np.arange(D) < d[0], 1.0, 0.0)]
    for i in range(h):
        phi.append(pad[i] * phi[-1])
    beta = [None] * (h + 1)
    beta[h] = np.where(np.arange(D) < d[h], 1.0, 0.0)
    for i in range(h, 0, -1):
        beta[i - 1] = beta[i] * pad[i - 1]
    sig = np.zeros(D)
    sig[: net.sigma.size] = net.sigma
    r = sig - phi[h]  # diagonal of R = Sigma - P (P diagonal)
    # G_k = W_{k+1:h}^T R: diagonal beta_k * r;  kappa_kj = diag(G_k F_{j-1}^T) = beta_k r phi_{j-1}
    # mu_jk = diag(W_{j+1:k-1}) = prod_{l=j+1}^{k-1} pad[l-1]
    pairs_a, pairs_b = np.triu_indices(D, k=1)
    blocks = []
    for kind in ("diag", "pair"):
        if kind == "diag":
            a = np.arange(D)
            b = a
            slots = [(i, 0) for i in range(1, h + 1)]  # (layer, orientation)
        else:
            a, b = pairs_a, pairs_b
            slots = [(i, o) for i in range(1, h + 1) for o in (0, 1)]
        n = len(slots)
        idx = np.stack([entry(i, a, b) if o == 0 else entry(i, b, a) for i, o in slots], axis=1)  # (nb, n)
        M = np.zeros((a.size, n, n))
        for p, (i, o) in enumerate(slots):
            ra, rb = (a, b) if o == 0 else (b, a)  # entry W_i[ra, rb]
            for q, (j, o2) in enumerate(slots):
                sa, sb = (a, b) if o2 == 0 else (b, a)
                val = np.zeros(a.size)
                same = (ra == sa) & (rb == sb)
                val += np.where(same, beta[i][ra] * beta[j][ra] * phi[i - 1][rb] * phi[j - 1][rb], 0.0)
                if i != j:
                    hi, lo = (i, j) if i > j else (j, i)
                    # entry between (hi; p, q) and (lo; q, p): -kappa_{hi,lo}[p] mu_{lo,hi}[q]
                    P_, Qm = (ra, rb) if i > j else (sa, sb)  # the (hi) entry's row/col
                    L_ra, L_rb = (sa, sb) if i > j else (ra, rb)  # the (lo) entry
                    cross = (L_ra == Qm) & (L_rb == P_)
                    mu = np.ones(a.size)
                    for l in range(lo + 1, hi):
                        mu = mu * pad[l - 1][Qm]
                    kappa = beta[hi][P_] * r[P_] * phi[lo - 1][P_]
                    val += np.where(cross, -kappa * mu, 0.0)
                M[:, p, q] = val
        exists = idx >= 0
        M *= exists[:, :, None] & exists[:, None, :]
        keep = exists.any(axis=1)
        blocks.append((M[keep], idx[keep], exists[keep]))
    return blocks


def _spectrum_of_blocks(net, blocks, eigenvectors):
    """Eigenvalues (and vectors) of the blocks, grouped by which of their entries exist."""
    values = []
    vectors = []
    for M, idx, exists in blocks:
        patterns, which = np.unique(exists, axis=0, return_inverse=True)
        for p, pattern in enumerate(patterns):
            rows = np.flatnonzero(which.ravel() == p)
            sub = M[rows][:, pattern][:, :, pattern]
            if eigenvectors:
                lam, Q = np.linalg.eigh(sub)
                vectors.append((idx[rows][:, pattern], Q))
            else:
                lam = np.linalg.eigvalsh(sub)
            values.append(lam.ravel())
    ev = np.sort(np.concatenate(values))
    if ev.size != net.n_params:
        raise LandscapeValueError(f"internal: block spectrum has {ev.size} values for {net.n_params} parameters.")
    return (ev, vectors) if eigenvectors else ev


def _lanczos_end(op, n, end, k0, band, shift, rng):
    """Every eigenvalue beyond the zero band at one end, with multiplicities (Lanczos + deflation).

    ``eigsh`` (implicitly restarted Lanczos) may return one copy of a repeated
    eigenvalue; the found eigenvectors are therefore projected out (``P H P`` with
    ``P = I - V V^T``) and the search repeated, with k doubled while every returned
    value lies beyond the band, until it finds nothing beyond the band. The cost grows
    with the number of eigenvalues outside the zero band: cheap at saddles with a few
    negative directions, expensive for counting a large positive part.
    The negative end uses the shifted operator ``P (H - shift I) P`` (largest magnitude =
    most negative of H); the positive end ``P H P`` with ``which="LA"``.
    """
    from scipy.sparse.linalg import LinearOperator, eigsh

    V = np.zeros((n, 0))
    found = []
    k_now = k0
    while True:
        kk = min(k_now, n - 1 - V.shape[1])
        if kk < 1:
            break
        c = shift if end == "negative" else 0.0

        def mv(x, V=V, c=c):
            x = np.ravel(x)
            x = x - V @ (V.T @ x)
            y = op.matvec(x) - c * x
            return y - V @ (V.T @ y)

        v0 = rng.standard_normal(n)
        v0 -= V @ (V.T @ v0)
        A = LinearOperator((n, n), matvec=mv, dtype=float)
        which = "LM" if end == "negative" else "LA"
        if not np.any(mv(v0)):  # the (deflated) operator vanishes: nothing left at this end
            break
        vals, vecs = eigsh(A, k=kk, which=which, v0=v0, tol=1e-12, ncv=min(n, max(2 * kk + 1, 30)))
        vals = vals + c
        new = vals < -band if end == "negative" else vals > band
        if not new.any():
            break
        found.extend(vals[new].tolist())
        V = np.linalg.qr(np.hstack([V, vecs[:, new]]))[0]
        if new.all():
            k_now *= 2  # the end is wider than k: ask for more at once
    return np.sort(np.array(found))


def hessian_inertia(net, W, tol=1e-8, *, method="auto", eigenvectors=False, k=6):
    """Counts of negative, zero and positive Hessian eigenvalues, and the extreme ones.

    An eigenvalue counts as zero when ``|lambda| <= tol * max(1, max |lambda|)`` (relative
    to the spectral radius, with an absolute floor of ``tol``).

    Paths: ``"dense"`` (``numpy.linalg.eigh`` of :meth:`LinearNetwork.hessian`);
    ``"structured"`` (exact block decomposition at mode-aligned points, any size, see
    :func:`structured_spectrum`); ``"lanczos"`` (matrix free: ``eigsh`` on Hessian-vector
    products: the spectral radius, then for the negative end the shifted operator
    ``H - lambda_max I`` whose largest-magnitude eigenvalues are the most negative of H,
    deflating found eigenvectors and repeating until nothing beyond the zero band is
    left, so repeated eigenvalues are counted with their multiplicity; the positive end
    likewise; zeros are the rest, reported as 0 in ``lowest``/``highest``). ``"auto"``: dense up to :data:`DENSE_LIMIT`
    parameters, else structured at aligned points, else Lanczos.

    Parameters
    ----------
    net : LinearNetwork
    W : list of ndarray or ndarray of shape (n_v, n_v)
    tol : float in (0, 1), default=1e-8
    method : {"auto", "dense", "lanczos", "structured"}
    eigenvectors : bool, default=False
        Dense path only: also return all eigenvectors (variable ``vectors``).
    k : int, default=6
        Number of extreme eigenvalues reported at each end (``lowest``, ``highest``).

    Returns
    -------
    xarray.Dataset
        Kind ``"inertia"``: ``n_negative``, ``n_zero``, ``n_positive``, ``lambda_min``,
        ``lambda_max``, ``lowest`` and ``highest`` (the k extreme eigenvalues), the
        ``eigenvalues`` when all are known; attrs ``method``, ``tol``.
    """
    import xarray as xr

    from ..critical._points import _common_attrs

    tol = check_positive_float(tol, name="tol", upper=1.0)
    k = check_int(k, name="k", minimum=1)
    if method not in METHODS:
        raise LandscapeValueError(f"method must be one of {list(METHODS)}; got {method!r}.")
    layers = net.layers(W)
    n = net.n_params
    if method == "auto":
        method = "dense" if n <= DENSE_LIMIT else ("structured" if is_mode_aligned(net, layers) else "lanczos")
    data = {}
    if method in ("dense", "structured"):
        if method == "dense":
            if eigenvectors:
                ev, vec = np.linalg.eigh(net.hessian(layers))
                data["vectors"] = (("param", "eigen"), vec)
            else:
                ev = np.linalg.eigvalsh(net.hessian(layers))
        else:
            ev = structured_spectrum(net, layers)
        band = tol * max(1.0, float(np.abs(ev).max()))
        neg, pos = int(np.sum(ev < -band)), int(np.sum(ev > band))
        lowest, highest = ev[:k], ev[::-1][:k]
        data["eigenvalues"] = (("eigen",), ev)
    elif method == "lanczos":
        from scipy.sparse.linalg import eigsh

        if n <= 2:
            raise LandscapeValueError("the Lanczos path needs more than 2 parameters; use method='dense'.")
        op = net.hessian_operator(layers)
        rng = np.random.default_rng(0)
        probe = op.matmat(rng.standard_normal((n, 2)))
        if not np.any(probe):  # H = 0 (e.g. the origin for h >= 3): all eigenvalues zero
            top, lam_max = np.zeros(1), 0.0
        else:
            top = eigsh(op, k=1, which="LM", v0=rng.standard_normal(n), return_eigenvectors=False, tol=1e-12)
            lam_max = float(eigsh(op, k=1, which="LA", v0=rng.standard_normal(n), return_eigenvectors=False, tol=1e-12)[0])
        band = tol * max(1.0, float(np.abs(top).max()))
        negs = _lanczos_end(op, n, "negative", k, band, max(lam_max, 0.0) + band, rng)
        poss = _lanczos_end(op, n, "positive", k, band, None, rng)
        neg, pos = negs.size, poss.size
        # eigenvalues inside the zero band are reported as 0
        ev_known = np.concatenate([negs, np.zeros(n - neg - pos), poss])
        lowest, highest = ev_known[:k], ev_known[::-1][:k]
    else:
        raise LandscapeValueError(f"method must be one of {list(METHODS)}; got {method!r}.")
    data.update({
        "n_negative": np.int64(neg), "n_zero": np.int64(n - neg - pos), "n_positive": np.int64(pos),
        "lambda_min": float(lowest[0]), "lambda_max": float(highest[0]),
        "lowest": (("extreme",), np.pad(lowest, (0, k - lowest.size), constant_values=np.nan)),
        "highest": (("extreme",), np.pad(highest, (0, k - highest.size), constant_values=np.nan)),
    })
    ds = xr.Dataset(data)
    ds.attrs.update(_common_attrs(net, "inertia"))
    ds.attrs.update({"method": method, "tol": tol, "zero_band": band})
    return ds
