"""Spectrograms (SSID 24 and its auto twin 14): DATA columns."""

from __future__ import annotations

import numpy as np

from stix_lib.products.l0.science import SpectrogramRequest
from stix_lib.products.science.columns import Columns, bin_control_index, comp_err, relative_times, unsigned


def spectrogram_data_columns(request: SpectrogramRequest, obt_beg: float) -> Columns:
    """DATA columns of a spectrogram: summed trigger, counts per energy, pixel masks per bin."""
    return [
        *relative_times(request, obt_beg),
        ("triggers", unsigned(request.triggers.astype(np.int64)), None),
        ("rcr", request.rcr.astype(np.uint8), None),
        ("pixel_masks", request.pixel_masks.astype(np.uint8), None),
        ("triggers_comp_err", comp_err(request.triggers_var), None),
        ("counts", unsigned(request.counts.astype(np.int64)), "count"),
        ("counts_comp_err", comp_err(request.counts_var), "count"),
        *bin_control_index(request),
    ]
