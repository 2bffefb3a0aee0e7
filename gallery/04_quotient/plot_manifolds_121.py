"""
The 2-D unstable and stable manifolds of the (1, 2, 1) origin
=============================================================

Widths (1, 2, 1), ``sigma = 1``: ``W_1 = v`` (a column) and ``W_2`` (a row), four
parameters. At the origin the Hessian has eigenvalues ``-1, -1, +1, +1`` (spec 3.5), and
the invariant sets are known in closed form (issue 11):

* ``W^u(0) = {W_1 = v, W_2 = v^T, |v|^2 < sigma}``: a disk, bounded by the circle of
  balanced global minima ``{W_1 = v, W_2 = v^T, |v|^2 = sigma}``;
* ``W^s(0) = {W_1 = v, W_2 = -v^T}``: a plane.

The picture uses the coordinates ``(v_1, v_2, p)`` with ``v = W_1`` and the quotient
coordinate ``p = W_2 W_1`` (the network's one mode) as height: the disk becomes the cap
``p = |v|^2 <= sigma`` rising to the circle of minima at ``p = sigma``, the plane the bowl
``p = -|v|^2`` below. This map is one-to-one on each set (it forgets only ``W_2``, which
the set fixes). The surfaces are grown numerically by ``ls.manifold_surface`` (geodesic
level sets) and compared with the closed forms, which are printed; where that function
is not available the script draws **the closed forms** (meshes of the exact sets)
instead, and says so. Flows from just off the stable plane come in along it, pass the
origin and leave along the disk to the circle.
"""

import numpy as np
import xarray as xr

import landscape as ls
from landscape.render import gallery_path, gallery_size, quotient_scene, save_png

sigma = 1.0
net = ls.LinearNetwork([1, 2, 1], sigma)


def disk_mesh(radius, sign, n_r=12, n_t=48):
    """``W_1 = v``, ``W_2 = sign v^T`` over the disk ``|v| <= radius``: flat parameters and triangles."""
    r = np.linspace(0.0, radius, n_r)[1:]
    t = np.linspace(0.0, 2 * np.pi, n_t, endpoint=False)
    R, T = np.meshgrid(r, t, indexing="ij")
    v = np.vstack([[0.0, 0.0], np.c_[(R * np.cos(T)).ravel(), (R * np.sin(T)).ravel()]])
    theta = np.c_[v, sign * v]  # [W_1[0, 0], W_1[1, 0], W_2[0, 0], W_2[0, 1]]
    tri = [[0, 1 + j, 1 + (j + 1) % n_t] for j in range(n_t)]
    for i in range(n_r - 2):
        for j in range(n_t):
            a, b = 1 + i * n_t + j, 1 + i * n_t + (j + 1) % n_t
            tri += [[a, b, a + n_t], [b, b + n_t, a + n_t]]
    return theta, np.array(tri)


def as_dataset(theta, tri, kind):
    """A surface dataset like ``ls.manifold_surface``'s: points (vertex, param), triangles (face, corner), loss."""
    loss = np.array([net.loss(net.unflatten(p)) for p in theta])
    ds = xr.Dataset({"points": (("vertex", "param"), theta), "triangles": (("face", "corner"), tri),
                     "loss": (("vertex",), loss)})
    ds.attrs.update({"kind": kind, "subset": "{}", "source": "closed form"})
    return ds


grow = getattr(ls, "manifold_surface", None)
origin = [np.zeros((2, 1)), np.zeros((1, 2))]
if grow is not None:  # grown numerically; the geodesic radius of the disk's rim |v|^2 = sigma is sqrt(2 sigma)
    unstable = grow(net, origin, kind="unstable", max_distance=0.98 * np.sqrt(2 * sigma), max_vertices=3000)
    stable = grow(net, origin, kind="stable", max_distance=np.sqrt(2.0), max_vertices=3000)
    source = "ls.manifold_surface"
else:
    unstable = as_dataset(*disk_mesh(np.sqrt(sigma) * (1 - 1e-9), +1.0), "unstable")
    stable = as_dataset(*disk_mesh(1.0, -1.0), "stable")
    source = "closed forms (ls.manifold_surface not available)"
deviation = {name: float(np.abs(ds.points.values[:, 2:] - sign * ds.points.values[:, :2]).max())
             for name, ds, sign in (("unstable", unstable, 1.0), ("stable", stable, -1.0))}
print(f"surfaces from {source}: {unstable.sizes['vertex']} and {stable.sizes['vertex']} vertices; "
      f"max |W_2 -+ W_1^T| = {deviation}; unstable reaches |v|^2 = "
      f"{np.sum(unstable.points.values[:, :2] ** 2, axis=1).max():.3f} of sigma = {sigma}")

# %%
# Check the surfaces against the closed forms: the field keeps both sets, the loss orders them
# ---------------------------------------------------------------------------------------------
# On W^u and W^s the flow keeps ``W_2 = +-W_1^T``; the loss is below L_{} = sigma^2 / 2 on the
# disk and above it on the plane.
for ds, sign in ((unstable, 1.0), (stable, -1.0)):
    for p in ds.points.values[::37]:
        g = net.gradient(net.unflatten(p))
        assert np.allclose(-g[1].ravel(), sign * -g[0].ravel(), atol=1e-8)
assert unstable.loss.values.max() <= 0.5 * sigma**2 + 1e-12 and stable.loss.values.min() >= 0.5 * sigma**2 - 1e-12
circle_t = np.linspace(0.0, 2 * np.pi, 121)
circle = np.sqrt(sigma) * np.c_[np.cos(circle_t), np.sin(circle_t)]
circle_theta = np.c_[circle, circle]  # the balanced global minima, the rim of the disk

# %%
# Flows from just off the stable plane
# ------------------------------------
starts = []
for angle in np.linspace(0.3, 2 * np.pi + 0.3, 5, endpoint=False):
    v = 0.9 * np.array([np.cos(angle), np.sin(angle)])
    off = 1e-3 * np.array([np.cos(angle + 1.0), np.sin(angle + 1.0)])
    starts.append(np.r_[v, -v + off])
starts = np.array(starts)
flows = ls.gradient_flow(net, [starts[:, :2].reshape(-1, 2, 1), starts[:, 2:].reshape(-1, 1, 2)], 12.0, n_points=400)


def coords(theta):
    """``(v_1, v_2, p)``: ``v = W_1`` and the quotient coordinate ``p = W_2 W_1``."""
    theta = np.atleast_2d(theta)
    return np.c_[theta[:, 0], theta[:, 1], theta[:, 2] * theta[:, 0] + theta[:, 3] * theta[:, 1]]


# %%
# The picture
# -----------
scene = quotient_scene(net, trajectories=[flows], surfaces=[unstable, stable], coordinates=coords,
                       axis_titles=("v_1 (W_1 = v)", "v_2", "p = W_2 W_1"), size=gallery_size(),
                       title="(1,2,1): W^u(0) disk (red), W^s(0) plane (blue), minima (green)")
scene.add_path(coords(circle_theta), color="#2ca02c", width=6, label="circle of minima: W_2 = v^T, v.v = sigma")
save_png(scene, gallery_path("manifolds_121.png"))

# %%
# Takeaway: the origin's unstable set is a 2-D disk whose rim is the circle of balanced
# minima; every flow that comes close to the origin along the stable plane leaves along it.
