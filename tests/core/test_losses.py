"""General losses l(P) (spec 8.2, issue 14): each loss against finite differences, the
network's chain rule against the literal adjacency formula, and the quadratic fast path."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import landscape as ls
from landscape.core import block_shift_mask, kernels, literal
from landscape.errors import LossError
from landscape.losses import CrossEntropyLoss, LogisticLoss, RawSquaredLoss, SigmaLoss, get_loss
from landscape.testing import strategies as lst

KINDS = ("squared", "raw_squared", "logistic", "cross_entropy")


def make_loss(kind, d0, dh, seed, m=None):
    """A loss of shape (dh, d0) on seeded random data (dh forced to 1 / >= 2 where needed)."""
    rng = np.random.default_rng(seed)
    m = m or int(rng.integers(3, 12))
    X = rng.normal(size=(d0, m))
    if kind == "squared":
        return SigmaLoss(rng.normal(size=(dh, d0)))
    if kind == "raw_squared":
        return RawSquaredLoss(X, rng.normal(size=(dh, m)))
    if kind == "logistic":
        return LogisticLoss(X, rng.choice([-1.0, 1.0], size=m))
    return CrossEntropyLoss(X, rng.integers(0, dh, size=m), n_classes=dh)


def fit_widths(kind, w):
    w = list(w)
    if kind == "logistic":
        w[-1] = 1
    elif kind == "cross_entropy":
        w[-1] = max(w[-1], 2)
    return w


def _norm(W):
    return float(np.sqrt(sum(np.vdot(w, w) for w in W)))


@st.composite
def loss_networks(draw, max_depth=5, max_width=7):
    kind = draw(st.sampled_from(KINDS))
    w = fit_widths(kind, draw(lst.widths(max_depth=max_depth, max_width=max_width)))
    seed = draw(st.integers(0, 2**32 - 1))
    loss = make_loss(kind, w[0], w[-1], seed)
    net = ls.LinearNetwork(w, loss=loss)
    W = ls.init.gaussian(net, 0.8, rng=seed + 1)
    return net, W, seed


# ---------------------------------------------------------------------------- the losses alone
@given(st.sampled_from(KINDS), st.integers(1, 7), st.integers(1, 7), st.integers(0, 2**32 - 1))
def test_loss_gradient_and_hvp_match_central_differences(kind, d0, dh, seed):
    dh = 1 if kind == "logistic" else max(dh, 2) if kind == "cross_entropy" else dh
    loss = make_loss(kind, d0, dh, seed)
    rng = np.random.default_rng(seed + 7)
    P, D = rng.normal(size=(2, dh, d0))
    D /= np.linalg.norm(D)
    eps = 1e-5
    fd = (loss.value(P + eps * D) - loss.value(P - eps * D)) / (2 * eps)
    g = loss.gradient(P)
    assert g.shape == (dh, d0)
    scale = 1.0 + abs(float(loss.value(P))) + np.abs(g).max()
    assert fd == pytest.approx(float(np.vdot(g, D)), abs=1e-7 * scale)
    fd_h = (loss.gradient(P + eps * D) - loss.gradient(P - eps * D)) / (2 * eps)
    Hd = loss.hvp(P, D)
    np.testing.assert_allclose(Hd, fd_h, atol=1e-7 * scale)
    # the Hessian is symmetric: <D2, H D> = <D, H D2>
    D2 = rng.normal(size=(dh, d0))
    assert float(np.vdot(D2, Hd)) == pytest.approx(float(np.vdot(D, loss.hvp(P, D2))), abs=1e-11 * scale)


@given(st.sampled_from(KINDS), st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_loss_is_batched_over_leading_axes(kind, d0, dh, seed):
    dh = 1 if kind == "logistic" else max(dh, 2) if kind == "cross_entropy" else dh
    loss = make_loss(kind, d0, dh, seed)
    rng = np.random.default_rng(seed)
    P = rng.normal(size=(2, 3, dh, d0))
    D = rng.normal(size=(2, 3, dh, d0))
    v, g, Hd = loss.value(P), loss.gradient(P), loss.hvp(P, D)
    assert v.shape == (2, 3) and g.shape == P.shape and Hd.shape == P.shape
    for a in range(2):
        for b in range(3):
            assert v[a, b] == pytest.approx(float(loss.value(P[a, b])), rel=1e-13, abs=1e-14)
            np.testing.assert_allclose(g[a, b], loss.gradient(P[a, b]), rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(Hd[a, b], loss.hvp(P[a, b], D[a, b]), rtol=1e-12, atol=1e-14)
    H = loss.hessian_matrix(P)
    np.testing.assert_allclose(np.einsum("...ij,...j->...i", H, D.reshape(2, 3, -1)).reshape(D.shape), Hd, atol=1e-12)


def test_losses_agree_with_their_definitions_on_the_samples():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(4, 9))
    y = rng.choice([-1.0, 1.0], size=9)
    P = rng.normal(size=(1, 4))
    expected = np.mean(np.log1p(np.exp(-y * (P @ X)[0])))
    assert float(LogisticLoss(X, y).value(P)) == pytest.approx(expected, rel=1e-13)
    # {0, 1} labels are mapped to {-1, +1}
    assert float(LogisticLoss(X, (y > 0).astype(int)).value(P)) == pytest.approx(expected, rel=1e-13)
    labels = rng.integers(0, 3, size=9)
    P3 = rng.normal(size=(3, 4))
    Z = P3 @ X
    ce = np.mean(-np.log(np.exp(Z[labels, np.arange(9)]) / np.exp(Z).sum(axis=0)))
    assert float(CrossEntropyLoss(X, labels).value(P3)) == pytest.approx(ce, rel=1e-13)
    onehot = np.eye(3)[:, labels]
    assert float(CrossEntropyLoss(X, onehot).value(P3)) == pytest.approx(ce, rel=1e-13)
    Y = rng.normal(size=(2, 9))
    P2 = rng.normal(size=(2, 4))
    raw = 0.5 * np.sum((Y - P2 @ X) ** 2) / 9
    assert float(RawSquaredLoss(X, Y).value(P2)) == pytest.approx(raw, rel=1e-12)


def test_logistic_and_cross_entropy_are_stable_at_huge_margins():
    X = np.array([[1.0, -2.0, 3.0], [0.5, 1.0, -1.0]])
    y = np.array([1.0, -1.0, 1.0])
    big = 1e4 * np.array([[1.0, 0.0]])  # margins y_i P x_i = 1e4, 2e4, 3e4 (all correct)
    loss = LogisticLoss(X, y)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        v, g, Hd = loss.value(big), loss.gradient(big), loss.hvp(big, np.ones((1, 2)))
    assert v >= 0 and v == pytest.approx(np.exp(-1e4) / 3, abs=1e-300)
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(Hd))
    # all wrong: loss = mean margin magnitude (no overflow)
    assert float(loss.value(-big)) == pytest.approx(2e4, rel=1e-12)
    ce = CrossEntropyLoss(X, np.array([0, 1, 0]))
    Pc = 1e4 * np.array([[1.0, 0.0], [-1.0, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        vals = ce.value(Pc), ce.gradient(Pc), ce.hvp(Pc, np.ones((2, 2)))
    assert all(np.all(np.isfinite(v)) for v in vals)
    # sample 0: logits (1e4, -1e4), label 0 -> ~0; sample 1: (-2e4, 2e4), label 1 -> ~0; sample 2: (3e4, -3e4) -> ~0
    assert float(vals[0]) == pytest.approx(0.0, abs=1e-300)


def _ce_reference(X, labels, P, dP):
    """Cross-entropy value, gradient and Hessian product sample by sample, written so that nothing
    cancels at large margins: -log s_y = (z_top - z_y) + log1p(sum_{k != top} exp(z_k - z_top)),
    s_top - 1 = -sum_{k != top} s_k, and dz_top - <s, dz> = -sum_{k != top} s_k (dz_k - dz_top)."""
    import math

    K, m = P.shape[0], X.shape[1]
    v, G, H = 0.0, np.zeros_like(P), np.zeros_like(P)
    for i in range(m):
        z = P @ X[:, i]
        dz = dP @ X[:, i]
        y = labels[i]
        top = int(np.argmax(z))
        r = [math.exp(z[k] - z[top]) for k in range(K)]
        T = math.fsum(r[k] for k in range(K) if k != top)
        s = np.array([(1.0 if k == top else r[k]) / (1.0 + T) for k in range(K)])
        v += (z[top] - z[y]) + math.log1p(T)
        g = s.copy()
        g[y] = (math.fsum(s[k] for k in range(K) if k != y)) * -1.0 if y == top else s[y] - 1.0
        G += np.outer(g, X[:, i])
        off = math.fsum(s[k] * (dz[k] - dz[top]) for k in range(K) if k != top)  # <s, dz> - dz_top
        bracket = np.array([-off if k == top else (dz[k] - dz[top]) - off for k in range(K)])  # dz_k - <s, dz>
        H += np.outer(s * bracket, X[:, i])
    return v / m, G / m, H / m


def test_cross_entropy_keeps_its_digits_at_large_margins():
    # margins ~150: s_y = 1 - 1e-65; lse - z_y and s_y - 1 lost every digit (value 1e-13 for 3e-65, gradient sign
    # flipped) before the largest-logit form
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3, 6))
    labels = np.array([0, 1, 2, 0, 1, 2])
    P = 60.0 * np.eye(3) @ np.linalg.pinv(X[:, :3]) @ np.eye(3)  # z_i ~ 60 e_{y_i} on the first three samples
    P = P + 0.01 * rng.normal(size=P.shape)
    dP = rng.normal(size=P.shape)
    ce = CrossEntropyLoss(X[:, :3], labels[:3], n_classes=3)
    v, G, H = _ce_reference(X[:, :3], labels[:3], P, dP)
    assert 0 < v < 1e-20
    assert float(ce.value(P)) == pytest.approx(v, rel=1e-12)
    np.testing.assert_allclose(ce.gradient(P), G, rtol=1e-10, atol=0)
    np.testing.assert_allclose(ce.hvp(P, dP), H, rtol=1e-10, atol=0)


def test_get_loss_without_data_and_whiten_with_another_loss_are_refused():
    with pytest.raises(LossError, match=r"get_loss\('logistic', ...\) needs the arguments \(X, y\)"):
        get_loss("logistic")
    X = np.random.default_rng(0).normal(size=(3, 20))
    with pytest.raises(LossError, match="whiten and rcond apply to loss='squared' only"):
        ls.LinearNetwork.from_data(X, X[:2], [2], loss="raw_squared", whiten=False)


def test_raw_squared_value_is_exact_and_non_negative_near_a_fit():
    # Y = P* X exactly with |P*| ~ 1e3: the expanded form gave values down to -1.4e-9 near P*
    rng = np.random.default_rng(6)
    X = rng.normal(size=(4, 50))
    P_star = 1e3 * rng.normal(size=(3, 4))
    loss = RawSquaredLoss(X, P_star @ X)
    for _ in range(50):
        P = P_star + 1e-7 * rng.normal(size=P_star.shape)
        direct = 0.5 * np.sum((P_star @ X - P @ X) ** 2) / 50
        assert float(loss.value(P)) == pytest.approx(direct, rel=1e-8)
    assert 0.0 <= loss.minimum_value() < 1e-18


def test_sigma_loss_kernels_are_bit_for_bit_the_sigma_fast_path():
    rng = np.random.default_rng(5)
    net = ls.LinearNetwork([3, 5, 2, 4], [2.0, 1.0])
    W = ls.init.gaussian(net, 1.0, rng=1)
    V = ls.init.gaussian(net, 1.0, rng=2)
    obj = SigmaLoss(net.Sigma)
    for f, args in ((kernels.gradient, ()), (kernels.hvp, (V,))):
        a, b = f(W, net.Sigma, *args), f(W, obj, *args)
        assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert np.array_equal(kernels.hessian(W, net.Sigma), kernels.hessian(W, obj))
    Wb = [np.stack([w, 2 * w]) for w in W]
    fa, La = kernels.flow_field(Wb, net.Sigma)
    fb, Lb = kernels.flow_field(Wb, obj)
    assert np.array_equal(La, Lb) and all(np.array_equal(x, y) for x, y in zip(fa, fb))
    net2 = ls.LinearNetwork(net.widths, loss=obj)
    assert net2.loss_name == "squared" and np.array_equal(net2.Sigma, net.Sigma)
    assert np.array_equal(net2.flatten(net2.gradient(W)), net.flatten(net.gradient(W)))
    X = rng.normal(size=(net.n_params, 3))
    assert np.array_equal(kernels.block_hvp(W, net.Sigma, X), kernels.block_hvp(W, obj, X))


# ---------------------------------------------------------------------------- the network's chain rule
@settings(max_examples=60)
@given(loss_networks())
def test_network_gradient_equals_literal_adjacency_formula(case):
    net, W, _ = case
    A = ls.adjacency(W)
    lit = literal.literal_loss_gradient(A, net.objective, net.widths)
    assert np.count_nonzero(lit[~block_shift_mask(net.widths)]) == 0
    got = net.gradient(A)
    np.testing.assert_allclose(got, lit, atol=1e-11 * (1.0 + np.abs(lit).max()), rtol=0)
    assert net.loss(W) == pytest.approx(literal.literal_loss_value(A, net.objective, net.widths), rel=1e-11, abs=1e-12)


@settings(max_examples=60)
@given(loss_networks(max_depth=4, max_width=5))
def test_network_hvp_equals_literal_hvp_and_dense_hessian(case):
    net, W, seed = case
    A = ls.adjacency(W)
    C = ls.adjacency(ls.init.gaussian(net, 1.0, rng=seed + 2))
    mask = block_shift_mask(net.widths)
    lit = literal.literal_loss_hvp(A, net.objective, net.widths, C, mask=mask)
    got = net.hvp(A, C)
    scale = 1.0 + np.abs(lit).max()
    np.testing.assert_allclose(got, lit, atol=1e-10 * scale, rtol=0)
    H = net.hessian(W)
    np.testing.assert_allclose(H, H.T, atol=1e-12 * (1 + np.abs(H).max()))
    v = net.flatten(ls.weights_from_adjacency(C, net.widths))
    np.testing.assert_allclose(H @ v, net.flatten(net.hvp(W, ls.weights_from_adjacency(C, net.widths))), atol=1e-10 * scale)
    Hop = net.hessian_operator(W)
    Xb = np.random.default_rng(seed).normal(size=(net.n_params, 3))
    np.testing.assert_allclose(Hop.matmat(Xb), H @ Xb, atol=1e-10 * (1 + np.abs(H).max()) * (1 + np.abs(Xb).max()))
    np.testing.assert_allclose(kernels.block_hvp(W, net.objective, Xb), H @ Xb,
                               atol=1e-10 * (1 + np.abs(H).max()) * (1 + np.abs(Xb).max()))


@settings(max_examples=60)
@given(loss_networks())
def test_network_gradient_and_hvp_match_finite_differences_of_net_loss(case):
    net, W, seed = case
    V = ls.init.gaussian(net, 1.0, rng=seed + 3)
    V = [v / _norm(V) for v in V]
    eps = 1e-5
    Lp, Lm = net.loss([w + eps * v for w, v in zip(W, V)]), net.loss([w - eps * v for w, v in zip(W, V)])
    exact = sum(np.vdot(g, v) for g, v in zip(net.gradient(W), V))
    hv = net.hvp(W, V)
    scale = 1.0 + abs(exact) + _norm(hv) + abs(net.loss(W))
    assert (Lp - Lm) / (2 * eps) == pytest.approx(exact, abs=1e-6 * scale)
    gp = net.flatten(net.gradient([w + eps * v for w, v in zip(W, V)]))
    gm = net.flatten(net.gradient([w - eps * v for w, v in zip(W, V)]))
    np.testing.assert_allclose((gp - gm) / (2 * eps), net.flatten(hv), atol=1e-6 * scale)


@given(loss_networks(max_depth=4, max_width=5))
def test_batched_flow_field_equals_per_point_gradient(case):
    net, W, seed = case
    W2 = ls.init.gaussian(net, 0.5, rng=seed + 4)
    Wb = [np.stack([a, b]) for a, b in zip(W, W2)]
    field, L = kernels.flow_field(Wb, net.objective)
    for k, Wk in enumerate((W, W2)):
        g = net.gradient(Wk)
        for f, gi in zip(field, g):
            np.testing.assert_allclose(f[k], -gi, rtol=1e-12, atol=1e-13)
        assert L[k] == pytest.approx(net.loss(Wk), rel=1e-12, abs=1e-14)
    Hb = kernels.hessian(Wb, net.objective)
    np.testing.assert_allclose(Hb[1], net.hessian(W2), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------- raw vs whitened (spec 1.2)
@pytest.mark.parametrize("widths_hidden", [[], [4], [2, 5]])
def test_raw_squared_critical_points_correspond_to_whitened_ones(widths_hidden):
    """Whitened critical point W (reduced coords) -> raw coords W_1 S_xx^{-1/2}...: critical for the raw
    loss, value L_S + c, same Hessian inertia (Sylvester)."""
    rng = np.random.default_rng(11)
    X = rng.normal(size=(3, 40)) * np.array([[3.0], [1.0], [0.3]]) + 0.5 * rng.normal(size=(3, 1))
    Y = rng.normal(size=(2, 3)) @ X + 0.3 * rng.normal(size=(2, 40))
    white = ls.LinearNetwork.from_data(X, Y, widths_hidden)
    raw = ls.LinearNetwork.from_data(X, Y, widths_hidden, loss="raw_squared")
    assert raw.loss_name == "raw_squared" and "RawSquaredLoss" in repr(raw)
    np.testing.assert_allclose(raw.sigma, white.sigma, rtol=1e-12)
    assert raw.objective.minimum_value() == pytest.approx(white.loss_offset, rel=1e-12)
    subsets = [(1, 2)] if white.depth == 1 else [S for S in ((), (1,), (2,), (1, 2)) if len(S) <= white.rank]
    for S in subsets:
        Wc = ls.representative(white, tuple(S))
        Wd = white.to_data_coordinates(Wc)  # data coordinates of the *whitened* map: W_1 -> W_1 V^T S_xx^{-1/2}
        g = raw.gradient(Wd)
        assert _norm(g) < 1e-10
        assert raw.loss(Wd) == pytest.approx(white.loss(Wc) + white.loss_offset, rel=1e-10)
        ew, er = np.linalg.eigvalsh(white.hessian(Wc)), np.linalg.eigvalsh(raw.hessian(Wd))
        tol = 1e-8 * max(1.0, np.abs(ew).max(), np.abs(er).max())
        for a, b in ((ew, er),):
            assert (np.sum(a < -tol), np.sum(np.abs(a) <= tol), np.sum(a > tol)) == \
                   (np.sum(b < -tol), np.sum(np.abs(b) <= tol), np.sum(b > tol))


# ---------------------------------------------------------------------------- entry points and errors
def test_from_data_with_each_loss_and_repr():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(4, 30))
    labels = rng.integers(0, 3, size=30)
    net = ls.LinearNetwork.from_data(X, labels, [5], loss="cross_entropy")
    assert net.widths == (4, 5, 3) and net.loss_name == "cross_entropy"
    assert repr(net) == "LinearNetwork(widths=[4, 5, 3], loss=CrossEntropyLoss(d_0=4, n_classes=3, m=30))"
    lg = ls.LinearNetwork.from_data(X, np.where(X[0] > 0, 1, -1), [3, 2], loss="logistic")
    assert lg.widths == (4, 3, 2, 1) and isinstance(lg.objective, LogisticLoss)
    same = ls.LinearNetwork.from_data(X, None, [3], loss=lg.objective)
    assert same.objective is lg.objective and same.widths == (4, 3, 1)
    sq = ls.LinearNetwork.from_data(X, rng.normal(size=(2, 30)), [3])
    assert sq.loss_name == "squared" and repr(sq).endswith("loss='squared')")
    assert isinstance(sq.objective, SigmaLoss) and np.array_equal(sq.objective.Sigma, sq.Sigma)
    with pytest.raises(LossError, match="'logistic'.*sigma"):
        lg.sigma
    with pytest.raises(LossError, match="cross_entropy"):
        net.Sigma
    with pytest.raises(LossError, match="loss must be one of"):
        ls.LinearNetwork.from_data(X, labels, [5], loss="hinge")
    with pytest.raises(LossError, match=r"shape \(d_h, d_0\)"):
        ls.LinearNetwork([4, 3, 2], loss=lg.objective)
    with pytest.raises(LossError, match="labels"):
        LogisticLoss(X, labels)  # three classes
    assert get_loss("logistic", X, (X[1] > 0).astype(float)).name == "logistic"
    assert get_loss(lg.objective) is lg.objective


def test_network_from_a_sigma_loss_matches_the_sigma_constructor():
    """loss=SigmaLoss(M): a rectangular-diagonal M is read as singular values (no rotation); another
    M is reduced by its SVD like LinearNetwork(widths, M), and the loss at data-coordinate weights agrees."""
    rng = np.random.default_rng(4)
    D = np.zeros((3, 4))
    D[0, 0], D[1, 1] = 2.0, 0.5
    a, b = ls.LinearNetwork([4, 5, 3], loss=SigmaLoss(D)), ls.LinearNetwork([4, 5, 3], [2.0, 0.5])
    assert np.array_equal(a.Sigma, b.Sigma) and np.array_equal(a.U, np.eye(3)) and a.loss_name == "squared"
    M = rng.normal(size=(3, 4))
    c, d = ls.LinearNetwork([4, 5, 3], loss=SigmaLoss(M)), ls.LinearNetwork([4, 5, 3], M)
    np.testing.assert_allclose(c.sigma, d.sigma, rtol=1e-12)
    W = ls.init.gaussian(c, 0.7, rng=1)
    Wd = c.to_data_coordinates(W)
    assert c.loss(W) == pytest.approx(float(SigmaLoss(M).value(Wd[1] @ Wd[0])), rel=1e-12)
    with pytest.raises(ls.errors.SigmaError, match="not both"):
        ls.LinearNetwork([4, 5, 3], [1.0], loss=SigmaLoss(D))
    with pytest.raises(ls.errors.SigmaError, match="omitted"):
        ls.LinearNetwork([4, 5, 1], [1.0], loss=LogisticLoss(np.ones((4, 2)), [1, -1]))
