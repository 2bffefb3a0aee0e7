"""Mode-aligned points and their gauge orbits: labels of the threads, and alignment recovery.

A point is *mode aligned* when every ``W_i`` has at most one nonzero entry per row and per
column (a partial monomial matrix), consistently: following the nonzero entries from the
input to the output, and joining input ``k`` to output ``k`` wherever ``sigma_k > 0``, no
thread visits two units of one layer. Each thread then gets a *label* (threads on
disjoint layers may share one), and the Hessian leaves invariant the span of the entries
``W_i[u, v]`` whose row and column labels form the pair ``{a, b}`` (see
:func:`landscape.stability.structured_spectrum`). The representatives ``A*_S`` are
aligned: mode ``s_j`` runs through hidden unit ``j``, so its thread carries label
``s_j - 1`` whatever the hidden widths.

The gauge ``W_i -> G_i W_i G_{i-1}^{-1}`` (``G_0 = G_h = I``) leaves the loss unchanged
everywhere: as a linear change of the parameters ``theta -> J theta`` it gives
``L(J theta) = L(theta)``, so ``H(J theta) = J^{-T} H(theta) J^{-1}`` at *every* point, not
only at critical ones. For orthogonal ``G_i``, ``J`` is orthogonal and the spectra are
equal; for invertible ``G_i`` the Hessians are congruent and Sylvester's law of inertia
keeps the counts of negative, zero and positive eigenvalues. :func:`align` recovers an
aligned point and the gauge from any point of such an orbit.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Alignment", "thread_labels", "align", "gauge_directions"]

#: entries (and image columns) below this fraction of their layer's scale count as zero
ZERO_RTOL = 1e-10
#: largest accepted ``max_i ||G_i M_i G_{i-1}^{-1} - W_i||_F / ||W_i||_F`` after the small entries are dropped
RESIDUAL_RTOL = 1e-9


class Alignment(NamedTuple):
    """Result of :func:`align`: ``W_i = G_i M_i G_{i-1}^{-1}`` with ``M`` mode aligned."""

    layers: list  #: the aligned layers ``M_i`` (partial monomial, exact zeros)
    units: np.ndarray  #: ``(h + 1, n_labels)`` unit of each label in each layer, ``-1`` where absent
    gauges: list  #: ``[G_1, ..., G_{h-1}]`` (orthonormal columns when ``orthogonal``)
    orthogonal: bool  #: the gauge is orthogonal: same Hessian spectrum (else: same inertia)
    residual: float  #: ``max_i ||G_i M_i G_{i-1}^{-1} - W_i||_F / max(||W_i||_F, 1e-300)``


def _find(parent, x):
    root = x
    while parent[root] != root:
        root = parent[root]
    while parent[x] != root:
        parent[x], x = root, parent[x]
    return root


def thread_labels(net, layers):
    """Labels of the threads of a mode-aligned point, or None if the point is not aligned.

    Parameters
    ----------
    net : LinearNetwork
    layers : list of ndarray
        ``W_i`` of shape ``(d_i, d_{i-1})``; exact zeros are the absent entries.

    Returns
    -------
    ndarray of int of shape (h + 1, n_labels) or None
        ``units[l, a]``: the unit of node layer ``l`` (0 = input) carrying label ``a``, or
        ``-1``. Within a layer the units have distinct labels; every nonzero ``W_i[u, v]``
        joins two units of one label, and so does every ``sigma_k > 0`` (input ``k``,
        output ``k``). Threads on disjoint sets of layers are packed onto shared labels
        (first fit, longest threads first), so ``n_labels`` is close to ``max_l d_l``.
    """
    h = net.depth
    d = net.widths
    offset = np.concatenate([[0], np.cumsum(d)]).astype(int)
    parent = list(range(int(offset[-1])))

    def union(x, y):
        rx, ry = _find(parent, x), _find(parent, y)
        if rx != ry:
            parent[rx] = ry

    for i, w in enumerate(layers, start=1):
        if np.any(np.count_nonzero(w, axis=0) > 1) or np.any(np.count_nonzero(w, axis=1) > 1):
            return None
        rows, cols = np.nonzero(w)
        for u, v in zip(rows.tolist(), cols.tolist()):
            union(offset[i] + u, offset[i - 1] + v)
    for k in np.flatnonzero(net.sigma > 0).tolist():
        union(offset[0] + k, offset[h] + k)
    roots = np.array([_find(parent, x) for x in range(offset[-1])])
    layer_of = np.repeat(np.arange(h + 1), d)
    classes = {}
    for node, root in enumerate(roots.tolist()):
        classes.setdefault(root, []).append(node)
    members = list(classes.values())
    for nodes in members:
        lays = layer_of[nodes]
        if np.unique(lays).size != lays.size:  # two units of one layer on one thread: not aligned
            return None
    members.sort(key=lambda nodes: (-len(nodes), int(layer_of[nodes[0]]), nodes[0]))
    occupied = np.zeros((0, h + 1), dtype=bool)
    units = np.full((h + 1, 0), -1, dtype=np.int64)
    for nodes in members:
        lays = layer_of[nodes]
        free = np.flatnonzero(~occupied[:, lays].any(axis=1))
        if free.size:
            a = int(free[0])
        else:
            a = occupied.shape[0]
            occupied = np.vstack([occupied, np.zeros((1, h + 1), dtype=bool)])
            units = np.hstack([units, np.full((h + 1, 1), -1, dtype=np.int64)])
        occupied[a, lays] = True
        units[lays, a] = np.asarray(nodes) - offset[lays]
    return units


def _monomial(M, rtol):
    """``M`` with entries below ``rtol * max|M|`` set to 0, or None if a row or column keeps two."""
    M = np.array(M, dtype=float)
    top = float(np.abs(M).max(initial=0.0))
    M[np.abs(M) <= rtol * top] = 0.0
    if np.any(np.count_nonzero(M, axis=0) > 1) or np.any(np.count_nonzero(M, axis=1) > 1):
        return None
    return M


def _images(M, rtol):
    """Nonzero columns of ``M`` (norm above ``rtol`` times the largest), normalised, and their count."""
    norms = np.linalg.norm(M, axis=0)
    top = float(norms.max(initial=0.0))
    keep = norms > rtol * top
    return M[:, keep] / norms[keep], int(keep.sum())


def _orthogonal_bases(layers, rng, rtol):
    """Orthonormal ``Q_1..Q_{h-1}`` with ``Q_i^T W_i Q_{i-1}`` monomial, or None (forward sweep).

    Layer i: the images ``W_i q`` of the basis of layer i-1 must be orthogonal; normalised,
    they are the units reached from the left. The rest of the layer (units no thread
    enters from the left) is spanned by the orthogonal complement, whose basis must suit
    the layers to the right: it is the eigenbasis of ``sum_k c_k N_k^T N_k`` restricted to
    the complement, ``N_k = W_{i+1:k}`` (random weights ``c_k``): units with equal weights to
    every later layer are interchangeable there, and any basis of theirs maps to
    orthogonal images.
    """
    h = len(layers)
    Q = [np.eye(layers[0].shape[1])]
    for i in range(1, h):
        W = layers[i - 1]
        C, r = _images(W @ Q[-1], rtol)
        if r and np.abs(C.T @ C - np.eye(r)).max() > 1e-8:
            return None
        d = W.shape[0]
        if r == d:
            Q.append(C)
            continue
        Y = np.linalg.qr(np.hstack([C, rng.standard_normal((d, d - r))]))[0][:, r:] if r else np.eye(d)
        if Y.shape[1] > 1:
            S = np.zeros((Y.shape[1], Y.shape[1]))
            N = Y
            for k in range(i + 1, h + 1):
                N = layers[k - 1] @ N
                K = N.T @ N
                top = float(np.abs(K).max(initial=0.0))
                if top > 0:
                    S += rng.uniform(1.0, 2.0) * K / top
            Y = Y @ np.linalg.eigh(S)[1]
        Q.append(np.hstack([C, Y]))
    return Q


def _null_space(A, rtol):
    """Orthonormal basis of ``ker A`` (singular values up to ``rtol`` times the largest count as 0)."""
    u, s, vt = np.linalg.svd(A, full_matrices=True)
    top = float(s.max(initial=0.0))
    rank = int(np.sum(s > rtol * top)) if top > 0 else 0
    return vt[rank:].T


def _general_bases(layers, rtol):
    """Invertible ``T_1..T_{h-1}`` with ``T_i^{-1} W_i T_{i-1}`` monomial, or None (forward sweep).

    As :func:`_orthogonal_bases` with linear independence for orthogonality: the reached
    units are the (independent) images of the previous basis; the rest of the layer is
    completed adapted to the kernels ``ker W_{i+1:k}`` (growing with k), so that each new
    vector dies at one layer and the survivors keep independent images.
    """
    h = len(layers)
    T = [np.eye(layers[0].shape[1])]
    for i in range(1, h):
        W = layers[i - 1]
        C, r = _images(W @ T[-1], rtol)
        if r and np.linalg.svd(C, compute_uv=False).min() <= 1e-8:
            return None
        d = W.shape[0]
        cols = [C]
        count = r
        N = np.eye(d)
        for k in range(i + 1, h + 1):
            if count == d:
                break
            N = layers[k - 1] @ N
            Z = _null_space(N, rtol)
            if Z.shape[1] == 0:
                continue
            B = np.linalg.qr(np.hstack(cols))[0] if count else np.zeros((d, 0))
            Zp = Z - B @ (B.T @ Z)
            u, s, vt = np.linalg.svd(Zp, full_matrices=False)
            new = int(np.sum(s > 1e-8))
            if new:
                cols.append(Z @ vt[:new].T)
                count += new
        if count < d:
            B = np.linalg.qr(np.hstack(cols))[0] if count else np.zeros((d, 0))
            cols.append(np.linalg.qr(np.hstack([B, np.random.default_rng(0).standard_normal((d, d - count))]))[0][:, count:])
            count = d
        Ti = np.hstack(cols)
        if Ti.shape[1] != d:
            return None
        T.append(Ti)
    return T


def align(net, W, *, rtol=ZERO_RTOL, orthogonal_only=False):
    """A mode-aligned point on the gauge orbit of ``W``, or None.

    Tries, in order: ``W`` itself (already aligned); orthogonal hidden gauges (the images
    of each layer's basis are orthogonal: a chain of normalisations and, for units no
    thread enters from the left, an eigenbasis of the Gram matrices of the later partial
    products); invertible hidden gauges (independent images, completions adapted to the
    kernels of the later partial products). The end-to-end matrix ``W_h...W_1`` is gauge
    invariant, so it must already be monomial; a point that is not on an aligned orbit is
    usually refused there, after ``h`` products.

    Every answer is verified: the aligned layers keep exact zeros (entries below ``rtol``
    of their layer's largest are dropped), each row and column of each layer has at most
    one nonzero, the threads are consistent (:func:`thread_labels`), and
    ``G_i M_i G_{i-1}^{-1}`` reproduces ``W_i`` to :data:`RESIDUAL_RTOL`.

    Parameters
    ----------
    net : LinearNetwork
    W : list of ndarray
    rtol : float, default=1e-10
    orthogonal_only : bool, default=False
        Do not try invertible (non-orthogonal) gauges.

    Returns
    -------
    Alignment or None

    Examples
    --------
    >>> import landscape as ls
    >>> net = ls.LinearNetwork([3, 3, 3], [3.0, 2.0, 1.0])
    >>> Q = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))[0]
    >>> found = align(net, ls.gauge(net, ls.representative(net, (1, 3)), [Q]))
    >>> found.orthogonal, found.residual < 1e-12
    (True, True)
    """
    layers = [np.asarray(w, dtype=float) for w in net.layers(W)]
    h = net.depth
    exact = thread_labels(net, layers)
    if exact is not None:
        return Alignment([w.copy() for w in layers], exact, [np.eye(d) for d in net.widths[1:-1]], True, 0.0)
    P = layers[0]
    for w in layers[1:]:
        P = w @ P
    if _monomial(P, 1e-8) is None:
        return None
    rng = np.random.default_rng(0)
    attempts = [("orthogonal", lambda: _orthogonal_bases(layers, rng, rtol))]
    if not orthogonal_only:
        attempts.append(("general", lambda: _general_bases(layers, rtol)))
    for kind, find in attempts:
        if h == 1:
            bases = [np.eye(net.widths[0])]
        else:
            bases = find()
            if bases is None:
                continue
        bases = bases + [np.eye(net.widths[-1])]
        M = []
        for i in range(1, h + 1):
            right = layers[i - 1] @ bases[i - 1]
            Mi = bases[i].T @ right if kind == "orthogonal" else np.linalg.solve(bases[i], right)
            Mi = _monomial(Mi, rtol)
            if Mi is None:
                break
            M.append(Mi)
        if len(M) < h:
            continue
        units = thread_labels(net, M)
        if units is None:
            continue
        residual = 0.0
        for i in range(1, h + 1):
            back = bases[i] @ M[i - 1]
            back = back @ bases[i - 1].T if kind == "orthogonal" else np.linalg.solve(bases[i - 1].T, back.T).T
            scale = max(float(np.linalg.norm(layers[i - 1])), 1e-300)
            residual = max(residual, float(np.linalg.norm(back - layers[i - 1])) / scale)
        if residual > RESIDUAL_RTOL:
            continue
        return Alignment(M, units, bases[1:-1], kind == "orthogonal", residual)
    return None


def gauge_directions(net, gauges, X):
    """Map directions at the aligned point to directions at ``W``: ``V_i -> G_i V_i G_{i-1}^T``.

    For orthogonal gauges this is the orthogonal map ``J`` of the parameters, so Hessian
    eigenvectors at the aligned point become eigenvectors at ``W``.

    Parameters
    ----------
    net : LinearNetwork
    gauges : list of ndarray
        ``[G_1, ..., G_{h-1}]`` (orthogonal).
    X : ndarray of shape (n_params, m)

    Returns
    -------
    ndarray of shape (n_params, m)
    """
    G = [np.eye(net.widths[0])] + list(gauges) + [np.eye(net.widths[-1])]
    out = np.empty_like(X)
    start = 0
    m = X.shape[1]
    for i, (a, b) in enumerate(net.shapes, start=1):
        block = X[start : start + a * b].reshape(a, b, m)
        # G_i V G_{i-1}^T for each column: contract the row index with G_i, the column index with G_{i-1}
        rotated = np.einsum("ra,abk->rbk", G[i], block)
        rotated = np.einsum("rbk,cb->rck", rotated, G[i - 1])
        out[start : start + a * b] = rotated.reshape(a * b, m)
        start += a * b
    return out
