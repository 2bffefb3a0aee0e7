"""
Escape time from the origin against the initial scale
======================================================

``ls.experiments.plateau_scaling`` measures the first escape from the origin (the largest
singular value of P reaching sigma_1/2) for balanced and gaussian starts at depths 2, 3
and 4, and fits the slopes the theory predicts: 1/sigma_1 against ln(1/eps) at depth 2,
-(h-2) on log-log axes above.
"""

import os

import numpy as np

import landscape as ls
from landscape.render import chart_lines, gallery_path, gallery_size, save_png

small = os.environ.get("LANDSCAPE_GALLERY_SIZE") == "small"

# %%
# The study, on two worker threads
# --------------------------------
ds = ls.experiments.plateau_scaling(depths=[2, 3, 4], inits=["balanced", "gaussian"],
                                    scales=np.geomspace(1e-6, 1e-4, 3 if small else 5), seeds=3 if small else 8,
                                    processes=False, n_workers=2, progress=False)

# %%
# Measured times (geometric mean over seeds) and the exact aligned balanced theory
# -----------------------------------------------------------------------------
colors = {2: "#d62728", 3: "#1f5fbf", 4: "#2ca02c"}
shades = {2: ("#7a1010", "#f4a3a3"), 3: ("#0d2f66", "#9dbcf0"), 4: ("#145214", "#a6dba6")}  # balanced, gaussian
series = []
for h in ds.depth.values:
    for init, c in zip(("balanced", "gaussian"), shades[int(h)]):
        gm = np.exp(np.log(ds.escape_time.sel(depth=h, init=init)).mean("seed")).values
        series.append((ds.scale.values, gm, f"h = {h}: {init}", c))
    series.append((ds.scale.values, ds.predicted_time.sel(depth=h).values, f"h = {h}: theory (aligned balanced)",
                   colors[int(h)]))  # drawn last: on top of the balanced runs, which it matches to a few percent
save_png(chart_lines(series, "initial scale eps", "escape time", "escape from the origin: theory vs measured",
                     gallery_size(), log_x=True, log_y=True), gallery_path("escape_time_scaling.png"))
for h in ds.depth.values:
    for init in ds.init.values:
        lo, hi = ds.slope_ci.sel(depth=h, init=init).values
        print(f"h = {h} {init:<9} slope {float(ds.slope.sel(depth=h, init=init)):.8f} in [{lo:.8f}, {hi:.8f}], "
              f"theory {float(ds.predicted_slope.sel(depth=h)):.8f}")

# %%
# Takeaway: depth 2 escapes after a time logarithmic in 1/eps, deeper networks after a
# time polynomial in 1/eps, with the predicted exponents for balanced and gaussian starts.
