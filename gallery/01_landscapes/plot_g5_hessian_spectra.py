"""
G5: Hessian spectra at the canonical critical points
====================================================

For ``Sigma = diag(3, 2, 1)`` and depths 2 and 3, the Hessian spectra at all eight
representatives ``A*_S``, one column per subset ``S``, coloured by strict saddle,
non-strict saddle and minimum; equal eigenvalues are drawn once with their multiplicity.
"""

import numpy as np

import landscape as ls
from landscape.render import COLORS, gallery_path, gallery_size, kind_label, save_png, spectrum_chart

# %%
# Spectra and classification
# --------------------------
# Depth 2: every saddle is strict. Depth 3: top sets ``{}``, ``{1}``, ``{1,2}`` are
# non-strict (positive semidefinite Hessian), the others strict.
for h in (2, 3):
    net = ls.LinearNetwork([3] * (h + 1), [3.0, 2.0, 1.0])
    crit = ls.classify(ls.critical_points(net))  # once per set: kinds and Hessian spectra
    groups = []
    for i, kind in enumerate(crit.kind.values):
        ev = crit.hessian_eigenvalues.values[i]
        groups.append((str(crit.subset.values[i]), ev[~np.isnan(ev)], kind_label(kind), COLORS[str(kind)]))
    fig = spectrum_chart(groups, f"G5: Hessian spectra, depth {h} (×k: multiplicity)", gallery_size())
    save_png(fig, gallery_path(f"g5_spectra_depth{h}.png"))

# %%
# Takeaway: for h >= 3 the Hessian cannot tell the non-strict saddles from minima;
# their negative directions appear only at order h (see G6).
