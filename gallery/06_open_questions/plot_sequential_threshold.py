"""
From sequential to simultaneous learning: the threshold scale
==============================================================

``ls.experiments.sequential_threshold`` counts the gaussian starts whose itinerary visits
every intermediate saddle, against the initial scale, at depths 2 and 3 with
Sigma = diag(3, 2, 1). Depth 2 needs an exponentially small scale, depth 3 a polynomially
small one (Gissin et al. 2020).
"""

import os

import numpy as np

import landscape as ls
from landscape.render import chart_lines, gallery_path, gallery_size, save_png

small = os.environ.get("LANDSCAPE_GALLERY_SIZE") == "small"

# %%
# The study
# ---------
ds = ls.experiments.sequential_threshold(depths=[2, 3], spectra=[[3.0, 2.0, 1.0]],
                                         scales=np.geomspace(1e-5, 1.0, 6 if small else 11), seeds=3 if small else 8,
                                         predict=not small, processes=False, n_workers=2, progress=False)

# %%
# Fraction of sequential runs
# ---------------------------
series = [(ds.scale.values, ds.sequential_fraction.sel(depth=h, spectrum=0).values, f"depth {h}", c)
          for h, c in ((2, "#d62728"), (3, "#1f5fbf"))]
save_png(chart_lines(series, "initial scale eps", "fraction of sequential runs",
                     "sequential -> simultaneous, Sigma = diag(3, 2, 1)", gallery_size(), log_x=True),
         gallery_path("sequential_threshold.png"))
for h in (2, 3):
    lo, hi = ds.threshold_ci.sel(depth=h, spectrum=0).values
    print(f"depth {h}: half sequential at eps = {float(ds.threshold.sel(depth=h, spectrum=0)):.3g} [{lo:.3g}, {hi:.3g}]"
          f", aligned theory {float(ds.predicted_threshold.sel(depth=h, spectrum=0)):.3g}")

# %%
# Takeaway: at depth 3 learning stays sequential up to scales a hundred times larger
# than at depth 2.
