"""Checks of the gallery scripts in gallery/06_open_questions (run by tests/render/test_render.py's gallery test).

Each check gets the script's data (module globals), its recorded scenes and a reader of
its PNGs: the charts show the script's series, and the data agree with the theory.
"""

import numpy as np

from landscape.experiments import theory
from tests.render.test_render import series_match


def _escape(data, scenes, image):
    ds = data["ds"]
    series_match(scenes["escape_time_scaling.png"], data["series"])
    for h in ds.depth.values:
        np.testing.assert_allclose(ds.predicted_time.sel(depth=h).values,
                                   [theory.escape_time(e, 3.0, int(h)) for e in ds.scale.values], rtol=1e-12)
        lo, hi = ds.slope_ci.sel(depth=h, init="balanced").values
        assert lo <= float(ds.predicted_slope.sel(depth=h)) <= hi


def _sequential(data, scenes, image):
    ds = data["ds"]
    series_match(scenes["sequential_threshold.png"], data["series"])
    f2 = ds.sequential_fraction.sel(depth=2, spectrum=0).values
    f3 = ds.sequential_fraction.sel(depth=3, spectrum=0).values
    assert f2[0] == 1.0 and f3[-1] == 0.0
    finite = np.isfinite(f3)
    assert np.all(f3[finite] >= f2[finite])  # depth 3 stays sequential at least as long


def _every(data, scenes, image):
    ds = data["ds"]
    series_match(scenes["almost_every_start.png"], data["series"])
    np.testing.assert_array_equal(ds.converged.values, ds.predicted_converged.values)
    assert float(ds.converged_fraction.sel(depth=3, init="gaussian")) == 1.0


LAB_CHECKS = {"plot_escape_time_scaling": _escape, "plot_sequential_threshold": _sequential,
              "plot_almost_every_start": _every}
