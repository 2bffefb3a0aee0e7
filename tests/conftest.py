"""Shared test configuration: hypothesis profiles and seeded generators.

Profiles (choose with ``HYPOTHESIS_PROFILE=name``):

``ci``
    the default; 100 examples per law, derandomized, so every run draws the same examples.
``dev``
    25 examples, for quick local iterations.
``thorough``
    1,000 examples per law, freshly random each run; a failure is reported with its
    falsifying example and a ``@reproduce_failure`` blob (``print_blob``), and a whole run
    is repeated with ``--hypothesis-seed=N``.

Laws that set their own ``max_examples`` keep it under every profile.
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "thorough", max_examples=1000, deadline=None, derandomize=False, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng(request):
    """A generator seeded from the test's name, so each test has its own reproducible stream."""
    seed = sum(ord(c) * (i + 1) for i, c in enumerate(request.node.nodeid)) % 2**32
    return np.random.default_rng(seed)
