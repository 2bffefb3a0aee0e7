"""
G6: loss along arcs
===================

``Delta L`` along the balanced insertion arc at the origin for depths 2, 3 and 4 (the
parity effect: ``-sigma alpha^h``) and along exchange arcs (second order, negative iff a
larger mode is unlearnt).
"""

import numpy as np

import landscape as ls
from landscape.render import chart_lines, gallery_path, gallery_size, save_png
from landscape.stability import exchange_arc, insertion_arc

alphas = np.linspace(-1, 1, 201)
colors = ("#d62728", "#1f5fbf", "#2ca02c")

# %%
# Insertion arcs: odd depths have a stable and an unstable half
# -------------------------------------------------------------
series = []
for h, color in zip((2, 3, 4), colors):
    net = ls.LinearNetwork([3] * (h + 1), [3.0, 2.0, 1.0])
    dL = insertion_arc(net, (), 1, np.repeat(alphas[:, None], h, axis=1))
    series.append((alphas, dL, f"depth {h}", color))
save_png(chart_lines(series, "alpha", "L(A(alpha)) - L(0)", "G6: insertion arc of mode 1 at the origin",
                     gallery_size()), gallery_path("g6_insertion_arcs.png"))

# %%
# Exchange arcs: rotate a learnt mode toward an unlearnt one
# ----------------------------------------------------------
thetas = np.linspace(-np.pi / 4, np.pi / 4, 101)
net = ls.LinearNetwork([3, 3, 3, 3], [3.0, 2.0, 1.0])
series = [(thetas, exchange_arc(net, (2,), 2, 1, thetas), "S={2}: 2 -> 1 (strict)", colors[0]),
          (thetas, exchange_arc(net, (1,), 1, 2, thetas), "S={1}: 1 -> 2 (stable)", colors[1])]
save_png(chart_lines(series, "theta", "Delta L", "G6: exchange arcs, depth 3", gallery_size()),
         gallery_path("g6_exchange_arcs.png"))

# %%
# Takeaway: second order sees the exchange arcs; insertion arcs decrease only at order h.
