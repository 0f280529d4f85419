"""Aspect bursts (SSID 42): DATA (the four diode signals per sample) and CONTROL (one row per packet)."""

from __future__ import annotations

import numpy as np

from stix_lib.products.l0.science import AspectBurst
from stix_lib.products.science.columns import Columns, centiseconds, unsigned

DIODES = ("cha_diode0", "cha_diode1", "chb_diode0", "chb_diode1")


def aspect_data_columns(request: AspectBurst, obt_beg: float, level: str) -> Columns:
    """DATA columns of an aspect burst: float32 seconds at L0 (spec §4.2), centiseconds at L1."""
    if level == "L0":
        times: Columns = [
            ("time", (request.time - obt_beg).astype(np.float32), "s"),
            ("timedel", request.timedel.astype(np.float32), "s"),
        ]
    else:
        times = [
            ("time", centiseconds((request.time - obt_beg) * 100.0), "cs"),
            ("timedel", centiseconds(request.timedel * 100.0), "cs"),
        ]
    diodes = [(name, getattr(request, name).astype(np.uint16), None) for name in DIODES]
    return [*times, *diodes, ("control_index", unsigned(request.control_index.astype(np.int64)), None)]


def aspect_control_columns(
    request: AspectBurst, packets: np.ndarray, raw_files: tuple[str, ...], parent: str
) -> Columns:
    """CONTROL columns of an aspect burst: one row per packet."""
    c = request.control
    n = len(c["index"])
    return [
        ("scet_coarse", c["scet_coarse"].astype(np.uint32), None),
        ("scet_fine", c["scet_fine"].astype(np.uint16), None),
        ("summing_value", c["summing_value"].astype(np.uint8), None),
        ("samples", c["samples"].astype(np.uint16), None),
        ("averaging_value", c["averaging_value"].astype(np.uint16), None),
        ("request_id", c["request_id"].astype(np.uint32), None),
        ("index", unsigned(c["index"].astype(np.int64)), None),
        ("raw_file", np.full(n, ";".join(sorted(set(raw_files))) or " "), None),
        ("packet", unsigned(np.asarray(packets, dtype=np.int64)), None),
        ("parent", np.full(n, parent or " "), None),
    ]
