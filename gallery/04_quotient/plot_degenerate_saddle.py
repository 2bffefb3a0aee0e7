"""
The unstable set of a degenerate saddle (depth 3)
=================================================

Widths (3, 3, 3, 3), ``Sigma = diag(3, 2, 1)``, the saddle ``S = {1}`` (``L = 2.5``). At
depth 3 its Hessian is positive semidefinite (a *non-strict* saddle, spec 3.4): the
directions that add mode 2 or 3 have zero curvature, and the loss decreases along them
only at third order (insertion arcs, spec 5.1: ``-sigma_k alpha^3``). The second-order
test sees nothing; the unstable set is still there.

Its aligned part is known exactly: put mode ``k`` (k = 2, 3) on a free hidden unit with
the balanced weight ``a_k`` on each of the three layers. Each mode then evolves as a scalar
balanced network (spec 6.1), whose positive half-line is the unstable set of its origin
(spec 5.5); so every such point lies on ``W^u(A*_{1})``. With ``(a_2, a_3) = delta (cos phi,
sin phi)`` and ``phi`` from 0 to pi/2 the flows sweep a 2-D surface of ``W^u``: in quotient
coordinates it is attached to the corner ``{1}`` and spans the face ``p_1 = 3`` of the box,
bounded by the edges to ``{1,2}`` (``phi = 0``) and to ``{1,3}`` (``phi = pi/2``, a strict
saddle where that flow stops). The mesh is made of these flow lines (one ring per time).
"""

import numpy as np
import xarray as xr

import landscape as ls
from landscape.render import gallery_path, gallery_size, quotient_coordinates, quotient_scene, save_png

net = ls.LinearNetwork([3, 3, 3, 3], [3.0, 2.0, 1.0])
S = (1,)
W_star = ls.representative(net, S)
critical = ls.classify(ls.critical_points(net))
kind = str(critical.kind.values[list(critical.subset.values).index("{1}")])
lam = np.linalg.eigvalsh(net.hessian(W_star))
print(f"S = {{1}}: {kind}; smallest Hessian eigenvalue {lam.min():.2e} (no negative curvature)")

# %%
# Start points on the unstable set: modes 2 and 3 inserted on the free hidden units 2 and 3
# ------------------------------------------------------------------------------------------
delta = 0.08
phis = np.linspace(0.0, np.pi / 2, 13)
W0 = [np.repeat(w[None], phis.size, axis=0) for w in W_star]
for k, amp in ((2, np.cos(phis)), (3, np.sin(phis))):  # mode k through hidden unit k (0-based k - 1)
    a = delta * amp
    W0[0][:, k - 1, k - 1] = a
    W0[1][:, k - 1, k - 1] = a
    W0[2][:, k - 1, k - 1] = a
flows = ls.gradient_flow(net, W0, 300.0, times="log", n_points=160, t_min=1e-2)
theta = flows.theta.values  # (run, time, param)

# %%
# A mesh of the swept surface: flow lines (one per phi) joined at equal times
# ---------------------------------------------------------------------------
n_run, n_t = theta.shape[:2]
points = theta.reshape(-1, net.n_params)
tri = []
for r in range(n_run - 1):
    for i in range(n_t - 1):
        a, b = r * n_t + i, (r + 1) * n_t + i
        tri += [[a, b, a + 1], [b, b + 1, a + 1]]
surface = xr.Dataset({"points": (("vertex", "param"), points), "triangles": (("face", "corner"), np.array(tri)),
                      "loss": (("vertex",), flows.loss.values.ravel())})
surface.attrs.update({"kind": "unstable", "subset": "{1}", "source": "aligned flow lines (exact part of W^u)"})
p = quotient_coordinates(net, points)
print(f"p_1 stays at sigma_1 = 3 on the whole surface: max |p_1 - 3| = {np.abs(p[:, 0] - 3.0).max():.1e}")
print(f"loss below L_(1) = 2.5 after the start: max {flows.loss.values[:, 1:].max():.4f}")

# %%
# The picture
# -----------
scene = quotient_scene(net, trajectories=[flows.isel(run=r) for r in (0, 6, 12)], surfaces=[surface],
                       critical=critical, size=gallery_size(),
                       title="(3,3,3,3): unstable set of the non-strict saddle S = {1}")
centre = np.array([1.5, 1.0, 0.5])  # the box's centre; look at the face p_1 = 3 from outside the box
scene.camera = (tuple(centre + 3.2 * np.array([2.4, -1.2, 1.5])), tuple(centre), (0.0, 0.0, 1.0))
save_png(scene, gallery_path("degenerate_saddle.png"))

# %%
# Takeaway: a saddle the Hessian cannot see still has a 2-D unstable surface; in the
# quotient's coordinates it is the face of the box between the corners it leads to.
