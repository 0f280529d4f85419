"""Errors of the SPICE layer."""

from __future__ import annotations


class SpiceKernelError(Exception):
    """Kernels cannot be found or loaded (no meta kernel, every meta kernel failed to load)."""
