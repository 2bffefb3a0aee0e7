"""ls.manifold_surface: 2-D stable and unstable manifolds as triangle meshes (issue 11, section 2).

Exact cases: widths (1, 2, 1), sigma = s: W^u(0) = {W_1 = v, W_2 = v^T, |v|^2 < s} (a disk bounded
by the circle of minima) and W^s(0) = {W_1 = v, W_2 = -v^T} (a plane). Degenerate case: the origin
of widths (1, 2, 2, 1) (depth 3, Hessian identically 0): its unstable and stable sets are the
balanced rank-one networks W_1 = a u, W_2 = a w u^T, W_3 = +-a w^T (|u| = |w| = 1) with product
P = +-a^3 positive (W^u, a^3 < s) or negative (W^s); along them each layer's scale obeys the
scalar balanced ODE da/dt = a^2 (s -+ a^3), which gives the flow bounds tested below.
"""

import numpy as np
import pytest

import landscape as ls
from landscape.dynamics import FlowProblem, solvers
from landscape.errors import LandscapeValueError
from landscape.stability import NotCriticalError

S121 = 2.0


@pytest.fixture(scope="module")
def disk():
    net = ls.LinearNetwork([1, 2, 1], S121)
    return net, ls.manifold_surface(net, ls.representative(net, []), "unstable", max_distance=2.5, delta=0.1)


@pytest.fixture(scope="module")
def plane():
    net = ls.LinearNetwork([1, 2, 1], S121)
    return net, ls.manifold_surface(net, ls.representative(net, []), "stable", max_distance=1.2, delta=0.1)


@pytest.fixture(scope="module")
def degenerate():
    net = ls.LinearNetwork([1, 2, 2, 1], 1.0)
    W0 = ls.representative(net, [])
    return net, {kind: ls.manifold_surface(net, W0, kind, max_distance=0.8, delta=0.08) for kind in ("unstable", "stable")}


def _flow(net, points, T, sign):
    res = solvers.integrate(FlowProblem(net, sign=sign), "dopri5", points, np.array([0.0, T]), rtol=1e-11,
                            atol=1e-14, progress=False)
    return res["Y_final"]


def _euler_characteristic(tri, n_vertices):
    edges = {tuple(sorted(e)) for t in tri for e in ((t[0], t[1]), (t[1], t[2]), (t[0], t[2]))}
    used = np.unique(tri).size
    return used - len(edges) + len(tri), used == n_vertices, edges


def test_unstable_manifold_of_121_origin_is_the_disk_bounded_by_the_circle_of_minima(disk):
    net, ds = disk
    P = ds["points"].values
    v, w = P[:, :2], P[:, 2:]
    assert ds.attrs["start"] == "eigenspace" and ds.sizes["vertex"] > 500
    assert np.abs(v - w).max() < 1e-6  # W_2 = W_1^T
    r2 = np.sum(v * v, axis=1)
    assert r2.max() <= S121 * (1 + 1e-6)
    # growth ends on the circle of minima |v|^2 = s (the boundary of the disk), at loss 0
    ends = ds["stop"].values == "critical_set"
    assert ends.sum() >= 16 and ds.attrs["stop_reason"].startswith("every point")
    assert np.abs(r2[ends] - S121).max() < 1e-6
    assert np.abs(ds["loss"].values[ends]).max() < 1e-10
    assert np.all(ds["loss"].values[1:] < 0.5 * S121**2)


def test_stable_manifold_of_121_origin_is_the_plane(plane):
    net, ds = plane
    P = ds["points"].values
    assert np.abs(P[:, :2] + P[:, 2:]).max() < 1e-6  # W_2 = -W_1^T
    assert ds.attrs["stop_reason"].startswith("geodesic radius")
    assert ds["geodesic_distance"].values.max() == pytest.approx(1.2, rel=1e-9)
    # geodesic distance on a plane is the Euclidean distance from W*
    far = ds["stop"].values == "max_distance"
    assert np.abs(np.linalg.norm(P[far], axis=1) - 1.2).max() < 1e-2
    assert np.all(ds["loss"].values[1:] > 0.5 * S121**2)


@pytest.mark.parametrize("which", ["disk", "plane"])
def test_flow_is_tangent_to_the_121_surfaces(request, which):
    net, ds = request.getfixturevalue(which)
    ang = ds["tangency_angle"].values
    assert np.isnan(ang[0])  # the field vanishes at W*
    assert np.nanmax(ang) < 1e-6 and ds.attrs["tangency_angle_max"] < 1e-6
    assert ds["conserved_deviation"].values.max() < 1e-12


@pytest.mark.parametrize("which", ["disk", "plane"])
def test_mesh_is_a_triangulated_disk(request, which):
    _, ds = request.getfixturevalue(which)
    tri = ds["triangles"].values
    assert tri.dtype.kind == "i" and ds.sizes["corner"] == 3
    assert tri.min() >= 0 and tri.max() < ds.sizes["vertex"]
    assert np.all((tri[:, 0] != tri[:, 1]) & (tri[:, 1] != tri[:, 2]) & (tri[:, 0] != tri[:, 2]))
    chi, all_used, edges = _euler_characteristic(tri, ds.sizes["vertex"])
    assert all_used and chi == 1  # V - E + F of a disk
    count = {}
    for t in tri:
        for e in ((t[0], t[1]), (t[1], t[2]), (t[0], t[2])):
            count[tuple(sorted(e))] = count.get(tuple(sorted(e)), 0) + 1
    assert max(count.values()) == 2  # every edge borders one or two triangles
    # triangles are not slivers: the smallest angle stays above a few degrees
    P = ds["points"].values
    a, b, c = P[tri[:, 0]], P[tri[:, 1]], P[tri[:, 2]]
    la, lb, lc = (np.linalg.norm(b - c, axis=1), np.linalg.norm(a - c, axis=1), np.linalg.norm(a - b, axis=1))
    cos = np.clip((lb**2 + lc**2 - la**2) / (2 * lb * lc), -1, 1)
    assert np.degrees(np.arccos(cos)).min() > 3.0


def _directed_edge_counts(tri):
    counts = {}
    for t in tri:
        for e in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0])):
            e = (int(e[0]), int(e[1]))
            counts[e] = counts.get(e, 0) + 1
    return counts


@pytest.fixture(scope="module")
def strict_saddle_232():
    net = ls.LinearNetwork([2, 3, 2], [2.0, 1.0])
    return net, ls.manifold_surface(net, ls.representative(net, [2]), "unstable", max_distance=0.1)


@pytest.mark.parametrize("which, kind", [("disk", None), ("plane", None), ("strict_saddle_232", None),
                                         ("degenerate", "unstable"), ("degenerate", "stable")])
def test_mesh_is_consistently_oriented(request, which, kind):
    # every directed edge is used at most once, and every interior edge (two triangles) once in
    # each direction; the ring-0 fan was wound like the first strip (63 ring-0 edges used twice
    # in the same direction on the (2,3,2) saddle, found by an independent check)
    _, ds = request.getfixturevalue(which)
    ds = ds if kind is None else ds[kind]
    tri = ds["triangles"].values
    counts = _directed_edge_counts(tri)
    assert max(counts.values()) == 1
    undirected = {}
    for a, b in counts:
        undirected[(min(a, b), max(a, b))] = undirected.get((min(a, b), max(a, b)), 0) + 1
    interior = [e for e, c in undirected.items() if c == 2]
    assert len(interior) > 3 * ds.sizes["vertex"] // 2  # a triangulated disk: most edges are interior
    assert all(counts.get((a, b)) == 1 and counts.get((b, a)) == 1 for a, b in interior)
    # the fan at W* is part of it: each edge from vertex 0 runs out in one triangle and back in the next
    fan = tri[np.any(tri == 0, axis=1)]
    assert len(fan) == np.count_nonzero(ds["ring"].values == 0) - 1  # ring 0 holds W* and the start circle
    assert all(counts.get((0, v)) == 1 and counts.get((v, 0)) == 1 for v in np.unique(fan[fan != 0]))


def test_every_121_stable_vertex_flows_forward_to_the_saddle(plane):
    net, ds = plane
    P = ds["points"].values[1:]
    T = 4.0
    end = _flow(net, P, T, +1)
    # on W^s: dv/dt = -v (s + |v|^2), so |v(T)| <= |v(0)| exp(-s T)
    bound = np.linalg.norm(P, axis=1) * np.exp(-S121 * T)
    assert np.all(np.linalg.norm(end, axis=1) <= bound * (1 + 1e-6) + 1e-12)


def test_every_121_unstable_vertex_flows_backward_to_the_saddle(disk):
    net, ds = disk
    inside = ds["stop"].values != "critical_set"  # the circle of minima is the disk's boundary, not in W^u
    P = ds["points"].values[inside][1:]
    T = 3.0
    end = _flow(net, P, T, -1)
    # backward on W^u: dv/dt = -v (s - |v|^2), so |v(T)| <= |v(0)| exp(-(s - |v(0)|^2) T)
    r0 = np.linalg.norm(P[:, :2], axis=1)
    bound = np.linalg.norm(P, axis=1) * np.exp(-(S121 - r0**2) * T)
    assert np.all(np.linalg.norm(end, axis=1) <= bound * (1 + 1e-6) + 1e-12)


def test_degenerate_h3_saddle_starts_from_the_blow_up_cone(degenerate):
    net, surf = degenerate
    assert np.all(net.hessian(ls.representative(net, [])) == 0)
    for kind, ds in surf.items():
        assert ds.attrs["start"] == "blow_up" and ds.attrs["arc_order"] == 3
        d = ds["directions"].values
        # the generating directions are balanced rank-one paths: C_i(d) = 0, each layer of norm 1/sqrt(3)
        for x in d:
            W = net.unflatten(x)
            assert all(np.linalg.norm(c) < 1e-12 for c in ls.conserved_quantities(W))
            assert np.allclose([np.linalg.norm(w) for w in W], 1 / np.sqrt(3))


@pytest.mark.parametrize("kind", ["unstable", "stable"])
def test_degenerate_h3_surface_is_invariant_and_conserves_C(degenerate, kind):
    net, surf = degenerate
    ds = surf[kind]
    P = ds["points"].values
    assert ds.sizes["vertex"] > 150
    # the conserved quantities are those of W* = 0 at every vertex
    assert ds["conserved_deviation"].values.max() < 1e-9
    # the flow is tangent to the mesh: the angle is of the order of the mesh spacing over the radius
    ang = ds["tangency_angle"].values[1:]
    assert np.nanmax(ang) < 0.05 and np.nanmedian(ang) < 5e-3
    # the product P = W_3 W_2 W_1 has the sign of the set (W^u: P > 0 and L < L*; W^s: P < 0, L > L*)
    prod = np.array([ls.LinearNetwork([1, 2, 2, 1], 1.0).end_to_end(net.unflatten(x))[0, 0] for x in P[1:]])
    loss = ds["loss"].values[1:]
    if kind == "unstable":
        assert prod.min() > 0 and loss.max() < 0.5
    else:
        assert prod.max() < 0 and loss.min() > 0.5


def test_every_degenerate_stable_vertex_flows_forward_to_the_saddle(degenerate):
    net, surf = degenerate
    P = surf["stable"]["points"].values[1:]
    T = 200.0
    end = _flow(net, P, T, +1)
    # per-layer scale a of a balanced path with P = -a^3: da/dt = -a^2 (s + a^3) <= -s a^2,
    # so 1 / a(T) >= 1 / a(0) + s T  (s = 1; |W| = sqrt(3) a)
    a0 = np.linalg.norm(P, axis=1) / np.sqrt(3)
    bound = np.sqrt(3) / (1 / a0 + T)
    assert np.all(np.linalg.norm(end, axis=1) <= bound * (1 + 1e-5))
    assert np.linalg.norm(end, axis=1).max() < 0.01


def test_every_degenerate_unstable_vertex_flows_backward_to_the_saddle(degenerate):
    net, surf = degenerate
    P = surf["unstable"]["points"].values[1:]
    T = 200.0
    end = _flow(net, P, T, -1)
    # backward, P = a^3 < s: da/dt = -a^2 (s - a^3) <= -a^2 (s - a(0)^3) while a decreases
    a0 = np.linalg.norm(P, axis=1) / np.sqrt(3)
    bound = np.sqrt(3) / (1 / a0 + (1 - a0**3) * T)
    assert np.all(np.linalg.norm(end, axis=1) <= bound * (1 + 1e-5))


def test_given_directions_span_the_start_circle():
    net = ls.LinearNetwork([2, 3, 2], [3.0, 1.0])
    W0 = ls.representative(net, [])
    lam, Q = np.linalg.eigh(net.hessian(W0))
    # one eigenvector of -3 (mode 1) and one of -1 (mode 2): a curved invariant surface
    d = [Q[:, 0], Q[:, np.flatnonzero(np.isclose(lam, -1.0))[0]]]
    ds = ls.manifold_surface(net, W0, "unstable", directions=d, max_distance=0.4, delta=0.05)
    assert ds.attrs["direction_source"] == "directions"
    assert np.allclose(ds["directions"].values @ ds["directions"].values.T, np.eye(2), atol=1e-12)
    assert ds["conserved_deviation"].values.max() < 1e-9
    assert np.nanmedian(ds["tangency_angle"].values) < 1e-2


def test_loss_level_stops_growth():
    net = ls.LinearNetwork([1, 2, 1], S121)
    ds = ls.manifold_surface(net, ls.representative(net, []), "unstable", max_distance=3.0, delta=0.1,
                             loss_level=1.0)
    stopped = ds["stop"].values == "loss_level"
    assert stopped.sum() >= 16 and np.abs(ds["loss"].values[stopped] - 1.0).max() < 1e-7
    assert ds["loss"].values.min() >= 1.0 - 1e-7


def test_surface_saves_and_loads_identically(plane, tmp_path):
    import xarray as xr

    _, ds = plane
    back = ls.load(ls.save(ds, tmp_path / "surface.nc"))
    xr.testing.assert_identical(back[["points", "triangles", "geodesic_distance", "loss"]],
                                ds[["points", "triangles", "geodesic_distance", "loss"]])


def test_bad_arguments_are_named():
    net = ls.LinearNetwork([1, 2, 1], S121)
    W0 = ls.representative(net, [])
    with pytest.raises(LandscapeValueError, match="kind must be 'unstable' or 'stable'; got 'sideways'"):
        ls.manifold_surface(net, W0, "sideways")
    with pytest.raises(NotCriticalError, match="W_star is not a critical point"):
        ls.manifold_surface(net, [0.5 * np.ones((2, 1)), np.ones((1, 2))])
    with pytest.raises(LandscapeValueError, match="directions must be two independent directions"):
        ls.manifold_surface(net, W0, directions=[np.ones(4), 2 * np.ones(4)])
    with pytest.raises(LandscapeValueError, match="min_spacing must be below max_spacing / 2"):
        ls.manifold_surface(net, W0, delta=0.1, min_spacing=0.1, max_spacing=0.15)
    with pytest.raises(LandscapeValueError, match=r"directions\[0\] must be a nonzero direction; got all zeros"):
        ls.manifold_surface(net, W0, directions=[np.zeros(4), np.array([1.0, 0, 1, 0])])
    with pytest.raises(LandscapeValueError, match=r"directions\[1\] must be finite"):
        ls.manifold_surface(net, W0, directions=[np.ones(4), np.array([1.0, np.nan, 1, 0])])
    # a start circle beyond max_distance would leave W^u = {|v|^2 < sigma} (found by an independent check)
    with pytest.raises(LandscapeValueError, match="radius .* must be smaller than max_distance"):
        ls.manifold_surface(net, W0, radius=5.0, max_distance=1.0)
    L0 = float(net.loss(W0))
    with pytest.raises(LandscapeValueError, match="loss_level must lie below the critical value"):
        ls.manifold_surface(net, W0, "unstable", loss_level=L0 + 3.0)
    with pytest.raises(LandscapeValueError, match="loss_level must lie above the critical value"):
        ls.manifold_surface(net, W0, "stable", loss_level=L0 - 0.5)
    with pytest.raises(LandscapeValueError, match="start='eigenspace' needs two Hessian eigenvalues"):
        ls.manifold_surface(ls.LinearNetwork([1, 2, 2, 1], 1.0), [np.zeros((2, 1)), np.zeros((2, 2)),
                                                                  np.zeros((1, 2))], start="eigenspace")


@pytest.mark.parametrize("name", ["loss_level", "radius", "delta", "max_distance", "min_spacing", "max_spacing",
                                  "angle_min", "angle_max", "delta_min", "delta_max", "rtol", "tol"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_float_arguments_are_refused_by_name(name, value):
    # loss_level = NaN was accepted: every orbit 'stalled' at once (NaN compares false) and a
    # 65-vertex surface came back with attrs loss_level = nan (found by an independent check)
    net = ls.LinearNetwork([2, 3, 2], [2.0, 1.0])
    W = ls.representative(net, [2])
    with pytest.raises(LandscapeValueError, match=rf"^{name} must be a finite number"):
        ls.manifold_surface(net, W, "unstable", **{"max_distance": 0.2, name: value})


def test_loss_level_must_be_a_real_number():
    from landscape.errors import LandscapeTypeError

    net = ls.LinearNetwork([1, 2, 1], S121)
    for bad in ("0.5", True, [0.5]):
        with pytest.raises(LandscapeTypeError, match="loss_level must be a real number .* or None; got"):
            ls.manifold_surface(net, ls.representative(net, []), "unstable", loss_level=bad)


@pytest.mark.parametrize("widths", [[2, 3, 4, 2], [3, 2, 5, 3, 1], [1, 4, 1]])
def test_projection_onto_the_conserved_level_set_dense_equals_matrix_free(widths):
    from landscape.stability._surface import _conserved_projector

    rng = np.random.default_rng(5)
    net = ls.LinearNetwork(widths, np.linspace(3.0, 1.0, min(widths[0], widths[-1])))
    W = ls.init.gaussian(net, 0.5, rng=1)
    centre = net.flatten(W)
    X = centre + 0.02 * rng.standard_normal((4, net.n_params))
    dense = _conserved_projector(net, centre, dense=True)(X)
    free = _conserved_projector(net, centre, dense=False)(X)
    assert np.allclose(dense, free, atol=1e-10)
    C0 = ls.conserved_quantities(W)
    for x in dense:
        assert max(np.abs(c - c0).max() for c, c0 in zip(ls.conserved_quantities(net.unflatten(x)), C0)) < 1e-10
    # a least-norm correction: the step is orthogonal to the level set's tangent space (J^T y)
    assert np.all(np.linalg.norm(dense - X, axis=1) < 0.2)


def test_blow_up_start_at_a_gauged_non_strict_saddle():
    # widths (2,3,3,2), sigma = (2, 1), S = {1} (top set, h = 3: non-strict), moved by orthogonal
    # hidden gauges: W^u is the insertion of mode 2 through the free units (order-3 arcs)
    net = ls.LinearNetwork([2, 3, 3, 2], [2.0, 1.0])
    W = ls.representative(net, [1])
    rng = np.random.default_rng(0)
    G1, G2 = (np.linalg.qr(rng.standard_normal((3, 3)))[0] for _ in range(2))
    W = [G1 @ W[0], G2 @ W[1] @ G1.T, W[2] @ G2.T]
    assert np.linalg.eigvalsh(net.hessian(W)).min() > -1e-9  # no negative curvature: the Hessian fails
    ds = ls.manifold_surface(net, W, "unstable", max_distance=0.6, delta=0.08)
    assert ds.attrs["start"] == "blow_up" and ds.attrs["arc_order"] == 3
    assert ds["conserved_deviation"].values.max() < 1e-9
    assert np.all(ds["loss"].values[1:] < 0.5)  # below L_S = sigma_2^2 / 2
    ang = ds["tangency_angle"].values
    assert np.nanmax(ang) < 0.05 and np.nanmedian(ang) < 1e-2
    # backward, the inserted path (per-layer scale a, product a^3 < sigma_2 = 1) shrinks as
    # da/dt = -a^2 (1 - a^3), while the learnt mode stays at W*. The learnt mode is attracting
    # forward (Hessian 3 sigma_1^(4/3) ~ 7.6), so backward any error grows like exp(7.6 t): a
    # short horizon (T = 1, the path shrinks by about a quarter) keeps it below 1e-5
    centre = ds["theta_star"].values
    P = ds["points"].values[1:]
    T = 1.0
    end = _flow(net, P, T, -1)
    a0 = np.linalg.norm(P - centre, axis=1) / np.sqrt(3)
    bound = np.sqrt(3) / (1 / a0 + (1 - a0**3) * T)
    assert np.all(np.linalg.norm(end - centre, axis=1) <= bound + 1e-5)
    far = ds["geodesic_distance"].values[1:] > 0.4
    assert far.sum() > 20 and np.all(bound[far] < 0.85 * np.linalg.norm(P - centre, axis=1)[far])


def test_no_surface_where_the_set_has_no_two_directions():
    # scalar depth 3: W^u(0) is four half-lines (spec 5.5), there is no 2-D surface to grow
    net = ls.LinearNetwork([1, 1, 1, 1], 3.0)
    with pytest.raises(LandscapeValueError, match="no 2-D unstable surface to start from at W_star: the Hessian has 0 "
                                                  "negative eigenvalue"):
        ls.manifold_surface(net, [np.zeros((1, 1))] * 3)


# ----------------------------------------------------------------------------- independent flow checks
def _scipy_flow(widths, sigma, points, T, sign):
    """End points of the gradient flow (sign=+1) or its reverse (-1) after time T, by scipy's DOP853.

    Independent of the package: the per-layer gradient W_j' = W_{j+1:h}^T (Sigma - P) W_{1:j-1}^T
    (spec 1.4) written here with numpy, every point integrated in one stacked system (rtol 1e-12).
    """
    from scipy.integrate import solve_ivp

    shapes = [(widths[i + 1], widths[i]) for i in range(len(widths) - 1)]
    Sig = np.zeros((widths[-1], widths[0]))
    s = np.atleast_1d(np.asarray(sigma, dtype=float))
    Sig[np.arange(s.size), np.arange(s.size)] = s
    B = points.shape[0]

    def rhs(t, y):
        X = y.reshape(B, -1)
        Ws, o = [], 0
        for a, b in shapes:
            Ws.append(X[:, o:o + a * b].reshape(B, a, b))
            o += a * b
        pre = [np.broadcast_to(np.eye(widths[0]), (B, widths[0], widths[0]))]
        for W in Ws:
            pre.append(W @ pre[-1])
        R = Sig - pre[-1]
        out, post = [], np.broadcast_to(np.eye(widths[-1]), (B, widths[-1], widths[-1]))
        for j in range(len(Ws) - 1, -1, -1):
            out.append(np.swapaxes(post, 1, 2) @ R @ np.swapaxes(pre[j], 1, 2))
            post = post @ Ws[j]
        return sign * np.concatenate([g.reshape(B, -1) for g in out[::-1]], axis=1).ravel()

    sol = solve_ivp(rhs, (0.0, T), points.ravel(), method="DOP853", rtol=1e-12, atol=1e-14)
    assert sol.success
    return sol.y[:, -1].reshape(B, -1)


def test_scipy_reference_flow_matches_the_closed_form_on_the_121_plane():
    # W^s(0) of (1,2,1): v' = -v (s + |v|^2) exactly; the reference integrator must reproduce it
    v0 = np.array([[0.3, -0.4]])
    end = _scipy_flow([1, 2, 1], S121, np.hstack([v0, -v0]), 1.0, +1)
    r0 = 0.25
    r1 = np.sqrt(S121 * r0 * np.exp(-2 * S121) / (S121 + r0 - r0 * np.exp(-2 * S121)))  # d(r^2)/dt = -2 r^2 (s + r^2)
    assert np.linalg.norm(end[0, :2]) == pytest.approx(r1, rel=1e-9)


def test_every_121_vertex_flows_to_the_saddle_by_an_independent_integrator(disk, plane):
    _, ds = plane
    P = ds["points"].values[1:]
    end = _scipy_flow([1, 2, 1], S121, P, 4.0, +1)
    assert np.all(np.linalg.norm(end, axis=1) <= np.linalg.norm(P, axis=1) * np.exp(-S121 * 4.0) * (1 + 1e-6) + 1e-12)
    _, ds = disk
    inside = ds["stop"].values != "critical_set"
    P = ds["points"].values[inside][1:]
    end = _scipy_flow([1, 2, 1], S121, P, 3.0, -1)
    r0 = np.linalg.norm(P[:, :2], axis=1)
    bound = np.linalg.norm(P, axis=1) * np.exp(-(S121 - r0**2) * 3.0)
    assert np.all(np.linalg.norm(end, axis=1) <= bound * (1 + 1e-6) + 1e-12)


@pytest.mark.parametrize("kind", ["unstable", "stable"])
def test_every_degenerate_vertex_flows_to_the_saddle_by_an_independent_integrator(degenerate, kind):
    net, surf = degenerate
    P = surf[kind]["points"].values[1:]
    T = 200.0
    end = _scipy_flow([1, 2, 2, 1], 1.0, P, T, +1 if kind == "stable" else -1)
    a0 = np.linalg.norm(P, axis=1) / np.sqrt(3)
    rate = 1.0 if kind == "stable" else 1 - a0**3  # da/dt = -a^2 (s +- a^3), bounded as in the tests above
    bound = np.sqrt(3) / (1 / a0 + rate * T)
    assert np.all(np.linalg.norm(end, axis=1) <= bound * (1 + 1e-5))
    assert np.linalg.norm(end, axis=1).max() < 0.02


# ----------------------------------------------------------------------------- fixes of the verifier's findings
def _ortho(n, seed):
    return np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))[0]


def test_blow_up_surface_at_an_orthogonally_gauged_strict_saddle_is_invariant():
    # (2,3,3,2), S = {2}: a negative (exchange) eigenvalue and the slow order-3 insertion of mode 1.
    # The blow-up surface is a slow surface inside W^u: grown at W_star itself, rounding errors
    # along the fast exchange direction grew like exp(t) and the mesh left the set (1.55 rad)
    net = ls.LinearNetwork([2, 3, 3, 2], [2.0, 1.0])
    W = ls.representative(net, [2])
    G = [_ortho(3, 1), _ortho(3, 2)]
    Wg = ls.gauge(net, W, G)
    ds = ls.manifold_surface(net, Wg, "unstable", max_distance=0.3, max_vertices=600)
    assert ds.attrs["start"] == "blow_up" and ds.attrs["frame"] == "aligned"
    assert np.allclose(ds["theta_star"].values, net.flatten(Wg), atol=0) and np.all(ds["points"].values[0] ==
                                                                                     net.flatten(Wg))
    ang = ds["tangency_angle"].values
    assert np.nanmax(ang) < 0.02 and ds.attrs["invariance_violations"] == 0
    assert ds["conserved_deviation"].values.max() < 1e-9
    L_S = float(net.loss(Wg))
    assert np.all(ds["loss"].values[1:] < L_S) and ds.attrs["loss_order_violations"] == 0
    # the surface at W_star is the gauge image of the surface at the aligned point: the same
    # distances from W* and the same losses (the orthogonal gauge is an isometry preserving L)
    ref = ls.manifold_surface(net, W, "unstable", max_distance=0.3, max_vertices=600)
    assert ds.sizes["vertex"] == ref.sizes["vertex"]
    rg = np.sort(np.linalg.norm(ds["points"].values - net.flatten(Wg), axis=1))
    rr = np.sort(np.linalg.norm(ref["points"].values - net.flatten(W), axis=1))
    assert np.allclose(rg, rr, atol=1e-9)
    assert np.allclose(np.sort(ds["loss"].values), np.sort(ref["loss"].values), atol=1e-12)


def _verifier_orthogonal(n, rng):
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


@pytest.mark.parametrize("subset, seed", [([2], 5), ([1], None)])
def test_blow_up_at_a_rounded_aligned_point_is_not_stiff(subset, seed):
    # (2,3,3,3,2), sigma = (2, 1): an order-4 escape (field ~ radius^3 on ring 0). The aligned point
    # recovered from the seed-5 orthogonal gauge image has entries 1 +- 1 ulp, and the S = {1}
    # representative entries 2^(1/4) whose 4th power is not 2 in floating point: the field at the
    # growth centre is ~1e-16, not 0. Its stable normal directions are stiff in arc length and
    # the orbit shots ran out of SHOT_BUDGET (BudgetExceededError) before the centre's rounding
    # residual was removed from the integrated field.
    net = ls.LinearNetwork([2, 3, 3, 3, 2], [2.0, 1.0])
    W = ls.representative(net, subset)
    if seed is None:
        Wg = W
    else:
        rng = np.random.default_rng(seed)
        Wg = ls.gauge(net, W, [_verifier_orthogonal(3, rng) for _ in range(3)])
    centre = ls.stability.recover_alignment(net, Wg).layers
    assert np.abs(net.flatten(net.gradient(centre))).max() > 0  # the case: not an exact zero of the field
    ds = ls.manifold_surface(net, Wg, "unstable", max_distance=0.5, max_vertices=600)
    assert ds.attrs["start"] == "blow_up" and ds.attrs["frame"] == ("W_star" if seed is None else "aligned")
    assert ds.attrs["invariance_violations"] == 0 and ds.attrs["loss_order_violations"] == 0
    assert ds["conserved_deviation"].values.max() < 1e-9
    if seed is not None:  # the gauge image of the surface at the (exact) aligned point W
        ref = ls.manifold_surface(net, W, "unstable", max_distance=0.5, max_vertices=600)
        assert ds.sizes["vertex"] == ref.sizes["vertex"]
        rg = np.sort(np.linalg.norm(ds["points"].values - net.flatten(Wg), axis=1))
        rr = np.sort(np.linalg.norm(ref["points"].values - net.flatten(W), axis=1))
        assert np.allclose(rg, rr, atol=1e-9)


def test_blow_up_at_a_non_orthogonally_gauged_point_is_refused():
    net = ls.LinearNetwork([2, 3, 3, 2], [2.0, 1.0])
    rng = np.random.default_rng(3)
    Wg = ls.gauge(net, ls.representative(net, [2]), [np.eye(3) + 0.4 * rng.standard_normal((3, 3)) for _ in range(2)])
    # dense: W_star has no escape arc of its own (the blow-up is sought at W_star itself)
    with pytest.raises(LandscapeValueError, match="no escape arc.*non-orthogonal hidden gauge, under which the flow "
                                                  "is not equivariant: the blow-up was sought at W_star itself"):
        ls.manifold_surface(net, Wg, "unstable", max_distance=0.3)


def test_blow_up_at_a_dead_path_grows_at_w_star_itself():
    # (2,3,3,2), sigma = (2, 1), S = {2} with W_1[2,1] = 0.6: input 2 feeds the unused hidden unit 3,
    # which feeds nothing (still critical). It is a shear G_1 = I + 0.6 e_3 e_1^T of the
    # representative (a non-orthogonal gauge image), and was refused. The escape arc of W_star
    # itself (mode 1 inserted through free units, order 3) does not touch the dead unit: the
    # coordinate slice through W_star spanned by its circle is invariant, and the surface grows there
    net = ls.LinearNetwork([2, 3, 3, 2], [2.0, 1.0])
    W = [w.copy() for w in ls.representative(net, [2])]
    W[0][2, 1] = 0.6
    assert np.abs(net.flatten(net.gradient(W))).max() == 0.0
    ds = ls.manifold_surface(net, W, "unstable", max_distance=0.6, delta=0.05)
    assert ds.attrs["frame"] == "general_gauge" and ds.attrs["start"] == "blow_up" and ds.attrs["arc_order"] == 3
    centre = net.flatten(W)
    P = ds["points"].values
    moved = np.flatnonzero(np.any(P != centre, axis=0))
    assert moved.size == 5 and np.all(centre[moved] == 0.0)  # only the escape path's entries move
    assert np.all(P[:, 5] == 0.6)  # W_1[2, 1]: the dead entry stays
    assert ds.attrs["invariance_violations"] == 0 and np.nanmax(ds["tangency_angle"].values) < 0.02
    assert ds["conserved_deviation"].values.max() < 1e-9
    assert np.all(ds["loss"].values[1:] < float(net.loss(W)))
    # backward the inserted balanced path (per-layer scale a, product a^3 < sigma_1 = 2) shrinks as
    # da/dt = -a^2 (2 - a^3); horizon T = 1 keeps the backward growth of errors (exp(3.4 t)) small
    T = 1.0
    end = _flow(net, P[1:], T, -1)
    a0 = np.linalg.norm(P[1:] - centre, axis=1) / np.sqrt(3)
    bound = np.sqrt(3) / (1 / a0 + (2 - a0**3) * T)
    assert np.all(np.linalg.norm(end - centre, axis=1) <= bound + 1e-6)
    assert np.all(bound[a0 > 0.2] < 0.75 * np.sqrt(3) * a0[a0 > 0.2])


def test_blow_up_at_a_sheared_point_off_an_invariant_slice_is_refused_with_the_reason():
    # two shears of hidden layer 1 (W_2[0] = (1, -0.6, -0.6)): W_star's own escape circle spans no
    # invariant coordinate slice; grown unconfined the mesh met the flow at 1.48 rad (327 vertices
    # beyond INVARIANCE_THRESHOLD), so the start is refused, saying why and what to do
    net = ls.LinearNetwork([2, 3, 3, 2], [2.0, 1.0])
    G1 = np.eye(3)
    G1[0, 1] = G1[0, 2] = 0.6
    Wg = ls.gauge(net, ls.representative(net, [2]), [G1, np.eye(3)])
    with pytest.raises(LandscapeValueError, match=r"(?s)non-orthogonal \(invertible\) hidden gauge.*dead path.*"
                                                  r"not equivariant.*blow-up circle of W_star's own escape arcs.*"
                                                  r"field at points of that slice leaves it.*directions=.*"
                                                  r"recover_alignment"):
        ls.manifold_surface(net, Wg, "unstable", max_distance=0.3)


def test_directions_outside_the_wanted_set_are_refused():
    net = ls.LinearNetwork([1, 2, 1], S121)
    W0 = ls.representative(net, [])
    lam, Q = np.linalg.eigh(net.hessian(W0))
    stable = [Q[:, 2], Q[:, 3]]  # eigenvalues +s: W^s directions
    assert np.all(lam[2:] > 0)
    with pytest.raises(LandscapeValueError, match="directions do not lie in the unstable set of W_star"):
        ls.manifold_surface(net, W0, "unstable", directions=stable, max_distance=0.5)
    with pytest.raises(LandscapeValueError, match="directions do not lie in the stable set of W_star"):
        ls.manifold_surface(net, W0, "stable", directions=[Q[:, 0], Q[:, 1]], max_distance=0.5)
    with pytest.raises(LandscapeValueError, match="directions do not lie in the unstable set"):  # mixing the two
        ls.manifold_surface(net, W0, "unstable", directions=[Q[:, 0], Q[:, 3]], max_distance=0.5)
    # the right eigenvectors are accepted, and every vertex lies below L_S
    ds = ls.manifold_surface(net, W0, "unstable", directions=[Q[:, 0], Q[:, 1]], max_distance=0.5)
    assert np.all(ds["loss"].values[1:] < 0.5 * S121**2)


@pytest.mark.parametrize("degrees", [1.0, 3.0, 1e-3])
def test_directions_tilted_toward_the_other_set_are_refused_with_the_angle(degrees):
    # (2,3,2), sigma = (2, 1), S = {2}: W^u is tangent to the eigenplane of -2 (double). A second
    # direction tilted by 1 or 3 degrees toward the +3 eigenvector passed the field check (0.2 rad
    # on the field at r = radius / 10, ~2.5 x the tilt) and grew a surface off W^u
    net = ls.LinearNetwork([2, 3, 2], [2.0, 1.0])
    W = ls.representative(net, [2])
    lam, V = np.linalg.eigh(net.hessian(W))
    assert np.allclose(lam[:2], -2.0) and lam[-1] > 2.9
    a = np.radians(degrees)
    tilted = np.cos(a) * V[:, 1] + np.sin(a) * V[:, -1]
    with pytest.raises(LandscapeValueError, match=rf"directions do not lie in the unstable set of W_star: their "
                                                  rf"plane is tilted by {a:.3g} rad .* toward the stable set"):
        ls.manifold_surface(net, W, "unstable", directions=[V[:, 0], tilted], max_distance=0.1)


def test_a_rounding_tilt_of_the_directions_is_removed():
    net = ls.LinearNetwork([2, 3, 2], [2.0, 1.0])
    W = ls.representative(net, [2])
    lam, V = np.linalg.eigh(net.hessian(W))
    a = 1e-8  # below DIRECTION_TILT_MAX
    tilted = np.cos(a) * V[:, 1] + np.sin(a) * V[:, -1]
    ds = ls.manifold_surface(net, W, "unstable", directions=[V[:, 0], tilted], max_distance=0.1)
    D = ds["directions"].values
    assert np.abs(D @ V[:, lam > 1e-6]).max() < 1e-14  # projected off the stable eigenvectors
    assert np.allclose(D @ D.T, np.eye(2), atol=1e-14)
    P = ds["points"].values - net.flatten(W)
    Q = V[:, :2]  # W^u of this saddle is flat near W*: ring 0 lies in the eigenplane
    ring0 = ds["ring"].values == 0
    assert np.abs(P[ring0] - P[ring0] @ Q @ Q.T).max() < 1e-9


def test_exchange_and_insertion_directions_at_a_degenerate_saddle_are_refused():
    # (2,2,2,2), S = {2}: the exchange eigenvector (order 2) and the insertion arc of mode 1
    # (order 3: its half alpha < 0 is stable). Their circle grew an "unstable" surface with
    # vertices above L_S by 3e-7
    net = ls.LinearNetwork([2, 2, 2, 2], [2.0, 1.0])
    W = ls.representative(net, [2])
    ex = np.linalg.eigh(net.hessian(W))[1][:, 0]
    ins = [np.array([[0, 0], [1.0, 0]]), np.array([[0, 0], [0, 1.0]]), np.array([[0, 1.0], [0, 0]])]
    with pytest.raises(LandscapeValueError, match="points back toward W_star"):
        ls.manifold_surface(net, W, "unstable", directions=[ex, ins], max_distance=0.3, max_vertices=600)


def test_no_surface_message_states_the_dimension_from_manifold_dimensions():
    net = ls.LinearNetwork([2, 2, 2, 2], [2.0, 1.0])
    W = ls.representative(net, [2])
    dims = ls.manifold_dimensions(net, W)
    assert dims.unstable >= 2
    with pytest.raises(LandscapeValueError, match=f"ls.manifold_dimensions reports W\\^u of dimension "
                                                  f"(>= )?{dims.unstable}") as err:
        ls.manifold_surface(net, W, "unstable", max_distance=0.3)
    assert "1-D" not in str(err.value)


def test_small_radius_with_a_large_delta_does_not_stall():
    # the critical-set threshold was 1e-3 of a floor set by the field on ring 0 (radius 2e-4):
    # below the noise of the explicit integrator near the circle of minima, so orbits never stopped
    net = ls.LinearNetwork([1, 2, 1], 1.5)
    ds = ls.manifold_surface(net, ls.representative(net, []), "unstable", radius=2e-4, delta=0.11, max_distance=2.0)
    assert ds.attrs["wall_time"] < 20 and ds.attrs["stop_reason"].startswith("every point")
    P = ds["points"].values
    assert np.abs(P[:, :2] - P[:, 2:]).max() < 1e-6
    ends = ds["stop"].values == "critical_set"
    assert np.abs(np.sum(P[ends, :2] ** 2, axis=1) - 1.5).max() < 1e-6


def test_orbit_shots_have_a_work_budget(monkeypatch):
    import landscape.stability._surface as surface
    from landscape.stability import BudgetExceededError

    monkeypatch.setattr(surface, "SHOT_BUDGET", 30)
    net = ls.LinearNetwork([1, 2, 1], 1.5)
    with pytest.raises(BudgetExceededError, match="used more than SHOT_BUDGET = 30 field evaluations per orbit"):
        ls.manifold_surface(net, ls.representative(net, []), "unstable", max_distance=1.0, delta=0.1)


def test_tangency_of_the_degenerate_cone_at_its_apex_ring(degenerate):
    # the (1,2,2,1) origin: W^u is a cone x = a d(phi) (balanced rank-one rays); the chord to the
    # apex is its ruling, so the apex ring reads the start's own error (it read 2.3e-2 rad with
    # the best plane through one-sided edges)
    net, surf = degenerate
    for ds in surf.values():
        ring = ds["ring"].values
        ang = ds["tangency_angle"].values
        assert np.nanmax(ang[ring == 0]) < 1e-6
        assert np.nanmax(ang) < 0.02


def _distance_to_the_unstable_surface(widths, sigma, x_star, E, mu, p, rho=3e-3):
    """Distance from p to the 2-D unstable manifold tangent to the eigenvectors E (rates mu > 0).

    Independent reference: points of the manifold are the DOP853 images (rtol 1e-12) at a time T
    of starts x* + E c exp(-mu T) at radius ~rho on the eigenplane (their own error O(rho^2)
    shrinks as the orbit leaves); least squares over c.
    """
    from scipy.optimize import least_squares

    c0 = E.T @ (p - x_star)
    T = max(0.0, np.log(max(np.abs(c0).max(), 1e-3) / rho) / mu.min())

    def miss(c):
        start = x_star + E @ (c * np.exp(-mu * T))
        return _scipy_flow(widths, sigma, start[None, :], T, +1)[0] - p

    return float(np.linalg.norm(least_squares(miss, c0, xtol=1e-14, ftol=1e-14, gtol=1e-14, max_nfev=40).fun))


def test_curved_depth2_surface_lies_on_the_manifold_by_an_independent_shooting():
    # (2,2,2), S = {2}: W^u is 2-D and curved (rates 2.587 and 0.596). Ring 0 on the eigenplane was
    # O(radius^2) off the manifold along the critical set's directions, which the flow keeps:
    # 1.5e-4 at radius 3e-2; the second-order start leaves O(radius^3)
    sig = [2.587, 1.991]
    net = ls.LinearNetwork([2, 2, 2], sig)
    W = ls.representative(net, [2])
    ds = ls.manifold_surface(net, W, "unstable", radius=3e-2, max_distance=0.3, max_vertices=500)
    assert ds.attrs["start_order"] == 2
    x = net.flatten(W)
    lam, V = np.linalg.eigh(net.hessian(W))
    P = ds["points"].values
    far = np.linalg.norm(P - x, axis=1)
    pick = np.argsort(far)[[len(far) // 3, 2 * len(far) // 3, -1]]
    dist = [_distance_to_the_unstable_surface([2, 2, 2], sig, x, V[:, :2], -lam[:2], P[i]) for i in pick]
    assert max(dist) < 1e-5, dist


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_start_check_over_random_depth2_saddles(seed):
    # random widths (hidden wider or narrower than the ends), random distinct sigma, the origin
    # (a strict saddle at depth 2 with eigenvalues +-sigma_k): two negative eigenvectors are
    # accepted, a negative and a positive one (a circle crossing into W^s) refused
    rng = np.random.default_rng(seed)
    widths = [int(rng.integers(1, 4)), int(rng.integers(2, 5)), int(rng.integers(1, 4))]
    k = min(widths[0], widths[-1])
    net = ls.LinearNetwork(widths, np.sort(rng.uniform(0.5, 3.0, k))[::-1])
    W0 = ls.representative(net, [])
    lam, Q = np.linalg.eigh(net.hessian(W0))
    neg, pos = np.flatnonzero(lam < -1e-9), np.flatnonzero(lam > 1e-9)
    assert neg.size >= 2 and pos.size >= 2
    with pytest.raises(LandscapeValueError, match="do not lie in the unstable set"):
        ls.manifold_surface(net, W0, "unstable", directions=[Q[:, neg[0]], Q[:, pos[0]]], max_distance=0.2)
    with pytest.raises(LandscapeValueError, match="do not lie in the stable set"):
        ls.manifold_surface(net, W0, "stable", directions=[Q[:, neg[0]], Q[:, neg[1]]], max_distance=0.2)
    ds = ls.manifold_surface(net, W0, "unstable", directions=[Q[:, neg[0]], Q[:, neg[1]]], max_distance=0.2,
                             max_vertices=100)
    assert ds.attrs["loss_order_violations"] == 0 and np.all(ds["loss"].values[1:] < ds.attrs["critical_value"])


def test_vertices_on_the_wrong_side_of_L_S_are_flagged(monkeypatch):
    # with the start check switched off, the exchange + insertion circle of (2,2,2,2), S = {2}
    # grows vertices above L_S (its insertion half alpha < 0 is stable): they are counted and warned about
    import landscape.stability._surface as surface

    monkeypatch.setattr(surface, "_check_start", lambda *args, **kwargs: None)
    net = ls.LinearNetwork([2, 2, 2, 2], [2.0, 1.0])
    W = ls.representative(net, [2])
    ex = np.linalg.eigh(net.hessian(W))[1][:, 0]
    ins = [np.array([[0, 0], [1.0, 0]]), np.array([[0, 0], [0, 1.0]]), np.array([[0, 1.0], [0, 0]])]
    with pytest.warns(RuntimeWarning, match="vertices on the wrong side of L_S"):
        ds = ls.manifold_surface(net, W, "unstable", directions=[ex, ins], max_distance=0.3, max_vertices=600)
    above = int(np.sum(ds["loss"].values[1:] > ds.attrs["critical_value"] + ds.attrs["loss_order_tolerance"]))
    assert above > 0 and ds.attrs["loss_order_violations"] == above
