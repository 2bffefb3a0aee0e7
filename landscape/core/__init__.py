"""Core: the network, its adjacency form, the loss and its derivatives, the invariants.

========================================  ==========================================
:class:`LinearNetwork`                    widths, target ``Sigma``, loss, gradient, HVP, Hessian
:func:`adjacency`                         ``[W_1..W_h] -> A = blk_1(W_1, ..., W_h)``
:func:`weights_from_adjacency`            ``A -> [W_1..W_h]`` (checks the block structure)
:func:`blk`                               ``blk_k(M_1, ...)`` on the k-th block sub-diagonal
:func:`conserved_quantities`              ``C_i = W_{i+1}^T W_{i+1} - W_i W_i^T``
:func:`conserved_adjacency`               ``J Q(A) J``
:func:`balance_measure`, :func:`is_balanced`, :func:`is_delta_balanced`
:func:`is_nilpotent`                      ``A^k = 0`` by products, not eigenvalues
``landscape.core.kernels``                the layer-list kernels, batched (the one implementation
                                          every package uses: loss, flow field, HVP, Hessian)
``landscape.core.literal``                the spec's dense adjacency formulas (for checks)
========================================  ==========================================

This layer imports numpy and scipy only.
"""

from . import kernels, literal
from ._adjacency import adjacency, blk, block_shift_mask, offsets, weights_from_adjacency
from ._invariants import (
    balance_measure,
    conserved_adjacency,
    conserved_quantities,
    is_balanced,
    is_delta_balanced,
    is_nilpotent,
)
from ._network import LinearNetwork

__all__ = [
    "kernels",
    "literal",
    "LinearNetwork",
    "adjacency",
    "weights_from_adjacency",
    "blk",
    "block_shift_mask",
    "offsets",
    "conserved_quantities",
    "conserved_adjacency",
    "balance_measure",
    "is_balanced",
    "is_delta_balanced",
    "is_nilpotent",
]
