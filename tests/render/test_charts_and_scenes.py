"""What the report's charts and 3-D scenes show: axes, titles, labels, markers, legends, layout.

Charts are checked on the matplotlib Figures the chart functions return (scales, tick
labels, texts, reference lines, where the legend sits); 3-D scenes on the pyvista plotter
they draw (cube-axes titles, point labels, marker meshes, the camera against the title and
legend strips, the PNG's pixels there) and on the plotly figure of the same scene.
"""

import numpy as np
import pytest

import landscape as ls
from landscape.explore import LOSS_FLOOR, loss_figure, singular_values_figure
from landscape.render import (
    Scene3D,
    chart_lines,
    manifold_scene,
    multiplicities,
    save_png,
    scalar_scene,
    spectrum_chart,
    trajectory_scene,
)
from landscape.render._scene3d import FREE_REGION, projected
from tests.render.test_render import BLUE, GREEN, ORANGE, PURPLE, RED, colour_mask, read_rgb, record_scenes

NET = ([2, 2, 2, 2], [2.0, 1.0])


@pytest.fixture(scope="module")
def flows():
    net = ls.LinearNetwork(*NET)
    out = {}
    for label, scale, seed in (("small", 0.05, 0), ("large", 1.0, 1)):
        ds = ls.gradient_flow(net, ls.init.gaussian(net, scale, rng=seed), 60.0, times="log", n_points=150,
                              t_min=1e-3, method="dopri5")
        out[label] = (ds, ls.itinerary(ds))
    return out


def _overlap(a, b):
    return not (a.x1 <= b.x0 or b.x1 <= a.x0 or a.y1 <= b.y0 or b.y1 <= a.y0)


def assert_legend_outside_axes(fig):
    fig.canvas.draw()
    ax = fig.axes[0]
    (legend,) = fig.legends
    assert not _overlap(legend.get_window_extent(), ax.get_window_extent()), "the legend covers the plot"
    assert legend.get_window_extent().x1 <= fig.bbox.x1 + 1  # and is inside the picture


# ------------------------------------------------------------------ charts
def test_loss_chart_is_log_log_with_the_visited_plateaus_marked(flows):
    fig = loss_figure("tiny", flows, size="small")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    title = ax.get_title()
    assert "small and large initialisation" in title and "(small init)" not in title
    assert [line.get_label() for line in ax.get_lines() if line.get_gid() != "reference"] == [
        "small initialisation", "large initialisation"]
    visited = sorted({float(L) for _, it in flows.values() for L in it.plateau_loss.values if L > 0}, reverse=True)
    assert visited == [2.5, 0.5]  # L_{} and L_{1} of sigma = (2, 1)
    refs = [line for line in ax.get_lines() if line.get_gid() == "reference"]
    assert sorted(float(line.get_ydata()[0]) for line in refs) == sorted(visited)
    notes = [t.get_text() for t in ax.texts]
    assert "L_{} = 2.5" in notes and "L_{1} = 0.5" in notes
    assert ax.get_ylim()[0] == pytest.approx(LOSS_FLOOR * 0.5)
    # the small critical value's plateau is well apart from the other one on the page
    y = ax.transData.transform([[1.0, 2.5], [1.0, 0.5]])[:, 1]
    assert y[0] - y[1] >= 0.05 * ax.get_window_extent().height
    assert_legend_outside_axes(fig)


def test_singular_value_chart_marks_the_targets(flows):
    fig = singular_values_figure("tiny", flows["small"][0], size="small")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and "small initialisation" in ax.get_title()
    refs = sorted(float(line.get_ydata()[0]) for line in ax.get_lines() if line.get_gid() == "reference")
    assert refs == [1.0, 2.0]
    assert [t.get_text() for t in ax.texts] == ["sigma_1 = 2", "sigma_2 = 1"]
    assert_legend_outside_axes(fig)


def test_spectrum_chart_puts_the_subsets_on_the_axis_and_shows_multiplicities():
    groups = [("{1}", [0.0, 1e-14, 0.0, 1.0, 2.0, 2.0], "global minimum", GREEN),
              ("{}", [0.0] * 5 + [-1.0], "strict saddle", ORANGE)]
    fig = spectrum_chart(groups, "spectra", size="small")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["{1}", "{}"]
    cols = ax.collections
    assert len(cols) == 2
    np.testing.assert_allclose(cols[0].get_offsets(), [[0, 0], [0, 1], [0, 2]], atol=1e-12)
    np.testing.assert_allclose(cols[1].get_offsets(), [[1, -1], [1, 0]], atol=1e-12)
    s0, s1 = cols[0].get_sizes(), cols[1].get_sizes()
    assert s0[0] > s0[2] > s0[1] and s1[1] > s0[0] > s1[0]  # area grows with the multiplicity 3, 2, 1 / 5 > 3 > 1
    texts = sorted((round(t.get_position()[0]), t.get_text()) for t in ax.texts)
    assert texts == [(0, "×2"), (0, "×3"), (1, "×5")]
    assert_legend_outside_axes(fig)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["global minimum", "strict saddle"]


def test_multiplicities_group_equal_values_within_the_tolerance():
    values, counts = multiplicities([3.0, 3.0 + 1e-9, -2.0, np.nan, 0.0, 1e-15])
    np.testing.assert_allclose(values, [-2.0, 0.0, 3.0], atol=1e-12)
    assert counts.tolist() == [1, 2, 2]
    values, counts = multiplicities([1.0, 1.001])
    assert counts.tolist() == [1, 1]


def test_line_chart_legend_stays_outside_with_many_series():
    x = np.linspace(1, 10, 50)
    fig = chart_lines([(x, k * x, f"curve {k}", "#333333") for k in range(9)], "x", "y", "nine curves", "small")
    assert len(fig.axes[0].get_lines()) == 9
    assert_legend_outside_axes(fig)


# ------------------------------------------------------------------ 3-D scenes
def _labels(pl):
    """Texts of the point labels a plotter draws, by anchor point."""
    import pyvista as pv

    out = []
    for name, actor in pl.renderer.actors.items():
        if name.startswith("labels-"):
            data = pv.wrap(actor.GetMapper().GetInputAlgorithm().GetInputDataObject(0, 0))
            out += list(zip(map(tuple, np.asarray(data.points)), map(str, data.point_data["labels"])))
    return out


def _marker_actor(pl, centre, tol=1e-9):
    """Actors whose mesh is centred at ``centre`` and coloured black (the start and end markers)."""
    hits = []
    for actor in pl.renderer.actors.values():
        mesh = getattr(getattr(actor, "mapper", None), "dataset", None)
        if mesh is not None and mesh.n_points and actor.prop.color.hex_rgb == "#000000":
            if np.allclose(mesh.center, centre, atol=tol):
                hits.append(mesh)
    return hits


def _scalar_scene(title="scalar depth 3"):
    net = ls.LinearNetwork([1, 1, 1, 1], 3.0)
    starts = np.array([[0.3, 0.2, 0.1], [-0.2, 0.3, -0.25]])
    ds = ls.gradient_flow(net, [starts[:, i].reshape(-1, 1, 1) for i in range(3)], 10.0, n_points=120)
    sm = ls.submanifolds(net, [np.zeros((1, 1))] * 3, n_points=20)
    trajs = [(ds.theta.values[r], ds.loss.values[r]) for r in range(2)]
    return scalar_scene(3.0, "small", trajectories=trajs, manifolds=sm, title=title), ds


def test_scalar_scene_has_axis_titles_s_labels_and_marked_ends():
    scene, ds = _scalar_scene()
    pl = scene.plotter()
    axes = pl.renderer.cube_axes_actor
    assert (axes.x_title, axes.y_title, axes.z_title) == ("w1", "w2", "w3")
    labels = dict(_labels(pl))
    assert labels[(0.0, 0.0, 0.0)] == "S = {} (non-strict saddle)"
    assert labels[(0.0, 0.0, 1.6)] == "S = {} (strict saddle)"
    c = 3.0 ** (1 / 3)
    ((where, text),) = [(p, t) for p, t in labels.items() if t == "S = {1} (global minimum)"]
    np.testing.assert_allclose(where, [c, c, c])
    assert abs(np.prod(where) - 3.0) < 1e-9  # on the minimum surface w1 w2 w3 = sigma
    for r in range(2):
        th = ds.theta.values[r]
        start, end = _marker_actor(pl, th[0]), _marker_actor(pl, th[-1])
        assert len(start) == 1 and len(end) == 1, r
        assert start[0].n_points != end[0].n_points  # a sphere and a cube
    assert pl.renderer.actors["title"].GetText(7) == "scalar depth 3"
    pl.close()


def test_scene_geometry_stays_clear_of_the_title_and_legend(tmp_path, monkeypatch):
    scene, _ = _scalar_scene(title="a long title naming the critical set, the flows and the stable/unstable sets")
    scenes = record_scenes(monkeypatch.setattr)
    save_png(scene, tmp_path / "scene.png")
    (rec,) = scenes
    img = read_rgb(tmp_path / "scene.png")
    H, W = img.shape[:2]
    x0, x1, y0, y1 = FREE_REGION
    n = 0
    for actor in rec["actors"]:
        mesh = actor["mesh"]
        if mesh is None or not mesh.n_points:
            continue
        h = np.c_[np.asarray(mesh.points), np.ones(mesh.n_points)] @ rec["matrix"].T
        uv = 0.5 * (h[:, :2] / h[:, 3:4] + 1.0)
        assert uv[:, 0].min() >= x0 - 1e-6 and uv[:, 0].max() <= x1 + 1e-6, "geometry reaches the legend column"
        assert uv[:, 1].min() >= y0 - 1e-6 and uv[:, 1].max() <= y1 + 1e-6, "geometry reaches the title strip"
        n += 1
    assert n >= 8
    band = img[: int((1 - y1) * H) - 1]  # above the geometry: the title only, in black
    for color in (GREEN, ORANGE, PURPLE, BLUE, RED):
        assert colour_mask(band, color).sum() == 0, color
    assert (band.max(axis=2) < 0.3).sum() > 50  # the title's text is there
    assert colour_mask(img, ORANGE).sum() > 100 and colour_mask(img, BLUE).sum() > 50  # and the scene below it


def test_fit_camera_fills_the_free_region():
    scene, _ = _scalar_scene()
    pl = scene.plotter()
    uv = projected(pl, scene.all_points())
    x0, x1, y0, y1 = FREE_REGION
    lo, hi = uv.min(axis=0), uv.max(axis=0)
    assert lo[0] >= x0 - 1e-6 and hi[0] <= x1 + 1e-6 and lo[1] >= y0 - 1e-6 and hi[1] <= y1 + 1e-6
    assert (hi[0] - lo[0]) / (x1 - x0) > 0.6 or (hi[1] - lo[1]) / (y1 - y0) > 0.6  # not a speck in a corner
    pl.close()


def test_projected_trajectory_scene_names_pca_axes_and_labels_the_visited_saddles(flows):
    ds, it = flows["small"]
    scene = trajectory_scene(ds, "small", itinerary=it, coordinates="pca")
    titles = scene.axis_titles
    assert [t.split(" ")[0] for t in titles] == ["PC1", "PC2", "PC3"] and all(t.endswith("%)") for t in titles)
    assert sum(float(t.split("(")[1].rstrip("%)")) for t in titles) == pytest.approx(100.0, abs=0.2)
    (labels,) = scene.labels
    assert labels.texts == [f"S = {S}, L = {float(L):.3g}" for S, L in zip(it.subset.values, it.plateau_loss.values)]
    assert labels.texts[0] == "S = {}, L = 2.5"
    # each label sits on the trajectory, at a sample whose loss is the stage's critical value
    (path,) = scene.paths
    for p, L in zip(labels.points, it.plateau_loss.values):
        i = int(np.argmin(np.linalg.norm(path.points - p, axis=1)))
        assert np.linalg.norm(path.points[i] - p) < 1e-12
        assert abs(path.values[i] - L) <= 0.05 * max(L, 0.5)
    pl = scene.plotter()
    axes = pl.renderer.cube_axes_actor
    assert (axes.x_title, axes.y_title, axes.z_title) == titles
    assert sorted(t for _, t in _labels(pl)) == sorted(labels.texts)
    assert len(_marker_actor(pl, path.points[0])) == 1 and len(_marker_actor(pl, path.points[-1])) == 1
    pl.close()
    fig = scene.figure()
    assert tuple(fig.layout.scene[f"{c}axis"].title.text for c in "xyz") == titles
    names = [t.name for t in fig.data]
    assert "start" in names and "end" in names
    (start,) = [t for t in fig.data if t.name == "start"]
    np.testing.assert_allclose([start.x[0], start.y[0], start.z[0]], path.points[0])
    notes = fig.layout.scene.annotations
    assert [a.text for a in notes] == labels.texts
    np.testing.assert_allclose([[a.x, a.y, a.z] for a in notes], labels.points)


def test_manifold_scene_labels_its_critical_point():
    net = ls.LinearNetwork(*NET)
    sm = ls.submanifolds(net, ls.representative(net, (1,)), n_points=12, max_stable=2)
    scene = manifold_scene(sm, "small", coordinates="pca")
    (labels,) = scene.labels
    assert labels.texts == ["S = {1}, L = 0.5"]  # the representative of subset {1}: sigma_2 unlearnt, L = 1^2 / 2
    kinds = {p.label for p in scene.paths}
    assert kinds == {"stable set", "unstable set"}
    assert all(t.startswith("PC") for t in scene.axis_titles)


def test_plotly_figure_draws_the_same_scene():
    scene, ds = _scalar_scene()
    fig = scene.figure()
    assert tuple(fig.layout.scene[f"{c}axis"].title.text for c in "xyz") == ("w1", "w2", "w3")
    assert fig.layout.title.text == "scalar depth 3"
    kinds = {t.type for t in fig.data}
    assert kinds == {"mesh3d", "scatter3d"}
    tubes = [t for t in fig.data if t.type == "scatter3d" and t.line.colorscale is not None]
    assert len(tubes) == 2
    np.testing.assert_allclose(tubes[0].line.color, ds.loss.values[0])  # coloured by the loss
    notes = {a.text for a in fig.layout.scene.annotations}
    assert notes == {"S = {} (non-strict saddle)", "S = {} (strict saddle)", "S = {1} (global minimum)"}
    ends = [t for t in fig.data if t.name == "end"]
    assert len(ends) == 2 and ends[0].marker.symbol == "square"


def test_scene_refuses_unknown_marker_symbols_and_mismatched_labels():
    scene = Scene3D()
    with pytest.raises(ValueError, match="symbol must be 'sphere', 'cube' or 'point'; got 'star'"):
        scene.add_markers([0, 0, 0], color="#000000", symbol="star")
    with pytest.raises(ValueError, match="labels need one text per point; got 2 points and 1 texts"):
        scene.add_labels([[0, 0, 0], [1, 1, 1]], ["S = {}"])
