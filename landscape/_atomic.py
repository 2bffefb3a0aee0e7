"""Atomic file writes: write to a temporary file in the target's folder, then rename.

Every file landscape writes (netCDF, PNG, HTML, meshes, sweep chunks) goes through
:func:`atomic_write`, which

- never leaves a half-written file where a good one was (temporary file, then one rename);
- gives the file the mode the user's umask asks for (``0o666 & ~umask``, e.g. ``0o644``),
  as ``open()`` would: a report folder can be shared or served as it is;
- stamps PNG, HTML, JavaScript and VTK XML files as written by landscape (a PNG ``tEXt``
  chunk with keyword ``landscape``; a comment ``<!-- written by landscape ... -->`` after
  an HTML page or a ``.vtp``/``.vtu``/... file; ``/* written by landscape ... */`` after a
  ``.js`` file), so that :func:`is_landscape_output` can tell them from a user's own
  files. A netCDF file is recognised by its attributes instead (``landscape_kind`` one of
  :data:`landscape.io._schema.KINDS`, and ``landscape_format``);
- hands the writer a temporary file whose suffix is the target's in lower case, so a
  writer that picks its format by suffix (pyvista, matplotlib) writes ``X.PNG`` as a PNG.
"""

from __future__ import annotations

import os
import secrets
import struct
import zlib
from pathlib import Path

__all__ = ["atomic_write", "is_landscape_output", "PNG_KEYWORD", "HTML_STAMP", "JS_STAMP"]

#: keyword of the PNG ``tEXt`` chunk that marks a picture written by landscape
PNG_KEYWORD = b"landscape"
#: start of the HTML comment that marks a page written by landscape
HTML_STAMP = "<!-- written by landscape"

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HTML_SUFFIXES = (".html", ".htm")
#: VTK XML formats: an XML comment after the root element is valid and ignored by readers
_VTK_XML_SUFFIXES = (".vtp", ".vtu", ".vti", ".vts", ".vtr", ".vtm")
_JS_SUFFIXES = (".js",)
JS_STAMP = "/* written by landscape"


def _version() -> str:
    from ._version import __version__

    return __version__


def _new_file(folder: Path, name: str, suffix: str) -> tuple[str, int]:
    """Create an empty, unique temporary file in ``folder`` with mode ``0o666 & ~umask``.

    ``os.open(..., 0o666)`` lets the kernel apply the umask, as for any new file (unlike
    :func:`tempfile.mkstemp`, which always gives ``0o600``); the mode it produced is
    returned so that it can be restored if a writer recreates the file.
    """
    for _ in range(100):
        tmp = os.path.join(folder, f".{name}.{secrets.token_hex(4)}{suffix}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        try:
            mode = os.fstat(fd).st_mode & 0o777
        finally:
            os.close(fd)
        return tmp, mode
    raise FileExistsError(f"could not create a temporary file next to {name!r} in {str(folder)!r}.")


def _stamp_png(tmp: str) -> None:
    """Insert a ``tEXt`` chunk ``landscape = landscape <version>`` right after IHDR."""
    with open(tmp, "rb") as fh:
        data = fh.read()
    if not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return  # not a PNG (a writer chose another format): leave it alone
    end_ihdr = 8 + 12 + struct.unpack(">I", data[8:12])[0]
    body = b"tEXt" + PNG_KEYWORD + b"\0" + f"landscape {_version()}".encode("latin-1")
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    with open(tmp, "wb") as fh:
        fh.write(data[:end_ihdr] + chunk + data[end_ihdr:])


def _stamp_html(tmp: str) -> None:
    """Append ``<!-- written by landscape <version> -->`` (HTML pages and VTK XML files)."""
    with open(tmp, "a", encoding="utf-8") as fh:
        fh.write(f"\n{HTML_STAMP} {_version()} -->\n")


def _stamp_js(tmp: str) -> None:
    with open(tmp, "a", encoding="utf-8") as fh:
        fh.write(f"\n{JS_STAMP} {_version()} */\n")


def _stamp(tmp: str, suffix: str) -> None:
    """Mark ``tmp`` (to become a file with ``suffix``, lower case) as written by landscape."""
    if suffix == ".png":
        _stamp_png(tmp)
    elif suffix in _HTML_SUFFIXES:
        _stamp_html(tmp)
    elif suffix in _VTK_XML_SUFFIXES:
        with open(tmp, "rb") as fh:
            xml = fh.read(5) == b"<?xml"
        if xml:  # a legacy or binary writer's output is left alone
            _stamp_html(tmp)
    elif suffix in _JS_SUFFIXES:
        _stamp_js(tmp)


def atomic_write(path, write, *, suffix=None, stamp=True) -> Path:
    """Call ``write(tmp_path)``, then move ``tmp_path`` over ``path`` in one rename.

    An interrupted write (exception, Ctrl-C) removes the temporary file and leaves any
    previous ``path`` untouched: a half-written file never appears where a good one was.
    The file gets the mode ``0o666 & ~umask`` (what ``open()`` gives a new file), whether
    ``write`` filled the temporary file or replaced it.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its folder must exist.
    write : callable
        ``write(tmp_path)`` writes the whole content to ``tmp_path`` (a ``str``; the file
        exists, empty).
    suffix : str, optional
        Suffix of the temporary file (default: that of ``path`` in lower case), for
        writers that choose a format by it.
    stamp : bool, default=True
        Mark a ``.png``, ``.html``, ``.js`` or VTK XML file as written by landscape (see
        the module docstring); other suffixes are never changed.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    tmp, mode = _new_file(folder, path.name, path.suffix.lower() if suffix is None else suffix)
    try:
        write(tmp)
        if stamp:
            _stamp(tmp, path.suffix.lower())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _png_stamped(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if not head.startswith(_PNG_SIGNATURE):
        return False
    pos = 8
    while pos + 8 <= len(head):
        length = struct.unpack(">I", head[pos : pos + 4])[0]
        kind = head[pos + 4 : pos + 8]
        if kind in (b"IDAT", b"IEND"):
            return False
        if kind == b"tEXt" and head[pos + 8 : pos + 8 + length].split(b"\0", 1)[0] == PNG_KEYWORD:
            return True
        pos += 12 + length
    return False


def _tail_stamped(path: Path, stamp: str) -> bool:
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - 512))
        tail = fh.read()
    return stamp.encode() in tail


def _text_attr(attrs, key):
    value = attrs.get(key)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def _netcdf_written_by_landscape(path: Path) -> bool:
    """A netCDF4/HDF5 file whose ``landscape_kind`` is a known kind and that has ``landscape_format``."""
    import h5py

    from .io._schema import KINDS

    try:
        with h5py.File(path, "r") as fh:
            kind = _text_attr(fh.attrs, "landscape_kind")
            version = _text_attr(fh.attrs, "landscape_format")
    except OSError:  # not HDF5
        return False
    return kind in KINDS and bool(version)


def is_landscape_output(path) -> bool:
    """True if ``path`` is a file landscape wrote, which it may therefore replace.

    A ``.nc`` file counts if it is netCDF4/HDF5 whose global attribute ``landscape_kind``
    is one of :data:`landscape.io._schema.KINDS` and which has ``landscape_format`` (what
    :func:`landscape.save` always writes); a ``.png``, ``.html``, ``.js`` or VTK XML file
    if it carries landscape's stamp (see the module docstring). The suffix counts in any
    case (``X.PNG``). Any other file, and any unreadable one, does not.
    """
    path = Path(path)
    if not path.is_file():
        return False
    suffix = path.suffix.lower()
    try:
        if suffix == ".nc":
            return _netcdf_written_by_landscape(path)
        if suffix == ".png":
            return _png_stamped(path)
        if suffix in _HTML_SUFFIXES + _VTK_XML_SUFFIXES:
            return _tail_stamped(path, HTML_STAMP)
        if suffix in _JS_SUFFIXES:
            return _tail_stamped(path, JS_STAMP)
    except OSError:
        return False
    return False
