"""
Saddles and flows of the (3, 3, 3, 3) network in quotient coordinates
=====================================================================

``Sigma = diag(3, 2, 1)``, depth 3. The loss depends on the weights only through the
end-to-end matrix ``P = W_3 W_2 W_1``; its coordinates on the modes, ``p_k = u_k^T P v_k``
(here ``P[k, k]``), place every critical point at a corner of the box
``[0, 3] x [0, 2] x [0, 1]``: ``p_k = sigma_k`` for the learnt modes ``k`` in ``S``, 0
otherwise. The eight corners are labelled with ``S`` and their kind (spec 3.4: at depth 3
the top sets ``{}``, ``{1}``, ``{1,2}`` are non-strict saddles, the others strict).

Small initialisations run along the box edges, one mode at a time, largest first
(``{} -> {1} -> {1,2} -> {1,2,3}``); large ones cut through the box. The same flows in a
PCA of the weights (second picture) lose the box: the saddles the flows visit are other
points of the critical fibers than the representatives marked there.
"""

import numpy as np

import landscape as ls
from landscape.render import gallery_path, gallery_size, quotient_coordinates, quotient_scene, save_png

net = ls.LinearNetwork([3, 3, 3, 3], [3.0, 2.0, 1.0])
critical = ls.classify(ls.critical_points(net))  # the kinds the labels read

# %%
# Flows from small (N(0, 1e-4)) and large (N(0, 0.49)) initialisations
# ---------------------------------------------------------------------
# The large starts are chosen on three sides of the box (p_3 > sigma_3, p_1 < 0, p_3 < 0).
small = [ls.gradient_flow(net, ls.init.gaussian(net, 1e-2, rng=seed), 400.0, times="log", n_points=300, t_min=1e-3)
         for seed in range(3)]
large = [ls.gradient_flow(net, ls.init.gaussian(net, 0.7, rng=seed), 20.0, times="log", n_points=200, t_min=1e-3)
         for seed in (11, 13, 19)]
for ds in small + large:
    print(ls.itinerary(ds).attrs["route"])
corners = quotient_coordinates(net, critical.theta.values)  # (8, 3): sigma_k on S, 0 elsewhere

# %%
# The box, its labelled corners and the flows
# -------------------------------------------
scene = quotient_scene(net, trajectories=small + large, critical=critical, size=gallery_size(),
                       title="(3,3,3,3), Sigma = diag(3,2,1): saddles and flows in p_k = u_k^T P v_k")
save_png(scene, gallery_path("quotient_3333.png"))

# %%
# The same flows in a PCA of the weights
# --------------------------------------
pca = quotient_scene(net, trajectories=small + large, critical=critical, coordinates="pca", size=gallery_size())
pca.title = "the same flows in a PCA of the weights: " + pca.title.split(": ", 1)[1]
save_png(pca, gallery_path("quotient_3333_pca.png"))

# %%
# Takeaway: in quotient coordinates the landscape's skeleton is a box; saddle-to-saddle
# learning is a walk along its edges.
_ = np.asarray(corners)
