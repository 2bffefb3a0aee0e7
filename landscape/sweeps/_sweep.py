"""Sweeps over networks, initialisations, scales and seeds, executed on dask.distributed.

The grid is cut into chunks (one network, initialisation and scale, a block of seeds);
each chunk is integrated in one batched call on a dask worker and written to its own
netCDF file (atomically) in the sweep directory, next to ``sweep.json`` that records the
definition. Running the same sweep again with the same directory reuses every finished
chunk: a killed sweep resumes without recomputing and nothing finished is lost; a
directory written by a different definition is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .._atomic import atomic_write
from .._validation import check_int, check_positive_float, describe
from .._version import __version__
from ..errors import LandscapeTypeError, LandscapeValueError

__all__ = ["sweep", "SweepError"]

INITS = ("gaussian", "balanced", "identity", "orthogonal")


class SweepError(LandscapeValueError):
    """A sweep cannot run: empty grid, unreachable scheduler, or a foreign resume directory."""


def _networks(networks):
    from ..core import LinearNetwork

    if isinstance(networks, LinearNetwork):
        networks = [networks]
    out = []
    for n in networks:
        if isinstance(n, LinearNetwork):
            out.append(n)
        elif isinstance(n, (tuple, list)) and len(n) == 2:
            out.append(LinearNetwork(*n))
        else:
            raise LandscapeTypeError(f"networks must hold LinearNetwork objects or (widths, sigma) pairs; got {describe(n)}.")
    return out


def _network_key(n):
    """What identifies a network in the digest: widths and sigma (squared loss), or the loss's data."""
    if n.loss_name == "squared":
        return {"widths": list(n.widths), "sigma": [float(x) for x in n.sigma]}
    h = hashlib.sha256(type(n.objective).__name__.encode())
    for key, value in sorted(vars(n.objective).items()):
        if isinstance(value, np.ndarray):
            h.update(key.encode() + np.ascontiguousarray(value, dtype=np.float64).tobytes())
        elif isinstance(value, (int, float, str, tuple)):
            h.update(f"{key}={value!r}".encode())
    return {"widths": list(n.widths), "loss": n.loss_name, "loss_data": h.hexdigest()[:16]}


def _modes(n):
    return min(n.widths[0], n.widths[-1])


def _sigma_label(n):
    return ",".join(f"{x:g}" for x in n.sigma) if n.loss_name == "squared" else ""


def _definition(nets, inits, scales, seeds, options):
    return {
        "networks": [_network_key(n) for n in nets],
        "inits": list(inits), "scales": [float(s) for s in scales], "seeds": [int(s) for s in seeds],
        "options": options, "format": 1,
    }


def _digest(definition):
    return hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()[:16]


def _chunk_ids(definition, chunk_size):
    n_seeds = len(definition["seeds"])
    ids = []
    for i in range(len(definition["networks"])):
        for j in range(len(definition["inits"])):
            for k in range(len(definition["scales"])):
                for lo in range(0, n_seeds, chunk_size):
                    ids.append((i, j, k, lo, min(n_seeds, lo + chunk_size)))
    return ids


def _chunk_name(cid):
    return "chunk-{:03d}-{:02d}-{:03d}-{:05d}.nc".format(*cid[:4])


def _compute_chunk(definition, cid, path, objective=None):
    """Worker task: integrate one chunk, reduce, write ``path`` atomically; returns ``(cid, indicators)``.

    ``objective``: the network's loss object when it is not the quadratic one (its data are
    not in the JSON definition, which holds only their digest).
    """
    import xarray as xr

    from ..core import LinearNetwork
    from ..io import save
    from ..io._schema import FORMAT_VERSION, network_attrs
    from ._indicators import INDICATORS, run_chunk

    try:  # one thread per worker process: the cluster provides the parallelism
        import numba

        numba.set_num_threads(1)
    except Exception:  # noqa: BLE001 - numba is optional
        pass
    i, j, k, lo, hi = cid
    spec = definition["networks"][i]
    net = LinearNetwork(spec["widths"], spec["sigma"]) if objective is None else LinearNetwork(spec["widths"], loss=objective)
    o = definition["options"]
    seeds = definition["seeds"][lo:hi]
    res = run_chunk(net, definition["inits"][j], definition["scales"][k], seeds, o["t_end"], o["method"], o["rtol"],
                    o["atol"], o["loss_below"], o["n_points"], o["plateau_time"], o["plateau_distance"], o["max_stages"])
    data = {name: (("seed", *INDICATORS[name]), res[name]) for name in INDICATORS}
    ds = xr.Dataset(data, coords={"seed": np.asarray(seeds, dtype=np.int64)})
    ds.attrs.update({"landscape_kind": "sweep", "landscape_format": FORMAT_VERSION, "chunk": np.asarray(cid, dtype=np.int64),
                     **network_attrs(net)})
    save(ds, path)  # annotates (long_name, units, status flags) from the one table in landscape.io
    return cid, res


@contextlib.contextmanager
def _main_module_hidden():
    """Worker processes spawned inside this block do not re-run the user's main script.

    multiprocessing's ``spawn`` (dask's default start method) re-imports ``__main__`` in
    every new process so that functions defined there can be unpickled; a script without
    ``if __name__ == "__main__":`` is then run again from the top in each worker (which
    starts a sweep of its own and fails). The sweep's workers only run
    :func:`_compute_chunk`, a landscape function, so the main module is hidden from the
    spawn preparation (``__main__.__file__`` removed and ``__main__.__spec__`` set to
    None, as in an interactive session) while the local cluster lives, and restored after.
    A guarded script's top level is not re-run either.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    names = vars(main)
    saved = {key: names[key] for key in ("__file__", "__spec__") if key in names}
    names.pop("__file__", None)
    names["__spec__"] = None
    try:
        yield
    finally:
        names.pop("__spec__", None)
        names.update(saved)


def _connect(scheduler, n_workers, processes, connect_timeout, error=SweepError):
    """A client of the dask scheduler at ``scheduler``, or of a new local cluster (returned too, to close)."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        if not isinstance(scheduler, str) or not scheduler.strip():
            raise error(f"scheduler must be a dask scheduler address such as 'tcp://10.0.0.5:8786'; got {scheduler!r}.")
        try:
            return Client(scheduler, timeout=f"{connect_timeout}s"), None
        except (OSError, TimeoutError) as exc:
            raise error(f"could not reach the dask scheduler at {scheduler!r} within connect_timeout = "
                        f"{connect_timeout:g} s ({exc}); start one with `dask scheduler` or leave the address out "
                        "for a local cluster.") from exc
        except (ValueError, TypeError) as exc:
            raise error(f"scheduler {scheduler!r} is not a dask scheduler address such as "
                        f"'tcp://10.0.0.5:8786' ({exc}).") from exc
    n = n_workers or os.cpu_count() or 1
    try:
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=processes, dashboard_address=None)
    except RuntimeError as exc:
        raise error(
            f"could not start the local dask worker processes ({str(exc).strip().splitlines()[0]}); pass "
            "processes=False to run the workers as threads in this process."
        ) from exc
    return Client(cluster), cluster


@contextlib.contextmanager
def dask_session(client, scheduler, n_workers, processes, connect_timeout, error=SweepError):
    """Yield ``client``, or a client made here (of ``scheduler`` or a local cluster) and closed on exit.

    Local worker processes made here never re-run the user's main script
    (:func:`_main_module_hidden`). Used by :func:`sweep` and the lab's studies.
    """
    if client is not None:
        yield client
        return
    own = None
    with contextlib.ExitStack() as stack:
        if scheduler is None and processes:
            stack.enter_context(_main_module_hidden())
        client, own = _connect(scheduler, n_workers, processes, connect_timeout, error)
        try:
            yield client
        finally:
            try:
                client.close()
            finally:
                if own is not None:
                    own.close()


def sweep(networks, inits=("gaussian",), scales=(1e-2,), seeds=10, *, t_end=100.0, method="auto", rtol=1e-8,
          atol=1e-10, loss_below=1e-8, n_points=200, plateau_time=1.0, plateau_distance=0.05, chunk_size=50,
          directory=None, scheduler=None, client=None, n_workers=None, processes=True, connect_timeout=10.0,
          progress=None):
    """Integrate a grid of runs on dask and reduce each to summary indicators.

    Parameters
    ----------
    networks : LinearNetwork, or sequence of LinearNetwork or (widths, sigma)
    inits : sequence of {"gaussian", "balanced", "identity", "orthogonal"}, default=("gaussian",)
    scales : sequence of float, default=(1e-2,)
        Initial scales (the ``scale`` of the initialisation).
    seeds : int or sequence of int, default=10
        ``n`` means seeds ``0..n-1``.
    t_end, method, rtol, atol, loss_below, n_points
        Passed to :func:`landscape.gradient_flow` (log-spaced output times; runs stop
        when the loss falls below ``loss_below``).
    plateau_time, plateau_distance : float
        A saddle visit counts as a plateau when the trajectory stays there at least
        ``plateau_time`` and comes within ``plateau_distance`` (relative) of ``Sigma_S``.
    chunk_size : int, default=50
        Seeds per chunk (one batched integration, one file).
    directory : str or os.PathLike, optional
        Where chunks are written. Reusing it resumes the sweep; a directory written by
        another definition is refused. Default: a temporary folder (no resume).
    scheduler : str, optional
        Address of an existing ``dask.distributed`` scheduler (e.g. ``"tcp://10.0.0.5:8786"``).
        Unreachable within ``connect_timeout`` seconds (default 10) -> :class:`SweepError`.
    client : distributed.Client, optional
        An existing client (takes precedence over ``scheduler``).
    n_workers : int, optional
        Workers of the default local cluster (default: the number of cores).
    processes : bool, default=True
        Local cluster with worker processes (True) or threads. The worker processes do
        not re-import the caller's main module, so a script needs no
        ``if __name__ == "__main__":`` guard around the sweep (a ``client`` you make
        yourself follows dask's rule: start its cluster under the guard).
    progress : bool, optional
        Progress bar over chunks (default: shown).

    Returns
    -------
    xarray.Dataset
        Kind ``"sweep"``, dims ``network``, ``init``, ``scale``, ``seed`` (plus ``mode``,
        ``stage``): ``loss_final``, ``t_final``, ``status``, ``n_plateaus``, ``route``,
        ``escape_times``, ``conserved_drift``, ``singular_values``, ``weight_norm``,
        ``balance``, ``sharpness``; attrs ``chunks_computed``, ``chunks_reused``, ``digest``.
    """
    import xarray as xr
    from tqdm.auto import tqdm

    from ..io import load
    from ..io._schema import FORMAT_VERSION, annotate
    from ._indicators import INDICATORS

    nets = _networks(networks)
    inits = list(inits)
    scales = [check_positive_float(s, name="scales[...]", allow_zero=True) for s in scales]
    seeds = list(range(check_int(seeds, name="seeds", minimum=0))) if isinstance(seeds, (int, np.integer)) else [int(s) for s in seeds]
    for label, values in (("networks", nets), ("inits", inits), ("scales", scales), ("seeds", seeds)):
        if len(values) == 0:
            raise SweepError(f"the sweep grid is empty: {label} has no values.")
    for name in inits:
        if name not in INITS:
            raise SweepError(f"inits must be among {list(INITS)}; got {name!r}.")
    chunk_size = check_int(chunk_size, name="chunk_size", minimum=1)
    max_stages = max(_modes(n) for n in nets) + 1
    options = {"t_end": float(t_end), "method": method, "rtol": float(rtol), "atol": float(atol),
               "loss_below": None if loss_below is None else float(loss_below), "n_points": int(n_points),
               "plateau_time": float(plateau_time), "plateau_distance": float(plateau_distance), "max_stages": max_stages}
    definition = _definition(nets, inits, scales, seeds, options)
    digest = _digest(definition)
    directory = Path(tempfile.mkdtemp(prefix="landscape-sweep-")) if directory is None else Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    meta = directory / "sweep.json"
    if meta.exists():
        old = json.loads(meta.read_text())
        if old.get("digest") != digest:
            raise SweepError(
                f"directory {str(directory)!r} holds a different sweep (definition digest {old.get('digest')}, this one "
                f"{digest}); refusing to mix results. Use a new directory."
            )
    else:
        text = json.dumps({"digest": digest, "definition": definition, "chunk_size": chunk_size}, indent=1)
        atomic_write(meta, lambda tmp: Path(tmp).write_text(text))
    ids = _chunk_ids(definition, chunk_size)
    done = {cid for cid in ids if (directory / _chunk_name(cid)).is_file()}
    todo = [cid for cid in ids if cid not in done]
    start = time.perf_counter()
    computed = {}
    if todo:
        from distributed import as_completed

        with dask_session(client, scheduler, n_workers, processes, connect_timeout) as session:
            # small initial scales take longest (plateaus): start them first to balance the workers
            order = sorted(todo, key=lambda c: (definition["scales"][c[2]], c))
            objectives = [None if n.loss_name == "squared" else n.objective for n in nets]
            futures = [session.submit(_compute_chunk, definition, cid, str(directory / _chunk_name(cid)),
                                      objectives[cid[0]], pure=False)
                       for cid in order]
            with tqdm(total=len(ids), initial=len(done), disable=progress is False, desc="sweep", unit="chunk") as bar:
                for fut in as_completed(futures):
                    cid, res = fut.result()
                    computed[tuple(cid)] = res
                    bar.update(1)
    # assemble the grid
    shape = (len(nets), len(inits), len(scales), len(seeds))
    k = max(_modes(n) for n in nets)
    arrays = {}
    for name, extra in INDICATORS.items():
        tail = (k,) if extra == ("mode",) else ((max_stages,) if extra == ("stage",) else ())
        if name in ("status", "route"):
            arrays[name] = np.full(shape + tail, "", dtype=object)
        else:
            arrays[name] = np.full(shape + tail, np.nan)
    for cid in ids:
        i, j, kk, lo, hi = cid
        part = computed.get(cid)
        if part is None:  # a reused chunk: read its file
            loaded = load(directory / _chunk_name(cid))
            part = {name: loaded[name].values for name in INDICATORS}
        for name in INDICATORS:
            v = np.asarray(part[name])
            if name == "singular_values":
                arrays[name][i, j, kk, lo:hi, : v.shape[1]] = v
            else:
                arrays[name][i, j, kk, lo:hi] = v
    data = {}
    for name, extra in INDICATORS.items():
        values = arrays[name].astype(str) if name in ("status", "route") else arrays[name]
        data[name] = (("network", "init", "scale", "seed", *extra), values)
    ds = xr.Dataset(data, coords={"network": np.arange(len(nets)), "init": np.array(inits, dtype=str),
                                  "scale": np.asarray(scales, dtype=float), "seed": np.asarray(seeds, dtype=np.int64),
                                  "mode": np.arange(1, k + 1), "stage": np.arange(max_stages)})
    ds["network_widths"] = (("network",), np.array([",".join(map(str, n.widths)) for n in nets], dtype=str))
    ds["network_sigma"] = (("network",), np.array([_sigma_label(n) for n in nets], dtype=str))
    ds.attrs.update({"landscape_kind": "sweep", "landscape_format": FORMAT_VERSION, "landscape_version": __version__,
                     "digest": digest, "chunks_computed": np.int64(len(todo)), "chunks_reused": np.int64(len(done)),
                     "wall_time": time.perf_counter() - start, "directory": str(directory),
                     "options": json.dumps(options), "network_loss": ",".join(n.loss_name for n in nets)})
    return annotate(ds)  # long_name/units of every variable: the one table in landscape.io
