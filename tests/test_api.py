"""Public API surface, import weight, CLI and doctests."""

import doctest
import importlib
import subprocess
import sys

import pytest

import landscape
import landscape.core
import landscape.core.literal
import landscape.init

MODULES = ["landscape", "landscape.core", "landscape.core._adjacency", "landscape.core._network",
           "landscape.core._invariants", "landscape.init", "landscape.testing.strategies",
           "landscape.dynamics._flow", "landscape.dynamics.closed_forms", "landscape.critical._points",
           "landscape.stability._arcs", "landscape.estimator", "landscape.datasets", "landscape.losses",
           "landscape.dynamics._itinerary"]


@pytest.mark.parametrize("module", ["landscape", "landscape.core", "landscape.init", "landscape.errors",
                                    "landscape.core.literal", "landscape.testing.strategies", "landscape.dynamics",
                                    "landscape.critical", "landscape.stability", "landscape.io", "landscape.render",
                                    "landscape.sweeps", "landscape.dynamics.closed_forms", "landscape.losses"])
def test_every_public_name_resolves(module):
    mod = importlib.import_module(module)
    for name in mod.__all__:
        assert getattr(mod, name) is not None, name


def test_import_landscape_is_light():
    code = ("import sys, landscape; print(sorted(m for m in ('pyvista', 'vtk', 'dask', 'distributed', 'xarray', 'sklearn', "
            "'hypothesis', 'numba', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_run(module):
    mod = importlib.import_module(module)
    result = doctest.testmod(mod, extraglobs={"np": __import__("numpy")}, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "landscape.cli", *args], capture_output=True, text=True)


def test_cli_version():
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"landscape {landscape.__version__}"


def test_cli_summary_prints_loss_and_gradient_norm():
    out = run_cli("summary", "--widths", "1,1,1", "--sigma", "3", "--scale", "0")
    assert out.returncode == 0, out.stderr
    assert "loss             4.5\n" in out.stdout
    assert "|grad L|_F       0\n" in out.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (("summary", "--widths", "3,x"), "--widths takes comma-separated integers, for example 3,3,3,3; got '3,x'"),
        (("summary", "--widths", "3"), "--widths takes at least two positive integers"),
        (("summary", "--sigma", "3,-1"), "--sigma takes non-negative finite numbers, for example 3,2,1"),
        (("summary", "--widths", "2,2", "--sigma", "3,2,1"), "sigma has too many singular values"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_code_2(args, message):
    out = run_cli(*args)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr
