"""
Digits: the singular modes are learnt one at a time
===================================================

The digits data (64 pixels -> one-hot digit) reduced to ``Sigma`` by whitening: from a
small initialisation a depth-3 network learns the singular modes of the input-output
correlation in order of size, each after a plateau.
"""

import numpy as np

import landscape as ls
from landscape import datasets
from landscape.render import chart_lines, gallery_path, gallery_size, save_png

data = datasets.digits(hidden_widths=(16, 16))
net = data.net
print(net, "| sigma:", np.round(net.sigma, 3))

# %%
# A small balanced start, integrated on a log time axis
# -----------------------------------------------------
W0 = ls.init.balanced(net, rng=0, singular_values=np.full(net.rank, 0.05))
traj = ls.gradient_flow(net, W0, 3000.0, times="log", n_points=400, t_min=0.1)
it = ls.itinerary(traj)
print("half-learning times:", np.round(it.t_half.values, 1))

# %%
# Singular values of the end-to-end map against the targets
# ---------------------------------------------------------
sv = traj.singular_values.values
palette = ["#d62728", "#ff7f0e", "#2ca02c", "#1f77b4", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"]
series = [(traj.time.values, sv[:, k], f"sigma_{k + 1}(P) -> {net.sigma[k]:.3f}", c)
          for k, c in zip(range(min(9, sv.shape[1])), palette)]
save_png(chart_lines(series, "time", "singular value", "digits: sequential learning of the modes", gallery_size(),
                     log_x=True), gallery_path("digits_sequential.png"))

# %%
# Takeaway: the larger a mode's singular value, the earlier it is learnt (t ~ 1/(sigma eps)).
