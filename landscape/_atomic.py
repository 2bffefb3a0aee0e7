"""Atomic file writes: write to a temporary file in the target's folder, then rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(path, write, *, suffix=None) -> Path:
    """Call ``write(tmp_path)``, then move ``tmp_path`` over ``path`` in one rename.

    An interrupted write (exception, Ctrl-C) removes the temporary file and leaves any
    previous ``path`` untouched: a half-written file never appears where a good one was.
    ``suffix`` (default: that of ``path``) keeps writers that choose a format by it happy.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix if suffix is None else suffix, dir=folder)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
