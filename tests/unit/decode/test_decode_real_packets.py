"""Decoding the real STIX packets of the reference data with every installed IDB version."""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import pytest

from stix_lib.decode import calibrate, decode_layout, decode_packets, decompress_packets, get_layout
from stix_lib.idb import IDBManager
from stix_lib.tm import read_hex_dump, read_packets

VERSIONS = ("2.26.32", "2.26.33", "2.26.34", "2.26.35")


@pytest.fixture(scope="module")
def moc_packets(reference_data: Path):
    packets, errors = read_packets(reference_data / "tm" / "moc_test.PktTmRaw.xml")
    assert not errors and len(packets) == 16
    return packets


@pytest.fixture(scope="module")
def esa_packets(reference_data: Path):
    return read_hex_dump(reference_data / "tm" / "esa_2018_packets.hex")


@pytest.mark.parametrize("version", VERSIONS)
def test_moc_packets_decode_to_their_end(reference_data: Path, moc_packets, version: str) -> None:
    manager = IDBManager(reference_data / "idb", force_version=version)
    result = decode_packets(moc_packets, manager, file="moc_test.PktTmRaw.xml")
    assert result.errors == []
    assert result.decoded_count == 16
    ssids = collections.Counter({key[2]: len(group) for key, group in result.groups.items()})
    assert ssids == {30: 2, 31: 2, 32: 2, 33: 2, 34: 2, 41: 4, 43: 2}
    for key, group in result.groups.items():
        assert key[3] == version and group.layout.idb_version == version
        expected_left = 8 if key[2] == 43 else 0  # 21/6/43 carries one pad byte
        assert group.leftover_bits.tolist() == [expected_left] * len(group)
    assert result.notes == ["2 packet(s) of (21, 6, 43) carry 1 pad byte(s) after the IDB layout"]


@pytest.mark.parametrize("version", VERSIONS)
def test_moc_known_values(reference_data: Path, moc_packets, version: str) -> None:
    manager = IDBManager(reference_data / "idb", force_version=version)
    result = decode_packets(moc_packets, manager)
    lc = result.by_type(21, 6, 30)[0]
    assert lc.scalar("NIX00405").tolist() == [39, 39]  # integration 39 x 0.1 s (+0.1 s at L0 -> 4 s)
    assert lc.scalar("NIX00270").tolist() == [5, 5]  # 5 energies
    assert lc.values["NIX00271"].tolist() == [315] * 5 + [304] * 5  # samples per energy
    assert len(lc.values["NIX00272"]) == 5 * 315 + 5 * 304
    assert lc.offsets["NIX00272"].tolist() == [0, 5 * 315, 5 * 315 + 5 * 304]
    assert not lc.values["NIX00272"].any()  # counts are all zero
    assert lc.values["NIX00273"].tolist() == [315, 304]
    assert lc.counts("NIX00274").tolist() == [315, 304]
    seconds = calibrate(manager.get_idb(version), "NIX00405", lc.scalar("NIX00405"))
    assert seconds.unit == "s" and np.allclose(seconds.values + 0.1, 4.0)
    # sub-fields reached through negative offsets: the pixel mask lies in the low 12 bits of NIXG0404
    assert lc.values["NIXD0407"].tolist() == (lc.values["NIXG0404"] & 0xFFF).tolist()
    # the compression scheme bits of NIXG0014 (bit 7 spare, then S:1, K:3, M:3)
    g14 = lc.values["NIXG0014"]
    assert lc.values["NIXD0101"].tolist() == ((g14 >> 6) & 1).tolist()
    assert lc.values["NIXD0102"].tolist() == ((g14 >> 3) & 7).tolist()
    assert lc.values["NIXD0103"].tolist() == (g14 & 7).tolist()
    decompressed, failed = decompress_packets(lc)
    assert failed == {}
    assert set(decompressed) == {"NIX00272", "NIX00274"}
    assert not decompressed["NIX00272"].values.any()
    spectra = result.by_type(21, 6, 32)[0]
    assert spectra.scalar("NIX00089").tolist() == [64, 64]
    assert spectra.values["NIX00100"].tolist() == [i % 32 for i in range(128)]  # detector ids
    assert spectra.counts("NIX00452").tolist() == [64, 64]


def test_moc_pad_byte_error_without_tolerance(reference_data: Path, moc_packets) -> None:
    manager = IDBManager(reference_data / "idb", force_version="2.26.34")
    result = decode_packets(moc_packets, manager, pad_tolerance=0)
    assert result.decoded_count == 14
    assert [e.packet_id for e in result.errors] == [2, 10]
    assert all("1 bytes left over" in e.reason for e in result.errors)


def test_moc_time_selected_version(reference_data: Path, moc_packets) -> None:
    # 2019-11 packets: OBT ~628e6 -> 2.26.32 from the history
    result = decode_packets(moc_packets, IDBManager(reference_data / "idb"))
    assert {key[3] for key in result.groups} == {"2.26.32"}
    assert set(result.index.idb_version) == {"2.26.32"}


def test_esa_headers_and_services(esa_packets) -> None:
    from stix_lib.tm import decode_headers

    headers = decode_headers([p.data for p in esa_packets])
    services = collections.Counter(
        zip(headers["service_type"].tolist(), headers["service_subtype"].tolist(), strict=True)
    )
    assert services == {(3, 25): 333, (5, 1): 32, (1, 1): 26, (1, 7): 26, (5, 2): 8, (6, 6): 1}


def test_esa_hk_packets_fail_alone(reference_data: Path, esa_packets) -> None:
    manager = IDBManager(reference_data / "idb")
    result = decode_packets(esa_packets, manager, file="esa_2018_packets.hex")
    failed = {e.packet_id for e in result.errors}
    assert len(result.errors) == len(failed)  # one error per packet
    assert all("shorter than its IDB layout" in e.reason for e in result.errors)
    by_id = {p.packet_id: p for p in esa_packets}
    hk = {pid for pid, p in by_id.items() if p.data[7] == 3 and p.data[8] == 25}
    assert hk <= failed  # every HK packet: older, shorter layout
    hk_lengths = collections.Counter(len(by_id[pid].data) for pid in hk)
    assert hk_lengths == {107: 329, 48: 4}
    hk_errors = [e.reason for e in result.errors if e.packet_id in hk]
    assert any("107 bytes" in r and "needs 109" in r for r in hk_errors)
    assert any("48 bytes" in r and "needs 59" in r for r in hk_errors)
    # nothing else is lost: every packet is either decoded or reported
    assert result.decoded_count + len(failed) == len(esa_packets)
    decoded_ids = set()
    for group in result.groups.values():
        decoded_ids |= {esa_packets[i].packet_id for i in group.indices.tolist()}
    assert decoded_ids.isdisjoint(failed)
    assert len(decoded_ids) == result.decoded_count
    assert {(k[0], k[1]) for k in result.groups} >= {(1, 1), (1, 7), (5, 1), (5, 2), (6, 6)}


def test_esa_single_layout_batch_isolates_errors(reference_data: Path, esa_packets) -> None:
    idb = IDBManager(reference_data / "idb").get_idb("2.26.34")
    layout = get_layout(idb, 1, 1, None)
    good = [p.data for p in esa_packets if p.data[7] == 1 and p.data[8] == 1][:5]
    batch = [good[0], good[1][:-2], good[2], good[3] + b"\x00\x00", good[4]]
    decoded = decode_layout(layout, batch)
    assert decoded.indices.tolist() == [0, 2, 4]
    assert [i for i, _ in decoded.errors] == [1, 3]
    assert "shorter than its IDB layout" in decoded.errors[0][1]
    assert "2 bytes left over" in decoded.errors[1][1]
    single = decode_layout(layout, [good[2]])
    assert {k: v.tolist() for k, v in single.packet_dict(0).items()} == {
        k: v.tolist() for k, v in decoded.packet_dict(1).items()
    }
