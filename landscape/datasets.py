"""Real input-output data sets (shipped with scikit-learn, no download) as deep linear networks.

Each loader returns a :class:`Regression` holding the raw data (samples as rows, as in
scikit-learn) and the network built by :meth:`LinearNetwork.from_data` (inputs whitened
on their range, so constant features are harmless).

===================  ===============================================================
:func:`linnerud`     3 exercise measures -> 3 physiological measures, 20 samples
:func:`iris`         4 flower measurements -> one-hot species (3 outputs), 150 samples
:func:`digits`       8x8 images (64 pixels) -> one-hot digit (10 outputs), 1,797 samples
===================  ===============================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .core import LinearNetwork

__all__ = ["Regression", "linnerud", "iris", "digits"]


@dataclass
class Regression:
    """A data set and its network. ``X`` (n_samples, n_features), ``Y`` (n_samples, n_outputs)."""

    name: str
    X: np.ndarray
    Y: np.ndarray
    net: LinearNetwork

    def __repr__(self):
        return f"Regression({self.name!r}, X {self.X.shape}, Y {self.Y.shape}, {self.net!r})"


def _build(name, X, Y, hidden_widths, center):
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    if center:
        X = X - X.mean(axis=0)
        Y = Y - Y.mean(axis=0)
    net = LinearNetwork.from_data(X.T, Y.T, hidden_widths, whiten=True, rcond=1e-10)
    return Regression(name, X, Y, net)


def _one_hot(labels):
    labels = np.asarray(labels)
    classes = np.unique(labels)
    return (labels[:, None] == classes[None, :]).astype(float)


def linnerud(hidden_widths=(3,), center=True) -> Regression:
    """The Linnerud data: exercise (chins, situps, jumps) -> weight, waist, pulse.

    Examples
    --------
    >>> data = linnerud()
    >>> data.net.widths, data.X.shape
    ((3, 3, 3), (20, 3))
    """
    from sklearn.datasets import load_linnerud

    d = load_linnerud()
    return _build("linnerud", d.data, d.target, hidden_widths, center)


def iris(hidden_widths=(4,), center=True) -> Regression:
    """Iris: 4 measurements -> one-hot species (3 outputs)."""
    from sklearn.datasets import load_iris

    d = load_iris()
    return _build("iris", d.data, _one_hot(d.target), hidden_widths, center)


def digits(hidden_widths=(16,), center=True) -> Regression:
    """Digits: 64 pixel intensities -> one-hot digit (10 outputs); constant pixels are dropped by whitening."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return _build("digits", d.data, _one_hot(d.target), hidden_widths, center)
