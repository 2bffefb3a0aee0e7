"""
Cross-entropy on digits: the singular values of P are learnt in sequence
========================================================================

``DeepLinearClassifier`` (softmax cross-entropy, 10 classes, 64 pixels + a bias feature,
one hidden layer of 16) from a small balanced start: the singular values of the
end-to-end matrix grow one after the other, largest first, as with the quadratic loss.
"""

import numpy as np
from sklearn.datasets import load_digits

import landscape as ls
from landscape.render import chart_lines, gallery_path, gallery_size, save_png

# %%
# Fit by gradient flow from a small balanced start
# ------------------------------------------------
X, y = load_digits(return_X_y=True)
if gallery_size() == "small":
    X, y = X[:600], y[:600]
model = ls.DeepLinearClassifier(hidden_widths=(16,), init="balanced", init_scale=1e-2, t_end=300.0, tol=1e-2,
                                random_state=0).fit(X, y)
t, sv = model.times_, model.singular_values_
print(f"training accuracy {model.score(X, y):.3f}; learning order of the modes {model.learning_order_[:9]}; "
      f"t_learnt {np.round(model.t_learnt_[:9], 2)}")

# %%
# Singular values of P(t)
# -----------------------
palette = ["#d62728", "#ff7f0e", "#2ca02c", "#1f77b4", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"]
series = [(t, sv[:, k], f"sigma_{k + 1}(P)", c) for k, c in zip(range(min(9, sv.shape[1])), palette)]
save_png(chart_lines(series, "time", "singular value", "digits, cross-entropy: modes learnt in sequence",
                     gallery_size(), log_x=True, log_y=True), gallery_path("cross_entropy_digits.png"))

# %%
# Takeaway: the saddle-to-saddle picture of small initialisations is not special to the
# quadratic loss: with cross-entropy too, P gains one direction at a time.
