"""Errors of the SPICE layer."""

from __future__ import annotations


class SpiceKernelError(Exception):
    """Kernels cannot be found or loaded (no meta kernel, every meta kernel failed to load)."""


def spice_error_reason(exc: Exception) -> str:
    """The ``SPICE(…)`` name and first explanation line of a spiceypy error, on one line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip() and not line.startswith("=")]
    tagged = [i for i, line in enumerate(lines) if line.startswith("SPICE(")]
    if not tagged:
        return lines[-1] if lines else type(exc).__name__
    first = tagged[0]
    return " ".join(lines[first : first + 2])
