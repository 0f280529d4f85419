"""Atomic file output for the kernel builder: write next to the target, then ``os.replace``."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A fresh, not yet existing temporary path next to ``target``, renamed onto it on success.

    SPICE writers (``spkopn``, ``ckopn``) refuse existing files, so the temporary *name* is
    reserved and then freed before it is handed out. The file keeps ``target``'s suffix (SPICE
    does not need it, but tools that look at it do). On error the temporary file is removed and
    ``target`` is left as it was.

    Parameters
    ----------
    target
        Final path; its folder is created if needed.

    Yields
    ------
    pathlib.Path
        Path to write to.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent)
    os.close(handle)
    temp = Path(name)
    temp.unlink()
    try:
        yield temp
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def write_bytes_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_path(target) as temp:
        temp.write_bytes(data)


def write_text_atomic(target: Path, text: str, encoding: str = "ascii") -> None:
    """Write ``text`` (``\\n`` line ends) to ``target`` atomically.

    SPICE text kernels must be plain ASCII, hence the default ``encoding``; a non-ASCII character
    raises :class:`UnicodeEncodeError` before anything is written.
    """
    write_bytes_atomic(target, text.encode(encoding))
