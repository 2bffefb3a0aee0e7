"""The examples in the docstrings of the curvature modules run (issue 12)."""

import doctest
import importlib

import numpy as np
import pytest

MODULES = ["landscape.core.kernels", "landscape.stability._align", "landscape.stability._eigen",
           "landscape.stability._density", "landscape.stability._inertia", "landscape.render._density"]


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), extraglobs={"np": np},
                             optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
