"""
G2: the scalar depth-3 landscape
================================

In ``(w_1, w_2, w_3)`` the critical set is the three coordinate axes (saddles at
``L = 4.5``; the origin non-strict, the rest strict) and the surface ``w_1 w_2 w_3 = 3``
of minima; trajectories stay on intersections of the conserved hyperboloids.
"""

import numpy as np

import landscape as ls
from landscape.render import gallery_path, gallery_size, save_png, scalar_scene

net = ls.LinearNetwork([1, 1, 1, 1], 3.0)

# %%
# Trajectories from small spheres
# -------------------------------
# Starting points on spheres of radius 0.1 to 0.5: the closer to the balanced
# half-lines, the longer the flow lingers near the non-strict origin.
rng = np.random.default_rng(2)
starts = rng.normal(size=(12, 3))
starts *= np.linspace(0.1, 0.5, 12)[:, None] / np.linalg.norm(starts, axis=1, keepdims=True)
flows = ls.gradient_flow(net, [starts[:, i].reshape(-1, 1, 1) for i in range(3)], 10.0, n_points=300)

# %%
# Stable and unstable sets of the origin
# --------------------------------------
# The Hessian is zero there; insertion arcs find the balanced half-lines (spec 5.5).
manifolds = ls.submanifolds(net, [np.zeros((1, 1))] * 3, n_points=30)

# %%
# The picture
# -----------
trajs = [(flows.theta.values[r], flows.loss.values[r]) for r in range(flows.sizes["run"])]
pl = scalar_scene(3.0, gallery_size(), trajectories=trajs, manifolds=manifolds, title="G2: scalar depth 3, sigma = 3")
save_png(pl, gallery_path("g2_scalar_depth3.png"))

# %%
# One trajectory on its conserved surfaces
# ----------------------------------------
# ``w_2^2 - w_1^2 = c_1`` and ``w_3^2 - w_2^2 = c_2``: the trajectory is their intersection.
W0 = ls.weights_at(flows, 0, run=5)
c1, c2 = (float(c[0, 0]) for c in ls.conserved_quantities(W0))
pl = scalar_scene(3.0, gallery_size(), trajectories=trajs[5:6], conserved=(c1, c2),
                  title=f"G2: conserved c1 = {c1:.3f}, c2 = {c2:.3f}")
save_png(pl, gallery_path("g2_conserved.png"))

# %%
# Takeaway: the flow is confined to curves fixed by ``c_1, c_2`` at t = 0; only the
# balanced ones (c = 0) can reach the origin, which is why its stable set is so thin.
