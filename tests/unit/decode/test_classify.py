"""SSID, IDB version and BSD request id per packet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stix_lib.decode import NO_SSID, classify_packets, get_layout, request_ids
from stix_lib.decode.encoder import encode_packet
from stix_lib.idb import IDBManager


@pytest.fixture(scope="module")
def manager(reference_data: Path) -> IDBManager:
    return IDBManager(reference_data / "idb")


def _packet(manager: IDBManager, version: str, key: tuple, values: dict, coarse: int) -> bytes:
    return encode_packet(get_layout(manager.get_idb(version), *key), values, coarse=coarse)


def test_request_id_of_bsd_packets(manager: IDBManager) -> None:
    t35, t32 = 700_000_000, 630_000_000
    packets = [
        _packet(manager, "2.26.35", (21, 6, 24), {"NIX00002": 51667, "NIX00037": 1266516544}, t35),
        _packet(manager, "2.26.32", (21, 6, 30), {}, t32),
        _packet(manager, "2.26.32", (3, 25, 1), {}, t32),
        _packet(manager, "2.26.32", (21, 6, 21), {"NIX00002": 7, "NIX00037": 99}, t32),
        _packet(manager, "2.26.35", (21, 6, 42), {}, t35),  # aspect: no request id in its structure
    ]
    index = classify_packets(packets, manager)
    assert index.ssid.tolist() == [24, 30, 1, 21, 42]
    assert index.idb_version.tolist() == ["2.26.35", "2.26.32", "2.26.32", "2.26.32", "2.26.35"]
    is_bsd, psc, rid, errors = request_ids(packets, index, manager)
    assert errors == {}
    assert is_bsd.tolist() == [True, False, False, True, True]
    assert list(zip(psc.tolist(), rid.tolist(), strict=True)) == [(51667, 1266516544), (0, 0), (0, 0), (7, 99), (0, 0)]


def test_classification_groups(manager: IDBManager) -> None:
    t = 640_000_000
    packets = [
        _packet(manager, "2.26.32", (21, 6, 30), {}, t),
        _packet(manager, "2.26.32", (1, 1, None), {}, t),
        _packet(manager, "2.26.32", (21, 6, 30), {}, t + 1),
        _packet(manager, "2.26.34", (21, 6, 30), {}, 650_000_000),
    ]
    index = classify_packets(packets, manager)
    assert index.ssid.tolist() == [30, NO_SSID, 30, 30]
    groups = index.groups()
    assert {k: v.tolist() for k, v in groups.items()} == {
        (1, 1, None, "2.26.32"): [1],
        (21, 6, 30, "2.26.32"): [0, 2],
        (21, 6, 30, "2.26.34"): [3],
    }
    merged = index.groups(by_version=False)
    assert {k: v.tolist() for k, v in merged.items()} == {(1, 1, None): [1], (21, 6, 30): [0, 2, 3]}
    assert index.key(1) == (1, 1, None)


def test_tc_and_short_packets_are_errors(manager: IDBManager) -> None:
    good = _packet(manager, "2.26.32", (21, 6, 30), {}, 640_000_000)
    tc = bytearray(good)
    tc[0:2] = ((1 << 12) | (1 << 11) | (90 << 4) | 12).to_bytes(2, "big")
    short = good[:16]  # no room for the SSID byte
    index = classify_packets([good, bytes(tc), short], manager)
    assert set(index.errors) == {1, 2}
    assert "TC packet" in index.errors[1]
    assert "PI1" in index.errors[2]
    assert index.ok.tolist() == [True, False, False]
    assert list(index.groups()) == [(21, 6, 30, "2.26.32")]


def test_short_bsd_packet_request_id_error(manager: IDBManager) -> None:
    full = _packet(manager, "2.26.35", (21, 6, 21), {"NIX00002": 1, "NIX00037": 2}, 700_000_000)
    packets = [full, full[:20]]
    index = classify_packets(packets, manager)
    is_bsd, psc, rid, errors = request_ids(packets, index, manager)
    assert list(errors) == [1] and "request id" in errors[1]
    assert rid.tolist() == [2, 0] and np.all(is_bsd)
