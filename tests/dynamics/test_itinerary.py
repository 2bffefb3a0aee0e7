"""Itineraries list visits only: near Sigma_S, loss near L_S, for a dwell (spec 3.1-3.2, 6.5; issue 10 item 6)."""

import itertools

import numpy as np
import pytest

import landscape as ls
from landscape.core import kernels


def stored_samples(traj, net):
    """Stored times and end-to-end matrices of one run, plus the end state when the run stopped between samples."""
    theta, t = traj.theta.values, traj.time.values
    ok = ~np.isnan(theta).any(axis=1)
    theta, t = theta[ok], t[ok]
    if float(traj.t_final) > t[-1]:
        theta = np.vstack([theta, traj.theta_final.values])
        t = np.append(t, float(traj.t_final))
    return t, kernels.prefix_products(net.unflatten(theta))[-1]


def critical_sets(net):
    """Every admissible learnt set S (subsets of the nonzero modes with |S| <= r), by enumeration."""
    modes = [k for k in range(net.sigma.size) if net.sigma[k] > 0]
    return [S for n in range(min(net.rank, len(modes)) + 1) for S in itertools.combinations(modes, n)]


def independent_visits(traj, net, distance, loss_tolerance, min_dwell):
    """The visit definition evaluated from scratch: brute-force nearest Sigma_S, loss from P, maximal runs.

    Returns (t, P, list of (S, first index, last index)).
    """
    t, P = stored_samples(traj, net)
    sigma, Sig = net.sigma, net.Sigma
    sets = critical_sets(net)
    targets = np.zeros((len(sets),) + Sig.shape)
    for i, S in enumerate(sets):
        for k in S:
            targets[i, k, k] = sigma[k]
    values = np.array([0.5 * sum(sigma[k] ** 2 for k in range(sigma.size) if k not in S) for S in sets])
    L_star = values.min()
    dists = np.linalg.norm(P[:, None] - targets[None], axis=(-2, -1)) / np.linalg.norm(Sig)
    nearest = np.argmin(dists, axis=1)
    loss = 0.5 * np.sum((Sig - P) ** 2, axis=(-2, -1))
    L_empty = 0.5 * np.sum(sigma**2)
    near = (dists[np.arange(len(t)), nearest] <= distance) & (np.abs(loss - values[nearest]) <= loss_tolerance * L_empty)
    runs, n = [], 0
    while n < len(t):
        if not near[n]:
            n += 1
            continue
        m = n
        while m + 1 < len(t) and near[m + 1] and nearest[m + 1] == nearest[n]:
            m += 1
        is_min = values[nearest[n]] <= L_star + 1e-12
        if (is_min and m == len(t) - 1) or (not is_min and t[m] - t[n] >= min_dwell):
            runs.append((sets[nearest[n]], n, m))
        n = m + 1
    return t, P, runs


def label(S):
    return "{" + ",".join(str(k + 1) for k in S) + "}"


def assert_visits_hold(it, traj, net):
    """Every listed visit satisfies the definition at every stored time, values strictly decrease."""
    distance, tol, dwell = (float(it.attrs[k]) for k in ("distance", "loss_tolerance", "min_dwell"))
    t, P, runs = independent_visits(traj, net, distance, tol, dwell)
    listed = [(str(s), float(a), float(b)) for s, a, b in zip(it.subset.values, it.t_enter.values, it.t_exit.values)]
    expected = [(label(S), float(t[a]), float(t[b])) for S, a, b in runs]
    assert set(listed) <= set(expected), (listed, expected)
    values = it.plateau_loss.values
    assert np.all(np.diff(values) < 0), values
    ev = [0.5 * sum(net.sigma[k] ** 2 for k in range(net.sigma.size) if k not in S) for S, _, _ in runs]
    if np.all(np.diff(ev) < 0):  # no conflicts to resolve: the list is exactly the visits
        assert listed == expected, (listed, expected)
    L_empty = 0.5 * np.sum(net.sigma**2)
    for i, (s, a, b) in enumerate(listed):
        learnt = it.learnt.values[i]
        target = np.zeros_like(net.Sigma)
        target[np.flatnonzero(learnt), np.flatnonzero(learnt)] = net.sigma[learnt]
        L_S = 0.5 * float(np.sum(net.sigma[~learnt] ** 2))
        assert values[i] == pytest.approx(L_S, abs=1e-12)
        inside = (t >= a) & (t <= b)
        assert np.all(np.linalg.norm(P[inside] - target, axis=(1, 2)) <= distance * np.linalg.norm(net.Sigma))
        loss = 0.5 * np.sum((net.Sigma - P[inside]) ** 2, axis=(1, 2))
        assert np.all(np.abs(loss - L_S) <= tol * L_empty)
        if bool(it.saddle.values[i]):
            assert b - a >= dwell
        else:
            assert b == t[-1]  # a global minimum is visited at the end
    assert (it.attrs["route"] == "direct") == (not it.saddle.values.any())


def large_init_reproducer():
    net = ls.LinearNetwork([3, 3, 3, 3], [3.0, 2.0, 1.0])
    rng = np.random.default_rng(0)
    ls.init.gaussian(net, 1e-2, rng=rng)  # the explorer's small draw comes first
    W0 = ls.init.gaussian(net, 1.0, rng=rng)
    return net, W0


def test_large_init_goes_direct_to_the_minimum():
    """Issue 10 item 6: the old nearest-subset rule printed {} -> {2} -> {1,2} -> {1} -> {1,2} -> {1,2,3}."""
    net, W0 = large_init_reproducer()
    assert net.loss(W0) == pytest.approx(31.679189, abs=1e-5)
    traj = ls.gradient_flow(net, W0, 20.0, method="dopri5", times="log", n_points=400, t_min=1e-3, progress=False)
    assert np.all(np.diff(traj.loss.values) <= 1e-12 * traj.loss.values[0])  # the loss falls monotonically
    it = ls.itinerary(traj)
    assert it.attrs["route"] == "direct"
    assert list(it.subset.values) == ["{1,2,3}"] and not it.saddle.values.any()
    assert it.attrs["end"] == "{1,2,3}"
    assert_visits_hold(it, traj, net)


def test_small_init_visits_saddles_in_order_around_the_half_learning_times():
    """Spec fact 19: W_i(0) = 1e-3 I, depth 2. Each per-mode half-learning time lies between two visits."""
    net = ls.LinearNetwork([3, 3, 3], [3.0, 2.0, 1.0])
    traj = ls.gradient_flow(net, ls.init.identity(net, 1e-3), 12.0, method="dopri5", n_points=1201)
    it = ls.itinerary(traj)
    assert list(it.subset.values) == ["{}", "{1}", "{1,2}", "{1,2,3}"]
    assert it.attrs["route"] == "{} -> {1} -> {1,2} -> {1,2,3}"
    assert list(it.saddle.values) == [True, True, True, False]
    np.testing.assert_allclose(it.plateau_loss.values, [7.0, 2.5, 0.5, 0.0])
    t_half = it.t_half.values
    np.testing.assert_allclose(t_half, [2.4857, 3.6272, 6.9078], atol=1e-3)
    assert it.t_enter.values[0] == 0.0 and it.t_exit.values[-1] == 12.0  # starts at {}, ends at the minimum
    for k in range(3):  # departure from the k-th visit < half-learning time of mode k+1 < arrival at the next
        assert it.t_exit.values[k] < t_half[k] < it.t_enter.values[k + 1]
    assert_visits_hold(it, traj, net)


def test_thresholds_are_keywords_recorded_in_attrs():
    net = ls.LinearNetwork([3, 3, 3], [3.0, 2.0, 1.0])
    traj = ls.gradient_flow(net, ls.init.identity(net, 1e-3), 12.0, method="dopri5", n_points=1201)
    it = ls.itinerary(traj)
    assert (it.attrs["distance"], it.attrs["loss_tolerance"]) == (0.1, 0.05)
    assert it.attrs["min_dwell"] == pytest.approx(1 / 6)  # 1 / (h sigma_1^{2 - 2/h})
    strict = ls.itinerary(traj, distance=0.02, loss_tolerance=0.01, min_dwell=0.5)
    assert (strict.attrs["distance"], strict.attrs["loss_tolerance"], strict.attrs["min_dwell"]) == (0.02, 0.01, 0.5)
    assert list(strict.subset.values) == ["{}", "{1,2}", "{1,2,3}"]  # the {1} visit is shorter than 0.5
    assert_visits_hold(strict, traj, net)
    for name in ("distance", "loss_tolerance"):
        with pytest.raises(ValueError, match=f"{name} must be a finite number > 0"):
            ls.itinerary(traj, **{name: 0.0})
    with pytest.raises(ValueError, match="min_dwell must be a finite number >= 0"):
        ls.itinerary(traj, min_dwell=-1.0)


def test_stuck_at_a_saddle_is_a_visit_and_not_direct():
    """W = 0 is a critical point: the run stays at {} (its end) and the route says so."""
    net = ls.LinearNetwork([2, 2, 2], [2.0, 1.0])
    traj = ls.gradient_flow(net, [np.zeros((2, 2)), np.zeros((2, 2))], 5.0, method="dopri5", n_points=11)
    it = ls.itinerary(traj)
    assert list(it.subset.values) == ["{}"] and it.attrs["route"] == "{}" and it.attrs["end"] == "{}"
    assert it.t_exit.values[0] == 5.0


def random_run(seed):
    rng = np.random.default_rng(seed)
    h = int(rng.integers(2, 4))
    widths = [int(w) for w in rng.integers(1, 5, size=h + 1)]
    k = min(widths[0], widths[-1])
    sigma = np.sort(rng.uniform(0.3, 3.0, size=k))[::-1]
    net = ls.LinearNetwork(widths, sigma)
    scale = float(10 ** rng.uniform(-2.5 if h == 2 else -1.5, 0.3))
    W0 = ls.init.gaussian(net, scale, rng=seed)
    t_end = 40.0 if h == 2 else 150.0
    loss_below = 1e-9 if seed % 2 else None  # half the runs stop at an event between stored times
    traj = ls.gradient_flow(net, W0, t_end, method="dopri5", times="log", n_points=300, t_min=1e-3,
                            loss_below=loss_below, progress=False)
    return net, traj


@pytest.mark.parametrize("seed", range(16))
def test_law_listed_visits_satisfy_the_definition_on_the_stored_trajectory(seed):
    net, traj = random_run(seed)
    it = ls.itinerary(traj)
    assert_visits_hold(it, traj, net)
    d = float(rng_threshold(seed))
    it2 = ls.itinerary(traj, distance=d, loss_tolerance=d / 2, min_dwell=0.0)
    assert_visits_hold(it2, traj, net)


def rng_threshold(seed):
    return np.random.default_rng(1000 + seed).uniform(0.03, 0.3)


def test_batch_needs_a_run_and_selector_picks_one():
    net = ls.LinearNetwork([2, 2, 2], [2.0, 1.0])
    W0 = [np.stack(m) for m in zip(*(ls.init.gaussian(net, 1e-2, rng=s) for s in range(2)))]
    traj = ls.gradient_flow(net, W0, 20.0, method="dopri5", times="log", n_points=200, progress=False)
    with pytest.raises(ValueError, match=r"pick one, e.g. itinerary\(ds, run=0\)"):
        ls.itinerary(traj)
    it = ls.itinerary(traj, run=1)
    assert_visits_hold(it, traj.isel(run=1), net)


def test_a_return_to_the_same_saddle_keeps_the_longer_visit():
    """Critical values strictly decrease: two visits to {} (a synthetic path leaves and returns) keep the longer."""
    net = ls.LinearNetwork([2, 2, 2], [2.0, 1.0])
    t = np.round(np.arange(0.0, 4.01, 0.1), 10)
    traj = ls.gradient_flow(net, ls.init.gaussian(net, 0.1, rng=0), 4.0, method="dopri5", times=t)
    P = np.zeros((t.size, 2, 2))
    P[(t > 1.05) & (t < 1.15)] = [[0.0, 0.4], [0.0, 0.0]]  # distance 0.18 > 0.1, loss still within 0.125 of 2.5
    P[t > 2.55] = net.Sigma  # then the minimum
    theta = np.array([np.concatenate([p.ravel(), np.eye(2).ravel()]) for p in P])
    traj["theta"].values[:] = theta
    traj["theta_final"].values[:] = theta[-1]
    it = ls.itinerary(traj, net, min_dwell=0.5)
    assert list(it.subset.values) == ["{}", "{1,2}"]
    assert (it.t_enter.values[0], it.t_exit.values[0]) == (1.2, 2.5)  # 1.3 long, the first stay [0, 1] only 1.0
    assert_visits_hold(it, traj, net)
