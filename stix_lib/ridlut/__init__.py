"""BSD request-id lookup table (RID LUT): reading, lookups and the data-center API update."""

from stix_lib.ridlut.table import COLUMNS, DEFAULT_SCALING_FACTOR, RidLut, RidLutError
from stix_lib.ridlut.update import RidLutUpdate, update_rid_lut, window_url

__all__ = [
    "COLUMNS",
    "DEFAULT_SCALING_FACTOR",
    "RidLut",
    "RidLutError",
    "RidLutUpdate",
    "update_rid_lut",
    "window_url",
]
