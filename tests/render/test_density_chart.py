"""The spectral-density picture (issue 12): log-density against eigenvalue, the data it draws.

Checks the matplotlib Figure ``density_chart`` returns: the SLQ curve is the dataset's
density (plus the floor) on its grid, the optional exact curve is the same broadening of
the dense eigenvalues, the y axis is logarithmic, the title states the count estimate with
its uncertainty, the legend sits outside the axes, and the PNG shows both curves' colours.
"""

import numpy as np
import pytest

import landscape as ls
from landscape.render import density_chart, save_png


@pytest.fixture(scope="module")
def case():
    net = ls.LinearNetwork([6, 7, 5, 6], np.linspace(3.0, 0.5, 6))
    W = ls.init.gaussian(net, 0.7, rng=4)
    ev = np.linalg.eigvalsh(net.hessian(W))
    return net, ev, ls.spectral_density(net, W, n_probes=8, n_steps=30, rng=1)


def test_density_chart_draws_the_dataset_on_a_log_axis(case, tmp_path):
    net, ev, sd = case
    fig = density_chart(sd, eigenvalues=ev, size="small", floor=1e-6)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "Hessian eigenvalue"
    lines = {line.get_gid(): line for line in ax.get_lines()}
    slq, exact = lines["slq"], lines["exact"]
    np.testing.assert_allclose(slq.get_xdata(), sd.eigenvalue.values)
    np.testing.assert_allclose(slq.get_ydata(), sd.density.values + 1e-6)
    # the exact curve: the dense eigenvalues broadened with the dataset's variance, integrating to 1
    var = float(sd.attrs["variance"])
    grid = sd.eigenvalue.values
    want = np.exp(-0.5 * (grid[:, None] - ev[None, :]) ** 2 / var).sum(axis=1) / (ev.size * np.sqrt(2 * np.pi * var))
    np.testing.assert_allclose(exact.get_ydata(), want + 1e-6, rtol=1e-10)
    assert lines["reference"].get_xdata()[0] == 0.0
    est = float(sd.n_negative_estimate)
    unc = float(sd.n_negative_quadrature_error) + 3 * float(sd.n_negative_std)
    assert f"n_negative ~ {est:.0f} +- {unc:.0f} (estimate)" in ax.get_title()
    fig.canvas.draw()
    (legend,) = fig.legends
    leg, box = legend.get_window_extent(), ax.get_window_extent()
    assert leg.y1 <= box.y0 + 1  # below the axes, not over the curves
    img = save_png(fig, tmp_path / "density.png")
    rgb = img[..., :3].astype(int)
    blue = np.all(np.abs(rgb - [0x1F, 0x5F, 0xA8]) < 40, axis=-1).sum()
    orange = np.all(np.abs(rgb - [0xC2, 0x41, 0x0C]) < 40, axis=-1).sum()
    assert blue > 200 and orange > 100


def test_density_chart_refuses_other_kinds(case):
    net, _, _ = case
    with pytest.raises(ValueError, match="ds must be a 'spectral_density' dataset"):
        density_chart(ls.critical_values(net))


def test_render_dispatches_the_curvature_kinds(case, tmp_path):
    """``render`` draws a spectral_density dataset as its density chart and an eigenpairs dataset
    as its eigenvalues, one marker column per end, each at the dataset's values."""
    from landscape.render import picture, render

    net, ev, sd = case
    fig, mesh = picture(sd, size="small")
    assert mesh is None
    slq = {line.get_gid(): line for line in fig.axes[0].get_lines()}["slq"]
    np.testing.assert_allclose(slq.get_xdata(), sd.eigenvalue.values)
    W = ls.init.gaussian(net, 0.7, rng=4)
    ep = ls.extreme_eigenpairs(net, W, k=3, method="krylov")
    fig, _ = picture(ep, size="small")
    cols = fig.axes[0].collections
    assert len(cols) == 2
    got = sorted(np.concatenate([np.asarray(c.get_offsets())[:, 1] for c in cols]))
    np.testing.assert_allclose(got, np.sort(np.concatenate([ev[:3], ev[-3:]])), atol=1e-8)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["lowest", "highest"]
    assert render(ep, tmp_path / "ep.png") == [tmp_path / "ep.png"]
