"""Encoding then decoding gives the values back, for every STIX TM packet type of every IDB.

For each installed IDB version one hypothesis example builds a packet of *every* ``PID`` row with
random values (edge biased; repeaters 0..3 times; continuation codes 0/1/2), encodes all of them
through :class:`PacketFactory` at an on-board time inside that version's validity, and decodes
the mixed stream with the real time-based IDB selection.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stix_lib.decode.batch import decode_packets
from stix_lib.decode.layout import PacketKey, get_layout
from stix_lib.dev.simulate.catalogue import packet_types
from stix_lib.dev.simulate.layout_tools import find_node, measure_bits, packet_size
from stix_lib.dev.simulate.packets import (
    MAX_PACKET_BYTES,
    PacketFactory,
    PacketSpec,
    Substructure,
    as_group,
    group_flags,
    pack_items,
    repeater_capacity_bits,
    rpd_count_elements,
    stream_substructures,
)
from stix_lib.dev.simulate.random_values import random_packet_values
from stix_lib.idb.manager import IDBManager
from stix_lib.lb.sequences import extract_sequences
from stix_lib.tm.headers import decode_headers

#: An on-board second inside each version's validity (idbVersionHistory.json).
VERSION_TIMES = {
    "2.26.32": 600_000_000,
    "2.26.33": 642_500_000,
    "2.26.34": 650_000_000,
    "2.26.35": 680_000_000,
}


@pytest.fixture(scope="module")
def manager(reference_data: Path) -> IDBManager:
    return IDBManager(reference_data / "idb")


def test_every_version_is_covered(manager: IDBManager) -> None:
    assert set(manager.installed_versions) == set(VERSION_TIMES)
    for version, coarse in VERSION_TIMES.items():
        assert manager.version_for(float(coarse)) == version


@pytest.mark.parametrize("version", sorted(VERSION_TIMES))
def test_packet_types_cover_the_pid_table(manager: IDBManager, version: str) -> None:
    idb = manager.get_idb(version)
    types = packet_types(idb)
    uri = f"{idb.path.resolve().as_uri()}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        rows = conn.execute("SELECT PID_TYPE, PID_STYPE, PID_PI1_VAL, PID_APID FROM PID").fetchall()
    assert len(types) == len(rows) == 246
    apids = {(t, st, pi1): apid for t, st, pi1, apid in rows}
    for packet_type in types:
        pi1 = (
            packet_type.key.ssid
            if packet_type.pi1 is not None
            else next(p for (t, s, p) in apids if (t, s) == packet_type.key[:2])
        )
        # the APID the factory writes is the IDB's PID_APID
        assert PacketFactory.apid(packet_type.key) == apids[(*packet_type.key[:2], pi1)]


@pytest.mark.parametrize("version", sorted(VERSION_TIMES))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**63 - 1))
def test_encode_decode_every_packet_type(manager: IDBManager, version: str, seed: int) -> None:
    idb = manager.get_idb(version)
    rng = np.random.default_rng(seed)
    factory = PacketFactory(manager, first_counts={apid: 16380 for apid in range(1441, 1510)})
    coarse = VERSION_TIMES[version]
    expected = []
    specs = []
    for i, packet_type in enumerate(packet_types(idb)):
        layout = get_layout(idb, *packet_type.key)
        pi1 = None
        if packet_type.pi1 is not None:
            pi1 = (packet_type.pi1[0] * 8, packet_type.pi1[1], packet_type.key.ssid)
        generated = random_packet_values(layout, rng, pi1=pi1)
        spec = PacketSpec(packet_type.key, generated.values, coarse + i, int(rng.integers(0, 65536)))
        specs.append(spec)
        expected.append((packet_type.key, generated))
    packets = factory.encode_all(specs)

    headers = decode_headers(packets)
    for spec, packet, header, (_, generated) in zip(specs, packets, headers, expected, strict=True):
        assert packet[16:] == generated.body  # byte-exact against the independent bit writer
        assert header["data_length"] + 7 == len(packet)
        assert (header["scet_coarse"], header["scet_fine"]) == (spec.coarse, spec.fine)
        assert (header["service_type"], header["service_subtype"]) == spec.key[:2]
        assert int(header["process_id"]) << 4 | int(header["packet_category"]) == PacketFactory.apid(spec.key)
        assert header["sequence_flag"] == 3

    result = decode_packets(packets, manager)
    assert result.errors == []
    assert result.decoded_count == len(packets)
    decoded: dict[int, dict[str, list[int]]] = {}
    for (service, subtype, ssid, used_version), group in result.groups.items():
        assert used_version == version
        for j, index in enumerate(group.indices.tolist()):
            assert PacketKey(service, subtype, ssid) == expected[index][0]
            decoded[index] = {name: group.packet_values(name, j).tolist() for name in group.values}
    for index, (key, generated) in enumerate(expected):
        got = decoded[index]
        for name, values in generated.values.items():
            assert got[name] == values, (key, name)
        assert all(not values for name, values in got.items() if name not in generated.values), key


def test_sequence_counts_run_per_apid_and_wrap(manager: IDBManager) -> None:
    factory = PacketFactory(manager, first_counts={1500: 16382})
    ql = PacketSpec(PacketKey(21, 6, 43), {"NIX00294": [0]}, 680_000_000)
    hk = PacketSpec(PacketKey(3, 25, 2), {}, 680_000_000)
    packets = factory.encode_all([ql, hk, ql, ql, hk])
    headers = decode_headers(packets)
    assert headers["sequence_count"].tolist() == [16382, 0, 16383, 0, 1]
    apids = (headers["process_id"].astype(int) << 4) | headers["packet_category"]
    assert apids.tolist() == [1500, 1444, 1500, 1500, 1444]


def test_group_flags() -> None:
    assert group_flags(0) == []
    assert group_flags(1) == [3]
    assert group_flags(2) == [1, 2]
    assert group_flags(5) == [1, 0, 0, 0, 2]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=255), min_size=1, max_size=60),
    first=st.integers(min_value=0, max_value=16383),
)
def test_segmented_request_fits_and_forms_one_complete_sequence(
    manager: IDBManager, sizes: list[int], first: int
) -> None:
    """A long spectrogram request: packets <= 4112 bytes, FIRST..LAST, all samples kept in order."""
    idb = manager.get_idb("2.26.35")
    key = PacketKey(21, 6, 24)
    layout = get_layout(idb, *key)
    header = {"NIX00120": [24], "NIX00001": [0x1DAC], "NIX00002": [0xC123], "NIX00037": [2108010001]}
    items = [
        {
            "NIX00089": [1],
            "NIX00404": [i],
            "NIX00267": [7],
            "NIX00270": [n],
            "NIX00268": [i % 256] * n,
            "NIX00269": [40],
        }
        for i, n in enumerate(sizes)
    ]
    parts = pack_items(layout, header, "NIX00403", items)
    assert all(packet_size(layout, part) <= MAX_PACKET_BYTES for part in parts)
    assert sum(part["NIX00403"][0] for part in parts) == len(items)
    factory = PacketFactory(manager, first_counts={1468: first})
    specs = as_group([PacketSpec(key, part, 680_000_000 + i) for i, part in enumerate(parts)])
    packets = factory.encode_all(specs)
    assert all(len(p) <= MAX_PACKET_BYTES for p in packets)
    headers = decode_headers(packets)
    sequences = extract_sequences(headers["sequence_flag"], headers["sequence_count"], (21, 6, 24))
    assert len(sequences) == 1 and sequences[0].complete
    result = decode_packets(packets, manager)
    assert result.errors == []
    (group,) = result.by_type(21, 6, 24)
    assert group.values["NIX00404"].tolist() == list(range(len(items)))
    assert group.values["NIX00270"].tolist() == sizes


def test_one_oversized_repetition_is_refused(manager: IDBManager) -> None:
    layout = get_layout(manager.get_idb("2.26.35"), 21, 6, 24)
    samples = 20  # 20 samples of 255 energies: 5180 bytes in one substructure
    item = {
        "NIX00089": [samples],
        "NIX00404": list(range(samples)),
        "NIX00267": [0] * samples,
        "NIX00270": [255] * samples,
        "NIX00268": [0] * (255 * samples),
    }
    with pytest.raises(ValueError, match="more than a packet holds"):
        pack_items(layout, {}, "NIX00403", [item])


def _rpd_bin(start: int, counts: np.ndarray) -> Substructure:
    fixed = {"NIX00404": [start], "NIX00401": [0], "NIX00405": [40], "NIX00407": [0xFFFFFFFF], "NIXD0407": [0xFFF]}
    fixed.update({f"NIX00{408 + g}": [g] for g in range(16)})
    return Substructure(fixed, rpd_count_elements(counts), "NIX00406")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    entries=st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=6),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_streamed_bins_fill_every_packet_and_come_back(manager: IDBManager, entries: list[int], seed: int) -> None:
    """Raw pixel data bins streamed as STIX does: no packet but the last could take one more entry,
    every bin's entries come back in order under its own start time."""
    layout = get_layout(manager.get_idb("2.26.35"), 21, 6, 20)
    header = {"NIX00120": [20], "NIX00001": [0x5B], "NIX00002": [0xC6C2], "NIX00037": [87031808], "NIX00402": [0]}
    rng = np.random.default_rng(seed)
    cubes = []
    for n in entries:
        cube = np.zeros((32, 12, 32), dtype=np.int64)
        cube.ravel()[rng.choice(cube.size, n, replace=False)] = rng.integers(1, 400, n)
        cubes.append(cube)
    bins = [_rpd_bin(40 * b, cube) for b, cube in enumerate(cubes)]
    parts = stream_substructures(layout, header, "NIX00403", bins)
    assert all(packet_size(layout, part) <= MAX_PACKET_BYTES for part in parts)
    # greedy: what opens packet p + 1 (its first entry, plus a substructure head when a new bin
    # begins there) did not fit into packet p
    capacity = repeater_capacity_bits(layout, header, "NIX00403")
    empty = measure_bits(layout.nodes, {**header, "NIX00403": [0]})
    head = measure_bits(find_node(layout, "NIX00403").children, {**bins[0].fixed, "NIX00406": [0]})
    for this, following in zip(parts[:-1], parts[1:], strict=True):
        more = 16 + 8 * following["NIXD0159"][0] if following.get("NIXD0159") else 0
        if following["NIX00404"][0] != this["NIX00404"][-1]:
            more += head
        assert measure_bits(layout.nodes, this) - empty + more > capacity
    factory = PacketFactory(manager)
    key = PacketKey(21, 6, 20)
    packets = factory.encode_all(as_group([PacketSpec(key, part, 680_000_000) for part in parts]))
    result = decode_packets(packets, manager)
    assert result.errors == []
    (group,) = result.by_type(21, 6, 20)
    got = np.zeros((len(cubes), 32, 12, 32), dtype=np.int64)
    bin_of_sub = group.values["NIX00404"] // 40
    assert np.all(np.diff(bin_of_sub) >= 0)
    n = group.values["NIX00406"]
    where = (
        np.repeat(bin_of_sub, n),
        group.values["NIXD0153"],
        group.values["NIXD0158"],
        group.values["NIXD0154"],
    )
    np.add.at(got, where, group.values["NIX00065"])
    assert np.array_equal(got, np.stack(cubes))


def test_a_streamed_bin_too_large_for_one_packet_is_refused(manager: IDBManager) -> None:
    layout = get_layout(manager.get_idb("2.26.35"), 21, 6, 20)
    huge = Substructure({"NIX00404": [0]}, [({"NIX00065": [1]}, 8 * 5000)], "NIX00406")
    with pytest.raises(ValueError, match="more than a packet holds"):
        stream_substructures(layout, {}, "NIX00403", [huge])
