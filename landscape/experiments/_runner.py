"""Run the tasks of a study on dask, one file per task, with resume (as :func:`landscape.sweep`).

A study is a JSON definition and a list of task keys. Each task runs on a worker
(``compute(definition, key)`` returns a dict of numpy arrays), is written atomically as
``task-<key>.npz`` into the study's folder next to ``lab.json`` (the study's name and the
digest of its definition), and is reused when the same study runs again with the same
folder: an interrupted study resumes without recomputing, and a folder written by
another definition is refused.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from .._atomic import atomic_write
from ..errors import LandscapeValueError

__all__ = ["LabError", "run_tasks"]


class LabError(LandscapeValueError):
    """A study cannot run: unknown name, unreachable or malformed scheduler address, foreign resume folder."""


def digest(definition) -> str:
    return hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()[:16]


def _task_name(key):
    return "task-" + "-".join(f"{int(k):05d}" for k in key) + ".npz"


def _run_task(compute, definition, key, path):
    """Worker entry: compute one task and write it atomically; returns ``(key, result)``."""
    try:  # one thread per worker process: the cluster provides the parallelism
        import numba

        numba.set_num_threads(1)
    except Exception:  # noqa: BLE001 - numba is optional
        pass
    result = compute(definition, key)
    arrays = {name: np.asarray(v) for name, v in result.items()}
    atomic_write(Path(path), lambda tmp: np.savez(open(tmp, "wb"), **arrays))
    return tuple(key), arrays


def _read(path):
    with np.load(path, allow_pickle=False) as f:
        return {name: f[name] for name in f.files}


def run_tasks(study, definition, keys, compute, *, directory=None, scheduler=None, client=None, n_workers=None,
              processes=True, connect_timeout=10.0, progress=None, order=None):
    """Compute (or reuse) every task of a study; return ``(results, info)``.

    Parameters
    ----------
    study : str
    definition : dict
        JSON-serialisable; its digest identifies the study's folder.
    keys : list of tuple of int
    compute : callable
        A module-level function ``compute(definition, key) -> dict of arrays`` (sent to workers).
    directory : str or os.PathLike, optional
        Folder of the task files (default: a new temporary folder, no resume).
    scheduler, client, n_workers, processes, connect_timeout
        As for :func:`landscape.sweep`.
    progress : bool, optional
        Progress bar over tasks (default shown).
    order : callable, optional
        Sort key of the tasks to submit (slow ones first balance the workers).

    Returns
    -------
    results : dict of key -> dict of ndarray
    info : dict
        ``computed``, ``reused``, ``wall_time``, ``digest``, ``directory``.
    """
    from tqdm.auto import tqdm


    key_digest = digest({"study": study, "definition": definition})
    directory = Path(tempfile.mkdtemp(prefix=f"landscape-{study}-")) if directory is None else Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    meta = directory / "lab.json"
    if meta.exists():
        old = json.loads(meta.read_text())
        if old.get("digest") != key_digest:
            raise LabError(f"directory {str(directory)!r} holds another study ({old.get('study')!r}, digest "
                           f"{old.get('digest')}; this one is {study!r}, digest {key_digest}); refusing to mix "
                           f"results. Use a new directory.")
    else:
        text = json.dumps({"study": study, "digest": key_digest, "definition": definition}, indent=1)
        atomic_write(meta, lambda tmp: Path(tmp).write_text(text))
    results = {}
    for key in keys:
        path = directory / _task_name(key)
        if path.is_file():
            try:
                results[tuple(key)] = _read(path)
            except (OSError, ValueError, EOFError):  # a damaged file is recomputed
                pass
    reused = len(results)
    todo = [tuple(k) for k in keys if tuple(k) not in results]
    if order is not None:
        todo.sort(key=order)
    start = time.perf_counter()  # reset once the cluster is up: wall_time counts the tasks, not the start-up
    if todo:
        from distributed import as_completed

        from ..sweeps._sweep import dask_session

        with dask_session(client, scheduler, n_workers, processes, connect_timeout, error=LabError) as session:
            start = time.perf_counter()
            futures = [session.submit(_run_task, compute, definition, key, str(directory / _task_name(key)), pure=False)
                       for key in todo]
            with tqdm(total=len(keys), initial=reused, disable=progress is False, desc=study, unit="task") as bar:
                for fut in as_completed(futures):
                    key, res = fut.result()
                    results[tuple(key)] = res
                    bar.update(1)
    info = {"computed": len(todo), "reused": reused, "wall_time": time.perf_counter() - start, "digest": key_digest,
            "directory": str(directory)}
    return results, info
