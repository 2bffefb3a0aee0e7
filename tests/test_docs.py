"""docs/datasets.md, the list of every dataset kind and its variables (issue 13).

1. The committed page is exactly what ``landscape.io.dataset_docs()`` generates from the
   schema and the producers (it fails when either changes without regenerating).
2. Completeness, independently of the generator's own examples: datasets of every kind
   made here through the public API, with other networks and options, saved and loaded
   back, hold only variables, coordinates and dimensions that have an entry in the
   metadata table and a row in the page's section for their kind.
"""

import re
from pathlib import Path

import numpy as np
import pytest

import landscape as ls
from landscape.io import dataset_docs
from landscape.io._docs import EXAMPLES, UNDOCUMENTED, example_datasets
from landscape.io._schema import FLAGS, KINDS, metadata_for

PAGE = Path(__file__).resolve().parents[1] / "docs" / "datasets.md"
REGENERATE = "regenerate it with `python -m landscape.io._docs > docs/datasets.md`"


@pytest.fixture(scope="module")
def examples():
    return example_datasets()


@pytest.fixture(scope="module")
def page():
    return PAGE.read_text(encoding="utf-8")


def sections(text):
    """``kind -> {"dimension": {name: meaning}, "variable": {name: meaning}}`` parsed from the page."""
    out = {}
    for chunk in re.split(r"^## ", text, flags=re.M)[1:]:
        title, _, body = chunk.partition("\n")
        rows = {"dimension": {}, "variable": {}}
        table = None
        for line in body.splitlines():
            if line.startswith("| dimension |"):
                table = "dimension"
            elif line.startswith("| name |"):
                table = "variable"
            elif not line.startswith("|"):
                table = None if not line.strip() else table
            elif table and (m := re.match(r"^\| `([^`]+)` \|(.*)\|$", line)):
                rows[table][m.group(1)] = m.group(2)
        out[title.strip()] = rows
    return out


def undocumented(ds, text):
    """Names (variables, coordinates, dimensions) of ``ds`` missing from the table or the page."""
    kind = ds.attrs["landscape_kind"]
    section = sections(text).get(kind)
    if section is None:
        return [f"kind {kind!r} has no section"]
    missing = []
    for name in ds.variables:
        meta = metadata_for(kind, name)
        row = section["variable"].get(name)
        if meta is None or row is None or meta[0].replace("|", "\\|") not in row:
            missing.append(name)
    for dim in ds.dims:
        meta = metadata_for(kind, dim)
        row = section["dimension"].get(dim)
        if meta is None or row is None or meta[0].replace("|", "\\|") not in row:
            missing.append(f"dimension {dim}")
    return missing


# ---------------------------------------------------------------- 1. the page is generated
def test_committed_page_is_the_generated_one(examples, page):
    generated = dataset_docs(examples)
    assert UNDOCUMENTED not in generated, "a variable has no entry in landscape.io._schema.METADATA"
    assert generated == page, f"docs/datasets.md differs from the schema and the producers; {REGENERATE}"


def test_every_kind_has_a_producer_and_a_section(page):
    assert set(EXAMPLES) == set(KINDS)
    assert list(sections(page)) == [*KINDS, "Status codes"]
    for meaning in FLAGS["status"]:
        assert f"`{meaning}`" in page


def test_readme_links_the_page():
    readme = (PAGE.parents[1] / "README.md").read_text(encoding="utf-8")
    assert "](docs/datasets.md)" in readme


# ---------------------------------------------------------------- 2. complete for real datasets
def _real_datasets(tmp_path):
    """Datasets of every kind, made through the public API with networks and options other
    than the generator's, each also saved and loaded back."""
    from landscape.sweeps import sweep

    net = ls.LinearNetwork([3, 2, 2, 3], [3.0, 1.5])  # depth 3, a bottleneck, rank 2
    W0 = ls.init.orthogonal(net, 0.05, rng=4)
    traj = ls.gradient_flow(net, W0, 40.0, times="log", t_min=1e-2, n_points=50, loss_below=1e-6, progress=False)
    batch = ls.gradient_flow(net, [np.stack([w, -w, 2 * w]) for w in W0], 3.0, method="gauss", n_points=6,
                             progress=False)
    cp = ls.critical_points(net, max_count=3)
    made = {
        "flow": traj,
        "flow_batch_gauss": batch,
        "flow_rk45": ls.gradient_flow(net, W0, 2.0, method="RK45", n_points=5, progress=False),
        "descent": ls.gradient_descent(net, W0, 0.05, 30, record_every=3, progress=False),
        "itinerary": ls.itinerary(traj),
        "itinerary_of_a_run": ls.itinerary(batch, run=1),
        "critical_points": cp,
        "critical_points_classified": ls.classify(cp),
        "critical_values": ls.critical_values(ls.LinearNetwork([4, 4, 4], [4.0, 3.0, 2.0, 1.0]), max_count=5),
        "fiber": ls.fiber(net, [1], n_samples=4, rng=2, strata="all"),
        "fiber_dimension": ls.fiber_dimension(net, [1, 2]),
        "inertia_structured": ls.hessian_inertia(net, ls.representative(net, [1]), method="structured"),
        "inertia_dense_vectors": ls.hessian_inertia(net, ls.representative(net, [2]), eigenvectors=True, k=3),
        "inertia_lanczos": ls.hessian_inertia(net, ls.representative(net, [2]), method="lanczos", k=2),
        "inertia_krylov": ls.hessian_inertia(net, W0, method="krylov", k=2),
        "inertia_density": ls.hessian_inertia(net, W0, method="density", k=2),
        "eigenpairs": ls.extreme_eigenpairs(net, W0, k=3, which="smallest", method="krylov"),
        "eigenpairs_dense": ls.extreme_eigenpairs(net, ls.representative(net, [2]), k=2, method="dense"),
        "spectral_density": ls.spectral_density(net, W0, n_probes=4, n_steps=10, n_grid=64, rng=3),
        "classification_strict": ls.classify(net, ls.representative(net, [2])),
        "classification_minimum": ls.classify(net, ls.representative(net, [1, 2])),
        "classification_not_critical": ls.classify(net, W0),
        "submanifolds": ls.submanifolds(net, ls.representative(net, [2]), n_points=4, max_stable=2),
        "manifold_surface": ls.manifold_surface(net, ls.representative(net, []), "stable", max_distance=0.1,
                                                delta=0.05),
        "sweep": sweep([net, ([2, 2, 2], [2.0, 1.0])], inits=("gaussian", "balanced"), scales=[0.05, 0.5], seeds=2,
                       t_end=10.0, n_points=30, processes=False, n_workers=1, progress=False,
                       directory=tmp_path / "sweep"),
    }
    from landscape import experiments

    made["plateau_scaling"] = experiments.plateau_scaling(depths=[2, 4], inits=["gaussian"], scales=[1e-4, 1e-3, 1e-2],
                                                          seeds=2, processes=False, n_workers=1, progress=False)
    made["sequential_threshold"] = experiments.sequential_threshold(depths=[3], spectra=[[3.0, 1.0]], scales=[0.01, 1.0],
                                                                    seeds=2, n_points=100, processes=False, n_workers=1,
                                                                    progress=False)
    made["almost_every_start"] = experiments.almost_every_start(depths=[3, 4], inits=["balanced"], seeds=3, t_end=100.0,
                                                                processes=False, n_workers=1, progress=False)
    model = ls.DeepLinearRegressor(hidden_widths=(3,), t_end=200.0).fit(*_linear_data())
    made["estimator_trajectory"] = model.trajectory_
    made["estimator_itinerary"] = model.itinerary_
    for name, ds in list(made.items()):
        made[name + "_loaded"] = ls.load(ls.save(ds, tmp_path / f"{name}.nc"))
    return made


def _linear_data():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(40, 4))
    return X, X @ rng.normal(size=(4, 2)) + 0.1 * rng.normal(size=(40, 2))


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    return _real_datasets(tmp_path_factory.mktemp("kinds"))


def test_real_datasets_cover_every_kind(real):
    assert {ds.attrs["landscape_kind"] for ds in real.values()} == set(KINDS)


@pytest.mark.parametrize("name", ["flow", "flow_batch_gauss", "flow_rk45", "descent", "itinerary",
                                  "itinerary_of_a_run", "critical_points", "critical_points_classified",
                                  "critical_values", "fiber", "fiber_dimension", "inertia_structured",
                                  "inertia_dense_vectors", "inertia_lanczos", "inertia_krylov", "inertia_density",
                                  "eigenpairs", "eigenpairs_dense", "spectral_density", "classification_strict",
                                  "classification_minimum", "classification_not_critical", "submanifolds", "manifold_surface", "sweep",
                                  "plateau_scaling", "sequential_threshold", "almost_every_start",
                                  "estimator_trajectory", "estimator_itinerary"])
@pytest.mark.parametrize("loaded", [False, True], ids=["memory", "file"])
def test_every_variable_coordinate_and_dimension_is_documented(real, page, name, loaded):
    ds = real[name + ("_loaded" if loaded else "")]
    assert undocumented(ds, page) == []


def test_the_completeness_check_can_fail(real, page):
    ds = real["critical_values"].copy()
    ds["mystery"] = (("value",), np.zeros(ds.sizes["value"]))
    ds = ds.expand_dims(novel=2)
    assert undocumented(ds, page) == ["mystery", "dimension novel"]
    generated = dataset_docs({**example_datasets_stub(real), "critical_values": [("`stub`", ds)]})
    assert f"| `mystery` | (novel, value) | float | - | {UNDOCUMENTED}." in generated


def example_datasets_stub(real):
    """One dataset per kind from ``real`` in the generator's input format (no recomputation)."""
    out = {}
    for ds in real.values():
        out.setdefault(ds.attrs["landscape_kind"], [("`stub`", ds)])
    return out
