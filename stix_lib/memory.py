"""Give freed heap memory back to the operating system between inputs (issue 16, streaming memory).

Decoding an LB file or merging a telemetry batch allocates many small objects (packet bytes,
per-packet arrays); once freed, glibc keeps most of that heap mapped, so the resident size stays
at the largest step seen so far and adds up with the next step's peak. ``malloc_trim(0)`` returns
the free pages at a cost that grows with the heap (3 to 14 ms a call in a delivery run, where
most inputs are daily LB files of a few kB): :func:`release_after_input` trims only after an
input of :data:`TRIM_INPUT_BYTES` or more, whose decoding can leave a heap worth returning.
Elsewhere (no glibc) this does nothing.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

#: Inputs at least this large on disk are followed by :func:`release_free_memory` (smaller
#: ones leave little to return: their few MB of free heap are reused by the next input).
TRIM_INPUT_BYTES = 4 * 2**20


def release_free_memory() -> None:
    """Return free heap pages to the operating system (glibc ``malloc_trim``; a no-op elsewhere)."""
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


def release_after_input(path: Path, min_bytes: int = TRIM_INPUT_BYTES) -> bool:
    """:func:`release_free_memory` after processing ``path`` if it holds ``min_bytes`` or more.

    A file that cannot be looked at (gone, unreadable) counts as large. Returns whether it trimmed.
    """
    try:
        small = os.stat(path).st_size < min_bytes
    except OSError:
        small = False
    if not small:
        release_free_memory()
    return not small
