"""
G4: simultaneous learning from a large initialisation
=====================================================

Aligned weights with every mode half learnt (``p_k(0) = sigma_k / 2``) converge at
exponential rates with no plateau; the loss decays like ``exp(-2 h c^(2-2/h) t)``.
"""

import numpy as np

import landscape as ls
from landscape.render import chart_lines, gallery_path, gallery_size, save_png

sigma = np.array([3.0, 2.0, 1.0])

# %%
# Aligned, balanced starts with p_k(0) = sigma_k / 2
# ---------------------------------------------------
series = []
for h, color in zip((2, 3), ("#d62728", "#1f5fbf")):
    net = ls.LinearNetwork([3] * (h + 1), sigma)
    W0 = ls.init.aligned(net, (sigma / 2) ** (1 / h))
    ds = ls.gradient_flow(net, W0, 8.0, n_points=300, loss_below=1e-20)
    series.append((ds.time.values, ds.loss.values, f"depth {h}", color))
save_png(chart_lines(series, "time", "loss", "G4: no plateaus, exponential convergence", gallery_size(), log_y=True),
         gallery_path("g4_loss.png"))

# %%
# Takeaway: with a margin every mode is learnt at once; compare with G3.
