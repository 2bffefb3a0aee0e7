"""Hypothesis strategies for deep linear networks.

=====================================  ==================================================
:func:`widths`                          ``[d_0, ..., d_h]`` with depth and width ranges
:func:`spectra`                         singular values, distinct (gap-separated) or repeated
:func:`networks`                        :class:`~landscape.LinearNetwork` on drawn widths and spectra
:func:`weights`                         a layer list for a given network
:func:`balanced_weights`                a 0-balanced layer list (``C_i = 0``)
:func:`networks_and_weights`            a network with a layer list
=====================================  ==================================================

Elements are bounded (entries of absolute value at most ``max_value``) and built from
seeded numpy generators, so a failing example is reproduced from hypothesis' report.

Examples
--------
>>> from hypothesis import given
>>> @given(networks_and_weights())
... def test_loss_nonnegative(pair):
...     net, W = pair
...     assert net.loss(W) >= 0
>>> test_loss_nonnegative()
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from .. import init
from ..core import LinearNetwork

__all__ = ["widths", "spectra", "networks", "weights", "balanced_weights", "networks_and_weights"]


@st.composite
def widths(draw, min_depth: int = 1, max_depth: int = 5, min_width: int = 1, max_width: int = 6):
    """Layer widths ``[d_0, ..., d_h]``: depth ``h`` in ``[min_depth, max_depth]``, rectangular."""
    h = draw(st.integers(min_depth, max_depth))
    return draw(st.lists(st.integers(min_width, max_width), min_size=h + 1, max_size=h + 1))


@st.composite
def spectra(draw, size: int, distinct: bool = True, min_gap: float = 0.1, max_value: float = 4.0, allow_zero: bool = False):
    """``size`` singular values in non-increasing order.

    ``distinct=True`` separates consecutive values by at least ``min_gap`` (the generic
    case of the theory); ``distinct=False`` draws values with at least one repetition
    when ``size >= 2``.
    """
    if size == 0:
        return np.zeros(0)
    low = 0.0 if allow_zero else min_gap
    if distinct:
        if max_value - low < min_gap * (size - 1):
            raise ValueError(f"cannot fit {size} values with gap {min_gap} below {max_value}")
        gaps = draw(st.lists(st.floats(min_gap, 1.0), min_size=size - 1, max_size=size - 1))
        base = draw(st.floats(low, max(low, max_value - sum(gaps))))
        vals = base + np.concatenate([[0.0], np.cumsum(gaps)])
        return np.minimum(vals, max_value)[::-1].copy()
    vals = draw(st.lists(st.floats(max(low, min_gap), max_value), min_size=size, max_size=size))
    if size >= 2:
        i = draw(st.integers(1, size - 1))
        vals[i] = vals[i - 1]
    return np.sort(np.asarray(vals))[::-1].copy()


@st.composite
def networks(draw, min_depth: int = 1, max_depth: int = 5, max_width: int = 6, distinct: bool = True):
    """A :class:`~landscape.LinearNetwork` with drawn widths and a full set of singular values."""
    w = draw(widths(min_depth=min_depth, max_depth=max_depth, max_width=max_width))
    k = min(w[0], w[-1])
    return LinearNetwork(w, draw(spectra(k, distinct=distinct)))


def _seed():
    return st.integers(0, 2**32 - 1)


@st.composite
def weights(draw, net, max_value: float = 2.0):
    """A layer list for ``net`` with entries in ``[-max_value, max_value]``."""
    rng = np.random.default_rng(draw(_seed()))
    scale = draw(st.floats(0.05, 1.0))
    return [np.clip(w, -max_value, max_value) for w in init.gaussian(net, scale, rng=rng)]


@st.composite
def balanced_weights(draw, net, max_value: float = 1.5):
    """A 0-balanced layer list (``W_{i+1}^T W_{i+1} = W_i W_i^T``) of drawn rank."""
    rng = np.random.default_rng(draw(_seed()))
    k = draw(st.integers(0, net.rank))
    D = draw(st.lists(st.floats(0.1, max_value), min_size=k, max_size=k))
    return init.balanced(net, rng=rng, singular_values=D)


@st.composite
def networks_and_weights(draw, min_depth: int = 1, max_depth: int = 5, max_width: int = 6):
    """A pair ``(net, W)``."""
    net = draw(networks(min_depth=min_depth, max_depth=max_depth, max_width=max_width))
    return net, draw(weights(net))
