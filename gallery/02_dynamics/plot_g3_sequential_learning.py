"""
G3: sequential learning from a small initialisation
===================================================

Depths 2 and 3, ``Sigma = diag(3, 2, 1)``: the loss rests on plateaus 7 -> 2.5 -> 0.5 -> 0
(the critical values of the saddles visited) and the singular values of ``P(t)`` are
learnt one at a time, the largest first.
"""

import numpy as np

import landscape as ls
from landscape.render import chart_lines, gallery_path, gallery_size, save_png

net2 = ls.LinearNetwork([3, 3, 3], [3.0, 2.0, 1.0])
net3 = ls.LinearNetwork([3, 3, 3, 3], [3.0, 2.0, 1.0])

# %%
# Integrate with logarithmic output times (plateaus last long)
# ------------------------------------------------------------
runs = {
    "depth 2, W(0) = 1e-3 I": ls.gradient_flow(net2, ls.init.identity(net2, 1e-3), 12.0, times="log", n_points=400),
    "depth 3, W(0) ~ N(0, 1e-4)": ls.gradient_flow(net3, ls.init.gaussian(net3, 1e-2, rng=0), 400.0, times="log",
                                                   n_points=400),
}
for label, ds in runs.items():
    print(label, "route:", ls.itinerary(ds).attrs["route"])

# %%
# Loss and singular values
# ------------------------
colors = ("#d62728", "#1f5fbf")
series = [(ds.time.values, ds.loss.values, label, c) for (label, ds), c in zip(runs.items(), colors)]
plateaus = [(7.0, "L_{} = 7"), (2.5, "L_{1} = 2.5"), (0.5, "L_{1,2} = 0.5")]  # critical values visited
save_png(chart_lines(series, "time", "loss", "G3: plateaus at 7, 2.5, 0.5", gallery_size(), log_x=True, log_y=True,
                     y_min=1e-6, references=plateaus), gallery_path("g3_loss.png"))
ds = runs["depth 3, W(0) ~ N(0, 1e-4)"]
sv = ds.singular_values.values
series = [(ds.time.values, sv[:, k], f"sigma_{k + 1}(P)", c) for k, c in enumerate(("#d62728", "#ff7f0e", "#2ca02c"))]
save_png(chart_lines(series, "time", "singular value", "G3: depth 3, one mode at a time", gallery_size(), log_x=True),
         gallery_path("g3_singular_values.png"))

# %%
# Takeaway: each drop is an escape from a saddle along an insertion arc; depth 3 waits
# far longer (escape time ~ 1/(sigma eps) instead of log(1/eps)/sigma).
_ = np.asarray(sv)
