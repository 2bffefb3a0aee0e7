"""
From sequential to simultaneous learning
========================================

The fraction of runs whose loss shows plateaus (saddle visits) as the initial scale
grows, for depths 2 and 3, from a sweep over seeds and scales on a local dask cluster.
"""

import os

import numpy as np

import landscape as ls
from landscape.render import chart_lines, gallery_path, gallery_size, save_png

small = os.environ.get("LANDSCAPE_GALLERY_SIZE") == "small"
scales = np.geomspace(1e-3, 1.0, 4 if small else 8)
seeds = 6 if small else 40

# %%
# One sweep, two depths
# ---------------------
nets = [ls.LinearNetwork([3, 3, 3], [3.0, 2.0, 1.0]), ls.LinearNetwork([3, 3, 3, 3], [3.0, 2.0, 1.0])]
ds = ls.sweep(nets, scales=scales, seeds=seeds, t_end=300.0, n_points=150, chunk_size=max(3, seeds // 2),
              n_workers=2, processes=False, progress=False)  # threads: no __main__ guard needed here
fraction = (ds.n_plateaus > 0).mean("seed").isel(init=0)

# %%
# The transition
# --------------
series = [(scales, fraction.isel(network=i).values, f"depth {n.depth}", c)
          for i, (n, c) in enumerate(zip(nets, ("#d62728", "#1f5fbf")))]
save_png(chart_lines(series, "initial scale", "fraction of runs with plateaus", "sequential -> simultaneous",
                     gallery_size(), log_x=True), gallery_path("plateau_fraction.png"))
print(fraction.to_pandas() if hasattr(fraction, "to_pandas") else fraction.values)

# %%
# Takeaway: small initialisations visit saddles (plateaus), large ones learn all modes at
# once; the deeper network keeps its plateaus up to larger scales.
