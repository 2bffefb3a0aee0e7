"""
G1: phase portrait of the scalar depth-2 network
================================================

The flow of ``L = 1/2 (3 - w_1 w_2)^2`` in the plane: trajectories run along the conserved
hyperbolas ``w_2^2 - w_1^2 = c`` to the minimum hyperbola ``w_1 w_2 = 3``; the origin is a
strict saddle with stable line ``w_2 = -w_1`` and unstable line ``w_2 = w_1``.
"""

import numpy as np
import pyvista as pv

import landscape as ls
from landscape.render import COLORS, gallery_path, gallery_size, plotter, save_png, trajectory_tubes

SIGMA = 3.0
net = ls.LinearNetwork([1, 1, 1], SIGMA)


def plane_grid(a=3.0, n=161):
    """A flat grid on [-a, a]^2 carrying the loss, the conserved c and the product."""
    g = pv.ImageData(dimensions=(n, n, 1), spacing=(2 * a / (n - 1),) * 2 + (1.0,), origin=(-a, -a, 0.0))
    w1, w2 = g.points[:, 0], g.points[:, 1]
    g["loss"] = 0.5 * (SIGMA - w1 * w2) ** 2
    g["c"] = w2**2 - w1**2
    g["p"] = w1 * w2
    return g


# %%
# Flows from a ring of starting points
# ------------------------------------
# One batched call integrates all of them; each keeps its own conserved ``c``.
angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
starts = 2.5 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
batch = [starts[:, 0].reshape(-1, 1, 1), starts[:, 1].reshape(-1, 1, 1)]
flows = ls.gradient_flow(net, batch, 5.0, n_points=200)

# %%
# The picture
# -----------
# Loss contours (grey), conserved hyperbolas (brown), minima (green), the saddle's
# stable (blue) and unstable (red) lines, and the trajectories coloured by loss.
g = plane_grid()
pl = plotter(gallery_size(), "G1: scalar depth 2, sigma = 3")
pl.add_mesh(g.contour([0.5, 2, 4.5, 8, 16], scalars="loss"), color="#999999", line_width=1)
pl.add_mesh(g.contour([-6, -3, -1, 1, 3, 6], scalars="c"), color="#8c564b", line_width=1, opacity=0.6)
pl.add_mesh(g.contour([SIGMA], scalars="p"), color=COLORS["global_minimum"], line_width=5)
pl.add_mesh(pv.Line((-3, 3, 0), (3, -3, 0)), color=COLORS["stable"], line_width=4)
pl.add_mesh(pv.Line((-3, -3, 0), (3, 3, 0)), color=COLORS["unstable"], line_width=4)
for r in range(flows.sizes["run"]):
    xyz = np.pad(flows.theta.values[r], ((0, 0), (0, 1)))
    pl.add_mesh(trajectory_tubes(xyz, flows.loss.values[r], radius=0.03), scalars="value", cmap="plasma",
                show_scalar_bar=False)
pl.add_mesh(pv.Sphere(radius=0.1), color=COLORS["strict_saddle"])
pl.view_xy()
save_png(pl, gallery_path("g1_phase_portrait.png"))

# %%
# Takeaway: every trajectory with ``c != 0`` misses the saddle and ends on the
# hyperbola of minima where it meets its own conserved hyperbola.
