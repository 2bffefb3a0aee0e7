"""The gradient-flow vector field of a network on flat, batched state vectors.

A state is ``theta`` of shape ``(B, n_params)`` (parameters ``W_1..W_h`` row-major). All
solvers call this object with the one ODE convention of the package: the field is
``dtheta/dt = -grad L(theta)``; time does not enter (the flow is autonomous).

The field is evaluated into preallocated work arrays: for stacks of small matrices the
cost of fresh temporaries (page faults of large allocations) exceeds the arithmetic.
"""

from __future__ import annotations

import numpy as np

from ..core import _kernels

__all__ = ["FlowProblem"]


class FlowProblem:
    """Batched ``-grad L``, its Jacobian ``-H`` and the Gauss-Newton factor of a network."""

    def __init__(self, net):
        self.net = net
        self.Sigma = net.Sigma
        self.n = net.n_params
        self.widths = net.widths
        self.nfev = 0
        self.njev = 0
        self._work = {}
        starts = np.concatenate([[0], np.cumsum([a * b for a, b in net.shapes])])
        self._slices = [(slice(int(starts[i]), int(starts[i + 1])), shape) for i, shape in enumerate(net.shapes)]

    def layers(self, Y):
        """Views ``W_i`` of shape ``(B, d_i, d_{i-1})`` into the flat states."""
        B = Y.shape[:-1]
        return [Y[..., sl].reshape(B + shape) for sl, shape in self._slices]

    def _workspace(self, B):
        ws = self._work.get(B)
        if ws is None:
            d = self.widths
            h = len(d) - 1
            ws = {
                "F": [None] + [np.empty((B, d[j], d[0])) for j in range(1, h + 1)],
                "GT": [np.empty((B, d[0], d[j])) for j in range(h + 1)],
                "T": [np.empty((B, d[j - 1], d[j])) for j in range(1, h + 1)],
                "R": np.empty((B, d[h], d[0])),
            }
            if len(self._work) > 8:
                self._work.clear()
            self._work[B] = ws
        return ws

    def field(self, Y, out=None):
        """``(-grad L(Y), L(Y))`` for ``Y`` of shape ``(B, n)``; ``out`` receives the field.

        Same arithmetic as :func:`landscape.core._kernels._gradient_transposed`, with
        every product written into a work array.
        """
        B = Y.shape[0]
        self.nfev += B
        W = self.layers(Y)
        ws = self._workspace(B)
        F, GT, T = ws["F"], ws["GT"], ws["T"]
        h = len(W)
        F[1][...] = W[0]
        for j in range(2, h + 1):
            np.matmul(W[j - 1], F[j - 1], out=F[j])
        R = ws["R"]
        np.subtract(self.Sigma, F[h], out=R)
        GT[h][...] = np.swapaxes(R, -1, -2)
        if out is None:
            out = np.empty(Y.shape)
        views = self.layers(out)
        for j in range(h, 1, -1):
            np.matmul(F[j - 1], GT[j], out=T[j - 1])
            views[j - 1][...] = np.swapaxes(T[j - 1], -1, -2)
            np.matmul(GT[j], W[j - 1], out=GT[j - 1])
        views[0][...] = np.swapaxes(GT[1], -1, -2)
        return out, _kernels._half_sq(R)

    def hessian(self, Y):
        """Dense Hessians ``(B, n, n)``; the Jacobian of the field is their negative."""
        self.njev += Y.shape[0]
        return _kernels.hessian(self.layers(Y), self.Sigma)

    def jacobian_P(self, Y):
        """``J_P`` of shape ``(B, d_h d_0, n)``: the field's Jacobian is ``-(J_P^T J_P + S)``."""
        self.njev += Y.shape[0]
        return _kernels.end_to_end_jacobian(self.layers(Y))
