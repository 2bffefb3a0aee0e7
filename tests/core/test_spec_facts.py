"""Spec section 10, facts 1, 5, 7, 8, 10, 11, 13 and 23 (their gradient and Hessian parts).

Critical points are written out by hand from the spec; the spectra are compared with
the spec's numbers and with the closed forms of spec 3.5.
"""

import numpy as np
import pytest

import landscape as ls
from landscape.core import literal
from tests.helpers import closed_form_spectrum, diagonal_critical_point


def eig(net, W):
    return np.linalg.eigvalsh(net.hessian(W))


def scalar(*w):
    return [np.array([[float(x)]]) for x in w]


def assert_critical(net, W):
    g = net.gradient(W)
    assert max(np.abs(x).max() for x in g) < 1e-12


def test_fact1_structure_for_widths_3_4_2_5_3(rng):
    net = ls.LinearNetwork([3, 4, 2, 5, 3], [3.0, 2.0, 1.0])
    W = ls.init.gaussian(net, 1.0, rng=rng)
    A = ls.adjacency(W)
    assert not np.any(np.linalg.matrix_power(A, 5))
    for k in range(1, 5):
        parts = [np.linalg.multi_dot(W[i : i + k][::-1]) if k > 1 else W[i] for i in range(5 - k)]
        np.testing.assert_allclose(np.linalg.matrix_power(A, k), ls.blk(k, parts, net.widths), atol=1e-12)
    assert net.loss(A) == pytest.approx(literal.literal_loss(A, net.E, 4), rel=1e-13)
    Adot = -literal.literal_gradient(A, net.E, 4)
    np.testing.assert_allclose(Adot, ls.adjacency([-g for g in net.gradient(W)]), atol=1e-11)
    V = ls.init.gaussian(net, 1.0, rng=rng)
    eps = 1e-6
    fd = (net.loss([w + eps * v for w, v in zip(W, V)]) - net.loss([w - eps * v for w, v in zip(W, V)])) / (2 * eps)
    assert fd == pytest.approx(-float(np.vdot(Adot, ls.adjacency(V))), rel=1e-7)


@pytest.mark.parametrize(
    "w, expected",
    [((0, 0), [-3, 3]), ((np.sqrt(3), np.sqrt(3)), [0, 6]), ((1, 3), [0, 10])],
)
def test_fact5_scalar_depth2_hessians(w, expected):
    net = ls.LinearNetwork([1, 1, 1], 3.0)
    W = scalar(*w)
    assert_critical(net, W)
    np.testing.assert_allclose(eig(net, W), expected, atol=1e-12)


def test_fact7_scalar_depth3():
    net = ls.LinearNetwork([1, 1, 1, 1], 3.0)
    origin = scalar(0, 0, 0)
    assert_critical(net, origin)
    assert not np.any(net.hessian(origin))
    assert net.loss(origin) == 4.5
    np.testing.assert_allclose(eig(net, scalar(2, 0, 0)), [-6, 0, 6], atol=1e-12)
    c = 3 ** (1 / 3)
    assert_critical(net, scalar(c, c, c))
    ev = eig(net, scalar(c, c, c))
    np.testing.assert_allclose(ev, [0, 0, 3 ** (7 / 3)], atol=1e-12)  # the closed form 3^(7/3)
    assert ev[-1] == pytest.approx(12.980246, abs=1e-6)  # the spec's number


def test_fact8_scalar_depth4():
    net = ls.LinearNetwork([1] * 5, 3.0)
    assert not np.any(net.hessian(scalar(2, 0, 0, 0)))
    np.testing.assert_allclose(eig(net, scalar(2, 1, 0, 0)), [-6, 0, 0, 6], atol=1e-12)


SUBSETS = [set(s) for s in [(), (0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2)]]


@pytest.mark.parametrize("h", [2, 3, 4])
@pytest.mark.parametrize("S", SUBSETS, ids=lambda S: "S=" + "".join(str(k + 1) for k in sorted(S)) if S else "S=empty")
def test_fact10_hessian_at_canonical_points_matches_closed_form(h, S):
    sigma = [3.0, 2.0, 1.0]
    net = ls.LinearNetwork([3] * (h + 1), sigma)
    W = diagonal_critical_point(sigma, S, h)
    assert_critical(net, W)
    assert net.loss(W) == pytest.approx(0.5 * sum(sigma[k] ** 2 for k in range(3) if k not in S))
    np.testing.assert_allclose(eig(net, W), closed_form_spectrum(sigma, S, h), atol=1e-10)


def _counts(ev, tol=1e-9):
    return int(np.sum(ev < -tol)), int(np.sum(np.abs(ev) <= tol)), int(np.sum(ev > tol))


def test_fact10_samples():
    sigma = [3.0, 2.0, 1.0]
    net2 = ls.LinearNetwork([3, 3, 3], sigma)
    ev = eig(net2, diagonal_critical_point(sigma, set(), 2))
    np.testing.assert_allclose(ev, sorted([-3, -2, -1] * 3 + [1, 2, 3] * 3), atol=1e-12)
    ev = eig(net2, diagonal_critical_point(sigma, {1}, 2))
    assert _counts(ev) == (5, 5, 8)
    assert ev[0] == pytest.approx(-3) and ev[-1] == pytest.approx(5)
    net3 = ls.LinearNetwork([3] * 4, sigma)
    assert not np.any(np.abs(eig(net3, diagonal_critical_point(sigma, set(), 3))) > 1e-14)
    ev = eig(net3, diagonal_critical_point(sigma, {0}, 3))
    assert _counts(ev) == (0, 22, 5)
    assert ev[-1] == pytest.approx(12.980246, abs=1e-6)
    ev = eig(net3, diagonal_critical_point(sigma, {1}, 3))
    assert _counts(ev)[0] == 1
    assert ev[0] == pytest.approx(2 ** (1 / 3) * (2 - 3)) and ev[0] == pytest.approx(-1.259921, abs=1e-6)
    assert ev[-1] == pytest.approx(7.559526, abs=1e-6)


def test_fact11_global_minima_spectra():
    sigma = [3.0, 2.0, 1.0]
    ev = eig(ls.LinearNetwork([3, 3, 3], sigma), diagonal_critical_point(sigma, {0, 1, 2}, 2))
    np.testing.assert_allclose(ev, sorted([0] * 9 + [6, 4, 2, 5, 5, 4, 4, 3, 3]), atol=1e-12)
    ev = eig(ls.LinearNetwork([3] * 4, sigma), diagonal_critical_point(sigma, {0, 1, 2}, 3))
    nonzero = [12.980246, 7.559526, 3.0] + [10.148518, 7.406833, 5.107243] * 2
    np.testing.assert_allclose(ev, sorted([0] * 18 + nonzero), atol=1e-6)


def test_fact13_origin_depth2_rectangular():
    net = ls.LinearNetwork([3, 2, 4], [3.0, 2.0, 1.0])
    W = [np.zeros((2, 3)), np.zeros((4, 2))]
    np.testing.assert_allclose(eig(net, W), sorted([-3, -3, -2, -2, -1, -1, 0, 0, 1, 1, 2, 2, 3, 3]), atol=1e-12)


@pytest.mark.parametrize("h, lam_max", [(2, 6.0), (3, 12.980246), (4, 20.784610)])
def test_fact23_sharpness_of_balanced_global_minimum(h, lam_max, rng):
    sigma = [3.0, 2.0, 1.0]
    net = ls.LinearNetwork([3] * (h + 1), sigma)
    W = diagonal_critical_point(sigma, {0, 1, 2}, h)
    top = eig(net, W)[-1]
    assert top == pytest.approx(lam_max, abs=1e-6)  # the spec's number
    assert top == pytest.approx(h * 3 ** (2 - 2 / h), rel=1e-12)  # the closed form h sigma_1^(2 - 2/h)
    for _ in range(5):  # gauge-transformed global minima are sharper
        G = [np.eye(3)] + [rng.standard_normal((3, 3)) + 2 * np.eye(3) for _ in range(h - 1)] + [np.eye(3)]
        Wg = [G[i + 1] @ W[i] @ np.linalg.inv(G[i]) for i in range(h)]
        assert net.loss(Wg) == pytest.approx(0.0, abs=1e-20)
        assert eig(net, Wg)[-1] >= lam_max * (1 - 1e-9)


@pytest.mark.parametrize("h", [2, 3, 4, 5])
def test_scalar_global_minimum_hessian_is_rank_one(h, rng):
    """At ``prod w_i = sigma`` the Hessian is ``g g^T`` with ``g_i = sigma / w_i`` (spec 3.5)."""
    sigma = 3.0
    w = rng.uniform(0.5, 2.0, size=h - 1)
    w = np.append(w, sigma / np.prod(w))
    net = ls.LinearNetwork([1] * (h + 1), sigma)
    g = sigma / w
    np.testing.assert_allclose(net.hessian(scalar(*w)), np.outer(g, g), atol=1e-12 * g.max() ** 2)
