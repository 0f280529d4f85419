"""L0 TM management status and flare list (21/6/43).

One DATA row per listed flare, or one row for a packet listing none (flare fields zero). Every
row carries the packet's UBSD and PALD counters (NIX00285/NIX00286) and is timed by the packet
header (``timedel`` 0). Flare fields: ``start_scet_coarse`` (NIX00287), ``end_scet_coarse``
(NIX00288), ``highest_flareflag`` (NIX00289), ``tm_byte_volume`` (NIX00290), ``average_z_loc``
(NIX00291), ``average_y_loc`` (NIX00292), ``processing_mask`` (NIX00293, raw). Rows of one packet
are told apart by their start and end times when merging.
"""

from __future__ import annotations

import numpy as np

from stix_lib.products.l0.common import check_counts, header_control
from stix_lib.products.l0.packets import PacketBatch, ramp
from stix_lib.products.model import bin_centres, control_base
from stix_lib.products.table import ColumnTable

FLARE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("start_scet_coarse", "NIX00287"),
    ("end_scet_coarse", "NIX00288"),
    ("highest_flareflag", "NIX00289"),
    ("tm_byte_volume", "NIX00290"),
    ("average_z_loc", "NIX00291"),
    ("average_y_loc", "NIX00292"),
    ("processing_mask", "NIX00293"),
)


def check_flarelist(batch: PacketBatch) -> dict[int, str]:
    """Packets whose flare entries do not match NIX00294."""
    flares = batch.scalar("NIX00294").astype(np.int64)
    return check_counts(batch, {nix: flares for _, nix in FLARE_COLUMNS if batch.has(nix)})


def build_flarelist(batch: PacketBatch) -> tuple[ColumnTable, ColumnTable]:
    """Control and data of the TM status / flare list product."""
    control = header_control(batch, integration=False)
    flares = batch.scalar("NIX00294").astype(np.int64)
    rows = np.maximum(flares, 1)
    packet, position = ramp(rows)
    has_flare = flares[packet] > 0
    first_flare = (np.cumsum(flares) - flares)[packet] + position
    data = ColumnTable()
    data.add("control_index", packet)
    data.add("ubsd", batch.scalar("NIX00285").astype(np.uint32)[packet], meta={"NIXS": "NIX00285"})
    data.add("pald", batch.scalar("NIX00286").astype(np.uint32)[packet], meta={"NIXS": "NIX00286"})
    for column, nix in FLARE_COLUMNS:
        values = np.zeros(len(packet), dtype=np.int64)
        if batch.has(nix):
            source = batch.values(nix).astype(np.int64)
            values[has_flare] = source[first_flare[has_flare]]
        data.add(column, values, meta={"NIXS": nix})
    base = control_base(control)
    data.add("time", bin_centres(base[packet], np.zeros(len(packet)), np.zeros(len(packet))))
    data.add("timedel", np.zeros(len(packet), dtype=np.int64), unit="cs")
    return control, data
