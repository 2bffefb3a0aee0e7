"""Extreme Hessian eigenpairs at any point and any size: block Krylov on block Hessian-vector products.

The engine (:func:`block_krylov`) is a thick-restarted block Lanczos method in its
Rayleigh-Ritz form: the basis grows by a block of ``b`` directions at a time, each block's
Hessian product is one call of :func:`landscape.core.kernels.block_hvp` (matrix-matrix
products, BLAS-3), every new block is orthogonalised twice against the whole basis and the
converged vectors (full reorthogonalisation), and the next block is made of the residuals
``H u - theta u`` of the wanted Ritz pairs, which span the same space as the next Lanczos
block. Converged pairs at the wanted ends are *locked*: moved out of the active basis,
and every later direction is kept orthogonal to them (deflation), so they are never
found twice and the basis stays small. When the basis would exceed its memory bound it is
restarted from its best Ritz vectors. Nothing is ever diagonalised at full size.

A pair counts as converged when ``||H u - theta u|| <= tol * rho``, ``rho`` the largest
``|theta|`` seen (an estimate of the spectral radius from below that converges first).
Every run has a budget: ``max_matvecs`` Hessian-vector products and ``max_time`` seconds;
the result says which stopped it.
"""

from __future__ import annotations

import time

import numpy as np

from .._validation import check_int, check_positive_float, check_rng
from ..errors import LandscapeError, LandscapeValueError
from ..losses import require_quadratic

__all__ = ["extreme_eigenpairs", "BudgetExceededError", "HessianBlockOperator", "block_krylov", "MAX_MATVECS",
           "KRYLOV_MEMORY"]

#: default budget of Hessian-vector products of one call
MAX_MATVECS = 20_000
#: memory (bytes) for the Krylov basis, its Hessian products and the locked vectors
KRYLOV_MEMORY = 1 << 30
#: parameter count up to which ``method="auto"`` diagonalises densely (``numpy.linalg.eigh``)
DENSE_EIGENPAIRS_LIMIT = 2500
WHICH = ("smallest", "largest", "both")
#: the Krylov basis holds at most this many blocks (before a thick restart), memory permitting
BASIS_BLOCKS = 12
#: operators of at most this dimension (or three blocks) are diagonalised whole (``n`` products and ``eigh``)
SMALL_EXACT = 64
METHODS = ("auto", "krylov", "dense", "structured")


class BudgetExceededError(LandscapeError):
    """A computation needed more Hessian-vector products or time than its budget allowed."""


class HessianBlockOperator:
    """``H @ X`` for blocks ``X`` of shape ``(n_params, b)`` at one point, with a budget.

    Wraps :func:`landscape.core.kernels.block_hvp` with its shared products computed once
    (:func:`~landscape.core.kernels.block_hvp_setup`), counts the products (``n_matvecs``,
    one per column) and raises :class:`BudgetExceededError` *before* a block that would
    exceed ``max_matvecs`` or after ``max_time`` seconds since construction.
    """

    def __init__(self, net, W, *, max_matvecs=None, max_time=None):
        from ..core import kernels

        self.net = net
        self.layers = net.layers(W)
        self.n = net.n_params
        self._setup = kernels.block_hvp_setup(self.layers, net.objective)
        self._kernel = kernels.block_hvp
        self.max_matvecs = MAX_MATVECS if max_matvecs is None else max_matvecs
        self.max_time = max_time
        self.n_matvecs = 0
        self.start = time.perf_counter()

    @property
    def elapsed(self):
        return time.perf_counter() - self.start

    def remaining(self):
        """Hessian-vector products left in the budget."""
        return self.max_matvecs - self.n_matvecs

    def check(self, b=0):
        if self.n_matvecs + b > self.max_matvecs:
            raise BudgetExceededError(
                f"max_matvecs = {self.max_matvecs} Hessian-vector products would be exceeded (used {self.n_matvecs}, "
                f"next block {b}); raise max_matvecs or loosen tol."
            )
        if self.max_time is not None and self.elapsed > self.max_time:
            raise BudgetExceededError(
                f"max_time = {self.max_time:g} s exceeded after {self.elapsed:.1f} s and {self.n_matvecs} Hessian-vector "
                f"products; raise max_time or loosen tol."
            )

    def matmat(self, X, *, budgeted=True):
        """``H X`` for an ``(n_params, b)`` block; ``budgeted=False`` for a check of a finished
        exact result (residuals), which is neither counted nor refused by the budget."""
        X = np.asarray(X, dtype=np.float64)
        if budgeted:
            self.check(X.shape[1])
            self.n_matvecs += X.shape[1]
        out = self._kernel(self.layers, self.net.objective, X, setup=self._setup)
        return np.asfortranarray(out) if X.flags.f_contiguous and not X.flags.c_contiguous else out


def _mm(A, B):
    """``A @ B`` with a column-major (Fortran-ordered) result.

    Tall blocks of vectors are kept column-major: OpenBLAS multiplies an ``(n, m)``
    column-major matrix by a small ``(m, k)`` one into a column-major result about twice as
    fast as into a row-major one (measured at n = 990,000, m = 67, k = 24: 61 vs 126 ms).
    """
    return (B.T @ A.T).T


def _project_out(X, bases):
    """Classical Gram-Schmidt against orthonormal ``bases``, repeated for the columns that lost more
    than ``1 - 1/sqrt(2)`` of their norm (the DGKS criterion: "twice is enough")."""
    before = np.linalg.norm(X, axis=0)
    for B in bases:
        if B.shape[1]:
            X -= _mm(B, B.T @ X)
    redo = np.linalg.norm(X, axis=0) < before / np.sqrt(2.0)
    if redo.any():
        Z = np.asfortranarray(X[:, redo])
        for B in bases:
            if B.shape[1]:
                Z -= _mm(B, B.T @ Z)
        X[:, redo] = Z
    return X


def _svqb(X, drop):
    """Orthonormal basis of the columns of ``X`` from the eigen-decomposition of their Gram matrix
    (SVQB, Stathopoulos & Wu 2002): two passes over ``X``; directions whose relative size is at most
    ``drop`` are dropped. Returns ``(Q, kept)``, ``kept`` the number of columns."""
    G = X.T @ X
    d = np.sqrt(np.maximum(np.diag(G), 0.0))
    live = d > 0
    if not live.any():
        return X[:, :0], 0
    X, G, d = X[:, live], G[np.ix_(live, live)], d[live]
    s, U = np.linalg.eigh(G / np.outer(d, d))
    good = s > max(drop, 1e-14) * max(float(s.max()), 1e-300)
    return _mm(X, (U[:, good] / np.sqrt(s[good])) / d[:, None]), int(good.sum())


def _orthonormal_block(X, bases, rng, drop=1e-10):
    """Columns of ``X`` made orthonormal and orthogonal to ``bases``; (nearly) dependent ones dropped.

    Projection with DGKS reorthogonalisation, then SVQB twice (the second pass after a second
    projection restores orthogonality to rounding, also for ill-conditioned blocks). Column-major.
    """
    X = np.array(X, dtype=np.float64, order="F")
    scale = max(float(np.linalg.norm(X, axis=0).max(initial=0.0)), 1e-300)
    X = _project_out(X, bases)
    if X.shape[1] == 0:
        return X
    norms = np.linalg.norm(X, axis=0)
    X = np.asfortranarray(X[:, norms > drop * scale])
    if X.shape[1] == 0:
        return X
    Q, _ = _svqb(X, drop**2 / max(float(norms.max()) / scale, 1e-300) ** 2)
    if Q.shape[1]:
        Q, _ = _svqb(_project_out(Q, bases), 1e-14)
    return Q


def past_value(threshold, sign, value):
    """``value`` lies beyond ``threshold`` on the wanted side (``sign`` +1: below, -1: above)."""
    return threshold is not None and sign * value < sign * threshold


class KrylovResult:
    """Pairs found by :func:`block_krylov`, per end, with their residual norms."""

    def __init__(self):
        self.low = []  #: ``(theta, vector, residual, converged)``, ascending
        self.high = []  #: the same, descending
        self.rho = 0.0  #: largest ``|theta|`` seen (spectral radius estimate)
        self.status = "converged"  #: ``"converged"``, ``"budget"`` or ``"too_many"``
        self.message = ""
        self.rounds = 0  #: fresh verification rounds run


class _Basis:
    """The active Krylov basis ``V`` (orthonormal), ``AV = H V`` and ``T = V^T H V``, in preallocated
    column-major buffers."""

    def __init__(self, n, cap):
        self.V = np.empty((n, cap), order="F")
        self.AV = np.empty((n, cap), order="F")
        self.m = 0
        self.T = np.zeros((0, 0))

    @property
    def v(self):
        return self.V[:, : self.m]

    @property
    def av(self):
        return self.AV[:, : self.m]

    def add(self, Q, AQ):
        k = Q.shape[1]
        C = self.v.T @ AQ
        D = Q.T @ AQ
        self.T = np.block([[self.T, C], [C.T, 0.5 * (D + D.T)]])
        self.V[:, self.m : self.m + k] = Q
        self.AV[:, self.m : self.m + k] = AQ
        self.m += k

    def rotate(self, Y, theta):
        """Keep the Ritz vectors ``V Y`` (columns of ``Y`` are eigenvectors of ``T`` with values ``theta``)."""
        k = Y.shape[1]
        newV, newAV = _mm(self.v, Y), _mm(self.av, Y)
        self.V[:, :k] = newV
        self.AV[:, :k] = newAV
        self.m = k
        self.T = np.diag(theta)

    def clear(self):
        self.m = 0
        self.T = np.zeros((0, 0))


def block_krylov(op, *, n_low=0, n_high=0, below=None, above=None, tol=1e-8, block_size=None, basis_size=None,
                 memory=KRYLOV_MEMORY, rng=None, verify=False, max_locked=None):
    """Extreme eigenpairs of the symmetric operator ``op`` (``op.matmat``, ``op.n``).

    Parameters
    ----------
    op : HessianBlockOperator or object with ``n`` and ``matmat``
    n_low, n_high : int
        Number of lowest / highest eigenpairs wanted.
    below, above : float, optional
        Every eigenvalue ``< below`` (``> above``) at that end (count mode): an end is done
        when its next active Ritz pair is converged and lies past the threshold.
    tol : float
        Convergence: ``||H u - theta u|| <= tol * rho``; then some eigenvalue lies within
        ``tol * rho`` of ``theta`` (for a symmetric matrix the residual bounds the error).
    block_size : int, optional
        Directions per block; default ``max(2 k, 8)`` per wanted end, at most 64.
    basis_size : int, optional
        Largest active basis before a thick restart; default :data:`BASIS_BLOCKS` blocks,
        or ``4 k + 2 b`` if larger. Counting many eigenvalues needs a basis of about twice
        their number.
    memory : int
        Bytes for the basis and its products: the basis never holds more than
        ``memory / (16 n_params)`` vectors (nor fewer than three blocks).
    rng : int or numpy.random.Generator
    verify : bool
        When an end looks done, run fresh rounds (new random block, deflated against all
        locked vectors, active basis dropped) until one finds nothing new at that end:
        catches eigenvalues whose multiplicity exceeds the block size, or that the first
        start block missed.
    max_locked : int, optional
        Give up (``status = "too_many"``) once an end locks more than this many pairs.

    Returns
    -------
    KrylovResult
    """
    rng = check_rng(rng)
    n = op.n
    res = KrylovResult()
    ends = [e for e, k, t in (("low", n_low, below), ("high", n_high, above)) if k or t is not None]
    want = {"low": n_low, "high": n_high}
    thresh = {"low": below, "high": above}
    sign = {"low": 1.0, "high": -1.0}
    if block_size is None:
        block_size = min(64, sum(max(2 * want[e], 8) for e in ends))
    b = max(1, min(int(block_size), n))
    nwant = sum(max(want[e], 1) for e in ends)
    if basis_size is None:
        basis_size = max(BASIS_BLOCKS * b, 4 * nwant + 2 * b)
    max_basis = int(min(n, max(3 * b, min(memory // (16 * n), basis_size))))
    if n <= max(3 * b, SMALL_EXACT):  # the whole operator costs no more than a few blocks: diagonalise it
        try:
            H = op.matmat(np.eye(n))
        except BudgetExceededError as err:
            res.status, res.message = "budget", str(err)
            return res
        H = 0.5 * (H + H.T)
        ev, vec = np.linalg.eigh(H)
        res.rho = float(np.abs(ev).max(initial=0.0))
        rn = np.linalg.norm(H @ vec - vec * ev, axis=0)
        for e in ends:
            idx = np.arange(n) if e == "low" else np.arange(n)[::-1]
            take = [int(i) for p_, i in enumerate(idx) if p_ < want[e] or past_value(thresh[e], sign[e], ev[i])]
            setattr(res, e, [(float(ev[i]), vec[:, i].copy(), float(rn[i]), True) for i in take])
        return res
    basis = _Basis(n, max_basis + b)
    locked = {"low": [], "high": []}  # (theta, u, residual)
    Xl = np.zeros((n, 0))
    theta, Y = np.zeros(0), np.zeros((0, 0))
    pending = {e: verify for e in ends}  # a verification round is still owed
    fresh = {e: False for e in ends}  # the current round has locked something new at this end
    X = rng.standard_normal((n, b))

    def inward(e, m):
        return np.arange(m) if e == "low" else np.arange(m)[::-1]

    def past(e, value):  # value lies beyond the threshold, on the wanted side
        return thresh[e] is not None and sign[e] * value < sign[e] * thresh[e]

    cache = {}  # Ritz index -> (vector, residual vector, residual norm), for the current basis

    def residuals(cols):
        """Ritz vectors and residuals of ``cols``: one pass over the basis for all missing ones."""
        missing = [int(c) for c in cols if int(c) not in cache]
        if missing:
            U = _mm(basis.v, Y[:, missing])
            R = _mm(basis.av, Y[:, missing]) - U * theta[missing]
            rn = np.linalg.norm(R, axis=0)
            for p, c in enumerate(missing):
                cache[c] = (U[:, p], R[:, p], float(rn[p]))
        return [cache[int(c)] for c in cols]

    def satisfied(e, scale):
        if len(locked[e]) < want[e]:
            return False
        if thresh[e] is None:
            return True
        if basis.m == 0:
            return Xl.shape[1] >= n
        first = int(inward(e, basis.m)[0])
        return bool(residuals([first])[0][2] <= tol * scale and not past(e, theta[first]))

    try:
        while True:
            Q = _orthonormal_block(X, [Xl, basis.v], rng)
            if Q.shape[1] == 0 and basis.m + Xl.shape[1] < n:
                Q = _orthonormal_block(rng.standard_normal((n, b)), [Xl, basis.v], rng)
            exhausted = Q.shape[1] == 0  # the basis and the locked vectors span the whole space
            if not exhausted:
                basis.add(Q, op.matmat(Q))
            theta, Y = np.linalg.eigh(basis.T)
            cache.clear()
            m = theta.size
            res.rho = max(res.rho, float(np.abs(theta).max(initial=0.0)))
            scale = max(res.rho, np.finfo(float).tiny)
            per = max(1, b // len(ends))
            # residuals of the pairs nearest each wanted end, in one pass
            residuals(sorted({int(c) for e in ends for c in inward(e, m)[: max(2 * per, want[e] - len(locked[e]))]}))
            # lock converged pairs from each end inward while they are consecutive and wanted
            taken = []
            for e in ends:
                for lo in range(0, m, b):
                    cols = [int(c) for c in inward(e, m)[lo : lo + b] if int(c) not in taken]
                    stop = False
                    for c, (u, _, rn) in zip(cols, residuals(cols)):
                        if rn > tol * scale or not (len(locked[e]) < want[e] or past(e, theta[c])):
                            stop = True
                            break
                        locked[e].append((float(theta[c]), u.copy(), rn))
                        taken.append(c)
                        fresh[e] = True
                    if stop or not cols:
                        break
                if max_locked is not None and len(locked[e]) > max_locked:
                    res.status = "too_many"
                    res.message = f"more than {max_locked} eigenvalues at the {e} end"
                    raise StopIteration
            if taken:
                new = _orthonormal_block(np.column_stack([cache[c][0] for c in taken]), [Xl], rng)
                Xl = np.asfortranarray(np.hstack([Xl, new]))
                keep = np.setdiff1d(np.arange(m), taken)
                basis.rotate(Y[:, keep], theta[keep])
                theta, Y = theta[keep], np.eye(keep.size)
                cache = {i: cache[int(c)] for i, c in enumerate(keep) if int(c) in cache}  # same vectors, new indices
                m = keep.size
            if exhausted:
                break
            # ends that are done; owed verification rounds restart from scratch
            done = True
            restart = False
            for e in ends:
                if not satisfied(e, scale):
                    done = False
                    continue
                if pending[e] or (verify and fresh[e] and res.rounds):
                    pending[e] = False
                    fresh[e] = False
                    restart = True
            if restart:
                res.rounds += 1
                basis.clear()
                theta, Y = np.zeros(0), np.zeros((0, 0))
                cache.clear()
                X = rng.standard_normal((n, b))
                continue
            if done:
                break
            # next block: residuals of the unconverged Ritz pairs nearest each wanted end
            blocks = []
            for e in ends:
                cols = [int(c) for c in inward(e, m)[: 2 * per]]
                got = [r for _, r, rn in residuals(cols) if rn > tol * scale][:per]
                if got:
                    blocks.append(np.column_stack(got))
            X = np.asfortranarray(np.hstack(blocks)) if blocks else np.zeros((n, 0), order="F")
            if X.shape[1] < b:
                X = np.asfortranarray(np.hstack([X, rng.standard_normal((n, b - X.shape[1]))]))
            if m + b > max_basis:  # thick restart from the Ritz vectors nearest the wanted ends
                keepn = min(m, max(b, max_basis - 2 * b))
                order = []
                for c in zip(*[inward(e, m) for e in ends]):
                    order.extend(c)
                sel = np.array(list(dict.fromkeys(order))[:keepn], dtype=int)
                basis.rotate(Y[:, sel], theta[sel])
                theta, Y = theta[sel], np.eye(sel.size)
                cache = {i: cache[int(c)] for i, c in enumerate(sel) if int(c) in cache}
    except StopIteration:
        pass
    except BudgetExceededError as err:
        res.status = "budget"
        res.message = str(err)
    for e in ends:
        pairs = [(t, u, r, True) for t, u, r in locked[e]]
        missing = want[e] - len(pairs)
        if missing > 0 and theta.size and basis.m == theta.size:
            cols = [int(c) for c in inward(e, theta.size)[:missing]]
            pairs += [(float(theta[c]), u, rn, False) for c, (u, _, rn) in zip(cols, residuals(cols))]
        pairs.sort(key=lambda x: sign[e] * x[0])
        setattr(res, e, pairs)
    return res


def _budget_args(max_matvecs, max_time):
    if max_matvecs is not None:
        max_matvecs = check_int(max_matvecs, name="max_matvecs", minimum=1)
    if max_time is not None:
        max_time = check_positive_float(max_time, name="max_time")
    return max_matvecs, max_time


def extreme_eigenpairs(net, W, k=6, *, which="both", tol=1e-8, method="auto", eigenvectors=True, block_size=None,
                       max_matvecs=None, max_time=None, rng=0, memory=KRYLOV_MEMORY):
    """The ``k`` most negative and/or most positive Hessian eigenpairs at any point, with residuals.

    Paths (``method``):

    ``"structured"``
        The point is mode aligned, or on the orbit of an aligned point under orthogonal
        hidden gauges (recovered by :func:`~landscape.stability._align.align`): the
        eigenpairs of the invariant blocks, mapped back through the gauge. Exact to rounding.
    ``"dense"``
        ``numpy.linalg.eigh`` of the dense Hessian (at most
        ``DENSE_HESSIAN_MAX_PARAMS`` parameters).
    ``"krylov"``
        Matrix free at any size: the block Krylov method of :func:`block_krylov` on block
        Hessian-vector products (no full-spectrum work), converged to
        ``||H v - lambda v|| <= tol * rho`` (``rho`` the largest ``|Ritz value|`` seen), which
        bounds each eigenvalue's error by the same amount.
    ``"auto"``
        structured when possible, else dense up to :data:`DENSE_EIGENPAIRS_LIMIT` parameters,
        else krylov.

    Every path reports the residual norms ``||H v - lambda v||``, computed at ``W`` with
    block Hessian-vector products (for structured and dense: one extra product per pair).

    Parameters
    ----------
    net : LinearNetwork
    W : list of ndarray or ndarray of shape (n_v, n_v)
    k : int, default=6
        Pairs per wanted end (at most ``n_params``).
    which : {"both", "smallest", "largest"}, default="both"
    tol : float in (0, 1), default=1e-8
        Relative residual of the krylov path.
    method : {"auto", "structured", "dense", "krylov"}, default="auto"
    eigenvectors : bool, default=True
        Return the vectors (variable ``vectors``, ``param x eigen``).
    block_size : int, optional
        Directions per Hessian block product (krylov); default ``max(2 k, 8)`` per end.
    max_matvecs : int, optional
        Budget of Hessian-vector products (default :data:`MAX_MATVECS`).
    max_time : float, optional
        Budget in seconds (checked before every block product).
    rng : None, int or numpy.random.Generator, default=0
        Seeds the start block: results are reproducible.
    memory : int, default=2**30
        Bytes for the Krylov basis.

    Returns
    -------
    xarray.Dataset
        Kind ``"eigenpairs"``, dim ``eigen``: ``eigenvalues`` (lowest ascending, then highest
        descending), ``end`` (``"lowest"``/``"highest"``), ``residual``, ``converged``,
        ``vectors`` (param, eigen); attrs ``method``, ``status`` (``"converged"`` or
        ``"budget"``: the budget ran out and the unconverged pairs are the current best,
        flagged by ``converged``), ``message``, ``n_matvecs``, ``elapsed``, ``tol``,
        ``spectral_radius`` (estimate on the krylov path), ``exact_eigenvalues``.

    Raises
    ------
    LandscapeValueError
        Bad arguments; ``method="structured"`` at a point that is not orthogonally alignable;
        ``method="dense"`` beyond the dense size.

    Examples
    --------
    >>> import landscape as ls
    >>> net = ls.LinearNetwork([3, 3, 3], [3.0, 2.0, 1.0])
    >>> ep = ls.extreme_eigenpairs(net, ls.representative(net, (1, 3)), k=2, which="smallest")
    >>> ep.attrs["method"], [round(float(x), 6) for x in ep.eigenvalues]
    ('structured', [-2.0, -1.0])
    """
    import xarray as xr

    from ..critical._points import _common_attrs
    from ..io._schema import annotate, param_coords
    from ._inertia import structured_eigenpairs

    k = check_int(k, name="k", minimum=1)
    if which not in WHICH:
        raise LandscapeValueError(f"which must be one of {list(WHICH)}; got {which!r}.")
    if method not in METHODS:
        raise LandscapeValueError(f"method must be one of {list(METHODS)}; got {method!r}.")
    tol = check_positive_float(tol, name="tol", upper=1.0, lower=float(np.finfo(float).eps))
    max_matvecs, max_time = _budget_args(max_matvecs, max_time)
    layers = net.layers(W)
    n = net.n_params
    k = min(k, n)
    op = HessianBlockOperator(net, layers, max_matvecs=max_matvecs, max_time=max_time)
    status, message, rho = "converged", "", float("nan")
    found = None
    if method == "structured":
        require_quadratic(net, "extreme_eigenpairs(method='structured')",
                          "the invariant blocks of a mode-aligned point are derived for 1/2||Sigma - P||^2")
    if method in ("auto", "structured") and net.loss_name == "squared":
        found = structured_eigenpairs(net, layers, k, which)
        if found is None and method == "structured":
            raise LandscapeValueError(
                "method='structured' needs a mode-aligned point or one on the orbit of an aligned point under orthogonal "
                "hidden gauges; this W is neither (use method='krylov' or 'auto')."
            )
        if found is not None:
            method = "structured"
    if found is None and (method == "dense" or (method == "auto" and n <= DENSE_EIGENPAIRS_LIMIT)):
        from ..core._network import DENSE_HESSIAN_MAX_PARAMS

        if n > DENSE_HESSIAN_MAX_PARAMS:
            raise LandscapeValueError(f"method='dense' needs at most {DENSE_HESSIAN_MAX_PARAMS} parameters; got "
                                      f"{n}. Use method='krylov'.")
        ev, vec = np.linalg.eigh(net.hessian(layers))
        picks, ends = [], []
        if which in ("smallest", "both"):
            picks += list(range(k))
            ends += ["lowest"] * k
        if which in ("largest", "both"):
            picks += list(range(n - 1, n - 1 - k, -1))
            ends += ["highest"] * k
        found = (ev[picks], vec[:, picks], ends)
        method = "dense"
        rho = float(np.abs(ev).max())
    if found is not None:
        values, V, ends = found
        R = op.matmat(V, budgeted=False) - V * values  # the exact answer is kept whatever the budget
        residual = np.linalg.norm(R, axis=0)
        converged = np.ones(values.size, dtype=bool)
        exact = 1
        if method == "structured":
            rho = float(np.abs(values).max(initial=0.0))
    else:
        method = "krylov"
        res = block_krylov(op, n_low=k if which in ("smallest", "both") else 0,
                           n_high=k if which in ("largest", "both") else 0, tol=tol, block_size=block_size,
                           memory=memory, rng=rng)
        pairs = res.low + res.high
        ends = ["lowest"] * len(res.low) + ["highest"] * len(res.high)
        values = np.array([p[0] for p in pairs])
        V = np.column_stack([p[1] for p in pairs]) if pairs else np.zeros((n, 0))
        residual = np.array([p[2] for p in pairs])
        converged = np.array([p[3] for p in pairs], dtype=bool)
        status, message, rho, exact = res.status, res.message, res.rho, 0
        if status != "converged":
            import warnings

            warnings.warn(f"extreme_eigenpairs stopped before convergence: {message} "
                          f"({int(converged.sum())} of {converged.size} pairs converged).", UserWarning, stacklevel=2)
    data = {"eigenvalues": (("eigen",), values), "end": (("eigen",), np.array(ends, dtype=str)),
            "residual": (("eigen",), residual), "converged": (("eigen",), converged)}
    coords = {"eigen": np.arange(values.size)}
    if eigenvectors:
        data["vectors"] = (("param", "eigen"), V)
        coords.update({"param": np.arange(n), **param_coords(net.widths)})
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(_common_attrs(net, "eigenpairs"))
    ds.attrs.update({"method": method, "which": which, "k": np.int64(k), "tol": tol, "status": status,
                     "message": message, "n_matvecs": np.int64(op.n_matvecs), "elapsed": op.elapsed,
                     "spectral_radius": rho, "exact_eigenvalues": np.int8(exact)})
    return annotate(ds)
