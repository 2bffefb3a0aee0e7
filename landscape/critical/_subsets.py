"""Learnt subsets S, their critical values, and best-first enumeration (spec 3.1-3.2).

Modes are numbered from 1, as in the paper: mode k is the k-th diagonal entry of
``Sigma`` (reduced coordinates). A subset S is *admissible* if it names only modes with
``sigma_k > 0`` and ``|S| <= r`` (the bottleneck); its critical value is
``L_S = 1/2 sum_{k not in S} sigma_k^2``.
"""

from __future__ import annotations

import heapq
from math import comb

import numpy as np

from .._validation import describe
from ..errors import LandscapeTypeError, LandscapeValueError
from ..losses import require_quadratic

__all__ = ["check_subset", "critical_value", "count_admissible", "lowest_subsets", "label"]


def label(S) -> str:
    """``"{1,3}"`` for the subset ``(1, 3)``; ``"{}"`` for the empty one."""
    return "{" + ",".join(str(k) for k in sorted(S)) + "}"


def check_subset(net, S, name="S") -> tuple[int, ...]:
    """Validate a learnt subset (1-based mode numbers) and return it sorted."""
    if isinstance(S, (str, bytes)) or not hasattr(S, "__iter__"):
        raise LandscapeTypeError(f"{name} must be a collection of 1-based mode numbers such as (1, 3); got {describe(S)}.")
    modes = []
    k = net.sigma.size
    for m in S:
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)):
            raise LandscapeTypeError(f"{name} must hold integer mode numbers; got {describe(m)} in {describe(S)}.")
        if not 1 <= m <= k:
            raise LandscapeValueError(f"{name} names mode {m}, out of range: modes are numbered 1..{k} for this network.")
        if net.sigma[m - 1] == 0:
            raise LandscapeValueError(
                f"{name} names mode {m}, whose singular value is 0: a zero singular value cannot be learnt."
            )
        modes.append(int(m))
    if len(set(modes)) != len(modes):
        raise LandscapeValueError(f"{name} repeats a mode: {describe(S)}.")
    if len(modes) > net.rank:
        raise LandscapeValueError(
            f"{name} has {len(modes)} modes, more than the bottleneck r = {net.rank} allows (|S| <= r)."
        )
    if net.depth == 1 and len(modes) != net.rho:
        raise LandscapeValueError(
            f"{name} must learn every nonzero mode for a depth-1 network (convex: its only critical points are "
            f"W_1 = Sigma); got {describe(S)} with {net.rho} nonzero modes."
        )
    return tuple(sorted(modes))


def critical_value(net, S) -> float:
    """``L_S = 1/2 sum_{k not in S} sigma_k^2``."""
    require_quadratic(net, "critical_value", "it enumerates the critical points P = Sigma_S of the quadratic loss by learnt subsets S (spec 3); other losses have no such closed form")
    S = check_subset(net, S)
    mask = np.ones(net.sigma.size, dtype=bool)
    mask[[k - 1 for k in S]] = False
    return 0.5 * float(np.sum(net.sigma[mask] ** 2))


def count_admissible(net) -> int:
    """Number of admissible subsets, ``sum_{k <= min(r, rho)} C(rho, k)`` for depth >= 2 (an exact int).

    Depth 1 is convex: ``grad L = -(Sigma - W_1)`` vanishes only at ``W_1 = Sigma``, so the
    only critical point is the global minimum (S = all nonzero modes) and the count is 1.
    """
    require_quadratic(net, "count_admissible", "it enumerates the critical points P = Sigma_S of the quadratic loss by learnt subsets S (spec 3); other losses have no such closed form")
    rho = net.rho
    if net.depth == 1:
        return 1
    return sum(comb(rho, k) for k in range(min(net.rank, rho) + 1))


def lowest_subsets(net, max_count=None):
    """Admissible subsets in ascending order of ``L_S``, lazily (a generator).

    Best-first search over subset sums: with the nonzero ``sigma_k^2`` sorted in
    descending order, the subsets of each size ``c`` start at the top ``c`` and move one
    chosen index one place down at a time; every move lowers the sum, so popping a heap
    keyed by ``L_S`` yields the subsets in order. The first ``k`` cost
    ``O(k c log(k c))`` with ``c = min(r, rho)``. Ties are broken by the sorted positions.

    Yields
    ------
    (float, tuple of int)
        ``(L_S, S)`` with S in 1-based mode numbers, sorted.
    """
    require_quadratic(net, "lowest_subsets", "it enumerates the critical points P = Sigma_S of the quadratic loss by learnt subsets S (spec 3); other losses have no such closed form")
    sigma = net.sigma
    nz = np.flatnonzero(sigma > 0)
    order = nz[np.argsort(-sigma[nz] ** 2, kind="stable")]  # mode indices (0-based), by decreasing sigma^2
    w = sigma[order] ** 2
    rho = w.size
    cmax = min(net.rank, rho)
    heap = []
    seen = set()
    def loss_of(a):  # L_S = 1/2 (sum of the unlearnt sigma^2), summed directly (L = 0 is exact)
        mask = np.ones(rho, dtype=bool)
        mask[list(a)] = False
        return 0.5 * float(np.sum(w[mask]))

    half = (0.5 * w).tolist()
    for c in range(cmax if net.depth == 1 else 0, cmax + 1):  # depth 1: only the global minimum
        a = tuple(range(c))
        heap.append((loss_of(a), a))
        seen.add(a)
    heapq.heapify(heap)
    produced = 0
    order_1 = [int(m) + 1 for m in order]
    while heap and (max_count is None or produced < max_count):
        value, a = heapq.heappop(heap)
        yield value, tuple(sorted(order_1[i] for i in a))
        produced += 1
        c = len(a)
        for p in range(c):
            nxt = a[p + 1] if p + 1 < c else rho
            if a[p] + 1 < nxt:
                child = a[:p] + (a[p] + 1,) + a[p + 1 :]
                if child not in seen:
                    seen.add(child)
                    # moving a learnt index one place down unlearns w[a_p] and learns w[a_p + 1]
                    heapq.heappush(heap, (value + half[a[p]] - half[a[p] + 1], child))
