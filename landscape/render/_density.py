"""The Hessian spectral density as a picture: log-density against eigenvalue (matplotlib, Agg).

Draws a ``"spectral_density"`` dataset (:func:`landscape.spectral_density`): the
Gaussian-broadened stochastic Lanczos quadrature density on a logarithmic axis (the
PyHessian picture, ``density + floor``), a dotted line at 0, the estimated counts with
their uncertainty in the title, and optionally the exact eigenvalues (e.g. from dense
``eigh`` on a small case) broadened the same way for comparison.
"""

from __future__ import annotations

import numpy as np

from ..errors import LandscapeValueError
from ._charts import figure

__all__ = ["density_chart"]

_SLQ = "#1f5fa8"
_EXACT = "#c2410c"


def density_chart(ds, *, eigenvalues=None, title=None, size="medium", floor=1e-7):
    """Log-density against eigenvalue of a spectral density dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        Kind ``"spectral_density"``.
    eigenvalues : ndarray of shape (n_params,), optional
        Exact eigenvalues to compare with: drawn as the same Gaussian broadening (the
        dataset's ``variance``) of the true spectral measure, dashed.
    title : str, optional
        Default: the network, ``n_negative`` estimate ``+- (quadrature error + 3 std)``.
    size : {"small", "medium", "large"} or (width, height), default="medium"
    floor : float, default=1e-7
        Added to the density before the logarithm (PyHessian's convention), so empty
        stretches of the spectrum stay on the axis.

    Returns
    -------
    matplotlib.figure.Figure
        Save with :func:`landscape.render.save_png`.

    Examples
    --------
    >>> import landscape as ls
    >>> from landscape.render import density_chart
    >>> net = ls.LinearNetwork([3, 3, 3], [3.0, 2.0, 1.0])
    >>> fig = density_chart(ls.spectral_density(net, ls.init.gaussian(net, 0.5, rng=0), n_probes=4, n_steps=12))
    >>> fig.axes[0].get_yscale()
    'log'
    """
    if ds.attrs.get("landscape_kind") != "spectral_density":
        raise LandscapeValueError(f"ds must be a 'spectral_density' dataset (ls.spectral_density); got kind "
                                  f"{ds.attrs.get('landscape_kind')!r}.")
    if not floor > 0:
        raise LandscapeValueError(f"floor must be a positive number; got {floor!r}.")
    grid = np.asarray(ds["eigenvalue"].values, dtype=float)
    density = np.asarray(ds["density"].values, dtype=float)
    fig = figure(size)
    ax = fig.add_subplot()
    ax.semilogy(grid, density + floor, color=_SLQ, linewidth=1.4, gid="slq",
                label=f"SLQ ({int(ds.attrs['n_probes'])} probes x {int(ds.attrs['n_steps'])} steps)")
    if eigenvalues is not None:
        ev = np.asarray(eigenvalues, dtype=float).ravel()
        var = float(ds.attrs["variance"])
        exact = np.zeros(grid.size)
        for lo in range(0, ev.size, 512):
            exact += np.exp(-0.5 * (grid[:, None] - ev[None, lo : lo + 512]) ** 2 / var).sum(axis=1)
        exact /= ev.size * np.sqrt(2 * np.pi * var)
        ax.semilogy(grid, exact + floor, color=_EXACT, linewidth=1.0, linestyle="--", gid="exact",
                    label=f"exact ({ev.size} eigenvalues, same broadening)")
    ax.axvline(0.0, color="#8a8a8a", linestyle=":", linewidth=1.0, gid="reference")
    ax.set_xlabel("Hessian eigenvalue")
    ax.set_ylabel("density (log scale)")
    ax.set_ylim(bottom=floor / 2)
    if title is None:
        widths = ",".join(str(int(w)) for w in np.atleast_1d(ds.attrs.get("widths", [])))
        est = float(ds["n_negative_estimate"])
        unc = float(ds["n_negative_quadrature_error"]) + 3 * np.nan_to_num(float(ds["n_negative_std"]))
        title = f"Hessian spectral density, widths ({widths}): n_negative ~ {est:.0f} +- {unc:.0f} (estimate)"
    ax.set_title(title, fontsize="medium")
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", frameon=False, fontsize="small", ncols=2)
    return fig
