"""Pixel data (raw, compressed and summed: SSIDs 20, 21, 22 and the auto twins 10-12): DATA columns."""

from __future__ import annotations

import numpy as np

from stix_lib.products.l0.science import XrayRequest
from stix_lib.products.science.columns import Columns, bin_control_index, comp_err, relative_times, unsigned


def pixel_data_columns(request: XrayRequest, obt_beg: float) -> Columns:
    """DATA columns of rpd/cpd/scpd: counts per detector, pixel and energy, triggers per accumulator."""
    return [
        *relative_times(request, obt_beg),
        ("rcr", request.rcr.astype(np.uint8), None),
        ("pixel_masks", request.pixel_masks.astype(np.uint8), None),
        ("detector_masks", request.detector_masks.astype(np.uint8), None),
        ("num_pixel_sets", request.num_pixel_sets.astype(np.uint8), None),
        ("num_energy_groups", request.num_energy_groups.astype(np.uint8), None),
        ("triggers", unsigned(request.triggers.astype(np.int64)), None),
        ("triggers_comp_err", comp_err(request.triggers_var), None),
        ("counts", unsigned(request.counts.astype(np.int64)), "count"),
        ("counts_comp_err", comp_err(request.counts_var), "count"),
        *bin_control_index(request),
    ]
