"""
G7: gradient descent against gradient flow
==========================================

Scalar depth 2, ``sigma = 3``: gradient descent converges for ``eta = 0.30`` and does not
for ``eta = 0.36`` (threshold ``2 / lambda_max = 1 / sigma``), and its conserved quantity
drifts at order ``eta^2``.
"""

import numpy as np

import landscape as ls
from landscape.render import chart_lines, gallery_path, gallery_size, save_png

net = ls.LinearNetwork([1, 1, 1], 3.0)
w0 = [np.array([[np.sqrt(3.0) + 0.01]]), np.array([[np.sqrt(3.0) - 0.01]])]

# %%
# Two step sizes around the threshold
# -----------------------------------
series = []
for eta, color in ((0.30, "#2ca02c"), (0.36, "#d62728")):
    ds = ls.gradient_descent(net, w0, eta, 2000)
    series.append((ds.iteration.values, ds.loss.values + 1e-32, f"eta = {eta}", color))
save_png(chart_lines(series, "iteration", "loss", "G7: GD converges iff eta < 1/3", gallery_size(), log_y=True),
         gallery_path("g7_gd.png"))

# %%
# Drift of c = w_2^2 - w_1^2 after one step, against eta^2
# --------------------------------------------------------
etas = np.geomspace(1e-3, 1e-1, 20)
W = [np.array([[0.5]]), np.array([[1.5]])]
drift = [abs(float(ls.conserved_quantities(ls.weights_at(ls.gradient_descent(net, W, e, 1), 1))[0][0, 0]
                   - ls.conserved_quantities(W)[0][0, 0])) for e in etas]
reference = 10 * etas**2 * drift[-1] / etas[-1] ** 2  # slope 2, shifted up a decade to stay visible
save_png(chart_lines([(etas, drift, "|c(1) - c(0)|", "#1f5fbf"), (etas, reference, "slope eta^2 (reference)", "#999999")],
                     "eta", "drift", "G7: conservation broken at second order", gallery_size(), log_x=True, log_y=True),
         gallery_path("g7_drift.png"))

# %%
# Takeaway: GD inherits the flow's geometry only for small steps; sharp minima
# (large lambda_max) are not linearly stable beyond eta = 2 / lambda_max.
