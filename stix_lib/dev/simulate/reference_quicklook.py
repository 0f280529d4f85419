"""Housekeeping, quick-look and calibration L1 products back to packets (the inverse of L0/L1).

Per product (spec 4.5):

* ``hk-maxi`` (and ``hk-mini``): one packet per DATA row at the CONTROL ``scet_coarse/fine``;
  every column naming one parameter (``NIXS``) is converted back to raw with the inverse IDB
  calibration of the version valid at that time (text states, booleans, curves, kelvin).
* Quick-look light curve, background, variance, flare flag, detector spectra: one packet per run
  of consecutive DATA rows with the same ``control_index``, at the CONTROL time with all
  ``num_samples`` of the CONTROL row, as the original packet: where the file holds only part of
  a packet (packets cut by the file's day boundaries) the missing samples before or after are
  sent as zero fill samples (:func:`_packet_rows`), so the decoded packet has the reference's
  CONTROL values; they fall outside the file's day. Without a matching CONTROL row the packet
  starts at the run's first bin and holds only the run's samples. Integration ``NIX00405`` =
  ``10 * seconds - 1`` (quick-look convention); counts and triggers are compressed again with
  the CONTROL schemes, which gives back the original codes because L1 counts are the mid-points
  of their code intervals. Masks are packed from their flag arrays (LSB first; the variance
  energy mask MSB first; the 33rd edge flag goes into the extra bit ``NIXD0107``/``NIXD0111``).
  Detector spectra rows hold 32 samples each (detector index, 32 channels, trigger, ``NIX00485``), kept as they are.
* ``ql-tmstatusflarelist``: one packet per row; an all-zero flare entry means no flare.
* ``cal-energy``: one packet group per accumulation (DATA row): the accumulation start
  (``NIX00445``), duration, quiet/live time and temperature through the inverse calibrations,
  the sub-spectrum definitions, and one chunk per (detector, pixel, enabled sub-spectrum) with
  the counts summed back onto the sub-spectrum's channel grid (exact for the 1024-point grid of
  the reference), three chunks per packet. L1 calibration counts can be sums of several
  decompressed values (the pipeline adds chunks of the same pixel when it re-bins); such counts
  are split into exactly representable parts sent as additional chunks of the same pixel
  (:func:`~stix_lib.dev.simulate.compressing.representable_parts`), so the sum comes back exactly.

Packet header times: quick-look packets at the end of their last sample, HK and TM status at
their CONTROL time, calibration groups at the end of the accumulation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from stix_lib.decode.layout import PacketKey
from stix_lib.dev.simulate.calibration import to_raw
from stix_lib.dev.simulate.compressing import compress_packet_values, representable_parts
from stix_lib.dev.simulate.packets import PacketFactory, PacketSpec, Values, as_group, merge_values, pack_items
from stix_lib.dev.simulate.reference_io import ReferenceProduct, bits_to_int, column_parameter, to_scet

Encoder = Callable[[ReferenceProduct, PacketFactory], list[PacketSpec]]


def _runs(control_index: np.ndarray) -> list[tuple[int, slice]]:
    """``(control index, rows)`` of each run of equal consecutive values."""
    values = np.asarray(control_index, dtype=np.int64)
    if not len(values):
        return []
    starts = np.concatenate([[0], np.flatnonzero(np.diff(values)) + 1, [len(values)]])
    return [(int(values[a]), slice(int(a), int(b))) for a, b in zip(starts[:-1], starts[1:], strict=True)]


def _control_row(product: ReferenceProduct, index: int):
    rows = np.flatnonzero(np.asarray(product.control["index"]) == index)
    return product.control[int(rows[0])] if len(rows) else None


def _scheme(row, column: str) -> tuple[int, int, int]:
    s, k, m = (int(v) for v in np.asarray(row[column]).ravel()[:3])
    return s, k, m


def _with_fill_row(table):
    """``table`` plus one all-zero row at the end: index ``-1`` picks a fill sample."""
    out = table.copy(copy_data=True)
    out.add_row([np.zeros_like(np.asarray(table[name][0])) for name in table.colnames])
    return out


def _packet_rows(product: ReferenceProduct, control, rows: slice) -> np.ndarray:
    """DATA rows of the original packet of ``rows`` (``-1``: a sample the file does not hold).

    The packet started at the CONTROL time and held ``num_samples`` consecutive bins; the run's
    first bin (to the 5 ms of the file's centisecond times) says how many came before it. Runs
    that do not fit such a packet stay as they are.
    """
    plain = np.arange(rows.start, rows.stop)
    if control is None or "num_samples" not in control.colnames:
        return plain
    total, n = int(control["num_samples"]), rows.stop - rows.start
    width = float(product.bin_widths()[rows.start])
    base = float(control["scet_coarse"]) + float(control["scet_fine"]) / 65535.0
    offset = (float(product.bin_start_times()[rows.start]) - base) / width if width > 0 else 0.0
    before = int(round(offset))
    # L1 times are whole centiseconds from OBT_BEG: the file's bin start is the packet's to 5 ms
    if total <= n or abs(offset - before) * width > 6e-3 or not 0 <= before <= total - n:
        return plain
    return np.concatenate([np.full(before, -1), plain, np.full(total - n - before, -1)])


def _ql_start(product: ReferenceProduct, control, rows: slice | np.ndarray, samples: int) -> tuple[int, int]:
    starts = product.bin_start_times()[rows]
    if control is not None and "num_samples" in control.colnames and int(control["num_samples"]) == samples:
        return int(control["scet_coarse"]), int(control["scet_fine"])
    coarse, fine = to_scet(starts[:1])
    return int(coarse[0]), int(fine[0])


def _spec(key: PacketKey, values: Values, start: tuple[int, int], end_seconds: float, product: str) -> PacketSpec:
    coarse, fine = to_scet([end_seconds])
    spec = PacketSpec(key, values, int(coarse[0]), int(fine[0]), product=product, order=(key.ssid or 0,))
    return spec


def _integration_raw(seconds: float) -> int:
    return int(round(float(seconds) * 10)) - 1


def _ints(column) -> np.ndarray:
    return np.rint(np.asarray(column, dtype=np.float64)).astype(np.int64)


def _quicklook(
    product: ReferenceProduct,
    factory: PacketFactory,
    ssid: int,
    build: Callable[[object, np.ndarray, int], tuple[Values, dict[str, np.ndarray], dict[str, tuple[int, int, int]]]],
) -> list[PacketSpec]:
    key = PacketKey(21, 6, ssid)
    specs = []
    widths = product.bin_widths()
    for index, run in _runs(product.data["control_index"]):
        control = _control_row(product, index)
        rows = _packet_rows(product, control, run)
        n = len(rows)
        start = _ql_start(product, control, run, n)
        plain, counts, schemes = build(control, rows, n)
        coarse, fine = start
        end = float(coarse) + fine / 65535.0 + float(widths[run.start]) * n
        version = factory.idb_version(int(end))
        values = {
            "NIX00120": [ssid],
            "NIX00445": [coarse],
            "NIX00446": [fine],
            **plain,
            **compress_packet_values(ssid, version, counts, schemes),
        }
        specs.append(_spec(key, values, start, end, product.name))
    return specs


def _edge_mask(control, extra: str) -> dict[str, list[int]]:
    mask = np.asarray(control["energy_bin_edge_mask"]).ravel()
    return {"NIX00266": [bits_to_int(mask[:32])], extra: [int(mask[32]) if len(mask) > 32 else 0]}


def lightcurve(product: ReferenceProduct, factory: PacketFactory) -> list[PacketSpec]:
    """``ql-lightcurve`` (21/6/30)."""
    data = _with_fill_row(product.data)

    def build(control, rows: np.ndarray, n: int):
        counts = _ints(data["counts"][rows]).reshape(n, -1)
        energies = counts.shape[1]
        plain = {
            "NIX00405": [_integration_raw(control["integration_time"])],
            "NIX00407": [bits_to_int(control["detector_mask"])],
            "NIXD0407": [bits_to_int(control["pixel_mask"])],
            **_edge_mask(control, "NIXD0107"),
            "NIX00270": [energies],
            "NIX00271": [n] * energies,
            "NIX00273": [n],
            "NIX00275": [n],
            "NIX00276": _ints(data["rcr"][rows]).tolist(),
        }
        compressed = {"NIX00272": counts.T.ravel(), "NIX00274": _ints(data["triggers"][rows]).ravel()}
        schemes = {
            "LC": _scheme(control, "compression_scheme_counts_skm"),
            "TriggerSSID30": _scheme(control, "compression_scheme_triggers_skm"),
        }
        return plain, compressed, schemes

    return _quicklook(product, factory, 30, build)


def background(product: ReferenceProduct, factory: PacketFactory) -> list[PacketSpec]:
    """``ql-background`` (21/6/31)."""
    data = _with_fill_row(product.data)

    def build(control, rows: np.ndarray, n: int):
        counts = _ints(data["counts"][rows]).reshape(n, -1)
        energies = counts.shape[1]
        plain = {
            "NIX00405": [_integration_raw(control["integration_time"])],
            **_edge_mask(control, "NIXD0111"),
            "NIX00270": [energies],
            "NIX00277": [n] * energies,
            "NIX00273": [n],
        }
        compressed = {"NIX00278": counts.T.ravel(), "NIX00274": _ints(data["triggers"][rows]).ravel()}
        schemes = {
            "BKG": _scheme(control, "compression_scheme_counts_skm"),
            "TRIG": _scheme(control, "compression_scheme_triggers_skm"),
        }
        return plain, compressed, schemes

    return _quicklook(product, factory, 31, build)


def variance(product: ReferenceProduct, factory: PacketFactory) -> list[PacketSpec]:
    """``ql-variance`` (21/6/33)."""
    data = _with_fill_row(product.data)

    def build(control, rows: np.ndarray, n: int):
        plain = {
            "NIX00405": [_integration_raw(control["integration_time"])],
            "NIX00279": [int(control["samples_per_variance"])],
            "NIX00407": [bits_to_int(control["detector_mask"])],
            "NIX00282": [bits_to_int(control["energy_bin_mask"], msb_first=True)],
            "NIXD0407": [bits_to_int(control["pixel_mask"])],
            "NIX00280": [n],
        }
        compressed = {"NIX00281": _ints(data["variance"][rows]).ravel()}
        return plain, compressed, {"VAR": _scheme(control, "compression_scheme_variance_skm")}

    return _quicklook(product, factory, 33, build)


def flareflag(product: ReferenceProduct, factory: PacketFactory) -> list[PacketSpec]:
    """``ql-flareflag`` (21/6/34)."""
    data = _with_fill_row(product.data)

    def build(control, rows: np.ndarray, n: int):
        plain = {
            "NIX00405": [_integration_raw(control["integration_time"])],
            "NIX00089": [n],
            "NIXD0059": _ints(data["location_status"][rows]).ravel().tolist(),
            "NIXD0060": _ints(data["non_thermal_index"][rows]).ravel().tolist(),
            "NIXD0061": _ints(data["thermal_index"][rows]).ravel().tolist(),
            "NIX00283": _ints(data["loc_z"][rows]).ravel().tolist(),
            "NIX00284": _ints(data["loc_y"][rows]).ravel().tolist(),
        }
        if "flare_progress" in data.colnames:
            plain["NIXD0449"] = _ints(data["flare_progress"][rows]).ravel().tolist()
        return plain, {}, {}

    return _quicklook(product, factory, 34, build)


#: L1 spectra rows (32 samples of 35 bytes each) per packet: three fill 3377 of 4112 bytes.
SPECTRA_ROWS_PER_PACKET = 3


def spectra(product: ReferenceProduct, factory: PacketFactory) -> list[PacketSpec]:
    """``ql-spectra`` (21/6/32): each DATA row is 32 samples (one per detector entry).

    Runs of rows longer than :data:`SPECTRA_ROWS_PER_PACKET` (the L1 rows include the padding of
    incomplete detector blocks) are split; each packet's start is its first row's start minus
    its first ``NIX00485`` integrations.
    """
    data = product.data
    fallback = product.control[0]
    specs = []
    key = PacketKey(21, 6, 32)
    runs = [
        (index, slice(a, min(a + SPECTRA_ROWS_PER_PACKET, rows.stop)))
        for index, rows in _runs(data["control_index"])
        for a in range(rows.start, rows.stop, SPECTRA_ROWS_PER_PACKET)
    ]
    for index, rows in runs:
        control = _control_row(product, index) or fallback
        tau = float(control["integration_time"])
        first = product.bin_start_times()[rows][0] - tau * float(np.asarray(data["num_integrations"][rows][0])[0])
        coarse, fine = (int(v[0]) for v in to_scet([first]))
        matrix = _ints(data["spectra"][rows]).reshape(-1, 32)  # (samples, channels)
        triggers = _ints(data["triggers"][rows]).ravel()
        end = float(product.bin_start_times()[rows][-1] + tau)
        version = factory.idb_version(int(end))
        compressed = compress_packet_values(
            32,
            version,
            {**{f"NIX00{452 + c}": matrix[:, c] for c in range(32)}, "NIX00484": triggers},
            {
                "SPEC": _scheme(control, "compression_scheme_spectra_skm"),
                "TRIG": _scheme(control, "compression_scheme_triggers_skm"),
            },
        )
        values = {
            "NIX00120": [32],
            "NIX00445": [coarse],
            "NIX00446": [fine],
            "NIX00405": [_integration_raw(tau)],
            "NIXD0407": [bits_to_int(control["pixel_mask"])],
            "NIX00089": [len(matrix)],
            "NIX00100": _ints(data["detector_index"][rows]).ravel().tolist(),
            "NIX00485": _ints(data["num_integrations"][rows]).ravel().tolist(),
            **compressed,
        }
        specs.append(_spec(key, values, (coarse, fine), end, product.name))
    return specs


def tm_status(product: ReferenceProduct, factory: PacketFactory) -> list[PacketSpec]:
    """``ql-tmstatusflarelist`` (21/6/43): one packet per CONTROL row (flare entries of its rows)."""
    data = product.data
    key = PacketKey(21, 6, 43)
    specs = []
    entry_columns = (
        ("NIX00287", "start_scet_coarse"),
        ("NIX00288", "end_scet_coarse"),
        ("NIX00289", "highest_flareflag"),
        ("NIX00290", "tm_byte_volume"),
        ("NIX00291", "average_z_loc"),
        ("NIX00292", "average_y_loc"),
        ("NIX00293", "processing_mask"),
    )
    for control in product.control:
        rows = np.flatnonzero(np.asarray(data["control_index"]) == int(control["index"]))
        first = data[int(rows[0])]
        values: Values = {"NIX00120": [43], "NIX00285": [int(first["ubsd"])], "NIX00286": [int(first["pald"])]}
        flares = [data[int(r)] for r in rows if any(int(data[int(r)][c]) for _, c in entry_columns)]
        values["NIX00294"] = [len(flares)]
        for name, column in entry_columns:
            values[name] = [int(f[column]) for f in flares]
        spec = PacketSpec(key, values, int(control["scet_coarse"]), int(control["scet_fine"]), product=product.name)
        spec.pad = b"\0"
        specs.append(spec)
    return specs


def housekeeping(product: ReferenceProduct, factory: PacketFactory) -> list[PacketSpec]:
    """``hk-maxi`` / ``hk-mini`` (3/25/2, 3/25/1): raw values through the inverse calibrations."""
    ssid = 2 if product.name == "hk-maxi" else 1
    key = PacketKey(3, 25, ssid)
    data, control = product.data, product.control
    coarse = np.asarray(control["scet_coarse"], dtype=np.int64)
    fine = np.asarray(control["scet_fine"], dtype=np.int64)
    order = np.asarray(data["control_index"], dtype=np.int64)
    versions = np.array([factory.idb_version(int(c)) for c in coarse[order]])
    columns = [c for c in data.colnames if isinstance(column_parameter(data, c), str)]
    raw: dict[str, np.ndarray] = {}
    for version in np.unique(versions).tolist():
        rows = np.flatnonzero(versions == version)
        idb = factory.idb_manager.get_idb(version)
        for column in columns:
            name = column_parameter(data, column)
            assert isinstance(name, str)
            values = np.asarray(data[column])[rows]
            raw.setdefault(name, np.zeros(len(data), dtype=np.int64))[rows] = to_raw(idb, name, values)
    specs = []
    for i, index in enumerate(order.tolist()):
        fields = {"NIX00020": [ssid], **{name: [int(column[i])] for name, column in raw.items()}}
        specs.append(PacketSpec(key, fields, int(coarse[index]), int(fine[index]), product=product.name, order=(ssid,)))
    return specs


def calibration(product: ReferenceProduct, factory: PacketFactory) -> list[PacketSpec]:
    """``cal-energy`` (21/6/41): one packet group per accumulation."""
    key = PacketKey(21, 6, 41)
    specs: list[PacketSpec] = []
    for row_number, row in enumerate(product.data):
        control = _control_row(product, int(row["control_index"]))
        start = int(control["scet_coarse"])
        duration = float(control["integration_time"])
        send = start + int(np.ceil(duration))
        version = factory.idb_version(send)
        idb = factory.idb_manager.get_idb(version)
        inverse = {
            name: int(to_raw(idb, name, [float(control[column])])[0])
            for name, column in (
                ("NIX00122", "integration_time"),
                ("NIX00123", "quiet_time"),
                ("NIX00124", "live_time"),
                ("NIX00125", "average_temperature"),
            )
        }
        points = _ints(control["subspec_num_points"])
        summed = _ints(control["subspec_num_summed_channel"])
        lowest = _ints(control["subspec_lowest_channel"])
        enabled = np.asarray(control["subspectrum_mask"]).astype(bool)
        header: Values = {
            "NIX00120": [41],
            "NIX00445": [start],
            **{name: [value] for name, value in inverse.items()},
            "NIX00407": [bits_to_int(control["detector_mask"])],
            "NIXD0407": [bits_to_int(control["pixel_mask"])],
            "NIX00160": [bits_to_int(enabled)],
        }
        for i in range(8):
            header[f"NIXD{129 + 3 * i:04d}"] = [int(points[i]) - 1]
            header[f"NIXD{130 + 3 * i:04d}"] = [int(summed[i]) - 1]
            header[f"NIXD{131 + 3 * i:04d}"] = [int(lowest[i])]
        counts = _ints(row["counts"])  # (32, 12, 1024)
        detectors = np.flatnonzero(np.asarray(control["detector_mask"]).astype(bool))
        pixels = np.flatnonzero(np.asarray(control["pixel_mask"]).astype(bool))
        scheme = {"CALI": _scheme(control, "compression_scheme_counts_skm")}
        items = []
        for sub in np.flatnonzero(enabled).tolist():
            n, width, low = int(points[sub]), int(summed[sub]), int(lowest[sub])
            grid = counts[:, :, low : low + n * width].reshape(32, 12, n, width).sum(axis=3)
            for part_number, part in enumerate(representable_parts(grid, scheme["CALI"])):
                codes = np.asarray(
                    compress_packet_values(41, version, {"NIX00158": part.ravel()}, scheme)["NIX00158"]
                ).reshape(32, 12, n)
                for det in detectors.tolist():
                    for pix in pixels.tolist():
                        if part_number and not part[det, pix].any():
                            continue
                        items.append(
                            {
                                "NIXD0155": [det],
                                "NIXD0156": [pix],
                                "NIXD0157": [sub],
                                "NIX00146": [n],
                                "NIX00158": codes[det, pix].tolist(),
                            }
                        )
        header = merge_values(header, compress_packet_values(41, version, {}, scheme))
        layout = factory.layout(key, send)
        group = [
            PacketSpec(key, values, send, i, product=product.name, order=(41, row_number, i))
            for i, values in enumerate(pack_items(layout, header, "NIX00159", items))
        ]
        specs += as_group(group)
    return specs


#: Product name -> encoder.
ENCODERS: dict[str, Encoder] = {
    "hk-maxi": housekeeping,
    "hk-mini": housekeeping,
    "ql-lightcurve": lightcurve,
    "ql-background": background,
    "ql-variance": variance,
    "ql-flareflag": flareflag,
    "ql-spectra": spectra,
    "ql-tmstatusflarelist": tm_status,
    "cal-energy": calibration,
}
