"""Hessian inertia at any size: dense, matrix-free Lanczos, and block structure at aligned points."""

from __future__ import annotations

import numpy as np

from .._validation import check_int, check_positive_float
from ..errors import LandscapeError, LandscapeValueError
from ..losses import require_quadratic
from ._align import thread_labels

__all__ = ["hessian_inertia", "congruent_counts", "gauge_stretch", "structured_spectrum", "structured_eigenpairs", "is_mode_aligned", "zero_band", "DENSE_LIMIT",
           "EXACT_END_LIMIT"]

#: parameter count up to which the dense path (``numpy.linalg.eigh``) is the default at generic points:
#: the measured crossover with the matrix-free path (benchmarks/bench_stability.py, case 5: dense
#: eigvalsh 0.56 s vs 0.67 s at 2,500 parameters, 1.99 s vs 1.04 s at 3,600, on 2 shared cores)
DENSE_LIMIT = 3000
METHODS = ("auto", "dense", "structured", "krylov", "density", "lanczos")
#: an end of the spectrum is counted exactly by block Krylov when it holds at most this many eigenvalues
EXACT_END_LIMIT = 128
#: stored vectors (numbers, ``n_params`` each) the Krylov counts may lock and keep: bounds the exact end by memory
KRYLOV_MEMORY_VECTORS = 2**28
#: the Krylov basis of a count holds about this many times ``k`` vectors, and three times the end's size
BASIS_FOR_COUNT = 4
#: nodes within this fraction of the spectral radius from 0 do not count against an exact Krylov count of an end
DECISION_RESOLUTION = 1e-2
#: budget (Hessian-vector products) for the ``k`` extreme pairs reported beside a density estimate
EXTREMES_BUDGET = 3000
#: Lanczos steps and Rademacher probes of the density estimate used by ``method="auto"``/``"density"``
SLQ_STEPS, SLQ_PROBES = 80, 10


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
    """True if every ``W_i`` has at most one nonzero per row and column, on consistent threads.

    See :func:`~landscape.stability._align.thread_labels`: following the nonzero entries
    (and joining input ``k`` to output ``k`` where ``sigma_k > 0``) never visits two units of
    one layer. Every representative ``A*_S`` is mode aligned, whatever the widths; a point
    that is rectangular diagonal up to a permutation of hidden units (:func:`aligned_form`)
    is too.
    """
    return thread_labels(net, net.layers(W)) is not None


def structured_spectrum(net, W, eigenvectors=False):
    """All Hessian eigenvalues at a mode-aligned point from its small invariant blocks.

    Label the threads of the point (:func:`~landscape.stability._align.thread_labels`):
    every nonzero entry joins two units of one label, and input ``k`` and output ``k`` share
    one where ``sigma_k > 0``. Then the prefix and suffix products ``F_j``, ``B_i``, the
    residual ``R = Sigma - P`` and every partial product are diagonal in the labels, and the
    Hessian leaves invariant the span of the entries ``W_i[u, v]`` whose labels are
    ``{a, b}`` (all layers) for each unordered pair: the Gauss-Newton part ``J^T J`` couples
    ``(i, a, b)`` only with ``(j, a, b)`` (entries ``beta_i[a] beta_j[a] phi_{i-1}[b] phi_{j-1}[b]``
    with ``beta``, ``phi`` the label-diagonals of the suffix and prefix products), the residual
    part couples ``(k, p, q)`` only with ``(j, q, p)`` (entry ``-kappa_kj[p] mu_jk[q]``). So the
    spectrum is the union of those of blocks of size at most ``2h`` (spec 3.5's table is
    their closed form for equal widths), computed by batched ``eigh``: memory and time
    linear in the number of parameters. With labels instead of unit indices this covers
    every representative ``A*_S``, including learnt modes whose index exceeds a hidden width
    (widths (5, 4, 5), S = {5}: mode 5 runs through hidden unit 1).

    Returns
    -------
    eigenvalues : ndarray of shape (n_params,)
        Sorted ascending.
    vectors : list of (ndarray, ndarray), optional
        If ``eigenvectors``: per group of equally shaped blocks, the parameter indices
        ``(n_blocks, size)`` (flat positions in ``W``) and the block eigenvectors
        ``(n_blocks, size, size)``.
    """
    require_quadratic(net, "structured_spectrum", "the invariant blocks of a mode-aligned point are derived for 1/2||Sigma - P||^2")
    layers = net.layers(W)
    units = thread_labels(net, layers)
    if units is None:
        raise LandscapeValueError(
            "structured_spectrum needs a mode-aligned point: every W_i with at most one nonzero per row and column, "
            "on threads that never visit two units of a layer (as the representatives A*_S are); for a point on the "
            "gauge orbit of one, use hessian_inertia(method='structured'), which recovers the aligned form."
        )
    return _spectrum_of_blocks(net, _blocks(net, layers, units), eigenvectors)


def _blocks(net, layers, units):
    """The invariant blocks ``(M, idx, exists)`` of the Hessian at a mode-aligned point.

    ``units[l, a]`` is the unit of node layer ``l`` with label ``a`` (``-1``: none), from
    :func:`~landscape.stability._align.thread_labels`.
    """
    h = net.depth
    d = net.widths
    D = units.shape[1]
    starts = np.concatenate([[0], np.cumsum([a * b for a, b in net.shapes])])
    has = units >= 0
    safe = np.where(has, units, 0)

    def entry(i, a, b):  # flat index of the entry of W_i (1-based) with labels (a, b); -1 where it does not exist
        a, b = np.asarray(a), np.asarray(b)
        ok = has[i][a] & has[i - 1][b]
        return np.where(ok, starts[i - 1] + safe[i][a] * d[i - 1] + safe[i - 1][b], -1)

    # label-diagonal of W_i: W_i[unit_i(a), unit_{i-1}(a)], 0 where either unit is absent
    pad = [np.where(has[i] & has[i - 1], layers[i - 1][safe[i], safe[i - 1]], 0.0) for i in range(1, h + 1)]
    # prefix diagonals phi_j = diag(F_j), j = 0..h (phi_0 = 1 on the inputs); suffix beta_i = diag(B_i)
    phi = [has[0].astype(float)]
    for i in range(h):
        phi.append(pad[i] * phi[-1])
    beta = [None] * (h + 1)
    beta[h] = has[h].astype(float)
    for i in range(h, 0, -1):
        beta[i - 1] = beta[i] * pad[i - 1]
    Sigma = net.Sigma
    sig = np.where(has[h] & has[0], Sigma[safe[h], safe[0]], 0.0)
    r = sig - phi[h]  # label-diagonal of R = Sigma - P
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


def _block_eigenpairs(net, blocks):
    """Eigenvalues of every block with a way to build the eigenvectors.

    Returns
    -------
    values : ndarray of shape (n_params,)
        Unsorted, in the order of ``where``.
    vector : callable
        ``vector(t)``: the eigenvector (ndarray of shape (n_params,)) of ``values[t]``.
    """
    groups = []
    for M, idx, exists in blocks:
        patterns, which = np.unique(exists, axis=0, return_inverse=True)
        for p, pattern in enumerate(patterns):
            rows = np.flatnonzero(which.ravel() == p)
            lam, Q = np.linalg.eigh(M[rows][:, pattern][:, :, pattern])
            groups.append((lam, idx[rows][:, pattern], Q))
    values = np.concatenate([g[0].ravel() for g in groups])
    if values.size != net.n_params:
        raise LandscapeValueError(f"internal: block spectrum has {values.size} values for {net.n_params} parameters.")
    ends = np.cumsum([0] + [g[0].size for g in groups])

    def vector(t):
        g = int(np.searchsorted(ends, t, side="right") - 1)
        lam, idx, Q = groups[g]
        row, col = divmod(int(t - ends[g]), lam.shape[1])
        v = np.zeros(net.n_params)
        v[idx[row]] = Q[row][:, col]
        return v

    return values, vector


def structured_eigenpairs(net, W, k, which="both"):
    """The ``k`` extreme Hessian eigenpairs at a mode-aligned point, or at a point on the orbit of
    one under orthogonal hidden gauges, from the invariant blocks (exact to rounding).

    Returns
    -------
    (values, vectors, ends) or None
        ``values`` ascending for ``"lowest"`` entries then descending for ``"highest"``,
        ``vectors`` of shape (n_params, m) at ``W`` (mapped back through the gauge), ``ends``
        the label of each; ``None`` when ``W`` is not orthogonally alignable.
    """
    from ._align import align, gauge_directions

    require_quadratic(net, "structured_eigenpairs", "the invariant blocks of a mode-aligned point are derived for 1/2||Sigma - P||^2")
    layers = net.layers(W)
    found = align(net, layers, orthogonal_only=True)
    if found is None:
        return None
    values, vector = _block_eigenpairs(net, _blocks(net, found.layers, found.units))
    order = np.argsort(values, kind="stable")
    picks, ends = [], []
    if which in ("smallest", "both"):
        picks += order[:k].tolist()
        ends += ["lowest"] * min(k, order.size)
    if which in ("largest", "both"):
        picks += order[::-1][:k].tolist()
        ends += ["highest"] * min(k, order.size)
    V = np.column_stack([vector(t) for t in picks]) if picks else np.zeros((net.n_params, 0))
    if any(not np.allclose(G, np.eye(G.shape[0])) for G in found.gauges):
        V = gauge_directions(net, found.gauges, V)
    return values[picks], V, ends


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


#: eigenvalues of the aligned form's blocks with ``|lambda| <= ROUNDING * eps * rho`` are its exact zeros
#: (the blocks are diagonalised to rounding); congruence maps exact zeros to exact zeros
ROUNDING = 1e3


def gauge_stretch(gauges):
    """``(s_min, s_max)``, the extreme singular values of the parameter map ``J: M -> W``
    of ``W_i = G_i M_i G_{i-1}^{-1}`` (``G_0 = G_h = I``).

    On layer ``i`` the map is ``M_i -> G_i M_i G_{i-1}^{-1}``, a Kronecker product whose
    singular values are the products ``s(G_i) / s(G_{i-1})``; ``J`` is block diagonal over
    the layers.
    """
    ends = [(1.0, 1.0)]
    for G in gauges:
        s = np.linalg.svd(G, compute_uv=False)
        ends.append((float(s[-1]), float(s[0])))
    ends.append((1.0, 1.0))
    s_min = min(lo / ends[i - 1][1] for i, (lo, _) in enumerate(ends) if i > 0)
    s_max = max(hi / ends[i - 1][0] for i, (_, hi) in enumerate(ends) if i > 0)
    return s_min, s_max


def congruent_counts(ev, gauges, tol):
    """Banded inertia at ``W`` from the eigenvalues of ``H(M)`` at the aligned form ``M``.

    ``H(W) = J^{-T} H(M) J^{-1}`` (the loss is gauge invariant). Sylvester's law keeps the
    exact inertia; Ostrowski's theorem bounds the magnitudes: the ``k``-th eigenvalue of
    ``H(W)`` is ``theta_k lambda_k(H(M))`` with ``theta_k`` in ``[1 / s_max^2, 1 / s_min^2]``
    (:func:`gauge_stretch`). So the spectral radius at ``W``, hence the zero band
    ``tol * max(1, rho_W)``, lies in a known interval, and each eigenvalue of ``H(M)`` is
    placed below, inside or above the band at ``W`` with certainty, or not at all (an
    ill-conditioned gauge can leave an eigenvalue's side of the band undecided).

    Returns
    -------
    n_negative, n_positive : int
        Counts; undecided eigenvalues are placed with the band and eigenvalue scale at the
        geometric middle of their intervals.
    n_undecided : int
        ``0``: the counts are exact (the same as the band at ``W`` gives).
    band : float
        The band at the estimated ``rho_W``.
    """
    ev = np.asarray(ev, float)
    s_min, s_max = gauge_stretch(gauges)
    a, b = 1.0 / s_max ** 2, 1.0 / s_min ** 2
    rho = float(np.abs(ev).max()) if ev.size else 0.0
    zero = np.abs(ev) <= ROUNDING * np.finfo(float).eps * rho
    band_lo, band_hi = zero_band(rho * a, tol), zero_band(rho * b, tol)
    mag = np.abs(ev)
    nonzero = ~zero & (mag * a > band_hi)
    inside = zero | (mag * b <= band_lo)
    undecided = ~nonzero & ~inside
    mid = np.sqrt(a * b)
    band = zero_band(rho * mid, tol)
    guess = undecided & (mag * mid > band)
    neg = int(np.sum((nonzero | guess) & (ev < 0)))
    pos = int(np.sum((nonzero | guess) & (ev > 0)))
    return neg, pos, int(undecided.sum()), band


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


def _legacy_operator(op):
    """The block operator as a scipy ``LinearOperator`` (for ARPACK), keeping its budget."""
    from scipy.sparse.linalg import LinearOperator

    n = op.n
    return LinearOperator((n, n), matvec=lambda x: op.matmat(np.reshape(x, (n, 1)))[:, 0],
                          matmat=op.matmat, rmatvec=lambda x: op.matmat(np.reshape(x, (n, 1)))[:, 0], dtype=np.float64)


def _pad(values, k):
    values = np.asarray(values, dtype=float)[:k]
    return np.pad(values, (0, k - values.size), constant_values=np.nan)


def hessian_inertia(net, W, tol=1e-8, *, method="auto", eigenvectors=False, k=6, max_matvecs=None, max_time=None,
                    rng=0):
    """Counts of negative, zero and positive Hessian eigenvalues, and the extreme ones, at any point and size.

    Zero band: an eigenvalue counts as zero when ``|lambda| <= band`` with
    ``band = tol * max(1, rho)``, ``rho = max |lambda|`` the spectral radius (relative to
    the scale of the spectrum, with an absolute floor of ``tol``; :func:`zero_band`). Every
    path uses this band and counts multiplicities; ``band`` is stored as attr ``zero_band``.

    Paths (``method``), and what each makes exact:

    ``"structured"``
        The point is mode aligned (every representative ``A*_S`` is), or lies on the gauge
        orbit of an aligned point: :func:`~landscape.stability._align.align` recovers the
        aligned form ``M`` and the gauge (``W_i = G_i M_i G_{i-1}^{-1}``). The loss is gauge
        invariant, so ``H(W) = J^{-T} H(M) J^{-1}`` at every point. Orthogonal gauges: the
        spectrum of the invariant blocks is the spectrum (``exact_eigenvalues``). Invertible
        gauges: the Hessians are congruent and Sylvester's law keeps the counts
        (``exact_counts``; ``lowest``/``highest`` are then NaN, the block eigenvalues being
        those of ``H(M)``). The band is the one at ``W``: Ostrowski's theorem bounds how far
        the gauge can stretch each eigenvalue (:func:`congruent_counts`); where a gauge is
        so ill-conditioned that an eigenvalue's side of the band is not decided, ``"auto"``
        counts at ``W`` (dense or matrix free) and ``"structured"`` returns the counts
        flagged ``exact = 0`` with ``n_undecided``. Memory and time linear in
        ``n_params`` (990,000 parameters in a few seconds).
    ``"dense"``
        ``numpy.linalg.eigh`` of :meth:`LinearNetwork.hessian`: exact, ``O(n^3)``.
    ``"krylov"``
        Matrix free: block Krylov with deflation (:func:`~landscape.stability._eigen.block_krylov`
        on block Hessian-vector products) locks every eigenvalue below ``-band`` and above
        ``band`` (each certified by a converged Ritz value past the threshold, then
        confirmed by fresh rounds from new random blocks), residuals ``<= 0.1 tol rho``.
        Exact counts with probability one (a random start block meets every eigenvector),
        feasible when both ends are small; an end with more than ``EXACT_END_LIMIT``
        eigenvalues raises.
    ``"density"``
        Stochastic Lanczos quadrature (:func:`~landscape.stability.spectral_density`):
        estimated counts with ``n_*_std`` (standard error over probes) and
        ``n_*_quadrature_error`` (Chebyshev-Markov-Stieltjes bracket), ``exact = 0``; the
        ``k`` extreme pairs by block Krylov within the remaining budget.
    ``"lanczos"``
        The former ARPACK path (implicitly restarted Lanczos, one end and one deflation
        round at a time); kept for comparison, now under the same budget.
    ``"auto"``
        ``dense`` if ``eigenvectors`` (up to :data:`DENSE_LIMIT`); else ``structured`` when
        the point is aligned or alignable; else ``dense`` up to :data:`DENSE_LIMIT`
        parameters (the measured crossover); else a density estimate first, then for
        each end whose estimate (plus its uncertainty) holds at most
        :data:`EXACT_END_LIMIT` eigenvalues the exact Krylov count, and the estimate for
        the others (``exact = 0`` unless both ends were counted).

    Every matrix-free path (krylov, density, lanczos, and auto beyond the dense size) runs
    under a budget (``max_matvecs`` Hessian-vector products, default 20,000, and
    ``max_time`` seconds): :class:`~landscape.stability.BudgetExceededError` when an exact
    path cannot finish within it; ``"auto"`` then falls back to the density estimate if
    that was computed. The dense path (at most :data:`DENSE_LIMIT` parameters, one
    ``O(n^3)`` call) and the structured path (linear in ``n``) are bounded computations
    that the budget does not interrupt.

    Parameters
    ----------
    net : LinearNetwork
    W : list of ndarray or ndarray of shape (n_v, n_v)
    tol : float in (0, 1), default=1e-8
    method : {"auto", "dense", "structured", "krylov", "density", "lanczos"}, default="auto"
    eigenvectors : bool, default=False
        Dense path only: also return all eigenvectors (variable ``vectors``).
    k : int, default=6
        Number of extreme eigenvalues reported at each end (``lowest``, ``highest``).
    max_matvecs : int, optional
    max_time : float, optional
    rng : None, int or numpy.random.Generator, default=0
        Seeds every random start block and probe: results are reproducible.

    Returns
    -------
    xarray.Dataset
        Kind ``"inertia"``: ``n_negative``, ``n_zero``, ``n_positive``, ``lambda_min``,
        ``lambda_max``, ``lowest`` and ``highest`` (the k extreme eigenvalues), the
        ``eigenvalues`` when all are known, ``lowest_residual``/``highest_residual``
        (``||H v - lambda v||``, matrix-free paths), and on the density path
        ``n_*_std``/``n_*_quadrature_error``; attrs ``method``, ``path``, ``tol``,
        ``zero_band``, ``exact`` (= ``exact_counts``), ``exact_counts``,
        ``exact_eigenvalues``, ``alignment`` (``"aligned"``, ``"orthogonal"``,
        ``"general"`` or ``"none"``), ``alignment_residual``, ``n_matvecs``, ``elapsed``.

    Examples
    --------
    >>> import landscape as ls
    >>> net = ls.LinearNetwork([5, 4, 5], [3.0, 2.5, 2.0, 1.5, 1.0])
    >>> ds = ls.hessian_inertia(net, ls.representative(net, (5,)))
    >>> ds.attrs["method"], int(ds.n_negative), int(ds.attrs["exact_eigenvalues"])
    ('structured', 16, 1)
    """
    import time
    import warnings

    import xarray as xr

    from ..critical._points import _common_attrs
    from ..io._schema import annotate
    from ._align import align
    from ._density import count_bracket, slq_nodes
    from ._eigen import MAX_MATVECS, BudgetExceededError, HessianBlockOperator, _budget_args, block_krylov

    tol = check_positive_float(tol, name="tol", upper=1.0, lower=float(np.finfo(float).eps))
    k = check_int(k, name="k", minimum=1)
    if method not in METHODS:
        raise LandscapeValueError(f"method must be one of {list(METHODS)}; got {method!r}.")
    max_matvecs, max_time = _budget_args(max_matvecs, max_time)
    from .._validation import check_rng

    rng = check_rng(rng)
    started = time.perf_counter()
    layers = net.layers(W)
    n = net.n_params
    requested = method
    found = None
    attrs_note = None
    if method == "structured":
        require_quadratic(net, "hessian_inertia(method='structured')",
                          "the invariant blocks of a mode-aligned point are derived for 1/2||Sigma - P||^2")
    if method == "auto":
        if eigenvectors and n <= DENSE_LIMIT:
            method = "dense"
        elif net.loss_name != "squared":  # the structured path is quadratic-only: dense, else matrix free
            method = "dense" if n <= DENSE_LIMIT else "auto"
        else:
            found = align(net, layers)
            if found is not None and not found.orthogonal:
                # an invertible gauge: exact counts only where the gauge's stretch decides every eigenvalue's side
                # of the band at W (congruent_counts); otherwise a path that works at W itself
                ev_aligned = _spectrum_of_blocks(net, _blocks(net, found.layers, found.units), False)
                if congruent_counts(ev_aligned, found.gauges, tol)[2]:
                    found = None
                    attrs_note = "an invertible gauge too ill-conditioned to decide the band: counted at W"
            method = "structured" if found is not None else ("dense" if n <= DENSE_LIMIT else "auto")
    if eigenvectors and method != "dense":
        warnings.warn(f"eigenvectors=True has no effect on the {method if method != 'auto' else 'matrix-free'} path: "
                      f"only method='dense' returns all eigenvectors (use extreme_eigenpairs for the extreme ones).",
                      UserWarning, stacklevel=2)
    op = None if method in ("dense", "structured") else HessianBlockOperator(net, layers, max_matvecs=max_matvecs,
                                                                              max_time=max_time)
    data = {}
    attrs = {"alignment": "none", "alignment_residual": np.nan}
    if attrs_note:
        attrs["note"] = attrs_note
    exact_neg = exact_pos = True
    exact_eigenvalues = False
    path = method
    if method in ("dense", "structured"):
        if method == "dense":
            if eigenvectors:
                ev, vec = np.linalg.eigh(net.hessian(layers))
                data["vectors"] = (("param", "eigen"), vec)
            else:
                ev = np.linalg.eigvalsh(net.hessian(layers))
            exact_eigenvalues = True
        else:
            if found is None:
                found = align(net, layers)
            if found is None:
                raise LandscapeValueError(
                    "method='structured' needs a mode-aligned point or one on the gauge orbit of an aligned point (as "
                    "the representatives A*_S and their orbits under hidden gauges are); this W is neither. Use "
                    "method='auto'."
                )
            ev = _spectrum_of_blocks(net, _blocks(net, found.layers, found.units), False)
            trivial = found.residual == 0.0 and all(np.array_equal(G, np.eye(G.shape[0])) for G in found.gauges)
            attrs["alignment"] = "aligned" if trivial else ("orthogonal" if found.orthogonal else "general")
            attrs["alignment_residual"] = float(found.residual)
            exact_eigenvalues = found.orthogonal
            path = "structured" if trivial else f"structured, aligned by {'an orthogonal' if found.orthogonal else 'an invertible'} gauge"
        if method == "structured" and not exact_eigenvalues and attrs["alignment"] == "general":
            neg, pos, undecided, band = congruent_counts(ev, found.gauges, tol)
            if undecided:  # only reachable with method='structured' (auto counts at W instead)
                exact_neg = exact_pos = False
                attrs["n_undecided"] = np.int64(undecided)
                path += f" ({undecided} eigenvalues too close to the band for the gauge's conditioning: estimated)"
        else:
            band = zero_band(np.abs(ev).max(), tol)
            neg, pos = int(np.sum(ev < -band)), int(np.sum(ev > band))
        if exact_eigenvalues:
            lowest, highest = ev[:k], ev[::-1][:k]
            data["eigenvalues"] = (("eigen",), ev)
        else:
            lowest = highest = np.full(k, np.nan)
    elif method == "lanczos":
        A = _legacy_operator(op)
        if n < 2 * _ncv(k):  # too small for ARPACK (see _ncv): the whole spectrum, exactly
            ev = _remaining_spectrum(A, np.zeros((n, 0)), n, rng)
            band = zero_band(np.abs(ev).max(), tol)
            negs, poss = ev[ev < -band], ev[ev > band]
        else:
            radius = _spectral_radius(A, n, rng, _arpack_tol(tol))
            band = zero_band(radius, tol)
            if radius == 0.0:  # H = 0 (e.g. the origin for h >= 3): all eigenvalues zero
                negs = poss = np.zeros(0)
            else:
                negs = _lanczos_end(A, n, -1.0, k, band, radius, rng, _arpack_tol(tol))
                poss = _lanczos_end(A, n, 1.0, k, band, radius, rng, _arpack_tol(tol))
        neg, pos = negs.size, poss.size
        # eigenvalues inside the zero band are reported as 0
        ev_known = np.concatenate([negs, np.zeros(n - neg - pos), poss])
        lowest, highest = ev_known[:k], ev_known[::-1][:k]
    else:  # krylov, density, or auto beyond the dense size at a generic point
        ktol = 0.1 * tol
        estimate = None
        if method in ("density", "auto"):
            steps = min(SLQ_STEPS, n)
            nodes, weights, _, closed = slq_nodes(op, steps, SLQ_PROBES, rng)
            rho = float(np.nanmax(np.abs(nodes)))
            band = zero_band(rho, tol)
            below = count_bracket(nodes, weights, -band, closed)
            above = count_bracket(-nodes, weights, -band, closed)
            # the decision to count an end exactly uses the Gauss weight clearly beyond the band: nodes within
            # the quadrature's resolution of 0 (a null space, a cluster at 0) are left to the Krylov count to place
            delta = max(band, DECISION_RESOLUTION * rho)
            gauss = {"negative": n * count_bracket(nodes, weights, -delta, closed)[2].mean(),
                     "positive": n * count_bracket(-nodes, weights, -delta, closed)[2].mean()}
            estimate = {}
            for key, (mid, half) in (("negative", below[:2]), ("positive", above[:2]),
                                      ("zero", (1.0 - below[0] - above[0], below[1] + above[1]))):
                std = float(n * mid.std(ddof=1) / np.sqrt(mid.size)) if mid.size > 1 else float("nan")
                estimate[key] = (float(n * mid.mean()), std, float(n * half.mean()))
        else:
            pre = block_krylov(op, n_low=1, n_high=1, tol=1e-6, rng=rng)
            rho = max([abs(p[0]) for p in pre.low + pre.high], default=0.0)
            if pre.status == "budget":
                raise BudgetExceededError(pre.message)
            band = zero_band(rho, tol)
        cap = min(EXACT_END_LIMIT, max(1, KRYLOV_MEMORY_VECTORS // max(n, 1) // 4))
        counts = {}
        extremes = {}
        for end, sign in (("negative", -1.0), ("positive", 1.0)):
            expected = cap
            if method == "density":  # an estimate was asked for
                expected = np.inf
            elif estimate is not None:  # optimistic (the plain Gauss estimate): the Krylov count certifies or gives up
                std = estimate[end][1]
                expected = gauss[end] + 3 * (std if np.isfinite(std) else 0.0)
            if expected <= cap:
                kw = {"n_low": k, "below": -band} if sign < 0 else {"n_high": k, "above": band}
                res = block_krylov(op, tol=ktol, rng=rng, verify=True, max_locked=cap,
                                   basis_size=int(max(BASIS_FOR_COUNT * k, 3 * expected + 32)), **kw)
                pairs = res.low if sign < 0 else res.high
                if res.status == "converged":
                    counts[end] = int(sum(1 for t, _, _, c in pairs if c and sign * t > band))
                    extremes[end] = pairs
                    continue
                if estimate is None:
                    if res.status == "budget":
                        raise BudgetExceededError(res.message)
                    raise LandscapeError(
                        f"method='krylov' counts an end exactly only when it holds at most {cap} eigenvalues; the "
                        f"{end} end holds more. Use method='density' (an estimate) or method='dense'."
                    )
                attrs["message"] = res.message
            elif estimate is None:
                raise LandscapeError(f"internal: no estimate for the {end} end.")
            # the estimate stands for this end; its k extreme pairs within a share of the remaining budget
            if sign < 0:
                exact_neg = False
            else:
                exact_pos = False
            saved = op.max_matvecs
            op.max_matvecs = op.n_matvecs + max(0, min(op.remaining(), EXTREMES_BUDGET))
            try:
                res = block_krylov(op, tol=tol, rng=rng, **({"n_low": k} if sign < 0 else {"n_high": k}))
                extremes[end] = res.low if sign < 0 else res.high
            finally:
                op.max_matvecs = saved
        if estimate is not None:
            for key, (mid, std, half) in estimate.items():
                if (key == "negative" and exact_neg) or (key == "positive" and exact_pos):
                    continue
                if key == "zero" and exact_neg and exact_pos:
                    continue
                data[f"n_{key}_std"] = std
                data[f"n_{key}_quadrature_error"] = half
        neg = counts["negative"] if exact_neg else int(round(estimate["negative"][0]))
        pos = counts["positive"] if exact_pos else int(round(estimate["positive"][0]))
        neg, pos = max(neg, 0), max(pos, 0)
        if neg + pos > n:
            pos = n - neg
        low = extremes.get("negative", [])
        high = extremes.get("positive", [])
        lowest = np.array([p[0] for p in low[:k]], dtype=float)
        highest = np.array([p[0] for p in high[:k]], dtype=float)
        data["lowest_residual"] = (("extreme",), _pad([p[2] for p in low[:k]], k))
        data["highest_residual"] = (("extreme",), _pad([p[2] for p in high[:k]], k))
        method = "krylov" if exact_neg and exact_pos else "density"
        path = {(True, True): "krylov (both ends counted)", (True, False): "krylov negative end, density elsewhere",
                (False, True): "krylov positive end, density elsewhere", (False, False): "density"}[(exact_neg, exact_pos)]
    exact_counts = bool(exact_neg and exact_pos)
    data.update({
        "n_negative": np.int64(neg), "n_zero": np.int64(n - neg - pos), "n_positive": np.int64(pos),
        "lambda_min": float(lowest[0]) if lowest.size else np.nan,
        "lambda_max": float(highest[0]) if highest.size else np.nan,
        "lowest": (("extreme",), _pad(lowest, k)),
        "highest": (("extreme",), _pad(highest, k)),
    })
    ds = xr.Dataset(data)
    ds.attrs.update(_common_attrs(net, "inertia"))
    ds.attrs.update({"method": method, "requested_method": requested, "path": path, "tol": tol, "zero_band": band,
                     "exact": np.int8(exact_counts), "exact_counts": np.int8(exact_counts),
                     "exact_n_negative": np.int8(exact_neg), "exact_eigenvalues": np.int8(exact_eigenvalues),
                     "n_matvecs": np.int64(op.n_matvecs if op is not None else 0),
                     "elapsed": time.perf_counter() - started, **attrs})
    return annotate(ds)
