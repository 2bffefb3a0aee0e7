"""Checks of the gallery scripts in gallery/05_losses (run by tests/render/test_render.py's gallery test).

Each check gets the script's data (module globals), its recorded scenes and a reader of
its PNGs; it asserts the laws the picture illustrates on the data, and that the chart's
curves are the data.
"""

import numpy as np

from tests.render.test_render import series_match


def _logistic_alignment(data, scenes, image):
    t, al, ratio, angle = data["t"], data["al"], data["ratio"], data["angle"]
    L = data["traj"].loss.values[1:]
    assert np.all(np.diff(L) < 0) and L[-1] < 1e-9  # the loss tends to 0
    norm = np.linalg.norm(data["P"], axis=1)
    assert np.all(np.diff(norm[t >= 10]) > 0)  # ||P|| keeps growing
    assert np.all(al[-1] > 0.99) and np.all(al[0] < 0.9)  # adjacent layers align
    assert np.all(ratio[-1] < 0.1)  # each hidden-side layer tends to rank one
    late = angle[t >= 1e2]
    assert np.all(np.diff(late) < 0) and angle[-1] < 2.5 and angle[0] > 20.0  # towards the max-margin direction
    series_match(scenes["logistic_alignment.png"], data["series"])
    series_match(scenes["logistic_alignment_margin.png"], data["margin_series"])


def _raw_vs_whitened(data, scenes, image):
    Lw, Lr, c = data["Lw"], data["Lr"], data["whitened"].loss_offset
    assert Lw[0] == Lr[0] or abs(Lw[0] - Lr[0]) < 1e-12 * Lw[0]  # the same start
    assert Lw[-1] - c < 1e-4 and Lr[-1] - c < 1e-4  # the same minimum value
    assert np.abs(Lw - Lr).max() > 0.5 * Lw[0] and data["gap"].max() > 1.0  # different paths
    scene = scenes["raw_vs_whitened.png"]
    series_match(scene, data["series"])
    drawn = np.sort([r["y"][0] for r in scene["references"]])
    np.testing.assert_allclose(drawn, data["critical_values"], rtol=1e-12)  # the critical values L_S + c


def _cross_entropy_digits(data, scenes, image):
    model = data["model"]
    assert model.network_.loss_name == "cross_entropy"
    assert model.score(data["X"], data["y"]) > 0.95
    assert list(model.learning_order_[:3]) == [0, 1, 2]  # the largest mode first, then the next
    assert np.all(np.diff(model.t_learnt_[:3]) > 0)
    series_match(scenes["cross_entropy_digits.png"], data["series"])


LOSS_CHECKS = {"plot_logistic_alignment": _logistic_alignment, "plot_raw_vs_whitened": _raw_vs_whitened,
               "plot_cross_entropy_digits": _cross_entropy_digits}
