"""The gradient-flow vector field of a network on flat, batched state vectors.

A state is ``theta`` of shape ``(B, n_params)`` (parameters ``W_1..W_h`` row-major). All
solvers call this object with the one ODE convention of the package: the field is
``dtheta/dt = -sign * grad L(theta)`` (``sign = 1`` the gradient flow, ``-1`` its
time reversal, used to grow stable sets); time does not enter (the flow is autonomous).

The field is evaluated into preallocated work arrays: for stacks of small matrices the
cost of fresh temporaries (page faults of large allocations) exceeds the arithmetic.
"""

from __future__ import annotations

import numpy as np

from ..core import kernels

__all__ = ["FlowProblem"]


class FlowProblem:
    """Batched ``-grad L``, its Jacobian ``-H`` and the Gauss-Newton factor of a network."""

    def __init__(self, net, sign=1):
        if sign not in (1, -1):
            raise ValueError(f"sign must be 1 (forward flow) or -1 (backward flow); got {sign!r}.")
        self.net = net
        self.sign = sign
        #: what the kernels take: the loss object (a SigmaLoss is unwrapped to its Sigma there)
        self.target = net.objective
        #: the quadratic target for the compiled field (``None`` for every other loss: the
        #: compiled ``dopri5-jit`` knows only ``1/2 ||Sigma - P||^2``)
        self.Sigma = net.objective.Sigma if net.loss_name == "squared" else None
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

    def _workspace(self, W):
        B = W[0].shape[0]
        ws = self._work.get(B)
        if ws is None:
            if len(self._work) > 8:
                self._work.clear()
            ws = self._work[B] = kernels.workspace(W, self.target)
        return ws

    def field(self, Y, out=None):
        """``(-grad L(Y), L(Y))`` for ``Y`` of shape ``(B, n)``; ``out`` receives the field.

        :func:`landscape.core.kernels.flow_field` written into views of the flat states,
        with work arrays kept per batch size.
        """
        self.nfev += Y.shape[0]
        W = self.layers(Y)
        if out is None:
            out = np.empty(Y.shape)
        _, L = kernels.flow_field(W, self.target, out=self.layers(out), work=self._workspace(W))
        if self.sign < 0:
            np.negative(out, out=out)
        return out, L

    def hessian(self, Y):
        """Dense Hessians ``(B, n, n)`` times ``sign``; the Jacobian of the field is their negative."""
        self.njev += Y.shape[0]
        H = kernels.hessian(self.layers(Y), self.target)
        return H if self.sign > 0 else np.negative(H, out=H)

    def jacobian_P(self, Y):
        """``J_P`` of shape ``(B, d_h d_0, n)``: the field's Jacobian is ``-(J_P^T J_P + S)``."""
        if self.sign < 0:
            raise ValueError("the Gauss-Newton factor approximates the forward flow's Jacobian only.")
        self.njev += Y.shape[0]
        return kernels.end_to_end_jacobian(self.layers(Y))
