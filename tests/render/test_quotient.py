"""Quotient coordinates p_k = u_k^T P v_k (issue 11, section 4): corners, gauge invariance, the scene, the picture.

The coordinates are checked against the literal product ``W_h ... W_1`` and the spec's
critical points ``P = Sigma_S`` (every admissible S, random non-square widths, depths 1-5);
the scene against the classification (labels as text, in pyvista and in plotly); the PNG
by the colour found where the recorded camera projects known points.
"""

from functools import reduce
from itertools import combinations

import numpy as np
import pytest
import xarray as xr

import landscape as ls
from landscape.render import kind_label
from landscape.render import save_png
from landscape.render._quotient import (
    BOX_COLOR,
    LABEL_LIFT,
    quotient_axes,
    quotient_coordinates,
    quotient_scene,
)
from tests.render.test_charts_and_scenes import _labels
from tests.render.test_render import GREEN, ORANGE, PURPLE, RED, plasma, read_rgb, record_scenes, shown


def random_widths(rng):
    h = int(rng.integers(1, 6))
    return [int(w) for w in rng.integers(1, 8, size=h + 1)]


def literal_p(W):
    """``diag(W_h ... W_1)`` by a literal left-to-right product."""
    P = reduce(lambda acc, Wi: Wi @ acc, W[1:], W[0])
    return np.diag(P).copy()


def admissible_subsets(net):
    k = net.sigma.size
    modes = [m for m in range(1, k + 1) if net.sigma[m - 1] > 0]
    out = []
    for r in range(min(net.rank, len(modes)) + 1):
        out += list(combinations(modes, r))
    if net.depth == 1:
        out = [S for S in out if len(S) == net.rho]
    return out


@pytest.mark.parametrize("seed", range(12))
def test_every_representative_sits_at_its_box_corner(seed):
    rng = np.random.default_rng(seed)
    widths = random_widths(rng)
    k = min(widths[0], widths[-1])
    sigma = np.sort(rng.uniform(0.5, 4.0, size=k))[::-1]
    net = ls.LinearNetwork(widths, sigma)
    subsets = admissible_subsets(net)
    assert subsets
    for S in subsets:
        W = ls.representative(net, S)
        corner = np.array([sigma[m] if m + 1 in S else 0.0 for m in range(k)])
        p = quotient_coordinates(net, W)
        np.testing.assert_allclose(p, corner, atol=1e-12)
        np.testing.assert_allclose(p, literal_p(W), atol=1e-12)
        flat = quotient_coordinates(net, net.flatten(W)[None, None, :])  # batches keep their shape
        assert flat.shape == (1, 1, k)
        np.testing.assert_allclose(flat[0, 0], corner, atol=1e-12)
    # the dataset of critical points: every row at its corner
    cp = ls.critical_points(net)
    p = quotient_coordinates(net, cp.theta.values)
    np.testing.assert_allclose(p, np.where(cp.learnt.values, sigma[None, :], 0.0), atol=1e-12)


def test_quotient_coordinates_in_data_coordinates_use_the_targets_singular_vectors():
    """For a network built from a target matrix T = U Sigma V^T: p_k = u_k^T P_data v_k."""
    rng = np.random.default_rng(7)
    for widths in ([4, 3, 5, 3], [3, 6, 2], [2, 5, 5, 4, 3]):
        T = rng.normal(size=(widths[-1], widths[0]))
        net = ls.LinearNetwork(widths, T)
        U, s, Vt = np.linalg.svd(T)
        np.testing.assert_allclose(net.U @ net.Sigma @ net.V.T, T, atol=1e-12)
        W = [rng.normal(size=sh) for sh in net.shapes]
        Wd = net.to_data_coordinates(W)
        P_data = reduce(lambda acc, Wi: Wi @ acc, Wd[1:], Wd[0])
        expected = [net.U[:, m] @ P_data @ net.V[:, m] for m in range(net.sigma.size)]
        np.testing.assert_allclose(quotient_coordinates(net, W), expected, atol=1e-12)
        # and at the critical points the data-side formula gives the corner too
        for S in admissible_subsets(net):
            Wd = net.to_data_coordinates(ls.representative(net, S))
            P_data = reduce(lambda acc, Wi: Wi @ acc, Wd[1:], Wd[0])
            p = [net.U[:, m] @ P_data @ net.V[:, m] for m in range(net.sigma.size)]
            np.testing.assert_allclose(p, [s[m] if m + 1 in S else 0.0 for m in range(s.size)], atol=1e-10)


def _invertible(rng, n):
    q1, _ = np.linalg.qr(rng.normal(size=(n, n)))
    q2, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return (q1 * np.exp(rng.uniform(-0.7, 0.7, n))) @ q2


@pytest.mark.parametrize("seed", range(8))
def test_quotient_coordinates_are_gauge_invariant(seed):
    rng = np.random.default_rng(100 + seed)
    widths = random_widths(rng)
    while len(widths) < 3:
        widths = random_widths(rng)
    net = ls.LinearNetwork(widths, np.sort(rng.uniform(0.5, 3.0, size=min(widths[0], widths[-1])))[::-1])
    G = [_invertible(rng, d) for d in widths[1:-1]]
    W = [rng.normal(size=s) for s in net.shapes]  # any point, not only critical ones
    moved = ls.gauge(net, W, G)
    assert not np.allclose(net.flatten(moved), net.flatten(W))  # the gauge did move the weights
    np.testing.assert_allclose(quotient_coordinates(net, moved), quotient_coordinates(net, W), atol=1e-9)
    for S in admissible_subsets(net)[:6]:  # gauge-moved critical points stay at their corner
        corner = [net.sigma[m] if m + 1 in S else 0.0 for m in range(net.sigma.size)]
        np.testing.assert_allclose(quotient_coordinates(net, ls.gauge(net, ls.representative(net, S), G)), corner,
                                   atol=1e-9)


def test_fiber_samples_sit_at_their_corner():
    net = ls.LinearNetwork([3, 4, 3, 3], [3.0, 2.0, 1.0])
    for S in [(), (1,), (2, 3), (1, 2, 3)]:
        fib = ls.fiber(net, S, 12, rng=3)
        assert set(fib.stratum.values.tolist()) <= {"orbit", "dead_paths"}
        corner = [net.sigma[m] if m + 1 in S else 0.0 for m in range(3)]
        p = quotient_coordinates(net, fib.theta.values)
        assert p.shape == (fib.sizes["sample"], 3)
        np.testing.assert_allclose(p, np.broadcast_to(corner, p.shape), atol=1e-9)


def test_fewer_modes_use_the_loss_as_an_axis():
    rng = np.random.default_rng(4)
    net = ls.LinearNetwork([2, 3, 4, 2], [2.0, 0.5])
    W = [rng.normal(size=s) for s in net.shapes]
    P = reduce(lambda acc, Wi: Wi @ acc, W[1:], W[0])
    xyz, titles = quotient_axes(net, W)
    assert titles == ("p_1", "p_2", "loss L")
    np.testing.assert_allclose(xyz, [P[0, 0], P[1, 1], net.loss(W)], rtol=1e-12)
    xyz, titles = quotient_axes(net, W, modes=(2,))
    assert titles[0] == "p_2" and titles[2] == "loss L"
    rest = P.copy()
    rest[1, 1] = 0.0
    np.testing.assert_allclose(xyz, [P[1, 1], np.linalg.norm(rest), net.loss(W)], rtol=1e-12)
    # the critical points: (p_1, p_2, L_S)
    for S in admissible_subsets(net):
        xyz, _ = quotient_axes(net, ls.representative(net, S))
        L_S = 0.5 * sum(net.sigma[m] ** 2 for m in range(2) if m + 1 not in S)
        np.testing.assert_allclose(xyz, [2.0 if 1 in S else 0.0, 0.5 if 2 in S else 0.0, L_S], atol=1e-12)


def test_modes_choose_and_order_the_axes_and_bad_modes_are_refused():
    net = ls.LinearNetwork([4, 3, 4], [4.0, 3.0, 2.0, 1.0])
    W = ls.representative(net, (2, 4))
    np.testing.assert_allclose(quotient_axes(net, W, modes=(4, 1, 2))[0], [1.0, 0.0, 3.0], atol=1e-12)
    assert quotient_axes(net, W, modes=(4, 1, 2))[1] == ("p_4", "p_1", "p_2")
    with pytest.raises(ValueError, match="modes names mode 5"):
        quotient_axes(net, W, modes=(1, 2, 5))
    with pytest.raises(ValueError, match="modes must name 1 to 3 distinct modes"):
        quotient_axes(net, W, modes=(1, 1, 2))
    with pytest.raises(TypeError, match="modes must hold integer mode numbers"):
        quotient_axes(net, W, modes=(1, 2.0, 3))
    with pytest.raises(ValueError, match="W must be a layer list"):
        quotient_coordinates(net, np.zeros(5))


# ------------------------------------------------------------------ the scene
NET3 = ([3, 3, 3, 3], [3.0, 2.0, 1.0])
#: spec 3.4 at h = 3: top sets {}, {1}, {1,2} non-strict, the others strict, {1,2,3} the minimum
KINDS3 = {"{}": "non-strict saddle", "{1}": "non-strict saddle", "{1,2}": "non-strict saddle",
          "{1,2,3}": "global minimum", "{2}": "strict saddle", "{3}": "strict saddle", "{1,3}": "strict saddle",
          "{2,3}": "strict saddle"}


@pytest.fixture(scope="module")
def flows3():
    net = ls.LinearNetwork(*NET3)
    small = ls.gradient_flow(net, ls.init.gaussian(net, 1e-2, rng=0), 400.0, times="log", n_points=300, t_min=1e-3)
    large = ls.gradient_flow(net, ls.init.gaussian(net, 1.0, rng=1), 20.0, times="log", n_points=200, t_min=1e-3)
    return net, small, large


def corner_of(label, sigma):
    S = [int(c) for c in label.strip("{}").split(",") if c]
    return np.array([s if m + 1 in S else 0.0 for m, s in enumerate(sigma)])


def test_scene_marks_and_labels_every_corner_with_its_subset_and_kind(flows3):
    net, small, large = flows3
    scene = quotient_scene(net, trajectories=[small, large], size="small")
    assert scene.axis_titles == ("p_1", "p_2", "p_3")
    assert "quotient coordinates" in scene.title
    (labels,) = scene.labels
    texts = dict(zip(labels.texts, map(tuple, labels.points)))
    assert set(texts) == {f"{S} {kind}" for S, kind in KINDS3.items()}
    radius = scene.markers[-1].radius
    for text, where in texts.items():  # just above the corner's marker
        np.testing.assert_allclose(where, corner_of(text.split(" ")[0], NET3[1]) + [0, 0, LABEL_LIFT * radius],
                                   atol=1e-12)
    # markers coloured by kind, at the same corners
    colors = {"global minimum": GREEN, "strict saddle": ORANGE, "non-strict saddle": PURPLE}
    for kind, color in colors.items():
        (m,) = [m for m in scene.markers if m.color == color]
        expected = sorted(tuple(corner_of(S, NET3[1])) for S, k in KINDS3.items() if k == kind)
        assert sorted(map(tuple, np.round(m.points, 12))) == expected
    # the 12 box edges, each along one axis between two corners
    box = [p for p in scene.paths if p.color == BOX_COLOR]
    assert len(box) == 12
    for p in box:
        d = np.abs(p.points[-1] - p.points[0])
        assert np.count_nonzero(d > 1e-12) == 1 and float(d.max()) in NET3[1]
    # the trajectories are the quotient coordinates of the flows, coloured by their loss
    tubes = [p for p in scene.paths if p.values is not None]
    assert len(tubes) == 2
    for tube, ds in zip(tubes, (small, large)):
        np.testing.assert_allclose(tube.points, quotient_coordinates(net, ds.theta.values), atol=1e-12)
        np.testing.assert_allclose(tube.values, ds.loss.values)
    # the pyvista drawing and the plotly figure carry the same texts
    pl = scene.plotter()
    drawn = dict((t, p) for p, t in _labels(pl))
    assert set(drawn) == set(texts)
    axes = pl.renderer.cube_axes_actor
    assert (axes.x_title, axes.y_title, axes.z_title) == ("p_1", "p_2", "p_3")
    pl.close()
    fig = scene.figure()
    assert sorted(a.text for a in fig.layout.scene.annotations) == sorted(texts)
    assert tuple(fig.layout.scene[f"{c}axis"].title.text for c in "xyz") == ("p_1", "p_2", "p_3")


def test_small_initialisation_runs_along_the_box_edges(flows3):
    """Saddle-to-saddle: the small flow passes close to {} -> {1} -> {1,2} -> {1,2,3} and between them stays
    near the edges joining them (two of the three coordinates at a corner value)."""
    net, small, _ = flows3
    p = quotient_coordinates(net, small.theta.values)
    sigma = np.array(NET3[1])
    for S in ("{}", "{1}", "{1,2}", "{1,2,3}"):
        assert np.min(np.linalg.norm(p - corner_of(S, sigma), axis=1)) < 0.05, S
    on_edge = np.sort(np.minimum(np.abs(p), np.abs(p - sigma)), axis=1)[:, :2].max(axis=1)  # two coordinates at corners
    assert np.mean(on_edge < 0.05) > 0.9


def test_picture_shows_the_corners_in_their_kind_colours(flows3, tmp_path, monkeypatch):
    net, small, large = flows3
    scenes = record_scenes(monkeypatch.setattr)
    save_png(quotient_scene(net, trajectories=[small], size="medium"), tmp_path / "q.png")
    (rec,) = scenes
    img = read_rgb(tmp_path / "q.png")
    for S, kind in KINDS3.items():
        color = {"global minimum": GREEN, "strict saddle": ORANGE, "non-strict saddle": PURPLE}[kind]
        if S in ("{}", "{1}", "{1,2}", "{1,2,3}"):  # the small flow's tube passes through these corners
            continue
        assert shown(img, rec, corner_of(S, NET3[1]), color, radius=3) == 1.0, S
    # the box edge from {2} to {2,3} (no flow runs there) is drawn grey
    grey = (np.abs(img - np.array([0xb0, 0xb0, 0xb0]) / 255).max(axis=2) < 0.08)
    edge = np.array([[0.0, 2.0, t] for t in np.linspace(0.25, 0.75, 10)])
    assert shown(img, rec, edge, grey, radius=2) >= 0.8
    # the small flow's tube, on the edge {} -> {1}, in the plasma colour of its loss there
    p = quotient_coordinates(net, small.theta.values)
    j = int(np.flatnonzero((p[:-1, 0] < 1.5) & (p[1:, 0] >= 1.5))[0])  # the segment crossing p_1 = 1.5
    f = (1.5 - p[j, 0]) / (p[j + 1, 0] - p[j, 0])
    where = (1 - f) * p[j] + f * p[j + 1]
    assert np.abs(where[1:]).max() < 0.05  # on the edge
    value = (1 - f) * small.loss.values[j] + f * small.loss.values[j + 1]
    lo, hi = float(small.loss.min()), float(small.loss.max())
    assert shown(img, rec, where, plasma(value, lo, hi), radius=2) == 1.0
    assert shown(img, rec, where, plasma(lo, lo, hi), radius=2) == 0.0  # not the colour of the end


def test_pca_option_states_the_explained_variance(flows3):
    net, small, large = flows3
    scene = quotient_scene(net, trajectories=[small, large], coordinates="pca", size="small")
    assert [t.split(" ")[0] for t in scene.axis_titles] == ["PC1", "PC2", "PC3"]
    assert "total" in scene.title and "%" in scene.title
    assert not [p for p in scene.paths if p.color == BOX_COLOR]  # no box outside the quotient
    (labels,) = scene.labels  # the representatives, labelled
    assert len(labels.texts) == 8
    with pytest.raises(ValueError, match="modes is for quotient coordinates"):
        quotient_scene(net, coordinates="pca", modes=(1, 2, 3))
    with pytest.raises(ValueError, match="coordinates must be 'quotient', 'pca'"):
        quotient_scene(net, coordinates="tsne")


def test_two_mode_network_draws_corners_at_their_critical_values():
    net = ls.LinearNetwork([2, 3, 3, 2], [2.0, 1.0])
    scene = quotient_scene(net, size="small")
    assert scene.axis_titles == ("p_1", "p_2", "loss L")
    (labels,) = scene.labels
    lift = LABEL_LIFT * scene.markers[0].radius
    for text, where in zip(labels.texts, labels.points):
        S = text.split(" ")[0]
        c = corner_of(S, [2.0, 1.0])
        np.testing.assert_allclose(where, [c[0], c[1], 0.5 * np.sum((np.array([2.0, 1.0]) - c) ** 2) + lift],
                                   atol=1e-12)
    box = [p for p in scene.paths if p.color == BOX_COLOR]
    assert len(box) == 4  # {} - {1}, {} - {2}, {1} - {1,2}, {2} - {1,2}
    for p in box:  # exact loss along P = Sigma_S + t sigma_k e_k f_k^T
        np.testing.assert_allclose(p.points[:, 2], 0.5 * ((2.0 - p.points[:, 0]) ** 2 + (1.0 - p.points[:, 1]) ** 2),
                                   atol=1e-12)


def hand_made_surface(net, S=(1,)):
    """A 2-D mesh in parameter space: A*_S plus a disk of insertion-like perturbations (a hand-made Dataset)."""
    W0 = net.flatten(ls.representative(net, S))
    rng = np.random.default_rng(0)
    D = np.linalg.qr(rng.normal(size=(net.n_params, 2)))[0]
    r, t = np.meshgrid(np.linspace(0, 0.3, 5), np.linspace(0, 2 * np.pi, 13)[:-1], indexing="ij")
    pts = W0 + (r.ravel()[:, None] * np.cos(t.ravel())[:, None]) * D[:, 0] + (
        r.ravel()[:, None] * np.sin(t.ravel())[:, None]) * D[:, 1]
    tri = []
    for i in range(4):
        for j in range(12):
            a, b = i * 12 + j, i * 12 + (j + 1) % 12
            tri += [[a, b, a + 12], [b, b + 12, a + 12]]
    loss = np.array([net.loss(net.unflatten(p)) for p in pts])
    ds = xr.Dataset({"points": (("vertex", "param"), pts), "triangles": (("face", "corner"), np.array(tri)),
                     "loss": (("vertex",), loss)})
    ds.attrs.update({"landscape_kind": "manifold_surface", "kind": "unstable", "subset": "{1}"})
    return ds


def test_surfaces_are_translucent_meshes_in_quotient_coordinates():
    net = ls.LinearNetwork(*NET3)
    ds = hand_made_surface(net)
    scene = quotient_scene(net, surfaces=[ds], size="small")
    (surf,) = scene.surfaces
    assert surf.color == RED and 0 < surf.opacity < 1 and surf.label == "unstable surface of S = {1}"
    np.testing.assert_allclose(surf.points, quotient_coordinates(net, ds.points.values), atol=1e-12)
    np.testing.assert_array_equal(surf.triangles, ds.triangles.values)
    with pytest.raises(ValueError, match="surfaces must be datasets with variables 'points'"):
        quotient_scene(net, surfaces=[ds.drop_vars("triangles")])


def test_default_kinds_match_the_classification():
    """Without a dataset the kinds come from the rank criterion at the representatives: the same as ls.classify."""
    for widths, sigma in (([3, 3, 3, 3], [3.0, 2.0, 1.0]), ([3, 2, 4, 3], [3.0, 2.0, 1.0]), ([2, 3, 2], [2.0, 1.0])):
        net = ls.LinearNetwork(widths, sigma)
        cp = ls.classify(ls.critical_points(net))
        by_default = quotient_scene(net, size="small")
        given = quotient_scene(net, critical=cp, size="small")
        assert sorted(by_default.labels[0].texts) == sorted(given.labels[0].texts), widths
        expected = {f"{S} {kind_label(k)}" for S, k in zip(cp.subset.values, cp.kind.values)}
        assert set(given.labels[0].texts) == expected
        assert not quotient_scene(net, critical=False, size="small").labels


def test_trajectory_and_manifold_scenes_default_to_quotient_coordinates(flows3):
    from landscape.render import manifold_scene, trajectory_scene

    net, small, _ = flows3
    scene = trajectory_scene(small, "small")
    assert scene.axis_titles == ("p_1", "p_2", "p_3") and len(scene.labels[0].texts) == 8
    (tube,) = [p for p in scene.paths if p.values is not None]
    np.testing.assert_allclose(tube.points, quotient_coordinates(net, small.theta.values), atol=1e-12)
    assert trajectory_scene(small, "small", coordinates="pca").axis_titles[0].startswith("PC1")
    with pytest.raises(ValueError, match="coordinates must be 'quotient', 'pca' or 3 parameter indices"):
        trajectory_scene(small, "small", coordinates="umap")
    sm = ls.submanifolds(net, ls.representative(net, (1,)), n_points=10, max_stable=2)
    scene = manifold_scene(sm, "small")
    assert scene.axis_titles == ("p_1", "p_2", "p_3") and "S = {1}" in scene.title
    lines = [p for p in scene.paths if p.color in (RED, "#1f5fbf")]
    assert {p.label for p in lines} == {"stable set of S = {1}", "unstable set of S = {1}"}
    for p in lines:  # every set starts at the corner of its saddle, (sigma_1, 0, 0)
        assert np.linalg.norm(p.points[0] - [3.0, 0.0, 0.0]) < 0.05
    # a one-mode network keeps the weights / PCA
    one = ls.LinearNetwork([3, 2, 1], [2.0])
    flow = ls.gradient_flow(one, ls.init.gaussian(one, 0.3, rng=0), 5.0, n_points=20)
    assert trajectory_scene(flow, "small").axis_titles[0].startswith("PC1")


def test_one_mode_fallback_and_orbits():
    net = ls.LinearNetwork([2, 3, 1], [2.0])
    scene = quotient_scene(net, modes=(1,), size="small")
    assert scene.axis_titles == ("p_1", "|P - p_1 u v^T|", "loss L")
    (labels,) = scene.labels
    assert sorted(t.split(" ")[0] for t in labels.texts) == ["{1}", "{}"]
    orbit = np.array([net.flatten(ls.representative(net, ())) + 0.0, net.flatten(ls.representative(net, (1,)))])
    scene = quotient_scene(net, modes=(1,), orbits=[("unstable", orbit)], size="small")
    (line,) = [p for p in scene.paths if p.color == RED]
    np.testing.assert_allclose(line.points, [[0.0, 0.0, 2.0], [2.0, 0.0, 0.0]], atol=1e-12)
    assert line.label == "unstable set"


def test_manifold_surface_is_drawn_as_a_translucent_mesh(tmp_path, monkeypatch):
    """A mesh from ls.manifold_surface: its vertices in quotient coordinates, red and translucent, seen in the PNG."""
    net = ls.LinearNetwork([2, 3, 2], [2.0, 1.0])
    origin = [np.zeros(s) for s in net.shapes]
    lam, vec = np.linalg.eigh(net.hessian(origin))  # -2, -1 (x3 each: the hidden units), 1, 2 (spec 3.5)
    np.testing.assert_allclose(lam, np.repeat([-2.0, -1.0, 1.0, 2.0], 3), atol=1e-12)
    # one direction per mode (two directions of one mode would give a surface that P, and so the picture, sees
    # as a curve: they differ only in the hidden units carrying the mode)
    directions = [vec[:, 0], vec[:, 3]]
    surf = ls.manifold_surface(net, origin, kind="unstable", directions=directions, max_distance=1.5,
                               max_vertices=1500)
    assert surf.attrs["landscape_kind"] == "manifold_surface" and surf.attrs["manifold"] == "unstable"
    scene = quotient_scene(net, surfaces=[surf], size="medium")
    (mesh,) = scene.surfaces
    assert mesh.color == RED and 0 < mesh.opacity < 1 and mesh.label == "unstable surface of S = {}"
    xyz = quotient_axes(net, surf.points.values)[0]
    np.testing.assert_allclose(mesh.points, xyz, atol=1e-12)
    np.testing.assert_allclose(xyz[:, 2], surf.loss.values, rtol=1e-9, atol=1e-12)  # the loss is the third axis
    assert np.all(xyz[:, 2] <= 0.5 * (4.0 + 1.0) + 1e-9)  # W^u of the origin lies below L_{} = 2.5
    scenes = record_scenes(monkeypatch.setattr)
    save_png(scene, tmp_path / "surface.png")
    (rec,) = scenes
    img = read_rgb(tmp_path / "surface.png")
    reddish = (img[..., 0] - img[..., 2] > 0.12) & (img[..., 0] - img[..., 1] > 0.12)
    assert xyz[:, 0].max() > 0.2 and xyz[:, 1].max() > 0.2  # a surface spanning both modes, not a curve
    # the mesh's vertices away from the corner {} (whose marker and label sit there) are drawn reddish
    far = xyz[np.linalg.norm(xyz - [0.0, 0.0, 2.5], axis=1) > 0.3]
    assert len(far) >= 20 and shown(img, rec, far[:: max(1, len(far) // 40)], reddish, radius=2) >= 0.8
