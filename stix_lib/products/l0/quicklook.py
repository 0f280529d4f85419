"""L0 quick-look products: light curves (21/6/30), background (31), spectra (32), variance (33),
flare flags (34).

Every builder has a ``check`` (packets whose parameter counts do not fit together are reported
and left out) and a ``build`` returning the ``(control, data)`` tables of one packet batch. Bin
centres are ``base + (k + 1/2) * integration`` with ``k`` the sample number in the packet
(:func:`stix_lib.products.model.bin_centres`); spectra use the sample's integration count
(NIX00485) for ``k``.

Compressed values come decompressed with their variance; ``*_comp_err`` columns hold
``sqrt(variance)`` as float32. Triggers compressed with scheme (0, 0, 7) are descaled with factor
:data:`~stix_lib.products.header.QL_TRIGGER_FACTOR` (:mod:`stix_lib.products.l0.triggers`).

Light-curve/background counts arrive energy-major per packet (``n_energies`` blocks of
``n_samples`` values) and become rows ``(sample, energy)``. Quick-look spectra arrive as a stream
of entries, one detector spectrum each, cycling through the detectors; the stream is cut into DATA
rows of 32 detector columns (:func:`spectra_rows`), as STIXCore reshapes it into padded blocks of
32 (processing spec §4.5.2), so every entry is kept. The row's time is its first entry's bin centre.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from stix_lib.decode.skm import DecompressedParameter
from stix_lib.products.header import QL_TRIGGER_FACTOR
from stix_lib.products.l0.common import (
    COMP_ERR,
    ProductBuildError,
    bits_lsb_first,
    bits_msb_first,
    check_counts,
    energy_edge_mask,
    ql_control,
    skm,
    skm_meta,
)
from stix_lib.products.l0.packets import PacketBatch, ramp
from stix_lib.products.l0.triggers import active_groups, is_scaled, unscale
from stix_lib.products.model import bin_centres, control_base
from stix_lib.products.table import ColumnTable

#: Detector mask of the background detector (0-based detector 9 only).
BACKGROUND_DETECTOR_MASK = np.zeros(32, dtype=np.uint8)
BACKGROUND_DETECTOR_MASK[9] = 1

SPECTRA_CHANNELS = tuple(f"NIX00{n}" for n in range(452, 484))


def _meta(nix: str | list[str], curtx: bool = False) -> dict:
    if curtx:
        return {"NIXS": nix, "PCF_CURTX": [None] * len(nix) if isinstance(nix, list) else None}
    return {"NIXS": nix}


def _decompressed_part(batch: PacketBatch, name: str) -> DecompressedParameter:
    part = batch.decompressed.get(name)
    if part is None:
        raise ProductBuildError(f"{name} of {tuple(batch.decoded.layout.key)} is not a compressed parameter")
    return part


def _decompressed(batch: PacketBatch, name: str) -> tuple[np.ndarray, np.ndarray]:
    part = _decompressed_part(batch, name)
    return part.values.astype(np.float64), part.variance


def _majority_mask(values: np.ndarray) -> np.ndarray:
    unique, counts = np.unique(values, return_counts=True)
    return values == unique[np.argmax(counts)]


def _check_energy_samples(batch: PacketBatch, samples: str, counts: str) -> dict[int, str]:
    n_e = batch.scalar("NIX00270").astype(np.int64)
    n_s = batch.last(samples)
    bad = check_counts(batch, {samples: n_e, counts: n_e * n_s, "NIX00274": n_s})
    if batch.has("NIX00276"):
        bad.update({p: r for p, r in check_counts(batch, {"NIX00276": n_s}).items() if p not in bad})
    for p in np.flatnonzero(~_majority_mask(n_e)).tolist():
        bad.setdefault(p, f"NIX00270: {n_e[p]} energies differ from the other packets")
    return bad


def _energy_sample_matrix(
    batch: PacketBatch, name: str, n_e: np.ndarray, n_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(samples, energies)`` values and variances from energy-major packet blocks."""
    part = _decompressed_part(batch, name)
    energies = int(n_e[0]) if len(n_e) else 0
    bounds = np.r_[0, np.flatnonzero(n_s[1:] != n_s[:-1]) + 1, len(n_s)].tolist()
    if energies and np.all(n_e == energies) and len(part.values) == energies * int(n_s.sum()) and len(bounds) <= 9:
        # usual: one energy number, runs of packets of equal sample numbers: transpose the blocks
        # of a run at once, converted to float64 as they are copied into place
        sample_start = np.r_[0, np.cumsum(n_s)].tolist()
        parts = []
        for array in (part.values, part.variance):
            out = np.empty((sample_start[-1], energies), dtype=np.float64)
            for a, b in zip(bounds[:-1], bounds[1:], strict=True):
                samples = int(n_s[a])
                block = array[sample_start[a] * energies : sample_start[b] * energies]
                out[sample_start[a] : sample_start[b]].reshape(b - a, samples, energies)[...] = block.reshape(
                    b - a, energies, samples
                ).transpose(0, 2, 1)
            parts.append(out)
        return parts[0], parts[1]
    values, variance = part.values.astype(np.float64), part.variance
    run, pos = ramp(n_e * n_s)
    sample_start = np.cumsum(n_s) - n_s
    per_run = n_s[run]
    row = sample_start[run] + pos % per_run
    col = pos // per_run
    out = np.zeros((int(n_s.sum()), energies), dtype=np.float64)
    var = np.zeros_like(out)
    out[row, col] = values
    var[row, col] = variance
    return out, var


def _triggers(
    batch: PacketBatch, name: str, sample_packet: np.ndarray, n_groups: np.ndarray, cs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    values, variance = _decompressed(batch, name)
    scaled = is_scaled(skm(batch, name))[sample_packet]
    if scaled.any():
        packets = sample_packet[scaled]
        values[scaled], variance[scaled] = unscale(
            values[scaled], n_groups=n_groups[packets], n_int=cs[packets] / 10.0, factor=QL_TRIGGER_FACTOR
        )
    return values, variance


def _time_columns(data: ColumnTable, control: ColumnTable, packet: np.ndarray, k: np.ndarray, cs: np.ndarray) -> None:
    base = control_base(control)
    data.add("time", bin_centres(base[packet], k, cs[packet]))
    data.add("timedel", cs[packet].astype(np.int64), unit="cs")


# -- 21/6/30 light curves ----------------------------------------------------------------------
def check_lightcurve(batch: PacketBatch) -> dict[int, str]:
    """Packets whose counts, triggers or RCR do not match their sample/energy numbers."""
    return _check_energy_samples(batch, "NIX00271", "NIX00272")


def build_lightcurve(batch: PacketBatch) -> tuple[ColumnTable, ColumnTable]:
    """Control and data of quick-look light curves."""
    control, cs = ql_control(batch)
    n_e = batch.scalar("NIX00270").astype(np.int64)
    n_s = batch.last("NIX00271")
    detector_mask = bits_lsb_first(batch.scalar("NIX00407"), 32)
    control.add("detector_mask", detector_mask, meta=_meta("NIX00407", True))
    control.add("pixel_mask", bits_lsb_first(batch.scalar("NIXD0407"), 12), meta=_meta("NIXD0407", True))
    control.add(
        "energy_bin_edge_mask",
        energy_edge_mask(batch, "NIX00266", "NIXD0107"),
        meta=_meta(["NIX00266", "NIXD0107"], True),
    )
    control.add("num_energies", n_e, meta=_meta("NIX00270"))
    control.add("num_samples", n_s, meta=_meta("NIX00271"))
    control.add("compression_scheme_counts_skm", skm(batch, "NIX00272"), meta=skm_meta(batch, "NIX00272"))
    control.add("compression_scheme_triggers_skm", skm(batch, "NIX00274"), meta=skm_meta(batch, "NIX00274"))

    packet, k = ramp(n_s)
    counts, counts_var = _energy_sample_matrix(batch, "NIX00272", n_e, n_s)
    triggers, triggers_var = _triggers(batch, "NIX00274", packet, active_groups(detector_mask), cs)
    data = ColumnTable()
    data.add("control_index", packet)
    _time_columns(data, control, packet, k, cs)
    data.add("triggers", triggers.reshape(-1, 1), meta=_meta("NIX00274"))
    data.add("triggers_comp_err", np.sqrt(triggers_var).astype(np.float32).reshape(-1, 1), description=COMP_ERR)
    data.add("rcr", batch.values("NIX00276").astype(np.uint8), meta=_meta("NIX00276"))
    data.add("counts", counts, unit="ct", meta=_meta("NIX00272"))
    data.add("counts_comp_err", np.sqrt(counts_var).astype(np.float32), unit="ct", description=COMP_ERR)
    return control, data


# -- 21/6/31 background --------------------------------------------------------------------------
def check_background(batch: PacketBatch) -> dict[int, str]:
    """Packets whose counts or triggers do not match their sample/energy numbers."""
    return _check_energy_samples(batch, "NIX00277", "NIX00278")


def build_background(batch: PacketBatch) -> tuple[ColumnTable, ColumnTable]:
    """Control and data of the quick-look background (BKG detector) light curves."""
    control, cs = ql_control(batch)
    n_e = batch.scalar("NIX00270").astype(np.int64)
    n_s = batch.last("NIX00277")
    control.add(
        "energy_bin_edge_mask",
        energy_edge_mask(batch, "NIX00266", "NIXD0111"),
        meta=_meta(["NIX00266", "NIXD0111"], True),
    )
    control.add("num_energies", n_e, meta=_meta("NIX00270"))
    control.add("num_samples", n_s, meta=_meta("NIX00277"))
    control.add("compression_scheme_counts_skm", skm(batch, "NIX00278"), meta=skm_meta(batch, "NIX00278"))
    control.add("compression_scheme_triggers_skm", skm(batch, "NIX00274"), meta=skm_meta(batch, "NIX00274"))

    packet, k = ramp(n_s)
    counts, counts_var = _energy_sample_matrix(batch, "NIX00278", n_e, n_s)
    groups = np.full(len(batch), int(active_groups(BACKGROUND_DETECTOR_MASK)[0]), dtype=np.int64)
    triggers, triggers_var = _triggers(batch, "NIX00274", packet, groups, cs)
    data = ColumnTable()
    data.add("control_index", packet)
    _time_columns(data, control, packet, k, cs)
    data.add("triggers", triggers.reshape(-1, 1), meta=_meta("NIX00274"))
    data.add("triggers_comp_err", np.sqrt(triggers_var).astype(np.float32).reshape(-1, 1), description=COMP_ERR)
    data.add("counts", counts, unit="ct", meta=_meta("NIX00278"))
    data.add("counts_comp_err", np.sqrt(counts_var).astype(np.float32), unit="ct", description=COMP_ERR)
    return control, data


# -- 21/6/32 spectra -------------------------------------------------------------------------------
def check_spectra(batch: PacketBatch) -> dict[int, str]:
    """Packets whose entries do not match NIX00089 or name detectors beyond 31."""
    n = batch.scalar("NIX00089").astype(np.int64)
    bad = check_counts(batch, {name: n for name in ("NIX00100", *SPECTRA_CHANNELS, "NIX00484", "NIX00485")})
    if batch.has("NIX00100") and not bad:
        run, _ = ramp(batch.counts("NIX00100"))
        for p in np.unique(run[batch.values("NIX00100") > 31]).tolist():
            bad.setdefault(int(p), "NIX00100: detector id above 31")
    return bad


def build_spectra(batch: PacketBatch) -> tuple[ColumnTable, ColumnTable]:
    """Control and data of quick-look spectra (one row of 32 detectors per sample time)."""
    control, cs = ql_control(batch)
    entries = batch.scalar("NIX00089").astype(np.int64)
    packet, _ = ramp(entries)
    detector = batch.values("NIX00100").astype(np.int64)
    num_energies = _unique_per_packet(detector, packet, len(batch))
    control.add("pixel_mask", bits_lsb_first(batch.scalar("NIXD0407"), 12), meta=_meta("NIXD0407", True))
    control.add("compression_scheme_spectra_skm", skm(batch, "NIX00452"), meta=skm_meta(batch, "NIX00452"))
    control.add("compression_scheme_triggers_skm", skm(batch, "NIX00484"), meta=skm_meta(batch, "NIX00484"))
    control.add("num_energies", num_energies, meta=_meta("NIX00100"))
    control.add("num_samples", entries, meta=_meta("NIX00089"))

    n_int = batch.values("NIX00485").astype(np.int64)
    base = control_base(control)
    entry_time = bin_centres(base[packet], n_int, cs[packet])
    row, first = spectra_rows(detector, base[packet])
    rows = len(first)
    at = (row, detector)
    # the 32 channels of each entry side by side, then placed in their rows with one scatter each
    entry_values = np.empty((len(detector), len(SPECTRA_CHANNELS)), dtype=np.float64)
    entry_variance = np.empty_like(entry_values)
    for channel, name in enumerate(SPECTRA_CHANNELS):
        part = _decompressed_part(batch, name)
        entry_values[:, channel] = part.values
        entry_variance[:, channel] = part.variance
    counts = np.zeros((rows, 32, 32), dtype=np.float64)
    counts_var = np.zeros_like(counts)
    counts[at] = entry_values
    counts_var[at] = entry_variance
    trig, trig_var = _triggers(batch, "NIX00484", packet, np.ones(len(batch), dtype=np.int64), cs)
    triggers = np.zeros((rows, 32), dtype=np.float64)
    triggers_var = np.zeros_like(triggers)
    triggers[at] = trig
    triggers_var[at] = trig_var
    num_integrations = np.zeros((rows, 32), dtype=np.uint8)
    num_integrations[at] = n_int

    row_packet = packet[first]
    data = ColumnTable()
    data.add("control_index", row_packet)
    data.add("time", entry_time[first])
    data.add("timedel", cs[row_packet].astype(np.int64), unit="cs")
    data.add("detector_index", np.tile(np.arange(32, dtype=np.uint8), (rows, 1)), meta=_meta("NIX00100"))
    data.add("spectra", counts, unit="ct", meta=_meta("NIX00452"))
    data.add("spectra_comp_err", np.sqrt(counts_var).astype(np.float32), description=COMP_ERR)
    data.add("triggers", triggers, meta=_meta("NIX00484"))
    data.add("triggers_comp_err", np.sqrt(triggers_var).astype(np.float32), description=COMP_ERR)
    data.add("num_integrations", num_integrations, meta=_meta("NIX00485"))
    return control, data


def spectra_rows(
    detector: npt.ArrayLike, base: npt.ArrayLike
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Cut a stream of quick-look spectra entries into rows of 32 detector columns.

    A row starts at the first entry, wherever the detector id does not increase (the board
    cycles through the detectors) and wherever the packet base time changes (a new accumulation
    period), so each entry lands in column ``detector`` of its row and no entry overwrites
    another. Within one period this is STIXCore's rule (pad the front with ``detector[0]`` and
    the end with ``31 - detector[-1]`` empty slots, reshape into rows of 32); STIXCore also lets a
    row run on into the next period, dating its entries by the earlier one (our choice differs,
    see ``docs/stixcore-differences.md``).

    Parameters
    ----------
    detector
        Detector id (0..31) of each entry, in stream order.
    base
        Base time of each entry's packet.

    Returns
    -------
    row, first
        The row of each entry, and the entry number where each row starts.
    """
    detector = np.asarray(detector, dtype=np.int64)
    base = np.asarray(base)
    starts = np.ones(len(detector), dtype=bool)
    starts[1:] = (detector[1:] <= detector[:-1]) | (base[1:] != base[:-1])
    return np.cumsum(starts) - 1, np.flatnonzero(starts)


def _unique_per_packet(values: np.ndarray, packet: np.ndarray, count: int) -> npt.NDArray[np.int64]:
    """Number of distinct ``values`` in each packet."""
    if not len(values):
        return np.zeros(count, dtype=np.int64)
    if values.min() >= 0 and values.max() < 256:  # usual (8-bit detector ids): mark (packet, value)
        seen = np.zeros((count, int(values.max()) + 1), dtype=bool)
        seen[packet, values] = True
        return np.count_nonzero(seen, axis=1).astype(np.int64)
    pairs = np.unique(np.stack([packet, values], axis=1), axis=0)
    return np.bincount(pairs[:, 0], minlength=count).astype(np.int64)


# -- 21/6/33 variance ------------------------------------------------------------------------------
def check_variance(batch: PacketBatch) -> dict[int, str]:
    """Packets whose variance values do not match NIX00280."""
    return check_counts(batch, {"NIX00281": batch.scalar("NIX00280").astype(np.int64)})


def build_variance(batch: PacketBatch) -> tuple[ColumnTable, ColumnTable]:
    """Control and data of quick-look variance."""
    control, cs = ql_control(batch)
    n_s = batch.scalar("NIX00280").astype(np.int64)
    control.add("samples_per_variance", batch.scalar("NIX00279").astype(np.uint8), meta=_meta("NIX00279"))
    control.add("pixel_mask", bits_lsb_first(batch.scalar("NIXD0407"), 12), meta=_meta("NIXD0407", True))
    control.add("detector_mask", bits_lsb_first(batch.scalar("NIX00407"), 32), meta=_meta("NIX00407", True))
    control.add("compression_scheme_variance_skm", skm(batch, "NIX00281"), meta=skm_meta(batch, "NIX00281"))
    control.add("energy_bin_mask", bits_msb_first(batch.scalar("NIX00282"), 32).astype(bool), meta=_meta("NIX00282"))
    control.add("num_energies", np.ones(len(batch), dtype=np.int64))
    control.add("num_samples", n_s, meta=_meta("NIX00280"))

    packet, k = ramp(n_s)
    values, variance = _decompressed(batch, "NIX00281")
    data = ColumnTable()
    _time_columns(data, control, packet, k, cs)
    data.add("control_index", packet)
    data.add("variance", values.reshape(-1, 1), meta=_meta("NIX00281"))
    data.add("variance_comp_err", np.sqrt(variance).astype(np.float32).reshape(-1, 1), description=COMP_ERR)
    return control, data


# -- 21/6/34 flare flags -----------------------------------------------------------------------------
_FLAG_COLUMNS = (
    ("thermal_index", "NIXD0061"),
    ("non_thermal_index", "NIXD0060"),
    ("location_status", "NIXD0059"),
)


def check_flareflag(batch: PacketBatch) -> dict[int, str]:
    """Packets whose flag/location values do not match NIX00089."""
    n = batch.scalar("NIX00089").astype(np.int64)
    names = ["NIX00283", "NIX00284", *(nix for _, nix in _FLAG_COLUMNS)]
    if batch.has("NIXD0449"):
        names.append("NIXD0449")
    return check_counts(batch, dict.fromkeys(names, n))


def build_flareflag(batch: PacketBatch) -> tuple[ColumnTable, ColumnTable]:
    """Control and data of quick-look flare flags and locations."""
    control, cs = ql_control(batch)
    n_s = batch.scalar("NIX00089").astype(np.int64)
    control.add("num_samples", n_s, meta=_meta("NIX00089"))
    packet, k = ramp(n_s)
    data = ColumnTable()
    data.add("control_index", packet)
    _time_columns(data, control, packet, k, cs)
    data.add("loc_z", batch.values("NIX00283").astype(np.int16), meta=_meta("NIX00283"))
    data.add("loc_y", batch.values("NIX00284").astype(np.int16), meta=_meta("NIX00284"))
    for column, nix in _FLAG_COLUMNS:
        data.add(column, batch.values(nix).astype(np.int16).reshape(-1, 1), meta=_meta(nix))
    if batch.has("NIXD0449"):
        data.add("flare_progress", batch.values("NIXD0449").astype(np.int16).reshape(-1, 1), meta=_meta("NIXD0449"))
    return control, data
