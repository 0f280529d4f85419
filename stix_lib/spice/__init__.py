"""SPICE for STIX: meta-kernel handling, SCET ↔ UTC, flown coverage, observer FITS keywords.

Nothing is loaded at import time; kernels are supplied by the caller through
:class:`~stix_lib.spice.kernels.SpiceKernels`.
"""

from typing import TYPE_CHECKING

from stix_lib.lazy_exports import lazy_exports

if TYPE_CHECKING:  # imported on first use (stix_lib.lazy_exports): a submodule does not pull its siblings
    from stix_lib.spice.coverage import FlownCoverage, flown_coverage
    from stix_lib.spice.errors import SpiceKernelError
    from stix_lib.spice.fits_keywords import spice_fits_keywords
    from stix_lib.spice.kernels import SOLO_ID, SpiceKernels
    from stix_lib.spice.meta_kernels import MetaKernels, find_meta_kernels, meta_kernel_date, rewrite_meta_kernel

__all__ = [
    "SOLO_ID",
    "FlownCoverage",
    "MetaKernels",
    "SpiceKernelError",
    "SpiceKernels",
    "find_meta_kernels",
    "flown_coverage",
    "meta_kernel_date",
    "rewrite_meta_kernel",
    "spice_fits_keywords",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
