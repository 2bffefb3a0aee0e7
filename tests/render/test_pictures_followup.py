"""Pictures after the verifier's review of issue 13: degenerate 3-D scenes, many spectra, one spelling of kinds.

- A network with fewer than three parameters, a trajectory on a straight line (PCA of
  rank 1) or a constant coordinate gives a scene whose axes box has depth on every axis,
  finite titles and ticks, and a camera fitted to it (the geometry fills the free region).
- The Hessian spectra of 32 critical points (5 modes) have tick labels that do not
  overlap, and columns at least ``COLUMN_INCHES`` wide.
- Every picture names a kind one way (:data:`landscape.render.KIND_LABELS`); data and
  printed tables keep the dataset's spelling.
"""

import numpy as np
import pytest

import landscape as ls
from landscape.render import KIND_LABELS, Scene3D, is_blank, render, spectrum_chart, trajectory_scene
from landscape.render._charts import COLUMN_INCHES
from landscape.render._scene3d import FREE_REGION, FLAT_AXIS_FRACTION, projected


def _flow(widths, sigma, seed, t_end=12.0):
    net = ls.LinearNetwork(widths, sigma)
    ds = ls.gradient_flow(net, ls.init.gaussian(net, 0.1, rng=seed), t_end, n_points=120, t_min=1e-3, times="log")
    return ds, ls.itinerary(ds)


def assert_sensible(scene, tmp_path):
    """Every axis has depth, titles and bounds are finite, the camera frames the geometry."""
    b = np.asarray(scene.axes_bounds(), float).reshape(3, 2)
    assert np.all(np.isfinite(b))
    span = b[:, 1] - b[:, 0]
    assert span.min() >= 0.9 * FLAT_AXIS_FRACTION * span.max(), span  # no axis collapsed to a plane or a line
    assert all(t and "nan" not in t.lower() for t in scene.axis_titles), scene.axis_titles
    pl = scene.plotter()
    window = pl.window_size
    corners = np.array([[x, y, z] for x in b[0] for y in b[1] for z in b[2]])
    uv = projected(pl, np.concatenate([scene.all_points(), corners]), window)  # the geometry in its axes box
    x0, x1, y0, y1 = FREE_REGION
    lo, hi = uv.min(axis=0), uv.max(axis=0)
    assert np.all(np.isfinite(uv))
    assert lo[0] >= x0 - 1e-3 and hi[0] <= x1 + 1e-3 and lo[1] >= y0 - 1e-3 and hi[1] <= y1 + 1e-3
    assert max((hi[0] - lo[0]) / (x1 - x0), (hi[1] - lo[1]) / (y1 - y0)) > 0.5  # fitted, not a speck
    img = pl.screenshot(return_img=True)
    pl.close()
    assert not is_blank(img)
    fig = scene.figure()
    for axis in ("xaxis", "yaxis", "zaxis"):
        lo_, hi_ = fig.layout.scene[axis].range
        assert np.isfinite(lo_) and np.isfinite(hi_) and hi_ - lo_ >= 0.9 * FLAT_AXIS_FRACTION * span.max()
    return b


def test_scalar_depth_two_scene_has_a_third_axis_with_depth(tmp_path):
    ds, it = _flow([1, 1, 1], [3.0], seed=0)
    scene = trajectory_scene(ds, itinerary=it)
    assert scene.axis_titles == ("w1", "w2", "(none: 2 parameters)")
    assert "PCA" not in scene.title
    b = assert_sensible(scene, tmp_path)
    assert b[2, 0] < 0 < b[2, 1]  # the missing coordinate is 0, centred in its slab
    # the path lies in the plane z = 0 and ends where w1 w2 = sigma (the global minimum)
    path = scene.paths[0].points
    assert np.all(path[:, 2] == 0.0)
    assert abs(path[-1, 0] * path[-1, 1] - 3.0) < 1e-4


def test_depth_one_straight_line_scene_in_pca(tmp_path):
    """Depth 1: dW/dt = Sigma - W, a straight line to Sigma; PCA has one component."""
    ds, it = _flow([2, 3], [2.0, 1.0], seed=1)
    scene = trajectory_scene(ds, itinerary=it, coordinates="pca")
    assert scene.axis_titles[0] == "PC1 (100.0%)"
    assert scene.axis_titles[1:] == ("PC2 (0.0%)", "PC3 (0.0%)")
    path = scene.paths[0].points
    assert np.all(path[:, 1:] == 0.0)  # exactly 0: no round-off ticks such as 5.6e-17
    assert_sensible(scene, tmp_path)


def test_constant_coordinate_and_single_point_scenes(tmp_path):
    t = np.linspace(0.0, 1.0, 30)
    scene = Scene3D(title="a constant coordinate", axis_titles=("a", "b", "c"), size="small")
    scene.add_path(np.c_[t, t ** 2, np.full_like(t, 0.7)], values=t, radius=0.01)
    scene.mark_ends(np.c_[t, t ** 2, np.full_like(t, 0.7)], 0.02)
    b = assert_sensible(scene, tmp_path)
    assert b[2, 0] < 0.7 < b[2, 1] and abs(b[2].mean() - 0.7) < 1e-12
    one = Scene3D(title="one point", axis_titles=("a", "b", "c"), size="small")
    one.add_markers([2.0, -1.0, 5.0], color="#000000", radius=0.05)
    b = assert_sensible(one, tmp_path)
    assert np.allclose(b.mean(axis=1), [2.0, -1.0, 5.0])


def test_many_spectra_have_legible_tick_labels(tmp_path):
    net = ls.LinearNetwork([5, 5, 5], [5.0, 4.0, 3.0, 2.0, 1.0])
    cp = ls.classify(ls.critical_points(net))
    assert cp.sizes["point"] == 32
    from landscape.render import picture

    fig, _ = picture(cp)
    fig.canvas.draw()
    ax = fig.axes[0]
    ticks = [t for t in ax.get_xticklabels() if t.get_text()]
    assert len(ticks) == 32
    boxes = [t.get_window_extent() for t in ticks]
    assert all(b.x0 >= fig.bbox.x0 - 1 and b.x1 <= fig.bbox.x1 + 1 and b.y0 >= fig.bbox.y0 - 1 for b in boxes)
    pitch = ax.get_window_extent().width / 32  # pixels between neighbouring ticks
    assert pitch / fig.dpi >= COLUMN_INCHES * 0.9
    angle = np.deg2rad(ticks[0].get_rotation())
    if angle == 0.0:  # side by side: their boxes must not overlap
        assert all(a.x1 <= b.x0 + 1 for a, b in zip(boxes, boxes[1:]))
    else:  # parallel turned labels, anchors `pitch` apart: the gap across them must hold a label's height
        renderer = fig.canvas.get_renderer()
        heights = []
        for t in ticks:
            rotation = t.get_rotation()
            t.set_rotation(0)
            heights.append(t.get_window_extent(renderer).height)
            t.set_rotation(rotation)
        assert pitch * np.sin(angle) >= max(heights), (pitch, max(heights))
    png = render(cp, tmp_path / "spectra.png")[0]
    from PIL import Image

    with Image.open(png) as im:
        assert im.size[0] >= 32 * COLUMN_INCHES * fig.dpi and im.size[1] == 600
    few = spectrum_chart([("{}", [0.0, 1.0], "", "#333333")] * 3)  # a few columns keep the requested size
    assert tuple(few.get_size_inches() * few.dpi) == pytest.approx((800, 600))


def test_kinds_are_spelled_one_way_in_pictures(tmp_path):
    net = ls.LinearNetwork([3, 3, 3, 3], [3.0, 2.0, 1.0])
    cp = ls.classify(ls.critical_points(net))
    from landscape.render import picture, scalar_scene

    fig, _ = picture(cp)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert sorted(legend) == sorted(KIND_LABELS[k] for k in set(cp.kind.values.tolist()))
    scene = scalar_scene(3.0, manifolds=None)
    texts = [e[0] for e in scene.legend_entries()] + [t for lab in scene.labels for t in lab.texts]
    texts += [fig.axes[0].get_title()]
    data_spellings = [k for k in KIND_LABELS if "_" in k]
    for text in texts:
        assert not any(k in text for k in data_spellings), text
        assert "non strict" not in text and "non-strict" not in text.replace(KIND_LABELS["non_strict_saddle"], "")
    joined = " ".join(texts)
    for kind in ("global_minimum", "strict_saddle", "non_strict_saddle"):
        assert KIND_LABELS[kind] in joined
    assert KIND_LABELS == {"global_minimum": "global minimum", "strict_saddle": "strict saddle",
                           "non_strict_saddle": "non-strict saddle", "not_critical": "not critical"}
