"""
Raw vs whitened squared loss: one landscape, two paths
======================================================

Correlated inputs ``X`` (``X X^T / m != I``): the raw loss ``(1/m) 1/2 ||Y - P X||^2`` and its
whitened reduction ``1/2 ||Sigma - P||^2 + c`` (spec 1.2) have the same critical values
``L_S + c`` and the same Hessian inertia, but from the same small start their gradient
flows visit them along different paths and at different times.
"""

import numpy as np

import landscape as ls
from landscape.core import kernels
from landscape.render import chart_lines, gallery_path, gallery_size, save_png

# %%
# Correlated data, and the two networks
# -------------------------------------
rng = np.random.default_rng(3)
X = np.linalg.qr(rng.normal(size=(3, 3)))[0] @ (rng.normal(size=(3, 50)) * np.array([[2.0], [1.0], [0.4]]))
Y = np.diag([3.0, 1.5, 0.6]) @ rng.normal(size=(3, 3)) @ X + 0.05 * rng.normal(size=(3, 50))
whitened = ls.LinearNetwork.from_data(X, Y, [3], loss="squared")
raw = ls.LinearNetwork.from_data(X, Y, [3], loss="raw_squared")
crit = ls.critical_points(whitened)
critical_values = np.sort(crit.loss.values + whitened.loss_offset)
print("critical values L_S + c:", np.round(critical_values, 4))

# %%
# The same start (a small Gaussian one), mapped to data coordinates for the raw loss
# ---------------------------------------------------------------------------------
W0 = ls.init.gaussian(whitened, 1e-2, rng=4)
t_end = 60.0
kw = dict(method="DOP853", rtol=1e-10, atol=1e-12, times="log", t_min=1e-2, n_points=301, progress=False)
tw = ls.gradient_flow(whitened, W0, t_end, **kw)
tr = ls.gradient_flow(raw, whitened.to_data_coordinates(W0), t_end, **kw)
Lw = tw.loss.values + whitened.loss_offset
Lr = tr.loss.values
gap = np.array([np.abs(kernels.prefix_products(whitened.from_data_coordinates(raw.unflatten(a)))[-1]
                       - kernels.prefix_products(whitened.unflatten(b))[-1]).max()
                for a, b in zip(tr.theta.values, tw.theta.values)])
print(f"final losses: whitened {Lw[-1]:.8f}, raw {Lr[-1]:.8f}; largest gap between the paths {gap.max():.3f}")

# %%
# Loss along both paths, the common critical values dotted
# --------------------------------------------------------
series = [(tw.time.values, Lw, "whitened: 1/2 ||Sigma - P||^2 + c", "#1f5fbf"),
          (tr.time.values, Lr, "raw: (1/m) 1/2 ||Y - P X||^2", "#d62728")]
labels = ["{" + ",".join(str(k + 1) for k in np.flatnonzero(row)) + "}" for row in crit.learnt.values]
order = np.argsort(crit.loss.values)
references, last = [], None
for i in order:  # values closer than 15 % share one label
    v = float(crit.loss.values[i] + whitened.loss_offset)
    if last is not None and v < 1.15 * references[last][0]:
        references[last] = (references[last][0], references[last][1] + " " + labels[i])
        references.append((v, ""))
    else:
        last = len(references)
        references.append((v, "S = " + labels[i]))
save_png(chart_lines(series, "time", "loss", "same critical values, different paths", gallery_size(), log_x=True,
                     log_y=True, references=references), gallery_path("raw_vs_whitened.png"))

# %%
# Takeaway: whitening is a change of coordinates of the landscape (values, inertia), not of
# the flow: the raw loss learns the same modes, but on its own schedule.
