"""Synthetic Solar Orbiter SPICE kernel sets for tests, simulations and demos.

:func:`build_kernel_set` writes LSK (the real NAIF one), PCK, FKs, SCLK, SPKs, CKs and SOC-style
flown/predicted meta kernels (optionally zipped) from this package's own models; nothing is loaded
into SPICE while building. See :mod:`stix_lib.dev.synthetic_kernels.builder` for the layout and rules.
"""

from stix_lib.dev.synthetic_kernels.builder import KernelSetManifest, KernelSetOptions, build_kernel_set, parse_utc
from stix_lib.dev.synthetic_kernels.kernel_names import KernelNames
from stix_lib.dev.synthetic_kernels.orbits import KeplerOrbit, default_earth_orbit, default_solar_orbiter_orbit
from stix_lib.dev.synthetic_kernels.sclk import ClockPair, SclkKernel, SclkModel, build_sclk
from stix_lib.time.leapseconds import LeapSeconds, packaged_leapseconds_path

__all__ = [
    "ClockPair",
    "KernelNames",
    "KernelSetManifest",
    "KernelSetOptions",
    "KeplerOrbit",
    "LeapSeconds",
    "SclkKernel",
    "SclkModel",
    "build_kernel_set",
    "build_sclk",
    "default_earth_orbit",
    "default_solar_orbiter_orbit",
    "packaged_leapseconds_path",
    "parse_utc",
]
