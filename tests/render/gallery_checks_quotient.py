"""Checks of the gallery scripts in gallery/04_quotient (run by tests/render/test_render.py's gallery test).

Each check gets the script's data (module globals), its recorded scenes and a reader of
its PNGs; it asserts the spec's closed forms on the data and the colours the picture must
show where the recorded camera projects known points.
"""

import numpy as np

import landscape as ls
from landscape.render import quotient_coordinates
from tests.render.test_render import GREEN, ORANGE, PURPLE, colour_mask, shown

SIGMA3 = np.array([3.0, 2.0, 1.0])


def _corner(S, sigma=SIGMA3):
    return np.array([s if k + 1 in S else 0.0 for k, s in enumerate(sigma)])


def _reddish(img, margin=0.12):
    """Pixels where red clearly dominates (a translucent red surface over white or grey)."""
    return (img[..., 0] - img[..., 2] > margin) & (img[..., 0] - img[..., 1] > margin)


def _bluish(img, margin=0.12):
    return (img[..., 2] - img[..., 0] > margin) & (img[..., 2] - img[..., 1] > 0.02)


def _quotient_3333(data, scenes, image):
    net, critical = data["net"], data["critical"]
    np.testing.assert_allclose(data["corners"], np.where(critical.learnt.values, SIGMA3, 0.0), atol=1e-12)
    # small initialisations: {} -> {1} -> {1,2} -> {1,2,3}, visiting the corners in this order
    for ds in data["small"]:
        p = quotient_coordinates(net, ds.theta.values)
        first = [int(np.argmax(np.linalg.norm(p - _corner(S), axis=1) < 0.1)) for S in ((), (1,), (1, 2), (1, 2, 3))]
        assert all(np.linalg.norm(p[i] - _corner(S)) < 0.1 for i, S in zip(first, ((), (1,), (1, 2), (1, 2, 3))))
        assert first == sorted(first) and len(set(first)) == 4, first
    for ds in data["large"]:  # large ones converge to the global minimum without visiting {} or {1}
        p = quotient_coordinates(net, ds.theta.values)
        np.testing.assert_allclose(p[-1], SIGMA3, atol=1e-4)
        assert np.min(np.linalg.norm(p - _corner(()), axis=1)) > 0.3
    scene, img = scenes["quotient_3333.png"], image("quotient_3333.png")
    colors = {"global_minimum": GREEN, "strict_saddle": ORANGE, "non_strict_saddle": PURPLE}
    for S, kind in zip(critical.subset.values, critical.kind.values):
        if S in ("{2}", "{3}", "{2,3}", "{1,3}"):  # corners no flow runs through: the marker's colour shows
            learnt = [int(c) for c in str(S).strip("{}").split(",") if c]
            assert shown(img, scene, _corner(learnt), colors[str(kind)], radius=3) == 1.0, S
    assert colour_mask(img, ORANGE).sum() >= 40 and colour_mask(img, PURPLE).sum() >= 20


def _manifolds_121(data, scenes, image):
    net, sigma = data["net"], data["sigma"]
    # the surfaces (grown by ls.manifold_surface, or the closed forms where it is missing) are the exact sets
    for name, sign in (("unstable", 1.0), ("stable", -1.0)):
        pts = data[name].points.values
        np.testing.assert_allclose(pts[:, 2:], sign * pts[:, :2], atol=1e-6)  # W_2 = +-W_1^T
        r2 = np.sum(pts[:, :2] ** 2, axis=1)
        assert r2.max() > 0.75 * sigma  # they reach out: most of the disk, the plane to |v| ~ 1
        if name == "unstable":
            assert np.all(r2 < sigma)  # the open disk |v|^2 < sigma
        for p in pts[::11]:  # invariance: the flow's field keeps W_2 = +-W_1^T
            g = net.gradient(net.unflatten(p))
            np.testing.assert_allclose(g[1].ravel(), sign * g[0].ravel(), atol=1e-8)
        tri = data[name].triangles.values
        assert tri.shape[1] == 3 and tri.min() >= 0 and tri.max() < len(pts)
    drawn = [a for a in scenes["manifolds_121.png"]["actors"] if a["mesh"] is not None and a["mesh"].n_cells
             and a["color"] in ("#d62728", "#1f5fbf") and a["mesh"].n_points in
             (data["unstable"].sizes["vertex"], data["stable"].sizes["vertex"])]
    assert len(drawn) == 2  # both meshes drawn, every vertex
    flows = data["flows"]
    assert np.all(flows.loss.values[:, -1] < 1e-8)  # every flow reaches a global minimum
    th = flows.theta.values[:, -1]
    np.testing.assert_allclose(th[:, 2] * th[:, 0] + th[:, 3] * th[:, 1], sigma, atol=1e-4)
    scene, img = scenes["manifolds_121.png"], image("manifolds_121.png")
    t = np.linspace(0.0, 2 * np.pi, 60, endpoint=False)
    circle = np.c_[np.sqrt(sigma) * np.cos(t), np.sqrt(sigma) * np.sin(t), np.full(t.size, sigma)]
    assert shown(img, scene, circle, GREEN, radius=2) >= 0.8  # the circle of minima at height p = sigma
    # the disk (red) above the origin and the bowl (blue) below: points inside each, clear of the flows
    r = 0.6
    inside_u = np.c_[r * np.cos(t[::6] + 0.15), r * np.sin(t[::6] + 0.15), np.full(10, r * r)]
    inside_s = np.c_[r * np.cos(t[::6] + 0.15), r * np.sin(t[::6] + 0.15), np.full(10, -r * r)]
    assert shown(img, scene, inside_u, _reddish(img), radius=1) >= 0.6
    assert shown(img, scene, inside_s, _bluish(img), radius=1) >= 0.6


def _degenerate_saddle(data, scenes, image):
    net = data["net"]
    assert data["kind"] == "non_strict_saddle" and data["lam"].min() > -1e-9  # the Hessian sees no escape
    flows = data["flows"]
    L = flows.loss.values
    assert np.all(L[:, 1:] < 2.5) and np.all(np.diff(L, axis=1) <= 1e-12 * (1 + L[:, :-1]))  # below L_{1}, downhill
    p_end = quotient_coordinates(net, flows.theta.values[:, -1])
    np.testing.assert_allclose(p_end[0], _corner((1, 2)), atol=1e-6)  # phi = 0: the edge to {1,2}
    np.testing.assert_allclose(p_end[-1], _corner((1, 3)), atol=1e-6)  # phi = pi/2: the edge to the strict {1,3}
    np.testing.assert_allclose(p_end[1:-1], np.broadcast_to(SIGMA3, p_end[1:-1].shape), atol=1e-6)  # the minimum
    # backward: at the start every flow is within delta^3 of the saddle's corner (attached to it)
    p0 = quotient_coordinates(net, flows.theta.values[:, 0])
    assert np.abs(p0 - _corner((1,))).max() <= 1.01 * data["delta"] ** 3
    surf = data["surface"]
    p = quotient_coordinates(net, surf.points.values)
    np.testing.assert_allclose(p[:, 0], 3.0, atol=1e-12)  # the face p_1 = sigma_1
    assert p[:, 1].max() > 1.99 and p[:, 2].max() > 0.99  # spanning it
    scene, img = scenes["degenerate_saddle.png"], image("degenerate_saddle.png")
    face = np.array([[3.0, y, z] for y in (0.5, 1.0, 1.5) for z in (0.3, 0.7)])
    assert shown(img, scene, face, _reddish(img), radius=1) >= 0.8
    assert shown(img, scene, _corner((1, 3)), ORANGE, radius=4) == 1.0
    assert shown(img, scene, _corner((2, 3)), ORANGE, radius=4) == 1.0  # a corner no flow reaches


QUOTIENT_CHECKS = {"plot_quotient_3333": _quotient_3333, "plot_manifolds_121": _manifolds_121,
                   "plot_degenerate_saddle": _degenerate_saddle}

_ = ls  # the checks read the scripts' networks; landscape is imported for their unpickling
