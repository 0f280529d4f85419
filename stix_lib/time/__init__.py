"""Spacecraft time (SCET/OBT) model, vectorised on numpy arrays. UTC conversion: :mod:`stix_lib.spice`."""

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
