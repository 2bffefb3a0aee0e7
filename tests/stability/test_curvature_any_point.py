"""Extreme eigenpairs, spectral density and hessian_inertia at generic points, with budgets (issue 12).

References: ``numpy.linalg.eigh`` of the dense Hessian, counted with the documented zero band.
"""

import warnings

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

import landscape as ls
import landscape.stability._eigen as eigen_module
import landscape.stability._inertia as inertia_module
from landscape.stability import BudgetExceededError
from landscape.stability._density import count_bracket, slq_nodes
from landscape.stability._eigen import HessianBlockOperator, block_krylov

TOL = 1e-8
COUNTS = ("n_negative", "n_zero", "n_positive")


def dense(net, W, tol=TOL):
    ev, vec = np.linalg.eigh(net.hessian(W))
    band = tol * max(1.0, float(np.abs(ev).max()))
    return ev, vec, (int(np.sum(ev < -band)), int(np.sum(np.abs(ev) <= band)), int(np.sum(ev > band)))


def counts(ds):
    return tuple(int(ds[name]) for name in COUNTS)


def random_orthogonal(rng, d):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def random_case(seed, scale=0.7):
    rng = np.random.default_rng(seed)
    h = int(rng.integers(2, 5))
    widths = [int(x) for x in rng.integers(2, 9, size=h + 1)]
    net = ls.LinearNetwork(widths, np.sort(rng.uniform(0.5, 3.0, min(widths[0], widths[-1])))[::-1])
    return net, ls.init.gaussian(net, scale, rng=rng)


# --- extreme eigenpairs -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_krylov_extreme_eigenpairs_equal_dense_eigh(seed):
    net, W = random_case(seed)
    ev, _, _ = dense(net, W)
    k = min(4, net.n_params // 3)
    ep = ls.extreme_eigenpairs(net, W, k=k, method="krylov", tol=TOL)
    assert ep.attrs["method"] == "krylov" and ep.attrs["status"] == "converged"
    assert bool(ep.converged.all())
    rho = float(np.abs(ev).max())
    low = ep.eigenvalues.values[ep.end.values == "lowest"]
    high = ep.eigenvalues.values[ep.end.values == "highest"]
    # the residual bounds the error of each eigenvalue: |lambda - theta| <= ||H v - theta v|| <= tol rho
    np.testing.assert_allclose(low, ev[:k], atol=TOL * rho)
    np.testing.assert_allclose(high, ev[::-1][:k], atol=TOL * rho)
    V = ep.vectors.values
    H = net.hessian(W)
    resid = np.linalg.norm(H @ V - V * ep.eigenvalues.values, axis=0)  # recomputed independently
    np.testing.assert_allclose(ep.residual.values, resid, rtol=1e-3, atol=1e-12 * rho)
    assert np.all(resid <= TOL * rho * 1.001)
    np.testing.assert_allclose(V.T @ V, np.eye(2 * k), atol=1e-8)
    assert int(ep.attrs["n_matvecs"]) > 0


@pytest.mark.parametrize("which", ["smallest", "largest"])
def test_extreme_eigenpairs_one_end(which, rng):
    net = ls.LinearNetwork([6, 7, 5, 6], np.linspace(3.0, 1.0, 6))
    W = ls.init.gaussian(net, 0.8, rng=rng)
    ev, _, _ = dense(net, W)
    ep = ls.extreme_eigenpairs(net, W, k=5, which=which, method="krylov")
    want = ev[:5] if which == "smallest" else ev[::-1][:5]
    np.testing.assert_allclose(ep.eigenvalues.values, want, atol=TOL * np.abs(ev).max())
    assert set(ep.end.values.tolist()) == {"lowest" if which == "smallest" else "highest"}


def test_extreme_eigenpairs_auto_takes_structured_then_dense_then_krylov(rng, monkeypatch):
    net = ls.LinearNetwork([5, 6, 4, 5], np.linspace(3.0, 0.5, 5))
    rotated = ls.gauge(net, ls.representative(net, (2, 4, 5)), [random_orthogonal(rng, d) for d in (6, 4)])
    generic = ls.init.gaussian(net, 0.7, rng=rng)
    for W, method in ((rotated, "structured"), (generic, "dense")):
        ep = ls.extreme_eigenpairs(net, W, k=3)
        ev, _, _ = dense(net, W)
        assert ep.attrs["method"] == method and int(ep.attrs["exact_eigenvalues"]) == 1
        np.testing.assert_allclose(ep.eigenvalues.values[:3], ev[:3], atol=1e-10 * np.abs(ev).max())
        assert float(ep.residual.max()) <= 1e-10 * np.abs(ev).max()
    monkeypatch.setattr(eigen_module, "DENSE_EIGENPAIRS_LIMIT", 10)
    assert ls.extreme_eigenpairs(net, generic, k=3).attrs["method"] == "krylov"


def test_block_krylov_counts_a_multiple_eigenvalue_beyond_the_block_size():
    """Depth 1: ``H = I`` (every eigenvalue 1, multiplicity n = 120). A block of 2 directions spans an
    invariant subspace at once; fresh directions are drawn until the whole eigenspace is locked."""
    net = ls.LinearNetwork([12, 10], [2.0, 1.0])
    op = HessianBlockOperator(net, ls.init.gaussian(net, 1.0, rng=0))
    res = block_krylov(op, above=0.5, tol=1e-10, block_size=2, verify=True, rng=0)
    assert res.status == "converged" and op.n_matvecs == net.n_params
    assert len(res.high) == net.n_params and np.allclose([p[0] for p in res.high], 1.0)
    # and where the whole operator is smaller than a few blocks it is diagonalised at once
    small = ls.LinearNetwork([3, 4], [1.0])
    op = HessianBlockOperator(small, ls.init.gaussian(small, 1.0, rng=0))
    res = block_krylov(op, n_low=2, above=0.5, rng=0)
    assert len(res.high) == small.n_params and len(res.low) == 2 and op.n_matvecs == small.n_params


# --- budgets --------------------------------------------------------------------------------------------


def test_budgets_are_respected_with_a_clear_result_or_error():
    net = ls.LinearNetwork([8, 8, 8, 8], np.linspace(3.0, 0.5, 8))
    W = ls.init.gaussian(net, 0.6, rng=3)
    with pytest.warns(UserWarning, match="stopped before convergence: max_matvecs = 40"):
        ep = ls.extreme_eigenpairs(net, W, k=4, method="krylov", tol=1e-12, max_matvecs=40)
    assert ep.attrs["status"] == "budget" and int(ep.attrs["n_matvecs"]) <= 40
    assert not bool(ep.converged.all()) and ep.sizes["eigen"] == 8 and np.all(np.isfinite(ep.residual.values))
    with pytest.warns(UserWarning, match="max_time = 1e-09 s exceeded"):
        ep = ls.extreme_eigenpairs(net, W, k=4, method="krylov", max_time=1e-9)
    assert ep.attrs["status"] == "budget"
    with pytest.raises(BudgetExceededError, match="max_matvecs = 30 Hessian-vector products would be exceeded"):
        ls.hessian_inertia(net, W, method="krylov", max_matvecs=30)
    with pytest.raises(BudgetExceededError, match="max_matvecs = 50"):
        ls.spectral_density(net, W, n_probes=10, n_steps=20, max_matvecs=50)
    with pytest.raises(BudgetExceededError, match="max_matvecs = 25"):
        ls.hessian_inertia(net, W, method="lanczos", max_matvecs=25)
    ds = ls.hessian_inertia(net, W, method="density", max_matvecs=900)
    assert int(ds.attrs["n_matvecs"]) <= 900 and int(ds.attrs["exact"]) == 0


def test_exact_eigenpairs_are_kept_whatever_the_budget():
    """The dense and structured answers are complete before any Hessian-vector product: their
    residual check is not charged to the budget (it used to raise and discard the answer)."""
    net = ls.LinearNetwork([3, 3, 3], [3.0, 2.0, 1.0])
    W = ls.representative(net, (1, 3))
    ev = np.linalg.eigvalsh(net.hessian(W))
    ep = ls.extreme_eigenpairs(net, W, k=6, method="structured", max_matvecs=11)
    np.testing.assert_allclose(np.sort(ep.eigenvalues.values), np.sort(np.r_[ev[:6], ev[-6:]]), atol=1e-12)
    assert int(ep.attrs["n_matvecs"]) == 0 and ep.attrs["status"] == "converged"
    W = ls.init.gaussian(net, 0.5, rng=2)
    ep = ls.extreme_eigenpairs(net, W, k=2, method="dense", max_time=1e-9)
    ev = np.linalg.eigvalsh(net.hessian(W))
    np.testing.assert_allclose(ep.eigenvalues.values, np.r_[ev[:2], ev[::-1][:2]], atol=1e-12)
    assert np.all(ep.residual.values < 1e-12)


@pytest.mark.parametrize("kwargs,match", [({"max_matvecs": 0}, "max_matvecs must be an integer >= 1"),
                                          ({"max_time": -1.0}, "max_time must be a finite number > 0"),
                                          ({"which": "middle"}, "which must be one of"),
                                          ({"method": "arpack"}, "method must be one of"),
                                          ({"tol": 1e-300}, r"tol must be a finite number > 0 and < 1.0 and >= 2.22e-16")])
def test_bad_arguments_name_themselves(kwargs, match):
    net = ls.LinearNetwork([2, 2, 2], [2.0, 1.0])
    with pytest.raises(ValueError, match=match):
        ls.extreme_eigenpairs(net, ls.init.gaussian(net, 1.0, rng=0), **kwargs)


# --- spectral density -------------------------------------------------------------------------------------


DENSITY_CASES = [("random", [6, 7, 5, 6], 1), ("random", [10, 10, 10, 10], 2), ("random", [12, 9, 7, 8, 6], 3),
                 ("critical", [12, 10, 8, 6], 4), ("critical", [10, 10, 10, 10], 5)]


@pytest.mark.parametrize("where,widths,seed", DENSITY_CASES)
def test_spectral_density_is_close_to_the_dense_spectrum(where, widths, seed):
    """Wasserstein-1 distance between the quadrature measure (nodes, weights averaged over probes)
    and the true eigenvalue distribution below ``width * (2/m + 2/sqrt(n n_v))`` (the form of the
    SLQ error bound of Chen, Trogdon & Ubaru 2021: a quadrature term and a sampling term); the
    counts lie within ``quadrature_error + 3 std`` of the dense counts."""
    rng = np.random.default_rng(seed)
    net = ls.LinearNetwork(widths, np.sort(rng.uniform(0.5, 3.0, min(widths[0], widths[-1])))[::-1])
    W = ls.init.gaussian(net, 0.6, rng=rng) if where == "random" else ls.representative(net, (1, 3))
    ev, _, ref = dense(net, W)
    m, nv = 40, 10
    sd = ls.spectral_density(net, W, n_probes=nv, n_steps=m, rng=seed)
    nodes, weights = sd.nodes.values, sd.weights.values
    ok = np.isfinite(nodes)
    width = ev[-1] - ev[0]
    n = net.n_params
    bound = width * (2.0 / min(m, n) + 2.0 / np.sqrt(n * nv))
    assert wasserstein_distance(nodes[ok], ev, u_weights=weights[ok]) <= bound
    assert float(sd.density.integrate("eigenvalue")) == pytest.approx(1.0, rel=1e-6)
    for name, exact in zip(("negative", "zero", "positive"), ref):
        est = float(sd[f"n_{name}_estimate"])
        unc = float(sd[f"n_{name}_quadrature_error"]) + 3 * float(sd[f"n_{name}_std"])
        assert abs(est - exact) <= unc + 1e-9 * n, (name, est, exact, unc)
    assert int(sd.attrs["exact"]) == 0 and int(sd.attrs["n_matvecs"]) <= nv * min(m, n)


def test_density_count_bracket_contains_each_probes_exact_value(rng):
    """Chebyshev-Markov-Stieltjes: for each probe v, ``v^T 1(H < x) v`` (computed densely with the
    same Rademacher probe) lies in the bracket, at several thresholds."""
    net = ls.LinearNetwork([9, 8, 7, 8], np.linspace(3.0, 0.5, 8))
    W = ls.init.gaussian(net, 0.7, rng=rng)
    ev, vec, _ = dense(net, W)
    op = HessianBlockOperator(net, W)
    nodes, weights, _, closed = slq_nodes(op, 25, 6, np.random.default_rng(11))
    probes = np.random.default_rng(11).choice([-1.0, 1.0], size=(net.n_params, 6)) / np.sqrt(net.n_params)
    coef = (vec.T @ probes) ** 2  # (n, probes): v^T P_i v
    for x in (-1.0, -1e-3, 0.3, 2.0):
        mid, half, _ = count_bracket(nodes, weights, x, closed)
        exact = coef[ev < x].sum(axis=0)
        assert np.all(np.abs(exact - mid) <= half + 1e-10), x


def test_density_with_as_many_steps_as_parameters_is_exact():
    """m >= n: every probe's Krylov space closes, the quadrature is the probe's exact measure and
    the brackets vanish; with n_v large the estimate converges to the count."""
    net = ls.LinearNetwork([3, 2, 3], [2.0, 1.0])
    W = ls.init.gaussian(net, 0.8, rng=1)
    _, _, ref = dense(net, W)
    sd = ls.spectral_density(net, W, n_probes=400, n_steps=50, rng=2)
    assert float(sd.n_negative_quadrature_error) == 0.0
    assert abs(float(sd.n_negative_estimate) - ref[0]) <= 3 * float(sd.n_negative_std) + 1e-9


# --- hessian_inertia without cliffs ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_inertia_auto_beyond_the_dense_size_counts_small_ends_exactly(seed, monkeypatch):
    """A generic point treated as large (DENSE_LIMIT lowered): the density estimate first, then the
    ends it finds small are counted by block Krylov with deflation: exact counts."""
    monkeypatch.setattr(inertia_module, "DENSE_LIMIT", 10)
    net, W = random_case(100 + seed)
    _, _, ref = dense(net, W)
    ds = ls.hessian_inertia(net, W, k=3)
    assert counts(ds) == ref
    assert int(ds.attrs["exact"]) == 1 and ds.attrs["method"] == "krylov"
    # locked pairs are converged to a tenth of the zero band
    assert np.all(ds.lowest_residual.values[: min(3, ref[0])] <= 0.1 * float(ds.attrs["zero_band"]) * 1.01)


def test_inertia_auto_falls_back_to_the_flagged_estimate_for_large_ends(monkeypatch):
    monkeypatch.setattr(inertia_module, "DENSE_LIMIT", 10)
    monkeypatch.setattr(inertia_module, "EXACT_END_LIMIT", 2)
    net = ls.LinearNetwork([8, 8, 8, 8], np.linspace(3.0, 0.5, 8))
    W = ls.init.gaussian(net, 0.6, rng=3)
    ev, _, ref = dense(net, W)
    ds = ls.hessian_inertia(net, W)
    assert int(ds.attrs["exact"]) == 0 and int(ds.attrs["exact_counts"]) == 0 and ds.attrs["method"] == "density"
    for name, exact in zip(COUNTS, ref):
        unc = float(ds[f"{name}_quadrature_error"]) + 3 * float(ds[f"{name}_std"])
        assert abs(int(ds[name]) - exact) <= unc + 1, name
    np.testing.assert_allclose(ds.lowest.values[:2], ev[:2], atol=1e-6 * np.abs(ev).max())


@pytest.mark.parametrize("widths,S", [((3, 3, 3, 3), (1,)), ((3, 4, 4, 3), (1, 2)), ((4, 5, 5, 4), (2,))])
def test_inertia_krylov_counts_critical_points_with_large_null_spaces(widths, S):
    """Dead-path critical points (h = 3): both ends small, the null space large; method='krylov'
    gives dense eigh's counts without forming the Hessian."""
    net = ls.LinearNetwork(list(widths), np.linspace(3.0, 1.0, min(widths[0], widths[-1])))
    W = ls.weights_at(ls.fiber(net, S, n_samples=1, rng=1, strata=["dead_paths"]), 0)
    _, _, ref = dense(net, W)
    ds = ls.hessian_inertia(net, W, method="krylov")
    assert counts(ds) == ref and int(ds.attrs["exact"]) == 1


def test_inertia_of_a_rotated_saddle_is_structured_and_exact(rng):
    net = ls.LinearNetwork([30] * 5, np.linspace(3.0, 0.5, 30))
    W = ls.gauge(net, ls.representative(net, tuple(range(2, 31))), [random_orthogonal(rng, 30) for _ in range(3)])
    ds = ls.hessian_inertia(net, W)
    assert ds.attrs["method"] == "structured" and ds.attrs["alignment"] == "orthogonal"
    assert int(ds.attrs["exact_eigenvalues"]) == 1 and int(ds.attrs["exact"]) == 1
    h, sigma = 4, net.sigma
    closed = np.sort(sigma[1:] ** (1 - 2 / h) * (sigma[1:] - sigma[0]))[:6]
    np.testing.assert_allclose(ds.lowest.values, closed, atol=1e-10)


def test_eigenvectors_on_a_matrix_free_path_warn():
    net = ls.LinearNetwork([3, 3, 3], [2.0, 1.0, 0.5])
    with pytest.warns(UserWarning, match="eigenvectors=True has no effect on the density path"):
        ls.hessian_inertia(net, ls.init.gaussian(net, 0.5, rng=0), method="density", eigenvectors=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ls.hessian_inertia(net, ls.representative(net, (1,)), eigenvectors=True)  # dense: no warning


@pytest.mark.parametrize("widths,S,sample", [((6, 6, 6, 6, 6), (1, 2), 0), ((6, 7, 7, 7, 6), (1, 2, 3), 0),
                                             ((8, 8, 8, 8), (1,), 0)])
def test_inertia_auto_counts_non_alignable_critical_points_exactly(widths, S, sample, monkeypatch):
    """Dead-path critical points that no gauge aligns, treated as large: the null space's quadrature
    node lies near 0 (not within the band), so the decision ignores nodes within 1% of the spectral
    radius of 0 and leaves them to the Krylov counts, which are exact."""
    monkeypatch.setattr(inertia_module, "DENSE_LIMIT", 10)
    net = ls.LinearNetwork(list(widths), np.linspace(3.0, 1.0, widths[0]))
    W = ls.weights_at(ls.fiber(net, S, n_samples=2, rng=3, strata=["dead_paths"]), sample)
    assert ls.stability.recover_alignment(net, W) is None
    _, _, ref = dense(net, W)
    ds = ls.hessian_inertia(net, W)
    assert counts(ds) == ref and ds.attrs["method"] == "krylov" and int(ds.attrs["exact"]) == 1
