"""Give freed heap memory back to the operating system between inputs (issue 16, streaming memory).

Decoding an LB file or merging a telemetry batch allocates many small objects (packet bytes,
per-packet arrays); once freed, glibc keeps most of that heap mapped, so the resident size stays
at the largest step seen so far and adds up with the next step's peak. ``malloc_trim(0)`` returns
the free pages at the cost of a few milliseconds. Elsewhere (no glibc) this does nothing.
"""

from __future__ import annotations

import ctypes


def release_free_memory() -> None:
    """Return free heap pages to the operating system (glibc ``malloc_trim``; a no-op elsewhere)."""
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)
