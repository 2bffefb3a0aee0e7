"""The :class:`LinearNetwork`: widths, target singular values, and the loss in adjacency form."""

from __future__ import annotations

import warnings

import numpy as np

from .._validation import check_finite_array, describe
from ..errors import LandscapeTypeError, LossError, SigmaError, WeightsError
from ..losses import Loss, SigmaLoss, get_loss
from . import kernels
from ._adjacency import adjacency, blk, check_widths, offsets, weights_from_adjacency

__all__ = ["LinearNetwork"]

#: Largest parameter count for which :meth:`LinearNetwork.hessian` builds a dense matrix.
DENSE_HESSIAN_MAX_PARAMS = 12_000


def _refuse_bools(sigma, whole=None):
    """Raise :class:`SigmaError` if ``sigma`` is or holds a bool (``[True, 2, 1]`` would silently become 1, 2, 1)."""
    if isinstance(sigma, np.ndarray):
        if sigma.dtype == bool or (sigma.dtype == object and any(isinstance(v, (bool, np.bool_)) for v in sigma.flat)):
            raise SigmaError(f"sigma must hold numbers, not bools; got {describe(sigma if whole is None else whole)}.")
        return
    if isinstance(sigma, (bool, np.bool_)):
        raise SigmaError(f"sigma must be numbers, not a bool; got {sigma!r}.")
    if isinstance(sigma, (list, tuple)):
        for i, v in enumerate(sigma):
            if isinstance(v, (bool, np.bool_)):
                raise SigmaError(f"sigma must hold numbers, not bools; got {describe(sigma if whole is None else whole)} "
                                 f"(an entry is {v!r}).")
            if isinstance(v, (list, tuple, np.ndarray)):
                _refuse_bools(v, sigma if whole is None else whole)


class LinearNetwork:
    r"""A deep linear network ``x -> W_h ... W_1 x`` with loss ``L = l(W_h...W_1)``, by default ``1/2 ||Sigma - W_h...W_1||_F^2``.

    In adjacency form (spec 1.3) the weights are one block-shift matrix
    ``A = blk_1(W_1, ..., W_h)`` and ``L(A) = 1/2 ||E - A^h||_F^2`` with ``E = blk_h(Sigma)``.
    Every method taking weights accepts either the layer list ``[W_1, ..., W_h]`` or the
    ``(n_v, n_v)`` adjacency matrix, and answers in the same form.

    Parameters
    ----------
    widths : sequence of int
        Layer widths ``[d_0, d_1, ..., d_h]`` (input, hidden..., output), ``h >= 1``.
    sigma : array_like
        Either the singular values (1-D, at most ``min(d_0, d_h)`` non-negative numbers, put
        in the given order on the diagonal of the ``(d_h, d_0)`` matrix ``Sigma``; a scalar
        counts as one value), or a full ``(d_h, d_0)`` target matrix ``T``. A target matrix
        is reduced by a full SVD ``T = U Sigma V^T``: the network then works in reduced
        coordinates, and :meth:`to_data_coordinates` maps weights back (``W_1 -> W_1 V^T``,
        ``W_h -> U W_h``). Required for the default (quadratic) loss; omit it when ``loss``
        is a :class:`~landscape.losses.Loss`.
    loss : Loss or "squared", optional
        The loss ``l(P)`` of the end-to-end matrix (spec 8.2, :mod:`landscape.losses`), with
        ``loss.shape == (d_h, d_0)``. None or ``"squared"``: ``1/2 ||Sigma - P||_F^2`` from
        ``sigma``. A :class:`~landscape.losses.SigmaLoss` is the same loss from its matrix
        (reduced by its SVD unless it is rectangular-diagonal with non-negative entries).
        Any other loss: the weights are in the loss's own (data) coordinates, ``U``, ``V``
        and the input maps are identities, and ``sigma``/``Sigma``/``E``/``rho`` are those of
        the whitened reduction (spec 1.2) for ``raw_squared`` (critical values
        ``L_S + loss.minimum_value()``) and do not exist (:class:`~landscape.errors.LossError`)
        for ``logistic`` and ``cross_entropy``.

    Attributes
    ----------
    depth : int
        ``h``, the number of weight layers.
    widths : tuple of int
    Sigma : ndarray of shape (d_h, d_0)
        Rectangular-diagonal target in reduced coordinates.
    sigma : ndarray of shape (min(d_0, d_h),)
        The diagonal of ``Sigma`` (padded with zeros).
    rank : int
        Bottleneck ``r = min(d_0, ..., d_h)``: the end-to-end matrix has rank at most ``r``.
    rho : int
        Number of nonzero singular values (``rank Sigma``).
    n_params, n_nodes : int
        ``N_p = sum_i d_i d_{i-1}`` and ``n_v = sum_k d_k``.
    objective : Loss
        The loss object ``l`` (a :class:`~landscape.losses.SigmaLoss` of ``Sigma`` by default).
    loss_name : str
        ``objective.name``: ``"squared"``, ``"raw_squared"``, ``"logistic"``, ``"cross_entropy"``.

    Examples
    --------
    >>> import landscape as ls
    >>> net = ls.LinearNetwork([3, 3, 3, 3], sigma=[3.0, 2.0, 1.0])
    >>> net.depth, net.n_params, net.n_nodes, net.rank
    (3, 27, 12, 3)
    >>> W = [np.zeros((3, 3))] * 3
    >>> float(net.loss(W))      # 1/2 (9 + 4 + 1)
    7.0
    """

    def __init__(self, widths, sigma=None, *, loss=None):
        self._widths = check_widths(widths)
        d0, dh = self._widths[0], self._widths[-1]
        if isinstance(loss, str) and loss == "squared":
            loss = None
        if loss is not None:
            if not isinstance(loss, Loss):
                raise LandscapeTypeError(f"loss must be a landscape.losses.Loss or 'squared' for LinearNetwork(widths, "
                                         f"sigma, loss=...); got {describe(loss)} (from_data takes loss names).")
            loss._check_shape((dh, d0))
            if isinstance(loss, SigmaLoss):
                if sigma is not None:
                    raise SigmaError("give either sigma or loss=SigmaLoss(Sigma), not both.")
                S = np.asarray(loss.Sigma)
                diag = np.diagonal(S).copy()
                if np.all(diag >= 0) and np.count_nonzero(S) == np.count_nonzero(diag):
                    sigma = diag
                else:
                    sigma = S
                loss = None
            else:
                if sigma is not None:
                    raise SigmaError(f"sigma must be omitted when the loss is {loss.name!r} (it is not Sigma-based); "
                                     f"got sigma={describe(sigma)}.")
                self._init_loss(loss)
                return
        if sigma is None:
            raise SigmaError("sigma is required for the default quadratic loss (or pass loss=a landscape.losses.Loss).")
        _refuse_bools(sigma)
        s = np.asarray(sigma) if not isinstance(sigma, np.ndarray) else sigma
        if s.ndim <= 1:
            s = check_finite_array(np.atleast_1d(sigma), name="sigma", ndim=1, error=SigmaError)
            if s.size > min(d0, dh):
                raise SigmaError(
                    f"sigma has too many singular values: at most min(d_0, d_h) = {min(d0, dh)} for widths "
                    f"{list(self._widths)}; got {s.size}."
                )
            if np.any(s < 0):
                raise SigmaError(f"sigma must be non-negative singular values; got {describe(s.tolist())}.")
            self._sigma = np.zeros(min(d0, dh))
            self._sigma[: s.size] = s
            self._U = np.eye(dh)
            self._V = np.eye(d0)
        elif s.ndim == 2:
            T = check_finite_array(sigma, name="sigma", ndim=2, error=SigmaError)
            if T.shape != (dh, d0):
                raise SigmaError(
                    f"sigma as a target matrix must have shape (d_h, d_0) = ({dh}, {d0}); got shape {T.shape}."
                )
            U, s, Vt = np.linalg.svd(T, full_matrices=True)
            s = np.where(s > 1e-12 * s.max(initial=0.0), s, 0.0)  # round-off of a rank-deficient target is 0
            self._sigma = s
            self._U = U
            self._V = Vt.T
        else:
            raise SigmaError(f"sigma must be 1-D singular values or a 2-D (d_h, d_0) matrix; got shape {s.shape}.")
        self._Sigma = np.zeros((dh, d0))
        k = self._sigma.size
        self._Sigma[np.arange(k), np.arange(k)] = self._sigma
        self._input_map = self._V.T  # W_1 (reduced) -> W_1 @ input_map (data)
        self._input_map_inv = self._V
        self.loss_offset = 0.0
        self._objective = SigmaLoss(self._Sigma)
        self._target = self._Sigma  # what the kernels take: Sigma itself (fast path) or a Loss

    def _init_loss(self, loss):
        """A network whose loss is not the whitened quadratic one: weights in the loss's coordinates."""
        d0, dh = self._widths[0], self._widths[-1]
        self._objective = loss
        self._target = loss
        self._U, self._V = np.eye(dh), np.eye(d0)
        self._input_map = self._input_map_inv = np.eye(d0)
        self.loss_offset = 0.0
        self._sigma = self._Sigma = None

    def _sigma_of_loss(self):
        """``(sigma, Sigma)``: the whitened reduction's for raw_squared; LossError for other losses."""
        if self._Sigma is None:
            ell = self._objective
            if not hasattr(ell, "whitened"):
                raise LossError(
                    f"this network's loss is {ell.name!r}: it has no target singular values sigma / Sigma / E "
                    f"(those belong to the squared losses); use net.objective for the loss itself.")
            T = ell.whitened()[0]
            s = np.linalg.svd(T, compute_uv=False)
            s = np.where(s > 1e-12 * s.max(initial=0.0), s, 0.0)
            d0, dh = self._widths[0], self._widths[-1]
            Sig = np.zeros((dh, d0))
            Sig[np.arange(s.size), np.arange(s.size)] = s
            self._sigma, self._Sigma = s, Sig
        return self._sigma, self._Sigma

    @property
    def objective(self):
        """The loss ``l(P)`` (a :class:`~landscape.losses.Loss`)."""
        return self._objective

    @property
    def loss_name(self) -> str:
        """The loss's name: ``"squared"``, ``"raw_squared"``, ``"logistic"`` or ``"cross_entropy"``."""
        return self._objective.name

    # ------------------------------------------------------------------ properties
    @property
    def widths(self) -> tuple[int, ...]:
        return self._widths

    @property
    def depth(self) -> int:
        return len(self._widths) - 1

    @property
    def Sigma(self) -> np.ndarray:
        """The ``(d_h, d_0)`` target of the quadratic loss (for raw_squared: of its whitened reduction)."""
        return self._sigma_of_loss()[1].copy()

    @property
    def sigma(self) -> np.ndarray:
        """Singular values of the target (for raw_squared: of its whitened reduction)."""
        return self._sigma_of_loss()[0].copy()

    @property
    def rank(self) -> int:
        return min(self._widths)

    @property
    def rho(self) -> int:
        return int(np.count_nonzero(self._sigma_of_loss()[0]))

    @property
    def n_params(self) -> int:
        w = self._widths
        return sum(w[i] * w[i - 1] for i in range(1, len(w)))

    @property
    def n_nodes(self) -> int:
        return sum(self._widths)

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """Shapes ``(d_i, d_{i-1})`` of ``W_1, ..., W_h``."""
        w = self._widths
        return [(w[i], w[i - 1]) for i in range(1, len(w))]

    @property
    def offsets(self) -> np.ndarray:
        """Node offsets ``o_0, ..., o_{h+1}`` of the layers in ``A``."""
        return offsets(self._widths)

    @property
    def E(self) -> np.ndarray:
        """``E = blk_h(Sigma)``, the ``(n_v, n_v)`` target in adjacency form."""
        return blk(self.depth, [self._sigma_of_loss()[1]], self._widths)

    @property
    def U(self) -> np.ndarray:
        """Output rotation of the target's SVD (identity for 1-D ``sigma``)."""
        return self._U.copy()

    @property
    def V(self) -> np.ndarray:
        """Input rotation of the target's SVD (identity for 1-D ``sigma``)."""
        return self._V.copy()

    def __repr__(self) -> str:
        if self.loss_name != "squared":
            return f"LinearNetwork(widths={list(self._widths)}, loss={self._objective!r})"
        s = np.array2string(self._sigma, precision=4, separator=", ")
        return f"LinearNetwork(widths={list(self._widths)}, sigma={s}, loss='squared')"

    # ------------------------------------------------------------------ data
    @classmethod
    def from_data(cls, X, Y, hidden_widths=(), whiten: bool = True, rcond=None, loss="squared") -> "LinearNetwork":
        r"""Build a network from input-output data: by default the whitened reduction to ``Sigma`` (spec 1.2).

        ``loss`` chooses the objective (issue 14): ``"squared"`` (the default, described
        below), ``"raw_squared"`` (``(1/N) 1/2 ||Y - P X||_F^2`` on the raw inputs, weights in
        data coordinates: same critical values up to ``loss_offset``, different trajectories),
        ``"logistic"`` (``Y`` labels ``(N,)`` or ``(1, N)`` in ``{-1, +1}`` or ``{0, 1}``,
        ``d_h = 1``), ``"cross_entropy"`` (``Y`` integer labels ``(N,)`` or class
        probabilities ``(d_h, N)``), or a :class:`~landscape.losses.Loss` object (then
        ``X`` and ``Y`` only fix ``d_0`` and are checked against it; pass ``None`` to skip).
        ``whiten`` and ``rcond`` apply to ``"squared"`` only.

        With per-sample correlations ``S_xx = X X^T / N`` and ``S_yx = Y X^T / N``, the
        averaged raw loss ``(1/N) 1/2 ||Y - P X||_F^2`` equals
        ``1/2 ||S_yx S_xx^{-1/2} - P S_xx^{1/2}||_F^2 + const``. The network's target is
        ``T = S_yx S_xx^{-1/2}`` (``whiten=True``) or ``S_yx`` (``whiten=False``, which assumes
        ``S_xx = I``), reduced by its SVD. The constant is stored as ``loss_offset``, so
        ``net.loss(W) + net.loss_offset`` is the averaged raw loss of
        ``net.to_data_coordinates(W)``.

        What is preserved: with whitening, critical points of the raw loss and of the
        network's loss correspond one to one (``W_1 -> W_1 S_xx^{1/2} V``), with the same
        values and (Sylvester's law of inertia) the same Hessian signature, so the whole
        landscape analysis carries over. What is not: gradient-flow *trajectories* of the
        raw loss are not those of the whitened loss unless ``S_xx = I``.

        Parameters
        ----------
        X : ndarray of shape (d_0, N)
            Inputs as columns (the paper's convention; pass ``X.T`` for row samples).
        Y : ndarray of shape (d_h, N)
            Outputs as columns.
        hidden_widths : sequence of int, default=()
            ``[d_1, ..., d_{h-1}]``; empty for a one-layer network.
        whiten : bool, default=True
            Whiten the inputs (requires ``S_xx`` invertible unless ``rcond`` is given). If
            False and ``S_xx`` is not the identity, a ``UserWarning`` says the reduction is
            only approximate.
        rcond : float, optional
            With whitening, keep only the input directions whose variance exceeds
            ``rcond`` times the largest (for rank-deficient inputs, e.g. constant pixels):
            the network's input width is then that rank q, and ``to_data_coordinates``
            maps ``W_1`` (``d_1 x q``) back to ``d_1 x d_0`` (zero on the dropped directions,
            the minimum-norm choice).

        Returns
        -------
        LinearNetwork

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(3, 50)); Y = rng.normal(size=(2, 3)) @ X
        >>> net = LinearNetwork.from_data(X, Y, hidden_widths=[4])
        >>> net.widths
        (3, 4, 2)
        >>> LinearNetwork.from_data(X, (X[0] > 0).astype(int), hidden_widths=[4], loss="logistic").widths
        (3, 4, 1)
        """
        if not (isinstance(loss, str) and loss == "squared"):
            if whiten is not True or rcond is not None:
                raise LossError(f"whiten and rcond apply to loss='squared' only (the whitened reduction); got "
                                f"whiten={whiten!r}, rcond={rcond!r} with loss={getattr(loss, 'name', loss)!r}, "
                                "which works on the data as given.")
            return cls._from_data_loss(X, Y, hidden_widths, loss)
        X = check_finite_array(X, name="X", ndim=2)
        Y = check_finite_array(Y, name="Y", ndim=2)
        if X.shape[1] != Y.shape[1]:
            hint = " (samples go in columns: pass X.T and Y.T if they are rows)" if X.shape[0] == Y.shape[0] else ""
            raise SigmaError(
                f"X and Y must have the same number of columns (samples); got X of shape {X.shape} and Y of shape {Y.shape}{hint}."
            )
        N = X.shape[1]
        d0 = X.shape[0]
        Sxx = X @ X.T / N
        Syx = Y @ X.T / N
        if whiten:
            evals, evecs = np.linalg.eigh(Sxx)
            top = max(float(evals.max(initial=0.0)), 1e-300)
            if rcond is None:
                if evals.min() <= 1e-12 * top:
                    raise SigmaError(
                        f"X must have full row rank to whiten the inputs (X X^T / N is singular: smallest eigenvalue "
                        f"{evals.min():.3g}); got X of shape {X.shape}. Use more samples, fewer input features, or "
                        f"rcond=1e-10 to whiten on the range of X."
                    )
                keep = np.ones(d0, dtype=bool)
            else:
                keep = evals > float(rcond) * top
                if not keep.any():
                    raise SigmaError(f"X has no direction with variance above rcond = {rcond} times the largest.")
            lam, U = evals[keep], evecs[:, keep]
            whitener = (U / np.sqrt(lam)).T  # (q, d0): white = whitener @ x
            unwhitener = U * np.sqrt(lam)  # (d0, q)
            T = Syx @ whitener.T
        else:
            if not np.allclose(Sxx, np.eye(d0), atol=1e-8):
                warnings.warn(
                    "whiten=False but X X^T / N is not the identity: the reduced loss then differs from the raw loss "
                    "by more than a constant.",
                    UserWarning,
                    stacklevel=2,
                )
            whitener = unwhitener = np.eye(d0)
            T = Syx
        net = cls([T.shape[1], *hidden_widths, Y.shape[0]], T)
        # data W_1 = reduced W_1 V^T whitener
        net._input_map = net._V.T @ whitener
        net._input_map_inv = unwhitener @ net._V
        net.loss_offset = 0.5 * (float(np.vdot(Y, Y)) / N - float(np.vdot(T, T)))
        return net

    @classmethod
    def _from_data_loss(cls, X, Y, hidden_widths, loss):
        hidden = [int(w) for w in hidden_widths]
        if isinstance(loss, Loss):
            ell = loss
            if X is not None:
                X = check_finite_array(X, name="X", ndim=2)
                if X.shape[0] != ell.shape[1]:
                    raise LossError(f"X must have d_0 = {ell.shape[1]} rows for the given {ell.name} loss; got shape {X.shape}.")
        elif isinstance(loss, str):
            if loss == "raw_squared":
                ell = get_loss(loss, X, Y)
            elif loss in ("logistic", "cross_entropy"):
                ell = get_loss(loss, X, Y)
            else:
                ell = get_loss(loss)  # raises: unknown name
        else:
            raise LandscapeTypeError(f"loss must be 'squared', 'raw_squared', 'logistic', 'cross_entropy' or a "
                                     f"landscape.losses.Loss; got {describe(loss)}.")
        dh, d0 = ell.shape
        return cls([d0, *hidden, dh], loss=ell)

    def reduction(self) -> dict:
        """The maps between reduced and data coordinates, as stored by :func:`landscape.save`.

        Returns
        -------
        dict
            Copies of ``U`` (``d_h x d_h``) and ``V`` (``d_0 x d_0``), the rotations of the
            target's SVD; ``input_map`` (``d_0 x m``: data ``W_1`` = reduced ``W_1 @ input_map``,
            with m the data's input dimension) and ``input_map_inv`` (``m x d_0``), which also
            hold the whitening of :meth:`from_data`; and ``loss_offset``. Identities and 0
            for a network given by its singular values.
        """
        return {"U": self._U.copy(), "V": self._V.copy(), "input_map": self._input_map.copy(),
                "input_map_inv": self._input_map_inv.copy(), "loss_offset": float(self.loss_offset)}

    @classmethod
    def from_reduction(cls, widths, sigma, *, U, V, input_map, input_map_inv, loss_offset=0.0) -> "LinearNetwork":
        """Rebuild a network from its singular values and the maps of :meth:`reduction`.

        ``LinearNetwork.from_reduction(net.widths, net.sigma, **net.reduction())`` has the
        same ``Sigma``, rotations, whitening and ``loss_offset`` as ``net`` (used to read
        back networks built by :meth:`from_data`).

        Parameters
        ----------
        widths : sequence of int
        sigma : array_like of shape (k,)
            Singular values (1-D).
        U : ndarray of shape (d_h, d_h)
            Orthogonal.
        V : ndarray of shape (d_0, d_0)
            Orthogonal.
        input_map : ndarray of shape (d_0, m)
        input_map_inv : ndarray of shape (m, d_0)
        loss_offset : float, default=0.0

        Raises
        ------
        SigmaError
            A map of the wrong shape, non-finite, or a rotation that is not orthogonal.
        """
        if np.ndim(sigma) > 1:
            raise SigmaError(f"sigma must be 1-D singular values for from_reduction; got shape {np.shape(sigma)}.")
        net = cls(widths, sigma)
        d0, dh = net.widths[0], net.widths[-1]
        U = check_finite_array(U, name="U", shape=(dh, dh), error=SigmaError)
        V = check_finite_array(V, name="V", shape=(d0, d0), error=SigmaError)
        for name, Q in (("U", U), ("V", V)):
            if not np.allclose(Q.T @ Q, np.eye(Q.shape[0]), atol=1e-8):
                raise SigmaError(f"{name} must be orthogonal ({name}^T {name} = I); got a matrix off by "
                                 f"{np.abs(Q.T @ Q - np.eye(Q.shape[0])).max():.3g}.")
        input_map = check_finite_array(input_map, name="input_map", ndim=2, error=SigmaError)
        m = input_map.shape[1]
        if input_map.shape[0] != d0:
            raise SigmaError(f"input_map must have shape (d_0, m) = ({d0}, m); got shape {input_map.shape}.")
        input_map_inv = check_finite_array(input_map_inv, name="input_map_inv", shape=(m, d0), error=SigmaError)
        loss_offset = float(loss_offset)
        if not np.isfinite(loss_offset):
            raise SigmaError(f"loss_offset must be finite; got {loss_offset}.")
        net._U, net._V = U.copy(), V.copy()
        net._input_map, net._input_map_inv = input_map.copy(), input_map_inv.copy()
        net.loss_offset = loss_offset
        return net

    def to_data_coordinates(self, W) -> list[np.ndarray]:
        """Map reduced-coordinate weights to data coordinates (inverse of :meth:`from_data_coordinates`)."""
        W = [w.copy() for w in self.layers(W)]
        W[0] = W[0] @ self._input_map
        W[-1] = self._U @ W[-1]
        return W

    def from_data_coordinates(self, W) -> list[np.ndarray]:
        """Map data-coordinate weights to the reduced coordinates the network works in."""
        W = [np.array(w, dtype=float) for w in W]
        W[0] = W[0] @ self._input_map_inv
        W = self.layers(W)
        W[-1] = self._U.T @ W[-1]
        return W

    # ------------------------------------------------------------------ weights
    def layers(self, W, name: str = "W") -> list[np.ndarray]:
        """Validate weights given as a layer list or an adjacency matrix; return the layer list.

        Raises
        ------
        WeightsError
            Wrong number of layers, wrong shapes or non-finite entries.
        BlockStructureError
            An adjacency matrix with nonzero entries outside the block sub-diagonal.
        """
        return self._layers(W, name)[0]

    def _layers(self, W, name="W"):
        if isinstance(W, np.ndarray):
            n_v = self.n_nodes
            if W.ndim == 2 and W.shape == (n_v, n_v):
                return weights_from_adjacency(W, self._widths), True
            raise WeightsError(
                f"{name} must be a list of {self.depth} weight matrices [W_1, ..., W_h] or an adjacency matrix of "
                f"shape ({n_v}, {n_v}); got an array of shape {W.shape}."
            )
        if not isinstance(W, (list, tuple)):
            raise LandscapeTypeError(
                f"{name} must be a list [W_1, ..., W_h] or an (n_v, n_v) adjacency matrix; got {describe(W)}."
            )
        if len(W) != self.depth:
            raise WeightsError(f"{name} must hold h = {self.depth} weight matrices for widths {list(self._widths)}; got {len(W)}.")
        return [
            check_finite_array(Wi, name=f"{name}[{i}] (W_{i + 1})", shape=s, error=WeightsError)
            for i, (Wi, s) in enumerate(zip(W, self.shapes))
        ], False

    def flatten(self, W) -> np.ndarray:
        """Parameters as one vector of length ``n_params``: ``W_1, ..., W_h``, each row-major."""
        return np.concatenate([w.ravel() for w in self.layers(W)])

    def unflatten(self, theta) -> list[np.ndarray]:
        """Inverse of :meth:`flatten`; a leading batch shape ``(..., n_params)`` is kept."""
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape[-1:] != (self.n_params,):
            raise WeightsError(f"theta must have last axis of length n_params = {self.n_params}; got shape {theta.shape}.")
        out, start = [], 0
        for s in self.shapes:
            n = s[0] * s[1]
            out.append(theta[..., start : start + n].reshape(theta.shape[:-1] + s))
            start += n
        return out

    def _answer(self, layers, as_adjacency):
        return adjacency(layers) if as_adjacency else layers

    # ------------------------------------------------------------------ loss and derivatives
    def end_to_end(self, W) -> np.ndarray:
        """The end-to-end matrix ``P = W_h ... W_1`` (the corner block of ``A^h``), shape ``(d_h, d_0)``."""
        return kernels.prefix_products(self.layers(W))[-1]

    def loss(self, W) -> float:
        """``L = l(W_h ... W_1)``; for the default loss ``1/2 ||Sigma - W_h ... W_1||_F^2 = 1/2 ||E - A^h||_F^2``."""
        return float(kernels.loss(self.layers(W), self._target))

    def gradient(self, W):
        """Gradient of ``L``; the gradient flow is ``dW/dt = -gradient(W)`` (spec 1.4).

        Returns a layer list ``[dL/dW_1, ..., dL/dW_h]``, or a block-shift ``(n_v, n_v)``
        matrix if ``W`` was an adjacency matrix (then it equals
        ``-sum_j (A^{h-j})^T (E - A^h) (A^{j-1})^T``, for a general loss
        ``sum_j (A^{h-j})^T blk_h(grad l(P)) (A^{j-1})^T``, spec 8.2).
        """
        layers, adj = self._layers(W)
        return self._answer(kernels.gradient(layers, self._target), adj)

    def hvp(self, W, V):
        """Hessian-vector product: the directional derivative of :meth:`gradient` along ``V``.

        ``V`` is a layer list or a block-shift matrix (independently of ``W``); the answer
        takes the form of ``W``.
        """
        layers, adj = self._layers(W)
        return self._answer(kernels.hvp(layers, self._target, self.layers(V, name="V")), adj)

    def hessian(self, W) -> np.ndarray:
        """Dense Hessian of ``L`` on the ``n_params`` coordinates (order of :meth:`flatten`).

        Returns
        -------
        ndarray of shape (n_params, n_params)
        """
        if self.n_params > DENSE_HESSIAN_MAX_PARAMS:
            raise WeightsError(
                f"the dense Hessian of {self.n_params} parameters needs {self.n_params**2 * 8 / 2**30:.1f} GiB; "
                f"the limit is {DENSE_HESSIAN_MAX_PARAMS} parameters. Use net.hessian_operator(W) instead."
            )
        return kernels.hessian(self.layers(W), self._target)

    def hessian_operator(self, W):
        """The Hessian as a symmetric :class:`scipy.sparse.linalg.LinearOperator` (matrix free).

        Each product costs about three gradients; ``matmat`` evaluates a block of vectors
        in one batched pass.
        """
        from scipy.sparse.linalg import LinearOperator

        layers = self.layers(W)
        n = self.n_params
        Sigma = self._target

        def matmat(X):
            X = np.asarray(X, dtype=np.float64)
            Vs = self.unflatten(X.T)  # batch of directions
            out = kernels.hvp(layers, Sigma, Vs)
            return np.concatenate([o.reshape(X.shape[1], -1) for o in out], axis=1).T

        def matvec(x):
            return matmat(np.reshape(x, (n, 1)))[:, 0]

        return LinearOperator((n, n), matvec=matvec, rmatvec=matvec, matmat=matmat, dtype=np.float64)

    def summary(self, W) -> dict:
        """Loss, gradient norm and conserved-quantity size at ``W`` (used by the CLI)."""
        from ._invariants import balance_measure

        layers = self.layers(W)
        grad, L = kernels.gradient(layers, self._target, return_loss=True)
        P = kernels.prefix_products(layers)[-1]
        return {
            "loss": float(L),
            "gradient_norm": float(np.sqrt(sum(np.vdot(g, g) for g in grad))),
            "balance": balance_measure(layers),
            "singular_values": np.linalg.svd(P, compute_uv=False),
        }
