"""Issue 10, one implementation per idea: classification computed once per critical-point set.

``ls.classify(cp)`` classifies every representative once and returns the points with the
results; ``explore`` stores that, the CLI prints it, and ``render`` only draws it.
"""

from contextlib import ExitStack
from unittest import mock

import numpy as np
import pytest

import landscape as ls
from landscape.render._base import COLORS, KIND_LABELS

NET = ([2, 2, 2, 2], [2.0, 1.0])  # h = 3: minimum, strict and non-strict saddles
PER_POINT = ("kind", "n_negative", "n_zero", "n_positive", "rank_criterion", "criteria_agree", "certificate", "order")


def _forbid_classification(stack):
    """Make every way of classifying (or of computing a Hessian spectrum) raise."""
    def boom(*args, **kwargs):
        raise AssertionError("classification or a Hessian was computed")

    for target in ("landscape.stability._classify._classify_point", "landscape.stability._classify.classify",
                   "landscape.stability.classify", "landscape.classify", "landscape.stability._classify.hessian_inertia",
                   "landscape.stability.hessian_inertia", "landscape.core.LinearNetwork.hessian"):
        stack.enter_context(mock.patch(target, side_effect=boom))


def _assert_matches_point_classification(net, cp):
    assert int(cp.attrs["classified"]) == 1
    for i in range(cp.sizes["point"]):
        one = ls.classify(net, ls.weights_at(cp, i))
        for name in PER_POINT:
            assert str(cp[name].values[i]) == str(one[name].values), (i, name)
        for name in ("lambda_min", "lambda_max", "coefficient"):
            np.testing.assert_allclose(cp[name].values[i], float(one[name]), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(cp["direction"].values[i], one["direction"].values, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(cp["hessian_eigenvalues"].values[i],
                                   np.linalg.eigvalsh(net.hessian(ls.weights_at(cp, i))), atol=1e-9)


def test_classify_of_a_critical_point_set_equals_classify_of_each_point():
    net = ls.LinearNetwork(*NET)
    cp = ls.classify(ls.critical_points(net))
    assert cp.attrs["landscape_kind"] == "critical_points"
    assert cp.kind.values.tolist() == ["global_minimum", "non_strict_saddle", "strict_saddle", "non_strict_saddle"]
    _assert_matches_point_classification(net, cp)


def test_classify_of_a_classified_set_does_not_recompute(tmp_path):
    net = ls.LinearNetwork(*NET)
    cp = ls.load(ls.save(ls.classify(ls.critical_points(net)), tmp_path / "cp.nc"))
    with mock.patch("landscape.stability._classify._classify_point", side_effect=AssertionError("recomputed")):
        again = ls.classify(cp)
    assert again.kind.values.tolist() == cp.kind.values.tolist()
    with pytest.raises(AssertionError, match="recomputed"), \
            mock.patch("landscape.stability._classify._classify_point", side_effect=AssertionError("recomputed")):
        ls.classify(cp, hessian_tol=1e-6)  # other tolerances: a new classification


def test_classify_refuses_other_datasets_and_missing_points():
    net = ls.LinearNetwork(*NET)
    with pytest.raises(ls.errors.LandscapeValueError, match="got a dataset of kind 'critical_values'"):
        ls.classify(ls.critical_values(net))
    with pytest.raises(ls.errors.LandscapeValueError, match="needs the point W"):
        ls.classify(net)
    with pytest.raises(ls.errors.LandscapeValueError, match="do not pass W as well"):
        ls.classify(ls.critical_points(net), ls.representative(net, [1]))


def test_render_draws_the_stored_classification_and_never_classifies(tmp_path):
    from landscape.render import _dispatch, render

    net = ls.LinearNetwork(*NET)
    cp = ls.load(ls.save(ls.classify(ls.critical_points(net)), tmp_path / "cp.nc"))
    with ExitStack() as stack:
        _forbid_classification(stack)
        chart = stack.enter_context(mock.patch.object(_dispatch, "spectrum_chart", wraps=_dispatch.spectrum_chart))
        written = render(cp, tmp_path / "cp.png", size="small")
    assert written[0].is_file()
    (call,) = chart.call_args_list
    groups = call.args[0]
    assert [g[0].split("\n")[0] for g in groups] == cp.subset.values.tolist()  # one column per subset S
    for i, (_, ev, label, color) in enumerate(groups):
        kind = str(cp.kind.values[i])
        assert label == KIND_LABELS[kind] and color == COLORS[kind]
        np.testing.assert_array_equal(ev, cp.hessian_eigenvalues.values[i])


def test_render_of_an_unclassified_set_draws_its_critical_values_only(tmp_path):
    from landscape.render import _dispatch, render

    cp = ls.critical_points(ls.LinearNetwork(*NET))
    with ExitStack() as stack:
        _forbid_classification(stack)
        chart = stack.enter_context(mock.patch.object(_dispatch, "spectrum_chart", wraps=_dispatch.spectrum_chart))
        render(cp, tmp_path / "cp.png", size="small")
    (call,) = chart.call_args_list
    np.testing.assert_array_equal([g[1][0] for g in call.args[0]], cp.loss.values)
    assert call.kwargs["y_label"] == "critical value L_S"


def test_cli_classify_reads_a_classified_file_without_classifying(tmp_path, capsys):
    from landscape.cli import main

    assert main(["critical", "--widths", "2,2,2,2", "--sigma", "2,1", "--out", str(tmp_path / "c.nc")]) == 0
    assert "kind" not in ls.load(tmp_path / "c.nc")
    capsys.readouterr()
    assert main(["classify", "--file", str(tmp_path / "c.nc"), "--out", str(tmp_path / "k.nc")]) == 0
    first = capsys.readouterr().out
    stored = ls.load(tmp_path / "k.nc")
    _assert_matches_point_classification(ls.network_of(stored), stored)
    with ExitStack() as stack:
        _forbid_classification(stack)
        assert main(["classify", "--file", str(tmp_path / "k.nc")]) == 0
        assert main(["render", str(tmp_path / "k.nc"), "--size", "small"]) == 0
    second = capsys.readouterr().out
    table = [line for line in first.splitlines() if not line.startswith("written")]
    assert second.splitlines()[: len(table)] == table
    for i, S in enumerate(stored.subset.values):
        assert any(line.split()[0] == S and str(stored.kind.values[i]) in line for line in table)


def test_explore_classifies_each_network_once_and_stores_that_classification(tmp_path):
    from landscape.explore import explore
    from landscape.stability import _classify

    calls = []
    real = _classify._classify_points

    def counting(cp, tol, hessian_tol):
        calls.append(cp.sizes["point"])
        return real(cp, tol, hessian_tol)

    with mock.patch.object(_classify, "_classify_points", side_effect=counting), \
            mock.patch("landscape.render._dispatch.spectrum_chart", wraps=__import__(
                "landscape.render._dispatch", fromlist=["x"]).spectrum_chart) as chart:
        lines = []
        explore(tmp_path, examples=(("tiny", tuple(NET[0]), tuple(NET[1])),), size="small", progress=False,
                echo=lines.append)
    assert calls == [4]  # one classification of the four critical points, nothing else
    stored = ls.load(tmp_path / "tiny-critical.nc")
    net = ls.LinearNetwork(*NET)
    _assert_matches_point_classification(net, stored)
    (call,) = chart.call_args_list  # the spectra picture is the stored classification
    for i, (_, ev, label, _) in enumerate(call.args[0]):
        assert label == KIND_LABELS[str(stored.kind.values[i])]
        np.testing.assert_array_equal(ev, stored.hessian_eigenvalues.values[i])
    page = (tmp_path / "index.html").read_text()
    for kind in stored.kind.values:
        assert f"<td>{kind}</td>" in page  # the table spells kinds as the dataset does
    summary = [line.split() for line in lines[1:-1]]
    assert [row[1] for row in summary] == stored.subset.values.tolist()
