"""Science (BSD) L1 products back to a request's packet group (the inverse of spec 4.5.4).

The request header comes from the CONTROL row: ``NIX00001`` (TC packet id), ``NIX00002`` (TC
sequence control), ``NIX00037`` (request id), the schemes, ``NIX00402`` = ``coarse << 16 | fine``
of ``time_stamp``. Each DATA row (time bin) becomes one or more substructures: the relative
start (``NIX00404``, or ``NIX00441`` before IDB 2.26.35) and integration (``NIX00405``) through
the inverse of their injected calibrations, RCR, masks and triggers, then

* ``sci-xray-rpd`` (20): one count entry per non-zero (detector, pixel, channel), continuation
  coded, raw counts;
* ``sci-xray-cpd`` (21) / ``sci-xray-scpd`` (22): one energy group per counts column (a native
  channel in V01 products, the groups of ``energy_bin_edge_mask`` in current ones), zero counts
  included, values per detector of the mask (detector-major) and pixel set (single-pixel masks
  of the row's pixels for cpd, the row's summed pixel masks for scpd), compressed again;
* ``sci-xray-spec`` (24): all rows of one RCR as a substructure of samples with all 32 channels,
  closed by the last row's width (``NIX00269``).

The rpd/cpd/scpd time bins are streamed into packets as STIX fills them
(:func:`~stix_lib.dev.simulate.packets.stream_substructures`): a bin continues in the packet
where the previous one ended and is split into a new substructure (same time) where a packet is
full. This gives back the reference's packets: its CONTROL ``num_substructures`` and each bin's
``num_energy_groups`` (the first substructure's count). The packets form one CCSDS group
generated one minute after the request's last bin.
"""

from __future__ import annotations

import numpy as np

from stix_lib.decode.layout import PacketKey, PacketLayout
from stix_lib.dev.simulate.calibration import to_raw
from stix_lib.dev.simulate.compressing import compress_packet_values
from stix_lib.dev.simulate.layout_tools import find_node, has_parameter, measure_bits
from stix_lib.dev.simulate.packets import (
    PacketFactory,
    PacketSpec,
    Substructure,
    Values,
    as_group,
    merge_values,
    pack_items,
    repeater_capacity_bits,
    rpd_count_elements,
    split_elements,
    stream_substructures,
)
from stix_lib.dev.simulate.reference_io import ReferenceProduct, bits_to_int, to_scet
from stix_lib.idb.database import IDB

SSIDS = {"sci-xray-rpd": 20, "sci-xray-cpd": 21, "sci-xray-scpd": 22, "sci-xray-spec": 24}


def _ints(values) -> np.ndarray:
    return np.rint(np.asarray(values, dtype=np.float64)).astype(np.int64)


def _time_field(layout: PacketLayout, idb: IDB, delta: float) -> Values:
    name = "NIX00404" if has_parameter(layout, "NIX00404") else "NIX00441"
    return {name: [int(to_raw(idb, name, [delta])[0])]}


def _scheme(control, column: str) -> tuple[int, int, int]:
    if column not in control.colnames:
        return (0, 0, 0)
    s, k, m = (int(v) for v in np.asarray(control[column]).ravel()[:3])
    return s, k, m


def science(product: ReferenceProduct, factory: PacketFactory) -> list[PacketSpec]:
    """Encode one science request product (rpd, cpd, scpd or spec)."""
    ssid = SSIDS[product.name]
    key = PacketKey(21, 6, ssid)
    control = product.control[0]
    data = product.data
    stamp = float(control["time_stamp"])
    stamp_coarse, stamp_fine = (int(v[0]) for v in to_scet([stamp]))
    starts = product.bin_start_times()
    widths = product.bin_widths()
    send = int(np.ceil(starts[-1] + widths[-1])) + 60 if len(data) else stamp_coarse + 60
    version = factory.idb_version(send)
    idb = factory.idb_manager.get_idb(version)
    layout = factory.layout(key, send)
    schemes = {"EACC": _scheme(control, "compression_scheme_counts_skm")}
    if ssid != 20:
        schemes["ETRIG"] = _scheme(control, "compression_scheme_triggers_skm")
    header: Values = {
        "NIX00120": [ssid],
        "NIX00001": [int(control["tc_packet_id_ref"])],
        "NIX00002": [int(control["tc_packet_seq_control"])],
        "NIX00037": [int(control["request_id"])],
        **compress_packet_values(ssid, version, {}, schemes),
        "NIX00402": [(stamp_coarse << 16) | stamp_fine],
    }
    if ssid == 24:
        node = find_node(layout, "NIX00403")
        capacity = repeater_capacity_bits(layout, header, "NIX00403")
        items = _spectrogram_items(product, layout, idb, version, schemes, stamp, node, capacity)
        packets = pack_items(layout, header, "NIX00403", items)
    else:
        bins = (_bin(product, b, ssid, layout, idb, version, schemes, stamp) for b in range(len(data)))
        packets = stream_substructures(layout, header, "NIX00403", bins)
    specs = [
        PacketSpec(
            key,
            values,
            send,
            i,
            product=product.name,
            order=(ssid, i),
            request=(int(header["NIX00002"][0]), int(header["NIX00037"][0])),
        )
        for i, values in enumerate(packets)
    ]
    return as_group(specs)


def _bin(product: ReferenceProduct, b: int, ssid: int, layout, idb, version, schemes, stamp) -> Substructure:
    row = product.data[b]
    start = product.bin_start_times()[b]
    width = product.bin_widths()[b]
    detectors = np.flatnonzero(np.asarray(row["detector_masks"]).astype(bool))
    fixed: Values = {
        **_time_field(layout, idb, start - stamp),
        "NIX00401": [int(row["rcr"])],
        "NIX00405": [int(to_raw(idb, "NIX00405", [width])[0])],
        "NIX00407": [bits_to_int(row["detector_masks"])],
    }
    counts = _ints(row["counts"])  # (32, 12, 32)
    if ssid == 20:
        fixed["NIXD0407"] = [bits_to_int(row["pixel_masks"])]
        triggers = _ints(row["triggers"]).ravel()
        fixed.update({f"NIX00{408 + g}": [int(triggers[g])] for g in range(16)})
        return Substructure(fixed, rpd_count_elements(counts), "NIX00406")
    masks = np.asarray(row["pixel_masks"]).astype(bool)
    if ssid == 21:
        pixels = np.flatnonzero(masks.ravel())
        pixel_sets = [1 << int(p) for p in pixels]
        block = counts[:, pixels, :]  # (32, sets, 32)
    else:
        pixel_sets = [bits_to_int(m) for m in masks.reshape(-1, 12)]
        block = counts[:, : len(pixel_sets), :]
    fixed["NIX00442"] = [len(pixel_sets)]
    fixed["NIXD0407"] = pixel_sets
    trigger_codes = compress_packet_values(
        ssid, version, {f"NIX00{242 + g}": [int(t)] for g, t in enumerate(_ints(row["triggers"]).ravel())}, schemes
    )
    fixed.update({k: v for k, v in trigger_codes.items() if k.startswith("NIX00")})
    elements = []
    for channel, (low, high) in enumerate(_energy_groups(product)):
        values = block[detectors, :, channel].ravel()
        codes = compress_packet_values(ssid, version, {"NIX00260": values}, schemes)["NIX00260"]
        group = {"NIXD0016": [low], "NIXD0017": [high], "NIX00259": [len(codes)], "NIX00260": codes}
        elements.append((group, 32 + 8 * len(codes)))
    return Substructure(fixed, elements, "NIX00258")


def _energy_groups(product: ReferenceProduct) -> list[tuple[int, int]]:
    """``(low, high)`` native channels of each counts column (one energy group each).

    The 33 flags of ``energy_bin_edge_mask`` (current products) give the groups by the spec's
    rule (consecutive set edges i < j: channels i .. j - 1); V01 products record only the
    32-flag ``energy_bin_mask`` and have one column per native channel.

    Raises
    ------
    ValueError
        If the number of counts columns does not match the groups.
    """
    columns = int(np.shape(product.data["counts"])[-1])
    control = product.control[0]
    if "energy_bin_edge_mask" in control.colnames:
        edges = np.flatnonzero(np.asarray(control["energy_bin_edge_mask"]).astype(bool))
        groups = [(int(a), int(b) - 1) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    else:
        groups = [(c, c) for c in range(32)]
    if len(groups) != columns:
        raise ValueError(f"{product.path.name}: {columns} counts columns but {len(groups)} energy groups")
    return groups


def _spectrogram_items(product, layout, idb, version, schemes, stamp, node, capacity) -> list[Values]:
    data = product.data
    control = product.control[0]
    starts, widths = product.bin_start_times(), product.bin_widths()
    energy = np.flatnonzero(np.asarray(control["energy_bin_mask"]).astype(bool))
    e_min, e_max = (int(energy[0]), int(energy[-1])) if len(energy) else (0, 31)
    detector_mask = control["detector_masks"] if "detector_masks" in control.colnames else np.ones(32)
    items: list[Values] = []
    rcr = _ints(data["rcr"])
    boundaries = np.concatenate([[0], np.flatnonzero(np.diff(rcr)) + 1, [len(data)]])
    for a, b in zip(boundaries[:-1], boundaries[1:], strict=True):
        fixed: Values = {
            "NIXD0407": [bits_to_int(data[int(a)]["pixel_masks"])],
            "NIX00407": [bits_to_int(detector_mask)],
            "NIX00401": [int(rcr[a])],
            "NIXD0442": [e_min],
            "NIXD0443": [e_max],
            "NIXD0019": [0],
        }
        elements = []
        for r in range(int(a), int(b)):
            counts = _ints(data[r]["counts"]).ravel()
            compressed = compress_packet_values(
                24, version, {"NIX00268": counts, "NIX00267": [int(_ints(data[r]["triggers"]).ravel()[0])]}, schemes
            )
            sample = {
                **_time_field(layout, idb, starts[r] - stamp),
                "NIX00267": compressed["NIX00267"],
                "NIX00270": [len(counts)],
                "NIX00268": compressed["NIX00268"],
            }
            elements.append((sample, measure_bits(find_node(layout, "NIX00089").children, sample)))
        closing = {"NIX00269": [int(to_raw(idb, "NIX00269", [widths[int(b) - 1]])[0])]}
        fixed_bits = measure_bits(node.children, {**fixed, "NIX00089": [0], **closing})
        for chunk in split_elements(fixed_bits, elements, capacity):
            items.append(merge_values(fixed, {"NIX00089": [len(chunk)]}, *chunk, closing))
    return items
