"""render draws a manifold_surface dataset as a surface (issue 11, section 2)."""

import numpy as np
import pytest

import landscape as ls
from landscape.render import is_blank, picture, render


@pytest.fixture(scope="module")
def surfaces():
    net = ls.LinearNetwork([1, 2, 1], 2.0)
    W0 = ls.representative(net, [])
    net3 = ls.LinearNetwork([1, 2, 2, 1], 1.0)
    return {"disk": ls.manifold_surface(net, W0, "unstable", max_distance=2.5, delta=0.15),
            "cone": ls.manifold_surface(net3, ls.representative(net3, []), "unstable", max_distance=0.6, delta=0.1)}


def test_flat_surface_is_drawn_over_its_plane_with_the_loss_as_third_axis(surfaces, tmp_path):
    ds = surfaces["disk"]
    scene, mesh = picture(ds)
    assert len(scene.surfaces) == 1
    surf = scene.surfaces[0]
    assert np.array_equal(surf.triangles, ds["triangles"].values)
    assert scene.axis_titles[2] == "loss L"
    assert np.allclose(surf.points[:, 2], ds["loss"].values)
    # the PCA plane of a flat surface keeps its distances: the disk's edges keep their lengths
    P, tri = ds["points"].values, ds["triangles"].values
    e3 = np.linalg.norm(surf.points[tri[:, 0], :2] - surf.points[tri[:, 1], :2], axis=1)
    eN = np.linalg.norm(P[tri[:, 0]] - P[tri[:, 1]], axis=1)
    assert np.allclose(e3, eN, atol=1e-9)
    assert mesh.n_points == ds.sizes["vertex"] and mesh.n_cells == ds.sizes["face"]
    assert any(m.label == "critical set reached" for m in scene.markers)  # the circle of minima
    written = render(ds, tmp_path / "disk.png", vtk=True, html=True)
    assert [p.suffix for p in written] == [".png", ".vtp", ".html"] and all(p.stat().st_size > 0 for p in written)


def test_curved_surface_is_drawn_in_principal_directions(surfaces, tmp_path):
    ds = surfaces["cone"]
    scene, _ = picture(ds)
    assert scene.axis_titles[2].startswith("PC3")
    pl = scene.plotter()
    img = pl.screenshot(return_img=True)
    pl.close()
    assert not is_blank(img)
