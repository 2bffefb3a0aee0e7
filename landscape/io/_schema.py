"""The one place where dataset names, units and the format version are defined.

Every dataset landscape writes carries ``attrs["landscape_kind"]`` (what it holds) and
``attrs["landscape_format"]`` (:data:`FORMAT_VERSION`); readers refuse anything else.
Weights are stored flat on a ``param`` dimension (``W_1, ..., W_h``, each row-major, the
package-wide order) with coordinates ``layer``, ``row`` and ``col`` so that
:func:`landscape.weights_at` recovers every matrix exactly.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FORMAT_VERSION", "KINDS", "VARIABLES", "param_coords", "network_attrs", "annotate"]

FORMAT_VERSION = "1.0"

#: attributes that are always 1-D arrays (netCDF returns length-1 ones as scalars)
ARRAY_ATTRS = ("widths", "sigma")

#: dataset kinds and the variables each must have
KINDS = {
    "trajectory": ("theta", "loss"),
    "critical_points": ("theta", "loss"),
    "itinerary": ("subset",),
    "critical_values": ("loss",),
    "fiber": ("theta", "loss"),
    "fiber_dimension": ("orbit_dimension", "hessian_nullity"),
    "inertia": ("n_negative", "n_zero", "n_positive"),
    "classification": ("kind",),
    "submanifolds": ("theta", "branch_kind"),
    "stability": (),
    "sweep": (),
}

#: name -> (units, long_name)
VARIABLES = {
    "time": ("1", "gradient-flow time"),
    "theta": ("1", "network weights W_1..W_h flattened row-major"),
    "theta_final": ("1", "weights at the end of the run"),
    "loss": ("1", "loss L = 1/2 ||Sigma - W_h...W_1||_F^2"),
    "gradient_norm": ("1", "Frobenius norm of the gradient of L"),
    "conserved_drift": ("1", "||C_i(t) - C_i(0)||_F of the conserved quantities"),
    "conserved_scale": ("1", "max_i ||W_i||_F^2 along the run (size of the terms of C_i)"),
    "singular_values": ("1", "singular values of the end-to-end matrix W_h...W_1"),
    "status": ("1", "how the run ended"),
    "t_final": ("1", "time at which the run ended"),
    "t_event": ("1", "time at which a stopping event fired (NaN if none)"),
    "loss_final": ("1", "loss at the end of the run"),
    "n_steps": ("1", "accepted steps (-1 where the method does not report them)"),
    "n_rejected": ("1", "rejected steps (-1 where the method does not report them)"),
    "iteration": ("1", "gradient-descent iteration"),
    "t_enter": ("1", "time the trajectory enters the neighbourhood of the critical point"),
    "t_exit": ("1", "time the trajectory leaves it"),
    "plateau_loss": ("1", "critical value L_S of the subset visited"),
    "min_distance": ("1", "min ||P - Sigma_S||_F / ||Sigma||_F during the visit"),
    "t_half": ("1", "half-learning time: P_kk first reaches sigma_k / 2"),
    "subset": ("1", "learnt subset S of modes (1-based)"),
    "learnt": ("1", "mode k is in S"),
    "value_id": ("1", "entries with equal critical values share an id"),
    "is_global_minimum": ("1", "S gives the global minimum"),
    "size": ("1", "|S|"),
    "n_subsets": ("1", "number of subsets S with this critical value"),
    "subsets": ("1", "subsets with this critical value, ';'-separated"),
    "stratum": ("1", "fiber stratum the sample comes from"),
    "critical": ("1", "sample passed the criticality and value check"),
}


def annotate(ds):
    """Attach ``units`` and ``long_name`` to every known variable and coordinate."""
    for name in list(ds.variables):
        if name in VARIABLES:
            units, long_name = VARIABLES[name]
            ds[name].attrs.setdefault("units", units)
            ds[name].attrs.setdefault("long_name", long_name)
    return ds


def param_coords(widths):
    """``layer`` (1-based), ``row`` and ``col`` of every flat parameter."""
    layer, row, col = [], [], []
    for i in range(1, len(widths)):
        r, c = np.meshgrid(np.arange(widths[i]), np.arange(widths[i - 1]), indexing="ij")
        layer.append(np.full(r.size, i))
        row.append(r.ravel())
        col.append(c.ravel())
    return {"layer": ("param", np.concatenate(layer)), "row": ("param", np.concatenate(row)),
            "col": ("param", np.concatenate(col))}


def network_attrs(net):
    """Attributes that let a reader rebuild the network: widths, sigma, and the data rotations."""
    return {
        "widths": np.asarray(net.widths, dtype=np.int64),
        "sigma": np.asarray(net.sigma, dtype=np.float64),
        "depth": np.int64(net.depth),
    }
