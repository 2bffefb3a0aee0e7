"""
G8: the rank of A^2 changes along a trajectory
==============================================

Scalar depth 2, ``sigma = 3``, ``w(0) = (2, -0.5)``: the product ``p = w_1 w_2`` passes
through 0 at ``t* ~ 0.073698``, where ``rank A^2`` drops to 0. So ``A(t)`` is not similar to
``A(0)`` for all t: the flow is isospectral only in the trivial sense (spectrum = {0}).
"""

import numpy as np

import landscape as ls
from landscape.render import chart_lines, gallery_path, gallery_size, save_png

net = ls.LinearNetwork([1, 1, 1], 3.0)
ds = ls.gradient_flow(net, [np.array([[2.0]]), np.array([[-0.5]])], 0.3, n_points=601, method="gauss")

# %%
# p(t) and the rank of A^2 = blk_2(p)
# -----------------------------------
p = ds.theta.values[:, 0] * ds.theta.values[:, 1]
rank = (np.abs(p) > 0.05).astype(float)  # a band around 0, so the drop is visible at this sampling
save_png(chart_lines([(ds.time.values, p, "p = w_1 w_2", "#1f5fbf"),
                      (ds.time.values, rank, "rank A^2 (|p| > 0.05)", "#d62728")], "time", "value",
                     "G8: p crosses 0 at t* = 0.0737", gallery_size()), gallery_path("g8_rank_change.png"))

# %%
# Takeaway: the Jordan structure of the nilpotent A(t) changes in time.
print("t* =", float(np.interp(0.0, p, ds.time.values)))
