"""Atomic local moves and writes: a reader of the target folder never sees a partial file."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def atomic_move(source: Path, target: Path) -> Path:
    """Move ``source`` to ``target`` so that ``target`` appears complete or not at all.

    On one filesystem this is a single ``os.replace``. Across filesystems the data is copied to
    a hidden temporary file in the target folder, flushed, renamed onto ``target`` and only then
    is ``source`` removed (a crash in between leaves both copies, never a partial one).

    Parameters
    ----------
    source
        Existing regular file.
    target
        Destination path (its folder is created); an existing file there is replaced.

    Returns
    -------
    pathlib.Path
        ``target``.
    """
    source, target = Path(source), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, target)
        return target
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        shutil.copystat(source, temp_name)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    source.unlink()
    return target


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a hidden temporary file and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path
