"""Spacecraft time (SCET/OBT) model, vectorised on numpy arrays.

UTC conversion: with kernels :mod:`stix_lib.spice`; without, the nominal clock
:mod:`stix_lib.time.nominal_clock` (leap seconds from :mod:`stix_lib.time.leapseconds`).
"""

from stix_lib.time.scet import (
    FINE_FLOAT_SCALE,
    MAX_COARSE,
    MAX_FINE,
    SCETime,
    SCETimeDelta,
    SCETimeRange,
    scet_from_btime,
    scet_from_float,
    scet_from_string,
    scet_to_btime,
    scet_to_float,
    scet_to_string,
    time_sync,
)

__all__ = [
    "FINE_FLOAT_SCALE",
    "MAX_COARSE",
    "MAX_FINE",
    "SCETime",
    "SCETimeDelta",
    "SCETimeRange",
    "scet_from_btime",
    "scet_from_float",
    "scet_from_string",
    "scet_to_btime",
    "scet_to_float",
    "scet_to_string",
    "time_sync",
]
