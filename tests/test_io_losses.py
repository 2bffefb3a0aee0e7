"""Saved datasets name the network's loss; network_of rebuilds it only with the loss object (issue 14)."""

import numpy as np
import pytest

import landscape as ls
from landscape.io import LandscapeFileError
from landscape.losses import CrossEntropyLoss, LogisticLoss, RawSquaredLoss


def _nets():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 25))
    return {
        "raw_squared": ls.LinearNetwork([3, 4, 2], loss=RawSquaredLoss(X, rng.normal(size=(2, 25)))),
        "logistic": ls.LinearNetwork([3, 4, 1], loss=LogisticLoss(X, np.sign(X[0]))),
        "cross_entropy": ls.LinearNetwork([3, 4, 3], loss=CrossEntropyLoss(X, rng.integers(0, 3, 25))),
    }


@pytest.mark.parametrize("kind", ["raw_squared", "logistic", "cross_entropy"])
def test_saved_attrs_name_the_loss_and_network_of_needs_the_loss(kind, tmp_path):
    net = _nets()[kind]
    W = ls.init.gaussian(net, 0.5, rng=1)
    ds = ls.gradient_flow(net, W, 1.0, n_points=4, progress=False)
    ls.save(ds, tmp_path / "t.nc")
    back = ls.load(tmp_path / "t.nc")
    assert back.attrs["loss"] == kind and back.attrs["loss_description"] == repr(net.objective)
    assert ("sigma" in back.attrs) == (kind == "raw_squared")
    if kind == "raw_squared":
        np.testing.assert_allclose(np.atleast_1d(back.attrs["sigma"]), net.sigma, rtol=1e-12)
    with pytest.raises(LandscapeFileError, match=rf"{kind}.*not stored.*loss="):
        ls.network_of(back)
    again = ls.network_of(back, loss=net.objective)
    assert again.objective is net.objective and again.widths == net.widths
    Wt = ls.weights_at(back, -1)
    assert again.loss(Wt) == pytest.approx(float(back.loss[-1]), rel=1e-12)
    other = next(n for k, n in _nets().items() if k != kind)
    with pytest.raises(LandscapeFileError, match="loss given"):
        ls.network_of(back, loss=other.objective)


def test_shape_mismatch_and_squared_datasets(tmp_path):
    nets = _nets()
    ds = ls.gradient_flow(nets["logistic"], ls.init.gaussian(nets["logistic"], 0.5, rng=1), 1.0, n_points=3,
                          progress=False)
    wrong = LogisticLoss(np.ones((4, 3)), [1, -1, 1])  # d_0 = 4, the dataset's network has d_0 = 3
    with pytest.raises(LandscapeFileError, match=r"\(d_h, d_0\)"):
        ls.network_of(ds, loss=wrong)
    net = ls.LinearNetwork([2, 3, 2], [2.0, 1.0])
    sq = ls.gradient_flow(net, ls.init.gaussian(net, 0.5, rng=1), 1.0, n_points=3, progress=False)
    assert sq.attrs["loss"] == "squared"
    rebuilt = ls.network_of(sq)
    np.testing.assert_array_equal(rebuilt.sigma, net.sigma)
    with pytest.raises(LandscapeFileError, match="squared"):
        ls.network_of(sq, loss=nets["raw_squared"].objective)
