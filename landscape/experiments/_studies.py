"""The named studies: measurements on dask beside the theory's predictions, as xarray Datasets."""

from __future__ import annotations

import json

import warnings

import numpy as np

from .._validation import check_int
from .._version import __version__
from . import theory
from ._measure import STUDY_INITS, escape_times, final_states, initial_batch, intermediate_subsets, network_for, \
    sequential_runs
from ._runner import LabError, run_tasks

__all__ = ["plateau_scaling", "sequential_threshold", "almost_every_start", "STUDIES", "SIZES", "study"]

SIZE_NAMES = ("small", "default", "large")

#: run-count presets of each study: ``--size small`` (tests, seconds), ``default`` (<= 5 min on 2 cores),
#: ``large`` (>= 10^5 runs, for a cluster)
SIZES = {
    "plateau_scaling": {"small": {"depths": (2, 3), "inits": ("balanced", "gaussian"), "n_scales": 4, "seeds": 4},
                        "default": {"depths": (2, 3, 4), "inits": ("balanced", "gaussian", "orthogonal"),
                                    "n_scales": 5, "seeds": 16},
                        "large": {"depths": (2, 3, 4), "inits": ("balanced", "gaussian", "orthogonal"),
                                  "n_scales": 5, "seeds": 2224}},
    "sequential_threshold": {"small": {"depths": (2, 3), "n_scales": 7, "seeds": 4, "spectra": ((3.0, 2.0, 1.0),)},
                             "default": {"depths": (2, 3), "n_scales": 13, "seeds": 12,
                                         "spectra": ((3.0, 2.0, 1.0), (4.0, 2.0, 1.0), (9.0, 3.0, 1.0))},
                             "large": {"depths": (2, 3, 4), "n_scales": 25, "seeds": 660,
                                       "spectra": ((3.0, 2.0, 1.0), (4.0, 2.0, 1.0), (9.0, 3.0, 1.0))}},
    "almost_every_start": {"small": {"depths": (3,), "inits": ("gaussian", "orthogonal"), "seeds": 40},
                           "default": {"depths": (3, 4), "inits": ("gaussian", "orthogonal", "balanced"),
                                       "seeds": 1000},
                           "large": {"depths": (3, 4), "inits": ("gaussian", "orthogonal", "balanced"),
                                     "seeds": 17000}},
}

BOUNDS = np.array(["low", "high"])


def _size(name, size):
    if size not in SIZE_NAMES:
        raise LabError(f"size must be one of {list(SIZE_NAMES)}; got {size!r}.")
    return SIZES[name][size]


def _seeds(seeds):
    if isinstance(seeds, (int, np.integer)):
        return list(range(check_int(seeds, name="seeds", minimum=2)))
    out = [int(s) for s in seeds]
    if len(out) < 2:
        raise LabError(f"seeds must hold at least 2 seeds (confidence intervals need them); got {out}.")
    return out


def _inits(inits):
    inits = list(inits)
    for name in inits:
        if name not in STUDY_INITS:
            raise LabError(f"inits must be among {list(STUDY_INITS)}; got {name!r}.")
    if not inits:
        raise LabError("inits is empty.")
    return inits


def _depths(depths, minimum=2):
    out = [check_int(h, name="depths[...]", minimum=minimum) for h in depths]
    if not out:
        raise LabError("depths is empty.")
    return out


def _chunks(n, size):
    return [(lo, min(n, lo + size)) for lo in range(0, n, size)]


def _common(info, runs, wall):
    return {"landscape_version": __version__, "landscape_format": "1.0", "chunks_computed": np.int64(info["computed"]),
            "chunks_reused": np.int64(info["reused"]), "digest": info["digest"], "directory": info["directory"],
            "wall_time": float(wall), "runs": np.int64(runs),
            "runs_per_second": float(runs / wall) if info["computed"] and wall > 0 else np.nan}


def _finish(ds):
    from ..io._schema import annotate

    return annotate(ds)


# ----------------------------------------------------------------------------------------------- plateau scaling
def _plateau_task(definition, key):
    i, j, k, lo, hi = key
    h = definition["depths"][i]
    net = network_for(h, definition["sigma"])
    eps = definition["scales"][k]
    seeds = definition["seeds"][lo:hi]
    W0 = initial_batch(net, definition["inits"][j], eps, seeds)
    T = theory.escape_time(eps, float(max(definition["sigma"])), h)
    res = escape_times(net, W0, definition["budget"] * T + 10.0, rtol=definition["rtol"])
    return {"escape_time": res["escape_time"], "status": res["status"]}


def _slope_fit(scales, times, h, level, plain=False, gamma=None, resolution=0.0):
    """Per-seed slopes over the scales (:func:`theory.fit_slope`, or plain OLS of the fit variables), then their
    mean with a t-interval over seeds."""
    from scipy import stats

    slopes = []
    for b in range(times.shape[1]):
        if plain:
            x, y = theory.fit_variables(scales, times[:, b], h)
            ok = np.isfinite(x) & np.isfinite(y)
            slopes.append(theory.ols_slope(x[ok], y[ok])[0] if ok.sum() >= 2 else np.nan)
        else:
            slopes.append(theory.fit_slope(scales, times[:, b], h, gamma=gamma))
    slopes = np.asarray(slopes)
    slopes = slopes[np.isfinite(slopes)]
    if slopes.size < 2:
        return np.nan, np.nan, np.nan, slopes
    m = float(slopes.mean())
    se = float(slopes.std(ddof=1) / np.sqrt(slopes.size))
    q = float(stats.t.ppf(0.5 + level / 2, slopes.size - 1))
    return m, m - q * se - resolution, m + q * se + resolution, slopes


def _resolution(scales, times, h, rtol):
    """Bound on a slope's error from the integration: times are exact to ``100 rtol`` (relative; measured
    3e-11 at rtol 1e-10 on aligned starts), over the range of the fit variable."""
    span = float(np.ptp(np.log(np.asarray(scales, float))))
    if span == 0:
        return np.nan
    rel = 100.0 * rtol
    if h == 2:
        return 4.0 * rel * float(np.nanmax(times, initial=0.0)) / span
    return 4.0 * rel / span


def plateau_scaling(depths=None, inits=None, scales=None, seeds=None, *, sigma=(3.0, 2.0, 1.0), size="default",
                    level=0.95, rtol=1e-10, budget=60.0, chunk_size=8, directory=None, scheduler=None, client=None,
                    n_workers=None, processes=True, connect_timeout=10.0, progress=None):
    """First escape time from the origin against the initial scale, per depth and initialisation.

    **Escape** is the first time the largest singular value of ``P = W_h ... W_1`` reaches
    ``sigma_1 / 2``; for an aligned balanced start it is the half-learning time of the
    strongest mode, ``T_h(eps, sigma_1)`` of :func:`landscape.experiments.theory.escape_time`
    (measured to ``~rtol``: the crossing is located on the integrator's continuous
    extension). The theory: ``T_2 = (ln s + 2 ln(1/eps)) / (2 s) + O(eps^2)`` (slope
    ``1/s`` against ``ln(1/eps)``) and ``T_h = eps^{-(h-2)} / ((h-2) s) + C_h(s) + O(eps^2)``
    for ``h >= 3`` (log-log slope ``-(h-2)``). The same slopes hold for any start
    ``W(0) = eps V`` (the flow near the origin is homogeneous), so gaussian and
    orthogonal starts measure how far that extends; their prefactor is open.

    **Fit.** For each seed, the slope of the asymptotic form with its constant over the
    scales (:func:`landscape.experiments.theory.fit_slope`: ``T = a ln(1/eps) + c +
    d eps^{2(1 - sigma_2/sigma_1)}`` at h = 2, ``T = A eps^b + c`` above); ``slope`` is the
    mean over seeds and ``slope_ci`` its two-sided ``level`` t-interval over seeds (the
    seeds are the independent replicates; each seed's starts at different scales are
    ``eps V`` with the same ``V``), widened on both sides by ``slope_resolution``, the
    bound the integration tolerance puts on a slope (times exact to ``100 rtol``). ``loglog_slope`` is the plain OLS log-log slope with the same interval: it
    carries the finite-``eps`` bias of the constant (``predicted_slope_grid`` shows it for
    the aligned start).

    Parameters
    ----------
    depths : sequence of int, optional
        Depths ``h >= 2`` (widths ``(n,) * (h+1)``, ``n = len(sigma)``). Default from ``size``.
    inits : sequence of {"balanced", "gaussian", "orthogonal", "aligned"}, optional
    scales : sequence of float, optional
        Initial scales ``eps`` (default: ``n_scales`` log-spaced in ``[1e-6, 1e-4]``,
        where the finite-``eps`` bias of the slopes is below ``1e-5``).
    seeds : int or sequence of int, optional
    sigma : sequence of float, default=(3, 2, 1)
    size : {"small", "default", "large"}, default="default"
        Presets (:data:`SIZES`); explicit arguments override them.
    level : float, default=0.95
    rtol : float, default=1e-10
    budget : float, default=60
        A run gets ``budget * T_h(eps, sigma_1) + 10`` of flow time to escape.
    chunk_size : int, default=8
        Seeds per task.
    directory, scheduler, client, n_workers, processes, connect_timeout, progress
        As for :func:`landscape.sweep` (``directory``: reuse it to resume).

    Returns
    -------
    xarray.Dataset
        Kind ``"plateau_scaling"``: ``escape_time (depth, init, scale, seed)``,
        ``escape_status``, ``predicted_time (depth, scale)`` (exact, aligned balanced),
        ``leading_time (depth, scale)``, ``slope (depth, init)``, ``slope_ci (depth, init,
        bound)``, ``seed_slope (depth, init, seed)``, ``loglog_slope (depth, init)``,
        ``loglog_slope_ci (depth, init, bound)``, ``predicted_slope (depth)``,
        ``predicted_slope_grid (depth)`` (the slope of the exact formula over the grid),
        ``prefactor (depth, init)`` (geometric mean of measured / predicted time).
    """
    import xarray as xr

    preset = _size("plateau_scaling", size)
    depths = _depths(preset["depths"] if depths is None else depths)
    inits = _inits(preset["inits"] if inits is None else inits)
    scales = list(np.geomspace(1e-6, 1e-4, preset["n_scales"])) if scales is None else [float(s) for s in scales]
    seeds = _seeds(preset["seeds"] if seeds is None else seeds)
    sigma = [float(s) for s in sigma]
    s1 = max(sigma)
    for e in scales:
        if not (np.isfinite(e) and e > 0):
            raise LabError(f"scales must be positive numbers; got {e!r}.")
    if len(scales) < 2:
        raise LabError("scales needs at least 2 values to fit a slope.")
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise LabError(f"level must be a confidence level in (0, 1), for example 0.95; got {level!r}.")
    for h in depths:
        if max(scales) ** h >= s1 / 2:
            raise LabError(f"scales must satisfy eps^h < sigma_1/2 (a start past the escape level has no escape time); "
                           f"got eps = {max(scales):g} at depth {h} with sigma_1 = {s1:g}.")
    biased = [h for h in depths if (h == 2 and len(sigma) > 1 and len(scales) < 4) or max(scales) ** h > 1e-3 * s1]
    if biased:
        warnings.warn(f"plateau_scaling: at depth {biased} the fitted form does not hold to the integration "
                      "tolerance on these scales (h = 2 with fewer than 4 scales cannot fit the second mode's "
                      "eps^(2(1 - sigma_2/sigma_1)) term; eps^h > 1e-3 sigma_1 leaves O(eps^2) terms): slope_ci "
                      "covers the spread over seeds, not this finite-eps bias.", RuntimeWarning, stacklevel=2)
    definition = {"depths": depths, "inits": inits, "scales": [float(x) for x in scales], "seeds": seeds,
                  "sigma": sigma, "rtol": float(rtol), "budget": float(budget)}
    keys = [(i, j, k, lo, hi) for i in range(len(depths)) for j in range(len(inits)) for k in range(len(scales))
            for lo, hi in _chunks(len(seeds), check_int(chunk_size, name="chunk_size", minimum=1))]
    results, info = run_tasks("plateau_scaling", definition, keys, _plateau_task, directory=directory,
                              scheduler=scheduler, client=client, n_workers=n_workers, processes=processes,
                              connect_timeout=connect_timeout, progress=progress,
                              order=lambda key: (-depths[key[0]], key))
    shape = (len(depths), len(inits), len(scales), len(seeds))
    T = np.full(shape, np.nan)
    status = np.full(shape, "", dtype=object)
    for (i, j, k, lo, hi), res in results.items():
        T[i, j, k, lo:hi] = res["escape_time"]
        status[i, j, k, lo:hi] = res["status"]
    eps = np.asarray(scales)
    pred = np.array([theory.escape_time(eps, s1, h) for h in depths])
    lead = np.array([theory.escape_time_leading(eps, s1, h) for h in depths])
    slope = np.full(shape[:2], np.nan)
    ci = np.full(shape[:2] + (2,), np.nan)
    seed_slope = np.full(shape[:2] + (len(seeds),), np.nan)
    prefactor = np.full(shape[:2], np.nan)
    ols = np.full(shape[:2], np.nan)
    resolution = np.full(len(depths), np.nan)
    ols_ci = np.full(shape[:2] + (2,), np.nan)
    for i, h in enumerate(depths):
        for j in range(len(inits)):
            gamma = 2.0 * (1.0 - sorted(sigma)[-2] / s1) if h == 2 and len(sigma) > 1 else None
            resolution[i] = _resolution(eps, T[i], h, rtol)
            m, lo_, hi_, per_seed = _slope_fit(eps, T[i, j], h, level, gamma=gamma, resolution=resolution[i])
            slope[i, j], ci[i, j] = m, (lo_, hi_)
            m, lo_, hi_, _ = _slope_fit(eps, T[i, j], h, level, plain=True)
            ols[i, j], ols_ci[i, j] = m, (lo_, hi_)
            if per_seed.size == len(seeds):
                seed_slope[i, j] = per_seed
            ratio = T[i, j] / pred[i][:, None]
            ok = np.isfinite(ratio) & (ratio > 0)
            prefactor[i, j] = float(np.exp(np.mean(np.log(ratio[ok])))) if ok.any() else np.nan
    ds = xr.Dataset(
        {"escape_time": (("depth", "init", "scale", "seed"), T),
         "escape_status": (("depth", "init", "scale", "seed"), status.astype(str)),
         "predicted_time": (("depth", "scale"), pred),
         "leading_time": (("depth", "scale"), lead),
         "slope": (("depth", "init"), slope),
         "slope_ci": (("depth", "init", "bound"), ci),
         "seed_slope": (("depth", "init", "seed"), seed_slope),
         "loglog_slope": (("depth", "init"), ols),
         "loglog_slope_ci": (("depth", "init", "bound"), ols_ci),
         "predicted_slope": (("depth",), np.array([theory.predicted_slope(s1, h) for h in depths])),
         "predicted_slope_grid": (("depth",), np.array([theory.grid_slope(eps, s1, h) for h in depths])),
         "prefactor": (("depth", "init"), prefactor),
         "slope_resolution": (("depth",), resolution)},
        coords={"depth": np.asarray(depths, dtype=np.int64), "init": np.array(inits, dtype=str), "scale": eps,
                "seed": np.asarray(seeds, dtype=np.int64), "bound": BOUNDS})
    ds.attrs.update({"landscape_kind": "plateau_scaling", "study": "plateau_scaling", "sigma": np.asarray(sigma),
                     "level": float(level), "rtol": float(rtol), "budget": float(budget),
                     "escape_definition": "first time the largest singular value of P = W_h...W_1 reaches sigma_1/2",
                     "fit_method": "per seed, least squares of the asymptotic form with its constant over the scales "
                                   "(T = a ln(1/eps) + c + d eps^(2(1 - sigma_2/sigma_1)) at h = 2, slope a; T = A eps^b + c at "
                                   "h >= 3, slope b, relative residuals); mean over seeds with a two-sided t-interval "
                                   "over seeds, widened on both sides by slope_resolution (the integration's bound). "
                                   "loglog_slope: "
                                   "plain OLS of ln T on ln eps (T on ln(1/eps) at h = 2), same interval",
                     "definition": json.dumps(definition), **_common(info, int(np.prod(shape)), info["wall_time"])})
    return _finish(ds)


# ----------------------------------------------------------------------------------------- sequential threshold
def _t_end_sequential(h, eps, sigma):
    """Flow time to reach the last intermediate saddle ``{1..r-1}`` and dwell there: ten times the aligned escape
    time of mode ``r - 1`` plus ``40 / sigma_{r-1}`` (runs stop earlier once the loss falls below 1e-10)."""
    positive = sorted((s for s in sigma if s > 0), reverse=True)
    s = positive[max(0, len(positive) - 2)]
    return 10.0 * theory.escape_time(min(eps, 0.5 * (s / 2) ** (1 / h)), s, h) + 40.0 / s


def _sequential_task(definition, key):
    i, j, k, lo, hi = key
    h = definition["depths"][i]
    sigma = definition["spectra"][j]
    net = network_for(h, sigma)
    eps = definition["scales"][k]
    W0 = initial_batch(net, definition["init"], eps, definition["seeds"][lo:hi])
    res = sequential_runs(net, W0, _t_end_sequential(h, eps, sigma), n_points=definition["n_points"])
    return {"sequential": res["sequential"], "complete": res["complete"], "route": res["route"]}


def aligned_is_sequential(h, sigma, eps, n_points=400):
    """Does the aligned balanced start ``w_i = eps`` on every mode (closed-form, decoupled dynamics) learn sequentially?"""
    net = network_for(h, sigma)
    W0 = initial_batch(net, "aligned", eps, [0])
    return bool(sequential_runs(net, W0, _t_end_sequential(h, eps, sigma), n_points=n_points, rtol=1e-10,
                                method="dopri5")["sequential"][0])


def predicted_threshold(h, sigma, lo=1e-8, hi=1.0, n_points=400, iterations=20):
    """Largest scale at which the aligned balanced start still visits every intermediate saddle (bisection in ln eps)."""
    if not aligned_is_sequential(h, sigma, lo, n_points):
        return np.nan
    if aligned_is_sequential(h, sigma, hi, n_points):
        return hi
    a, b = np.log(lo), np.log(hi)
    for _ in range(iterations):
        m = 0.5 * (a + b)
        if aligned_is_sequential(h, sigma, float(np.exp(m)), n_points):
            a = m
        else:
            b = m
    return float(np.exp(0.5 * (a + b)))


def half_crossing(scales, fraction):
    """The scale where the fraction first falls through 1/2 (linear in ln eps), NaN if it never does."""
    x = np.log(np.asarray(scales, float))
    f = np.asarray(fraction, float)
    for k in range(len(f) - 1):
        if f[k] >= 0.5 > f[k + 1]:
            return float(np.exp(x[k] + (f[k] - 0.5) / (f[k] - f[k + 1]) * (x[k + 1] - x[k])))
    return np.nan


def _bootstrap_threshold(scales, seq, level, rng, n_boot=2000):
    """Percentile bootstrap over seeds of the half-crossing scale; ``seq`` is (scale, seed) bool."""
    n = seq.shape[1]
    est = half_crossing(scales, seq.mean(axis=1))
    idx = rng.integers(0, n, size=(n_boot, n))
    boots = np.array([half_crossing(scales, seq[:, ix].mean(axis=1)) for ix in idx])
    boots = boots[np.isfinite(boots)]
    if boots.size < n_boot // 2:
        return est, np.nan, np.nan
    lo, hi = np.quantile(np.log(boots), [0.5 - level / 2, 0.5 + level / 2])
    return est, float(np.exp(lo)), float(np.exp(hi))


def sequential_threshold(depths=None, spectra=None, scales=None, seeds=None, *, init="gaussian", size="default",
                         level=0.95, n_points=400, min_scale_deep=1e-3, chunk_size=4, directory=None, scheduler=None, client=None,
                         n_workers=None, processes=True, connect_timeout=10.0, progress=None, predict=True):
    """Fraction of runs that learn sequentially, against the initial scale and the spectral gap, per depth.

    A run is **sequential** when its itinerary (:func:`landscape.itinerary`, documented
    defaults) visits every intermediate saddle ``{1}, {1,2}, ..., {1..r-1}``. The
    **transition** is the scale where half the runs are sequential (linear interpolation
    of the fraction in ``ln eps``), with a percentile bootstrap interval over seeds. The
    **prediction** is the transition of the aligned balanced start ``w_i = eps`` (whose
    modes follow the closed forms of spec 6.2 exactly) under the same visit definition,
    found by bisection. Theory (Gissin et al., ICLR 2020; from the half-learning times of
    :mod:`landscape.experiments.theory`): the modes' escape times differ by
    ``ln(1/eps) (1/sigma_2 - 1/sigma_1)`` at depth 2, so sequential learning needs an
    exponentially small scale ``ln(1/eps) ~ sigma_1 sigma_2 / (sigma_1 - sigma_2)``; at
    depth ``h >= 3`` they differ by ``eps^{-(h-2)} (1/sigma_2 - 1/sigma_1) / (h-2)``, so a
    polynomially small one suffices.

    Parameters
    ----------
    depths : sequence of int, optional
    spectra : sequence of sequence of float, optional
        Target singular values, one network per spectrum (widths ``(n,) * (h+1)``);
        ``gap`` is ``min_k sigma_k / sigma_{k+1}``.
    scales : sequence of float, optional
        Default ``n_scales`` log-spaced in ``[1e-6, 1]``.
    seeds : int or sequence of int, optional
    init : {"gaussian", "balanced", "orthogonal", "aligned"}, default="gaussian"
    size : {"small", "default", "large"}, default="default"
    level : float, default=0.95
    n_points : int, default=400
        Log-spaced output times of each run (the itinerary's resolution).
    min_scale_deep : float, default=1e-3
        At depth ``h >= 3`` only scales from this one up are run (``sequential_fraction``
        is NaN and ``route`` ``"not_run"`` below it): the transition lies at polynomially
        small scales there, and below it the plateaus at learnt saddles last
        ``~eps^{-(h-2)}`` while stiff (the learnt modes relax at rate ``~h sigma^{2-2/h}``),
        so explicit integrators need ``~eps^{-(h-2)}`` steps per run.
    predict : bool, default=True
        Compute ``predicted_threshold`` (a bisection of aligned runs in this process).

    Returns
    -------
    xarray.Dataset
        Kind ``"sequential_threshold"``: ``sequential``, ``complete``, ``route`` (depth,
        spectrum, scale, seed); ``sequential_fraction (depth, spectrum, scale)``;
        ``threshold``, ``predicted_threshold`` (depth, spectrum); ``threshold_ci (depth,
        spectrum, bound)``; ``sigma (spectrum, mode)``, ``gap (spectrum)``.
    """
    import xarray as xr

    preset = _size("sequential_threshold", size)
    depths = _depths(preset["depths"] if depths is None else depths)
    spectra = [tuple(float(s) for s in sp) for sp in (preset["spectra"] if spectra is None else spectra)]
    if not spectra or len({len(sp) for sp in spectra}) != 1 or len(spectra[0]) < 2:
        raise LabError(f"spectra must hold spectra of one common length >= 2; got {spectra}.")
    for sp in spectra:
        if any(a < b for a, b in zip(sp, sp[1:])) or min(sp) <= 0:
            raise LabError(f"each spectrum must be positive and in decreasing order (the gap is sigma_k/sigma_(k+1) and "
                           f"a sequential route learns sigma_1 first); got {sp}.")
    scales = list(np.geomspace(1e-6, 1.0, preset["n_scales"])) if scales is None else [float(s) for s in scales]
    seeds = _seeds(preset["seeds"] if seeds is None else seeds)
    init = _inits([init])[0]
    definition = {"depths": depths, "spectra": [list(sp) for sp in spectra], "scales": [float(x) for x in scales],
                  "seeds": seeds, "init": init, "n_points": int(n_points)}
    min_scale_deep = float(min_scale_deep)
    run_scale = [[k for k, e in enumerate(scales) if h == 2 or e >= min_scale_deep] for h in depths]
    keys = [(i, j, k, lo, hi) for i in range(len(depths)) for j in range(len(spectra)) for k in run_scale[i]
            for lo, hi in _chunks(len(seeds), check_int(chunk_size, name="chunk_size", minimum=1))]
    definition["min_scale_deep"] = min_scale_deep
    results, info = run_tasks("sequential_threshold", definition, keys, _sequential_task, directory=directory,
                              scheduler=scheduler, client=client, n_workers=n_workers, processes=processes,
                              connect_timeout=connect_timeout, progress=progress,
                              order=lambda key: (-depths[key[0]], scales[key[2]], key))
    shape = (len(depths), len(spectra), len(scales), len(seeds))
    seq = np.zeros(shape, bool)
    complete = np.zeros(shape, bool)
    route = np.full(shape, "not_run", dtype=object)
    computed = np.zeros(shape[:3], bool)
    for (i, j, k, lo, hi), res in results.items():
        seq[i, j, k, lo:hi] = res["sequential"]
        complete[i, j, k, lo:hi] = res["complete"]
        route[i, j, k, lo:hi] = res["route"]
        computed[i, j, k] = True
    frac = np.where(computed, seq.mean(axis=-1), np.nan)
    rng = np.random.default_rng(0)
    thr = np.full(shape[:2], np.nan)
    ci = np.full(shape[:2] + (2,), np.nan)
    pred = np.full(shape[:2], np.nan)
    for i, h in enumerate(depths):
        for j, sp in enumerate(spectra):
            ks = run_scale[i]
            if len(ks) >= 2:
                thr[i, j], ci[i, j, 0], ci[i, j, 1] = _bootstrap_threshold(np.asarray(scales)[ks], seq[i, j][ks], level,
                                                                          rng)
            if predict and ks:
                pred[i, j] = predicted_threshold(h, sp, lo=scales[ks[0]], hi=scales[ks[-1]], n_points=n_points)
    sig = np.array(spectra)
    gap = np.array([min(sp[k] / sp[k + 1] if sp[k + 1] > 0 else np.inf for k in range(len(sp) - 1)) for sp in spectra])
    ds = xr.Dataset(
        {"sequential": (("depth", "spectrum", "scale", "seed"), seq),
         "complete": (("depth", "spectrum", "scale", "seed"), complete),
         "route": (("depth", "spectrum", "scale", "seed"), route.astype(str)),
         "sequential_fraction": (("depth", "spectrum", "scale"), frac),
         "threshold": (("depth", "spectrum"), thr),
         "threshold_ci": (("depth", "spectrum", "bound"), ci),
         "predicted_threshold": (("depth", "spectrum"), pred),
         "sigma": (("spectrum", "mode"), sig),
         "gap": (("spectrum",), gap)},
        coords={"depth": np.asarray(depths, dtype=np.int64), "spectrum": np.arange(len(spectra)),
                "mode": np.arange(1, sig.shape[1] + 1), "scale": np.asarray(scales), "seed": np.asarray(seeds, np.int64),
                "bound": BOUNDS})
    ds.attrs.update({"landscape_kind": "sequential_threshold", "study": "sequential_threshold", "init": init,
                     "level": float(level), "n_points": int(n_points),
                     "sequential_definition": "the itinerary (ls.itinerary defaults) visits every intermediate saddle "
                                              + ", ".join(intermediate_subsets(network_for(2, spectra[0]))),
                     "threshold_method": "scale where the sequential fraction falls through 1/2 (linear in ln eps); "
                                         "percentile bootstrap over seeds (2000 resamples)",
                     "prediction_method": "transition of the aligned balanced start (closed-form decoupled modes) "
                                          "under the same definition, by bisection in ln eps",
                     "definition": json.dumps(definition),
                     **_common(info, int(computed.sum()) * len(seeds), info["wall_time"])})
    return _finish(ds)


# -------------------------------------------------------------------------------------------- almost every start
def _every_task(definition, key):
    i, j, lo, hi = key
    h = definition["depths"][i]
    net = network_for(h, definition["sigma"])
    init = definition["inits"][j]
    W0 = initial_batch(net, init, definition["scale"], definition["seeds"][lo:hi])
    res = final_states(net, W0, definition["t_end"], loss_tol=definition["loss_tol"])
    P0 = W0[0]
    for w in W0[1:]:
        P0 = w @ P0
    det_sign = np.sign(np.linalg.det(P0)) if P0.shape[-1] == P0.shape[-2] else np.zeros(P0.shape[0])
    conserved = np.full((hi - lo, max(definition["depths"]) - 1), np.nan)
    conserved[:, : res["conserved"].shape[1]] = res["conserved"]
    return {**{k: res[k] for k in ("loss_final", "gradient_norm", "t_final", "converged", "subset")},
            "conserved": conserved, "det_sign": det_sign}


def _wilson(k, n, level):
    from scipy import stats

    if n == 0:
        return np.nan, np.nan
    z = float(stats.norm.ppf(0.5 + level / 2))
    p = k / n
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    w = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, c - w), min(1.0, c + w)


#: log10 bin edges of the final-loss histogram (losses below 1e-30 counted in the first bin)
LOSS_EDGES = np.arange(-30.0, 3.0, 1.0)


def almost_every_start(depths=None, inits=None, seeds=None, *, sigma=(3.0, 2.0, 1.0), scale=1.0, t_end=2000.0,
                       loss_tol=1e-10, size="default", level=0.95, chunk_size=250, directory=None, scheduler=None,
                       client=None, n_workers=None, processes=True, connect_timeout=10.0, progress=None):
    """Fraction of random starts that converge to a global minimum (spec 9, question 2), at depths h >= 3.

    Each run is integrated until its loss is within ``loss_tol`` of the global minimum
    ``L*`` (**converged**) or until ``t_end`` (**stalled**). For stalled runs the nearest
    critical set ``S`` of the final ``P`` and the conserved ``||C_i||_F`` are kept: the
    saddles where runs stall, and the conserved quantities that label their fibres.
    ``converged_ci`` is the Wilson score interval.

    **Prediction.** Generic starts (``gaussian``) are predicted to converge (the
    conjecture of spec 9.2). The ``balanced`` and ``orthogonal`` distributions are
    0-balanced (``C_i = 0``), a set of measure zero on which the singular values of
    ``P`` obey ``d s_r/dt = h s_r^{2-2/h} <Sigma - P, u_r v_r^T>`` (spec 6.3) and never
    cross zero: ``det P`` keeps its sign, so with a square, full-rank ``Sigma`` a start
    with ``det P(0) < 0`` cannot reach a global minimum (it ends at the saddle that drops
    the weakest mode). ``predicted_converged`` is ``det P(0) > 0`` there.

    Parameters
    ----------
    depths : sequence of int, optional
        Default (3, 4).
    inits : sequence of {"gaussian", "orthogonal", "balanced", "aligned"}, optional
        Distributions of the starts (``landscape.init`` at ``scale``, ``rng=seed``).
    seeds : int or sequence of int, optional
        Starts per (depth, init): 1,000 by default, 17,000 with ``size="large"``.
    sigma : sequence of float, default=(3, 2, 1)
    scale : float, default=1.0
    t_end : float, default=2000
    loss_tol : float, default=1e-10

    Returns
    -------
    xarray.Dataset
        Kind ``"almost_every_start"``: ``loss_final``, ``gradient_norm``, ``t_final``,
        ``converged``, ``final_subset``, ``det_sign`` (of ``P(0)``), ``predicted_converged``
        (depth, init, seed); ``predicted_fraction (depth, init)``; ``conserved (depth, init,
        seed, hidden)``; ``converged_fraction (depth, init)``, ``converged_ci (depth, init,
        bound)``; ``loss_histogram (depth, init, loss_bin)`` over log10 of the final loss;
        the stalled runs on dimension ``stall``: ``stall_depth``, ``stall_init``,
        ``stall_seed``, ``stall_subset``, ``stall_loss``, ``stall_gradient_norm``,
        ``stall_conserved (stall, hidden)``.
    """
    import xarray as xr

    preset = _size("almost_every_start", size)
    depths = _depths(preset["depths"] if depths is None else depths)
    inits = _inits(preset["inits"] if inits is None else inits)
    seeds = _seeds(preset["seeds"] if seeds is None else seeds)
    sigma = [float(s) for s in sigma]
    definition = {"depths": depths, "inits": inits, "seeds": seeds, "sigma": sigma, "scale": float(scale),
                  "t_end": float(t_end), "loss_tol": float(loss_tol)}
    keys = [(i, j, lo, hi) for i in range(len(depths)) for j in range(len(inits))
            for lo, hi in _chunks(len(seeds), check_int(chunk_size, name="chunk_size", minimum=1))]
    results, info = run_tasks("almost_every_start", definition, keys, _every_task, directory=directory,
                              scheduler=scheduler, client=client, n_workers=n_workers, processes=processes,
                              connect_timeout=connect_timeout, progress=progress, order=lambda key: (-depths[key[0]], key))
    shape = (len(depths), len(inits), len(seeds))
    nh = max(depths) - 1
    arrays = {name: np.full(shape, np.nan) for name in ("loss_final", "gradient_norm", "t_final")}
    converged = np.zeros(shape, bool)
    subset = np.full(shape, "", dtype=object)
    conserved = np.full(shape + (nh,), np.nan)
    det_sign = np.zeros(shape)
    for (i, j, lo, hi), res in results.items():
        det_sign[i, j, lo:hi] = res["det_sign"]
        for name in arrays:
            arrays[name][i, j, lo:hi] = res[name]
        converged[i, j, lo:hi] = res["converged"]
        subset[i, j, lo:hi] = res["subset"]
        conserved[i, j, lo:hi] = res["conserved"]
    frac = converged.mean(axis=-1)
    # 0-balanced starts (C_i = 0) keep the sign of det P (its singular values never cross 0), so for a square full-rank
    # Sigma (det > 0) only those with det P(0) > 0 can reach a global minimum; every other start is predicted to
    zero_balanced = np.array([name in ("balanced", "orthogonal", "aligned") for name in inits])
    square = len(sigma) == int(network_for(depths[0], sigma).widths[0]) and min(sigma) > 0
    predicted = np.where(zero_balanced[None, :, None] & square, det_sign > 0, True)
    ci = np.array([[_wilson(int(converged[i, j].sum()), len(seeds), level) for j in range(len(inits))]
                   for i in range(len(depths))])
    logs = np.log10(np.maximum(arrays["loss_final"], 10.0 ** LOSS_EDGES[0]))
    hist = np.array([[np.histogram(logs[i, j], bins=LOSS_EDGES)[0] for j in range(len(inits))]
                     for i in range(len(depths))])
    st = np.argwhere(~converged)
    ds = xr.Dataset(
        {**{name: (("depth", "init", "seed"), v) for name, v in arrays.items()},
         "converged": (("depth", "init", "seed"), converged),
         "final_subset": (("depth", "init", "seed"), subset.astype(str)),
         "conserved": (("depth", "init", "seed", "hidden"), conserved),
         "converged_fraction": (("depth", "init"), frac),
         "det_sign": (("depth", "init", "seed"), det_sign.astype(np.int64)),
         "predicted_converged": (("depth", "init", "seed"), predicted),
         "predicted_fraction": (("depth", "init"), predicted.mean(axis=-1)),
         "converged_ci": (("depth", "init", "bound"), ci),
         "loss_histogram": (("depth", "init", "loss_bin"), hist.astype(np.int64)),
         "stall_depth": (("stall",), np.asarray([depths[i] for i, _, _ in st], dtype=np.int64)),
         "stall_init": (("stall",), np.asarray([inits[j] for _, j, _ in st], dtype=str)),
         "stall_seed": (("stall",), np.asarray([seeds[b] for _, _, b in st], dtype=np.int64)),
         "stall_subset": (("stall",), np.asarray([subset[i, j, b] for i, j, b in st], dtype=str)),
         "stall_loss": (("stall",), np.asarray([arrays["loss_final"][i, j, b] for i, j, b in st], dtype=float)),
         "stall_gradient_norm": (("stall",), np.asarray([arrays["gradient_norm"][i, j, b] for i, j, b in st],
                                                        dtype=float)),
         "stall_conserved": (("stall", "hidden"), np.asarray([conserved[i, j, b] for i, j, b in st],
                                                             dtype=float).reshape(len(st), nh))},
        coords={"depth": np.asarray(depths, dtype=np.int64), "init": np.array(inits, dtype=str),
                "seed": np.asarray(seeds, np.int64), "hidden": np.arange(1, nh + 1),
                "loss_bin": 0.5 * (LOSS_EDGES[1:] + LOSS_EDGES[:-1]), "bound": BOUNDS})
    ds.attrs.update({"landscape_kind": "almost_every_start", "study": "almost_every_start", "sigma": np.asarray(sigma),
                     "scale": float(scale), "t_end": float(t_end), "loss_tol": float(loss_tol), "level": float(level),
                     "interval_method": "Wilson score interval of the converged fraction",
                     "definition": json.dumps(definition), **_common(info, int(np.prod(shape)), info["wall_time"])})
    return _finish(ds)


#: name -> study function
STUDIES = {"plateau_scaling": plateau_scaling, "sequential_threshold": sequential_threshold,
           "almost_every_start": almost_every_start}


def study(name, **options):
    """Run the study called ``name`` (one of :data:`STUDIES`) with ``options``."""
    if name not in STUDIES:
        raise LabError(f"NAME must be one of {', '.join(STUDIES)}; got {name!r}.")
    return STUDIES[name](**options)
