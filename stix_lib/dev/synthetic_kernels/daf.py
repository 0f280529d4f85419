"""Opening SPICE binary (DAF) kernels for writing: atomic path, fixed internal name and comments.

A DAF file records no creation time; its bytes depend only on the internal file name, the comment
area and the segments, so writing the same inputs gives the same file (checked by the tests).
Writing needs no kernels loaded: SPK/CK writers only take built-in frame names (``J2000``) and
encoded SCLK values computed by the caller.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import spiceypy

from stix_lib.atomic import atomic_path

#: Longest internal file name of a DAF.
MAX_INTERNAL_NAME = 60
#: Longest comment line written (the DAF comment area takes lines up to 1000 characters).
MAX_COMMENT_LINE = 78


def comment_lines(text: str) -> list[str]:
    """Comment text as DAF comment lines: long lines wrapped at :data:`MAX_COMMENT_LINE` characters.

    Raises
    ------
    ValueError
        If the text is not printable ASCII.
    """
    lines: list[str] = []
    for line in text.rstrip("\n").split("\n"):
        if not all(32 <= ord(ch) < 127 for ch in line):
            raise ValueError(f"DAF comments must be printable ASCII: {line!r}")
        indent = line[: len(line) - len(line.lstrip())]
        lines += textwrap.wrap(line, MAX_COMMENT_LINE, subsequent_indent=indent) or [" "]
    return lines


@contextmanager
def open_daf(target: Path, opener: Callable[[str, str, int], int], internal_name: str, comments: str) -> Iterator[int]:
    """Create a DAF kernel atomically and yield its SPICE handle.

    Parameters
    ----------
    target
        Final file path (replaced only when the block finishes without error).
    opener
        ``spiceypy.spkopn`` or ``spiceypy.ckopn``.
    internal_name
        Internal file name (at most 60 characters; part of the file, keep it fixed).
    comments
        Text for the comment area.

    Yields
    ------
    int
        Handle to write segments to; the file is closed by this context manager.
    """
    if len(internal_name) > MAX_INTERNAL_NAME:
        raise ValueError("DAF internal file name longer than 60 characters")
    lines = comment_lines(comments)
    reserve = sum(len(line) + 1 for line in lines) + 1
    with atomic_path(target) as temp:
        handle = opener(str(temp), internal_name, reserve)
        try:
            spiceypy.dafac(handle, lines)
            yield handle
        finally:
            spiceypy.dafcls(handle)
