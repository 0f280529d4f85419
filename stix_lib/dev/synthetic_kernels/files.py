"""Text-kernel output: SPICE text kernels are plain ASCII, written atomically."""

from __future__ import annotations

from pathlib import Path

from stix_lib.atomic import atomic_write_bytes


def write_text_atomic(target: Path, text: str, encoding: str = "ascii") -> None:
    """Write ``text`` (``\\n`` line ends) to ``target`` atomically.

    SPICE text kernels must be plain ASCII, hence the default ``encoding``; a non-ASCII character
    raises :class:`UnicodeEncodeError` before anything is written.
    """
    atomic_write_bytes(target, text.encode(encoding))
