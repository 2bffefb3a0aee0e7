"""Every path of ``hessian_inertia`` counts like dense ``eigh`` of ``net.hessian`` (issue 10, item 5).

The reference is independent of the package's inertia code: ``numpy.linalg.eigvalsh`` of the
dense Hessian, counted with the documented zero band ``tol * max(1, max |lambda|)``.
"""

import numpy as np
import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st

import landscape as ls
from landscape.testing import strategies as lst

TOL = 1e-8
COUNTS = ("n_negative", "n_zero", "n_positive")


def counts(ds):
    return tuple(int(ds[name]) for name in COUNTS)


def reference(net, W, tol=TOL):
    """Dense eigenvalues, zero band and counts, computed here (not by the package's inertia code)."""
    ev = np.linalg.eigvalsh(net.hessian(W))
    band = tol * max(1.0, float(np.abs(ev).max()))
    return ev, band, (int(np.sum(ev < -band)), int(np.sum(np.abs(ev) <= band)), int(np.sum(ev > band)))


def random_orthogonal(rng, d):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


# --- definite Hessians: no phantom zero ------------------------------------------------------------


@pytest.mark.parametrize("widths", [(4, 4), (3, 5), (7, 1), (6, 7), (7, 7), (20, 20)])
def test_lanczos_definite_depth1_minimum(widths):
    """Depth 1: H = I at every point (n-fold eigenvalue 1), here at the minimum W_1 = Sigma.

    (4, 4) was (0, 1, 15) before the fix; (6, 7), (7, 7) and (20, 20) take the ARPACK path,
    where the n-fold eigenvalue is found only through repeated deflation.
    """
    sigma = np.linspace(4.0, 1.0, min(widths))
    net = ls.LinearNetwork(list(widths), sigma)
    W = ls.representative(net, tuple(range(1, sigma.size + 1)))
    n = net.n_params
    assert reference(net, W)[2] == (0, 0, n)
    for k in (1, 6):
        got = ls.hessian_inertia(net, W, method="lanczos", k=k)
        assert counts(got) == (0, 0, n), (widths, k)
        np.testing.assert_allclose(got.highest.values[: min(k, n)], 1.0, atol=1e-10)
        np.testing.assert_allclose(got.lowest.values[: min(k, n)], 1.0, atol=1e-10)


@pytest.mark.parametrize("w", [(1.0, 1.0), (0.8, 1.6), (1.2, 1.0)])
def test_lanczos_definite_scalar_depth2(w):
    """Scalar h = 2, sigma = 1.5: H = [[b^2, 2ab - s], [2ab - s, a^2]] is positive definite here."""
    net = ls.LinearNetwork([1, 1, 1], 1.5)
    W = [np.array([[w[0]]]), np.array([[w[1]]])]
    ev, _, ref = reference(net, W)
    assert ref == (0, 0, 2)
    got = ls.hessian_inertia(net, W, method="lanczos")
    assert counts(got) == (0, 0, 2)
    np.testing.assert_allclose([float(got.lambda_min), float(got.lambda_max)], ev, rtol=1e-12)


# --- the law: lanczos equals dense eigh on random shapes, at random and critical points ----------------


@st.composite
def shapes_and_points(draw):
    """A network (depth 1-5, widths 1-7, wide and narrow hidden layers, d0 != dh) and a point:
    random, or a critical point A*_S moved by random orthogonal hidden gauges."""
    w = draw(lst.widths())
    net = ls.LinearNetwork(w, draw(lst.spectra(min(w[0], w[-1]))))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    where = draw(st.sampled_from(["random", "critical"]))
    if where == "random":
        W = ls.init.gaussian(net, draw(st.floats(0.1, 1.5)), rng=rng)
    elif net.depth == 1:  # the only critical point is the minimum
        W = ls.representative(net, tuple(range(1, net.sigma.size + 1)))
    else:
        S = draw(st.sets(st.integers(1, net.sigma.size), max_size=net.rank))
        W = ls.gauge(net, ls.representative(net, tuple(S)), [random_orthogonal(rng, d) for d in w[1:-1]])
    return net, W, where, draw(st.sampled_from([1, 3, 6]))


@given(shapes_and_points())
def test_lanczos_inertia_equals_dense_eigh(case):
    net, W, where, k = case
    ev, band, ref = reference(net, W)
    # only where the spectrum has a clear gap around the band: nothing within a factor 1e3 of it
    assume(not np.any((np.abs(ev) > band * 1e-3) & (np.abs(ev) < band * 1e3)))
    event(f"{where}, {'ARPACK' if net.n_params >= 40 else 'exact'} regime")
    got = ls.hessian_inertia(net, W, tol=TOL, method="lanczos", k=k)
    assert counts(got) == ref
    assert float(got.attrs["zero_band"]) == pytest.approx(band, rel=1e-10)
    shown = np.where(np.abs(ev) <= band, 0.0, ev)  # the Lanczos path reports zero-band values as 0
    m = min(k, ev.size)
    scale = max(1.0, float(np.abs(ev).max()))
    np.testing.assert_allclose(got.lowest.values[:m], shown[:m], atol=1e-10 * scale)
    np.testing.assert_allclose(got.highest.values[:m], shown[::-1][:m], atol=1e-10 * scale)


# --- no ARPACK failure -------------------------------------------------------------------------------


def _small_cases():
    """Seeded networks covering every parameter count 1..30, at random and critical points."""
    rng = np.random.default_rng(2024)
    by_n = {}
    while len(by_n) < 30 or min(len(v) for v in by_n.values()) < 2:
        h = int(rng.integers(1, 6))
        w = [int(x) for x in rng.integers(1, 8, size=h + 1)]
        n = sum(a * b for a, b in zip(w[:-1], w[1:]))
        if n <= 30 and len(by_n.setdefault(n, [])) < 2:
            by_n[n].append(w)
    cases = []
    for n in sorted(by_n):
        for w in by_n[n]:
            net = ls.LinearNetwork(w, np.sort(rng.uniform(0.5, 3.0, min(w[0], w[-1])))[::-1])
            S = tuple(range(1, net.sigma.size + 1)) if net.depth == 1 else tuple(range(1, net.rank // 2 + 1))
            cases.append((net, ls.init.gaussian(net, 1.0, rng=rng), False))
            cases.append((net, ls.representative(net, S), True))
    return cases


def test_small_cases_every_method():
    """n_params 1..30: every method answers (no ArpackError, no refusal) and counts like dense eigh.

    Before the fix, ``lanczos`` refused n <= 2 and gave a phantom zero on the definite ones.
    """
    cases = _small_cases()
    assert {net.n_params for net, _, _ in cases} == set(range(1, 31))
    for net, W, aligned in cases:
        ref = reference(net, W)[2]
        for method in ("auto", "dense", "lanczos") + (("structured",) if aligned else ()):
            for k in (1, 6):
                assert counts(ls.hessian_inertia(net, W, method=method, k=k)) == ref, (net.widths, method, k)


def _arpack_reproducers():
    # random points that made the old Lanczos path raise ArpackNoConvergence (e.g. seed 1, widths
    # (4, 6, 7, 1)) or ArpackError 3, "no shifts could be applied" (e.g. seed 15, (5, 5, 6, 2, 3, 2))
    for seed in (1, 2, 5, 9, 12, 13, 15, 20, 22, 28, 39, 52):
        rng = np.random.default_rng(seed)
        h = int(rng.integers(1, 6))
        w = [int(x) for x in rng.integers(1, 8, size=h + 1)]
        net = ls.LinearNetwork(w, np.sort(rng.uniform(0.5, 3, min(w[0], w[-1])))[::-1])
        yield seed, net, [rng.standard_normal(s) for s in net.shapes]


def test_lanczos_no_arpack_failure_on_seeded_random_points():
    for seed, net, W in _arpack_reproducers():
        assert net.n_params > 30
        assert counts(ls.hessian_inertia(net, W, method="lanczos")) == reference(net, W)[2], (seed, net.widths)
