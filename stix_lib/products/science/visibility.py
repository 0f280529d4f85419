"""Visibilities (SSID 23 and its auto twin 13): DATA columns."""

from __future__ import annotations

import numpy as np

from stix_lib.products.l0.science import VisibilityRequest
from stix_lib.products.science.columns import Columns, bin_control_index, comp_err, relative_times, unsigned


def visibility_data_columns(request: VisibilityRequest, obt_beg: float) -> Columns:
    """DATA columns of a visibility request: flux, real and imaginary parts per detector."""
    masks = [(f"pixel_mask{i + 1}", request.pixel_masks[:, i].astype(np.uint8), None) for i in range(5)]
    return [
        *relative_times(request, obt_beg),
        ("rcr", request.rcr.astype(np.uint8), None),
        *masks,
        ("detector_masks", request.detector_masks.astype(np.uint8), None),
        ("integration_time", (request.timedel / 100.0).astype(np.float32), "s"),
        ("triggers", unsigned(request.triggers.astype(np.int64)), None),
        ("triggers_comp_err", comp_err(request.triggers_var), None),
        ("flux", unsigned(request.flux.astype(np.int64)), "count"),
        ("flux_comp_err", comp_err(request.flux_var), "count"),
        ("detector_id", request.detector_id.astype(np.uint8), None),
        ("real", request.real.astype(np.int64), "count"),
        ("real_comp_err", comp_err(request.real_var), "count"),
        ("imaginary", request.imaginary.astype(np.int64), "count"),
        ("imaginary_comp_err", comp_err(request.imaginary_var), "count"),
        *bin_control_index(request),
    ]
