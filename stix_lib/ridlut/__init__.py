"""BSD request-id lookup table (RID LUT): reading, lookups, the data-center API update and its retrying refresh."""

from stix_lib.ridlut.refresh import RidLutRefresh, RidLutUnusable, refresh_rid_lut
from stix_lib.ridlut.table import COLUMNS, DEFAULT_SCALING_FACTOR, RidLut, RidLutError
from stix_lib.ridlut.update import RidLutUpdate, update_rid_lut, window_url

__all__ = [
    "COLUMNS",
    "DEFAULT_SCALING_FACTOR",
    "RidLut",
    "RidLutError",
    "RidLutRefresh",
    "RidLutUnusable",
    "RidLutUpdate",
    "refresh_rid_lut",
    "update_rid_lut",
    "window_url",
]
