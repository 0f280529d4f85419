"""L0 energy calibration spectra (21/6/41, type ``cal``, name ``energy``, version 3).

Control per packet: ``integration_time`` (NIX00122), ``quiet_time`` (NIX00123), ``live_time``
(NIX00124), ``average_temperature`` (NIX00125), all **raw** with their calibration id in the
meta (L1 converts them); detector/pixel masks, ``subspectrum_mask`` (NIX00160, LSB first), the
counts compression scheme, ``num_samples`` (NIX00159) and per sub-spectrum ``i`` (0..7)
``subspec_num_points`` = NIXD(0129 + 3i) + 1, ``subspec_num_summed_channel`` = NIXD(0130 + 3i) + 1,
``subspec_lowest_channel`` = NIXD(0131 + 3i); ``num_channels`` = points of the enabled
sub-spectra.

Timing: the accumulation lasts NIX00122 **seconds** (the IDB calibration says 0.1 s, which is
wrong by a factor 10); its centre is ``SCET(NIX00445) + duration / 2``. Packets of one
accumulation share that time and form one DATA row (the control row of its first packet).

Counts: structure ``j`` of a packet holds NIX00146 points for detector NIXD0155, pixel NIXD0156
and sub-spectrum NIXD0157 (0-based). Points of one (time, detector, pixel, sub-spectrum) are
numbered in stream order across structures; point ``q`` covers the native ADC channels
``[lowest + q * summed, lowest + (q + 1) * summed)`` and its counts are spread evenly over
them (proportional re-binning onto the 1024 channels; channels beyond 1023 are dropped). The
variance is re-binned the same way. Deviation from the reference implementation, which takes the
channel *starts* as bin *edges* and so loses the last point of every sub-spectrum (and all of a
one-point sub-spectrum).
"""

from __future__ import annotations

import numpy as np

from stix_lib.decode.decoder import step_runs
from stix_lib.products.l0.common import COMP_ERR, bits_lsb_first, check_counts, provenance_columns, skm, skm_meta
from stix_lib.products.l0.packets import PacketBatch, ramp
from stix_lib.products.model import bin_centres, control_base, time_keys
from stix_lib.products.table import ColumnTable

NUM_DETECTORS, NUM_PIXELS, NUM_CHANNELS, NUM_SUBSPECTRA = 32, 12, 1024, 8

_RAW_CONTROL: tuple[tuple[str, str, type[np.unsignedinteger]], ...] = (
    ("integration_time", "NIX00122", np.uint32),
    ("quiet_time", "NIX00123", np.uint16),
    ("live_time", "NIX00124", np.uint32),
    ("average_temperature", "NIX00125", np.uint16),
)


def _subspectra(batch: PacketBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    points = np.stack([batch.scalar(f"NIXD0{129 + 3 * i}") for i in range(NUM_SUBSPECTRA)], axis=1) + 1
    summed = np.stack([batch.scalar(f"NIXD0{130 + 3 * i}") for i in range(NUM_SUBSPECTRA)], axis=1) + 1
    lowest = np.stack([batch.scalar(f"NIXD0{131 + 3 * i}") for i in range(NUM_SUBSPECTRA)], axis=1)
    return points.astype(np.int64), summed.astype(np.int64), lowest.astype(np.int64)


def check_calibration(batch: PacketBatch) -> dict[int, str]:
    """Packets whose structures do not match NIX00159/NIX00146 or name impossible ids."""
    structures = batch.scalar("NIX00159").astype(np.int64)
    bad = check_counts(batch, {name: structures for name in ("NIXD0155", "NIXD0156", "NIXD0157", "NIX00146")})
    if bad:
        return bad
    run, _ = ramp(structures)
    total = np.bincount(run, weights=batch.values("NIX00146"), minlength=len(batch)).astype(np.int64)
    bad.update(check_counts(batch, {"NIX00158": total}))
    enabled = bits_lsb_first(batch.scalar("NIX00160"), NUM_SUBSPECTRA).astype(bool)
    sub = batch.values("NIXD0157").astype(np.int64)
    wrong = (
        (batch.values("NIXD0155") >= NUM_DETECTORS) | (batch.values("NIXD0156") >= NUM_PIXELS) | (sub >= NUM_SUBSPECTRA)
    )
    wrong |= ~enabled[run, np.minimum(sub, NUM_SUBSPECTRA - 1)]
    for p in np.unique(run[wrong]).tolist():
        bad.setdefault(
            int(p), "calibration structure names a detector, pixel or disabled sub-spectrum that does not exist"
        )
    return bad


def _control(batch: PacketBatch) -> ColumnTable:
    control = ColumnTable()
    control.add("scet_coarse", batch.scalar("NIX00445").astype(np.uint32), meta={"NIXS": "NIX00445"})
    control.add("scet_fine", np.zeros(len(batch), dtype=np.uint32))
    for column, nix, dtype in _RAW_CONTROL[:1]:
        control.add(column, batch.scalar(nix).astype(dtype), meta=_raw_meta(batch, nix))
    provenance_columns(control, batch)
    for column, nix, dtype in _RAW_CONTROL[1:]:
        control.add(column, batch.scalar(nix).astype(dtype), meta=_raw_meta(batch, nix))
    control.add(
        "detector_mask", bits_lsb_first(batch.scalar("NIX00407"), 32), meta={"NIXS": "NIX00407", "PCF_CURTX": None}
    )
    control.add(
        "pixel_mask", bits_lsb_first(batch.scalar("NIXD0407"), 12), meta={"NIXS": "NIXD0407", "PCF_CURTX": None}
    )
    mask = bits_lsb_first(batch.scalar("NIX00160"), NUM_SUBSPECTRA)
    control.add("subspectrum_mask", mask, meta={"NIXS": "NIX00160", "PCF_CURTX": None})
    control.add("compression_scheme_counts_skm", skm(batch, "NIX00158"), meta=skm_meta(batch, "NIX00158"))
    control.add("num_samples", batch.scalar("NIX00159").astype(np.uint16), meta={"NIXS": "NIX00159"})
    points, summed, lowest = _subspectra(batch)
    control.add("subspec_num_points", points.astype(np.uint16))
    control.add("subspec_num_summed_channel", summed.astype(np.uint16))
    control.add("subspec_lowest_channel", lowest.astype(np.uint16))
    control.add("num_channels", (points * mask).sum(axis=1).astype(np.int64))
    return control


def _raw_meta(batch: PacketBatch, nix: str) -> dict:
    info = batch.idb.get_parameter(nix)
    return {"NIXS": nix, "PCF_CURTX": info.calibration_id if info is not None else None}


#: Channel entries a summed-grid spread handles at once (bounds the temporary arrays).
SPREAD_CHUNK = 1 << 20


def _spread_summed(
    first_channel: np.ndarray,
    width: np.ndarray,
    base: np.ndarray,
    values: np.ndarray,
    variance: np.ndarray,
    size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Counts and variances of points spread evenly over ``width`` channels from ``first_channel``.

    Flat outputs of ``size`` (``base`` is where each point's pixel spectrum starts; channels
    beyond the last are dropped). Points are handled in chunks of about :data:`SPREAD_CHUNK`
    channel entries, added in point order: the sums are those of one ``bincount`` over all.
    """
    counts = np.zeros(size, dtype=np.float64)
    counts_var = np.zeros(size, dtype=np.float64)
    ends = np.cumsum(width)
    start = 0
    while start < len(width):
        stop = max(int(np.searchsorted(ends, ends[start] - width[start] + SPREAD_CHUNK, side="right")), start + 1)
        part = slice(start, stop)
        c_value, c_pos = ramp(width[part])
        c_value += start
        channel = first_channel[c_value] + c_pos
        inside = channel < NUM_CHANNELS
        c_value, channel = c_value[inside], channel[inside]
        flat = base[c_value] + channel
        np.add.at(counts, flat, values[c_value] / width[c_value])
        np.add.at(counts_var, flat, variance[c_value] / width[c_value])
        start = stop
    return counts, counts_var


def build_calibration(batch: PacketBatch) -> tuple[ColumnTable, ColumnTable]:
    """Control and data of calibration spectra (one row per accumulation)."""
    control = _control(batch)
    seconds = np.asarray(batch.engineering("NIX00122", batch.scalar("NIX00122")), dtype=np.float64) * 10.0
    duration_cs = np.rint(seconds * 100.0).astype(np.int64)
    packet_time = bin_centres(control_base(control), np.zeros(len(batch)), duration_cs)
    _, first, row_of_packet = np.unique(time_keys(packet_time), return_index=True, return_inverse=True)
    rows = len(first)

    structures = batch.scalar("NIX00159").astype(np.int64)
    s_packet, _ = ramp(structures)
    det = batch.values("NIXD0155").astype(np.int64)
    pix = batch.values("NIXD0156").astype(np.int64)
    sub = batch.values("NIXD0157").astype(np.int64)
    npts = batch.values("NIX00146").astype(np.int64)
    s_row = row_of_packet[s_packet]
    group = ((s_row * NUM_DETECTORS + det) * NUM_PIXELS + pix) * NUM_SUBSPECTRA + sub
    order = np.argsort(group, kind="stable")
    before = np.cumsum(npts[order]) - npts[order]
    starts = np.r_[True, group[order][1:] != group[order][:-1]]
    group_first = np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))
    offset = np.empty(len(order), dtype=np.int64)
    offset[order] = before - before[group_first]

    values = batch.decompressed["NIX00158"].values  # integers: bincount weighs in float64 as astype would
    variance = batch.decompressed["NIX00158"].variance
    points, summed, lowest = _subspectra(batch)
    # per structure: where its pixel spectrum starts in the flat output, its grid and first point
    s_width = summed[s_packet, sub]
    s_channel = lowest[s_packet, sub] + offset * s_width
    s_base = ((s_row * NUM_DETECTORS + det) * NUM_PIXELS + pix) * NUM_CHANNELS
    size = rows * NUM_DETECTORS * NUM_PIXELS * NUM_CHANNELS
    shape = (rows, NUM_DETECTORS, NUM_PIXELS, NUM_CHANNELS)
    point_start = np.cumsum(npts) - npts
    if np.all(s_width == 1) and np.all((npts == 0) | (s_channel + npts <= NUM_CHANNELS)):
        # usual: full-resolution grids, every point inside: point q of a structure -> channel + q
        flat = step_runs(s_base + s_channel, npts, 1)
        counts = np.bincount(flat, weights=values, minlength=size).reshape(shape)
        counts_var = np.bincount(flat, weights=variance, minlength=size).reshape(shape)
        return control, _calibration_data(packet_time[first], duration_cs[first], counts, counts_var, first)
    v_struct = np.repeat(np.arange(len(npts)), npts)
    q = np.arange(len(v_struct)) - np.repeat(point_start, npts)
    if np.all(s_width == 1):  # full-resolution grids: one channel per point
        channel = s_channel[v_struct] + q
        inside = channel < NUM_CHANNELS
        flat = (s_base + s_channel)[v_struct] + q
        weights, weights_var = values, variance
        if not inside.all():
            flat, weights, weights_var = flat[inside], values[inside], variance[inside]
        counts = np.bincount(flat, weights=weights, minlength=size).reshape(shape)
        counts_var = np.bincount(flat, weights=weights_var, minlength=size).reshape(shape)
    else:  # summed grids: spread each point evenly over its channels
        width = s_width[v_struct]
        counts, counts_var = _spread_summed(
            s_channel[v_struct] + q * width, width, s_base[v_struct], values.astype(np.float64), variance, size
        )
        counts, counts_var = counts.reshape(shape), counts_var.reshape(shape)

    return control, _calibration_data(packet_time[first], duration_cs[first], counts, counts_var, first)


def _calibration_data(
    time: np.ndarray, timedel: np.ndarray, counts: np.ndarray, counts_var: np.ndarray, first: np.ndarray
) -> ColumnTable:
    data = ColumnTable()
    data.add("time", time)
    data.add("timedel", timedel, unit="cs")
    data.add("counts", counts, unit="ct", meta={"NIXS": "NIX00158"})
    # in place: the variances are not kept
    data.add("counts_comp_err", np.sqrt(counts_var, out=counts_var).astype(np.float32), unit="ct", description=COMP_ERR)
    data.add("control_index", first.astype(np.int64))
    return data
