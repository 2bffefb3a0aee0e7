"""The one place where dataset names, metadata, flags and the format version are defined.

Every dataset landscape writes carries ``attrs["landscape_kind"]`` (what it holds) and
``attrs["landscape_format"]`` (:data:`FORMAT_VERSION`); readers refuse anything else.
Weights are stored flat on a ``param`` dimension (``W_1, ..., W_h``, each row-major, the
package-wide order) with coordinates ``layer``, ``row`` and ``col`` so that
:func:`landscape.weights_at` recovers every matrix exactly.

Metadata (CF conventions 1.10)
------------------------------
:data:`METADATA` is the only table of ``long_name`` and ``units``; :func:`annotate` is the
only function that applies it, to every data variable and coordinate, for every kind.
Builders call it, and :func:`landscape.save` calls it again before writing, so a file is
annotated whichever module built its dataset. Every quantity of the package is
dimensionless (the loss, weights and singular values are numbers in the reduced
coordinates of spec 1.2, and gradient-flow time is the flow's own time), so every unit is
the UDUNITS dimensionless unit ``"1"``; counts, indices and labels are ``"1"`` too.

Variables listed in :data:`FLAGS` (``status``) are strings in memory; on disk they are
``int8`` codes with CF ``flag_values``/``flag_meanings`` (CF 1.10, section 3.5: the
``flag_values`` have the type of the variable, so a string variable cannot carry them),
decoded back to the strings by :func:`landscape.load`.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["FORMAT_VERSION", "CONVENTIONS", "KINDS", "METADATA", "FLAGS", "metadata_for", "annotate",
           "param_coords", "network_attrs", "network_from_attrs", "encode_flags", "decode_flags"]

FORMAT_VERSION = "1.0"

#: the global ``Conventions`` attribute of every file
CONVENTIONS = "CF-1.10"

#: network attributes written by :func:`network_attrs` for a network whose target was reduced
#: (``LinearNetwork.from_data`` or a 2-D target): flattened row-major, shapes implied by ``widths``
REDUCTION_ATTRS = ("data_U", "data_V", "data_input_map", "data_input_map_inv")

#: attributes that are always 1-D arrays (netCDF returns length-1 ones as scalars)
ARRAY_ATTRS = ("widths", "sigma", *REDUCTION_ATTRS)

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
    "sweep": (),
    # issue 12: curvature at any point (extreme eigenpairs, spectral density)
    "eigenpairs": ("eigenvalues", "residual"),
    "spectral_density": ("density", "n_negative_estimate"),
    # issue 11: a 2-D stable or unstable manifold as a triangle mesh
    "manifold_surface": ("points", "triangles", "geodesic_distance", "loss"),
    # issue 15: the open-question lab (landscape.experiments)
    "plateau_scaling": ("escape_time", "slope", "slope_ci", "predicted_slope"),
    "sequential_threshold": ("sequential_fraction", "threshold", "threshold_ci"),
    "almost_every_start": ("converged", "converged_fraction", "loss_histogram"),
}

_ONE = "1"  # the UDUNITS dimensionless unit: every quantity here is dimensionless

#: THE metadata table: ``name -> (long_name, units)`` for every data variable and coordinate
#: of every kind; a ``(kind, name)`` key overrides ``name`` where one kind means something else.
METADATA = {
    # --- coordinates
    "time": ("gradient-flow time t (the flow's own dimensionless time; gradient descent: iteration x step)", _ONE),
    "iteration": ("gradient-descent iteration", _ONE),
    "param": ("index of the flat parameter (W_1, ..., W_h, each row-major)", _ONE),
    "layer": ("layer i of the parameter's weight matrix W_i (1-based)", _ONE),
    "row": ("row of the parameter in W_i (0-based)", _ONE),
    "col": ("column of the parameter in W_i (0-based)", _ONE),
    "mode": ("singular mode k of Sigma (1-based, sigma_1 >= sigma_2 >= ...)", _ONE),
    "hidden": ("hidden layer i of the conserved quantity C_i (1-based)", _ONE),
    "point": ("critical-point entry (one per learnt subset S, by increasing critical value)", _ONE),
    "value": ("critical-value entry (increasing)", _ONE),
    "stage": ("visit number along the route (0-based)", _ONE),
    "sample": ("sample index", _ONE),
    "branch": ("branch of the stable or unstable set", _ONE),
    "network": ("network of the sweep (0-based)", _ONE),
    "init": ("initialisation scheme", _ONE),
    "scale": ("initial scale of the initialisation", _ONE),
    "seed": ("random seed of the initialisation", _ONE),
    # dimensions without a coordinate variable (positions only; listed for docs/datasets.md)
    "run": ("trajectory of a batch (the leading batch axis of the initial weights)", _ONE),
    "eigen": ("Hessian eigenvalue, ascending (eigenvector column for vectors)", _ONE),
    "extreme": ("position among the k lowest or highest Hessian eigenvalues", _ONE),
    # --- weights and losses
    "theta": ("network weights W_1..W_h flattened row-major", _ONE),
    "theta_final": ("weights at the end of the run", _ONE),
    "theta_star": ("weights of the critical point whose stable and unstable sets are grown", _ONE),
    "loss": ("loss L = 1/2 ||Sigma - W_h...W_1||_F^2", _ONE),
    "loss_final": ("loss at the end of the run", _ONE),
    "gradient_norm": ("Frobenius norm of the gradient of L", _ONE),
    "singular_values": ("singular values of the end-to-end matrix W_h...W_1", _ONE),
    # --- trajectories
    "conserved_drift": ("||C_i(t) - C_i(0)||_F of the conserved quantities C_i = W_{i+1}^T W_{i+1} - W_i W_i^T", _ONE),
    "conserved_drift_final": ("||C_i - C_i(0)||_F at the end of the run", _ONE),
    "conserved_scale": ("max_i ||W_i||_F^2 along the run (size of the terms of C_i)", _ONE),
    "status": ("how the run ended", _ONE),
    "t_final": ("time at which the run ended", _ONE),
    "t_event": ("time at which a stopping event fired (NaN if none)", _ONE),
    "n_steps": ("accepted steps (-1 where the method does not report them)", _ONE),
    "n_rejected": ("rejected steps (-1 where the method does not report them)", _ONE),
    # --- itineraries
    "t_enter": ("arrival: first stored time of the visit (near Sigma_S, loss near L_S)", _ONE),
    "t_exit": ("departure: last stored time of the visit", _ONE),
    "plateau_loss": ("critical value L_S of the subset visited", _ONE),
    "saddle": ("the subset visited is a saddle (L_S above the global minimum)", _ONE),
    "min_distance": ("min ||P - Sigma_S||_F / ||Sigma||_F during the visit", _ONE),
    "loss_deviation": ("max |L - L_S| during the visit", _ONE),
    "t_half": ("per-mode half-learning time: P_kk first reaches sigma_k / 2 (not a visit time)", _ONE),
    # --- critical points and values
    "subset": ("learnt subset S of modes (1-based)", _ONE),
    "learnt": ("mode k is in S", _ONE),
    "size": ("number of learnt modes |S|", _ONE),
    "value_id": ("entries with equal critical values share an id", _ONE),
    "is_global_minimum": ("S gives the global minimum", _ONE),
    "n_subsets": ("number of subsets S with this critical value", _ONE),
    "subsets": ("subsets with this critical value, ';'-separated", _ONE),
    # --- fibers
    "stratum": ("fiber stratum the sample comes from", _ONE),
    "critical": ("sample passed the criticality and value check", _ONE),
    "orbit_dimension": ("dimension of the gauge orbit at A*_S (rank of the infinitesimal GL action)", _ONE),
    "hessian_nullity": ("number of Hessian eigenvalues in the zero band at A*_S", _ONE),
    "fiber_dimension": ("dimension of the fiber in closed form (-1 where not known)", _ONE),
    "n_components": ("connected components of the fiber in closed form (-1 where not known)", _ONE),
    # --- Hessian inertia and classification
    "eigenvalues": ("Hessian eigenvalues, ascending", _ONE),
    "vectors": ("Hessian eigenvectors (columns, in the order of eigenvalues)", _ONE),
    "hessian_eigenvalues": ("Hessian eigenvalues at the critical point, ascending", _ONE),
    "n_negative": ("number of negative Hessian eigenvalues (below the zero band)", _ONE),
    "n_zero": ("number of Hessian eigenvalues in the zero band", _ONE),
    "n_positive": ("number of positive Hessian eigenvalues (above the zero band)", _ONE),
    "lambda_min": ("smallest Hessian eigenvalue", _ONE),
    "lambda_max": ("largest Hessian eigenvalue", _ONE),
    "lowest": ("lowest Hessian eigenvalues, ascending (NaN-padded)", _ONE),
    "highest": ("highest Hessian eigenvalues, descending (NaN-padded)", _ONE),
    "kind": ("classification: global_minimum, strict_saddle, non_strict_saddle or not_critical", _ONE),
    "rank_criterion": ("classification by the rank-pair criterion of spec 3.4 (empty if S is unknown)", _ONE),
    "criteria_agree": ("the Hessian/arc classification and the rank criterion agree", _ONE),
    "certificate": ("evidence for the kind: hessian, insertion_arc, null_space_arc, minimum or none", _ONE),
    "order": ("order of the first nonzero term of L(A* + alpha V) - L(A*) along the certificate (0: none)", _ONE),
    "coefficient": ("coefficient of that leading term (negative: the loss decreases)", _ONE),
    "direction": ("certificate direction V in parameter space (NaN where there is none)", _ONE),
    # --- stable and unstable sets
    "branch_kind": ("stable or unstable set the branch samples", _ONE),
    "source": ("where the branch's seed direction comes from: hessian, characteristic_ray or insertion_arc", _ONE),
    "unstable_dimension": ("local dimension of the unstable set (source: attr dimension_source)", _ONE),
    "stable_dimension": ("local dimension of the stable set (source: attr dimension_source)", _ONE),
    "critical_dimension": ("local dimension of the critical set through the point (-1: not determined)", _ONE),
    "centre_dimension": ("degenerate normal directions: Hessian nullity minus the critical dimension", _ONE),
    "seed_eigenvalue": ("Hessian eigenvalue of the branch's seed direction (NaN: not an eigenvector)", _ONE),
    ("submanifolds", "time"): ("flow time from the branch's seed (forward flow: unstable; backward flow: stable)", _ONE),
    ("submanifolds", "seed"): ("unit seed direction of the branch at the critical point", _ONE),
    ("submanifolds", "sample"): ("sample along the branch (increasing distance from the critical point)", _ONE),
    ("fiber", "sample"): ("sample of the fiber", _ONE),
    # --- sweeps (one entry per run of the grid)
    ("sweep", "loss_final"): ("loss at the end of the run", _ONE),
    ("sweep", "t_final"): ("time at which the run ended (loss below the threshold, or t_end)", _ONE),
    ("sweep", "status"): ("how the run ended (integrator status)", _ONE),
    "n_plateaus": ("saddle visits (within plateau_distance of Sigma_S, loss near L_S, for at least plateau_time; "
                   "a visit lasting to the end of the run counts)", _ONE),
    "route": ("itinerary: the critical sets visited, or 'direct' when no saddle was", _ONE),
    "escape_times": ("departure times of the saddle visits the run left, in order (NaN-padded)", _ONE),
    ("sweep", "conserved_drift"): ("max_t ||C_i(t) - C_i(0)||_F / max_i ||W_i||_F^2", _ONE),
    ("sweep", "singular_values"): ("singular values of the final end-to-end matrix", _ONE),
    ("sweep", "stage"): ("saddle visit the run left (0-based)", _ONE),
    "weight_norm": ("sqrt(sum_i ||W_i||_F^2) at the end", _ONE),
    "balance": ("max_i ||C_i||_F at the end (delta-balance)", _ONE),
    "sharpness": ("largest Hessian eigenvalue at the end", _ONE),
    "network_widths": ("layer widths d_0,...,d_h of the network, comma-separated", _ONE),
    "network_sigma": ("target singular values of the network, comma-separated", _ONE),
    # --- issue 12: curvature at any point (inertia paths, extreme eigenpairs, spectral density)
    "lowest_residual": ("residual norm ||H v - lambda v|| of each lowest eigenpair (matrix-free paths)", _ONE),
    "highest_residual": ("residual norm ||H v - lambda v|| of each highest eigenpair (matrix-free paths)", _ONE),
    "n_negative_std": ("standard error over probes of the estimated negative count (std / sqrt(n_probes))", _ONE),
    "n_zero_std": ("standard error over probes of the estimated zero-band count (std / sqrt(n_probes))", _ONE),
    "n_positive_std": ("standard error over probes of the estimated positive count (std / sqrt(n_probes))", _ONE),
    "n_negative_quadrature_error": ("half-width of the Gauss-quadrature (Chebyshev-Markov-Stieltjes) bracket of the "
                                    "negative count, mean over probes", _ONE),
    "n_zero_quadrature_error": ("half-width of the Gauss-quadrature bracket of the zero-band count, mean over probes", _ONE),
    "n_positive_quadrature_error": ("half-width of the Gauss-quadrature bracket of the positive count, mean over "
                                    "probes", _ONE),
    ("eigenpairs", "eigen"): ("eigenpair index (the lowest ascending, then the highest descending)", _ONE),
    ("eigenpairs", "eigenvalues"): ("Hessian eigenvalues at the wanted ends (lowest ascending, then highest "
                                    "descending)", _ONE),
    ("eigenpairs", "vectors"): ("unit Hessian eigenvectors (columns, in the order of eigenvalues)", _ONE),
    "end": ("end of the spectrum the eigenpair belongs to: lowest or highest", _ONE),
    "residual": ("residual norm ||H v - lambda v|| (bounds the eigenvalue's error)", _ONE),
    "converged": ("the residual is within tol times the spectral radius estimate", _ONE),
    "eigenvalue": ("Hessian eigenvalue (grid of the density)", _ONE),
    "probe": ("Rademacher probe vector of the stochastic Lanczos quadrature", _ONE),
    "node": ("Gauss quadrature node of a probe (Lanczos step)", _ONE),
    "density": ("Gaussian-broadened spectral density of the Hessian (integrates to 1 over eigenvalue)", _ONE),
    "nodes": ("Gauss quadrature nodes (Ritz values of the probe's Lanczos tridiagonal; NaN after an early stop)", _ONE),
    "weights": ("Gauss quadrature weights (squared first components of the Ritz vectors)", _ONE),
    "n_negative_estimate": ("estimated number of Hessian eigenvalues below the zero band", _ONE),
    "n_zero_estimate": ("estimated number of Hessian eigenvalues in the zero band", _ONE),
    "n_positive_estimate": ("estimated number of Hessian eigenvalues above the zero band", _ONE),
    "lambda_min_estimate": ("smallest quadrature node (an upper bound of the smallest eigenvalue)", _ONE),
    "lambda_max_estimate": ("largest quadrature node (a lower bound of the largest eigenvalue)", _ONE),
    # --- issue 11: manifold surfaces (triangle meshes grown by geodesic level sets)
    "vertex": ("vertex of the triangle mesh (0: the critical point W*)", _ONE),
    "face": ("triangle of the mesh", _ONE),
    "corner": ("corner of a triangle (0, 1, 2)", _ONE),
    "generator": ("generating direction of the surface at W* (two)", _ONE),
    "points": ("vertex weights W_1..W_h flattened row-major (a point of the invariant surface)", _ONE),
    "triangles": ("vertex indices of the corners of each triangle", _ONE),
    "geodesic_distance": ("geodesic distance from W* along the surface (sum of the ring steps Delta)", _ONE),
    "tangency_angle": ("angle (radians) between the flow field and the mesh's local plane at the vertex "
                       "(NaN where the field vanishes)", _ONE),
    "conserved_deviation": ("max_i ||C_i(W) - C_i(W*)||_F at the vertex (0 on W^u and W^s)", _ONE),
    "ring": ("geodesic level set (ring) the vertex was added in (0: the start circle and W*)", _ONE),
    "stop": ("why growth stopped at the vertex: active, critical_point, critical_set, loss_level, stalled or "
             "max_distance", _ONE),
    "directions": ("unit directions at W* spanning the surface's start circle", _ONE),
    ("manifold_surface", "loss"): ("loss L = 1/2 ||Sigma - W_h...W_1||_F^2 at the vertex", _ONE),
    ("manifold_surface", "theta_star"): ("weights of the critical point W* whose manifold the surface is", _ONE),
    # --- issue 15: the lab's studies (landscape.experiments)
    "depth": ("depth h of the network (number of weight layers)", _ONE),
    "bound": ("end of the confidence interval: low or high", _ONE),
    "escape_time": ("first time the largest singular value of P = W_h...W_1 reaches sigma_1/2 (NaN: not within the "
                    "budget)", _ONE),
    "escape_status": ("escaped, not_escaped (budget) or started_above", _ONE),
    "predicted_time": ("exact escape time of the aligned balanced start w_i = eps (half-learning time of sigma_1)", _ONE),
    "leading_time": ("leading asymptotic escape time: (ln s + 2 ln(1/eps))/(2s) at h = 2, eps^-(h-2)/((h-2)s) above",
                     _ONE),
    "slope": ("fitted slope: a of T = a ln(1/eps) + c + d eps^(2(1-sigma_2/sigma_1)) at h = 2, b of T = A eps^b + c "
              "at h >= 3 (mean over seeds)", _ONE),
    "slope_ci": ("confidence interval of the slope (t-interval over seeds)", _ONE),
    "seed_slope": ("slope of one seed over the scales (asymptotic form with its constant)", _ONE),
    "loglog_slope": ("plain OLS slope: T on ln(1/eps) at h = 2, ln T on ln eps at h >= 3 (mean over seeds)", _ONE),
    "loglog_slope_ci": ("t-interval over seeds of the plain OLS slope", _ONE),
    "predicted_slope": ("asymptotic slope of the theory: 1/sigma_1 at h = 2, -(h-2) at h >= 3", _ONE),
    "predicted_slope_grid": ("OLS slope of the exact aligned balanced escape time over the study's scales", _ONE),
    "slope_resolution": ("bound on a slope's error from the integration (times exact to 100 rtol), added to both "
                         "ends of slope_ci", _ONE),
    "prefactor": ("geometric mean of measured escape time / exact aligned balanced escape time", _ONE),
    "spectrum": ("target spectrum of the network (index)", _ONE),
    "sigma": ("target singular values sigma_k of the spectrum", _ONE),
    "gap": ("spectral gap min_k sigma_k / sigma_{k+1}", _ONE),
    "sequential": ("the itinerary visits every intermediate saddle {1}, {1,2}, ..., {1..r-1}", _ONE),
    "complete": ("the run ended at the global minimum (its route is whole)", _ONE),
    "sequential_fraction": ("fraction of seeds that learn sequentially", _ONE),
    "threshold": ("transition scale: the sequential fraction falls through 1/2 (linear in ln eps)", _ONE),
    "threshold_ci": ("percentile bootstrap interval (over seeds) of the transition scale", _ONE),
    "predicted_threshold": ("transition scale of the aligned balanced start (closed-form dynamics, same definition)",
                            _ONE),
    ("almost_every_start", "converged"): ("the run reached the global minimum (loss within loss_tol of L*)", _ONE),
    "final_subset": ("nearest critical set S of the final end-to-end matrix", _ONE),
    ("almost_every_start", "conserved"): ("||C_i||_F of the conserved quantities (NaN above the depth)", _ONE),
    ("almost_every_start", "gradient_norm"): ("Frobenius norm of the gradient of L at the end of the run", _ONE),
    "det_sign": ("sign of det P(0) of the start (0 for a non-square P)", _ONE),
    "predicted_converged": ("theory: generic starts converge; 0-balanced ones (C_i = 0) only if det P(0) > 0", _ONE),
    "predicted_fraction": ("fraction of starts the theory predicts to converge", _ONE),
    "converged_fraction": ("fraction of starts that converged to a global minimum", _ONE),
    "converged_ci": ("Wilson score interval of the converged fraction", _ONE),
    "loss_bin": ("centre of the log10 final-loss bin", _ONE),
    "loss_histogram": ("number of runs whose log10 final loss falls in the bin", _ONE),
    "stall": ("run that did not converge by t_end", _ONE),
    "stall_depth": ("depth of the stalled run", _ONE),
    "stall_init": ("initialisation of the stalled run", _ONE),
    "stall_seed": ("seed of the stalled run", _ONE),
    "stall_subset": ("nearest critical set S where the run stalled", _ONE),
    "stall_loss": ("final loss of the stalled run", _ONE),
    "stall_gradient_norm": ("final gradient norm of the stalled run", _ONE),
    "stall_conserved": ("||C_i||_F of the stalled run (NaN above its depth)", _ONE),
}

#: Status codes of the integrators (``landscape.dynamics`` ``Status``): meaning -> code
STATUS_MEANINGS = ("running", "success", "event", "failed", "time_budget", "diverged")

#: string variables stored as CF flags: name -> meanings, in code order (code = position)
FLAGS = {"status": STATUS_MEANINGS}

_FLAG_WORD = re.compile(r"^[A-Za-z0-9_.+@-]+$")  # CF 1.10 section 3.5: characters of a flag meaning


def metadata_for(kind, name):
    """``(long_name, units)`` of variable ``name`` in a dataset of ``kind``, or None if not in the table."""
    return METADATA.get((kind, name), METADATA.get(name))


def annotate(ds):
    """Attach ``long_name`` and ``units`` from :data:`METADATA` to every variable and coordinate.

    The table wins over attributes set elsewhere (it is the one definition). Also sets the
    global ``Conventions`` attribute. Modifies ``ds`` in place and returns it.
    """
    kind = ds.attrs.get("landscape_kind")
    for name, var in ds.variables.items():
        meta = metadata_for(kind, name)
        if meta is not None:
            long_name, units = meta
            var.attrs.update({"long_name": long_name, "units": units})
    ds.attrs["Conventions"] = CONVENTIONS
    return ds


def encode_flags(ds):
    """Replace each string variable of :data:`FLAGS` by ``int8`` codes with ``flag_values``/``flag_meanings``.

    Values outside the vocabulary are appended to it (codes after the known ones); a value
    that is not a CF flag word (e.g. the empty string) leaves the variable as strings.
    Returns a new dataset; ``ds`` is not modified.
    """
    out = ds
    for name, meanings in FLAGS.items():
        if name not in ds.variables or ds[name].dtype.kind not in "USO":
            continue
        values = np.asarray(ds[name].values).astype(str)
        vocab = list(meanings) + sorted(set(values.ravel().tolist()) - set(meanings))
        if not all(_FLAG_WORD.match(v) for v in vocab) or len(vocab) > 127:
            continue
        code = {v: i for i, v in enumerate(vocab)}
        codes = np.vectorize(code.__getitem__, otypes=[np.int8])(values) if values.size else values.astype(np.int8)
        attrs = dict(ds[name].attrs)
        attrs.update({"flag_values": np.arange(len(vocab), dtype=np.int8), "flag_meanings": " ".join(vocab)})
        if out is ds:
            out = ds.copy(deep=False)
        out[name] = (ds[name].dims, codes.reshape(values.shape), attrs)
    return out


def decode_flags(ds, name="ds"):
    """Inverse of :func:`encode_flags`: integer flag codes back to their meanings (strings).

    Raises
    ------
    ValueError
        A code is not among the variable's ``flag_values``, or the two attributes disagree.
    """
    for var in FLAGS:
        if var not in ds.variables:
            continue
        attrs = ds[var].attrs
        if "flag_values" not in attrs or "flag_meanings" not in attrs or ds[var].dtype.kind not in "iu":
            continue
        values = np.atleast_1d(attrs["flag_values"]).astype(np.int64)
        meanings = str(attrs["flag_meanings"]).split()
        if len(values) != len(meanings):
            raise ValueError(f"{name}: variable {var!r} has {len(values)} flag_values but {len(meanings)} flag_meanings.")
        lookup = dict(zip(values.tolist(), meanings))
        codes = np.asarray(ds[var].values).astype(np.int64)
        unknown = sorted(set(codes.ravel().tolist()) - set(lookup))
        if unknown:
            raise ValueError(f"{name}: variable {var!r} holds codes {unknown} that are not among its flag_values "
                             f"{values.tolist()}.")
        width = max((len(m) for m in meanings), default=1)
        strings = np.array([lookup[c] for c in codes.ravel().tolist()], dtype=f"<U{width}").reshape(codes.shape)
        kept = {k: v for k, v in attrs.items() if k not in ("flag_values", "flag_meanings")}
        ds[var] = (ds[var].dims, strings, kept)
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
    """Attributes that let a reader rebuild the network: widths, sigma, and the data rotations.

    For a network whose target was reduced by an SVD (``LinearNetwork.from_data`` or a 2-D
    ``sigma``), the maps between reduced and data coordinates are stored too, flattened
    row-major: ``data_U`` (``d_h x d_h``), ``data_V`` (``d_0 x d_0``), ``data_input_map``
    (``d_0 x m``, reduced ``W_1`` -> data ``W_1 @ map``, m = the data's input dimension) and
    ``data_input_map_inv`` (``m x d_0``), with ``loss_offset`` (the constant dropped from the
    raw loss). A network given by its singular values stores none of them.

    ``loss`` names the network's loss (``"squared"``, ``"raw_squared"``, ``"logistic"``,
    ``"cross_entropy"``, or a user loss's ``name``). For a loss other than ``"squared"`` the
    loss's data (``X``, ``Y``) are not stored (they can be large, and a user loss is
    arbitrary code): ``loss_description`` holds its repr, ``sigma`` is the whitened
    reduction's for ``raw_squared`` and absent otherwise, and :func:`landscape.network_of`
    refuses to rebuild the network unless it is given the loss object.
    """
    name = getattr(net, "loss_name", "squared")
    attrs = {"widths": np.asarray(net.widths, dtype=np.int64)}
    if name in ("squared", "raw_squared"):  # raw_squared: its whitened reduction's (when X X^T is invertible)
        try:
            attrs["sigma"] = np.asarray(net.sigma, dtype=np.float64)
        except ValueError:
            pass
    attrs["depth"] = np.int64(net.depth)
    attrs["loss"] = name
    if name != "squared":
        attrs["loss_description"] = repr(net.objective)
        return attrs  # the loss's data are not stored: network_of(ds, loss=...) rebuilds the network
    red = net.reduction()
    d0, dh = net.widths[0], net.widths[-1]
    trivial = (np.array_equal(red["U"], np.eye(dh)) and np.array_equal(red["V"], np.eye(d0))
               and np.array_equal(red["input_map"], np.eye(d0)) and np.array_equal(red["input_map_inv"], np.eye(d0))
               and red["loss_offset"] == 0.0)
    if not trivial:
        for key in ("U", "V", "input_map", "input_map_inv"):
            attrs["data_" + key] = np.ascontiguousarray(red[key], dtype=np.float64).ravel()
        attrs["loss_offset"] = float(red["loss_offset"])
    return attrs


def network_from_attrs(attrs):
    """The :class:`~landscape.LinearNetwork` described by :func:`network_attrs` (inverse of it)."""
    from ..core import LinearNetwork

    widths = [int(w) for w in np.atleast_1d(attrs["widths"])]
    name = str(attrs.get("loss", "squared"))
    if name != "squared":
        raise ValueError(f"the dataset was computed with the {name!r} loss ({attrs.get('loss_description', name)}), whose "
                         f"data are not stored in the file; pass the loss object: ls.network_of(ds, loss=...)")
    sigma = np.atleast_1d(np.asarray(attrs["sigma"], dtype=np.float64))
    if not any(key in attrs for key in REDUCTION_ATTRS):
        return LinearNetwork(widths, sigma)
    missing = [key for key in REDUCTION_ATTRS if key not in attrs]
    if missing:
        raise ValueError(f"the dataset stores part of the data reduction; it lacks the attributes {missing}.")
    d0, dh = widths[0], widths[-1]
    flat = {key: np.atleast_1d(np.asarray(attrs[key], dtype=np.float64)) for key in REDUCTION_ATTRS}
    m = flat["data_input_map"].size // d0
    return LinearNetwork.from_reduction(
        widths, sigma, U=flat["data_U"].reshape(dh, dh), V=flat["data_V"].reshape(d0, d0),
        input_map=flat["data_input_map"].reshape(d0, m), input_map_inv=flat["data_input_map_inv"].reshape(m, d0),
        loss_offset=float(attrs.get("loss_offset", 0.0)),
    )
