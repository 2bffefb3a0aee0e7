"""Hypothesis strategies for deep linear networks.

=====================================  ==================================================
:func:`widths`                          ``[d_0, ..., d_h]``, mixing the :data:`SHAPES` that break kernels
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

__all__ = ["SHAPES", "widths", "spectra", "networks", "weights", "balanced_weights", "networks_and_weights"]


#: the shape families :func:`widths` draws from (``shapes="mixed"`` draws each often)
SHAPES = ("any", "wide_hidden", "narrow_hidden", "distinct_ends")


def _check_shapes(shapes):
    kinds = (shapes,) if isinstance(shapes, str) and shapes != "mixed" else SHAPES if shapes == "mixed" else tuple(shapes)
    bad = [k for k in kinds if k not in SHAPES]
    if not kinds or bad:
        raise ValueError(f"shapes must be 'mixed', one of {list(SHAPES)} or a sequence of them; got {shapes!r}")
    return kinds


@st.composite
def widths(draw, min_depth: int = 1, max_depth: int = 5, min_width: int = 1, max_width: int = 7, shapes="mixed"):
    """Layer widths ``[d_0, ..., d_h]``: depth ``h`` in ``[min_depth, max_depth]``, rectangular.

    Kernels break on shapes square tests never use, so ``shapes`` chooses the family
    drawn (``"mixed"``, the default, draws among all of them, each often):

    ``"any"``
        every width independent in ``[min_width, max_width]``;
    ``"wide_hidden"``
        one hidden layer wider than both the input and the output (needs ``h >= 2``);
    ``"narrow_hidden"``
        one hidden layer narrower than both ends, a bottleneck (needs ``h >= 2``);
    ``"distinct_ends"``
        ``d_0 != d_h``.

    A sequence of these names draws among them, leaving out the families the depth and
    width ranges cannot hold (depth 1 has no hidden layer).

    Examples
    --------
    >>> from hypothesis import find
    >>> find(widths(shapes="wide_hidden"), lambda w: True)
    [1, 2, 1]
    >>> find(widths(shapes="narrow_hidden"), lambda w: True)
    [2, 1, 2]
    >>> find(widths(shapes="distinct_ends"), lambda w: True)
    [1, 2]
    >>> w = find(widths(), lambda w: len(w) == 4 and w[1] > max(w[0], w[-1]) and w[0] != w[-1])
    >>> w[1] > max(w[0], w[-1]) and w[0] != w[-1] and max(w) <= 7
    True
    """
    kinds = _check_shapes(shapes)
    if not 1 <= min_depth <= max_depth or not 1 <= min_width <= max_width:
        raise ValueError(f"need 1 <= min_depth <= max_depth and 1 <= min_width <= max_width; got depth "
                         f"[{min_depth}, {max_depth}], width [{min_width}, {max_width}]")
    needs_hidden = {"wide_hidden", "narrow_hidden"}
    feasible = [k for k in kinds if (k == "any" or max_width > min_width) and (k not in needs_hidden or max_depth >= 2)]
    if not feasible:
        raise ValueError(f"shapes {list(kinds)} need max_width > min_width (and max_depth >= 2 for hidden-layer shapes); "
                         f"got width [{min_width}, {max_width}], max_depth {max_depth}")
    kind = draw(st.sampled_from(feasible))
    lo_h = max(min_depth, 2) if kind in needs_hidden else min_depth
    h = draw(st.integers(lo_h, max_depth))
    w = draw(st.lists(st.integers(min_width, max_width), min_size=h + 1, max_size=h + 1))
    if kind == "distinct_ends":
        others = [d for d in range(min_width, max_width + 1) if d != w[0]]
        w[-1] = draw(st.sampled_from(others))
    elif kind == "wide_hidden":
        w[0], w[-1] = (draw(st.integers(min_width, max_width - 1)) for _ in range(2))
        j = draw(st.integers(1, h - 1))
        w[j] = draw(st.integers(max(w[0], w[-1]) + 1, max_width))
    elif kind == "narrow_hidden":
        w[0], w[-1] = (draw(st.integers(min_width + 1, max_width)) for _ in range(2))
        j = draw(st.integers(1, h - 1))
        w[j] = draw(st.integers(min_width, min(w[0], w[-1]) - 1))
    return w


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
def networks(draw, min_depth: int = 1, max_depth: int = 5, max_width: int = 7, distinct: bool = True, shapes="mixed"):
    """A :class:`~landscape.LinearNetwork` with drawn widths (see :func:`widths` for ``shapes``)
    and a full set of singular values."""
    w = draw(widths(min_depth=min_depth, max_depth=max_depth, max_width=max_width, shapes=shapes))
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
def networks_and_weights(draw, min_depth: int = 1, max_depth: int = 5, max_width: int = 7, shapes="mixed"):
    """A pair ``(net, W)`` (see :func:`widths` for ``shapes``)."""
    net = draw(networks(min_depth=min_depth, max_depth=max_depth, max_width=max_width, shapes=shapes))
    return net, draw(weights(net))
