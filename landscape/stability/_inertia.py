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


#: smallest Lanczos basis (ARPACK's ``ncv``) used; the basis for ``k`` eigenvalues is ``max(2k + 1, NCV_MIN)``
NCV_MIN = 20
#: largest number of eigenvalues asked of one ARPACK call (``k`` doubles up to it)
_K_MAX = 256
#: the exact fallback after an ARPACK failure is used up to this many stored numbers (n x m)
_EXACT_MEMORY = 25_000_000


def _ncv(k):
    """ARPACK's basis size for ``k`` eigenvalues. ARPACK needs ``k < ncv <= n`` and fails
    ("no shifts could be applied", error 3) when ``ncv`` comes close to the dimension
    searched, so dimensions below ``2 ncv`` are diagonalised exactly instead."""
    return max(2 * k + 1, NCV_MIN)


def zero_band(radius, tol):
    """Half-width of the band of eigenvalues counted as zero: ``tol * max(1, radius)``.

    ``radius`` is the spectral radius ``max |lambda|``: the band is relative to the scale of
    the spectrum, with an absolute floor of ``tol`` when the spectrum is smaller than 1.
    Every path of :func:`hessian_inertia` counts with this band.
    """
    return tol * max(1.0, float(radius))


def _orthonormal_complement(V, X):
    """An orthonormal basis of ``(I - V V^T) X`` (``V`` orthonormal), projected twice."""
    for _ in range(2):
        X = X - V @ (V.T @ X)
    Q = np.linalg.qr(X)[0]
    return Q - V @ (V.T @ Q)


def _remaining_spectrum(op, V, n, rng):
    """Eigenvalues of ``H`` on the orthogonal complement of ``V``, exactly (dense).

    The complement is spanned by ``(I - V V^T) R`` for a Gaussian ``R`` of ``m = n - rank V``
    columns; its Hessian block ``Q^T H Q`` costs ``m`` Hessian-vector products (one batched
    ``matmat``) and an ``m x m`` ``eigh``.
    """
    m = n - V.shape[1]
    if m <= 0:
        return np.zeros(0)
    Q = _orthonormal_complement(V, rng.standard_normal((n, m)))
    T = Q.T @ op.matmat(Q)
    return np.linalg.eigvalsh(0.5 * (T + T.T))


def _lanczos_end(op, n, sign, k0, band, radius, rng, arpack_tol):
    """Every eigenvalue of ``sign * H`` above ``band``, with multiplicities (Lanczos + deflation).

    Each round runs ``eigsh`` (ARPACK, implicitly restarted Lanczos, seeded ``v0``) for the
    ``kk`` largest eigenvalues of the deflated, shifted operator
    ``B = P (sign H + 2 rho I) P`` with ``P = I - V V^T``, ``V`` the orthonormal eigenvectors
    found so far and ``rho`` the spectral radius. On the complement of ``V`` the spectrum of
    ``B`` lies in ``[rho, 3 rho]`` and the deflated directions sit at 0, below it: so
    ARPACK's convergence test (relative to each Ritz value) is never asked to resolve
    eigenvalues near 0, where it cannot converge, and the found directions can never come
    back. Lanczos may return one copy of a repeated eigenvalue, so rounds repeat (``kk``
    doubling while every returned value lies beyond the band) until a converged round finds
    nothing beyond the band. Once the complement has fewer than ``2 ncv`` dimensions
    (``ncv = max(2 kk + 1, NCV_MIN)``, see :func:`_ncv`), it is diagonalised exactly instead
    (:func:`_remaining_spectrum`): no eigenvalue is left unexamined. If ARPACK fails to
    converge and finds nothing new, the complement is diagonalised exactly when it fits
    (``n * m <= 2.5e7``), else :class:`~landscape.errors.LandscapeError` is raised.
    """
    from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, LinearOperator, eigsh

    V = np.zeros((n, 0))
    found = []
    kk = k0
    shift = 2.0 * radius
    while True:
        m = n - V.shape[1]
        if m < 2 * _ncv(kk):
            lam = sign * _remaining_spectrum(op, V, n, rng)
            found.extend(lam[lam > band].tolist())
            break

        def mv(x, V=V):
            x = np.ravel(x)
            x = x - V @ (V.T @ x)
            y = sign * op.matvec(x) + shift * x
            return y - V @ (V.T @ y)

        B = LinearOperator((n, n), matvec=mv, dtype=float)
        for ncv in (_ncv(kk), 2 * _ncv(kk)):  # on an ARPACK error, once more with a larger basis
            v0 = rng.standard_normal(n)
            v0 -= V @ (V.T @ v0)
            try:
                vals, vecs = eigsh(B, k=kk, which="LA", v0=v0, ncv=min(m, ncv), tol=arpack_tol)
                converged = True
                break
            except ArpackNoConvergence as err:  # keep the pairs that did converge
                vals, vecs, converged = err.eigenvalues, err.eigenvectors, False
                break
            except ArpackError:  # e.g. error 3, "no shifts could be applied"
                vals, vecs, converged = np.zeros(0), np.zeros((n, 0)), False
        lam = vals - shift  # eigenvalues of sign * H
        new = lam > band
        if new.any():
            found.extend(lam[new].tolist())
            V = np.hstack([V, _orthonormal_complement(V, vecs[:, new])])
            if converged and new.all():
                kk = min(2 * kk, _K_MAX)  # the end is wider than kk: ask for more at once
            continue
        if converged:
            break
        if n * m > _EXACT_MEMORY:
            from ..errors import LandscapeError

            raise LandscapeError(
                f"Lanczos (ARPACK) did not converge on the {m} directions left after deflating {V.shape[1]}, and they "
                f"are too many to diagonalise densely; eigenvalues are probably clustered within the zero band "
                f"(|lambda| <= {band:.3g}): try a larger tol or method='dense'."
            )
        lam = sign * _remaining_spectrum(op, V, n, rng)
        found.extend(lam[lam > band].tolist())
        break
    return np.sort(sign * np.array(found, dtype=float))


def _arpack_tol(tol):
    """ARPACK's relative tolerance: residuals far inside the zero band, and at most 1e-12."""
    return max(np.finfo(float).eps, min(1e-12, 0.01 * tol))


def _spectral_radius(op, n, rng, arpack_tol):
    """``max |lambda|`` of the Hessian: 0 if it vanishes on a random probe, else ``eigsh`` (``"LM"``),
    retried once with a larger basis and budget, then diagonalised exactly if it fits."""
    from scipy.sparse.linalg import ArpackError, eigsh

    if not np.any(op.matmat(rng.standard_normal((n, 2)))):
        return 0.0
    for ncv, maxiter in ((NCV_MIN, None), (3 * NCV_MIN, 100 * n)):
        try:
            top = eigsh(op, k=1, which="LM", v0=rng.standard_normal(n), ncv=min(n, ncv), tol=arpack_tol,
                        maxiter=maxiter, return_eigenvectors=False)
            return float(np.abs(top).max())
        except ArpackError:
            pass
    if n * n > _EXACT_MEMORY:
        from ..errors import LandscapeError

        raise LandscapeError("Lanczos (ARPACK) did not converge on the spectral radius; try method='dense'.")
    return float(np.abs(_remaining_spectrum(op, np.zeros((n, 0)), n, rng)).max())


def hessian_inertia(net, W, tol=1e-8, *, method="auto", eigenvectors=False, k=6):
    """Counts of negative, zero and positive Hessian eigenvalues, and the extreme ones.

    Zero band: an eigenvalue counts as zero when ``|lambda| <= band`` with
    ``band = tol * max(1, rho)``, ``rho = max |lambda|`` the spectral radius (relative to
    the scale of the spectrum, with an absolute floor of ``tol``; :func:`zero_band`). Every
    path uses this band and counts multiplicities; ``band`` is stored as attr ``zero_band``.

    Paths: ``"dense"`` (``numpy.linalg.eigh`` of :meth:`LinearNetwork.hessian`);
    ``"structured"`` (exact block decomposition at mode-aligned points, any size, see
    :func:`structured_spectrum`); ``"lanczos"`` (matrix free, on Hessian-vector products:
    ``rho`` from ``eigsh``, then each end from the deflated, shifted operator
    ``P (+-H + 2 rho I) P``, repeating with the found eigenvectors projected out until
    nothing beyond the band is left, so repeated eigenvalues are counted with their
    multiplicity; the last fewer than ``2 max(2k + 1, NCV_MIN)`` directions, and networks with
    fewer parameters than that, are diagonalised exactly from Hessian-vector products;
    see :func:`_lanczos_end`. Start vectors are seeded, so results are reproducible. Zeros
    are the rest, reported as 0 in ``lowest``/``highest``). ``"auto"``: dense up to
    :data:`DENSE_LIMIT` parameters, else structured at aligned points, else Lanczos.

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
    from ..io._schema import annotate

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
        band = zero_band(np.abs(ev).max(), tol)
        neg, pos = int(np.sum(ev < -band)), int(np.sum(ev > band))
        lowest, highest = ev[:k], ev[::-1][:k]
        data["eigenvalues"] = (("eigen",), ev)
    elif method == "lanczos":
        op = net.hessian_operator(layers)
        rng = np.random.default_rng(0)  # seeds every start vector and basis: the result is reproducible
        if n < 2 * _ncv(k):  # too small for ARPACK (see _ncv): the whole spectrum, exactly
            ev = _remaining_spectrum(op, np.zeros((n, 0)), n, rng)
            band = zero_band(np.abs(ev).max(), tol)
            negs, poss = ev[ev < -band], ev[ev > band]
        else:
            radius = _spectral_radius(op, n, rng, _arpack_tol(tol))
            band = zero_band(radius, tol)
            if radius == 0.0:  # H = 0 (e.g. the origin for h >= 3): all eigenvalues zero
                negs = poss = np.zeros(0)
            else:
                negs = _lanczos_end(op, n, -1.0, k, band, radius, rng, _arpack_tol(tol))
                poss = _lanczos_end(op, n, 1.0, k, band, radius, rng, _arpack_tol(tol))
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
    return annotate(ds)
